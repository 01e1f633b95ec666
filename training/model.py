"""The surface network: an MLP with sigmoid activations behind an input guard."""

from __future__ import annotations

import torch
from torch import nn

# Far beyond this magnitude every first-layer sigmoid is saturated, so clamping
# changes no prediction; it keeps float32 overflow (and inf - inf = NaN) out of
# the network when a caller sends a coordinate such as 1e300.
INPUT_LIMIT = 1e15


class SurfaceModel(nn.Module):
    """Maps float32 points (N, 2) to predictions (N, 1).

    ``input_mean`` and ``input_scale`` standardise raw coordinates inside the
    module, so callers always send raw (x0, x1). ``output_mean`` and
    ``output_scale`` map the network's standardised output back to the units of
    y. All four are the identity by default.
    """

    def __init__(self, hidden: int = 50, layers: int = 2) -> None:
        super().__init__()
        if layers not in (1, 2):
            raise ValueError(f"layers must be 1 or 2, got {layers}")

        blocks: list[nn.Module] = [nn.Linear(2, hidden), nn.Sigmoid()]
        if layers == 2:
            blocks += [nn.Linear(hidden, hidden), nn.Sigmoid()]
        blocks.append(nn.Linear(hidden, 1))
        self.net = nn.Sequential(*blocks)

        self.input_limit = INPUT_LIMIT
        self.register_buffer("input_mean", torch.zeros(2))
        self.register_buffer("input_scale", torch.ones(2))
        self.register_buffer("output_mean", torch.zeros(1))
        self.register_buffer("output_scale", torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.clamp(-self.input_limit, self.input_limit)
        standardised = self.net((x - self.input_mean) / self.input_scale)
        return standardised * self.output_scale + self.output_mean


def architecture(model: SurfaceModel) -> dict[str, object]:
    """Return a JSON description of the network for the artifact metadata."""
    linear = [module for module in model.net if isinstance(module, nn.Linear)]
    return {
        "type": "mlp",
        "activation": "sigmoid",
        "inputs": 2,
        "outputs": 1,
        "hidden": linear[0].out_features,
        "hidden_layers": len(linear) - 1,
        "parameters": sum(parameter.numel() for parameter in model.parameters()),
        "input_standardisation": {
            "mean": model.input_mean.tolist(),
            "scale": model.input_scale.tolist(),
        },
        "output_standardisation": {
            "mean": model.output_mean.item(),
            "scale": model.output_scale.item(),
        },
        "input_limit": INPUT_LIMIT,
    }
