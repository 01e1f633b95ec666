"""Honest evaluation after training, on points the run never saw.

Built-in data: 100,000 fresh points from the training distribution, scored
against the clean function sin(x0) + cos(x1) and against noisy targets. User
data: the validation split, scored against its targets. Both report the RMSE
overall, in the dense region (every coordinate within one spread of the centre:
abs(x0), abs(x1) < pi for the built-in data) and in the outskirts (a coordinate
beyond two spreads: 2 pi), and apart for the points the model flags as
extrapolation and the rest.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from service.extrapolation import ExtrapolationMap
from training.config import INPUT_SCALE
from training.data import TrainingData, make_dataset, surface

HELD_OUT_SAMPLES = 100_000
# Offset from the training seed, so the held-out points never repeat the training draw.
HELD_OUT_SEED_OFFSET = 1_000_003
DENSE_SPREADS = 1.0
OUTSKIRTS_SPREADS = 2.0


def evaluate(
    model: torch.nn.Module, data: TrainingData, seed: int, extrapolation: ExtrapolationMap
) -> dict[str, Any]:
    """Return the evaluation metrics stored in the artifact and printed after training."""
    if data.builtin:
        generator = torch.Generator().manual_seed(seed + HELD_OUT_SEED_OFFSET)
        x, noisy = make_dataset(HELD_OUT_SAMPLES, data.noise, generator=generator)
        clean = surface(x)
        centre, spread = torch.zeros(2), torch.full((2,), INPUT_SCALE)
        evaluation_set = "fresh draw from the training distribution"
    else:
        x, noisy, clean = data.x_validation, data.y_validation, None
        centre, spread = data.x.mean(dim=0), data.x.std(dim=0)
        evaluation_set = "validation split of the data file"

    with torch.no_grad():
        predicted = model(x)
    dense = ((x - centre).abs() < DENSE_SPREADS * spread).all(dim=1)
    outskirts = ((x - centre).abs() > OUTSKIRTS_SPREADS * spread).any(dim=1)
    flagged = torch.from_numpy(extrapolation.flags(x.numpy()))

    metrics: dict[str, Any] = {
        "evaluation_set": evaluation_set,
        "held_out_samples": len(x),
        "noise": data.noise,
        "regions": {
            "centre": centre.tolist(),
            "spread": spread.tolist(),
            "dense": f"every coordinate within {DENSE_SPREADS:g} spread of the centre",
            "outskirts": f"a coordinate beyond {OUTSKIRTS_SPREADS:g} spreads from the centre",
        },
        "dense_share": dense.double().mean().item(),
        "outskirts_share": outskirts.double().mean().item(),
        "extrapolation_share": flagged.double().mean().item(),
    }
    for name, target in (("clean", clean), ("noisy", noisy)):
        for region, mask in (
            ("", None),
            ("_dense", dense),
            ("_outskirts", outskirts),
            ("_extrapolation", flagged),
            ("_interpolation", ~flagged),
        ):
            metrics[f"rmse_{name}{region}"] = _rmse(predicted, target, mask)
    return metrics


def _rmse(
    predicted: torch.Tensor, target: torch.Tensor | None, mask: torch.Tensor | None
) -> float | None:
    if target is None:
        return None
    error = (predicted - target).reshape(-1)
    if mask is not None:
        error = error[mask]
    if len(error) == 0:
        return None
    value = error.double().pow(2).mean().sqrt().item()
    return value if math.isfinite(value) else None


def summary_lines(metrics: dict[str, Any]) -> list[str]:
    """Return the evaluation as the lines the trainer prints."""
    lines = [f"evaluation on {metrics['held_out_samples']} points ({metrics['evaluation_set']}):"]
    if metrics["rmse_clean"] is not None:
        lines.append(
            "  RMSE against sin(x0) + cos(x1): "
            f"{_format(metrics['rmse_clean'])} overall, "
            f"{_format(metrics['rmse_clean_dense'])} dense region, "
            f"{_format(metrics['rmse_clean_outskirts'])} outskirts"
        )
    noise = metrics["noise"]
    noise_text = f" (noise level {noise:g})" if noise is not None else ""
    lines.append(
        f"  RMSE against noisy targets: {_format(metrics['rmse_noisy'])} overall, "
        f"{_format(metrics['rmse_noisy_dense'])} dense region, "
        f"{_format(metrics['rmse_noisy_outskirts'])} outskirts{noise_text}"
    )
    reference = "clean" if metrics["rmse_clean"] is not None else "noisy"
    lines.append(
        f"  flagged as extrapolation: {metrics['extrapolation_share']:.1%} of the points, "
        f"RMSE {_format(metrics[f'rmse_{reference}_extrapolation'])} there and "
        f"{_format(metrics[f'rmse_{reference}_interpolation'])} elsewhere"
    )
    centre = ", ".join(f"{value:.3g}" for value in metrics["regions"]["centre"])
    spread = ", ".join(f"{value:.3g}" for value in metrics["regions"]["spread"])
    lines.append(
        f"  dense region: {metrics['regions']['dense']}; outskirts: "
        f"{metrics['regions']['outskirts']} (centre {centre}, spread {spread})"
    )
    return lines


def _format(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
