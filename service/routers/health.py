"""Liveness, readiness and model metadata."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from service.predictor import Predictor
from service.redaction import public_metadata
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


# An abridged /model response: the artifact's metadata plus the device.
_MODEL_EXAMPLE = {
    "name": "surface",
    "version": "3f2a9c1d0b7e",
    "schema_version": 1,
    "architecture": {"type": "mlp", "activation": "sigmoid", "hidden": 50, "hidden_layers": 2},
    "seed": 0,
    "final_loss": 0.0104,
    "metrics": {"held_out_samples": 10000, "rmse_clean": 0.031, "rmse_noisy": 0.104},
    "input_domain": {
        "x0": {"min": -12.1, "max": 11.8, "mean": 0.01, "std": 3.14},
        "x1": {"min": -11.6, "max": 12.3, "mean": -0.02, "std": 3.13},
    },
    "weights_sha256": "3f2a9c1d0b7e5a8f0c4d2e6b9a1f3c5e7d9b0a2c4e6f8a1b3d5c7e9f0a2b4c6d",
    "torch_version": "2.13.0+cpu",
    "created_at": "2026-01-01T12:00:00+00:00",
    "device": "cpu",
}


@router.get(
    "/model",
    summary="Metadata of the served artifact, with the device it runs on",
    responses={
        200: {"content": {"application/json": {"example": _MODEL_EXAMPLE}}},
        **error_responses(503),
    },
)
async def model(predictor: Annotated[Predictor, Depends(current_predictor)]) -> dict[str, Any]:
    return {**public_metadata(predictor.artifact.metadata), "device": str(predictor.device)}
