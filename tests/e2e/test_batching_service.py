"""Dynamic batching in the real service: concurrent requests get exact predictions."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from tests.conftest import reference_forward, start_service, wait_ready

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def batching_service(artifact_path, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("batching") / "service.log"
    service = start_service(
        {
            "SURFSERVE_MODEL_PATH": str(artifact_path),
            "SURFSERVE_BATCHING": "true",
            "SURFSERVE_BATCH_MAX_WAIT_MS": "5",
            "SURFSERVE_LOG_LEVEL": "debug",
        },
        log_path,
    )
    wait_ready(service)
    yield service
    service.stop()


def test_batched_answers_equal_unbatched(batching_service, client, artifact):
    rng = np.random.default_rng(5)
    requests = [
        (rng.standard_normal((int(size), 2)) * 4).astype(np.float32)
        for size in rng.integers(1, 8, size=200)
    ]

    def send(points):
        with httpx.Client(base_url=batching_service.url, timeout=30) as http:
            response = http.post("/predict", json={"points": points.tolist()})
        assert response.status_code == 200
        return np.array(response.json()["predictions"], dtype=np.float32)

    with ThreadPoolExecutor(max_workers=16) as pool:
        batched = list(pool.map(send, requests))

    # The unbatched service (the session's live_service) and the artifact agree.
    for points, predictions in zip(requests, batched, strict=True):
        unbatched = client.post("/predict", json={"points": points.tolist()}).json()
        assert np.array_equal(predictions, np.array(unbatched["predictions"], dtype=np.float32))
        assert np.array_equal(predictions, reference_forward(artifact, points))

    # Concurrent requests did share forward passes.
    assert "shared one forward pass" in batching_service.log()


def test_large_request_bypasses_batcher(batching_service, artifact):
    points = (np.random.default_rng(6).standard_normal((5000, 2)) * 4).astype(np.float32)

    response = httpx.post(
        f"{batching_service.url}/predict", json={"points": points.tolist()}, timeout=30
    )

    assert response.status_code == 200
    predictions = np.array(response.json()["predictions"], dtype=np.float32)
    assert np.array_equal(predictions, reference_forward(artifact, points))
