"""Malformed Open Inference Protocol requests against the real service.

Each one gets a 4xx with the protocol's ``{"error": "<message>"}`` body, and the
service keeps serving requests.
"""

import numpy as np
import orjson
import pytest

pytestmark = pytest.mark.e2e

HEADER_LENGTH = "Inference-Header-Content-Length"
POINTS = np.array([[0.5, -1.0], [2.0, 3.0]], dtype=np.float32)
RAW = POINTS.tobytes()


def _framed(tensor: dict, raw: bytes = RAW, header_length: int | None = None):
    header = orjson.dumps({"inputs": [tensor]})
    length = len(header) if header_length is None else header_length
    return header + raw, {HEADER_LENGTH: str(length)}


def _binary_tensor(size: int = len(RAW), **changes) -> dict:
    tensor = {
        "name": "input",
        "shape": [2, 2],
        "datatype": "FP32",
        "parameters": {"binary_data_size": size},
    }
    return {**tensor, **changes}


def _json_tensor(**changes) -> dict:
    return {"name": "input", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4], **changes}


def _json_body(document) -> tuple[bytes, dict[str, str]]:
    return orjson.dumps(document), {}


FRAMING_CASES = {
    "header length beyond body": (
        _framed(_binary_tensor(), header_length=10_000),
        "Inference-Header-Content-Length is 10000, beyond the",
    ),
    "header length not a number": (
        (orjson.dumps({"inputs": [_json_tensor()]}), {HEADER_LENGTH: "abc"}),
        "Inference-Header-Content-Length must be a non-negative integer",
    ),
    "header length cuts the JSON": (
        _framed(_binary_tensor(), header_length=20),
        "inference request header is not valid JSON",
    ),
    "binary size beyond the data": (
        _framed(_binary_tensor(size=64)),
        "input 'input' has binary_data_size 64, but only 16 bytes of binary data follow",
    ),
    "bytes left over": (
        _framed(_binary_tensor(), raw=RAW + b"\0" * 8),
        "8 bytes of binary data follow the JSON header that no input claims",
    ),
    "byte count disagrees with shape": (
        _framed(_binary_tensor(size=8), raw=RAW[:8]),
        "input 'input' has binary_data_size 8 bytes, but shape [2, 2] of FP32 needs "
        "2 x 2 x 4 = 16 bytes",
    ),
    "byte count disagrees with datatype": (
        _framed(_binary_tensor(datatype="FP64")),
        "of FP64 needs 2 x 2 x 8 = 32 bytes",
    ),
    "binary size without header length": (
        _json_body({"inputs": [_binary_tensor()]}),
        "input 'input' sets binary_data_size, but the request has no "
        "Inference-Header-Content-Length header",
    ),
}

REQUEST_CASES = {
    "wrong shape": (
        _json_body({"inputs": [_json_tensor(shape=[1, 4])]}),
        "input 'input' has shape [1, 4]; expected [N, 2], one (x0, x1) row per point",
    ),
    "wrong datatype": (
        _json_body({"inputs": [_json_tensor(datatype="BYTES", data=["a", "b", "c", "d"])]}),
        "input 'input' has datatype BYTES, which is not supported; send FP32",
    ),
    "string in FP32 data": (
        _json_body({"inputs": [_json_tensor(data=[1, 2, "3", 4])]}),
        "input 'input' data element 2 (point 1, x0) must be a number for datatype FP32",
    ),
    "NaN in data": (
        (
            b'{"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", '
            b'"data": [NaN, 1]}]}',
            {},
        ),
        "input 'input' element 0 (point 0, x0) is NaN",
    ),
    "missing inputs": (
        _json_body({"id": "1"}),
        "missing input 'input': the request must have an 'inputs' list",
    ),
    "unknown input": (
        _json_body({"inputs": [_json_tensor(name="x")]}),
        "unknown input 'x' at inputs[0]",
    ),
    "unknown output": (
        _json_body({"inputs": [_json_tensor()], "outputs": [{"name": "y"}]}),
        "unknown output 'y' at outputs[0]",
    ),
    "not JSON": ((b"\x00\x01garbage", {}), "inference request header is not valid JSON"),
    "empty body": ((b"", {}), "inference request header is empty"),
}


@pytest.mark.parametrize("case", list(FRAMING_CASES) + list(REQUEST_CASES))
def test_malformed_request_is_400(client, artifact, case):
    (body, headers), message = {**FRAMING_CASES, **REQUEST_CASES}[case]

    response = client.post(f"/v2/models/{artifact.name}/infer", content=body, headers=headers)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert list(response.json()) == ["error"]
    assert message in response.json()["error"]
    _assert_still_answering(client, artifact)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v2/models/other/infer", "model 'other' not found"),
        ("/v2/models/{name}/versions/0/infer", "version '0' of model"),
    ],
)
def test_unknown_model_or_version_is_404(client, artifact, path, message):
    body, headers = _framed(_binary_tensor())

    response = client.post(path.format(name=artifact.name), content=body, headers=headers)

    assert response.status_code == 404
    assert message in response.json()["error"]
    _assert_still_answering(client, artifact)


def test_unsupported_encoding_is_415(client, artifact):
    body, headers = _json_body({"inputs": [_json_tensor()]})

    response = client.post(
        f"/v2/models/{artifact.name}/infer",
        content=body,
        headers={**headers, "Content-Encoding": "br"},
    )

    assert response.status_code == 415
    assert response.json() == {
        "error": "Content-Encoding 'br' is not supported; send gzip, deflate or an "
        "uncompressed body"
    }


def _assert_still_answering(client, artifact) -> None:
    body, headers = _framed(_binary_tensor())
    response = client.post(f"/v2/models/{artifact.name}/infer", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["outputs"][0]["shape"] == [2, 1]
