"""The JSON inference API: POST /predict and GET /grid."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from service.decoding import decode_points
from service.grid import DEFAULT_BOUND, DEFAULT_STEPS, GridSpec
from service.predictor import Predictor
from service.schemas import GridResponse, PredictRequest, PredictResponse, error_responses
from service.state import current_predictor

router = APIRouter(tags=["inference"])

_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def _json(content: object) -> Response:
    return Response(orjson.dumps(content, option=_JSON_OPTIONS), media_type="application/json")


@router.post(
    "/predict",
    summary="Predict y for a batch of (x0, x1) points",
    response_model=PredictResponse,
    responses=error_responses(413, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PredictRequest.model_json_schema()}},
        }
    },
)
async def predict(request: Request, predictor: Annotated[Predictor, Depends(current_predictor)]):
    """Return one float32 prediction per point, in the order sent."""
    body = await request.body()
    points = decode_points(body, request.app.state.settings.max_points)
    predictions = await predictor.predict_async(points)
    return _json({"predictions": predictions, "model": predictor.model_info()})


@router.get(
    "/grid",
    summary="Predict over a regular grid, for heatmaps",
    response_model=GridResponse,
    responses=error_responses(422, 503),
)
async def grid(
    request: Request,
    predictor: Annotated[Predictor, Depends(current_predictor)],
    x0_min: Annotated[float, Query(description="lower x0 bound")] = -DEFAULT_BOUND,
    x0_max: Annotated[float, Query(description="upper x0 bound")] = DEFAULT_BOUND,
    x1_min: Annotated[float, Query(description="lower x1 bound")] = -DEFAULT_BOUND,
    x1_max: Annotated[float, Query(description="upper x1 bound")] = DEFAULT_BOUND,
    nx: Annotated[int, Query(description="number of x0 columns, at least 2")] = DEFAULT_STEPS,
    ny: Annotated[int, Query(description="number of x1 rows, at least 2")] = DEFAULT_STEPS,
):
    """Return values[i][j] = prediction at (x0[j], x1[i]), both axes ascending.

    ``imshow(values, origin="lower", extent=(x0_min, x0_max, x1_min, x1_max))``
    draws the surface upright.
    """
    spec = GridSpec(x0_min, x0_max, x1_min, x1_max, nx, ny)
    spec.validate(request.app.state.settings.max_grid_points)

    x0, x1 = spec.axes()
    values = await predictor.grid_async(x0, x1)
    return _json({"x0": x0, "x1": x1, "values": values, "model": predictor.model_info()})
