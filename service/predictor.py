"""The predictor core: a loaded artifact on its device, and chunked forward passes.

Nothing here knows about HTTP; every router calls the same ``Predictor``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
import numpy as np
import torch

from service.artifact import LoadedArtifact

logger = logging.getLogger(__name__)

# On CPU, a forward pass over 8,192 points keeps the 50-wide activations in cache;
# one call over 100,000 points was several times slower per point than
# chunks of this size (torch 2.13 CPU build, sigmoid 2-50-50-1).
CPU_CHUNK_POINTS = 8192
CUDA_CHUNK_POINTS = 1 << 20

# Requests up to this many points run on the event loop: a forward this small
# takes well under a millisecond, less than handing it to a worker thread.
INLINE_POINTS = 2048


class Predictor:
    """Runs a TorchScript surface model on float32 arrays of (x0, x1) points."""

    def __init__(self, artifact: LoadedArtifact, device: torch.device) -> None:
        self.artifact = artifact
        self.device = device
        self.chunk_points = CUDA_CHUNK_POINTS if device.type == "cuda" else CPU_CHUNK_POINTS
        # One large forward at a time: it already uses every intra-op thread, and a
        # second one in parallel would only split the same cores.
        self._limiter = anyio.CapacityLimiter(1)

    @property
    def name(self) -> str:
        return self.artifact.name

    @property
    def version(self) -> str:
        return self.artifact.version

    def model_info(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version}

    def predict(self, points: np.ndarray) -> np.ndarray:
        """Return the float32 prediction (N,) for a float32 array of points (N, 2)."""
        inputs = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))
        predictions = np.empty(len(points), dtype=np.float32)

        with torch.inference_mode():
            for start in range(0, len(points), self.chunk_points):
                stop = start + self.chunk_points
                batch = inputs[start:stop].to(self.device)
                output = self.artifact.module(batch).reshape(-1)
                predictions[start:stop] = output.to("cpu").numpy()
        return predictions

    def grid(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        """Return predictions of shape (len(x1), len(x0)); row i, column j is (x0[j], x1[i])."""
        columns, rows = np.meshgrid(x0.astype(np.float32), x1.astype(np.float32))
        points = np.stack([columns.ravel(), rows.ravel()], axis=1)
        return self.predict(points).reshape(len(x1), len(x0))

    async def predict_async(self, points: np.ndarray) -> np.ndarray:
        """Like predict, but runs large batches in a worker thread off the event loop."""
        if len(points) <= INLINE_POINTS:
            return self.predict(points)
        return await anyio.to_thread.run_sync(self.predict, points, limiter=self._limiter)

    async def grid_async(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        if len(x0) * len(x1) <= INLINE_POINTS:
            return self.grid(x0, x1)
        return await anyio.to_thread.run_sync(self.grid, x0, x1, limiter=self._limiter)

    def warm_up(self) -> float:
        """Run one forward pass so the first request pays no lazy initialisation; return seconds."""
        started = time.perf_counter()
        sample = np.zeros((INLINE_POINTS, 2), dtype=np.float32)
        output = self.predict(sample)
        if not np.isfinite(output).all():
            raise RuntimeError("warm-up forward pass returned non-finite values")
        return time.perf_counter() - started
