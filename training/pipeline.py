"""One training run end to end: train, map the data density, evaluate, export, report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from training.config import TrainConfig
from training.density import DensityRecord, build_density
from training.evaluate import evaluate
from training.export import export_artifact
from training.trainer import TrainResult, train


@dataclass(frozen=True)
class TrainedArtifact:
    """The products of a run: the result, its density map, metrics and artifact metadata."""

    result: TrainResult
    density: DensityRecord
    metrics: dict[str, Any]
    metadata: dict[str, Any]
    path: Path


def train_artifact(
    config: TrainConfig,
    device: torch.device,
    log: Callable[[str], None] | None = None,
    threads: int | None = None,
    report_dir: Path | None = None,
) -> TrainedArtifact:
    """Train with ``config`` and write the artifact to ``config.out``.

    With ``report_dir``, also write the report's pictures and report.json there;
    that needs matplotlib (the ``report`` extra).
    """
    result = train(config, device, log=log, threads=threads)
    density = build_density(result.data.x, config.extrapolation_mass)
    metrics = evaluate(result.model, result.data, config.seed, density.extrapolation)
    metadata = export_artifact(result, config, metrics, density, config.out)
    trained = TrainedArtifact(result, density, metrics, metadata, config.out)

    if report_dir is not None:
        from training.report import write_report

        write_report(trained, report_dir)
    return trained
