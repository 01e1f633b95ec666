"""Training recipes: which optimiser, loss and stopping rule a run uses.

Measured on the built-in data (N=1000, sigmoid 2x50x50, one torch thread; see
docs/benchmarks.md): full-batch L-BFGS on standardised inputs with a small L2
penalty reaches a fifth of the tutorial recipe's dense-region RMSE at 1.5 times
its CPU time. Large data sets get minibatch Adam with a cosine schedule instead,
because every L-BFGS iteration passes over all the points.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from training.config import PRESETS, TrainConfig

# Above this many training points the default preset switches from full-batch
# L-BFGS to minibatch Adam.
# NOTE: an estimate: both recipes were measured at 1,000 and 100,000 points only.
FULL_BATCH_MAX_POINTS = 20_000


class RecipeError(ValueError):
    """Raised when recipe options do not go together; the message names them."""


@dataclass(frozen=True)
class Recipe:
    """A resolved recipe: every option has a value."""

    optimizer: str
    steps: int
    lr: float
    # 0 trains on the full batch every step.
    batch_size: int
    schedule: str
    loss: str
    # L2 penalty on the weight matrices (not biases), added to the loss.
    weight_decay: float
    standardise: bool
    # Stop on the noise floor or on validation patience, and keep the best weights.
    early_stopping: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# The tutorial's final setup: summed squared error, Adam at 1e-3, 2000 full-batch
# steps on raw inputs, and the weights of the last step.
TUTORIAL = Recipe(
    optimizer="adam",
    steps=2000,
    lr=1e-3,
    batch_size=0,
    schedule="constant",
    loss="sum",
    weight_decay=0.0,
    standardise=False,
    early_stopping=False,
)

# The penalty keeps the fit smooth where a few noisy points would otherwise pull
# it around: at N=1000 it lowered the dense-region RMSE from about 0.025 to 0.020
# and the whole-distribution RMSE from about 0.13 to 0.115 after 1000 iterations.
FULL_BATCH = Recipe(
    optimizer="lbfgs",
    steps=1500,
    lr=1.0,
    batch_size=0,
    schedule="constant",
    loss="mean",
    weight_decay=1e-5,
    standardise=True,
    early_stopping=True,
)

# At N=100,000 and 50,000 steps (one seed), lr 3e-2 reached a dense-region RMSE
# of 0.005 and a whole-distribution RMSE of 0.018; lr 1e-2 reached 0.007 and 0.052.
MINIBATCH = Recipe(
    optimizer="adam",
    steps=50_000,
    lr=3e-2,
    batch_size=1024,
    schedule="cosine",
    loss="mean",
    weight_decay=0.0,
    standardise=True,
    early_stopping=True,
)

# Adam's learning rate when a run switches to Adam from L-BFGS: the tutorial's.
ADAM_LR = 1e-3

_OVERRIDES = (
    "optimizer",
    "steps",
    "lr",
    "batch_size",
    "schedule",
    "loss",
    "weight_decay",
    "standardise",
    "early_stopping",
)


def preset_recipe(preset: str, samples: int) -> Recipe:
    """Return the recipe a preset picks for a training set of ``samples`` points."""
    if preset == "tutorial":
        return TUTORIAL
    if preset == "default":
        return FULL_BATCH if samples <= FULL_BATCH_MAX_POINTS else MINIBATCH
    raise RecipeError(f"unknown preset {preset!r}, expected one of {PRESETS}")


def resolve_recipe(config: TrainConfig, samples: int) -> Recipe:
    """Start from the preset's recipe and apply every option the config sets.

    Switching the optimiser also brings that optimiser's learning rate (L-BFGS
    takes a first trial step of 1, Adam steps near 1e-3), and switching to
    L-BFGS brings the full batch and a constant schedule.
    """
    recipe = preset_recipe(config.preset, samples)
    if config.optimizer is not None and config.optimizer != recipe.optimizer:
        recipe = _switch_optimizer(recipe, config.optimizer)

    changes = {name: getattr(config, name) for name in _OVERRIDES}
    changes = {name: value for name, value in changes.items() if value is not None}
    recipe = replace(recipe, **changes)

    if recipe.optimizer == "lbfgs" and recipe.batch_size:
        raise RecipeError(
            f"--optimizer lbfgs trains on the full batch; got --batch-size {recipe.batch_size} "
            "(use --batch-size 0 or --optimizer adam)"
        )
    if recipe.optimizer == "lbfgs" and recipe.schedule != "constant":
        raise RecipeError(
            f"--schedule {recipe.schedule} needs --optimizer adam; L-BFGS picks its own "
            "step length by line search"
        )
    return recipe


def _switch_optimizer(recipe: Recipe, optimizer: str) -> Recipe:
    if optimizer == "lbfgs":
        return replace(
            recipe, optimizer="lbfgs", lr=FULL_BATCH.lr, batch_size=0, schedule="constant"
        )
    return replace(recipe, optimizer="adam", lr=ADAM_LR)
