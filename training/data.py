"""Training data: the built-in set y = sin(x0) + cos(x1) + noise with x ~ Normal(0, pi^2),
and the training/validation split of user data."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from training.config import INPUT_SCALE


def surface(x: torch.Tensor) -> torch.Tensor:
    """The clean target function sin(x0) + cos(x1), shape (N, 1)."""
    return (x[:, 0].sin() + x[:, 1].cos()).unsqueeze(1)


def make_dataset(
    samples: int, noise: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``samples`` points: dense near the origin, sparse in the outskirts.

    Returns x (N, 2) and noisy y (N, 1), both float32.
    """
    x = torch.randn(samples, 2, generator=generator) * INPUT_SCALE
    y = surface(x) + torch.randn(samples, 1, generator=generator) * noise
    return x, y


def input_domain(x: torch.Tensor) -> dict[str, dict[str, float]]:
    """Per-coordinate min, max, mean and std of the training inputs."""
    domain = {}
    for axis, name in enumerate(("x0", "x1")):
        column = x[:, axis].double()
        domain[name] = {
            "min": column.min().item(),
            "max": column.max().item(),
            "mean": column.mean().item(),
            "std": column.std().item() if len(column) > 1 else 0.0,
        }
    return domain


# Offset from the training seed for the validation draw of the built-in data, so it
# never repeats the training points (the held-out evaluation uses another offset).
VALIDATION_SEED_OFFSET = 500_009
MAX_VALIDATION_SAMPLES = 10_000


@dataclass(frozen=True)
class TrainingData:
    """The training points and the validation points a run watches.

    For the built-in data the validation points are a fresh draw, only plotted
    and reported, and ``noise`` is the known noise level. For a file they are a
    split of its rows, used for early stopping, and ``noise`` is None.
    """

    x: torch.Tensor
    y: torch.Tensor
    x_validation: torch.Tensor
    y_validation: torch.Tensor
    source: str
    noise: float | None

    @property
    def builtin(self) -> bool:
        return self.noise is not None


def builtin_data(samples: int, noise: float, seed: int) -> TrainingData:
    """Draw the training set from the global torch RNG (as the tutorial does) and a
    validation set from a separate generator, which leaves the global RNG untouched."""
    x, y = make_dataset(samples, noise, generator=None)

    generator = torch.Generator().manual_seed(seed + VALIDATION_SEED_OFFSET)
    validation_samples = min(max(samples // 10, 100), MAX_VALIDATION_SAMPLES)
    x_validation, y_validation = make_dataset(validation_samples, noise, generator)
    return TrainingData(x, y, x_validation, y_validation, source="built-in", noise=noise)


def split_data(
    x: torch.Tensor, y: torch.Tensor, validation_share: float, seed: int, source: str
) -> TrainingData:
    """Hold out a seeded random share of user rows (at least one) for validation."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=generator)
    validation_count = min(max(1, round(len(x) * validation_share)), len(x) - 1)
    held, kept = order[:validation_count], order[validation_count:]
    return TrainingData(x[kept], y[kept], x[held], y[held], source=source, noise=None)
