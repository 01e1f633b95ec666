"""POST /predict returns the same response through the fast path as through FastAPI's route."""

import gzip

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from benchmarks import middleware_overhead as overhead_benchmark
from service.app import create_app
from service.fastpath import PredictFastPath
from service.settings import Settings
from tests.api.inprocess import CPU, wait_ready

JSON = "application/json"
OCTET = "application/octet-stream"
POINTS = np.array([[0, 0], [1.5, -2.0], [9, 9]], dtype="<f4")

# (case, body, headers): good and bad requests of every kind the route reads.
REQUESTS = [
    ("json", b'{"points": [[0, 0], [1.5, -2.0], [9, 9]]}', {"content-type": JSON}),
    ("binary", POINTS.tobytes(), {"content-type": OCTET}),
    ("json to binary", b'{"points": [[0, 0]]}', {"content-type": JSON, "accept": OCTET}),
    ("binary to json", POINTS.tobytes(), {"content-type": OCTET, "accept": JSON}),
    (
        "gzip",
        gzip.compress(b'{"points": [[0.5, 1]]}'),
        {"content-type": JSON, "content-encoding": "gzip"},
    ),
    ("nan", b'{"points": [[0, 0], [1.5, "NaN"]]}', {"content-type": JSON}),
    ("three numbers", b'{"points": [[0, 0, 0]]}', {"content-type": JSON}),
    ("empty batch", b'{"points": []}', {"content-type": JSON}),
    ("invalid json", b'{"points": [[0, 0]', {"content-type": JSON}),
    ("unknown field", b'{"point": [[0, 0]]}', {"content-type": JSON}),
    (
        "too many points",
        b'{"points": [' + b",".join([b"[0, 0]"] * 11) + b"]}",
        {"content-type": JSON},
    ),
    ("ragged binary", b"\x00" * 7, {"content-type": OCTET}),
    ("text body", b"0 0", {"content-type": "text/plain"}),
    ("xml accept", b'{"points": [[0, 0]]}', {"content-type": JSON, "accept": "application/xml"}),
    ("brotli", b"{}", {"content-type": JSON, "content-encoding": "br"}),
]
COMPARED_HEADERS = (
    "content-type",
    "x-surfserve-extrapolated-points",
    "x-surfserve-model-name",
    "x-surfserve-model-version",
)


def _client(artifact_path, fast_predict: bool) -> TestClient:
    settings = Settings(model_path=artifact_path, max_points=10)
    return TestClient(create_app(settings, CPU, fast_predict=fast_predict))


@pytest.fixture(scope="module")
def clients(artifact_path):
    with _client(artifact_path, True) as fast, _client(artifact_path, False) as routed:
        wait_ready(fast)
        wait_ready(routed)
        yield fast, routed


@pytest.mark.parametrize(("case", "body", "headers"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_fast_path_equals_route(clients, case, body, headers):
    fast, routed = clients

    expected = routed.post("/predict", content=body, headers=headers)
    response = fast.post("/predict", content=body, headers=headers)

    assert response.status_code == expected.status_code
    assert response.content == expected.content
    for name in COMPARED_HEADERS:
        assert response.headers.get(name) == expected.headers.get(name), name


def test_fast_path_counts_route_metrics(clients):
    fast, _ = clients

    fast.post("/predict", json={"points": [[0, 0]]})
    fast.post("/predict", json={"points": []})
    metrics = fast.get("/metrics").text

    assert 'surfserve_requests_total{method="POST",route="/predict",status="200"}' in metrics
    assert 'surfserve_requests_total{method="POST",route="/predict",status="422"}' in metrics


def test_other_methods_reach_the_route(clients):
    fast, _ = clients

    response = fast.get("/predict")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_not_ready_is_503_on_both(tmp_path):
    missing = tmp_path / "missing.pt"
    for fast_predict in (True, False):
        app = create_app(Settings(model_path=missing), CPU, fast_predict=fast_predict)
        with TestClient(app) as client:
            response = client.post("/predict", json={"points": [[0, 0]]})

        assert response.status_code == 503
        assert response.json()["error"]["code"] == "model_not_ready"


def test_service_installs_fast_path(artifact_path):
    default = create_app(Settings(model_path=artifact_path), CPU)
    routed = create_app(Settings(model_path=artifact_path), CPU, fast_predict=False)

    assert [m.cls for m in default.user_middleware].count(PredictFastPath) == 1
    assert PredictFastPath not in [m.cls for m in routed.user_middleware]


def test_overhead_benchmark_runs(artifact_path, capsys):
    previous = torch.get_num_threads()
    try:
        code = overhead_benchmark.main(
            ["--artifact", str(artifact_path), "--rounds", "1", "--requests", "3"]
        )
    finally:
        torch.set_num_threads(previous)

    output = capsys.readouterr().out
    assert code == 0
    for app in ("without middleware", "surfserve, FastAPI route", "surfserve + bearer key"):
        assert f"\n{app} " in output
