"""Start-up of the real process: clear one-line failures and readiness."""

import contextlib
import time

import httpx
import pytest
import torch

from tests.conftest import start_service, wait_ready

pytestmark = pytest.mark.e2e


def _run_until_exit(env: dict[str, str], tmp_path, timeout: float = 30):
    service = start_service(env, tmp_path / "service.log")
    try:
        code = service.process.wait(timeout)
    finally:
        service.stop()
    return code, service.log()


def _error_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if " ERROR " in line or "error" in line.lower()]


def test_missing_artifact_fails_clearly(tmp_path):
    code, log = _run_until_exit({"SURFSERVE_MODEL_PATH": str(tmp_path / "absent.pt")}, tmp_path)

    assert code == 1
    assert "artifact not found" in log
    assert "absent.pt" in log
    assert "Traceback" not in log
    assert len(_error_lines(log)) == 1


def test_corrupt_artifact_fails_clearly(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a model")

    code, log = _run_until_exit({"SURFSERVE_MODEL_PATH": str(corrupt)}, tmp_path)

    assert code == 1
    assert "cannot load artifact" in log
    assert "not a readable TorchScript file" in log
    assert "Traceback" not in log


def test_corrupt_artifact_never_ready(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"garbage" * 100)
    service = start_service({"SURFSERVE_MODEL_PATH": str(corrupt)}, tmp_path / "service.log")
    statuses = []
    try:
        deadline = time.monotonic() + 30
        while service.process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                statuses.append(httpx.get(f"{service.url}/health/ready", timeout=1).status_code)
            time.sleep(0.01)
    finally:
        service.stop()

    assert 200 not in statuses
    assert service.process.returncode == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_unavailable_fails_clearly(tmp_path, artifact_path):
    code, log = _run_until_exit(
        {"SURFSERVE_MODEL_PATH": str(artifact_path), "SURFSERVE_DEVICE": "cuda"}, tmp_path
    )

    assert code == 2
    assert "device 'cuda' requested but CUDA is not available" in log
    assert "Traceback" not in log


def test_bad_setting_fails_with_one_line(tmp_path, artifact_path):
    code, log = _run_until_exit(
        {"SURFSERVE_MODEL_PATH": str(artifact_path), "SURFSERVE_PORT": "eighty"}, tmp_path
    )

    assert code == 2
    assert log.strip().splitlines() == [
        "surfserve: invalid setting: SURFSERVE_PORT='eighty' is invalid: "
        "Input should be a valid integer, unable to parse string as an integer"
    ]


def test_live_before_ready_then_ready(tmp_path, artifact_path):
    service = start_service({"SURFSERVE_MODEL_PATH": str(artifact_path)}, tmp_path / "s.log")
    try:
        wait_ready(service)
        ready = httpx.get(f"{service.url}/health/ready")
        predict = httpx.post(f"{service.url}/predict", json={"points": [[0, 0]]})
        code = service.stop()
    finally:
        service.stop()

    assert ready.status_code == 200
    assert predict.status_code == 200
    assert code == 0
    assert "artifact loaded" in service.log()
    assert "warm-up" in service.log()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_serves_on_cuda(tmp_path, artifact_path, artifact):
    service = start_service(
        {"SURFSERVE_MODEL_PATH": str(artifact_path), "SURFSERVE_DEVICE": "cuda"},
        tmp_path / "s.log",
    )
    try:
        wait_ready(service)
        model = httpx.get(f"{service.url}/model").json()
        response = httpx.post(f"{service.url}/predict", json={"points": [[0.5, -1.0]]})
    finally:
        service.stop()

    assert model["device"] == "cuda:0"
    expected = artifact.module(torch.tensor([[0.5, -1.0]])).item()
    assert response.json()["predictions"][0] == pytest.approx(expected, abs=1e-5)
