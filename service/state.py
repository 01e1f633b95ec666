"""The model the service currently serves: the readiness state shared by all routers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from fastapi import Request

from service.artifact import load_artifact
from service.errors import ModelNotReady
from service.predictor import Predictor

logger = logging.getLogger(__name__)


@dataclass
class ModelState:
    """The loaded predictor, or why there is none yet.

    ``predictor`` is set only after the artifact has loaded and a warm-up forward
    pass has run, so readiness can be read off it directly.
    """

    predictor: Predictor | None = None
    error: str | None = None
    loading: bool = field(default=False)

    @property
    def ready(self) -> bool:
        return self.predictor is not None

    def require(self) -> Predictor:
        """Return the predictor, or raise ModelNotReady with the reason."""
        if self.predictor is None:
            reason = self.error or "the model is still loading"
            raise ModelNotReady(f"model not ready: {reason}")
        return self.predictor


def load_predictor(path: Path, device: torch.device) -> Predictor:
    """Load an artifact onto a device and warm it up; raises ArtifactError on a bad file."""
    artifact = load_artifact(path, device)
    predictor = Predictor(artifact, device)
    seconds = predictor.warm_up()
    logger.info(
        "artifact loaded: %s (model %s version %s) on %s, warm-up %.1f ms",
        path,
        artifact.name,
        artifact.version,
        device,
        seconds * 1000,
    )
    return predictor


def model_state(request: Request) -> ModelState:
    return request.app.state.model_state


async def current_predictor(request: Request) -> Predictor:
    """FastAPI dependency: the ready predictor, or a 503."""
    # async: FastAPI runs a plain def dependency in its thread pool, a thread
    # hand-off that took about a sixth of a 1-point request's time.
    return model_state(request).require()
