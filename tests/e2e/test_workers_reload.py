"""Several worker processes: metrics add up across workers; SIGHUP reloads are checked, counted."""

import os
import shutil
import signal
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.artifact import load_artifact
from tests.conftest import start_service, wait_ready

pytestmark = pytest.mark.e2e


def _metric(text: str, prefix: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(prefix):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _version(service) -> str | None:
    # A connection that a retiring worker accepted but had not read from yet is
    # closed without a response (uvicorn's shutdown); a client retries it.
    try:
        return httpx.get(f"{service.url}/model").json()["version"]
    except httpx.TransportError:
        return None


def _reload_counts(service) -> dict[str, float]:
    # Retried like _version: a retiring worker may close the connection unanswered.
    for _ in range(10):
        try:
            text = httpx.get(f"{service.url}/metrics").text
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        return {
            sample.labels["result"]: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "surfserve_model_reloads_total"
        }
    pytest.fail(f"/metrics did not answer:\n{service.log()}")


def _wait_for_log(service, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in service.log():
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{service.log()}"
        time.sleep(0.05)


def test_workers_share_metrics_and_check_reloads(artifact_path, second_artifact, tmp_path):
    served = tmp_path / "served.pt"
    shutil.copyfile(artifact_path, served)
    first = load_artifact(artifact_path, "cpu")
    second = load_artifact(second_artifact, "cpu")
    env = {"SURFSERVE_MODEL_PATH": str(served), "SURFSERVE_WORKERS": "2"}
    service = start_service(env, tmp_path / "service.log")
    try:
        wait_ready(service, timeout=120)
        deadline = time.monotonic() + 120
        while service.log().count("artifact loaded") < 2:  # one line per worker
            assert time.monotonic() < deadline, service.log()
            time.sleep(0.05)
        # Each call opens a new connection, so the kernel spreads them over the workers.
        for _ in range(40):
            response = httpx.post(f"{service.url}/predict", json={"points": [[0, 0]]})
            assert response.status_code == 200
        counted = _metric(
            httpx.get(f"{service.url}/metrics").text,
            'surfserve_requests_total{method="POST",route="/predict",status="200"}',
        )
        reloads_at_start = _reload_counts(service)

        # A broken artifact is rejected by the supervisor; the workers keep serving.
        served.write_bytes(b"not a model")
        service.process.send_signal(signal.SIGHUP)
        _wait_for_log(service, "reload rejected")
        after_broken = {httpx.get(f"{service.url}/model").json()["version"] for _ in range(10)}
        # The supervisor counts before it logs.
        reloads_after_broken = _reload_counts(service)

        # A good one replaces every worker.
        staging = tmp_path / ".staging.pt"
        shutil.copyfile(second_artifact, staging)
        os.replace(staging, served)
        service.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 120
        while True:
            versions = {_version(service) for _ in range(10)}
            if versions == {second.version} or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        reloads_after_good = _reload_counts(service)
    finally:
        code = service.stop(timeout=60)

    assert counted == 40
    assert after_broken == {first.version}
    assert versions == {second.version}
    assert code == 0
    # The supervisor's counts, in the shared files, add up with the workers' zeros.
    assert reloads_at_start == {"success": 0, "failure": 0}
    assert reloads_after_broken == {"success": 0, "failure": 1}
    assert reloads_after_good == {"success": 1, "failure": 1}
