import pytest
import torch

from service.artifact import script_module
from training.model import INPUT_LIMIT, SurfaceModel, architecture


@pytest.mark.parametrize(("layers", "linear_count"), [(1, 2), (2, 3)])
def test_model_layers(layers, linear_count):
    model = SurfaceModel(hidden=8, layers=layers)

    linear = [module for module in model.net if isinstance(module, torch.nn.Linear)]
    assert len(linear) == linear_count
    assert model(torch.zeros(5, 2)).shape == (5, 1)


def test_model_rejects_three_layers():
    with pytest.raises(ValueError, match="layers must be 1 or 2, got 3"):
        SurfaceModel(layers=3)


def test_default_architecture_is_tutorial_mlp():
    model = SurfaceModel()

    description = architecture(model)

    assert description["hidden"] == 50
    assert description["hidden_layers"] == 2
    # 2*50+50 + 50*50+50 + 50*1+1
    assert description["parameters"] == 2751
    assert [type(module).__name__ for module in model.net] == [
        "Linear",
        "Sigmoid",
        "Linear",
        "Sigmoid",
        "Linear",
    ]


def test_far_inputs_give_finite_output():
    torch.manual_seed(0)
    model = SurfaceModel(hidden=8)
    far = torch.tensor([[1e30, -1e30], [float("inf"), float("-inf")], [3e38, 3e38]])

    output = model(far)

    assert torch.isfinite(output).all()
    # Beyond the clamp every sigmoid is saturated: the same value as at the limit.
    at_limit = model(torch.tensor([[INPUT_LIMIT, -INPUT_LIMIT]]))
    assert output[0, 0].item() == pytest.approx(at_limit[0, 0].item())


def test_scripted_model_matches_eager():
    torch.manual_seed(0)
    model = SurfaceModel(hidden=8).eval()
    x = torch.randn(64, 2) * 3

    scripted = script_module(model)

    assert torch.equal(scripted(x), model(x))
