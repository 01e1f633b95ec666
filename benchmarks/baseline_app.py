"""The baseline: the serving code a FastAPI tutorial leads to, for the load benchmark.

A pydantic model validates ``list[list[float]]``, the endpoints are plain
``def`` functions (FastAPI runs them in its thread pool), and FastAPI encodes
the returned pydantic models. It serves the same TorchScript artifact as
surfserve, with torch on one thread. Run it as
``BASELINE_MODEL_PATH=models/surface.pt uvicorn benchmarks.baseline_app:app``.
"""

from __future__ import annotations

import os

import torch
from fastapi import FastAPI
from pydantic import BaseModel

torch.set_num_threads(int(os.environ.get("BASELINE_TORCH_THREADS", "1")))
model = torch.jit.load(os.environ.get("BASELINE_MODEL_PATH", "models/surface.pt"))
model.eval()

app = FastAPI(title="baseline")


class PredictRequest(BaseModel):
    points: list[list[float]]


class PredictResponse(BaseModel):
    predictions: list[float]


class GridResponse(BaseModel):
    x0: list[float]
    x1: list[float]
    values: list[list[float]]


@app.post("/predict")
def predict(request: PredictRequest) -> PredictResponse:
    with torch.no_grad():
        inputs = torch.tensor(request.points, dtype=torch.float32)
        outputs = model(inputs).squeeze(1)
    return PredictResponse(predictions=outputs.tolist())


@app.get("/grid")
def grid(
    x0_min: float = -10.0,
    x0_max: float = 10.0,
    x1_min: float = -10.0,
    x1_max: float = 10.0,
    nx: int = 100,
    ny: int = 100,
) -> GridResponse:
    x0 = torch.linspace(x0_min, x0_max, nx)
    x1 = torch.linspace(x1_min, x1_max, ny)
    rows, columns = torch.meshgrid(x1, x0, indexing="ij")
    with torch.no_grad():
        outputs = model(torch.stack([columns.ravel(), rows.ravel()], dim=1))
    return GridResponse(x0=x0.tolist(), x1=x1.tolist(), values=outputs.reshape(ny, nx).tolist())


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
