"""Extrapolation flags: is a point where the training data was sparse?

The artifact records a density map of the training inputs (see
``training/density.py``): a smoothed 2-D histogram over a box around the data,
stored as the TorchScript buffer ``extrapolation_density`` (rows are x1 bins,
columns x0 bins), and a density threshold chosen at training time so that a
given share of the training points lies where the density is at least that high.
A point is an extrapolation when the density of its cell is below the threshold,
or when it lies outside the box. The lookup is one cell index per coordinate,
so it costs O(1) per point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.artifact import ArtifactError, LoadedArtifact

METHOD = "smoothed-histogram-density"
DENSITY_BUFFER = "extrapolation_density"


@dataclass(frozen=True)
class DensityBox:
    """The rectangle the density map covers, cut into ``bins`` cells per axis."""

    x0_min: float
    x0_max: float
    x1_min: float
    x1_max: float
    bins: int

    def cells(self, values: np.ndarray, axis: int) -> np.ndarray:
        """Return 1 + the cell index of each coordinate along ``axis``.

        The box is half-open, [min, max): 0 means below it and ``bins + 1`` at or
        above its upper bound, so a table padded by one cell on each side can be
        indexed without a separate inside test.
        """
        low, high = (self.x0_min, self.x0_max) if axis == 0 else (self.x1_min, self.x1_max)
        # A float32 coordinate near its maximum overflows to inf here, which the clip handles.
        with np.errstate(over="ignore"):
            position = np.subtract(values, low)
            position *= self.bins / (high - low)
            position += 1
        # Clipping first keeps inf and 1e30 away from the integer cast; truncating a
        # non-negative number is its floor.
        np.clip(position, 0, self.bins + 1, out=position)
        return position.astype(np.intp)

    def to_json(self) -> dict[str, Any]:
        return {
            "x0": [self.x0_min, self.x0_max],
            "x1": [self.x1_min, self.x1_max],
            "bins": self.bins,
        }


class ExtrapolationMap:
    """Flags points whose training-data density is below a threshold."""

    def __init__(self, density: np.ndarray, box: DensityBox, threshold: float) -> None:
        if density.shape != (box.bins, box.bins):
            raise ValueError(
                f"density table has shape {density.shape}, expected {(box.bins, box.bins)}"
            )
        self.density = density
        self.box = box
        self.threshold = threshold
        # The tables are padded by one cell on each side: density 0, always sparse.
        self._density = np.zeros((box.bins + 2, box.bins + 2), dtype=np.float32)
        self._density[1:-1, 1:-1] = density
        self._sparse = self._density < threshold
        self._sparse[0, :] = self._sparse[-1, :] = self._sparse[:, 0] = self._sparse[:, -1] = True

    @classmethod
    def from_artifact(cls, artifact: LoadedArtifact) -> ExtrapolationMap:
        """Read the density map and threshold an artifact records; ArtifactError if invalid."""
        record = artifact.metadata.get("extrapolation")
        if not isinstance(record, dict) or record.get("method") != METHOD:
            raise ArtifactError(
                f"artifact has no {METHOD} extrapolation record: {artifact.path} "
                "(retrain with `python -m training`)"
            )
        buffers = dict(artifact.module.named_buffers())
        if DENSITY_BUFFER not in buffers:
            raise ArtifactError(f"artifact has no {DENSITY_BUFFER} buffer: {artifact.path}")

        try:
            box = _box_from_record(record["box"])
            threshold = float(record["threshold"])
            density = buffers[DENSITY_BUFFER].detach().to("cpu").numpy().astype(np.float32)
            if not (math.isfinite(threshold) and threshold > 0):
                raise ValueError(f"threshold must be a positive number, got {threshold}")
            return cls(density, box, threshold)
        except (KeyError, TypeError, ValueError) as error:
            raise ArtifactError(
                f"artifact extrapolation record is invalid: {artifact.path} ({error})"
            ) from error

    def densities(self, points: np.ndarray) -> np.ndarray:
        """Return the training-data density at each point (N, 2); 0 outside the box."""
        return self._density[self.box.cells(points[:, 1], 1), self.box.cells(points[:, 0], 0)]

    def flags(self, points: np.ndarray) -> np.ndarray:
        """Return True for each point (N, 2) that is an extrapolation."""
        return self._sparse[self.box.cells(points[:, 1], 1), self.box.cells(points[:, 0], 0)]

    def grid_flags(self, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        """Return flags of shape (len(x1), len(x0)); row i, column j is (x0[j], x1[i])."""
        rows = self.box.cells(x1, 1)
        columns = self.box.cells(x0, 0)
        return self._sparse[rows[:, None], columns[None, :]]


def _box_from_record(record: dict[str, Any]) -> DensityBox:
    (x0_min, x0_max), (x1_min, x1_max) = record["x0"], record["x1"]
    box = DensityBox(
        float(x0_min), float(x0_max), float(x1_min), float(x1_max), int(record["bins"])
    )
    for low, high in ((box.x0_min, box.x0_max), (box.x1_min, box.x1_max)):
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(f"box bounds must be finite and ascending, got {low} to {high}")
    if box.bins < 1:
        raise ValueError(f"bins must be at least 1, got {box.bins}")
    return box
