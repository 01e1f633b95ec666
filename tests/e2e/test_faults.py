"""Faults against the real process: bad artifacts, SIGTERM while busy, SIGHUP reloads."""

import contextlib
import json
import os
import shutil
import signal
import threading
import time

import httpx
import numpy as np
import pytest
import torch

from service.artifact import load_artifact, save_artifact, weights_digest
from tests.conftest import reference_forward, start_service, wait_ready

pytestmark = pytest.mark.e2e

CPU = torch.device("cpu")


def _empty(source, path):
    path.write_bytes(b"")


def _truncated(source, path):
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt(source, path):
    # Same size and zip header, body overwritten: what a bad disk or copy leaves.
    data = bytearray(source.read_bytes())
    data[64:] = bytes(len(data) - 64)
    path.write_bytes(bytes(data))


def _checksum_mismatch(source, path):
    artifact = load_artifact(source, CPU)
    with torch.no_grad():
        next(artifact.module.parameters()).add_(0.5)
    save_artifact(artifact.module, artifact.metadata, path)


def _non_finite(source, path):
    # A readable artifact with a matching checksum whose forward gives NaN.
    artifact = load_artifact(source, CPU)
    with torch.no_grad():
        for parameter in artifact.module.parameters():
            parameter.fill_(float("nan"))
    metadata = dict(artifact.metadata, weights_sha256=weights_digest(artifact.module))
    save_artifact(artifact.module, metadata, path)


FAULTS = [
    ("missing", None, "artifact not found"),
    ("empty", _empty, "artifact is empty"),
    ("truncated", _truncated, "artifact is not a readable TorchScript file"),
    ("corrupt", _corrupt, "artifact is not a readable TorchScript file"),
    ("checksum mismatch", _checksum_mismatch, "artifact weights do not match their checksum"),
    ("non-finite output", _non_finite, "warm-up forward pass returned non-finite values"),
]


def _log_lines(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(("fault", "make", "expected"), FAULTS, ids=[f[0] for f in FAULTS])
def test_bad_artifact_fails_start(artifact_path, tmp_path, fault, make, expected):
    broken = tmp_path / "broken.pt"
    if make is not None:
        make(artifact_path, broken)
    service = start_service({"SURFSERVE_MODEL_PATH": str(broken)}, tmp_path / "service.log")

    # Readiness is polled for the whole life of the process: it must never be 200.
    statuses = []
    try:
        deadline = time.monotonic() + 30
        while service.process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                statuses.append(httpx.get(f"{service.url}/health/ready", timeout=1).status_code)
            time.sleep(0.01)
    finally:
        service.stop()

    log = service.log()
    errors = [line for line in _log_lines(log) if line["level"] in ("error", "critical")]
    assert service.process.returncode not in (0, None)
    assert 200 not in statuses
    assert len(errors) == 1, log
    assert expected in errors[0]["message"]
    assert "Traceback" not in log


def test_sigterm_lets_in_flight_request_finish(artifact_path, artifact, tmp_path):
    env = {"SURFSERVE_MODEL_PATH": str(artifact_path), "SURFSERVE_MAX_GRID_POINTS": "16000000"}
    service = start_service(env, tmp_path / "service.log")
    params = {"nx": 4000, "ny": 1000}
    try:
        wait_ready(service)
        response = _request_during_signal(service, params, signal.SIGTERM)
        code = service.process.wait(60)
    finally:
        service.stop()

    assert response.status_code == 200
    body = response.json()
    values = np.array(body["values"], dtype=np.float32)
    assert values.shape == (1000, 4000)
    first_row = [[x0, body["x1"][0]] for x0 in body["x0"]]
    assert np.array_equal(values[0], reference_forward(artifact, first_row))
    assert code == 0
    assert "Traceback" not in service.log()


def test_sigterm_grace_period_ends_slow_request(artifact_path, tmp_path):
    env = {
        "SURFSERVE_MODEL_PATH": str(artifact_path),
        "SURFSERVE_MAX_GRID_POINTS": "64000000",
        "SURFSERVE_GRACEFUL_SHUTDOWN_S": "0.2",
    }
    service = start_service(env, tmp_path / "service.log")
    try:
        wait_ready(service)
        try:
            grid = {"nx": 8000, "ny": 8000}
            status = _request_during_signal(service, grid, signal.SIGTERM).status_code
        except httpx.TransportError:
            status = None
        code = service.process.wait(60)
    finally:
        service.stop()

    # uvicorn cancels the request after the grace period and sends a 500 if it can.
    assert status in (None, 500)
    assert code == 0
    assert "timeout graceful shutdown exceeded" in service.log()


def _request_during_signal(service, params, signum) -> httpx.Response:
    """Send a slow /grid request, signal the process while it runs, return its response."""
    results: dict[str, object] = {}

    def slow_request() -> None:
        try:
            results["response"] = httpx.get(f"{service.url}/grid", params=params, timeout=120)
        except httpx.TransportError as error:
            results["error"] = error

    worker = threading.Thread(target=slow_request)
    worker.start()
    _wait_in_progress(service)
    service.process.send_signal(signum)
    worker.join(120)
    if "error" in results:
        raise results["error"]
    return results["response"]


def _wait_in_progress(service, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = httpx.get(f"{service.url}/metrics").text
        if "surfserve_requests_in_progress 1.0" in text:
            return
        time.sleep(0.01)
    pytest.fail("the slow request never started")


def _replace(source, target) -> None:
    # Written beside the target and renamed over it, as training writes artifacts.
    staging = target.with_name(".staging.pt")
    shutil.copyfile(source, staging)
    os.replace(staging, target)


def _wait_for_log(service, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in service.log():
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{service.log()}"
        time.sleep(0.02)


def test_sighup_reloads_and_rejects_broken(artifact_path, second_artifact, artifact, tmp_path):
    served = tmp_path / "served.pt"
    shutil.copyfile(artifact_path, served)
    second = load_artifact(second_artifact, CPU)
    points = np.random.default_rng(3).standard_normal((3000, 2)).astype(np.float32) * 4
    expected = {
        artifact.version: reference_forward(artifact, points),
        second.version: reference_forward(second, points),
    }
    service = start_service({"SURFSERVE_MODEL_PATH": str(served)}, tmp_path / "service.log")
    try:
        wait_ready(service)
        before = httpx.get(f"{service.url}/model").json()["version"]

        # Requests keep running through the swap; each must match one whole model.
        answers, stop = [], threading.Event()

        def hammer() -> None:
            with httpx.Client(base_url=service.url, timeout=30) as client:
                while not stop.is_set():
                    answers.append(client.post("/predict", json={"points": points.tolist()}))

        worker = threading.Thread(target=hammer)
        worker.start()
        _replace(second_artifact, served)
        service.process.send_signal(signal.SIGHUP)
        _wait_for_log(service, "reload complete")
        time.sleep(0.2)
        stop.set()
        worker.join()
        after_good = httpx.get(f"{service.url}/model").json()["version"]

        served.write_bytes(b"not a model")
        service.process.send_signal(signal.SIGHUP)
        _wait_for_log(service, "reload rejected")
        after_broken = httpx.get(f"{service.url}/model").json()["version"]
        ready = httpx.get(f"{service.url}/health/ready")
        still = httpx.post(f"{service.url}/predict", json={"points": points.tolist()})
        metrics = httpx.get(f"{service.url}/metrics").text
    finally:
        code = service.stop()

    assert before == artifact.version
    assert after_good == second.version
    assert after_broken == second.version
    assert ready.status_code == 200
    assert {answer.status_code for answer in answers} == {200}
    versions = {answer.json()["model"]["version"] for answer in answers}
    assert second.version in versions
    for answer in answers:
        version = answer.json()["model"]["version"]
        got = np.array(answer.json()["predictions"], dtype=np.float32)
        assert np.array_equal(got, expected[version])
    assert np.array_equal(
        np.array(still.json()["predictions"], np.float32), expected[second.version]
    )
    assert 'surfserve_model_reloads_total{result="success"} 1.0' in metrics
    assert 'surfserve_model_reloads_total{result="failure"} 1.0' in metrics
    assert f'version="{second.version}"' in metrics
    rejected = [line for line in _log_lines(service.log()) if "reload rejected" in line["message"]]
    assert len(rejected) == 1
    assert rejected[0]["level"] == "error"
    assert "artifact is not a readable TorchScript file" in rejected[0]["message"]
    assert code == 0
