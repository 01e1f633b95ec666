"""Framing of Open Inference Protocol (KServe v2) inference requests and responses.

A request body is a JSON inference header. With the binary tensor data
extension, which Triton's clients use by default, the raw bytes of each binary
input follow the header in input order. The ``Inference-Header-Content-Length``
HTTP header gives the JSON header's length, and each binary input names its
byte count in ``parameters.binary_data_size``. Responses use the same framing
for the outputs that a request marks as binary data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from service import compression
from service.v2_errors import ProtocolError
from service.v2_tensors import (
    DATATYPES,
    point_count,
    point_datatype,
    points_from_bytes,
    points_from_json,
)

HEADER_LENGTH = "Inference-Header-Content-Length"
INPUT_NAME = "input"


@dataclass(frozen=True)
class RequestedOutput:
    """An output the response carries, as JSON ``data`` or as binary data."""

    name: str
    binary: bool


@dataclass(frozen=True)
class InferenceRequest:
    """A decoded inference request: its id, float32 points (N, 2) and requested outputs."""

    id: str | None
    points: np.ndarray
    outputs: tuple[RequestedOutput, ...]


@dataclass(frozen=True)
class OutputTensor:
    """One output of a response, with its values and how to send them."""

    name: str
    datatype: str
    array: np.ndarray
    binary: bool


def decompress_body(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """Undo a gzip or deflate Content-Encoding; raise ProtocolError beyond ``max_bytes``."""
    try:
        return compression.decompress_body(body, encoding, max_bytes)
    except compression.CompressionError as error:
        raise ProtocolError(error.message, status_code=error.status_code) from None


def parse_request(
    body: bytes, header_length: str | None, output_names: Sequence[str], max_points: int
) -> InferenceRequest:
    """Decode an inference request body; raise ProtocolError naming the first problem."""
    header, binary = _split_body(body, header_length)
    document = _parse_header(header)

    request_id = document.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ProtocolError(f"id must be a string, got {request_id!r}")
    parameters = _object(document.get("parameters"), "parameters")

    points = _decode_inputs(document.get("inputs"), _BinaryData(binary, header_length), max_points)
    outputs = _requested_outputs(document.get("outputs"), output_names, parameters)
    return InferenceRequest(id=request_id, points=points, outputs=outputs)


def encode_response(
    model_name: str, model_version: str, request_id: str | None, tensors: Sequence[OutputTensor]
) -> tuple[bytes, int | None]:
    """Return the response body and, when binary outputs follow it, the JSON header's length."""
    entries: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for tensor in tensors:
        entry: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": list(tensor.array.shape),
        }
        if tensor.binary:
            raw = np.ascontiguousarray(tensor.array, dtype=DATATYPES[tensor.datatype].dtype)
            chunks.append(raw.tobytes())
            entry["parameters"] = {"binary_data_size": len(chunks[-1])}
        else:
            entry["data"] = np.ascontiguousarray(tensor.array).reshape(-1)
        entries.append(entry)

    document: dict[str, Any] = {"model_name": model_name, "model_version": model_version}
    if request_id is not None:
        document["id"] = request_id
    document["outputs"] = entries

    header = orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)
    if not chunks:
        return header, None
    return header + b"".join(chunks), len(header)


def _split_body(body: bytes, header_length: str | None) -> tuple[bytes, memoryview]:
    if header_length is None:
        return body, memoryview(b"")

    value = header_length.strip()
    if not value.isascii() or not value.isdigit():
        raise ProtocolError(
            f"{HEADER_LENGTH} must be a non-negative integer (the JSON header's length in "
            f"bytes), got {header_length!r}"
        )
    length = int(value)
    if length > len(body):
        raise ProtocolError(
            f"{HEADER_LENGTH} is {length}, beyond the {len(body)}-byte request body"
        )
    view = memoryview(body)
    return bytes(view[:length]), view[length:]


def _parse_header(header: bytes) -> dict[str, Any]:
    if not header.strip():
        raise ProtocolError(
            "inference request header is empty; expected a JSON object with an 'inputs' list"
        )
    try:
        document = orjson.loads(header)
    except orjson.JSONDecodeError as strict_error:
        # The standard library also accepts NaN and Infinity literals, so such a
        # value is reported by its position in the tensor instead of as a syntax error.
        try:
            document = json.loads(header)
        except (ValueError, RecursionError):
            raise ProtocolError(
                f"inference request header is not valid JSON: {strict_error}"
            ) from None

    if not isinstance(document, dict):
        raise ProtocolError(
            f"inference request header must be a JSON object, got {type(document).__name__}"
        )
    return document


class _BinaryData:
    """The bytes after the JSON header, handed out to binary inputs in order."""

    def __init__(self, data: memoryview, header_length: str | None) -> None:
        self.data = data
        self.offset = 0
        self.framed = header_length is not None

    def take(self, input_name: str, size: Any) -> memoryview:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ProtocolError(
                f"input {input_name!r} parameters.binary_data_size must be a non-negative "
                f"integer, got {size!r}"
            )
        if not self.framed:
            raise ProtocolError(
                f"input {input_name!r} sets binary_data_size, but the request has no "
                f"{HEADER_LENGTH} header to mark where the binary data starts"
            )
        remaining = len(self.data) - self.offset
        if size > remaining:
            raise ProtocolError(
                f"input {input_name!r} has binary_data_size {size}, but only {remaining} bytes "
                "of binary data follow the JSON header"
            )
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def finish(self) -> None:
        left = len(self.data) - self.offset
        if left:
            raise ProtocolError(
                f"{left} bytes of binary data follow the JSON header that no input claims "
                "with parameters.binary_data_size; the sizes must add up to the bytes sent"
            )


def _decode_inputs(inputs: Any, binary: _BinaryData, max_points: int) -> np.ndarray:
    if not isinstance(inputs, list) or not inputs:
        raise ProtocolError(
            f"missing input {INPUT_NAME!r}: the request must have an 'inputs' list with one "
            f"tensor named {INPUT_NAME!r} (FP32, shape [N, 2])"
        )

    points = None
    for position, tensor in enumerate(inputs):
        if not isinstance(tensor, dict):
            raise ProtocolError(
                f"inputs[{position}] must be an object with name, datatype, shape and data"
            )
        name = tensor.get("name")
        if not isinstance(name, str):
            raise ProtocolError(f"inputs[{position}] must have a 'name' string, got {name!r}")
        if name != INPUT_NAME:
            raise ProtocolError(
                f"unknown input {name!r} at inputs[{position}]; the model has one input, "
                f"{INPUT_NAME!r} (FP32, shape [N, 2])"
            )
        if points is not None:
            raise ProtocolError(f"input {INPUT_NAME!r} appears more than once")
        points = _decode_input(tensor, binary, max_points)

    binary.finish()
    return points


def _decode_input(tensor: dict[str, Any], binary: _BinaryData, max_points: int) -> np.ndarray:
    parameters = _object(tensor.get("parameters"), f"input {INPUT_NAME!r} parameters")
    if "shared_memory_region" in parameters:
        raise ProtocolError(
            f"input {INPUT_NAME!r} names a shared memory region, but this server does not "
            "support the shared memory extension; send the data as JSON or binary data"
        )
    datatype = point_datatype(INPUT_NAME, tensor.get("datatype"))
    count = point_count(INPUT_NAME, tensor.get("shape"), max_points)

    if "binary_data_size" in parameters:
        if "data" in tensor:
            raise ProtocolError(
                f"input {INPUT_NAME!r} has both 'data' and parameters.binary_data_size; "
                "send the values one way"
            )
        raw = binary.take(INPUT_NAME, parameters["binary_data_size"])
        return points_from_bytes(INPUT_NAME, datatype, count, raw)

    if "data" not in tensor:
        raise ProtocolError(
            f"input {INPUT_NAME!r} has no values: send a 'data' list, or binary data sized by "
            "parameters.binary_data_size"
        )
    return points_from_json(INPUT_NAME, datatype, count, tensor["data"])


def _requested_outputs(
    outputs: Any, output_names: Sequence[str], parameters: dict[str, Any]
) -> tuple[RequestedOutput, ...]:
    default_binary = _flag(parameters, "binary_data_output", "parameters")
    if outputs is None or outputs == []:
        return tuple(RequestedOutput(name, default_binary) for name in output_names)
    if not isinstance(outputs, list):
        raise ProtocolError(f"outputs must be a list of objects, got {type(outputs).__name__}")

    requested: list[RequestedOutput] = []
    for position, output in enumerate(outputs):
        name = output.get("name") if isinstance(output, dict) else None
        if name not in output_names:
            known = ", ".join(repr(known) for known in output_names)
            raise ProtocolError(
                f"unknown output {name!r} at outputs[{position}]; the model's outputs are {known}"
            )
        if any(previous.name == name for previous in requested):
            raise ProtocolError(f"output {name!r} is requested more than once")

        where = f"output {name!r} parameters"
        output_parameters = _object(output.get("parameters"), where)
        if "classification" in output_parameters:
            raise ProtocolError(
                f"output {name!r} asks for classification, which this regression model "
                "does not support"
            )
        binary = output_parameters.get("binary_data", default_binary)
        if not isinstance(binary, bool):
            raise ProtocolError(f"{where}.binary_data must be true or false, got {binary!r}")
        requested.append(RequestedOutput(name, binary))
    return tuple(requested)


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolError(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _flag(parameters: dict[str, Any], key: str, where: str) -> bool:
    value = parameters.get(key, False)
    if not isinstance(value, bool):
        raise ProtocolError(f"{where}.{key} must be true or false, got {value!r}")
    return value
