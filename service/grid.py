"""Validation of /grid requests and the axes they describe."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from service.errors import InvalidInput, json_safe_value

DEFAULT_BOUND = 10.0
DEFAULT_STEPS = 100


@dataclass(frozen=True)
class GridSpec:
    """A rectangle [x0_min, x0_max] x [x1_min, x1_max] sampled at nx by ny points."""

    x0_min: float = -DEFAULT_BOUND
    x0_max: float = DEFAULT_BOUND
    x1_min: float = -DEFAULT_BOUND
    x1_max: float = DEFAULT_BOUND
    nx: int = DEFAULT_STEPS
    ny: int = DEFAULT_STEPS

    def validate(self, max_grid_points: int) -> None:
        """Raise InvalidInput naming the first bad parameter."""
        for name in ("x0_min", "x0_max", "x1_min", "x1_max"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise InvalidInput(
                    f"{name} must be a finite number, got {json_safe_value(value)}",
                    field=name,
                    value=value,
                    allowed="a finite number",
                )

        for axis in ("x0", "x1"):
            low, high = getattr(self, f"{axis}_min"), getattr(self, f"{axis}_max")
            if not low < high:
                raise InvalidInput(
                    f"{axis}_min must be less than {axis}_max, got {axis}_min={low} "
                    f"and {axis}_max={high}",
                    field=f"{axis}_min",
                    value=low,
                    allowed=f"a number below {axis}_max={high}",
                )
            if not math.isfinite(high - low):
                raise InvalidInput(
                    f"the {axis} range {low} to {high} is too wide: its span overflows float64",
                    field=f"{axis}_max",
                    value=high,
                    allowed="bounds whose difference is finite",
                )

        for name in ("nx", "ny"):
            steps = getattr(self, name)
            if steps < 2:
                raise InvalidInput(
                    f"{name} must be at least 2, got {steps}",
                    field=name,
                    value=steps,
                    allowed=f"an integer from 2 to {max_grid_points // 2}",
                )

        total = self.nx * self.ny
        if total > max_grid_points:
            raise InvalidInput(
                f"nx*ny is {self.nx}*{self.ny}={total} points, above the limit of "
                f"{max_grid_points} (SURFSERVE_MAX_GRID_POINTS)",
                field="nx*ny",
                value=total,
                allowed=f"at most {max_grid_points} grid points",
            )

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the ascending float64 axes (x0 with nx values, x1 with ny values)."""
        x0 = np.linspace(self.x0_min, self.x0_max, self.nx)
        x1 = np.linspace(self.x1_min, self.x1_max, self.ny)
        return x0, x1
