"""Watching a training run: checkpoints, the best weights, the stopping rule, stalls.

Stopping rule (recipes with early stopping only):
- built-in data: stop once the training MSE falls to 90% of the noise variance.
  The noise is known there, and a fit that much closer to its own training
  points than the noise allows is fitting the noise. With the default L2
  penalty the training MSE settled at 87% to 98% of the noise variance, so the
  rule binds mainly for runs without the penalty;
- user data: stop when the validation MSE has not improved for a fifth of the
  step budget (at least ``MIN_PATIENCE_STEPS``), and keep the weights with the
  best validation MSE.
Every run stops at a non-finite loss and goes back to its best weights.

A run has stalled when its training MSE is still above half the variance of the
targets at the end: the model explains less than half of y. The tutorial's
direct optimisation sometimes ends there, predicting little more than the mean.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch

from training.data import TrainingData
from training.recipes import Recipe

NOISE_FLOOR_SHARE = 0.9
PATIENCE_SHARE = 0.2
MIN_PATIENCE_STEPS = 100
# A model that explains less of the variance of y than this has stalled.
STALL_EXPLAINED_VARIANCE = 0.5
# Over the last tenth of the steps the loss fell by less than this share: a plateau.
PLATEAU_RELATIVE_CHANGE = 0.01


@dataclass(frozen=True)
class Checkpoint:
    """The state of a run after ``step`` optimiser steps."""

    step: int
    loss: float
    training_mse: float
    validation_mse: float


@dataclass(frozen=True)
class Outcome:
    """The end of a run: why it stopped, which weights it kept, and whether it stalled."""

    stop_reason: str
    best_step: int
    stalled: bool
    message: str | None


class RunMonitor:
    """Records checkpoints, tracks the best weights and decides when to stop."""

    def __init__(self, recipe: Recipe, data: TrainingData) -> None:
        self.recipe = recipe
        self.history: list[Checkpoint] = []
        self.target_variance = data.y.double().var().item() if len(data.y) > 1 else 0.0
        self.select_on_validation = recipe.early_stopping and not data.builtin
        use_floor = recipe.early_stopping and data.builtin and bool(data.noise)
        self.noise_floor = NOISE_FLOOR_SHARE * data.noise**2 if use_floor else None
        self.patience = max(MIN_PATIENCE_STEPS, int(PATIENCE_SHARE * recipe.steps))
        self.stop_reason: str | None = None
        self._best: tuple[float, int, dict[str, torch.Tensor]] | None = None

    def record(self, checkpoint: Checkpoint, model: torch.nn.Module) -> bool:
        """Add a checkpoint; return True when the run should stop."""
        self.history.append(checkpoint)
        if not math.isfinite(checkpoint.loss):
            self.stop_reason = f"the loss became {checkpoint.loss} at step {checkpoint.step}"
            return True

        score = checkpoint.validation_mse if self.select_on_validation else checkpoint.loss
        if self._best is None or score < self._best[0]:
            self._best = (score, checkpoint.step, copy.deepcopy(model.state_dict()))

        if self.noise_floor is not None and checkpoint.training_mse <= self.noise_floor:
            self.stop_reason = (
                f"the training MSE {checkpoint.training_mse:.5f} fell to "
                f"{NOISE_FLOOR_SHARE:.0%} of the noise variance ({self.noise_floor:.5f}) "
                f"at step {checkpoint.step}"
            )
            return True
        if self.select_on_validation and checkpoint.step - self._best[1] >= self.patience:
            self.stop_reason = (
                f"the validation MSE has not improved for {self.patience} steps "
                f"(best at step {self._best[1]})"
            )
            return True
        return False

    def finish(self, model: torch.nn.Module) -> Outcome:
        """Load the weights the run keeps into ``model`` and diagnose the run."""
        last = self.history[-1]
        diverged = not math.isfinite(last.loss)
        keep_best = self._best is not None and (self.recipe.early_stopping or diverged)
        if keep_best:
            model.load_state_dict(self._best[2])
        best_step = self._best[1] if keep_best else last.step
        stop_reason = self.stop_reason or f"the step budget of {self.recipe.steps} was used"

        kept = next(c for c in self.history if c.step == best_step)
        stalled, message = self._diagnose(kept, diverged)
        return Outcome(stop_reason, best_step, stalled, message)

    def _diagnose(self, kept: Checkpoint, diverged: bool) -> tuple[bool, str | None]:
        if diverged:
            return True, (
                f"training diverged: {self.stop_reason}; kept the weights of step "
                f"{kept.step}. Try a smaller --lr or another --seed."
            )
        if self.target_variance <= 0 or not math.isfinite(kept.training_mse):
            return False, None

        explained = 1 - kept.training_mse / self.target_variance
        if explained >= STALL_EXPLAINED_VARIANCE:
            return False, None
        state = "stalled on a plateau" if self._plateaued() else "did not converge"
        return True, (
            f"training {state}: the weights kept (step {kept.step} of "
            f"{self.history[-1].step}) explain {max(explained, 0):.0%} of the variance of y "
            f"(training MSE {kept.training_mse:.4g}, variance {self.target_variance:.4g}). "
            "Try another --seed, more --steps or the default preset; if y is mostly noise, "
            "this is expected."
        )

    def _plateaued(self) -> bool:
        last = self.history[-1]
        window_start = last.step - max(1, self.recipe.steps // 10)
        earlier = [c for c in self.history if c.step <= window_start]
        if not earlier or earlier[-1].loss <= 0:
            return False
        return (earlier[-1].loss - last.loss) / earlier[-1].loss < PLATEAU_RELATIVE_CHANGE
