"""The training report: the tutorial's pictures as PNG files, plus report.json.

Needs matplotlib, the optional ``report`` extra; everything else in training
works without it.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from service.artifact import write_file_atomically
from training.data import surface

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from training.pipeline import TrainedArtifact

INSTALL_HINT = "pip install -e '.[report]' in a checkout (or pip install matplotlib)"
# 6.4 x 4.8 inches at 100 dots per inch: every picture is 640 x 480 pixels.
FIGURE_INCHES = (6.4, 4.8)
DPI = 100
# The tutorial draws its heatmaps over [-10, 10] in both coordinates.
BUILTIN_EXTENT = (-10.0, 10.0, -10.0, 10.0)
HEATMAP_STEPS = 200


class ReportUnavailable(RuntimeError):
    """Raised when --report is asked for but matplotlib is not installed."""


def require_matplotlib() -> None:
    """Raise ReportUnavailable, saying what to install, when matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ReportUnavailable(
            f"--report needs matplotlib, which is not installed: {INSTALL_HINT}"
        ) from error


def write_report(trained: TrainedArtifact, directory: Path) -> dict[str, Any]:
    """Write the pictures and report.json into ``directory``; return the report's JSON."""
    require_matplotlib()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    extent = _extent(trained)
    x0 = np.linspace(extent[0], extent[1], HEATMAP_STEPS)
    x1 = np.linspace(extent[2], extent[3], HEATMAP_STEPS)
    predicted = _grid_predictions(trained.result.model, x0, x1)
    flags = trained.density.extrapolation.grid_flags(x0, x1)

    pictures = {
        "data": _data_picture(trained, extent),
        "loss": _loss_picture(trained),
        "prediction": _prediction_picture(trained, extent, x0, x1, predicted, flags),
    }
    if trained.result.data.builtin:
        pictures["error"] = _error_picture(extent, x0, x1, predicted, flags)

    files = {}
    for name, figure in pictures.items():
        files[name] = f"{name}.png"
        write_file_atomically(directory / files[name], _png_bytes(figure))

    report = _report_json(trained, files)
    write_file_atomically(directory / "report.json", json.dumps(report, indent=2).encode())
    return report


def _extent(trained: TrainedArtifact) -> tuple[float, float, float, float]:
    if trained.result.data.builtin:
        return BUILTIN_EXTENT
    # User data may live anywhere: show the box the density map covers.
    box = trained.density.extrapolation.box
    return (box.x0_min, box.x0_max, box.x1_min, box.x1_max)


def _grid_predictions(model: torch.nn.Module, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    columns, rows = np.meshgrid(x0, x1)
    points = torch.from_numpy(np.stack([columns.ravel(), rows.ravel()], axis=1).astype(np.float32))
    with torch.no_grad():
        return model(points).reshape(len(x1), len(x0)).numpy()


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_INCHES, dpi=DPI, layout="constrained")
    return figure, figure.add_subplot()


def _data_picture(trained: TrainedArtifact, extent: tuple[float, ...]) -> Figure:
    figure, axes = _figure()
    x = trained.result.data.x.numpy()
    y = trained.result.data.y.numpy().reshape(-1)
    scatter = axes.scatter(x[:, 0], x[:, 1], c=y, s=8, cmap="viridis")
    figure.colorbar(scatter, ax=axes, label="y")
    axes.set(xlim=extent[:2], ylim=extent[2:], xlabel="x0", ylabel="x1")
    axes.set_title(f"training data: {len(x)} points from {trained.result.data.source}")
    return figure


def _loss_picture(trained: TrainedArtifact) -> Figure:
    figure, axes = _figure()
    history = trained.result.history
    steps = [checkpoint.step for checkpoint in history]
    axes.plot(steps, [c.training_mse for c in history], label="training MSE")
    axes.plot(steps, [c.validation_mse for c in history], label="validation MSE")
    noise = trained.result.data.noise
    if noise:
        axes.axhline(noise**2, color="grey", linestyle="--", label="noise variance")
    axes.axvline(trained.result.outcome.best_step, color="black", linestyle=":", label="kept")
    axes.set(yscale="log", xlabel="step", ylabel="mean squared error")
    axes.set_title(f"loss curves ({trained.result.recipe.optimizer})")
    axes.legend()
    return figure


def _prediction_picture(
    trained: TrainedArtifact,
    extent: tuple[float, ...],
    x0: np.ndarray,
    x1: np.ndarray,
    predicted: np.ndarray,
    flags: np.ndarray,
) -> Figure:
    figure, axes = _figure()
    image = axes.imshow(predicted, origin="lower", extent=extent, cmap="viridis", aspect="auto")
    figure.colorbar(image, ax=axes, label="predicted y")
    x = trained.result.data.x.numpy()
    axes.scatter(x[:, 0], x[:, 1], s=2, c="black", alpha=0.5, label="training points")
    _boundary(axes, x0, x1, flags)
    axes.set(xlim=extent[:2], ylim=extent[2:], xlabel="x0", ylabel="x1")
    axes.set_title("prediction; white line: extrapolation boundary")
    return figure


def _error_picture(
    extent: tuple[float, ...],
    x0: np.ndarray,
    x1: np.ndarray,
    predicted: np.ndarray,
    flags: np.ndarray,
) -> Figure:
    figure, axes = _figure()
    columns, rows = np.meshgrid(x0, x1)
    points = torch.from_numpy(np.stack([columns.ravel(), rows.ravel()], axis=1))
    clean = surface(points).reshape(len(x1), len(x0)).numpy()
    error = np.abs(predicted - clean)
    image = axes.imshow(error, origin="lower", extent=extent, cmap="magma", aspect="auto")
    figure.colorbar(image, ax=axes, label="abs(prediction - (sin(x0) + cos(x1)))")
    _boundary(axes, x0, x1, flags)
    axes.set(xlim=extent[:2], ylim=extent[2:], xlabel="x0", ylabel="x1")
    axes.set_title("error against the clean function")
    return figure


def _boundary(axes: Axes, x0: np.ndarray, x1: np.ndarray, flags: np.ndarray) -> None:
    # A picture entirely inside (or outside) the boundary has no line to draw.
    if flags.any() and not flags.all():
        axes.contour(x0, x1, flags.astype(float), levels=[0.5], colors="white", linewidths=1.5)


def _png_bytes(figure: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def _report_json(trained: TrainedArtifact, files: dict[str, str]) -> dict[str, Any]:
    metadata = trained.metadata
    return {
        "artifact": str(trained.path),
        "model": {"name": metadata["name"], "version": metadata["version"]},
        "metrics": trained.metrics,
        "final_loss": metadata["final_loss"],
        "recipe": metadata["recipe"],
        "run": metadata["run"],
        "training": metadata["training"],
        "extrapolation": metadata["extrapolation"],
        "history": [
            {
                "step": c.step,
                "loss": _finite(c.loss),
                "training_mse": _finite(c.training_mse),
                "validation_mse": _finite(c.validation_mse),
            }
            for c in trained.result.history
        ],
        "pictures": files,
    }


def _finite(value: float) -> float | None:
    # JSON has no NaN or infinity; a diverged checkpoint is written as null.
    return value if math.isfinite(value) else None
