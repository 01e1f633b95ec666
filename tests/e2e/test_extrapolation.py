"""Extrapolation flags from the real service, for the default model and a CSV-trained one."""

import math
from dataclasses import replace

import httpx
import numpy as np
import pytest
import torch

from service.artifact import load_artifact
from service.extrapolation import ExtrapolationMap
from tests.conftest import start_service, wait_ready
from training.cli import main
from training.config import TrainConfig
from training.pipeline import train_artifact

pytestmark = pytest.mark.e2e

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def default_artifact_path(tmp_path_factory):
    """The default recipe on the default data (N=1000, seed 0): the model `make serve` trains."""
    path = tmp_path_factory.mktemp("default") / "surface.pt"
    train_artifact(replace(TrainConfig(), out=path, device="cpu"), CPU, log=lambda line: None)
    return path


@pytest.fixture(scope="module")
def default_service(default_artifact_path, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("default-service") / "service.log"
    service = start_service({"SURFSERVE_MODEL_PATH": str(default_artifact_path)}, log_path)
    wait_ready(service)
    yield service
    service.stop()


def test_predict_flags_both_sides_of_the_boundary(default_service):
    points = [[0, 0], [9, 9], [1.5, -2], [-9, -9], [0, 11], [2, 3], [-12, 0], [-1, 1]]

    response = httpx.post(f"{default_service.url}/predict", json={"points": points})

    assert response.status_code == 200
    body = response.json()
    assert body["extrapolation"] == [False, True, False, True, True, False, True, False]
    assert len(body["predictions"]) == len(points)


def test_predict_flags_equal_the_artifact_map(default_service, default_artifact_path):
    flags_map = ExtrapolationMap.from_artifact(load_artifact(default_artifact_path, CPU))
    points = np.random.default_rng(3).normal(0, 5, (3000, 2)).astype(np.float32)

    response = httpx.post(f"{default_service.url}/predict", json={"points": points.tolist()})

    flags = np.array(response.json()["extrapolation"])
    assert flags.dtype == bool
    assert np.array_equal(flags, flags_map.flags(points))
    # Both sides of the boundary are well represented in this sample.
    assert 0.1 < flags.mean() < 0.9


def test_grid_mask_matches_predict(default_service):
    params = {"x0_min": -10, "x0_max": 10, "x1_min": -10, "x1_max": 10, "nx": 41, "ny": 31}

    body = httpx.get(f"{default_service.url}/grid", params=params).json()

    mask = np.array(body["extrapolation"])
    assert mask.shape == (31, 41)
    assert mask.dtype == bool
    assert not mask[15, 20]  # (0, 0)
    assert mask[0, 0]  # the corners
    assert mask[0, -1]
    assert mask[-1, 0]
    assert mask[-1, -1]
    row_major = [[x0, x1] for x1 in body["x1"] for x0 in body["x0"]]
    flags = httpx.post(f"{default_service.url}/predict", json={"points": row_major}).json()
    assert np.array_equal(mask.ravel(), np.array(flags["extrapolation"]))


def test_boundary_follows_density_not_the_bounding_box(default_artifact_path):
    metadata = load_artifact(default_artifact_path, CPU).metadata
    domain = metadata["input_domain"]
    flags_map = ExtrapolationMap.from_artifact(load_artifact(default_artifact_path, CPU))
    # Corners of the training data's bounding box: inside the box, far from the data.
    corners = np.array(
        [[domain["x0"][a], domain["x1"][b]] for a in ("min", "max") for b in ("min", "max")],
        dtype=np.float32,
    )

    assert flags_map.flags(corners * 0.95).all()


def test_csv_trained_model_serves_flags(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.normal(0, 2, (600, 2))
    y = np.sin(x[:, 0]) + np.cos(x[:, 1])
    path = tmp_path / "points.csv"
    rows = [f"{a:.6f},{b:.6f},{c:.6f}" for (a, b), c in zip(x, y, strict=True)]
    path.write_text("x0,x1,y\n" + "\n".join(rows) + "\n")
    out = tmp_path / "model.pt"
    code = main(["--data", str(path), "--hidden", "16", "--steps", "200", "--out", str(out)])
    assert code == 0

    service = start_service({"SURFSERVE_MODEL_PATH": str(out)}, tmp_path / "service.log")
    try:
        wait_ready(service)
        response = httpx.post(f"{service.url}/predict", json={"points": [[0, 0], [8, -8]]})
    finally:
        service.stop()

    body = response.json()
    assert response.status_code == 200
    assert body["extrapolation"] == [False, True]
    assert body["predictions"][0] == pytest.approx(1.0, abs=0.2)
    assert math.isfinite(body["predictions"][1])
