"""In-process tests of the Open Inference Protocol routes through Starlette's TestClient."""

import gzip

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

from service import __version__
from service.app import create_app
from service.settings import Settings
from tests.api.inprocess import CPU, hold_model_loading, serving, wait_ready

HEADER_LENGTH = "Inference-Header-Content-Length"


@pytest.fixture
def api(artifact_path):
    with serving(artifact_path, max_points=50) as client:
        yield client


def _predict(api, points) -> np.ndarray:
    # /predict runs the same predictor core, so v2 must return exactly its predictions.
    response = api.post("/predict", json={"points": np.asarray(points).tolist()})
    return np.array(response.json()["predictions"], dtype=np.float32).reshape(-1, 1)


def _extrapolation(api, points) -> np.ndarray:
    response = api.post("/predict", json={"points": np.asarray(points).tolist()})
    return np.array(response.json()["extrapolation"], dtype=bool).reshape(-1, 1)


def _binary_request(points: np.ndarray, **document) -> tuple[bytes, dict[str, str]]:
    raw = points.astype("<f4").tobytes()
    tensor = {
        "name": "input",
        "shape": list(points.shape),
        "datatype": "FP32",
        "parameters": {"binary_data_size": len(raw)},
    }
    header = orjson.dumps({"inputs": [tensor], **document})
    return header + raw, {HEADER_LENGTH: str(len(header))}


def test_server_metadata(api):
    response = api.get("/v2")

    assert response.status_code == 200
    assert response.json() == {
        "name": "surfserve",
        "version": __version__,
        "extensions": ["binary_tensor_data"],
    }


def test_health_endpoints(api):
    assert api.get("/v2/health/live").json() == {"live": True}
    assert api.get("/v2/health/ready").json() == {"ready": True}


def test_model_metadata(api, artifact):
    response = api.get(f"/v2/models/{artifact.name}")

    assert response.status_code == 200
    assert response.json() == {
        "name": artifact.name,
        "versions": [artifact.version],
        "platform": "pytorch_torchscript",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 2]}],
        "outputs": [
            {"name": "output", "datatype": "FP32", "shape": [-1, 1]},
            {"name": "extrapolation", "datatype": "BOOL", "shape": [-1, 1]},
        ],
    }
    versioned = api.get(f"/v2/models/{artifact.name}/versions/{artifact.version}")
    assert versioned.json() == response.json()


def test_model_ready(api, artifact):
    assert api.get(f"/v2/models/{artifact.name}/ready").json() == {
        "name": artifact.name,
        "ready": True,
    }
    versioned = api.get(f"/v2/models/{artifact.name}/versions/{artifact.version}/ready")
    assert versioned.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v2/models/other",
        "/v2/models/other/ready",
        "/v2/models/other/versions/1",
        "/v2/models/other/versions/1/ready",
    ],
)
def test_unknown_model_is_404(api, artifact, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response.json() == {
        "error": f"model 'other' not found; this server serves model {artifact.name!r}"
    }


@pytest.mark.parametrize("suffix", ["", "/ready"])
def test_unknown_version_is_404(api, artifact, suffix):
    response = api.get(f"/v2/models/{artifact.name}/versions/0{suffix}")

    assert response.status_code == 404
    assert response.json() == {
        "error": f"version '0' of model {artifact.name!r} not found; the loaded version is "
        f"{artifact.version!r}"
    }


def test_infer_json(api, artifact):
    points = [[0.0, 0.0], [1.5, -2.0], [-7, 9]]
    body = {
        "id": "r-1",
        "inputs": [{"name": "input", "shape": [3, 2], "datatype": "FP32", "data": points}],
    }

    response = api.post(f"/v2/models/{artifact.name}/infer", content=orjson.dumps(body))

    assert response.status_code == 200
    assert HEADER_LENGTH not in response.headers
    document = response.json()
    assert document["model_name"] == artifact.name
    assert document["model_version"] == artifact.version
    assert document["id"] == "r-1"
    output, extrapolation = document["outputs"]
    assert output["name"] == "output"
    assert output["datatype"] == "FP32"
    assert output["shape"] == [3, 1]
    assert np.array_equal(np.array(output["data"], dtype=np.float32), _predict(api, points).ravel())
    assert extrapolation["name"] == "extrapolation"
    assert extrapolation["datatype"] == "BOOL"
    assert extrapolation["shape"] == [3, 1]
    assert extrapolation["data"] == _extrapolation(api, points).ravel().tolist()


def test_infer_binary_both_ways(api, artifact):
    points = np.array([[0.25, -1.0], [3.0, 4.0]], dtype=np.float32)
    body, headers = _binary_request(points, parameters={"binary_data_output": True})

    response = api.post(
        f"/v2/models/{artifact.name}/versions/{artifact.version}/infer",
        content=body,
        headers=headers,
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    length = int(response.headers[HEADER_LENGTH])
    header = orjson.loads(response.content[:length])
    assert header["outputs"] == [
        {
            "name": "output",
            "datatype": "FP32",
            "shape": [2, 1],
            "parameters": {"binary_data_size": 8},
        },
        {
            "name": "extrapolation",
            "datatype": "BOOL",
            "shape": [2, 1],
            "parameters": {"binary_data_size": 2},
        },
    ]
    assert len(response.content) == length + 8 + 2
    predictions = np.frombuffer(response.content[length : length + 8], dtype="<f4")
    flags = np.frombuffer(response.content[length + 8 :], dtype=np.uint8)
    assert np.array_equal(predictions.reshape(2, 1), _predict(api, points))
    assert set(flags.tolist()) <= {0, 1}
    assert np.array_equal(flags.astype(bool).reshape(2, 1), _extrapolation(api, points))


def test_infer_extrapolation_only(api, artifact):
    # The origin is where the training data is densest; 1e6 lies far outside it.
    points = [[0.0, 0.0], [1e6, 1e6]]
    body = {
        "inputs": [{"name": "input", "shape": [2, 2], "datatype": "FP64", "data": points}],
        "outputs": [{"name": "extrapolation"}],
    }

    response = api.post(f"/v2/models/{artifact.name}/infer", content=orjson.dumps(body))

    assert response.status_code == 200
    [output] = response.json()["outputs"]
    assert output == {
        "name": "extrapolation",
        "datatype": "BOOL",
        "shape": [2, 1],
        "data": [False, True],
    }


def test_infer_equals_predict(api, artifact):
    points = np.random.default_rng(3).standard_normal((40, 2)).astype(np.float32) * 5
    body, headers = _binary_request(points)

    infer = api.post(f"/v2/models/{artifact.name}/infer", content=body, headers=headers)
    predict = api.post("/predict", json={"points": points.tolist()})

    assert np.array_equal(
        np.array(infer.json()["outputs"][0]["data"], dtype=np.float32),
        np.array(predict.json()["predictions"], dtype=np.float32),
    )


def test_infer_gzip_body(api, artifact):
    points = np.array([[1.0, 2.0]], dtype=np.float32)
    body, headers = _binary_request(points)

    response = api.post(
        f"/v2/models/{artifact.name}/infer",
        content=gzip.compress(body),
        headers={**headers, "Content-Encoding": "gzip"},
    )

    assert response.status_code == 200
    assert np.array_equal(
        np.array(response.json()["outputs"][0]["data"], dtype=np.float32),
        _predict(api, points).ravel(),
    )


def test_infer_above_max_points_is_413(api, artifact):
    body, headers = _binary_request(np.zeros((51, 2), dtype=np.float32))

    response = api.post(f"/v2/models/{artifact.name}/infer", content=body, headers=headers)

    assert response.status_code == 413
    assert response.json() == {
        "error": "input 'input' has 51 points, above the limit of 50 per request "
        "(SURFSERVE_MAX_POINTS); split the batch"
    }


def test_infer_unknown_model_is_404(api):
    body, headers = _binary_request(np.zeros((1, 2), dtype=np.float32))

    response = api.post("/v2/models/other/infer", content=body, headers=headers)

    assert response.status_code == 404
    assert response.json()["error"].startswith("model 'other' not found")


def test_unknown_v2_path_is_protocol_404(api, artifact):
    response = api.get(f"/v2/models/{artifact.name}/config")

    assert response.status_code == 404
    assert response.json()["error"].startswith(
        f"no Open Inference Protocol endpoint at /v2/models/{artifact.name}/config"
    )


def test_wrong_method_is_protocol_405(api, artifact):
    response = api.get(f"/v2/models/{artifact.name}/infer")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "error": f"method GET is not allowed on /v2/models/{artifact.name}/infer; use POST"
    }


def test_json_api_keeps_its_error_shape(api):
    response = api.post("/predict", json={"points": []})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def test_not_ready_is_503(artifact_path, artifact, monkeypatch):
    release = hold_model_loading(monkeypatch)
    app = create_app(Settings(model_path=artifact_path), CPU)
    with TestClient(app) as client:
        live = client.get("/v2/health/live")
        ready = client.get("/v2/health/ready")
        model_ready = client.get(f"/v2/models/{artifact.name}/ready")
        infer = client.post(f"/v2/models/{artifact.name}/infer", content=b"{}")
        release.set()
        wait_ready(client, "/v2/health/ready")

    assert live.status_code == 200
    not_ready = {"error": "model not ready: the model is still loading"}
    for response in (ready, model_ready, infer):
        assert response.status_code == 503
        assert response.json() == not_ready


def test_unexpected_error_is_protocol_500(api, artifact, monkeypatch):
    def broken_predict(points):
        raise RuntimeError("device lost")

    predictor = api.app.state.model_state.predictor
    monkeypatch.setattr(predictor, "predict", broken_predict)
    body, headers = _binary_request(np.zeros((1, 2), dtype=np.float32))

    response = api.post(f"/v2/models/{artifact.name}/infer", content=body, headers=headers)

    assert response.status_code == 500
    assert response.json() == {"error": "internal server error"}


def test_openapi_documents_v2_routes(api):
    paths = api.get("/openapi.json").json()["paths"]

    expected = {
        "/v2",
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/{name}",
        "/v2/models/{name}/versions/{version}",
        "/v2/models/{name}/ready",
        "/v2/models/{name}/versions/{version}/ready",
        "/v2/models/{name}/infer",
        "/v2/models/{name}/versions/{version}/infer",
    }
    assert expected <= set(paths)
    assert not any("{path}" in path for path in paths)
    infer = paths["/v2/models/{name}/infer"]["post"]
    assert {"200", "400", "404", "413", "415", "503"} <= set(infer["responses"])
    request_content = infer["requestBody"]["content"]
    assert request_content["application/json"]["example"]["inputs"][0]["name"] == "input"
    assert "application/octet-stream" in request_content
