"""Binary and image formats of /predict and /grid against the real service."""

import io

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.e2e

OCTET = "application/octet-stream"


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(11)
    sampled = (rng.standard_normal((777, 2)) * 5).astype(np.float32)
    return np.concatenate([sampled, np.array([[0, 0], [1e30, -1e30]], dtype=np.float32)])


def _json_predictions(client, points):
    response = client.post("/predict", json={"points": points.tolist()})
    assert response.status_code == 200
    return np.array(response.json()["predictions"], dtype=np.float32)


def _json_extrapolated_count(client, points):
    response = client.post("/predict", json={"points": points.tolist()})
    return sum(response.json()["extrapolation"])


def test_octet_stream_round_trip_equals_json(client, points, artifact):
    response = client.post(
        "/predict", content=points.astype("<f4").tobytes(), headers={"content-type": OCTET}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == OCTET
    assert len(response.content) == 4 * len(points)
    predictions = np.frombuffer(response.content, dtype="<f4")
    assert np.array_equal(predictions, _json_predictions(client, points))
    extrapolated = int(response.headers["x-surfserve-extrapolated-points"])
    assert extrapolated >= 1  # the far point [1e30, -1e30] at least
    assert extrapolated == _json_extrapolated_count(client, points)
    assert response.headers["x-surfserve-model-name"] == artifact.name
    assert response.headers["x-surfserve-model-version"] == artifact.version


def test_binary_in_json_out(client, points):
    response = client.post(
        "/predict",
        content=points.astype("<f4").tobytes(),
        headers={"content-type": OCTET, "accept": "application/json"},
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    predictions = np.array(response.json()["predictions"], dtype=np.float32)
    assert np.array_equal(predictions, _json_predictions(client, points))


def test_json_in_binary_out(client, points):
    response = client.post("/predict", json={"points": points.tolist()}, headers={"accept": OCTET})

    assert response.status_code == 200
    assert response.headers["content-type"] == OCTET
    predictions = np.frombuffer(response.content, dtype="<f4")
    assert np.array_equal(predictions, _json_predictions(client, points))


def test_grid_npy_equals_json_values(client, artifact):
    params = {"x0_min": -3, "x0_max": 5, "x1_min": -2, "x1_max": 1, "nx": 41, "ny": 17}

    response = client.get("/grid", params={**params, "format": "npy"})
    values = np.load(io.BytesIO(response.content), allow_pickle=False)

    expected = np.array(client.get("/grid", params=params).json()["values"], dtype=np.float32)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-npy"
    assert values.dtype == np.float32
    assert values.shape == (17, 41)
    assert np.array_equal(values, expected)
    assert float(response.headers["x-surfserve-min"]) == float(expected.min())
    assert float(response.headers["x-surfserve-max"]) == float(expected.max())
    assert response.headers["x-surfserve-model-version"] == artifact.version


def test_grid_png_is_heatmap_of_grid(client, artifact):
    params = {"nx": 60, "ny": 25}

    response = client.get("/grid", params={**params, "format": "png"})
    image = Image.open(io.BytesIO(response.content))
    image.load()

    values = np.array(client.get("/grid", params=params).json()["values"], dtype=np.float32)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert image.format == "PNG"
    assert image.size == (60, 25)
    assert float(response.headers["x-surfserve-min"]) == float(values.min())
    assert float(response.headers["x-surfserve-max"]) == float(values.max())
    assert response.headers["x-surfserve-model-version"] == artifact.version
    # The darkest pixel sits where the lowest value is, with x1 upwards.
    row, column = np.unravel_index(np.argmin(values), values.shape)
    assert image.getpixel((int(column), 25 - 1 - int(row))) == 0


@pytest.mark.parametrize(
    ("headers", "content", "status", "code", "field"),
    [
        (
            {"content-type": "text/plain"},
            b"[[0, 0]]",
            415,
            "unsupported_media_type",
            "content-type",
        ),
        (
            {"content-type": "application/x-www-form-urlencoded"},
            b"points=1",
            415,
            "unsupported_media_type",
            "content-type",
        ),
        (
            {"content-type": OCTET, "accept": "text/html"},
            b"\0" * 8,
            406,
            "not_acceptable",
            "accept",
        ),
        ({"accept": "image/png"}, b'{"points": [[0, 0]]}', 406, "not_acceptable", "accept"),
        ({"content-type": OCTET}, b"\0" * 12, 422, "invalid_input", "body"),
        ({"content-type": OCTET}, b"", 422, "invalid_input", "body"),
    ],
    ids=["text", "form", "accept-html", "accept-png", "12-bytes", "empty"],
)
def test_bad_format_is_clear_4xx(client, headers, content, status, code, field):
    response = client.post("/predict", content=content, headers=headers)

    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["field"] == field
    assert "allowed" in error


def test_binary_nan_names_point(client):
    points = np.zeros((4, 2), dtype="<f4")
    points[2, 0] = np.nan

    response = client.post("/predict", content=points.tobytes(), headers={"content-type": OCTET})

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid_input",
        "message": "points[2][0] (x0) must be a finite number, got NaN",
        "field": "points[2][0]",
        "index": 2,
        "value": "NaN",
        "allowed": "a finite number",
    }


def test_unknown_grid_format_is_422(client):
    response = client.get("/grid", params={"format": "bmp"})

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid_input",
        "message": "format must be json, npy or png, got 'bmp'",
        "field": "format",
        "value": "bmp",
        "allowed": "json, npy or png",
    }


def test_service_answers_after_bad_formats(client):
    client.post("/predict", content=b"\0" * 9, headers={"content-type": OCTET})

    assert client.post("/predict", json={"points": [[0, 0]]}).status_code == 200
