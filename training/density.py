"""The density map of the training inputs that the service uses for extrapolation flags.

Method: a 2-D histogram of the training points over a box around them, smoothed
with a Gaussian kernel (a binned kernel density estimate). The kernel width per
axis follows Scott's rule for two dimensions, std * n^(-1/6). The threshold is
the density level above which ``mass`` of the training points lie (a highest
density region), each point's density taken without its own kernel, so a lone
point does not make its own neighbourhood look dense.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from service.extrapolation import METHOD, DensityBox, ExtrapolationMap

DENSITY_BINS = 128
# The box reaches this many kernel widths beyond the central data, so the smoothed
# density has fallen to about 1% of a lone point's peak at its edge.
PADDING_BANDWIDTHS = 3.0
# The box spans these quantiles of each coordinate (plus the padding); rarer
# outliers fall outside it and are always flags, instead of stretching every cell.
BOX_QUANTILES = (0.001, 0.999)


@dataclass(frozen=True)
class DensityRecord:
    """A density table with the metadata that describes it."""

    density: np.ndarray
    extrapolation: ExtrapolationMap
    metadata: dict[str, Any]

    def buffer(self) -> torch.Tensor:
        return torch.from_numpy(self.density)


def build_density(x: torch.Tensor, mass: float, bins: int = DENSITY_BINS) -> DensityRecord:
    """Estimate where the training inputs x (N, 2) are dense and pick the threshold."""
    points = x.detach().to("cpu").double().numpy()
    count = len(points)

    bandwidth = _scott_bandwidth(points)
    box = _box(points, bandwidth, bins)
    density = _smoothed_histogram(points, box, bandwidth)

    # Each training point's density without its own kernel, at the cell the service reads.
    lookup = ExtrapolationMap(density, box, threshold=math.inf)
    own_kernel = 1.0 / (count * 2 * math.pi * bandwidth[0] * bandwidth[1])
    at_points = lookup.densities(points.astype(np.float32)).astype(np.float64) - own_kernel

    # The smallest positive density keeps the threshold above zero: empty cells and
    # points outside the box are extrapolations whatever the share.
    floor = float(density[density > 0].min())
    threshold = max(float(np.quantile(at_points, 1 - mass, method="lower")), floor)

    metadata = {
        "method": METHOD,
        "buffer": "extrapolation_density",
        "box": box.to_json(),
        "bandwidth": {"x0": bandwidth[0], "x1": bandwidth[1]},
        "mass": mass,
        "threshold": threshold,
        "training_points": count,
        "training_share_flagged": float(np.mean(at_points < threshold)),
    }
    return DensityRecord(
        density=density,
        extrapolation=ExtrapolationMap(density, box, threshold),
        metadata=metadata,
    )


def _scott_bandwidth(points: np.ndarray) -> tuple[float, float]:
    factor = len(points) ** (-1 / 6)
    widths = []
    for axis in range(2):
        std = float(points[:, axis].std())
        # NOTE: a constant coordinate has no spread to scale by. A width of 1e-3 of
        # its magnitude (at least 1e-3) keeps the map defined, not meaningful.
        widths.append(std * factor if std > 0 else 1e-3 * max(1.0, abs(points[0, axis])))
    return widths[0], widths[1]


def _box(points: np.ndarray, bandwidth: tuple[float, float], bins: int) -> DensityBox:
    bounds = []
    for axis in range(2):
        low, high = np.quantile(points[:, axis], BOX_QUANTILES)
        pad = PADDING_BANDWIDTHS * bandwidth[axis]
        bounds += [float(low - pad), float(high + pad)]
    return DensityBox(*bounds, bins=bins)


def _smoothed_histogram(
    points: np.ndarray, box: DensityBox, bandwidth: tuple[float, float]
) -> np.ndarray:
    """Return the kernel density per unit area at the cell centres, float32 (bins, bins)."""
    rows = box.cells(points[:, 1], 1)
    columns = box.cells(points[:, 0], 0)
    counts = np.zeros((box.bins + 2, box.bins + 2))
    np.add.at(counts, (rows, columns), 1.0)
    # The outer ring contains the points outside the box, which add no density.
    counts = counts[1:-1, 1:-1]

    # Smoothing a histogram with a separable Gaussian is two small matrix products.
    kernel_x0 = _kernel_matrix(box.x0_min, box.x0_max, box.bins, bandwidth[0])
    kernel_x1 = _kernel_matrix(box.x1_min, box.x1_max, box.bins, bandwidth[1])
    smoothed = kernel_x1 @ counts @ kernel_x0.T
    density = smoothed / (len(points) * 2 * math.pi * bandwidth[0] * bandwidth[1])
    return density.astype(np.float32)


def _kernel_matrix(low: float, high: float, bins: int, width: float) -> np.ndarray:
    centres = low + (np.arange(bins) + 0.5) * (high - low) / bins
    distance = (centres[:, None] - centres[None, :]) / width
    return np.exp(-0.5 * distance**2)
