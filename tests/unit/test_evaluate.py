"""The evaluation after training: what is stored in the artifact and what is printed."""

import pytest
import torch

from service.artifact import load_artifact
from training.cli import main
from training.evaluate import HELD_OUT_SAMPLES

CPU = torch.device("cpu")

RMSE_KEYS = [
    f"rmse_{target}{region}"
    for target in ("clean", "noisy")
    for region in ("", "_dense", "_outskirts", "_extrapolation", "_interpolation")
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate") / "model.pt"
    code = main(
        [
            "--samples",
            "400",
            "--hidden",
            "16",
            "--steps",
            "200",
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return load_artifact(out, CPU).metadata


def test_metrics_stored_in_metadata(trained):
    metrics = trained["metrics"]

    for key in RMSE_KEYS:
        assert metrics[key] > 0, key
    assert metrics["held_out_samples"] == HELD_OUT_SAMPLES
    assert metrics["evaluation_set"] == "fresh draw from the training distribution"
    assert metrics["noise"] == 0.1
    # x ~ Normal(0, pi^2): 0.683^2 of the points in the dense region, 1 - 0.954^2 outside.
    assert metrics["dense_share"] == pytest.approx(0.466, abs=0.01)
    assert metrics["outskirts_share"] == pytest.approx(0.089, abs=0.01)
    assert metrics["regions"]["spread"] == pytest.approx([3.14159, 3.14159])
    # The model is worse where the data is sparse, and the flags find those points.
    assert metrics["rmse_clean_dense"] < metrics["rmse_clean"] < metrics["rmse_clean_outskirts"]
    assert metrics["rmse_clean_interpolation"] < metrics["rmse_clean_extrapolation"]
    assert 0 < metrics["extrapolation_share"] < 0.2


def test_run_record_stored_in_metadata(trained):
    run = trained["run"]

    assert run["data"] == "built-in"
    assert run["training_points"] == 400
    assert run["steps_run"] <= 200
    assert run["torch_threads"] == 1
    assert run["stalled"] is False
    assert trained["recipe"]["optimizer"] == "lbfgs"
    assert trained["extrapolation"]["mass"] == 0.95


def test_evaluation_printed(tmp_path, capsys):
    code = main(
        [
            "--samples",
            "300",
            "--hidden",
            "8",
            "--steps",
            "50",
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "model.pt"),
        ]
    )

    printed = capsys.readouterr().out
    assert code == 0
    assert f"evaluation on {HELD_OUT_SAMPLES} points (fresh draw from the training" in printed
    assert "  RMSE against sin(x0) + cos(x1): " in printed
    assert " dense region, " in printed
    assert " outskirts" in printed
    assert "(noise level 0.1)" in printed
    assert "  flagged as extrapolation: " in printed
    assert "stopped after " in printed
