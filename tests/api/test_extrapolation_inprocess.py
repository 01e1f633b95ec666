"""Extrapolation flags in /predict and /grid, in process through Starlette's TestClient."""

import numpy as np
import pytest

from service.extrapolation import ExtrapolationMap
from tests.api.inprocess import serving


@pytest.fixture
def api(artifact_path):
    with serving(artifact_path) as client:
        yield client


def test_predict_returns_one_flag_per_point(api, artifact):
    points = np.random.default_rng(0).normal(0, 6, (200, 2)).astype(np.float32)

    body = api.post("/predict", json={"points": points.tolist()}).json()

    expected = ExtrapolationMap.from_artifact(artifact).flags(points)
    assert body["extrapolation"] == expected.tolist()
    assert len(body["extrapolation"]) == len(body["predictions"])
    assert 0 < sum(body["extrapolation"]) < len(points)


def test_grid_returns_a_mask_of_ny_rows(api, artifact):
    body = api.get("/grid", params={"nx": 5, "ny": 3}).json()

    flags_map = ExtrapolationMap.from_artifact(artifact)
    expected = flags_map.grid_flags(
        np.array(body["x0"], dtype=np.float32), np.array(body["x1"], dtype=np.float32)
    )
    assert body["extrapolation"] == expected.tolist()
    assert len(body["extrapolation"]) == 3
    assert all(len(row) == 5 for row in body["extrapolation"])
    # The grid spans [-10, 10]: its corners lie far out, its centre (0, 0) in the data.
    assert body["extrapolation"][0][0] is True
    assert body["extrapolation"][1][2] is False


def test_openapi_documents_the_flags(api):
    schemas = api.get("/openapi.json").json()["components"]["schemas"]

    assert schemas["PredictResponse"]["properties"]["extrapolation"]["type"] == "array"
    assert schemas["GridResponse"]["properties"]["extrapolation"]["type"] == "array"
    assert "extrapolation" in schemas["PredictResponse"]["required"]
