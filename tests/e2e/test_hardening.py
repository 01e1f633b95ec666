"""Limits, access control, metrics and logs of the real process, configured by environment."""

import json
import threading
import time

import httpx
import pytest

from tests.conftest import start_service, wait_ready

pytestmark = pytest.mark.e2e

KEY = "e2e-key-0123456789"


@pytest.fixture(scope="module")
def hardened(artifact_path, tmp_path_factory):
    """The service with a token, CORS, small limits and debug logs."""
    env = {
        "SURFSERVE_MODEL_PATH": str(artifact_path),
        "SURFSERVE_API_KEY": KEY,
        "SURFSERVE_CORS_ORIGINS": "https://app.example.com, http://localhost:3000",
        "SURFSERVE_MAX_BODY_BYTES": "200000",
        "SURFSERVE_REQUEST_TIMEOUT_S": "1",
        "SURFSERVE_MAX_CONCURRENT_REQUESTS": "1",
        "SURFSERVE_LOG_LEVEL": "debug",
    }
    service = start_service(env, tmp_path_factory.mktemp("hardened") / "service.log")
    wait_ready(service)
    yield service
    service.stop()


@pytest.fixture
def authorized(hardened):
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=hardened.url, headers=headers, timeout=60) as client:
        yield client


def _log_lines(service) -> list[dict]:
    return [json.loads(line) for line in service.log().splitlines() if line.startswith("{")]


def test_token_required(hardened, authorized):
    missing = httpx.post(f"{hardened.url}/predict", json={"points": [[0, 0]]})
    wrong = httpx.get(f"{hardened.url}/model", headers={"Authorization": "Bearer nope"})
    ok = authorized.post("/predict", json={"points": [[0, 0]]})

    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="surfserve"'
    assert wrong.status_code == 401
    assert ok.status_code == 200


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/v2/health/ready", "/metrics"])
def test_probes_need_no_token(hardened, path):
    assert httpx.get(f"{hardened.url}{path}").status_code == 200


def test_cors_origins_from_environment(hardened):
    preflight = httpx.options(
        f"{hardened.url}/predict",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_body_limit(authorized):
    response = authorized.post("/predict", content=b" " * 200_001)

    assert response.status_code == 413
    assert "above the limit of 200000 bytes" in response.json()["error"]["message"]


def _trickle(seconds: float):
    """A /predict body whose last byte comes ``seconds`` after its first: slow on any machine."""
    yield b'{"points": ['
    time.sleep(seconds)
    yield b"[0, 0]]}"


JSON = {"content-type": "application/json"}


def test_timeout_then_still_serving(authorized):
    slow = authorized.post("/predict", content=_trickle(3), headers=JSON)
    fast = authorized.get("/grid", params={"nx": 3, "ny": 3})

    assert slow.status_code == 504
    assert slow.json()["error"]["code"] == "timeout"
    assert fast.status_code == 200


def test_overload_answers_503_at_once(hardened, authorized):
    # With a bound of 1, a request sent while a slow one is in progress is rejected.
    results = {}

    def slow_request() -> None:
        results["slow"] = authorized.post("/predict", content=_trickle(3), headers=JSON)

    worker = threading.Thread(target=slow_request)
    worker.start()
    _wait_in_progress(hardened)
    busy = authorized.get("/grid", params={"nx": 3, "ny": 3})
    ready = httpx.get(f"{hardened.url}/health/ready")
    worker.join()

    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"]["code"] == "overloaded"
    assert ready.status_code == 200
    assert results["slow"].status_code == 504


def _wait_in_progress(service, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while "surfserve_requests_in_progress 1.0" not in httpx.get(f"{service.url}/metrics").text:
        assert time.monotonic() < deadline, "the slow request never started"
        time.sleep(0.01)


def test_metrics_over_http(hardened, authorized):
    authorized.post("/predict", json={"points": [[0, 0], [1, 1]]})
    httpx.get(f"{hardened.url}/grid")

    text = httpx.get(f"{hardened.url}/metrics").text

    assert 'surfserve_requests_total{method="POST",route="/predict",status="200"}' in text
    assert 'surfserve_rejected_requests_total{reason="unauthorized"}' in text
    assert "surfserve_request_duration_seconds_bucket" in text
    assert "surfserve_request_points_bucket" in text
    assert "surfserve_inference_duration_seconds_bucket" in text
    assert 'surfserve_model_info{device="cpu"' in text


def test_json_log_lines_carry_request_id(hardened, authorized):
    authorized.post(
        "/predict", content=b'{"points": [[0, NaN]]}', headers={"X-Request-ID": "e2e-7"}
    )
    time.sleep(0.2)

    lines = [line for line in _log_lines(hardened) if line.get("request_id") == "e2e-7"]

    assert {line["logger"] for line in lines} == {"service.errors", "service.access"}
    access = next(line for line in lines if line["logger"] == "service.access")
    assert access["level"] == "debug"
    assert access["status"] == 422
    assert access["route"] == "/predict"
    assert all(line["level"] == "debug" for line in lines)


def test_lifecycle_logged_at_info(hardened):
    lines = _log_lines(hardened)

    loaded = [line for line in lines if line["message"].startswith("artifact loaded")]
    assert len(loaded) == 1
    assert loaded[0]["level"] == "info"
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
