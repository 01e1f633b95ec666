"""Held-out evaluation on fresh points from the training distribution."""

from __future__ import annotations

import torch

from training.data import make_dataset, surface

HELD_OUT_SAMPLES = 10_000
# Offset from the training seed, so the held-out points never repeat the training draw.
HELD_OUT_SEED_OFFSET = 1_000_003


def evaluate(model: torch.nn.Module, noise: float, seed: int) -> dict[str, float]:
    """Return RMSE on fresh points against the clean function and against noisy targets."""
    generator = torch.Generator().manual_seed(seed + HELD_OUT_SEED_OFFSET)
    x, y_noisy = make_dataset(HELD_OUT_SAMPLES, noise, generator=generator)

    with torch.no_grad():
        predicted = model(x)
    clean_error = predicted - surface(x)
    noisy_error = predicted - y_noisy
    return {
        "held_out_samples": HELD_OUT_SAMPLES,
        "rmse_clean": clean_error.pow(2).mean().sqrt().item(),
        "rmse_noisy": noisy_error.pow(2).mean().sqrt().item(),
        "noise": noise,
    }
