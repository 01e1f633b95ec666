"""In-process tests of the app through Starlette's TestClient (lifespan included)."""

import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.api.inprocess import CPU, hold_model_loading, serving, wait_ready
from tests.conftest import reference_forward


@pytest.fixture
def api(artifact_path):
    with serving(artifact_path, max_points=50, max_grid_points=400) as client:
        yield client


def test_predict_matches_forward(api, artifact):
    points = [[0.0, 0.0], [1.5, -2.0], [-7, 9]]

    response = api.post("/predict", json={"points": points})

    assert response.status_code == 200
    expected = reference_forward(artifact, points)
    assert np.array_equal(np.array(response.json()["predictions"], dtype=np.float32), expected)
    assert response.json()["model"] == {"name": artifact.name, "version": artifact.version}


def test_grid_shape_and_axes(api):
    response = api.get("/grid", params={"nx": 4, "ny": 3, "x0_min": 0, "x0_max": 3})

    body = response.json()
    assert response.status_code == 200
    assert body["x0"] == [0.0, 1.0, 2.0, 3.0]
    assert body["x1"] == [-10.0, 0.0, 10.0]
    assert len(body["values"]) == 3
    assert all(len(row) == 4 for row in body["values"])


def test_too_many_points_is_413(api):
    response = api.post("/predict", json={"points": [[0, 0]] * 51})

    assert response.status_code == 413
    assert response.json()["error"]["allowed"] == "1 to 50 points"


def test_too_many_grid_points_is_422(api):
    response = api.get("/grid", params={"nx": 21, "ny": 20})

    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "invalid_input",
            "message": "nx*ny is 21*20=420 points, above the limit of 400 "
            "(SURFSERVE_MAX_GRID_POINTS)",
            "field": "nx*ny",
            "value": 420,
            "allowed": "at most 400 grid points",
        }
    }


def test_model_metadata_has_device(api, artifact):
    body = api.get("/model").json()

    assert body["device"] == "cpu"
    assert body["name"] == artifact.name
    assert body["version"] == artifact.version
    assert body["input_domain"] == artifact.metadata["input_domain"]


def test_unknown_route_is_json_404(api):
    response = api.get("/nope")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found"}}


def test_wrong_method_is_json_405(api):
    response = api.get("/predict")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_not_ready_until_loaded(artifact_path, monkeypatch):
    release = hold_model_loading(monkeypatch)
    app = create_app(Settings(model_path=artifact_path), CPU)
    with TestClient(app) as client:
        live = client.get("/health/live")
        before = client.get("/health/ready")
        predict_before = client.post("/predict", json={"points": [[0, 0]]})

        release.set()
        wait_ready(client)
        after = client.get("/health/ready")

    assert live.status_code == 200
    assert before.status_code == 503
    assert before.json() == {"status": "not_ready", "reason": "the model is still loading"}
    assert predict_before.status_code == 503
    assert predict_before.json()["error"]["code"] == "model_not_ready"
    assert after.status_code == 200
    assert after.json()["status"] == "ready"


def test_failed_load_is_never_ready(tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a model")
    reasons: list[str] = []
    app = create_app(Settings(model_path=broken), CPU, on_fatal=reasons.append)

    with TestClient(app) as client:
        deadline = time.monotonic() + 10
        while not reasons and time.monotonic() < deadline:
            time.sleep(0.01)
        ready = client.get("/health/ready")
        predict = client.post("/predict", json={"points": [[0, 0]]})

    assert len(reasons) == 1
    assert "not a readable TorchScript file" in reasons[0]
    assert ready.status_code == 503
    assert "cannot load artifact" in ready.json()["reason"]
    assert predict.status_code == 503


def test_openapi_documents_endpoints(api):
    document = api.get("/openapi.json").json()

    for path in ("/predict", "/grid", "/health/live", "/health/ready", "/model"):
        assert path in document["paths"]
    predict = document["paths"]["/predict"]["post"]
    assert "points" in predict["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert {"200", "413", "422", "503"} <= set(predict["responses"])
