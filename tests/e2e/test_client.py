"""The project's Python client, sync and async, against the real service."""

import anyio
import numpy as np
import pytest

from service.client import (
    AsyncSurfserveClient,
    Grid,
    ModelInfo,
    ModelRef,
    Predictions,
    SurfserveClient,
    SurfserveConnectionError,
    SurfserveError,
)
from tests.conftest import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def surfserve(live_service):
    with SurfserveClient(live_service.url, timeout=30) as client:
        yield client


def _predict(client, points) -> np.ndarray:
    response = client.post("/predict", json={"points": np.asarray(points).tolist()})
    return np.array(response.json()["predictions"], dtype=np.float32)


def _extrapolation(client, points) -> np.ndarray:
    response = client.post("/predict", json={"points": np.asarray(points).tolist()})
    return np.array(response.json()["extrapolation"], dtype=bool)


def test_predict_list(surfserve, client, artifact):
    points = [[0.0, 0.0], [1.5, -2.0], [-7, 9]]

    result = surfserve.predict(points)

    assert isinstance(result, Predictions)
    assert result.predictions.dtype == np.float32
    assert result.predictions.shape == (3,)
    assert np.array_equal(result.predictions, _predict(client, points))
    assert result.model == ModelRef(name=artifact.name, version=artifact.version)
    assert result.extrapolation is not None
    assert result.extrapolation.dtype == bool
    assert np.array_equal(result.extrapolation, _extrapolation(client, points))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_predict_numpy(surfserve, client, dtype):
    points = (np.random.default_rng(0).standard_normal((5000, 2)) * 5).astype(dtype)

    result = surfserve.predict(points)

    assert np.array_equal(result.predictions, _predict(client, points.astype(np.float32)))


def test_grid(surfserve, client):
    params = {"x0_min": 0, "x0_max": 3, "x1_min": -2, "x1_max": -1, "nx": 4, "ny": 2}

    result = surfserve.grid(**params)

    assert isinstance(result, Grid)
    assert np.array_equal(result.x0, [0.0, 1.0, 2.0, 3.0])
    assert np.array_equal(result.x1, [-2.0, -1.0])
    assert result.values.shape == (2, 4)
    expected = client.get("/grid", params=params).json()
    assert np.array_equal(result.values, np.array(expected["values"], dtype=np.float32))
    assert result.extrapolation is not None
    assert result.extrapolation.shape == (2, 4)
    assert result.extrapolation.tolist() == expected["extrapolation"]


def test_model_and_health(surfserve, artifact):
    info = surfserve.model()

    assert isinstance(info, ModelInfo)
    assert info.name == artifact.name
    assert info.version == artifact.version
    assert info.device == "cpu"
    assert info.metadata["weights_sha256"] == artifact.metadata["weights_sha256"]
    assert surfserve.ready() is True
    assert surfserve.live() is True


def test_invalid_points_raise_server_message(surfserve):
    with pytest.raises(SurfserveError) as caught:
        surfserve.predict([[0.0, 0.0], [float("nan"), 1.0]])

    error = caught.value
    assert error.status_code == 422
    assert error.code == "invalid_input"
    assert error.field == "points[1][0]"
    assert error.allowed == "a finite number"
    assert error.message == "points[1][0] (x0) must be a finite number, got NaN"
    assert str(error) == "HTTP 422: points[1][0] (x0) must be a finite number, got NaN"


def test_nan_in_numpy_named_by_server(surfserve):
    points = np.zeros((3, 2), dtype=np.float32)
    points[2, 1] = np.inf

    with pytest.raises(SurfserveError, match=r"points\[2\]\[1\] \(x1\) must be a finite number"):
        surfserve.predict(points)


def test_invalid_grid_raises(surfserve):
    with pytest.raises(SurfserveError) as caught:
        surfserve.grid(nx=1)

    assert caught.value.status_code == 422
    assert caught.value.field == "nx"


def test_service_answers_after_errors(surfserve):
    with pytest.raises(SurfserveError):
        surfserve.predict([])

    assert surfserve.predict([[1, 2]]).predictions.shape == (1,)


def test_unreachable_server_raises_connection_error():
    # A loopback port that was free a moment ago: nothing listens there.
    url = f"http://127.0.0.1:{free_port()}"

    with (
        SurfserveClient(url, timeout=5) as unreachable,
        pytest.raises(
            SurfserveConnectionError, match=rf"^GET {url}/health/ready failed: "
        ) as caught,
    ):
        unreachable.ready()

    assert caught.value.status_code is None


def test_async_client(live_service, client, artifact):
    points = np.random.default_rng(1).standard_normal((100, 2)).astype(np.float32)

    async def calls():
        async with AsyncSurfserveClient(live_service.url) as surfserve:
            return (
                await surfserve.ready(),
                await surfserve.predict(points),
                await surfserve.grid(nx=3, ny=2),
                await surfserve.model(),
            )

    ready, result, grid, info = anyio.run(calls)

    assert ready is True
    assert np.array_equal(result.predictions, _predict(client, points))
    assert grid.values.shape == (2, 3)
    assert info.version == artifact.version


def test_async_client_error(live_service):
    async def call():
        async with AsyncSurfserveClient(live_service.url) as surfserve:
            await surfserve.predict([[0.0, 0.0, 1.0]])

    with pytest.raises(SurfserveError) as caught:
        anyio.run(call)

    assert caught.value.status_code == 422
    assert caught.value.field == "points[0]"
