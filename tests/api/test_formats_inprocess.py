"""In-process tests of the binary formats and batching through Starlette's TestClient."""

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.api.inprocess import serving
from tests.conftest import reference_forward

OCTET = "application/octet-stream"


@pytest.fixture(params=[True, False], ids=["batching", "no-batching"])
def api(request, artifact_path):
    with serving(artifact_path, batching=request.param, max_points=500) as client:
        yield client


def test_binary_predictions_equal_reference(api, artifact):
    points = (np.random.default_rng(4).standard_normal((300, 2)) * 3).astype("<f4")

    response = api.post("/predict", content=points.tobytes(), headers={"content-type": OCTET})

    assert response.status_code == 200
    predictions = np.frombuffer(response.content, dtype="<f4")
    assert np.array_equal(predictions, reference_forward(artifact, points))


def test_concurrent_requests_equal_reference(api, artifact):
    rng = np.random.default_rng(8)
    requests = [(rng.standard_normal((3, 2)) * 3).astype(np.float32) for _ in range(40)]

    def send(points):
        response = api.post("/predict", json={"points": points.tolist()})
        return np.array(response.json()["predictions"], dtype=np.float32)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, requests))

    for points, predictions in zip(requests, results, strict=True):
        assert np.array_equal(predictions, reference_forward(artifact, points))


def test_binary_limit_is_413(api):
    response = api.post("/predict", content=b"\0" * 8 * 501, headers={"content-type": OCTET})

    assert response.status_code == 413
    assert response.json()["error"]["allowed"] == "1 to 500 points"


def test_grid_npy_and_json_agree(api):
    params = {"nx": 9, "ny": 4}

    npy = np.load(io.BytesIO(api.get("/grid", params={**params, "format": "npy"}).content))

    values = api.get("/grid", params=params).json()["values"]
    assert np.array_equal(npy, np.array(values, dtype=np.float32))


def test_openapi_documents_formats(api):
    document = api.get("/openapi.json").json()
    predict = document["paths"]["/predict"]["post"]
    grid = document["paths"]["/grid"]["get"]

    assert set(predict["requestBody"]["content"]) == {"application/json", OCTET}
    assert OCTET in predict["responses"]["200"]["content"]
    assert {"406", "413", "415", "422", "503"} <= set(predict["responses"])
    assert {"application/x-npy", "image/png"} <= set(grid["responses"]["200"]["content"])
    format_parameter = next(p for p in grid["parameters"] if p["name"] == "format")
    assert format_parameter["schema"]["enum"] == ["json", "npy", "png"]
