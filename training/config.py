"""The training configuration: every knob of a run, stored whole in the artifact."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path("models/surface.pt")
# The tutorial draws x as randn * 3.1415; pi itself is used here.
INPUT_SCALE = math.pi

PRESETS = ("default", "tutorial")
OPTIMIZERS = ("lbfgs", "adam")
SCHEDULES = ("constant", "cosine")
LOSSES = ("mean", "sum")


@dataclass(frozen=True)
class TrainConfig:
    """One training run.

    The recipe options (``optimizer`` to ``early_stopping``) default to None,
    which means "what the preset picks for this data size"; see training.recipes.
    """

    samples: int = 1000
    noise: float = 0.1
    hidden: int = 50
    layers: int = 2
    seed: int = 0
    device: str = "auto"
    out: Path = field(default=DEFAULT_OUT)
    name: str = "surface"
    data: Path | None = None
    preset: str = "default"
    optimizer: str | None = None
    steps: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    schedule: str | None = None
    loss: str | None = None
    weight_decay: float | None = None
    standardise: bool | None = None
    early_stopping: bool | None = None
    validation_share: float = 0.1
    extrapolation_mass: float = 0.95

    def validate(self) -> None:
        """Raise ValueError naming the first option outside its allowed range."""
        for ok, message in self._checks():
            if not ok:
                raise ValueError(message)

    def _checks(self) -> list[tuple[bool, str]]:
        checks = [
            (self.samples >= 2, f"--samples must be at least 2, got {self.samples}"),
            (
                math.isfinite(self.noise) and self.noise >= 0,
                f"--noise must be a finite number >= 0, got {self.noise}",
            ),
            (self.hidden >= 1, f"--hidden must be at least 1, got {self.hidden}"),
            (self.layers in (1, 2), f"--layers must be 1 or 2, got {self.layers}"),
            (self.seed >= 0, f"--seed must be a non-negative integer, got {self.seed}"),
            (self.preset in PRESETS, f"--preset must be one of {PRESETS}, got {self.preset!r}"),
            (
                0 < self.validation_share < 1,
                f"--validation-share must be between 0 and 1, got {self.validation_share}",
            ),
            (
                0.5 <= self.extrapolation_mass <= 1,
                f"--extrapolation-mass must be from 0.5 to 1, got {self.extrapolation_mass}",
            ),
        ]
        if self.optimizer is not None:
            checks.append(
                (
                    self.optimizer in OPTIMIZERS,
                    f"--optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}",
                )
            )
        if self.steps is not None:
            checks.append((self.steps >= 1, f"--steps must be at least 1, got {self.steps}"))
        if self.lr is not None:
            checks.append(
                (
                    math.isfinite(self.lr) and self.lr > 0,
                    f"--lr must be a finite number > 0, got {self.lr}",
                )
            )
        if self.batch_size is not None:
            checks.append(
                (
                    self.batch_size >= 0,
                    f"--batch-size must be 0 (full batch) or more, got {self.batch_size}",
                )
            )
        if self.schedule is not None:
            checks.append(
                (
                    self.schedule in SCHEDULES,
                    f"--schedule must be one of {SCHEDULES}, got {self.schedule!r}",
                )
            )
        if self.loss is not None:
            checks.append(
                (self.loss in LOSSES, f"--loss must be one of {LOSSES}, got {self.loss!r}")
            )
        if self.weight_decay is not None:
            checks.append(
                (
                    math.isfinite(self.weight_decay) and self.weight_decay >= 0,
                    f"--weight-decay must be a finite number >= 0, got {self.weight_decay}",
                )
            )
        return checks

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["out"] = str(self.out)
        data["data"] = None if self.data is None else str(self.data)
        return data
