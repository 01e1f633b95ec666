"""Liveness, readiness and model metadata."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from service.predictor import Predictor
from service.schemas import LiveResponse, ReadyResponse, error_responses
from service.state import current_predictor, model_state

router = APIRouter(tags=["health"])


@router.get("/health/live", summary="The process is up and answering", response_model=LiveResponse)
async def live() -> dict[str, str]:
    return {"status": "live"}


@router.get(
    "/health/ready",
    summary="The model is loaded and warmed up",
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse, "description": "not ready yet, with the reason"}},
)
async def ready(request: Request) -> JSONResponse:
    state = model_state(request)
    if state.predictor is None:
        reason = state.error or "the model is still loading"
        return JSONResponse({"status": "not_ready", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready", "model": state.predictor.model_info()})


@router.get(
    "/model",
    summary="Metadata of the served artifact, with the device it runs on",
    responses=error_responses(503),
)
async def model(predictor: Annotated[Predictor, Depends(current_predictor)]) -> dict[str, Any]:
    return {**predictor.artifact.metadata, "device": str(predictor.device)}
