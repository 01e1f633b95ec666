import numpy as np
import pytest
import torch

from service.predictor import ROW_ALIGNMENT, Predictor

CPU = torch.device("cpu")


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def predictor(request, artifact):
    previous = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield Predictor(artifact, CPU)
    torch.set_num_threads(previous)


def test_prediction_independent_of_batch(predictor):
    # Each point alone is the reference; in any batch, position or chunking it
    # must get the same float32 bits.
    rng = np.random.default_rng(3)
    points = (rng.standard_normal((3000, 2)) * 4).astype(np.float32)
    alone = np.concatenate([predictor.predict(points[i : i + 1]) for i in range(len(points))])

    for size in [*range(1, 70), 255, 1000, 2999]:
        chosen = rng.permutation(len(points))[:size]
        assert np.array_equal(predictor.predict(points[chosen]), alone[chosen]), size

    predictor.chunk_points = 4 * ROW_ALIGNMENT
    assert np.array_equal(predictor.predict(points), alone)


def test_chunk_size_multiple_of_alignment(predictor):
    assert predictor.chunk_points % ROW_ALIGNMENT == 0


def test_grid_equals_predict_of_its_points(predictor):
    x0 = np.linspace(-3, 3, 7)
    x1 = np.linspace(-1, 1, 5)

    values = predictor.grid(x0, x1)

    columns, rows = np.meshgrid(x0.astype(np.float32), x1.astype(np.float32))
    points = np.stack([columns.ravel(), rows.ravel()], axis=1)
    assert values.shape == (5, 7)
    assert np.array_equal(values.ravel(), predictor.predict(points))


def test_grid_beyond_float32_range_is_flagged(predictor):
    # Axes beyond float32's range become infinite without a RuntimeWarning,
    # which would reach the log as a line that is not JSON.
    x0 = np.array([-1e300, 1e300])
    x1 = np.array([0.0, 1.0])

    flags = predictor.grid_extrapolation(x0, x1)
    values = predictor.grid(x0, x1)

    assert flags.shape == (2, 2)
    assert flags.all()
    assert np.isfinite(values).all()
