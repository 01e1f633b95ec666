"""SURFSERVE_WORKERS > 1: uvicorn's supervisor and worker processes."""

import time

import httpx
import numpy as np
import pytest

from tests.conftest import reference_forward, start_service, wait_ready

pytestmark = pytest.mark.e2e


def test_two_workers_start_serve_and_stop(artifact_path, artifact, tmp_path):
    service = start_service(
        {"SURFSERVE_MODEL_PATH": str(artifact_path), "SURFSERVE_WORKERS": "2"},
        tmp_path / "service.log",
    )
    try:
        wait_ready(service, timeout=60)
        points = (np.random.default_rng(2).standard_normal((300, 2)) * 3).astype(np.float32)

        with httpx.Client(base_url=service.url, timeout=30) as http:
            for _ in range(20):
                response = http.post("/predict", json={"points": points.tolist()})
                assert response.status_code == 200
                predictions = np.array(response.json()["predictions"], dtype=np.float32)
                assert np.array_equal(predictions, reference_forward(artifact, points))
        # Both workers load the artifact, each with its own share of the CPUs. The
        # service is ready once one worker is, so the other may still be loading.
        deadline = time.monotonic() + 60
        while service.log().count("artifact loaded") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.log().count("artifact loaded") == 2
        assert "starting 2 workers" in service.log()
    finally:
        returncode = service.stop()

    assert returncode == 0, service.log()


def test_workers_refuse_broken_artifact(tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a torchscript file")
    service = start_service(
        {"SURFSERVE_MODEL_PATH": str(broken), "SURFSERVE_WORKERS": "2"}, tmp_path / "service.log"
    )

    returncode = service.process.wait(60)

    assert returncode == 1
    assert "cannot load artifact" in service.log()
