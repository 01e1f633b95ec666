"""Pydantic models of the JSON API, used for the OpenAPI document and its examples.

The request bodies are decoded by ``service.decoding`` for speed; these models
describe the same shapes for readers of /docs and for client generators.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class ModelRef(BaseModel):
    name: str = Field(description="model name stored in the artifact")
    version: str = Field(description="content-derived artifact version")


class PredictRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"points": [[0.0, 0.0], [1.5, -2.0]]}]},
    )

    points: list[Annotated[list[float], Field(min_length=2, max_length=2)]] = Field(
        min_length=1,
        description="batch of (x0, x1) points; any finite numbers, integers allowed",
    )


class PredictResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "predictions": [1.0123, -0.1521],
                    "extrapolation": [False, False],
                    "model": {"name": "surface", "version": "3f2a9c1d0b7e"},
                }
            ]
        }
    )

    predictions: list[float] = Field(description="float32 prediction for each point, in order")
    extrapolation: list[bool] = Field(
        description="for each point, true where the training data around it was sparse "
        "(below the density threshold the artifact records): treat that prediction "
        "as an extrapolation"
    )
    model: ModelRef


class GridResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "x0": [-10.0, 10.0],
                    "x1": [-10.0, 0.0, 10.0],
                    "values": [[0.1, 0.2], [1.3, 1.1], [0.2, 0.3]],
                    "extrapolation": [[True, True], [True, True], [True, True]],
                    "model": {"name": "surface", "version": "3f2a9c1d0b7e"},
                }
            ]
        }
    )

    x0: list[float] = Field(description="nx ascending x0 coordinates (columns)")
    x1: list[float] = Field(description="ny ascending x1 coordinates (rows)")
    values: list[list[float]] = Field(
        description="ny rows of nx; values[i][j] is at (x0[j], x1[i])"
    )
    extrapolation: list[list[bool]] = Field(
        description="ny rows of nx; extrapolation[i][j] is the extrapolation flag of "
        "values[i][j], as /predict gives it"
    )
    model: ModelRef


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable error code, such as invalid_input")
    message: str = Field(description="what is wrong and what is allowed")
    field: str | None = Field(None, description="the offending field, such as points[3][0]")
    index: int | None = Field(None, description="index of the offending point in the batch")
    value: Any = Field(None, description="the value received")
    allowed: str | None = Field(None, description="what the field accepts")


class ErrorResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "invalid_input",
                        "message": "points[1][0] (x0) must be a finite number, got NaN",
                        "field": "points[1][0]",
                        "index": 1,
                        "value": "NaN",
                        "allowed": "a finite number",
                    }
                }
            ]
        }
    )

    error: ErrorDetail


class LiveResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "live"}]})

    status: str = Field(description="always 'live' when the process responds")


class ReadyResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "ready", "model": {"name": "surface", "version": "3f2a9c1d0b7e"}},
                {"status": "not_ready", "reason": "the model is still loading"},
            ]
        }
    )

    status: str = Field(description="'ready' or 'not_ready'")
    reason: str | None = Field(None, description="why the service is not ready")
    model: ModelRef | None = None


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    descriptions = {
        406: "Accept allows none of the response formats",
        413: "too many points in one request",
        415: "Content-Type is neither application/json nor application/octet-stream, "
        "or Content-Encoding is neither gzip nor deflate",
        422: "invalid input: the body names the field, value and allowed range",
        503: "the model is not loaded yet",
    }
    return {
        status: {"model": ErrorResponse, "description": descriptions[status]} for status in statuses
    }
