"""The Open Inference Protocol (KServe v2, Triton HTTP) on the same predictor core as /predict.

Errors on these routes have the protocol's body, ``{"error": "<message>"}``,
and not the JSON API's structured error object.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from service import __version__
from service.asgi import UNMATCHED_ROUTE
from service.context import note_rejection
from service.errors import ServiceError
from service.predictor import Predictor
from service.state import model_state
from service.v2_codec import (
    HEADER_LENGTH,
    INPUT_NAME,
    OutputTensor,
    decompress_body,
    encode_response,
    parse_request,
)
from service.v2_errors import ProtocolError, protocol_error_response
from service.v2_schemas import (
    InferenceRequest,
    InferenceResponse,
    ModelMetadata,
    ModelReady,
    ServerLive,
    ServerMetadata,
    ServerReady,
    protocol_error_responses,
)

logger = logging.getLogger(__name__)

SERVER_NAME = "surfserve"
EXTENSIONS = ("binary_tensor_data",)
PLATFORM = "pytorch_torchscript"
OUTPUT_NAME = "output"
EXTRAPOLATION_NAME = "extrapolation"


# The rejection reason in surfserve_rejected_requests_total of each protocol status.
PROTOCOL_REJECTIONS = {
    400: "invalid_input",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class ProtocolRoute(APIRoute):
    """A route whose errors become the protocol's ``{"error": message}`` bodies."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            headers = None
            try:
                return await handler(request)
            except ProtocolError as error:
                status, message, headers = error.status_code, error.message, error.headers
                # The same reasons as the JSON API's, so one alert covers both APIs.
                note_rejection(PROTOCOL_REJECTIONS.get(status, f"http_{status}"))
            except ServiceError as error:
                # ModelNotReady keeps its 503; the JSON API's 422 is the protocol's 400.
                status = 400 if error.status_code == 422 else error.status_code
                message = error.message
                note_rejection(error.code)
            except StarletteHTTPException as error:
                status, message, headers = error.status_code, str(error.detail), error.headers
            except Exception:
                logger.exception("unexpected error on %s %s", request.method, request.url.path)
                status, message = 500, "internal server error"
            logger.debug("%s %s -> %d: %s", request.method, request.url.path, status, message)
            return protocol_error_response(message, status, headers)

        return handle


router = APIRouter(prefix="/v2", tags=["Open Inference Protocol (v2)"], route_class=ProtocolRoute)

ModelName = Annotated[str, Path(description="the artifact's model name", examples=["surface"])]
ModelVersion = Annotated[str, Path(description="the artifact's version", examples=["3f2a9c1d0b7e"])]


def model_inputs() -> list[dict[str, Any]]:
    return [{"name": INPUT_NAME, "datatype": "FP32", "shape": [-1, 2]}]


def model_outputs() -> list[dict[str, Any]]:
    return [
        {"name": OUTPUT_NAME, "datatype": "FP32", "shape": [-1, 1]},
        # True where the point lies where the training data was sparse, as on /predict.
        {"name": EXTRAPOLATION_NAME, "datatype": "BOOL", "shape": [-1, 1]},
    ]


def _served_model(request: Request, name: str, version: str | None) -> Predictor:
    predictor = model_state(request).require()
    if name != predictor.name:
        raise ProtocolError(
            f"model {name!r} not found; this server serves model {predictor.name!r}",
            status_code=404,
        )
    if version is not None and version != predictor.version:
        raise ProtocolError(
            f"version {version!r} of model {name!r} not found; the loaded version is "
            f"{predictor.version!r}",
            status_code=404,
        )
    return predictor


# Server metadata and health.


@router.get("", summary="Server metadata", response_model=ServerMetadata)
async def server_metadata() -> dict[str, Any]:
    return {"name": SERVER_NAME, "version": __version__, "extensions": list(EXTENSIONS)}


@router.get("/health/live", summary="The server is live", response_model=ServerLive)
async def server_live() -> dict[str, bool]:
    return {"live": True}


@router.get(
    "/health/ready",
    summary="The model is loaded and warmed up",
    response_model=ServerReady,
    responses=protocol_error_responses(503),
)
async def server_ready(request: Request) -> dict[str, bool]:
    model_state(request).require()
    return {"ready": True}


# Model metadata and readiness, with and without a version.

_MODEL_ERRORS = protocol_error_responses(404, 503, other_client_errors=True)


@router.get(
    "/models/{name}",
    summary="Model metadata",
    response_model=ModelMetadata,
    responses=_MODEL_ERRORS,
)
async def model_metadata(request: Request, name: ModelName) -> dict[str, Any]:
    return _metadata(_served_model(request, name, None))


@router.get(
    "/models/{name}/versions/{version}",
    summary="Metadata of one model version",
    response_model=ModelMetadata,
    responses=_MODEL_ERRORS,
)
async def model_version_metadata(
    request: Request, name: ModelName, version: ModelVersion
) -> dict[str, Any]:
    return _metadata(_served_model(request, name, version))


def _metadata(predictor: Predictor) -> dict[str, Any]:
    return {
        "name": predictor.name,
        "versions": [predictor.version],
        "platform": PLATFORM,
        "inputs": model_inputs(),
        "outputs": model_outputs(),
    }


@router.get(
    "/models/{name}/ready",
    summary="The model is ready for inference",
    response_model=ModelReady,
    responses=_MODEL_ERRORS,
)
async def model_ready(request: Request, name: ModelName) -> dict[str, Any]:
    return {"name": _served_model(request, name, None).name, "ready": True}


@router.get(
    "/models/{name}/versions/{version}/ready",
    summary="One model version is ready for inference",
    response_model=ModelReady,
    responses=_MODEL_ERRORS,
)
async def model_version_ready(
    request: Request, name: ModelName, version: ModelVersion
) -> dict[str, Any]:
    return {"name": _served_model(request, name, version).name, "ready": True}


# Inference.

_INFER_DOCS: dict[str, Any] = {
    "response_model": InferenceResponse,
    "responses": protocol_error_responses(400, 404, 413, 415, 503, other_client_errors=True),
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "description": (
                "A JSON inference request. With the binary tensor data extension, the JSON "
                f"is followed by each binary input's little-endian bytes, and the "
                f"{HEADER_LENGTH} header gives the JSON's length in bytes. The body may be "
                "sent without a Content-Type, as Triton's clients do."
            ),
            "content": {
                "application/json": {
                    "schema": InferenceRequest.model_json_schema(),
                    "example": InferenceRequest.model_config["json_schema_extra"]["examples"][0],
                },
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": (
                        '{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32",'
                        '"parameters":{"binary_data_size":8}}]} followed by 8 bytes'
                    ),
                },
            },
        }
    },
}


@router.post(
    "/models/{name}/infer",
    summary="Predict y for a tensor of (x0, x1) points",
    **_INFER_DOCS,
)
async def infer(request: Request, name: ModelName) -> Response:
    """Return the model's outputs for an [N, 2] input, as JSON or binary tensor data."""
    return await _infer(request, _served_model(request, name, None))


@router.post(
    "/models/{name}/versions/{version}/infer",
    summary="Predict y with one model version",
    **_INFER_DOCS,
)
async def infer_version(request: Request, name: ModelName, version: ModelVersion) -> Response:
    """Like /v2/models/{name}/infer, after checking that ``version`` is the loaded one."""
    return await _infer(request, _served_model(request, name, version))


async def _infer(request: Request, predictor: Predictor) -> Response:
    settings = request.app.state.settings
    # A compressed body is held, once decompressed, to the limit the middleware
    # applies to uncompressed ones.
    body = decompress_body(
        await request.body(), request.headers.get("content-encoding"), settings.body_limit
    )

    datatypes = {output["name"]: output["datatype"] for output in model_outputs()}
    inference = parse_request(
        body, request.headers.get(HEADER_LENGTH), list(datatypes), settings.max_points
    )

    requested = {output.name for output in inference.outputs}
    arrays = {}
    if OUTPUT_NAME in requested:
        predictions = await predictor.predict_async(inference.points, request.app.state.batcher)
        arrays[OUTPUT_NAME] = predictions.reshape(-1, 1)
    if EXTRAPOLATION_NAME in requested:
        arrays[EXTRAPOLATION_NAME] = predictor.extrapolation(inference.points).reshape(-1, 1)
    tensors = [
        OutputTensor(output.name, datatypes[output.name], arrays[output.name], output.binary)
        for output in inference.outputs
    ]

    content, header_length = encode_response(
        predictor.name, predictor.version, inference.id, tensors
    )
    if header_length is None:
        return Response(content, media_type="application/json")
    return Response(
        content,
        media_type="application/octet-stream",
        headers={HEADER_LENGTH: str(header_length)},
    )


# Anything else under /v2 gets a protocol error body instead of the JSON API's.


@router.get("/", include_in_schema=False)
async def server_metadata_slash() -> dict[str, Any]:
    return await server_metadata()


@router.api_route(
    "/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    include_in_schema=False,
    # Metrics label the requests that this route handles with the route they were
    # meant for, or "unmatched", never with this template.
    name=UNMATCHED_ROUTE,
)
async def unknown_endpoint(request: Request, path: str) -> Response:
    allowed = _allowed_methods(request)
    if allowed:
        raise ProtocolError(
            f"method {request.method} is not allowed on {request.url.path}; "
            f"use {', '.join(allowed)}",
            status_code=405,
            headers={"Allow": ", ".join(allowed)},
        )
    raise ProtocolError(
        f"no Open Inference Protocol endpoint at {request.url.path}; this server offers "
        "/v2, /v2/health/{live,ready}, and /v2/models/{name}[/versions/{version}] "
        "with /ready and /infer",
        status_code=404,
    )


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in router.routes:
        if route.endpoint is unknown_endpoint or not isinstance(route, APIRoute):
            continue
        match, _ = route.matches({**request.scope, "method": "GET", "type": "http"})
        if match != Match.NONE:
            methods.update(route.methods)
    return sorted(methods)
