"""KServe's and LitServe's servers for the optional peer columns of the load benchmark.

Both are installed by name from PyPI into their own virtual environment
(benchmarks/.peers), with a pip constraint that makes installing any torch
fail. Neither depends on torch: KServe 0.21 and LitServe 0.2 install without
it. The peer servers import the project's torch CPU build through a .pth file
that appends the project's site-packages after the peer environment's own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import orjson
import torch

from benchmarks.servers import Server, free_port, start_server
from benchmarks.workloads import Measurement, Workload, measure

PEER_VENV = Path(__file__).with_name(".peers")
PEER_PACKAGES = ("kserve", "litserve")
_NO_TORCH = "torch==0+not-in-the-peer-environment\n"


def ensure_peer_python() -> Path:
    """Return the peer environment's python, creating and installing it when missing."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PEER_VENV} with {', '.join(PEER_PACKAGES)} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        constraints = PEER_VENV / "no-torch.txt"
        constraints.write_text(_NO_TORCH)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--quiet", "-c", str(constraints),
             *PEER_PACKAGES],
            check=True,
        )  # fmt: skip

    # The project's torch, visible to the peers after their own packages.
    project_site = Path(torch.__file__).resolve().parent.parent
    peer_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (peer_site / "zz-surfserve-torch.pth").write_text(f"{project_site}\n")

    versions = subprocess.run(
        [str(python), "-c", _VERSIONS_SCRIPT], check=True, capture_output=True, text=True
    ).stdout
    print(f"peer environment: {versions.strip()}", flush=True)
    return python


_VERSIONS_SCRIPT = (
    "import json, torch; from importlib.metadata import version; "
    "print(json.dumps({'kserve': version('kserve'), 'litserve': version('litserve'), "
    "'torch': torch.__version__, 'torch from': torch.__file__}))"
)


def start_kserve(python: Path, model: Path, cpu: int, log_dir: Path) -> Server:
    """Start KServe's model server (Open Inference Protocol v2 REST) pinned to ``cpu``."""
    env = {**os.environ, "PEER_MODEL_PATH": str(model), "PEER_GRPC_PORT": str(free_port())}
    command = [str(python), str(Path(__file__).with_name("peer_kserve.py"))]
    return start_server("kserve", command, env, cpu, log_dir, "PEER_PORT")


def start_litserve(python: Path, model: Path, cpu: int, log_dir: Path) -> Server:
    """Start LitServe with its default settings pinned to ``cpu``."""
    env = {**os.environ, "PEER_MODEL_PATH": str(model)}
    command = [str(python), str(Path(__file__).with_name("peer_litserve.py"))]
    return start_server("litserve", command, env, cpu, log_dir, "PEER_PORT")


def run_peers(
    python: Path,
    model: Path,
    workloads: list[Workload],
    bodies: dict[tuple[int, bool], Path],
    server_cpu: int,
    load_cpu: int,
    args: argparse.Namespace,
    scratch: Path,
) -> dict[str, dict[str, Measurement]]:
    """Load each peer with the JSON /predict workloads; return measurements by workload name."""
    chosen = [w for w in workloads if w.points and not w.binary]
    results: dict[str, dict[str, Measurement]] = {w.name: {} for w in chosen}
    for name, start, path, ready_path, body_for, predictions_of in _PEERS:
        server = start(python, model, server_cpu, scratch)
        try:
            server.wait_ready(ready_path, timeout=120)
            _check(server, path, body_for, predictions_of, model)
            for workload in chosen:
                print(f"load: {name}, {workload.name}", flush=True)
                body = body_for(bodies[(workload.points, False)], scratch)
                results[workload.name][name] = measure(
                    server, workload, body, load_cpu, args, path=path
                )
        finally:
            server.stop()
    return results


def _kserve_body(json_body: Path, scratch: Path) -> Path:
    # The same points as surfserve's body, as a v2 inference request.
    points = orjson.loads(json_body.read_bytes())["points"]
    request = {
        "inputs": [
            {
                "name": "input",
                "shape": [len(points), 2],
                "datatype": "FP32",
                "data": [coordinate for point in points for coordinate in point],
            }
        ]
    }
    path = scratch / f"kserve-{json_body.name}"
    path.write_bytes(orjson.dumps(request))
    return path


def _same_body(json_body: Path, scratch: Path) -> Path:
    return json_body


def _check(
    server: Server,
    path: str,
    body_for: Callable[[Path, Path], Path],
    predictions_of: Callable[[dict], list[float]],
    model: Path,
) -> None:
    points = (np.random.default_rng(7).standard_normal((64, 2)) * 3).astype(np.float32)
    sample = server.log_path.with_name(f"{server.name}-check.json")
    sample.write_bytes(orjson.dumps({"points": points.tolist()}))
    body = body_for(sample, sample.parent).read_bytes()

    response = httpx.post(
        server.url + path, content=body, headers={"content-type": "application/json"}, timeout=30
    )
    response.raise_for_status()
    predictions = np.array(predictions_of(response.json()), dtype=np.float32).reshape(-1)
    with torch.inference_mode():
        module = torch.jit.load(str(model)).eval()
        expected = module(torch.from_numpy(points)).reshape(-1).numpy()
    if not np.allclose(predictions, expected, rtol=1e-5, atol=1e-6):
        raise RuntimeError(f"{server.name} returned wrong predictions")
    print(f"{server.name}: predictions correct", flush=True)


_PEERS = (
    (
        "kserve",
        start_kserve,
        "/v2/models/surface/infer",
        "/v2/health/ready",
        _kserve_body,
        lambda body: body["outputs"][0]["data"],
    ),
    (
        "litserve",
        start_litserve,
        "/predict",
        "/health",
        _same_body,
        lambda body: body["predictions"],
    ),
)
