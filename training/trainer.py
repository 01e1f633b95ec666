"""The training loop: full-batch Adam on the summed squared error, as in the tutorial."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from training.config import TrainConfig
from training.data import make_dataset
from training.model import SurfaceModel

LOG_EVERY = 100


@dataclass
class TrainResult:
    model: SurfaceModel
    x: torch.Tensor
    y: torch.Tensor
    final_loss: float
    losses: list[float] = field(default_factory=list)


def train(
    config: TrainConfig, device: torch.device, log: Callable[[str], None] | None = None
) -> TrainResult:
    """Fit a SurfaceModel to the built-in data set; the same seed gives the same weights."""
    log = log or print

    # Data and initial weights come from one seeded stream, in the tutorial's order.
    torch.manual_seed(config.seed)
    x, y = make_dataset(config.samples, config.noise, generator=None)
    model = SurfaceModel(config.hidden, config.layers)

    model.to(device)
    inputs, targets = x.to(device), y.to(device)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)

    losses: list[float] = []
    progress = tqdm(
        total=config.steps, unit="step", disable=not sys.stdout.isatty(), dynamic_ncols=True
    )
    write = tqdm.write if not progress.disable else log
    write("step loss")
    with progress:
        for step in range(config.steps):
            loss = loss_fn(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

            value = loss.item()
            losses.append(value)
            if step % LOG_EVERY == 0 or step == config.steps - 1:
                write(f"{step} {value}")
            progress.update()

    # The loss of the final weights, not of the step before the last update.
    with torch.no_grad():
        final_loss = loss_fn(model(inputs), targets).item()

    model.to("cpu")
    return TrainResult(model=model, x=x, y=y, final_loss=final_loss, losses=losses)
