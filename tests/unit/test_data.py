import math

import pytest
import torch

from training.data import input_domain, make_dataset, surface


def test_surface_matches_formula():
    x = torch.tensor([[0.0, 0.0], [math.pi / 2, math.pi], [-1.0, 2.0]])

    y = surface(x)

    assert y.shape == (3, 1)
    assert y[0, 0].item() == pytest.approx(1.0)
    assert y[1, 0].item() == pytest.approx(0.0, abs=1e-6)
    assert y[2, 0].item() == pytest.approx(math.sin(-1.0) + math.cos(2.0), rel=1e-6)


def test_dataset_shapes_and_dtype():
    x, y = make_dataset(500, 0.1, torch.Generator().manual_seed(0))

    assert x.shape == (500, 2)
    assert y.shape == (500, 1)
    assert x.dtype == torch.float32
    assert y.dtype == torch.float32


def test_dataset_is_seeded():
    first = make_dataset(100, 0.1, torch.Generator().manual_seed(3))
    second = make_dataset(100, 0.1, torch.Generator().manual_seed(3))
    other = make_dataset(100, 0.1, torch.Generator().manual_seed(4))

    assert torch.equal(first[0], second[0])
    assert torch.equal(first[1], second[1])
    assert not torch.equal(first[0], other[0])


def test_dataset_is_dense_in_centre():
    x, _ = make_dataset(20_000, 0.1, torch.Generator().manual_seed(1))

    # x ~ Normal(0, pi^2): about 68% within one pi, about 5% beyond 2 pi.
    within_pi = (x.abs() < math.pi).float().mean().item()
    beyond_two_pi = (x.abs() > 2 * math.pi).float().mean().item()
    assert within_pi == pytest.approx(0.683, abs=0.02)
    assert beyond_two_pi == pytest.approx(0.0455, abs=0.01)


def test_noise_level_of_targets():
    x, y = make_dataset(20_000, 0.1, torch.Generator().manual_seed(2))

    residual = y - surface(x)

    assert residual.std().item() == pytest.approx(0.1, rel=0.05)


def test_input_domain_statistics():
    x = torch.tensor([[0.0, -1.0], [2.0, 1.0], [4.0, 3.0]])

    domain = input_domain(x)

    assert domain["x0"] == {"min": 0.0, "max": 4.0, "mean": 2.0, "std": 2.0}
    assert domain["x1"]["min"] == -1.0
    assert domain["x1"]["max"] == 3.0
    assert domain["x1"]["mean"] == 1.0
