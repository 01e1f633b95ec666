"""Stopping rules, best weights and stall detection on real training runs."""

import math

import numpy as np
import torch

from service.artifact import load_artifact
from training.cli import main
from training.config import TrainConfig
from training.data import builtin_data
from training.model import SurfaceModel
from training.monitor import NOISE_FLOOR_SHARE, Checkpoint, RunMonitor
from training.recipes import FULL_BATCH
from training.trainer import train

CPU = torch.device("cpu")


def _quiet(line: str) -> None:
    pass


def test_stalled_run_is_detected():
    # Adam at 1e-6 barely moves the weights: the model keeps predicting about the mean.
    config = TrainConfig(preset="tutorial", lr=1e-6, steps=300, samples=500)

    result = train(config, CPU, log=_quiet)

    assert result.outcome.stalled
    assert result.outcome.message.startswith("training stalled on a plateau: the weights kept")
    assert "Try another --seed" in result.outcome.message


def test_cli_says_a_run_stalled(tmp_path, capsys):
    out = tmp_path / "model.pt"

    code = main(
        [
            "--preset",
            "tutorial",
            "--lr",
            "1e-6",
            "--steps",
            "300",
            "--samples",
            "500",
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    )

    assert code == 0
    assert "training: warning: training stalled on a plateau" in capsys.readouterr().err
    run = load_artifact(out, CPU).metadata["run"]
    assert run["stalled"] is True
    assert run["warning"].startswith("training stalled")


def test_default_recipe_does_not_stall():
    result = train(TrainConfig(samples=400, hidden=16, steps=300), CPU, log=_quiet)

    assert not result.outcome.stalled
    assert result.outcome.message is None


def test_noise_floor_stops_the_run():
    # Without the L2 penalty, 16x16 hidden units can fit 200 noisy points closer than the noise.
    config = TrainConfig(samples=200, hidden=16, weight_decay=0.0, steps=1000)

    result = train(config, CPU, log=_quiet)

    assert result.steps_run < 1000
    assert result.training_mse <= NOISE_FLOOR_SHARE * 0.1**2
    assert "of the noise variance" in result.outcome.stop_reason
    assert all(c.training_mse > NOISE_FLOOR_SHARE * 0.01 for c in result.history[:-1])


def test_best_weights_are_kept_after_a_spike():
    # Adam at lr 1e3 on the summed error throws the weights far off after the first steps.
    config = TrainConfig(
        samples=200, hidden=8, optimizer="adam", lr=1e3, loss="sum", steps=50, early_stopping=True
    )

    result = train(config, CPU, log=_quiet)

    best = min(result.history, key=lambda c: c.loss)
    assert result.history[-1].loss > best.loss
    assert result.outcome.best_step == best.step
    assert result.final_loss == best.loss
    with torch.no_grad():
        predicted = result.model(result.data.x)
    assert (predicted - result.data.y).pow(2).mean().item() == best.training_mse


def test_without_early_stopping_last_weights_are_kept():
    config = TrainConfig(
        samples=200, hidden=8, optimizer="adam", lr=1e3, loss="sum", steps=50, early_stopping=False
    )

    result = train(config, CPU, log=_quiet)

    assert result.outcome.best_step == 50
    assert result.final_loss == result.history[-1].loss


def test_validation_patience_on_user_data(tmp_path):
    # y is pure noise: the validation error cannot keep improving.
    rng = np.random.default_rng(0)
    rows = [f"{a:.5f},{b:.5f},{c:.5f}" for a, b, c in rng.standard_normal((300, 3))]
    path = tmp_path / "noise.csv"
    path.write_text("x0,x1,y\n" + "\n".join(rows) + "\n")
    config = TrainConfig(data=path, hidden=16, steps=2000, weight_decay=0.0)

    result = train(config, CPU, log=_quiet)

    assert result.steps_run < 2000
    assert result.outcome.stop_reason.startswith("the validation MSE has not improved for 400")
    best = min(result.history, key=lambda c: c.validation_mse)
    assert result.outcome.best_step == best.step


def test_non_finite_loss_stops_and_restores_best():
    torch.manual_seed(0)
    data = builtin_data(100, 0.1, seed=0)
    model = SurfaceModel(hidden=4)
    monitor = RunMonitor(FULL_BATCH, data)
    good = {name: value.clone() for name, value in model.state_dict().items()}

    assert not monitor.record(Checkpoint(0, 1.0, 0.9, 0.9), model)
    with torch.no_grad():
        model.net[0].weight.fill_(math.nan)
    assert monitor.record(Checkpoint(10, math.nan, math.nan, math.nan), model)
    outcome = monitor.finish(model)

    assert outcome.stalled
    assert outcome.best_step == 0
    assert outcome.message.startswith("training diverged: the loss became nan at step 10")
    assert torch.equal(model.net[0].weight, good["net.0.weight"])
