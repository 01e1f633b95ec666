"""LitServe on the benchmark's TorchScript artifact, with the same JSON API as surfserve.

Runs in the peer virtual environment that benchmarks/peers.py builds, not in
the project's: ``PEER_MODEL_PATH=... PEER_PORT=... python benchmarks/peer_litserve.py``.
The API follows LitServe's documented pattern: ``setup``, ``decode_request``,
``predict`` and ``encode_response``, with its default settings (no batching).
"""

from __future__ import annotations

import os

import litserve
import torch


class SurfaceAPI(litserve.LitAPI):
    def setup(self, device: str) -> None:
        torch.set_num_threads(1)
        self.module = torch.jit.load(os.environ["PEER_MODEL_PATH"]).eval()

    def decode_request(self, request: dict) -> torch.Tensor:
        return torch.tensor(request["points"], dtype=torch.float32)

    def predict(self, points: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.module(points).reshape(-1)

    def encode_response(self, predictions: torch.Tensor) -> dict:
        return {"predictions": predictions.tolist()}


if __name__ == "__main__":
    server = litserve.LitServer(SurfaceAPI(), accelerator="cpu", workers_per_device=1)
    server.run(
        host="127.0.0.1",
        port=int(os.environ["PEER_PORT"]),
        log_level="warning",
        generate_client_file=False,
    )
