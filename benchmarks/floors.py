"""In-process floors: the least time each workload's own work takes, with no HTTP.

Every floor is the minimum over several repeats, measured in this process with
torch on one thread and pinned to the CPU the servers run on.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import numpy as np
import orjson
import torch

from service.extrapolation import ExtrapolationMap
from service.gcpause import gc_paused
from service.predictor import CPU_CHUNK_POINTS

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
CHUNK_SIZES = (1024, 2048, 4096, 8192, 16384, 32768, 65536)


def best_ms(work: Callable[[], object], repeats: int) -> float:
    """Return the fastest of ``repeats`` runs of ``work``, in milliseconds."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def forward_chunked(module: torch.jit.ScriptModule, points: torch.Tensor, chunk: int) -> None:
    with torch.inference_mode():
        for start in range(0, len(points), chunk):
            module(points[start : start + chunk])


def predict_floor(
    module: torch.jit.ScriptModule,
    flags: ExtrapolationMap,
    body: bytes,
    binary: bool,
    repeats: int,
) -> dict[str, float]:
    """Floor of /predict on one body, in milliseconds.

    The steps are decode, chunked forward, the extrapolation flags (in JSON, a
    count for binary) and encoding the same response body the service sends.
    """
    if binary:
        points = np.frombuffer(body, dtype="<f4").reshape(-1, 2).astype(np.float32)
        decode_ms = best_ms(lambda: np.frombuffer(body, dtype="<f4").astype(np.float32), repeats)
    else:
        with gc_paused():
            document = orjson.loads(body)
            decode_ms = best_ms(lambda: orjson.loads(body), repeats)
        points = np.asarray(document["points"], dtype=np.float32)

    tensor = torch.from_numpy(points)
    forward_ms = best_ms(lambda: forward_chunked(module, tensor, CPU_CHUNK_POINTS), repeats)
    with torch.inference_mode():
        predictions = module(tensor).reshape(-1).numpy()
    extrapolation_ms = best_ms(lambda: flags.flags(points), repeats)
    if binary:
        encode_ms = best_ms(lambda: predictions.tobytes(), repeats)
    else:
        response = {"predictions": predictions, "extrapolation": flags.flags(points)}
        encode_ms = best_ms(lambda: orjson.dumps(response, option=_NUMPY), repeats)
    return {
        "decode": decode_ms,
        "forward": forward_ms,
        "extrapolation": extrapolation_ms,
        "encode": encode_ms,
    }


def grid_floor(
    module: torch.jit.ScriptModule, flags: ExtrapolationMap, steps: int, repeats: int
) -> dict[str, float]:
    """Floor of /grid at steps x steps: chunked forward, extrapolation mask, JSON encoding."""
    axis = np.linspace(-10, 10, steps)
    columns, rows = np.meshgrid(axis.astype(np.float32), axis.astype(np.float32))
    tensor = torch.from_numpy(np.stack([columns.ravel(), rows.ravel()], axis=1))

    forward_ms = best_ms(lambda: forward_chunked(module, tensor, CPU_CHUNK_POINTS), repeats)
    with torch.inference_mode():
        values = module(tensor).reshape(steps, steps).numpy()
    float32_axis = axis.astype(np.float32)
    extrapolation_ms = best_ms(lambda: flags.grid_flags(float32_axis, float32_axis), repeats)
    mask = flags.grid_flags(float32_axis, float32_axis)
    body = {"x0": axis, "x1": axis, "values": values, "extrapolation": mask}
    encode_ms = best_ms(lambda: orjson.dumps(body, option=_NUMPY), repeats)
    return {"forward": forward_ms, "extrapolation": extrapolation_ms, "encode_json": encode_ms}


def chunk_sweep(module: torch.jit.ScriptModule, points: int, repeats: int) -> dict[str, float]:
    """Time one forward pass over ``points`` points, whole and in each of CHUNK_SIZES."""
    rng = np.random.default_rng(0)
    tensor = torch.from_numpy((rng.standard_normal((points, 2)) * 3).astype(np.float32))
    results = {"whole": best_ms(lambda: forward_chunked(module, tensor, points), repeats)}
    for chunk in CHUNK_SIZES:
        results[str(chunk)] = best_ms(
            lambda size=chunk: forward_chunked(module, tensor, size), repeats
        )
    return results


def gc_decode(body: bytes, repeats: int) -> dict[str, float]:
    """Time orjson.loads of one body with the collector running, frozen heap, and paused."""
    results = {"running": best_ms(lambda: orjson.loads(body), repeats)}
    gc.freeze()
    try:
        results["frozen"] = best_ms(lambda: orjson.loads(body), repeats)
        with gc_paused():
            results["frozen_and_paused"] = best_ms(lambda: orjson.loads(body), repeats)
    finally:
        gc.unfreeze()
    return results
