"""Fast checks of the Dockerfile and the Compose files, without building or starting anything."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service.settings import Settings, load_settings
from tests.conftest import REPO_ROOT
from tests.container.docker_engine import (
    COMPOSE_FILE,
    TEST_OVERRIDE_FILE,
    clean_environment,
    compose_v2_environment,
    pinned_torch_version,
)

DOCKERFILE = REPO_ROOT / "Dockerfile"

# Settings the compose file fixes for the container instead of taking the README's default.
CONTAINER_SETTINGS = {
    "SURFSERVE_MODEL_PATH": "/models/surface.pt",
    "SURFSERVE_HOST": "0.0.0.0",
    "SURFSERVE_PORT": "8000",
}


@pytest.fixture(scope="module")
def compose_env() -> dict[str, str]:
    env = compose_v2_environment()
    if env is None:
        pytest.skip("Compose v2 not found: `docker compose version` failed or is not v2")
    return env


def _compose(env: dict[str, str], *args: str, files: tuple[Path, ...] = (COMPOSE_FILE,)):
    command = ["docker", "compose", *(part for path in files for part in ("-f", str(path)))]
    return subprocess.run(
        [*command, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def default_config(compose_env) -> dict:
    """docker-compose.yml as Compose renders it with no SURFSERVE_* variables set."""
    return _rendered(compose_env)


def _rendered(env: dict[str, str], *args: str) -> dict:
    result = _compose(env, *args, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_file_valid(compose_env):
    result = _compose(compose_env, "config", "--quiet")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_compose_file_valid_with_test_override(compose_env):
    result = _compose(compose_env, "config", "--quiet", files=(COMPOSE_FILE, TEST_OVERRIDE_FILE))

    assert result.returncode == 0, result.stderr


def test_compose_file_valid_for_compose_v1():
    if shutil.which("docker-compose") is None:
        pytest.skip("Compose v1 (docker-compose) is not installed")
    version = subprocess.run(
        ["docker-compose", "version", "--short"], capture_output=True, text=True, timeout=60
    )
    if not version.stdout.startswith("1."):
        pytest.skip(f"docker-compose is {version.stdout.strip()!r}, not Compose v1")

    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=REPO_ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr


def test_api_waits_for_train(default_config):
    services = default_config["services"]

    assert sorted(services) == ["api", "train"]
    assert services["api"]["depends_on"]["train"]["condition"] == "service_completed_successfully"
    assert services["api"]["image"] == services["train"]["image"]


def test_train_writes_artifact_into_volume(default_config):
    train = default_config["services"]["train"]

    assert train["entrypoint"] == ["python", "-m", "training", "--out", "/models/surface.pt"]
    assert train["command"] == ["--skip-existing"]
    assert train["volumes"] == [
        {"type": "volume", "source": "models", "target": "/models", "volume": {}}
    ]
    assert train["healthcheck"] == {"disable": True}
    assert "models" in default_config["volumes"]


def test_api_reads_volume_read_only(default_config):
    api = default_config["services"]["api"]

    assert api["volumes"][0]["source"] == "models"
    assert api["volumes"][0]["read_only"] is True
    assert api["environment"]["SURFSERVE_MODEL_PATH"] == "/models/surface.pt"


def test_api_published_on_loopback(default_config):
    ports = default_config["services"]["api"]["ports"]

    assert ports == [
        {
            "mode": "ingress",
            "host_ip": "127.0.0.1",
            "target": 8000,
            "published": "8000",
            "protocol": "tcp",
        }
    ]


def test_publish_port_from_environment(compose_env):
    env = {**compose_env, "SURFSERVE_PUBLISH_PORT": "18000"}

    ports = _rendered(env)["services"]["api"]["ports"]

    assert ports[0]["published"] == "18000"
    assert ports[0]["host_ip"] == "127.0.0.1"


def test_api_healthcheck_uses_python(default_config):
    healthcheck = default_config["services"]["api"]["healthcheck"]

    assert healthcheck["test"] == ["CMD", "python", "-m", "service.healthcheck"]


def test_api_environment_gives_settings_defaults(default_config, monkeypatch):
    environment = default_config["services"]["api"]["environment"]
    for variable in [name for name in os.environ if name.startswith("SURFSERVE_")]:
        monkeypatch.delenv(variable)

    # Variables without a value (null) are not set in the container at all.
    for variable, value in environment.items():
        if value is not None and variable not in CONTAINER_SETTINGS:
            monkeypatch.setenv(variable, value)
    from_compose = load_settings().model_dump()
    defaults = Settings.model_construct().model_dump()

    for variable, value in CONTAINER_SETTINGS.items():
        assert environment[variable] == value
    for field in Settings.model_fields:
        variable = f"SURFSERVE_{field.upper()}"
        assert variable in environment, f"add {variable} to docker-compose.yml"
        assert from_compose[field] == defaults[field], f"{variable} default differs"


def test_api_environment_takes_shell_values(compose_env):
    env = {**compose_env, "SURFSERVE_MAX_POINTS": "5000", "SURFSERVE_TORCH_THREADS": "3"}

    environment = _rendered(env)["services"]["api"]["environment"]

    assert environment["SURFSERVE_MAX_POINTS"] == "5000"
    assert environment["SURFSERVE_TORCH_THREADS"] == "3"


def test_stop_grace_outlasts_shutdown_drain(default_config):
    api = default_config["services"]["api"]
    drain = float(api["environment"]["SURFSERVE_GRACEFUL_SHUTDOWN_S"])

    # Compose renders durations as Go strings, e.g. "40s".
    grace = float(re.fullmatch(r"(\d+)s", api["stop_grace_period"]).group(1))

    assert grace > drain


def test_gpu_profile_reserves_nvidia_gpu(compose_env):
    services = _rendered(compose_env, "--profile", "gpu")["services"]
    gpu = services["api-gpu"]

    assert gpu["environment"]["SURFSERVE_DEVICE"] == "cuda"
    assert gpu["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}
    ]
    assert gpu["build"]["args"]["TORCH_REQUIREMENT"] == f"torch=={pinned_torch_version()}"
    assert gpu["depends_on"]["train"]["condition"] == "service_completed_successfully"
    assert gpu["ports"][0]["host_ip"] == "127.0.0.1"
    assert gpu["ports"][0]["published"] != services["api"]["ports"][0]["published"]


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))

    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_torch_matches_pin():
    text = DOCKERFILE.read_text()

    match = re.search(r"^ARG TORCH_REQUIREMENT=(\S+)$", text, re.MULTILINE)

    assert match is not None
    assert match.group(1) == f"torch=={pinned_torch_version()}+cpu"


def test_dockerfile_healthcheck_and_entrypoint_exec_form():
    text = DOCKERFILE.read_text()

    assert re.search(r'^ENTRYPOINT \["python", "-m", "service"\]$', text, re.MULTILINE)
    assert re.search(r'CMD \["python", "-m", "service\.healthcheck"\]$', text, re.MULTILINE)
