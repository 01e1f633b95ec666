"""KServe's model server on the benchmark's TorchScript artifact (Open Inference Protocol v2).

Runs in the peer virtual environment that benchmarks/peers.py builds, not in
the project's: ``PEER_MODEL_PATH=... PEER_PORT=... python benchmarks/peer_kserve.py``.
The model follows KServe's documented custom-model pattern: load in ``load``,
compute in ``predict`` on the request's numpy input.
"""

from __future__ import annotations

import logging
import os

import torch
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer

torch.set_num_threads(1)


class SurfaceModel(Model):
    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self.path = path
        self.module: torch.jit.ScriptModule | None = None
        self.load()

    def load(self) -> bool:
        self.module = torch.jit.load(self.path).eval()
        self.ready = True
        return self.ready

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        points = torch.from_numpy(payload.inputs[0].as_numpy())
        with torch.no_grad():
            predictions = self.module(points).numpy()
        output = InferOutput(name="output", shape=list(predictions.shape), datatype="FP32")
        output.set_data_from_numpy(predictions, binary_data=False)
        return InferResponse(
            response_id=payload.id or "", model_name=self.name, infer_outputs=[output]
        )


if __name__ == "__main__":
    model = SurfaceModel("surface", os.environ["PEER_MODEL_PATH"])
    server = ModelServer(
        http_port=int(os.environ["PEER_PORT"]),
        grpc_port=int(os.environ["PEER_GRPC_PORT"]),
        enable_grpc=False,
        workers=1,
        enable_latency_logging=False,
    )
    # No access log, as for the other servers in the benchmark.
    logging.getLogger("uvicorn.access").disabled = True
    server.start([model])
