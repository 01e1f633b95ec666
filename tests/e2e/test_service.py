"""End-to-end tests: the real `python -m service` on a loopback port, over HTTP."""

import gzip
import threading
import time
import zlib

import httpx
import numpy as np
import orjson
import pytest

from tests.conftest import reference_forward, start_service, wait_ready

pytestmark = pytest.mark.e2e


def _forward(artifact, points) -> np.ndarray:
    return reference_forward(artifact, points)


def test_predictions_equal_artifact_forward(client, artifact):
    rng = np.random.default_rng(0)
    points = (rng.standard_normal((500, 2)) * np.pi).tolist()
    points += [[0, 0], [12, -30], [1e6, -1e6], [1e300, 3], [-5, 7]]

    response = client.post("/predict", json={"points": points})

    assert response.status_code == 200
    predictions = np.array(response.json()["predictions"], dtype=np.float32)
    assert predictions.shape == (len(points),)
    assert np.array_equal(predictions, _forward(artifact, points))


def test_large_batch_equals_forward(client, artifact):
    rng = np.random.default_rng(1)
    points = (rng.standard_normal((20_000, 2)) * 4).astype(np.float32)

    response = client.post("/predict", json={"points": points.tolist()})

    assert response.status_code == 200
    predictions = np.array(response.json()["predictions"], dtype=np.float32)
    assert np.array_equal(predictions, _forward(artifact, points))


def test_integers_accepted(client, artifact):
    response = client.post("/predict", json={"points": [[1, 2], [-3, 0]]})

    assert response.status_code == 200
    expected = _forward(artifact, [[1.0, 2.0], [-3.0, 0.0]])
    assert np.array_equal(np.array(response.json()["predictions"], dtype=np.float32), expected)


def test_grid_orientation(client, artifact):
    # An asymmetric rectangle: a transposed grid could not match by accident.
    params = {"x0_min": 0, "x0_max": 3, "x1_min": -2, "x1_max": -1, "nx": 4, "ny": 2}

    body = client.get("/grid", params=params).json()

    assert body["x0"] == [0.0, 1.0, 2.0, 3.0]
    assert body["x1"] == [-2.0, -1.0]
    values = np.array(body["values"], dtype=np.float32)
    assert values.shape == (2, 4)
    row_major = [[x0, x1] for x1 in body["x1"] for x0 in body["x0"]]
    assert np.array_equal(values, _forward(artifact, row_major).reshape(2, 4))
    # The corner (x0=3, x1=-2) is row 0, last column; its mirror (x0=-2, x1=3) is not.
    corner = _forward(artifact, [[3.0, -2.0]])[0]
    mirror = _forward(artifact, [[-2.0, 3.0]])[0]
    assert values[0, 3] == pytest.approx(corner, abs=1e-6)
    assert abs(values[0, 3] - mirror) > 1e-3


def test_grid_defaults_are_tutorial_picture(client):
    body = client.get("/grid").json()

    assert len(body["x0"]) == 100
    assert len(body["x1"]) == 100
    assert body["x0"][0] == -10.0
    assert body["x0"][-1] == 10.0
    assert len(body["values"]) == 100


BAD_PREDICT_BODIES = [
    ("malformed JSON", b'{"points": [[0, 0]', 422, "body", None),
    ("empty body", b"", 422, "body", None),
    ("wrong top-level shape", b"[[0, 0]]", 422, "body", None),
    ("points not a list", b'{"points": {"x0": 1}}', 422, "points", None),
    ("one number", b'{"points": [[0, 0], [1]]}', 422, "points[1]", 1),
    ("three numbers", b'{"points": [[0, 0], [1, 2, 3]]}', 422, "points[1]", 1),
    ("not a number", b'{"points": [[0, 0], [0, 0], ["a", 1]]}', 422, "points[2][0]", 2),
    ("NaN literal", b'{"points": [[NaN, 1]]}', 422, "points[0][0]", 0),
    ("Infinity literal", b'{"points": [[1, Infinity]]}', 422, "points[0][1]", 0),
    ("NaN string", b'{"points": [[1, "NaN"]]}', 422, "points[0][1]", 0),
    ("Infinity string", b'{"points": [["Infinity", 1]]}', 422, "points[0][0]", 0),
    ("boolean", b'{"points": [[false, 1]]}', 422, "points[0][0]", 0),
    ("empty batch", b'{"points": []}', 422, "points", None),
]


@pytest.mark.parametrize(
    ("case", "body", "status", "field", "index"),
    BAD_PREDICT_BODIES,
    ids=[case[0] for case in BAD_PREDICT_BODIES],
)
def test_bad_predict_body(client, case, body, status, field, index):
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})

    assert response.status_code == status
    error = response.json()["error"]
    assert error["field"] == field
    assert error.get("index") == index
    assert error["message"]
    assert client.get("/health/ready").status_code == 200


def test_bad_point_error_body(client):
    response = client.post("/predict", content=b'{"points": [[0, 0], [1, NaN]]}')

    assert response.json() == {
        "error": {
            "code": "invalid_input",
            "message": "points[1][1] (x1) must be a finite number, got NaN",
            "field": "points[1][1]",
            "index": 1,
            "value": "NaN",
            "allowed": "a finite number",
        }
    }


BAD_GRID_QUERIES = [
    ({"x0_min": 5, "x0_max": 5}, "x0_min", "must be less than x0_max"),
    ({"x1_min": 2, "x1_max": -2}, "x1_min", "must be less than x1_max"),
    ({"nx": 1}, "nx", "nx must be at least 2, got 1"),
    ({"ny": 0}, "ny", "ny must be at least 2, got 0"),
    ({"nx": "ten"}, "nx", "nx must be an integer, got 'ten'"),
    ({"x0_min": "nan"}, "x0_min", "x0_min must be a finite number, got NaN"),
    ({"x1_max": "inf"}, "x1_max", "x1_max must be a finite number, got Infinity"),
    ({"x0_min": "abc"}, "x0_min", "x0_min must be a number, got 'abc'"),
    ({"x0_min": -1e308, "x0_max": 1e308}, "x0_max", "too wide"),
    ({"nx": 5000, "ny": 5000}, "nx*ny", "above the limit of 4000000"),
    ({"x0min": -2}, "x0min", "unknown query parameter 'x0min' (did you mean 'x0_min'?)"),
    ({"colour": "red"}, "colour", "unknown query parameter 'colour'; the parameters are x0_min"),
]


@pytest.mark.parametrize(("params", "field", "fragment"), BAD_GRID_QUERIES)
def test_bad_grid_query(client, params, field, fragment):
    response = client.get("/grid", params=params)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == field
    assert fragment in error["message"]


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "GZIP"])
def test_compressed_predict_body(client, artifact, encoding):
    points = [[0.0, 0.0], [1.5, -2.0], [9.0, 9.0]]
    body = orjson.dumps({"points": points})
    compressed = zlib.compress(body) if encoding == "deflate" else gzip.compress(body)

    response = client.post(
        "/predict",
        content=compressed,
        headers={"content-type": "application/json", "content-encoding": encoding},
    )

    assert response.status_code == 200
    predictions = np.array(response.json()["predictions"], dtype=np.float32)
    assert np.array_equal(predictions, reference_forward(artifact, points))


BAD_ENCODINGS = [
    ("br", b"{}", 415, "Content-Encoding 'br' is not supported"),
    ("gzip", b"not gzip at all", 422, "not valid gzip data"),
    ("gzip", gzip.compress(b'{"points": [[0, 0]]}')[:12], 422, "truncated gzip data"),
]


@pytest.mark.parametrize(("encoding", "body", "status", "fragment"), BAD_ENCODINGS)
def test_bad_compressed_body(client, encoding, body, status, fragment):
    response = client.post(
        "/predict",
        content=body,
        headers={"content-type": "application/json", "content-encoding": encoding},
    )

    assert response.status_code == status
    error = response.json()["error"]
    assert error["field"] == "Content-Encoding"
    assert fragment in error["message"]
    assert client.get("/health/ready").status_code == 200


def test_compressed_body_above_limit_is_413(artifact_path, tmp_path):
    service = start_service(
        {"SURFSERVE_MODEL_PATH": str(artifact_path), "SURFSERVE_MAX_BODY_BYTES": "100000"},
        tmp_path / "service.log",
    )
    # About 1 MB of JSON that gzip squeezes into a few kB, below the body limit.
    bomb = gzip.compress(orjson.dumps({"points": [[0, 0]] * 200_000}))
    try:
        wait_ready(service)
        response = httpx.post(
            f"{service.url}/predict",
            content=bomb,
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
    finally:
        service.stop()

    assert len(bomb) < 100_000
    assert response.status_code == 413
    assert "decompresses to more than 100000 bytes" in response.json()["error"]["message"]


def test_repeated_grid_parameter_is_422(client):
    response = client.get("/grid", params=[("nx", 2), ("nx", 3), ("ny", 2)])

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "nx"
    assert error["message"] == "query parameter 'nx' is given 2 times; give it once"


def test_too_many_points_is_413(artifact_path, tmp_path):
    service = start_service(
        {"SURFSERVE_MODEL_PATH": str(artifact_path), "SURFSERVE_MAX_POINTS": "100"},
        tmp_path / "service.log",
    )
    try:
        wait_ready(service)
        response = httpx.post(f"{service.url}/predict", json={"points": [[0, 0]] * 101})
        ok = httpx.post(f"{service.url}/predict", json={"points": [[0, 0]] * 100})
    finally:
        service.stop()

    assert response.status_code == 413
    assert "above the limit of 100" in response.json()["error"]["message"]
    assert ok.status_code == 200


def test_health_answers_during_large_grid(client, live_service):
    results: dict[str, float] = {}

    def large_grid() -> None:
        started = time.perf_counter()
        response = httpx.get(
            f"{live_service.url}/grid", params={"nx": 2000, "ny": 2000}, timeout=120
        )
        results["grid_status"] = response.status_code
        results["grid_seconds"] = time.perf_counter() - started

    worker = threading.Thread(target=large_grid)
    worker.start()
    time.sleep(0.1)
    health_seconds = []
    while worker.is_alive():
        started = time.perf_counter()
        assert client.get("/health/live").status_code == 200
        health_seconds.append(time.perf_counter() - started)
        time.sleep(0.02)
    worker.join()

    assert results["grid_status"] == 200
    assert health_seconds, "the grid finished before any health check was sent"
    # Each health check returns long before the grid, which takes seconds.
    assert max(health_seconds) < results["grid_seconds"] / 2


def test_model_endpoint(client, artifact):
    body = client.get("/model").json()

    assert body["device"] == "cpu"
    assert body["name"] == artifact.name
    assert body["version"] == artifact.version
    assert body["schema_version"] == 1


def test_ready_and_live(client, artifact):
    assert client.get("/health/live").json() == {"status": "live"}
    assert client.get("/health/ready").json() == {
        "status": "ready",
        "model": {"name": artifact.name, "version": artifact.version},
    }
