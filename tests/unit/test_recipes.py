"""Recipes: presets, options over presets, and the tutorial preset against the tutorial."""

import pytest
import torch

from training.config import TrainConfig
from training.data import make_dataset
from training.recipes import (
    FULL_BATCH,
    FULL_BATCH_MAX_POINTS,
    MINIBATCH,
    TUTORIAL,
    RecipeError,
    resolve_recipe,
)
from training.trainer import train

CPU = torch.device("cpu")


def _tutorial_loop(seed: int, samples: int = 1000, steps: int = 2000) -> torch.nn.Module:
    """The PyTorch tutorial's final training loop, written out as the tutorial has it."""
    torch.manual_seed(seed)
    x, y = make_dataset(samples, 0.1, generator=None)
    hidden = 50
    model = torch.nn.Sequential(
        torch.nn.Linear(2, hidden),
        torch.nn.Sigmoid(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.Sigmoid(),
        torch.nn.Linear(hidden, 1),
    )
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        y_pred = model(x)
        loss = loss_fn(y_pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


@pytest.fixture
def one_thread():
    # The trainer picks one thread for 1000 points; the reference loop must use the
    # same count, because the thread count changes the float summation order.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_tutorial_preset_equals_tutorial_loop(one_thread):
    expected = _tutorial_loop(seed=3)

    result = train(TrainConfig(preset="tutorial", seed=3), CPU, log=lambda line: None)

    trained = result.model.net.state_dict()
    reference = expected.state_dict()
    assert trained.keys() == reference.keys()
    for name in reference:
        assert torch.equal(trained[name], reference[name]), name
    assert result.recipe == TUTORIAL
    assert result.steps_run == 2000
    assert result.outcome.best_step == 2000
    # Raw inputs: the standardisation buffers stay the identity.
    assert torch.equal(result.model.input_mean, torch.zeros(2))
    assert torch.equal(result.model.input_scale, torch.ones(2))


def test_default_preset_by_size():
    small = resolve_recipe(TrainConfig(), 1000)
    large = resolve_recipe(TrainConfig(), FULL_BATCH_MAX_POINTS + 1)

    assert small == FULL_BATCH
    assert small.optimizer == "lbfgs"
    assert small.standardise
    assert small.early_stopping
    assert large == MINIBATCH
    assert large.batch_size == 1024
    assert large.schedule == "cosine"


def test_options_replace_preset_choices():
    config = TrainConfig(preset="tutorial", steps=500, lr=0.01, standardise=True)

    recipe = resolve_recipe(config, 1000)

    assert recipe.steps == 500
    assert recipe.lr == 0.01
    assert recipe.standardise
    assert recipe.loss == "sum"


def test_switching_optimizer_brings_its_defaults():
    to_adam = resolve_recipe(TrainConfig(optimizer="adam"), 1000)
    to_lbfgs = resolve_recipe(TrainConfig(optimizer="lbfgs"), FULL_BATCH_MAX_POINTS + 1)

    assert to_adam.lr == 1e-3
    assert to_adam.batch_size == 0
    assert to_lbfgs.lr == 1.0
    assert to_lbfgs.batch_size == 0
    assert to_lbfgs.schedule == "constant"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (TrainConfig(batch_size=256), "--optimizer lbfgs trains on the full batch"),
        (TrainConfig(schedule="cosine"), "--schedule cosine needs --optimizer adam"),
    ],
)
def test_incompatible_options(config, message):
    with pytest.raises(RecipeError, match=message):
        resolve_recipe(config, 1000)


def test_minibatch_adam_trains():
    config = TrainConfig(samples=600, hidden=8, optimizer="adam", batch_size=64, steps=200, lr=0.01)

    result = train(config, CPU, log=lambda line: None)

    assert result.recipe.batch_size == 64
    assert result.history[-1].training_mse < result.history[0].training_mse
