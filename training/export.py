"""Turn a trained model into a surfserve artifact (TorchScript + metadata)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import torch

from service.artifact import SCHEMA_VERSION, save_artifact, script_module, weights_digest
from training.config import TrainConfig
from training.model import SurfaceModel, architecture


def build_metadata(
    config: TrainConfig,
    scripted: torch.jit.ScriptModule,
    final_loss: float,
    metrics: dict[str, Any],
    domain: dict[str, dict[str, float]],
    model: SurfaceModel,
) -> dict[str, Any]:
    digest = weights_digest(scripted)
    return {
        "schema_version": SCHEMA_VERSION,
        "name": config.name,
        # Content-derived: the same weights always carry the same version.
        "version": digest[:12],
        "architecture": architecture(model),
        "training": config.to_json(),
        "seed": config.seed,
        "final_loss": final_loss,
        "metrics": metrics,
        "input_domain": domain,
        "weights_sha256": digest,
        "torch_version": torch.__version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def export_artifact(
    model: SurfaceModel,
    config: TrainConfig,
    final_loss: float,
    metrics: dict[str, Any],
    domain: dict[str, dict[str, float]],
    path: Path,
) -> dict[str, Any]:
    """Script the model on the CPU, write it atomically to ``path``; return its metadata."""
    model = model.to("cpu").eval()
    scripted = script_module(model)
    metadata = build_metadata(config, scripted, final_loss, metrics, domain, model)
    save_artifact(scripted, metadata, path)
    return metadata
