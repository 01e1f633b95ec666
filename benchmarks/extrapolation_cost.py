"""Benchmark of what the extrapolation flags add to a 1000 x 1000 /grid and a large /predict.

Measures in process, on the CPU with one torch thread, the parts of a /grid
response (forward pass, flags, orjson encoding with and without the flag mask)
and of a /predict response, as the median of several repeats.

    python -m benchmarks.extrapolation_cost                       # trains the default model
    python -m benchmarks.extrapolation_cost --artifact models/surface.pt
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import orjson
import torch

from service.artifact import load_artifact
from service.predictor import Predictor
from training.config import TrainConfig
from training.pipeline import train_artifact

CPU = torch.device("cpu")
OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def _median_seconds(function: Callable[[], object], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifact", type=Path, help="artifact to load (default: train one)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats per measurement")
    parser.add_argument("--side", type=int, default=1000, help="grid points per axis")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        path = args.artifact
        if path is None:
            path = Path(folder) / "surface.pt"
            train_artifact(replace(TrainConfig(), out=path), CPU, log=lambda line: None)
        predictor = Predictor(load_artifact(path, CPU), CPU)

    # /grid: the parts of one response.
    x0 = np.linspace(-10, 10, args.side)
    x1 = np.linspace(-10, 10, args.side)
    values = predictor.grid(x0, x1)
    mask = predictor.grid_extrapolation(x0, x1)
    plain = {"x0": x0, "x1": x1, "values": values}
    flagged = {**plain, "extrapolation": mask}
    forward = _median_seconds(lambda: predictor.grid(x0, x1), args.repeats)
    flags = _median_seconds(lambda: predictor.grid_extrapolation(x0, x1), args.repeats)
    encode = _median_seconds(lambda: orjson.dumps(plain, option=OPTIONS), args.repeats)
    encode_flagged = _median_seconds(lambda: orjson.dumps(flagged, option=OPTIONS), args.repeats)

    without = forward + encode
    added = flags + encode_flagged - encode
    print(f"/grid {args.side} x {args.side} ({args.side**2} points), one torch thread:")
    print(f"  forward {forward * 1000:.1f} ms, JSON encoding {encode * 1000:.1f} ms")
    mask_encode = encode_flagged - encode
    print(f"  flags {flags * 1000:.2f} ms, encoding the mask {mask_encode * 1000:.1f} ms")
    print(f"  flags: {flags / without:.1%} of the response without them")
    print(f"  flags and their encoding: {added / without:.1%} of the response without them")

    # /predict: the same million points as a batch.
    points = np.random.default_rng(0).normal(0, 5, (args.side**2, 2)).astype(np.float32)
    forward = _median_seconds(lambda: predictor.predict(points), args.repeats)
    flags = _median_seconds(lambda: predictor.extrapolation(points), args.repeats)
    print(
        f"/predict {len(points)} points: forward {forward * 1000:.1f} ms, "
        f"flags {flags * 1000:.1f} ms ({flags / forward:.1%} of the forward)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
