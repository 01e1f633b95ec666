"""Pydantic models of the Open Inference Protocol routes, for the OpenAPI document.

The routes decode and encode bodies with ``service.v2_codec``; these models
describe the same JSON shapes, with examples, for readers of /docs.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_MODEL = {"model_name": "surface", "model_version": "3f2a9c1d0b7e"}


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class ServerMetadata(BaseModel):
    model_config = _examples(
        {"name": "surfserve", "version": "0.1.0", "extensions": ["binary_tensor_data"]}
    )

    name: str = Field(description="server name")
    version: str = Field(description="server version")
    extensions: list[str] = Field(description="protocol extensions the server supports")


class ServerLive(BaseModel):
    model_config = _examples({"live": True})

    live: bool = Field(description="true while the process responds")


class ServerReady(BaseModel):
    model_config = _examples({"ready": True})

    ready: bool = Field(description="true once the model is loaded and warmed up")


class ModelReady(BaseModel):
    model_config = _examples({"name": "surface", "ready": True})

    name: str = Field(description="model name")
    ready: bool = Field(description="true once the model is loaded and warmed up")


class TensorMetadata(BaseModel):
    name: str
    datatype: str = Field(description="element type, such as FP32 or BOOL")
    shape: list[int] = Field(description="dimensions; -1 is a dimension of any size")


class ModelMetadata(BaseModel):
    model_config = _examples(
        {
            "name": "surface",
            "versions": ["3f2a9c1d0b7e"],
            "platform": "pytorch_torchscript",
            "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 2]}],
            "outputs": [
                {"name": "output", "datatype": "FP32", "shape": [-1, 1]},
                {"name": "extrapolation", "datatype": "BOOL", "shape": [-1, 1]},
            ],
        }
    )

    name: str
    versions: list[str] = Field(description="the loaded artifact's version")
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class RequestInput(BaseModel):
    name: str = Field(description="always 'input'")
    shape: list[int] = Field(description="[N, 2]: N points of (x0, x1)")
    datatype: str = Field(
        description="FP32; FP16, BF16 (binary only), FP64 and integer types are converted"
    )
    parameters: dict[str, Any] | None = Field(
        None, description="binary_data_size: byte count of this input's binary data"
    )
    data: list[Any] | None = Field(
        None, description="row-major values, flat or nested; absent for binary data"
    )


class RequestOutput(BaseModel):
    name: str = Field(description="an output name from the model metadata")
    parameters: dict[str, Any] | None = Field(
        None, description="binary_data: true to receive this output as binary data"
    )


class InferenceRequest(BaseModel):
    model_config = _examples(
        {
            "id": "request-1",
            "inputs": [
                {
                    "name": "input",
                    "shape": [2, 2],
                    "datatype": "FP32",
                    "data": [0.0, 0.0, 1.5, -2.0],
                }
            ],
            "outputs": [{"name": "output"}],
        }
    )

    id: str | None = Field(None, description="echoed in the response")
    parameters: dict[str, Any] | None = Field(
        None, description="binary_data_output: true to receive every output as binary data"
    )
    inputs: list[RequestInput]
    outputs: list[RequestOutput] | None = Field(
        None, description="outputs to return; all of them when absent"
    )


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] | None = Field(
        None, description="binary_data_size, when the values follow the JSON as binary data"
    )
    data: list[Any] | None = Field(None, description="row-major values, when sent as JSON")


class InferenceResponse(BaseModel):
    model_config = _examples(
        {
            **_MODEL,
            "id": "request-1",
            "outputs": [
                {
                    "name": "output",
                    "datatype": "FP32",
                    "shape": [2, 1],
                    "data": [1.0123, -0.1521],
                },
                {
                    "name": "extrapolation",
                    "datatype": "BOOL",
                    "shape": [2, 1],
                    "data": [False, False],
                },
            ],
        }
    )

    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[ResponseOutput]


class ProtocolErrorBody(BaseModel):
    model_config = _examples(
        {"error": "input 'input' has shape [3, 3]; expected [N, 2], one (x0, x1) row per point"}
    )

    error: str = Field(description="what is wrong with the request")


# One example per status, so /docs shows a realistic body for each.
_ERROR_EXAMPLES = {
    400: "input 'input' has shape [3, 3]; expected [N, 2], one (x0, x1) row per point",
    404: "model 'other' not found; this server serves model 'surface'",
    413: "input 'input' has 2000000 points, above the limit of 1000000 per request "
    "(SURFSERVE_MAX_POINTS); split the batch",
    405: "method GET is not allowed on /v2/models/surface/infer; use POST",
    415: "Content-Encoding 'br' is not supported; send gzip, deflate or an uncompressed body",
    503: "model not ready: the model is still loading",
}
_ERROR_DESCRIPTIONS = {
    400: "invalid request: the message names the input, field or value",
    404: "unknown model name or version",
    413: "more points than SURFSERVE_MAX_POINTS",
    415: "unsupported Content-Encoding",
    503: "the model is not loaded yet",
}


def protocol_error_responses(
    *statuses: int, other_client_errors: bool = False
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given statuses, with the protocol's error body.

    ``other_client_errors`` adds a 4XX entry. On a route with path parameters it
    also keeps FastAPI from documenting its 422 validation body, which these
    routes never send.
    """
    responses: dict[int | str, dict[str, Any]] = {
        status: {
            "model": ProtocolErrorBody,
            "description": _ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"example": {"error": _ERROR_EXAMPLES[status]}}},
        }
        for status in statuses
    }
    if other_client_errors:
        responses["4XX"] = {
            "model": ProtocolErrorBody,
            "description": "any other client error, with the same body",
            "content": {"application/json": {"example": {"error": _ERROR_EXAMPLES[405]}}},
        }
    return responses
