"""The inference API: POST /predict (JSON or binary) and GET /grid (JSON, .npy or PNG)."""

from __future__ import annotations

import difflib
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from service.binary import decode_binary_points, encode_npy, encode_predictions
from service.compression import SUPPORTED, CompressionError, decompress_body
from service.decoding import decode_points
from service.errors import InvalidInput, PayloadTooLarge, ServiceError, UnsupportedMediaType
from service.grid import DEFAULT_BOUND, DEFAULT_STEPS, GridSpec
from service.heatmap import encode_png
from service.negotiation import OCTET_STREAM, request_media_type, response_media_type
from service.predictor import Predictor
from service.schemas import GridResponse, PredictRequest, PredictResponse, error_responses
from service.state import current_predictor

router = APIRouter(tags=["inference"])

_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
_BINARY_SCHEMA = {"type": "string", "format": "binary"}
NPY = "application/x-npy"
PNG = "image/png"
GRID_FORMATS = ("json", "npy", "png")
EXTRAPOLATED_HEADER = "X-Surfserve-Extrapolated-Points"
MODEL_NAME_HEADER = "X-Surfserve-Model-Name"
MODEL_VERSION_HEADER = "X-Surfserve-Model-Version"
GRID_PARAMETERS = ("x0_min", "x0_max", "x1_min", "x1_max", "nx", "ny", "format")


def _json(content: object) -> Response:
    return Response(orjson.dumps(content, option=_JSON_OPTIONS), media_type="application/json")


@router.post(
    "/predict",
    summary="Predict y for a batch of (x0, x1) points",
    response_model=PredictResponse,
    responses={
        200: {
            "description": "JSON, or N little-endian float32 predictions as octet-stream "
            "with the number of extrapolated points in X-Surfserve-Extrapolated-Points "
            "and the model in X-Surfserve-Model-Name and X-Surfserve-Model-Version",
            "content": {
                OCTET_STREAM: {
                    "schema": _BINARY_SCHEMA,
                    "example": "8 bytes: the float32 predictions 1.0123 and -0.1521",
                }
            },
        },
        **error_responses(406, 413, 415, 422, 503),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": PredictRequest.model_json_schema()},
                OCTET_STREAM: {
                    "schema": {
                        **_BINARY_SCHEMA,
                        "description": "N points as 2N little-endian float32 values: x0, x1, ...",
                    },
                    "example": "16 bytes: the float32 values 0.0, 0.0, 1.5, -2.0 (two points)",
                },
            },
        }
    },
)
async def predict(request: Request) -> Response:
    """Return one float32 prediction per point, in the order sent.

    The body is read as JSON or, with ``Content-Type: application/octet-stream``,
    as little-endian float32 (x0, x1) pairs. The response format follows Accept;
    when Accept rates both formats equally, the response uses the request's format.
    """
    # service.fastpath handles POST /predict ahead of this route with the same
    # function. This route documents it and serves apps built without the fast path.
    return await predict_response(request)


async def predict_response(request: Request) -> Response:
    """Return the response to a POST /predict request, or raise ServiceError to reject it."""
    predictor = await current_predictor(request)
    media_type = request_media_type(request.headers.get("content-type"))
    response_type = response_media_type(request.headers.get("accept"), preferred=media_type)

    settings = request.app.state.settings
    body = _decompressed(await request.body(), request, settings.body_limit)
    max_points = settings.max_points
    if media_type == OCTET_STREAM:
        points = decode_binary_points(body, max_points)
    else:
        points = decode_points(body, max_points)

    predictions = await predictor.predict_async(points, request.app.state.batcher)
    if response_type == OCTET_STREAM:
        # The bytes carry predictions only, so the count lets a binary client
        # decide whether to request the per-point flags in JSON.
        extrapolated = int(predictor.extrapolation(points).sum())
        headers = {EXTRAPOLATED_HEADER: str(extrapolated), **_model_headers(predictor)}
        return Response(encode_predictions(predictions), media_type=OCTET_STREAM, headers=headers)
    return _json(
        {
            "predictions": predictions,
            "extrapolation": predictor.extrapolation(points),
            "model": predictor.model_info(),
        }
    )


@router.get(
    "/grid",
    summary="Predict over a regular grid, for heatmaps",
    response_model=GridResponse,
    responses={
        200: {
            "description": "JSON; a float32 .npy array (ny, nx); or a viridis PNG of nx x ny "
            "pixels, x1 upwards. npy and PNG carry the values' range in X-Surfserve-Min "
            "and X-Surfserve-Max and the model in X-Surfserve-Model-Name and "
            "X-Surfserve-Model-Version, and no extrapolation mask (JSON has it).",
            "content": {
                NPY: {
                    "schema": _BINARY_SCHEMA,
                    "example": "a .npy file holding a float32 array of shape (ny, nx)",
                },
                PNG: {
                    "schema": _BINARY_SCHEMA,
                    "example": "a PNG image of nx x ny pixels, viridis colours, x1 upwards",
                },
            },
        },
        **error_responses(422, 503),
    },
)
async def grid(
    request: Request,
    predictor: Annotated[Predictor, Depends(current_predictor)],
    x0_min: Annotated[float, Query(description="lower x0 bound", examples=[-2.0])] = -DEFAULT_BOUND,
    x0_max: Annotated[float, Query(description="upper x0 bound", examples=[2.0])] = DEFAULT_BOUND,
    x1_min: Annotated[float, Query(description="lower x1 bound", examples=[-1.0])] = -DEFAULT_BOUND,
    x1_max: Annotated[float, Query(description="upper x1 bound", examples=[1.0])] = DEFAULT_BOUND,
    nx: Annotated[
        int, Query(description="number of x0 columns, at least 2", examples=[3])
    ] = DEFAULT_STEPS,
    ny: Annotated[
        int, Query(description="number of x1 rows, at least 2", examples=[2])
    ] = DEFAULT_STEPS,
    format: Annotated[
        str,
        Query(
            description="json, npy (float32 array, ny rows of nx) or png (viridis heatmap)",
            examples=["json"],
            json_schema_extra={"enum": list(GRID_FORMATS)},
        ),
    ] = "json",
):
    """Return values[i][j] = prediction at (x0[j], x1[i]), both axes ascending.

    ``imshow(values, origin="lower", extent=(x0_min, x0_max, x1_min, x1_max))``
    draws the surface upright.
    """
    _check_grid_parameters(request)
    spec = GridSpec(x0_min, x0_max, x1_min, x1_max, nx, ny)
    spec.validate(request.app.state.settings.max_grid_points)
    _check_grid_format(format)

    x0, x1 = spec.axes()
    values = await predictor.grid_async(x0, x1)
    if format == "npy":
        low, high = float(values.min()), float(values.max())
        return _binary(encode_npy(values), NPY, "grid.npy", low, high, predictor)
    if format == "png":
        image, low, high = encode_png(values)
        return _binary(image, PNG, "grid.png", low, high, predictor)
    return _json(
        {
            "x0": x0,
            "x1": x1,
            "values": values,
            "extrapolation": predictor.grid_extrapolation(x0, x1),
            "model": predictor.model_info(),
        }
    )


def _check_grid_format(value: str) -> None:
    if value not in GRID_FORMATS:
        raise InvalidInput(
            f"format must be json, npy or png, got {value!r}",
            field="format",
            value=value,
            allowed="json, npy or png",
        )


def _check_grid_parameters(request: Request) -> None:
    # FastAPI ignores query parameters it does not know, so a typo such as
    # x0min would silently give the default rectangle.
    for name in request.query_params:
        values = request.query_params.getlist(name)
        if len(values) > 1:
            raise InvalidInput(
                f"query parameter {name!r} is given {len(values)} times; give it once",
                field=name,
                value=values,
                allowed="one value",
            )
        if name not in GRID_PARAMETERS:
            close = difflib.get_close_matches(name, GRID_PARAMETERS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidInput(
                f"unknown query parameter {name!r}{hint}; the parameters are "
                + ", ".join(GRID_PARAMETERS),
                field=name,
                value=request.query_params[name],
                allowed=", ".join(GRID_PARAMETERS),
            )


def _decompressed(body: bytes, request: Request, max_bytes: int) -> bytes:
    try:
        return decompress_body(body, request.headers.get("content-encoding"), max_bytes)
    except CompressionError as error:
        kind: type[ServiceError] = {413: PayloadTooLarge, 415: UnsupportedMediaType}.get(
            error.status_code, InvalidInput
        )
        allowed = SUPPORTED
        if kind is PayloadTooLarge:
            allowed = f"at most {max_bytes} bytes decompressed"
        raise kind(error.message, field="Content-Encoding", allowed=allowed) from None


def _model_headers(predictor: Predictor) -> dict[str, str]:
    # Binary bodies have no room for the model, so a client that follows
    # reloads reads it here.
    model = predictor.model_info()
    return {MODEL_NAME_HEADER: model["name"], MODEL_VERSION_HEADER: model["version"]}


def _binary(
    content: bytes, media_type: str, filename: str, low: float, high: float, predictor: Predictor
) -> Response:
    headers = {
        "Content-Disposition": f'inline; filename="{filename}"',
        "X-Surfserve-Min": repr(low),
        "X-Surfserve-Max": repr(high),
        **_model_headers(predictor),
    }
    return Response(content, media_type=media_type, headers=headers)
