"""The training configuration: every knob of a run, stored whole in the artifact."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path("models/surface.pt")
# The tutorial draws x as randn * 3.1415; pi itself is used here.
INPUT_SCALE = math.pi


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults reproduce the tutorial's final two-hidden-layer setup."""

    samples: int = 1000
    noise: float = 0.1
    hidden: int = 50
    layers: int = 2
    steps: int = 2000
    lr: float = 1e-3
    seed: int = 0
    device: str = "auto"
    out: Path = field(default=DEFAULT_OUT)
    name: str = "surface"

    def validate(self) -> None:
        """Raise ValueError naming the first option outside its allowed range."""
        checks = [
            (self.samples >= 2, f"--samples must be at least 2, got {self.samples}"),
            (
                math.isfinite(self.noise) and self.noise >= 0,
                f"--noise must be a finite number >= 0, got {self.noise}",
            ),
            (self.hidden >= 1, f"--hidden must be at least 1, got {self.hidden}"),
            (self.layers in (1, 2), f"--layers must be 1 or 2, got {self.layers}"),
            (self.steps >= 1, f"--steps must be at least 1, got {self.steps}"),
            (
                math.isfinite(self.lr) and self.lr > 0,
                f"--lr must be a finite number > 0, got {self.lr}",
            ),
            (self.seed >= 0, f"--seed must be a non-negative integer, got {self.seed}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["out"] = str(self.out)
        return data
