import logging
from pathlib import Path

import pytest

from service.settings import Settings, SettingsError, load_settings, warn_unknown_variables


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("SURFSERVE_"):
            monkeypatch.delenv(key)


def test_defaults():
    settings = load_settings()

    assert settings.model_path == Path("models/surface.pt")
    assert settings.device == "auto"
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.torch_threads is None
    assert settings.max_points == 1_000_000
    assert settings.max_grid_points == 4_000_000
    assert settings.log_level == "info"


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("SURFSERVE_MODEL_PATH", "/models/other.pt")
    monkeypatch.setenv("SURFSERVE_DEVICE", "cuda:1")
    monkeypatch.setenv("SURFSERVE_PORT", "9001")
    monkeypatch.setenv("SURFSERVE_TORCH_THREADS", "3")
    monkeypatch.setenv("SURFSERVE_MAX_POINTS", "10")
    monkeypatch.setenv("SURFSERVE_LOG_LEVEL", "DEBUG")

    settings = load_settings()

    assert settings.model_path == Path("/models/other.pt")
    assert settings.device == "cuda:1"
    assert settings.port == 9001
    assert settings.torch_threads == 3
    assert settings.max_points == 10
    assert settings.log_level == "debug"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "SURFSERVE_PORT",
            "abc",
            r"SURFSERVE_PORT='abc' is invalid: .*; allowed: an integer from 1 to 65535$",
        ),
        (
            "SURFSERVE_BATCHING",
            "maybe",
            r"SURFSERVE_BATCHING='maybe' is invalid: .*; allowed: true or false",
        ),
        (
            "SURFSERVE_REQUEST_TIMEOUT_S",
            "soon",
            r"allowed: a number above 0 and at most 3600$",
        ),
        ("SURFSERVE_MAX_POINTS", "many", r"allowed: an integer of at least 1$"),
        (
            "SURFSERVE_PORT",
            "70000",
            r"SURFSERVE_PORT='70000' is invalid: .*less than or equal to 65535",
        ),
        (
            "SURFSERVE_DEVICE",
            "tpu",
            r"SURFSERVE_DEVICE='tpu' is invalid: expected auto, cpu, cuda or cuda:N",
        ),
        (
            "SURFSERVE_MAX_POINTS",
            "0",
            r"SURFSERVE_MAX_POINTS='0' is invalid: .*greater than or equal to 1",
        ),
        ("SURFSERVE_TORCH_THREADS", "-2", r"SURFSERVE_TORCH_THREADS='-2' is invalid"),
        ("SURFSERVE_LOG_LEVEL", "loud", r"SURFSERVE_LOG_LEVEL='loud' is invalid: .*'debug'"),
    ],
)
def test_bad_value_names_variable(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError, match=expected) as raised:
        load_settings()

    assert "\n" not in str(raised.value)


def test_settings_are_frozen():
    settings = Settings()

    with pytest.raises(ValueError, match="frozen"):
        settings.port = 1


def _warnings(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def test_misspelled_variable_warns_with_closest_setting(caplog):
    environment = {
        "SURFSERVE_PROT": "8124",
        "SURFSERVE_PORT": "8000",
        "surfserve_log_level": "debug",
        "HOME": "/root",
    }

    warn_unknown_variables(environment)

    assert _warnings(caplog) == [
        "SURFSERVE_PROT is not a setting and is ignored; did you mean SURFSERVE_PORT?"
    ]


def test_misspelled_secret_not_logged(caplog):
    warn_unknown_variables({"SURFSERVE_APIKEY": "s3cret-token"})

    assert _warnings(caplog) == [
        "SURFSERVE_APIKEY is not a setting and is ignored; did you mean SURFSERVE_API_KEY?"
    ]
    assert "s3cret-token" not in caplog.text


def test_unknown_variable_lists_settings(caplog):
    warn_unknown_variables({"SURFSERVE_BANANA": "1"})

    [message] = _warnings(caplog)
    assert message.startswith(
        "SURFSERVE_BANANA is not a setting and is ignored; the settings are SURFSERVE_API_KEY, "
    )
    assert "SURFSERVE_PORT, " in message


def test_compose_publish_variables_not_warned(caplog):
    environment = {
        "SURFSERVE_PUBLISH_ADDRESS": "0.0.0.0",
        "SURFSERVE_PUBLISH_PORT": "8000",
        "SURFSERVE_GPU_PUBLISH_PORT": "8001",
    }

    warn_unknown_variables(environment)

    assert _warnings(caplog) == []
