"""Triton's own HTTP client against the real service: its default calls work unchanged."""

import anyio
import numpy as np
import pytest
import tritonclient.http as triton
import tritonclient.http.aio as triton_aio
from tritonclient.utils import InferenceServerException

from service import __version__

pytestmark = pytest.mark.e2e


@pytest.fixture
def triton_client(live_service):
    # tritonclient takes host:port without a scheme.
    client = triton.InferenceServerClient(live_service.url.removeprefix("http://"))
    yield client
    client.close()


def _points(count: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((count, 2)) * 4).astype(np.float32)


def _predict(client, points: np.ndarray) -> np.ndarray:
    response = client.post("/predict", json={"points": points.tolist()})
    assert response.status_code == 200, response.text
    return np.array(response.json()["predictions"], dtype=np.float32).reshape(-1, 1)


def _extrapolation(client, points: np.ndarray) -> np.ndarray:
    response = client.post("/predict", json={"points": points.tolist()})
    return np.array(response.json()["extrapolation"], dtype=bool).reshape(-1, 1)


def _input(points: np.ndarray, binary: bool = True, datatype: str = "FP32") -> triton.InferInput:
    tensor = triton.InferInput("input", list(points.shape), datatype)
    tensor.set_data_from_numpy(points, binary_data=binary)
    return tensor


def test_health(triton_client, artifact):
    assert triton_client.is_server_live()
    assert triton_client.is_server_ready()
    assert triton_client.is_model_ready(artifact.name)
    assert triton_client.is_model_ready(artifact.name, artifact.version)
    assert not triton_client.is_model_ready("other")
    assert not triton_client.is_model_ready(artifact.name, "0")


def test_server_metadata(triton_client):
    assert triton_client.get_server_metadata() == {
        "name": "surfserve",
        "version": __version__,
        "extensions": ["binary_tensor_data"],
    }


def test_model_metadata(triton_client, artifact):
    expected = {
        "name": artifact.name,
        "versions": [artifact.version],
        "platform": "pytorch_torchscript",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 2]}],
        "outputs": [
            {"name": "output", "datatype": "FP32", "shape": [-1, 1]},
            {"name": "extrapolation", "datatype": "BOOL", "shape": [-1, 1]},
        ],
    }

    assert triton_client.get_model_metadata(artifact.name) == expected
    assert triton_client.get_model_metadata(artifact.name, artifact.version) == expected


def test_infer_default_is_binary(triton_client, client, artifact):
    # Wide enough that some points fall where the training data was sparse.
    points = _points(300) * 3

    result = triton_client.infer(artifact.name, [_input(points)])

    output, extrapolation = result.get_response()["outputs"]
    assert output["parameters"] == {"binary_data_size": 300 * 4}
    assert extrapolation["parameters"] == {"binary_data_size": 300}
    assert "data" not in output
    predictions = result.as_numpy("output")
    assert predictions.dtype == np.float32
    assert np.array_equal(predictions, _predict(client, points))
    flags = result.as_numpy("extrapolation")
    assert flags.dtype == bool
    assert flags.shape == (300, 1)
    assert flags.any()
    assert not flags.all()
    assert np.array_equal(flags, _extrapolation(client, points))


def test_infer_json_both_ways(triton_client, client, artifact):
    points = _points(50, seed=1)
    outputs = [triton.InferRequestedOutput("output", binary_data=False)]

    result = triton_client.infer(
        artifact.name, [_input(points, binary=False)], outputs=outputs, request_id="json-1"
    )

    response = result.get_response()
    assert response["id"] == "json-1"
    assert response["model_name"] == artifact.name
    assert response["model_version"] == artifact.version
    assert [output["name"] for output in response["outputs"]] == ["output"]
    assert len(response["outputs"][0]["data"]) == 50
    assert np.array_equal(result.as_numpy("output"), _predict(client, points))


def test_infer_json_extrapolation(triton_client, client, artifact):
    points = _points(40, seed=8) * 3
    outputs = [
        triton.InferRequestedOutput("extrapolation", binary_data=False),
        triton.InferRequestedOutput("output", binary_data=False),
    ]

    result = triton_client.infer(artifact.name, [_input(points, binary=False)], outputs=outputs)

    names = [output["name"] for output in result.get_response()["outputs"]]
    assert names == ["extrapolation", "output"]
    assert np.array_equal(result.as_numpy("extrapolation"), _extrapolation(client, points))
    assert np.array_equal(result.as_numpy("output"), _predict(client, points))


@pytest.mark.parametrize(("binary_in", "binary_out"), [(True, False), (False, True)])
def test_infer_mixed_framing(triton_client, client, artifact, binary_in, binary_out):
    points = _points(20, seed=2)
    outputs = [triton.InferRequestedOutput("output", binary_data=binary_out)]

    result = triton_client.infer(artifact.name, [_input(points, binary=binary_in)], outputs=outputs)

    assert np.array_equal(result.as_numpy("output"), _predict(client, points))


def test_infer_with_version(triton_client, client, artifact):
    points = _points(5, seed=3)

    result = triton_client.infer(artifact.name, [_input(points)], model_version=artifact.version)

    assert np.array_equal(result.as_numpy("output"), _predict(client, points))


@pytest.mark.parametrize("datatype", ["FP64", "FP16", "INT32"])
def test_infer_other_datatypes(triton_client, client, artifact, datatype):
    dtype = {"FP64": np.float64, "FP16": np.float16, "INT32": np.int32}[datatype]
    points = (_points(30, seed=4) * 2).astype(dtype)

    result = triton_client.infer(artifact.name, [_input(points, datatype=datatype)])

    expected = _predict(client, points.astype(np.float32))
    assert np.array_equal(result.as_numpy("output"), expected)


def test_infer_large_batch(triton_client, client, artifact):
    # Above the predictor's inline limit, so the forward runs in its worker thread.
    points = _points(20_000, seed=5)

    result = triton_client.infer(artifact.name, [_input(points)])

    assert np.array_equal(result.as_numpy("output"), _predict(client, points))


@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_infer_compressed_request(triton_client, client, artifact, algorithm):
    points = _points(100, seed=6)

    result = triton_client.infer(
        artifact.name, [_input(points)], request_compression_algorithm=algorithm
    )

    assert np.array_equal(result.as_numpy("output"), _predict(client, points))


def test_unknown_model_raises(triton_client, artifact):
    with pytest.raises(InferenceServerException) as caught:
        triton_client.infer("other", [_input(_points(1))])

    assert caught.value.status() == "404"
    assert caught.value.message() == (
        f"model 'other' not found; this server serves model {artifact.name!r}"
    )


def test_wrong_shape_raises(triton_client, artifact):
    with pytest.raises(InferenceServerException) as caught:
        triton_client.infer(artifact.name, [_input(np.zeros((2, 3), dtype=np.float32))])

    assert caught.value.status() == "400"
    assert caught.value.message() == (
        "input 'input' has shape [2, 3]; expected [N, 2], one (x0, x1) row per point"
    )


def test_unknown_input_raises(triton_client, artifact):
    tensor = triton.InferInput("points", [1, 2], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 2), dtype=np.float32))

    with pytest.raises(InferenceServerException) as caught:
        triton_client.infer(artifact.name, [tensor])

    assert caught.value.status() == "400"
    assert caught.value.message().startswith("unknown input 'points' at inputs[0]")


def test_aio_client_infer(live_service, client, artifact):
    points = _points(64, seed=7)

    async def infer() -> np.ndarray:
        async with triton_aio.InferenceServerClient(
            live_service.url.removeprefix("http://")
        ) as aio_client:
            assert await aio_client.is_model_ready(artifact.name)
            tensor = triton_aio.InferInput("input", [64, 2], "FP32")
            tensor.set_data_from_numpy(points)
            result = await aio_client.infer(artifact.name, [tensor])
            return result.as_numpy("output")

    assert np.array_equal(anyio.run(infer), _predict(client, points))
