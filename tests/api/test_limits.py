"""Request limits in process: body size (413), concurrent requests (503), time (504)."""

import threading
import time

import pytest
from fastapi.testclient import TestClient

from service.limits import default_body_limit
from service.settings import Settings
from tests.api.inprocess import serving

# A grid this large takes far longer than the short timeouts below on any machine,
# and keeps a request in progress long enough for the overload test.
HUGE_GRID = {"nx": 4000, "ny": 4000}
HUGE_GRID_POINTS = 16_000_000


@pytest.fixture
def limited(artifact_path):
    with serving(artifact_path, max_body_bytes=1000, max_points=10_000) as client:
        yield client


def test_default_body_limit_fits_max_points():
    settings = Settings(max_points=1000)

    assert settings.body_limit == default_body_limit(1000)
    # The longest JSON point of two float64 numbers, with separators.
    longest = b"[-1.2345678901234567e-305, -1.2345678901234567e-305], "
    assert settings.body_limit >= 1000 * len(longest)


def test_declared_body_over_limit_is_413(limited):
    response = limited.post("/predict", content=b" " * 1001)

    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "payload_too_large",
            "message": "request body is 1001 bytes, above the limit of 1000 bytes "
            "(SURFSERVE_MAX_BODY_BYTES); split the batch",
            "field": "body",
            "value": 1001,
            "allowed": "at most 1000 bytes",
        }
    }


def test_body_at_limit_is_read(limited):
    body = b'{"points": [[0, 0]]}'
    padded = body + b" " * (1000 - len(body))

    response = limited.post("/predict", content=padded)

    assert response.status_code == 200


def test_chunked_body_over_limit_is_413(limited):
    sent = []

    def chunks():
        for _ in range(100):
            sent.append(1)
            yield b" " * 100

    response = limited.post("/predict", content=chunks())

    assert response.status_code == 413
    assert response.json()["error"]["field"] == "body"
    assert "above the limit of 1000 bytes" in response.json()["error"]["message"]


def test_v2_body_over_limit_has_protocol_shape(limited):
    response = limited.post("/v2/models/surface/infer", content=b" " * 5000)

    assert response.status_code == 413
    assert response.json() == {
        "error": "request body is 5000 bytes, above the limit of 1000 bytes "
        "(SURFSERVE_MAX_BODY_BYTES); split the batch"
    }


def test_slow_request_is_504(artifact_path):
    with serving(artifact_path, request_timeout_s=0.05, max_grid_points=HUGE_GRID_POINTS) as client:
        response = client.get("/grid", params=HUGE_GRID)
        after = client.get("/grid", params={"nx": 3, "ny": 3})

    assert response.status_code == 504
    assert response.json() == {
        "error": {
            "code": "timeout",
            "message": "request timed out after 0.05 s (SURFSERVE_REQUEST_TIMEOUT_S); "
            "send fewer points per request",
        }
    }
    assert after.status_code == 200


def test_timeout_stops_forward_in_worker(artifact_path):
    # A forward that runs to its end is counted in the inference histogram; one
    # stopped at a chunk boundary by the timeout is not.
    with serving(artifact_path, request_timeout_s=0.05, max_grid_points=HUGE_GRID_POINTS) as client:
        before = _inference_count(client)
        timed_out = client.get("/grid", params=HUGE_GRID)
        after = _inference_count(client)

    assert timed_out.status_code == 504
    assert after == before


def _wait_in_progress(client: TestClient, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while "surfserve_requests_in_progress 1.0" not in client.get("/metrics").text:
        assert time.monotonic() < deadline, "the slow request never started"
        time.sleep(0.005)


def _inference_count(client: TestClient) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("surfserve_inference_duration_seconds_count "):
            return float(line.split()[1])
    raise AssertionError("surfserve_inference_duration_seconds_count not in /metrics")


def test_overload_is_503_with_retry_after(artifact_path):
    with serving(
        artifact_path, max_concurrent_requests=1, max_grid_points=HUGE_GRID_POINTS
    ) as client:
        results = {}

        def slow_grid() -> None:
            # npy: the forward keeps the request in progress, without a 200 MB JSON body.
            results["slow"] = client.get("/grid", params={**HUGE_GRID, "format": "npy"})

        worker = threading.Thread(target=slow_grid)
        worker.start()
        _wait_in_progress(client)
        response = client.get("/grid", params={"nx": 3, "ny": 3})
        live = client.get("/health/live")
        ready = client.get("/health/ready")
        worker.join()
        after = client.get("/grid", params={"nx": 3, "ny": 3})

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json() == {
        "error": {
            "code": "overloaded",
            "message": "the service is busy: the limit of 1 concurrent request(s) is reached "
            "(SURFSERVE_MAX_CONCURRENT_REQUESTS); retry after a second",
        }
    }
    # Health checks are not counted toward the bound.
    assert live.status_code == 200
    assert ready.status_code == 200
    assert results["slow"].status_code == 200
    assert after.status_code == 200


def test_openapi_documents_limit_statuses(limited):
    document = limited.get("/openapi.json").json()

    predict = document["paths"]["/predict"]["post"]["responses"]
    grid = document["paths"]["/grid"]["get"]["responses"]
    infer = document["paths"]["/v2/models/{name}/infer"]["post"]["responses"]
    live = document["paths"]["/health/live"]["get"]["responses"]
    assert {"413", "503", "504"} <= set(predict)
    assert {"503", "504"} <= set(grid)
    assert "413" not in grid
    assert {"413", "503", "504"} <= set(infer)
    assert set(live) == {"200"}
    assert "401" not in predict
