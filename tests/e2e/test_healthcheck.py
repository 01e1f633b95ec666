"""`python -m service.healthcheck`, as Docker runs it, against the real service."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, free_port

pytestmark = pytest.mark.e2e


def _run_healthcheck(env_overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SURFSERVE_")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-m", "service.healthcheck"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_healthcheck_passes_on_ready_service(live_service):
    port = live_service.url.rsplit(":", 1)[1]

    # The service listens on 127.0.0.1; 0.0.0.0 is what the container sets.
    result = _run_healthcheck({"SURFSERVE_HOST": "0.0.0.0", "SURFSERVE_PORT": port})

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"ready: {live_service.url}/health/ready returned 200\n"


def test_healthcheck_fails_without_service():
    port = free_port()

    result = _run_healthcheck({"SURFSERVE_PORT": str(port)})

    assert result.returncode == 1
    assert result.stdout.startswith(f"not reachable: http://127.0.0.1:{port}/health/ready (")


def test_healthcheck_fails_on_invalid_setting():
    result = _run_healthcheck({"SURFSERVE_PORT": "eighty"})

    assert result.returncode == 1
    assert result.stderr.startswith("invalid setting: SURFSERVE_PORT='eighty' is invalid")
