"""Start-up of the real process: clear one-line failures and readiness."""

import json
import socket

import httpx
import pytest
import torch

from tests.conftest import free_port, start_service, wait_ready

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
        "Input should be a valid integer, unable to parse string as an integer; "
        "allowed: an integer from 1 to 65535"
    ]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_port_in_use_fails_clearly(tmp_path, artifact_path, workers):
    port = free_port()
    env = {"SURFSERVE_MODEL_PATH": str(artifact_path), "SURFSERVE_WORKERS": workers}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        service = start_service(env, tmp_path / "service.log", port=port)
        try:
            code = service.process.wait(30)
        finally:
            service.stop()
    log = service.log()

    assert code == 1
    [error] = _error_lines(log)
    assert json.loads(error)["message"] == (
        f"cannot listen on SURFSERVE_HOST=127.0.0.1 SURFSERVE_PORT={port}: Address already in "
        "use; another process listens on that port; stop it or set another SURFSERVE_PORT"
    )
    assert "Traceback" not in log
    # Nothing loads the artifact once the address has failed.
    assert "artifact loaded" not in log
    assert "starting 2 workers" not in log


def test_misspelled_setting_warns(tmp_path):
    env = {"SURFSERVE_MODEL_PATH": str(tmp_path / "absent.pt"), "SURFSERVE_PROT": "8124"}

    code, log = _run_until_exit(env, tmp_path)

    assert code == 1
    warnings = [json.loads(line) for line in log.splitlines() if '"level":"warning"' in line]
    assert [line["message"] for line in warnings] == [
        "SURFSERVE_PROT is not a setting and is ignored; did you mean SURFSERVE_PORT?"
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
