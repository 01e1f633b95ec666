"""Settings of limits, access control and logs: parsing, bounds and secrecy."""

import os

import pytest

from service.limits import default_body_limit
from service.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for key in list(os.environ):
        if key.startswith("SURFSERVE_"):
            monkeypatch.delenv(key)


def test_defaults():
    settings = load_settings()

    assert settings.max_body_bytes is None
    assert settings.body_limit == default_body_limit(settings.max_points)
    assert settings.request_timeout_s == 30.0
    assert settings.max_concurrent_requests == 128
    assert settings.graceful_shutdown_s == 30.0
    assert settings.api_key is None
    assert settings.cors_origins == []
    assert settings.log_format == "json"


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("SURFSERVE_MAX_BODY_BYTES", "5000")
    monkeypatch.setenv("SURFSERVE_REQUEST_TIMEOUT_S", "2.5")
    monkeypatch.setenv("SURFSERVE_MAX_CONCURRENT_REQUESTS", "8")
    monkeypatch.setenv("SURFSERVE_GRACEFUL_SHUTDOWN_S", "0")
    monkeypatch.setenv("SURFSERVE_API_KEY", "abc-DEF_123")
    monkeypatch.setenv("SURFSERVE_CORS_ORIGINS", " https://a.example.com ,http://localhost:3000,")
    monkeypatch.setenv("SURFSERVE_LOG_FORMAT", "TEXT")

    settings = load_settings()

    assert settings.body_limit == 5000
    assert settings.request_timeout_s == 2.5
    assert settings.max_concurrent_requests == 8
    assert settings.graceful_shutdown_s == 0
    assert settings.api_key.get_secret_value() == "abc-DEF_123"
    assert "abc-DEF_123" not in repr(settings)
    assert settings.cors_origins == ["https://a.example.com", "http://localhost:3000"]
    assert settings.log_format == "text"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "SURFSERVE_MAX_BODY_BYTES",
            "0",
            r"SURFSERVE_MAX_BODY_BYTES='0' is invalid: .*greater than or equal to 1",
        ),
        ("SURFSERVE_REQUEST_TIMEOUT_S", "0", r"SURFSERVE_REQUEST_TIMEOUT_S='0' is invalid"),
        ("SURFSERVE_REQUEST_TIMEOUT_S", "nan", r"SURFSERVE_REQUEST_TIMEOUT_S='nan' is invalid"),
        ("SURFSERVE_MAX_CONCURRENT_REQUESTS", "0", r"SURFSERVE_MAX_CONCURRENT_REQUESTS='0'"),
        ("SURFSERVE_GRACEFUL_SHUTDOWN_S", "-1", r"SURFSERVE_GRACEFUL_SHUTDOWN_S='-1'"),
        ("SURFSERVE_CORS_ORIGINS", "app.example.com", r"expected origins like https://"),
        ("SURFSERVE_LOG_FORMAT", "xml", r"SURFSERVE_LOG_FORMAT='xml' is invalid"),
    ],
)
def test_invalid_values_name_the_variable(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError, match=expected):
        load_settings()


@pytest.mark.parametrize("value", ["", "two words", "tab\there", "café"])
def test_invalid_api_key_is_not_echoed(monkeypatch, value):
    monkeypatch.setenv("SURFSERVE_API_KEY", value)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    message = str(raised.value)
    assert message.startswith("SURFSERVE_API_KEY=<hidden> is invalid: expected visible ASCII")
    if value:
        assert value not in message
