"""Turn a trained model into a surfserve artifact (TorchScript + metadata)."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import torch

from service.artifact import SCHEMA_VERSION, save_artifact, script_module, weights_digest
from service.extrapolation import DENSITY_BUFFER
from training.config import TrainConfig
from training.data import input_domain
from training.density import DensityRecord
from training.model import SurfaceModel, architecture
from training.trainer import TrainResult


def build_metadata(
    config: TrainConfig,
    scripted: torch.jit.ScriptModule,
    result: TrainResult,
    metrics: dict[str, Any],
    density: DensityRecord,
) -> dict[str, Any]:
    digest = weights_digest(scripted)
    return {
        "schema_version": SCHEMA_VERSION,
        "name": config.name,
        # Content-derived: the same weights always carry the same version.
        "version": digest[:12],
        "architecture": architecture(result.model),
        "training": config.to_json(),
        "recipe": result.recipe.to_json(),
        "run": {
            "data": result.data.source,
            "training_points": len(result.data.x),
            "validation_points": len(result.data.x_validation),
            "steps_run": result.steps_run,
            "best_step": result.outcome.best_step,
            "stop_reason": result.outcome.stop_reason,
            "stalled": result.outcome.stalled,
            "warning": result.outcome.message,
            "training_mse": result.training_mse,
            "cpu_seconds": result.cpu_seconds,
            "torch_threads": result.threads,
        },
        "seed": config.seed,
        "final_loss": result.final_loss,
        "metrics": metrics,
        "input_domain": input_domain(result.data.x),
        "extrapolation": density.metadata,
        "weights_sha256": digest,
        "torch_version": torch.__version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def export_artifact(
    result: TrainResult,
    config: TrainConfig,
    metrics: dict[str, Any],
    density: DensityRecord,
    path: Path,
) -> dict[str, Any]:
    """Script the model with its density map on the CPU, write it atomically; return metadata."""
    model: SurfaceModel = copy.deepcopy(result.model).to("cpu").eval()
    # The density map rides in the module as a buffer: one file, covered by the digest.
    model.register_buffer(DENSITY_BUFFER, density.buffer())
    scripted = script_module(model)
    metadata = build_metadata(config, scripted, result, metrics, density)
    save_artifact(scripted, metadata, path)
    return metadata
