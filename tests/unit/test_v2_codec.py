"""Open Inference Protocol framing and tensor conversion, without HTTP."""

import gzip
import re
import zlib

import numpy as np
import orjson
import pytest

from service.v2_codec import (
    OutputTensor,
    RequestedOutput,
    decompress_body,
    encode_response,
    parse_request,
)
from service.v2_errors import ProtocolError

OUTPUTS = ["output", "extrapolation"]
POINTS = np.array([[0.5, -1.0], [2.0, 3.25], [-7.0, 9.0]], dtype=np.float32)


def _request(
    tensor: dict, *, raw: bytes = b"", outputs=None, parameters=None, framed=None, max_points=10
):
    document = {"inputs": [tensor]}
    if outputs is not None:
        document["outputs"] = outputs
    if parameters is not None:
        document["parameters"] = parameters
    header = orjson.dumps(document)
    framed = bool(raw) if framed is None else framed
    return parse_request(header + raw, str(len(header)) if framed else None, OUTPUTS, max_points)


def _binary_input(array: np.ndarray, datatype: str, size: int | None = None) -> tuple[dict, bytes]:
    raw = array.tobytes()
    tensor = {
        "name": "input",
        "shape": list(array.shape),
        "datatype": datatype,
        "parameters": {"binary_data_size": len(raw) if size is None else size},
    }
    return tensor, raw


# Decoding points.


def test_json_flat_data():
    tensor = {"name": "input", "shape": [3, 2], "datatype": "FP32", "data": POINTS.ravel().tolist()}

    request = _request(tensor)

    assert request.points.dtype == np.float32
    assert np.array_equal(request.points, POINTS)


def test_json_nested_data():
    tensor = {"name": "input", "shape": [3, 2], "datatype": "FP32", "data": POINTS.tolist()}

    assert np.array_equal(_request(tensor).points, POINTS)


@pytest.mark.parametrize(
    ("datatype", "dtype"),
    [
        ("FP16", np.float16),
        ("FP32", np.float32),
        ("FP64", np.float64),
        ("INT8", np.int8),
        ("INT16", np.int16),
        ("INT32", np.int32),
        ("INT64", np.int64),
        ("UINT8", np.uint8),
        ("UINT16", np.uint16),
        ("UINT32", np.uint32),
        ("UINT64", np.uint64),
    ],
)
def test_binary_datatypes_become_float32(datatype, dtype):
    array = np.array([[1, 2], [3, 4], [5, 120]], dtype=dtype)
    tensor, raw = _binary_input(array, datatype)

    request = _request(tensor, raw=raw)

    assert request.points.dtype == np.float32
    assert request.points.flags.writeable
    assert np.array_equal(request.points, array.astype(np.float32))


@pytest.mark.parametrize("datatype", ["FP64", "INT64", "UINT8"])
def test_json_datatypes_become_float32(datatype):
    tensor = {"name": "input", "shape": [2, 2], "datatype": datatype, "data": [[1, 2], [3, 4]]}

    assert np.array_equal(_request(tensor).points, np.array([[1, 2], [3, 4]], dtype=np.float32))


def test_binary_bf16_is_upper_half_of_float32():
    values = np.array([[1.5, -2.0], [0.15625, 256.0]], dtype=np.float32)
    upper_halves = (values.view(np.uint32) >> 16).astype("<u2")
    tensor, raw = _binary_input(upper_halves, "BF16")

    assert np.array_equal(_request(tensor, raw=raw).points, values)


def test_fp64_beyond_float32_becomes_infinite():
    tensor = {"name": "input", "shape": [1, 2], "datatype": "FP64", "data": [1e300, -1e300]}

    assert np.array_equal(_request(tensor).points, [[np.inf, -np.inf]])


def test_request_id_echoed_in_request():
    header = orjson.dumps(
        {
            "id": "abc",
            "inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}],
        }
    )

    assert parse_request(header, None, OUTPUTS, 10).id == "abc"


def test_unknown_parameters_ignored():
    tensor = {
        "name": "input",
        "shape": [1, 2],
        "datatype": "FP32",
        "data": [1, 2],
        "parameters": {"content_type": "np", "whatever": [1]},
    }

    request = _request(tensor, parameters={"priority": 3, "custom": {"a": 1}})

    assert np.array_equal(request.points, [[1, 2]])


# Requested outputs.


def test_outputs_default_to_all_as_json():
    tensor = {"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}

    assert _request(tensor).outputs == (
        RequestedOutput("output", False),
        RequestedOutput("extrapolation", False),
    )


def test_binary_data_output_applies_to_all():
    tensor = {"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}

    request = _request(tensor, parameters={"binary_data_output": True})

    assert all(output.binary for output in request.outputs)


def test_output_selection_and_binary_override():
    tensor = {"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}
    outputs = [{"name": "extrapolation", "parameters": {"binary_data": False}}, {"name": "output"}]

    request = _request(tensor, outputs=outputs, parameters={"binary_data_output": True})

    assert request.outputs == (
        RequestedOutput("extrapolation", False),
        RequestedOutput("output", True),
    )


# Rejected requests: each names the problem.

FP32_INPUT = {"name": "input", "shape": [3, 2], "datatype": "FP32"}


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (
            {**FP32_INPUT, "shape": [3, 3], "data": [0] * 9},
            "input 'input' has shape [3, 3]; expected [N, 2], one (x0, x1) row per point",
        ),
        (
            {**FP32_INPUT, "shape": [6], "data": [0] * 6},
            "input 'input' has shape [6]; expected [N, 2]",
        ),
        (
            {**FP32_INPUT, "shape": [3, "2"], "data": [0] * 6},
            "input 'input' shape must be a list of integers, got [3, '2']",
        ),
        (
            {**FP32_INPUT, "shape": [0, 2], "data": []},
            "input 'input' has shape [0, 2], an empty batch; send between 1 and 10 points",
        ),
        (
            {**FP32_INPUT, "datatype": "BYTES", "data": ["a"] * 6},
            "input 'input' has datatype BYTES, which is not supported; send FP32",
        ),
        (
            {**FP32_INPUT, "datatype": "BOOL", "data": [True] * 6},
            "input 'input' has datatype BOOL, which is not supported",
        ),
        (
            {**FP32_INPUT, "datatype": "FLOAT", "data": [0] * 6},
            "input 'input' has datatype 'FLOAT', which is not supported",
        ),
        (
            {**FP32_INPUT, "datatype": "BF16", "data": [0] * 6},
            "input 'input' has datatype BF16, which JSON cannot carry",
        ),
        (
            {**FP32_INPUT, "data": [0] * 5},
            "input 'input' data does not match shape [3, 2]: send 6 numbers in a flat list, "
            "or 3 rows of 2 numbers each",
        ),
        (
            {**FP32_INPUT, "data": [[0, 0], [0, 0], [0]]},
            "input 'input' data does not match shape [3, 2]",
        ),
        (
            {**FP32_INPUT, "data": [0, 0, 0, "1", 0, 0]},
            "input 'input' data element 3 (point 1, x1) must be a number for datatype FP32, "
            "got '1'",
        ),
        (
            {**FP32_INPUT, "data": [0, 0, 0, 0, True, 0]},
            "input 'input' data element 4 (point 2, x0) must be a number for datatype FP32, "
            "got True",
        ),
        (
            {**FP32_INPUT, "data": [0, 0, None, 0, 0, 0]},
            "input 'input' data element 2 (point 1, x0) must be a number for datatype FP32, "
            "got None",
        ),
        (
            {**FP32_INPUT, "datatype": "INT32", "data": [0, 1.5, 0, 0, 0, 0]},
            "input 'input' data element 1 (point 0, x1) must be an integer for datatype INT32, "
            "got 1.5",
        ),
        (
            {**FP32_INPUT, "datatype": "UINT8", "data": [0, 0, 0, 0, 0, 300]},
            "input 'input' data element 5 is 300, outside the UINT8 range 0 to 255",
        ),
        (
            {**FP32_INPUT, "data": {"x0": [1]}},
            "input 'input' data must be a list of 6 numbers, got {'x0': [1]}",
        ),
        (
            {**FP32_INPUT},
            "input 'input' has no values: send a 'data' list, or binary data sized by "
            "parameters.binary_data_size",
        ),
        (
            {**FP32_INPUT, "data": [0] * 6, "parameters": {"shared_memory_region": "r0"}},
            "input 'input' names a shared memory region",
        ),
        (
            {**FP32_INPUT, "data": [0] * 6, "parameters": [1]},
            "input 'input' parameters must be a JSON object, got list",
        ),
    ],
)
def test_invalid_input_rejected(tensor, message):
    with pytest.raises(ProtocolError, match=_prefix(message)) as caught:
        _request(tensor)

    assert caught.value.status_code == 400


def test_too_many_points_is_413():
    tensor = {"name": "input", "shape": [11, 2], "datatype": "FP32", "data": [0] * 22}

    with pytest.raises(ProtocolError) as caught:
        _request(tensor)

    assert caught.value.status_code == 413
    assert caught.value.message == (
        "input 'input' has 11 points, above the limit of 10 per request "
        "(SURFSERVE_MAX_POINTS); split the batch"
    )


def test_nan_in_binary_named():
    array = POINTS.copy()
    array[2, 1] = np.nan
    tensor, raw = _binary_input(array, "FP32")

    with pytest.raises(
        ProtocolError,
        match=_prefix(
            "input 'input' element 5 (point 2, x1) is NaN; every coordinate must be a finite number"
        ),
    ):
        _request(tensor, raw=raw)


def test_nan_literal_in_json_named():
    header = (
        b'{"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", '
        b'"data": [1.0, -Infinity]}]}'
    )

    with pytest.raises(ProtocolError, match=r"element 1 \(point 0, x1\) is -Infinity"):
        parse_request(header, None, OUTPUTS, 10)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"inputs": []}, "missing input 'input': the request must have an 'inputs' list"),
        ({"id": "x"}, "missing input 'input'"),
        ([1, 2], "inference request header must be a JSON object, got list"),
        (
            {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]},
            "unknown input 'x' at inputs[0]; the model has one input, 'input' (FP32, shape [N, 2])",
        ),
        ({"inputs": [{"shape": [1, 2]}]}, "inputs[0] must have a 'name' string, got None"),
        ({"inputs": ["input"]}, "inputs[0] must be an object with name, datatype, shape and data"),
        (
            {
                "inputs": [
                    {"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]},
                    {"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]},
                ]
            },
            "input 'input' appears more than once",
        ),
        (
            {
                "id": 7,
                "inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}],
            },
            "id must be a string, got 7",
        ),
    ],
)
def test_invalid_document_rejected(document, message):
    with pytest.raises(ProtocolError, match=_prefix(message)):
        parse_request(orjson.dumps(document), None, OUTPUTS, 10)


@pytest.mark.parametrize(
    ("outputs", "parameters", "message"),
    [
        (
            [{"name": "y"}],
            None,
            "unknown output 'y' at outputs[0]; the model's outputs are 'output', 'extrapolation'",
        ),
        (
            [{"name": "output"}, {"name": "output"}],
            None,
            "output 'output' is requested more than once",
        ),
        (
            [{"name": "output", "parameters": {"binary_data": "yes"}}],
            None,
            "output 'output' parameters.binary_data must be true or false, got 'yes'",
        ),
        (
            [{"name": "output", "parameters": {"classification": 2}}],
            None,
            "output 'output' asks for classification",
        ),
        ({"name": "output"}, None, "outputs must be a list of objects, got dict"),
        (None, {"binary_data_output": 1}, "parameters.binary_data_output must be true or false"),
        (None, [], "parameters must be a JSON object, got list"),
    ],
)
def test_invalid_outputs_rejected(outputs, parameters, message):
    tensor = {"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}

    with pytest.raises(ProtocolError, match=_prefix(message)):
        _request(tensor, outputs=outputs, parameters=parameters)


def test_body_not_json_rejected():
    with pytest.raises(ProtocolError, match="inference request header is not valid JSON"):
        parse_request(b"{inputs: 1}", None, OUTPUTS, 10)


def test_empty_body_rejected():
    with pytest.raises(ProtocolError, match="inference request header is empty"):
        parse_request(b"", None, OUTPUTS, 10)


# Binary framing.


def test_header_length_beyond_body():
    with pytest.raises(
        ProtocolError,
        match=_prefix("Inference-Header-Content-Length is 500, beyond the 2-byte request body"),
    ):
        parse_request(b"{}", "500", OUTPUTS, 10)


@pytest.mark.parametrize("value", ["-1", "ten", "1.5", "", "١٢"])
def test_header_length_not_integer(value):
    with pytest.raises(
        ProtocolError,
        match=_prefix("Inference-Header-Content-Length must be a non-negative integer"),
    ):
        parse_request(b"{}", value, OUTPUTS, 10)


def test_binary_size_beyond_data():
    tensor, raw = _binary_input(POINTS, "FP32")

    with pytest.raises(
        ProtocolError,
        match=_prefix(
            "input 'input' has binary_data_size 24, but only 20 bytes of binary data follow "
            "the JSON header"
        ),
    ):
        _request(tensor, raw=raw[:20])


def test_binary_bytes_left_over():
    tensor, raw = _binary_input(POINTS, "FP32")

    with pytest.raises(
        ProtocolError,
        match=_prefix(
            "4 bytes of binary data follow the JSON header that no input claims with "
            "parameters.binary_data_size"
        ),
    ):
        _request(tensor, raw=raw + b"\0\0\0\0")


def test_binary_size_disagrees_with_shape():
    tensor, raw = _binary_input(POINTS, "FP32")
    tensor["shape"] = [2, 2]

    with pytest.raises(
        ProtocolError,
        match=_prefix(
            "input 'input' has binary_data_size 24 bytes, but shape [2, 2] of FP32 needs "
            "2 x 2 x 4 = 16 bytes"
        ),
    ):
        _request(tensor, raw=raw)


def test_binary_size_disagrees_with_datatype():
    tensor, raw = _binary_input(POINTS, "FP32")
    tensor["datatype"] = "FP64"

    with pytest.raises(ProtocolError, match="of FP64 needs 3 x 2 x 8 = 48 bytes"):
        _request(tensor, raw=raw)


def test_binary_without_header_length():
    # Without the header the whole body is JSON, so no bytes can follow it.
    tensor, _ = _binary_input(POINTS, "FP32")

    with pytest.raises(
        ProtocolError,
        match=_prefix(
            "input 'input' sets binary_data_size, but the request has no "
            "Inference-Header-Content-Length header"
        ),
    ):
        _request(tensor, framed=False)


@pytest.mark.parametrize("size", [-4, "24", True, 2.5])
def test_binary_size_not_integer(size):
    tensor, raw = _binary_input(POINTS, "FP32", size=size)

    with pytest.raises(ProtocolError, match="binary_data_size must be a non-negative integer"):
        _request(tensor, raw=raw)


def test_binary_and_data_together():
    tensor, raw = _binary_input(POINTS, "FP32")
    tensor["data"] = POINTS.ravel().tolist()

    with pytest.raises(
        ProtocolError, match=re.escape("has both 'data' and parameters.binary_data_size")
    ):
        _request(tensor, raw=raw)


# Responses.


def test_response_json_outputs():
    tensors = [
        OutputTensor("output", "FP32", np.array([[1.5], [-2.0]], dtype=np.float32), False),
        OutputTensor("extrapolation", "BOOL", np.array([[True], [False]]), False),
    ]

    body, header_length = encode_response("surface", "abc", "r1", tensors)

    assert header_length is None
    assert orjson.loads(body) == {
        "model_name": "surface",
        "model_version": "abc",
        "id": "r1",
        "outputs": [
            {"name": "output", "datatype": "FP32", "shape": [2, 1], "data": [1.5, -2.0]},
            {"name": "extrapolation", "datatype": "BOOL", "shape": [2, 1], "data": [True, False]},
        ],
    }


def test_response_binary_outputs_follow_header():
    predictions = np.array([[1.5], [-2.0]], dtype=np.float32)
    flags = np.array([[True], [False]])
    tensors = [
        OutputTensor("output", "FP32", predictions, True),
        OutputTensor("extrapolation", "BOOL", flags, True),
    ]

    body, header_length = encode_response("surface", "abc", None, tensors)

    header = orjson.loads(body[:header_length])
    assert "id" not in header
    assert header["outputs"][0]["parameters"] == {"binary_data_size": 8}
    assert header["outputs"][1]["parameters"] == {"binary_data_size": 2}
    assert "data" not in header["outputs"][0]
    assert body[header_length:] == predictions.astype("<f4").tobytes() + b"\x01\x00"


# Content-Encoding.


def test_gzip_and_deflate_bodies():
    body = b'{"inputs": []}'

    assert decompress_body(gzip.compress(body), "gzip", 1000) == body
    assert decompress_body(zlib.compress(body), "deflate", 1000) == body
    assert decompress_body(body, None, 1000) == body
    assert decompress_body(body, "identity", 1000) == body


def test_unsupported_encoding_is_415():
    with pytest.raises(ProtocolError, match="Content-Encoding 'br' is not supported") as caught:
        decompress_body(b"x", "br", 1000)

    assert caught.value.status_code == 415


def test_decompressed_size_capped():
    with pytest.raises(ProtocolError, match="decompresses to more than 1000 bytes") as caught:
        decompress_body(gzip.compress(b"0" * 5000), "gzip", 1000)

    assert caught.value.status_code == 413


def test_corrupt_and_truncated_gzip():
    compressed = gzip.compress(b"0" * 5000)

    with pytest.raises(ProtocolError, match="request body is not valid gzip data"):
        decompress_body(b"not gzip", "gzip", 10_000)
    with pytest.raises(ProtocolError, match="request body is truncated gzip data"):
        decompress_body(compressed[:10], "gzip", 10_000)


def _prefix(message: str) -> str:
    # pytest.raises(match=...) takes a regular expression; the messages are literal text.
    return "^" + re.escape(message)
