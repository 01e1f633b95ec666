"""The built-in data set: y = sin(x0) + cos(x1) + noise, with x ~ Normal(0, pi^2)."""

from __future__ import annotations

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
