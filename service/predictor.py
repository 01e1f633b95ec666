"""The predictor core: a loaded artifact on its device, and chunked forward passes.

Nothing here depends on HTTP; every router calls the same ``Predictor``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import anyio
import numpy as np
import torch

from service.artifact import LoadedArtifact
from service.batching import DynamicBatcher
from service.context import count_points
from service.extrapolation import ExtrapolationMap
from service.metrics import observe_inference

logger = logging.getLogger(__name__)

# On CPU, a forward pass over 8,192 points keeps the 50-wide activations in cache.
# One call over 100,000 points was several times slower per point than chunks of
# this size (torch 2.13 CPU build, sigmoid 2-50-50-1).
CPU_CHUNK_POINTS = 8192
CUDA_CHUNK_POINTS = 1 << 20

# Requests up to this many points run on the event loop: a forward this small
# takes well under a millisecond, less than handing it to a worker thread.
INLINE_POINTS = 2048

# Every forward runs on a multiple of this many rows, padded with zeros. The CPU
# kernels compute the last elements of a tensor (the remainder after the vector
# loop) and the last rows of a matrix product with other instructions than the
# rest. Without the padding, a point's float32 prediction changed in its last
# bits with the number of rows in its forward pass. With it, a point gets the
# same prediction in any request, chunk or dynamic batch.
# NOTE: measured on the torch 2.13 CPU build (AVX-512 and 1-2 threads), not a
# documented guarantee of torch; tests pin it for the CPU.
ROW_ALIGNMENT = 32


class Predictor:
    """Runs a TorchScript surface model on float32 arrays of (x0, x1) points."""

    def __init__(self, artifact: LoadedArtifact, device: torch.device) -> None:
        self.artifact = artifact
        self.device = device
        self.chunk_points = CUDA_CHUNK_POINTS if device.type == "cuda" else CPU_CHUNK_POINTS
        self.extrapolation_map = ExtrapolationMap.from_artifact(artifact)
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

    def extrapolation(self, points: np.ndarray) -> np.ndarray:
        """Return True for each point (N, 2) that lies where the training data was sparse."""
        return self.extrapolation_map.flags(points)

    def grid_extrapolation(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        """Return extrapolation flags of shape (len(x1), len(x0)), laid out as grid() is."""
        # float32 axes, as grid() uses, so a grid point gets the flag /predict gives it.
        # Axes beyond float32's range become +-inf, as in grid(), and are flagged.
        with np.errstate(over="ignore"):
            columns, rows = x0.astype(np.float32), x1.astype(np.float32)
        return self.extrapolation_map.grid_flags(columns, rows)

    def predict(self, points: np.ndarray) -> np.ndarray:
        """Return the float32 prediction (N,) for a float32 array of points (N, 2)."""
        inputs = np.ascontiguousarray(points, dtype=np.float32)
        predictions = np.empty(len(points), dtype=np.float32)

        started = time.perf_counter()
        with torch.inference_mode():
            for start in range(0, len(points), self.chunk_points):
                if start:
                    _stop_if_cancelled()
                chunk = inputs[start : start + self.chunk_points]
                batch = torch.from_numpy(_pad_rows(chunk)).to(self.device)
                output = self.artifact.module(batch).reshape(-1)
                predictions[start : start + len(chunk)] = output[: len(chunk)].to("cpu").numpy()
        observe_inference(time.perf_counter() - started)
        return predictions

    def grid(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        """Return predictions of shape (len(x1), len(x0)); row i, column j is (x0[j], x1[i])."""
        # Axes beyond float32's range become +-inf, as in /predict: the model clamps its input.
        with np.errstate(over="ignore"):
            columns, rows = np.meshgrid(x0.astype(np.float32), x1.astype(np.float32))
        points = np.stack([columns.ravel(), rows.ravel()], axis=1)
        return self.predict(points).reshape(len(x1), len(x0))

    async def predict_async(
        self, points: np.ndarray, batcher: DynamicBatcher | None = None
    ) -> np.ndarray:
        """Like predict, but runs large batches in a worker thread off the event loop.

        With a ``batcher``, a small request shares its forward pass with the
        concurrent ones; its predictions are the same.
        """
        count_points(len(points))
        if batcher is not None and len(points) <= batcher.max_points:
            return await batcher.predict(self, points)
        if len(points) <= INLINE_POINTS:
            return self.predict(points)
        return await anyio.to_thread.run_sync(self.predict, points, limiter=self._limiter)

    async def grid_async(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        count_points(len(x0) * len(x1))
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


def _stop_if_cancelled() -> None:
    # A forward in a worker thread stops at a chunk boundary once its request is
    # cancelled (a timeout). One on the event loop has no task to check, so it runs on.
    with contextlib.suppress(RuntimeError):
        anyio.from_thread.check_cancelled()


def _pad_rows(chunk: np.ndarray) -> np.ndarray:
    # numpy, not torch.cat: for the 1-point requests this padding is on the
    # critical path, and numpy's small-array calls cost a fraction of torch's.
    missing = -len(chunk) % ROW_ALIGNMENT
    if missing == 0:
        return chunk
    padded = np.zeros((len(chunk) + missing, chunk.shape[1]), dtype=chunk.dtype)
    padded[: len(chunk)] = chunk
    return padded
