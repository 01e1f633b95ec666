"""The density map the trainer records and the extrapolation flags the service reads off it."""

import dataclasses

import numpy as np
import pytest
import torch

from service.artifact import ArtifactError, LoadedArtifact
from service.extrapolation import DensityBox, ExtrapolationMap
from training.density import DENSITY_BINS, build_density


@pytest.fixture(scope="module")
def gaussian_density():
    x = torch.randn(2000, 2, generator=torch.Generator().manual_seed(0)) * np.pi
    return x, build_density(x, mass=0.95)


def test_threshold_encloses_the_chosen_share(gaussian_density):
    x, record = gaussian_density

    flagged = record.extrapolation.flags(x.numpy())

    # Without its own kernel a training point has less density, so the share of
    # training points the threshold leaves out is at least the share flagged.
    share = record.metadata["training_share_flagged"]
    assert 0.045 <= share <= 0.05
    assert 0.03 <= flagged.mean() <= share
    assert record.metadata["mass"] == 0.95
    assert record.metadata["method"] == "smoothed-histogram-density"


def test_centre_is_dense_and_far_corner_sparse(gaussian_density):
    _, record = gaussian_density
    points = np.array([[0, 0], [2, -2], [9, 9], [-9, 9], [0, 12], [1e30, 0]], dtype=np.float32)

    flags = record.extrapolation.flags(points)

    assert flags.tolist() == [False, False, True, True, True, True]


def test_density_falls_with_radius(gaussian_density):
    _, record = gaussian_density
    radii = np.array([0, 2, 4, 6, 8], dtype=np.float32)
    points = np.stack([radii, np.zeros_like(radii)], axis=1)

    densities = record.extrapolation.densities(points)

    assert np.all(np.diff(densities) < 0)


def test_boundary_is_a_density_level_not_a_box():
    # Two dense clusters: the empty gap between them lies inside the bounding box.
    generator = torch.Generator().manual_seed(1)
    left = torch.randn(1000, 2, generator=generator) * 0.5 + torch.tensor([-5.0, 0.0])
    right = torch.randn(1000, 2, generator=generator) * 0.5 + torch.tensor([5.0, 0.0])
    record = build_density(torch.cat([left, right]), mass=0.95)

    flags = record.extrapolation.flags(np.array([[-5, 0], [5, 0], [0, 0]], dtype=np.float32))

    assert flags.tolist() == [False, False, True]


def test_grid_flags_match_point_flags(gaussian_density):
    _, record = gaussian_density
    x0 = np.linspace(-12, 12, 37, dtype=np.float32)
    x1 = np.linspace(-8, 15, 23, dtype=np.float32)
    columns, rows = np.meshgrid(x0, x1)
    points = np.stack([columns.ravel(), rows.ravel()], axis=1)

    grid = record.extrapolation.grid_flags(x0, x1)

    assert grid.shape == (23, 37)
    assert np.array_equal(grid.ravel(), record.extrapolation.flags(points))
    assert grid.any()
    assert not grid.all()


def test_cells_at_the_box_edges():
    box = DensityBox(-1.0, 1.0, 0.0, 4.0, bins=4)

    cells = box.cells(np.array([-1.0, -0.999, 0.0, 0.999, 1.0, 1.001, -2, np.inf, -np.inf]), 0)

    # 1 + the cell index; 0 below the box, 5 at or above its upper bound.
    assert cells.tolist() == [1, 1, 3, 4, 5, 5, 0, 5, 0]
    assert box.cells(np.array([0.0, 1.0, 3.99, 4.5]), 1).tolist() == [1, 2, 4, 5]
    extremes = np.array([0.5, -1e30, 3e38, -3e38, np.inf], dtype=np.float32)
    assert box.cells(extremes, 0).tolist() == [4, 0, 5, 0, 5]


def test_table_shape_and_storage(gaussian_density):
    _, record = gaussian_density

    assert record.density.shape == (DENSITY_BINS, DENSITY_BINS)
    assert record.density.dtype == np.float32
    assert record.buffer().dtype == torch.float32
    assert record.metadata["threshold"] > 0


def test_artifact_flags_equal_training_map(artifact, artifact_path):
    flags_map = ExtrapolationMap.from_artifact(artifact)
    points = np.random.default_rng(0).normal(0, 6, (1000, 2)).astype(np.float32)

    record = artifact.metadata["extrapolation"]
    assert flags_map.threshold == record["threshold"]
    assert flags_map.box.bins == record["box"]["bins"]
    assert flags_map.flags(points).any()
    assert not flags_map.flags(points).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda record: None, "has no smoothed-histogram-density extrapolation record"),
        (lambda record: {**record, "method": "bounding-box"}, "has no smoothed-histogram"),
        (lambda record: {**record, "threshold": 0}, "threshold must be a positive number"),
        (lambda record: {**record, "threshold": "high"}, "extrapolation record is invalid"),
        (lambda record: {**record, "box": {**record["box"], "x0": [3, -3]}}, "ascending"),
        (lambda record: {**record, "box": {**record["box"], "bins": 64}}, "expected (64, 64)"),
        (lambda record: {k: v for k, v in record.items() if k != "box"}, "invalid"),
    ],
)
def test_invalid_record_is_an_artifact_error(artifact, change, message):
    metadata = dict(artifact.metadata)
    metadata["extrapolation"] = change(metadata["extrapolation"])
    broken = dataclasses.replace(artifact, metadata=metadata)

    with pytest.raises(ArtifactError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ExtrapolationMap.from_artifact(broken)


def test_missing_buffer_is_an_artifact_error(artifact):
    from service.artifact import script_module
    from training.model import SurfaceModel

    bare = LoadedArtifact(
        module=script_module(SurfaceModel(hidden=4)), metadata=artifact.metadata, path=artifact.path
    )

    with pytest.raises(ArtifactError, match="has no extrapolation_density buffer"):
        ExtrapolationMap.from_artifact(bare)
