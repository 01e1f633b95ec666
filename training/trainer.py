"""The training loop: data, standardisation, optimiser steps in chunks, checkpoints."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from tqdm import tqdm

from service.cpus import available_cpus
from training.config import TrainConfig
from training.csvdata import read_points
from training.data import TrainingData, builtin_data, split_data
from training.model import SurfaceModel
from training.monitor import Checkpoint, Outcome, RunMonitor
from training.optim import Objective, make_stepper
from training.recipes import Recipe, resolve_recipe

LOG_EVERY = 100
# About this many checkpoints per run: enough for the loss curve, few enough
# that evaluating them costs a few percent of the run.
CHECKPOINTS = 100
# Below this many points per step training uses one torch thread. On a 2-core
# machine shared with other jobs, an L-BFGS step took 2.4 ms with one thread and
# 31 ms with two at 1,000 points, and 41 ms against 159 ms at 20,000 points.
# NOTE: where more threads start to pay off was not measured on a quiet machine
# with more cores; 50,000 points is an estimate.
SINGLE_THREAD_POINTS = 50_000


@dataclass
class TrainResult:
    """A trained model (on the CPU) with everything the run recorded."""

    model: SurfaceModel
    data: TrainingData
    recipe: Recipe
    history: list[Checkpoint]
    outcome: Outcome
    final_loss: float
    training_mse: float
    steps_run: int
    cpu_seconds: float
    threads: int

    @property
    def x(self) -> torch.Tensor:
        return self.data.x

    @property
    def y(self) -> torch.Tensor:
        return self.data.y


def load_data(config: TrainConfig) -> TrainingData:
    """Load the built-in draw, or the user's file split into training and validation rows."""
    if config.data is None:
        return builtin_data(config.samples, config.noise, config.seed)
    x, y = read_points(config.data)
    return split_data(x, y, config.validation_share, config.seed, source=str(config.data))


def choose_threads(points_per_step: int) -> int:
    """Pick torch's intra-op thread count for the size of one optimiser step."""
    if points_per_step < SINGLE_THREAD_POINTS:
        return 1
    return available_cpus()


def train(
    config: TrainConfig,
    device: torch.device,
    log: Callable[[str], None] | None = None,
    threads: int | None = None,
    data: TrainingData | None = None,
) -> TrainResult:
    """Fit a SurfaceModel; the same config and seed give the same weights.

    ``data`` replaces the data the config names; the seed then only sets the
    initial weights (the benchmark's ensembles train several inits on one draw).
    Raises DataFileError for an unusable ``config.data`` and RecipeError for
    recipe options that do not go together, both before any step is taken.
    """
    log = log or print

    # Data and initial weights come from one seeded stream, in the tutorial's order.
    torch.manual_seed(config.seed)
    data = data if data is not None else load_data(config)
    recipe = resolve_recipe(config, len(data.x))
    model = SurfaceModel(config.hidden, config.layers)
    if recipe.standardise:
        standardise(model, data)

    points_per_step = recipe.batch_size or len(data.x)
    threads = threads or choose_threads(points_per_step)
    log(
        f"training on {device}: {len(data.x)} points from {data.source}, "
        f"{describe(recipe)}, seed {config.seed}, {threads} torch thread(s)"
    )
    with _torch_threads(threads):
        monitor, steps_run, cpu_seconds = _run(model, data, recipe, config.seed, device, log)

    model.to("cpu")
    outcome = monitor.finish(model)
    kept = next(c for c in monitor.history if c.step == outcome.best_step)
    return TrainResult(
        model=model,
        data=data,
        recipe=recipe,
        history=monitor.history,
        outcome=outcome,
        final_loss=kept.loss,
        training_mse=kept.training_mse,
        steps_run=steps_run,
        cpu_seconds=cpu_seconds,
        threads=threads,
    )


def describe(recipe: Recipe) -> str:
    """Return a one-line description of a recipe for the training log."""
    batch = f"minibatch {recipe.batch_size}" if recipe.batch_size else "full batch"
    parts = [
        f"{recipe.optimizer} lr {recipe.lr:g}",
        f"{recipe.steps} steps",
        batch,
        f"{recipe.loss} squared error",
    ]
    if recipe.schedule != "constant":
        parts.append(f"{recipe.schedule} schedule")
    if recipe.weight_decay:
        parts.append(f"L2 penalty {recipe.weight_decay:g}")
    parts.append("standardised" if recipe.standardise else "raw inputs")
    parts.append("early stopping" if recipe.early_stopping else "no early stopping")
    return ", ".join(parts)


def describe_loss(recipe: Recipe) -> str:
    """Return what a recipe's loss measures, for the end-of-training summary.

    On standardised targets the loss has no units, so it cannot be compared with
    an MSE in squared units of y.
    """
    reduction = "summed" if recipe.loss == "sum" else recipe.loss
    targets = "standardised" if recipe.standardise else "raw"
    penalty = " + L2 penalty" if recipe.weight_decay else ""
    return f"{reduction} squared error on {targets} targets{penalty}"


def standardise(model: SurfaceModel, data: TrainingData) -> None:
    """Bake the training inputs' and targets' mean and spread into the model."""
    with torch.no_grad():
        model.input_mean.copy_(data.x.mean(dim=0))
        model.input_scale.copy_(_spread(data.x))
        model.output_mean.copy_(data.y.mean(dim=0))
        model.output_scale.copy_(_spread(data.y))


def _spread(values: torch.Tensor) -> torch.Tensor:
    # A constant column keeps scale 1 instead of dividing by zero.
    std = values.std(dim=0) if len(values) > 1 else torch.ones(values.shape[1])
    return torch.where(std > 0, std, torch.ones_like(std))


def _run(
    model: SurfaceModel,
    data: TrainingData,
    recipe: Recipe,
    seed: int,
    device: torch.device,
    log: Callable[[str], None],
) -> tuple[RunMonitor, int, float]:
    model.to(device)
    inputs, targets = data.x.to(device), data.y.to(device)
    validation = data.x_validation.to(device), data.y_validation.to(device)
    objective = Objective(recipe, model)
    stepper = make_stepper(recipe, model, inputs, targets, objective, seed)
    monitor = RunMonitor(recipe, data)

    check_every = max(10, recipe.steps // CHECKPOINTS)
    log_every = math.ceil(max(LOG_EVERY, recipe.steps // 20) / check_every) * check_every
    progress = tqdm(
        total=recipe.steps, unit="step", disable=not sys.stdout.isatty(), dynamic_ncols=True
    )
    write = tqdm.write if not progress.disable else log

    # Checkpoint 0 is the initial weights; each later one follows a chunk of steps.
    write("step loss")
    step = 0
    started = time.process_time()
    with progress:
        checkpoint = _checkpoint(step, model, objective, inputs, targets, validation)
        stop = monitor.record(checkpoint, model)
        write(f"{step} {checkpoint.loss}")
        while step < recipe.steps and not stop:
            chunk = min(check_every, recipe.steps - step)
            stepper.run(chunk)
            step += chunk
            progress.update(chunk)

            checkpoint = _checkpoint(step, model, objective, inputs, targets, validation)
            stop = monitor.record(checkpoint, model)
            if step % log_every == 0 or step == recipe.steps or stop:
                write(f"{step} {checkpoint.loss}")
    cpu_seconds = time.process_time() - started
    return monitor, step, cpu_seconds


def _checkpoint(
    step: int,
    model: SurfaceModel,
    objective: Objective,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    validation: tuple[torch.Tensor, torch.Tensor],
) -> Checkpoint:
    with torch.no_grad():
        predicted = model(inputs)
        loss = objective(predicted, targets).item()
        training_mse = (predicted - targets).pow(2).mean().item()
        validation_mse = (model(validation[0]) - validation[1]).pow(2).mean().item()
    return Checkpoint(step, loss, training_mse, validation_mse)


@contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
