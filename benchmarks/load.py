"""The serving benchmark: surfserve against a FastAPI baseline under wrk, with in-process floors.

Run from the repository root::

    .venv/bin/python -m benchmarks.load            # 10 s per workload, about 5 minutes
    .venv/bin/python -m benchmarks.load --seconds 2 --quick

Each server runs pinned to the first CPU with torch on one thread, and wrk runs
pinned to the second. Both servers must return correct predictions before any
load is sent. The table gives each workload's throughput and latency, the ratio
to the baseline, and the ratio of surfserve's time per request to the floor
measured in this process (benchmarks/floors.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import numpy as np
import orjson
import torch

# The server's modules, imported so that this process's heap (and so the cost
# of a garbage collection in the floors) resembles the server's.
import service.app  # noqa: F401
from benchmarks import floors, peers
from benchmarks.report import Row, as_json, render
from benchmarks.servers import REPO_ROOT, Server, start_baseline, start_surfserve
from benchmarks.workloads import QUICK, WORKLOADS, Measurement, Workload, measure
from benchmarks.wrk import ensure_wrk
from service.artifact import load_artifact
from service.extrapolation import ExtrapolationMap

DEFAULT_MODEL = REPO_ROOT / "models" / "surface.pt"


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, load_cpu = cpus[0], cpus[1 % len(cpus)]
    if len(cpus) < 2:
        print("warning: one CPU only; wrk and the servers share it", file=sys.stderr)
    ensure_wrk()
    model = _ensure_model(args.model)
    peer_python = peers.ensure_peer_python() if args.peers else None
    workloads = [w for w in WORKLOADS if not args.quick or w.name in QUICK]

    with tempfile.TemporaryDirectory(prefix="surfserve-bench-") as scratch:
        scratch_dir = Path(scratch)
        bodies = _write_bodies(workloads, scratch_dir)

        print(f"floors: in-process on CPU {server_cpu}, torch on one thread", flush=True)
        floor_report = _measure_floors(model, workloads, bodies, server_cpu, args.repeats)

        print("start-up to ready, default settings ...", flush=True)
        startup = [_startup_seconds(model, server_cpu, scratch_dir) for _ in range(args.startups)]

        rows = _run_workloads(model, workloads, bodies, server_cpu, load_cpu, args, scratch_dir)
        batching = _run_batching(model, bodies, server_cpu, load_cpu, args, scratch_dir)
        if peer_python is not None:
            peer_rows = peers.run_peers(
                peer_python, model, workloads, bodies, server_cpu, load_cpu, args, scratch_dir
            )
            for row in rows:
                row.peers = peer_rows.get(row.workload.name, {})

    for row in rows:
        row.floor_steps = floor_report["workloads"].get(row.workload.name, {})
        row.floor_ms = sum(row.floor_steps.values()) if row.floor_steps else None
    print(render(rows, startup, batching, floor_report))
    if args.json:
        args.json.write_text(json.dumps(as_json(rows, startup, batching, floor_report), indent=2))
    return 0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="artifact to serve")
    parser.add_argument("--seconds", type=float, default=10, help="load time per workload")
    parser.add_argument("--warmup", type=float, default=2, help="unrecorded load before each")
    parser.add_argument("--repeats", type=int, default=7, help="repeats of each floor")
    parser.add_argument("--startups", type=int, default=3, help="start-up measurements")
    parser.add_argument("--quick", action="store_true", help=f"only: {', '.join(sorted(QUICK))}")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument(
        "--peers",
        action="store_true",
        help="also load KServe's and LitServe's servers (installed into benchmarks/.peers)",
    )
    return parser.parse_args(argv)


def _ensure_model(path: Path) -> Path:
    if not path.is_file():
        print(f"training the default model into {path} ...", flush=True)
        subprocess.run([sys.executable, "-m", "training", "--out", str(path)], check=True)
    return path


def _write_bodies(workloads: list[Workload], directory: Path) -> dict[tuple[int, bool], Path]:
    rng = np.random.default_rng(0)
    bodies = {}
    for workload in workloads:
        if not workload.points:
            continue
        points = (rng.standard_normal((workload.points, 2)) * np.pi).astype(np.float32)
        path = directory / f"points-{workload.points}.{'bin' if workload.binary else 'json'}"
        if workload.binary:
            path.write_bytes(points.astype("<f4").tobytes())
        else:
            path.write_bytes(orjson.dumps({"points": points.tolist()}))
        bodies[(workload.points, workload.binary)] = path
    # The 1-point JSON body also drives the batching comparison.
    if (1, False) not in bodies:
        path = directory / "points-1.json"
        path.write_bytes(orjson.dumps({"points": [[0.5, -1.25]]}))
        bodies[(1, False)] = path
    return bodies


def _measure_floors(model, workloads, bodies, cpu, repeats) -> dict:
    previous_cpus, previous_threads = os.sched_getaffinity(0), torch.get_num_threads()
    os.sched_setaffinity(0, {cpu})
    torch.set_num_threads(1)
    artifact = load_artifact(model, torch.device("cpu"))
    module, flags = artifact.module, ExtrapolationMap.from_artifact(artifact)
    try:
        results: dict = {"workloads": {}}
        for workload in workloads:
            if workload.points:
                body = bodies[(workload.points, workload.binary)].read_bytes()
                steps = floors.predict_floor(module, flags, body, workload.binary, repeats)
            else:
                steps = floors.grid_floor(module, flags, workload.grid_steps, repeats)
                if workload.grid_format != "json":
                    # npy and PNG carry the values only: the forward pass is the floor.
                    steps = {"forward": steps["forward"]}
            results["workloads"][workload.name] = steps

        results["chunk_sweep_100k"] = floors.chunk_sweep(module, 100_000, repeats)
        results["chunk_sweep_1m"] = floors.chunk_sweep(module, 1_000_000, min(3, repeats))
        large = bodies.get((100_000, False))
        if large is not None:
            results["gc_decode_100k"] = floors.gc_decode(large.read_bytes(), repeats)
        return results
    finally:
        os.sched_setaffinity(0, previous_cpus)
        torch.set_num_threads(previous_threads)


def _startup_seconds(model: Path, cpu: int, scratch: Path) -> float:
    server = start_surfserve(model, cpu, scratch)
    try:
        return server.wait_ready("/health/ready")
    finally:
        server.stop()


def _run_workloads(model, workloads, bodies, server_cpu, load_cpu, args, scratch) -> list[Row]:
    surfserve = start_surfserve(model, server_cpu, scratch)
    baseline = start_baseline(model, server_cpu, scratch)
    try:
        surfserve.wait_ready("/health/ready")
        baseline.wait_ready("/health")
        _check_predictions(model, [surfserve, baseline])

        rows = []
        for workload in workloads:
            print(f"load: {workload.name}, {workload.connections} connection(s)", flush=True)
            # Only one server is loaded at a time; the other sits idle on the same CPU.
            body = bodies.get((workload.points, workload.binary))
            row = Row(workload, measure(surfserve, workload, body, load_cpu, args))
            if workload.baseline:
                row.baseline = measure(baseline, workload, body, load_cpu, args)
            rows.append(row)
        return rows
    finally:
        surfserve.stop()
        baseline.stop()


def _run_batching(model, bodies, server_cpu, load_cpu, args, scratch) -> dict[str, Measurement]:
    workload = WORKLOADS[0]
    results = {}
    for label, env in (
        ("off", {"SURFSERVE_BATCHING": "false"}),
        ("on, max wait 0 ms", {"SURFSERVE_BATCHING": "true"}),
        ("on, max wait 1 ms", {"SURFSERVE_BATCHING": "true", "SURFSERVE_BATCH_MAX_WAIT_MS": "1"}),
    ):
        print(f"load: batching {label}, {workload.name}", flush=True)
        server = start_surfserve(model, server_cpu, scratch, env)
        try:
            server.wait_ready("/health/ready")
            results[label] = measure(server, workload, bodies[(1, False)], load_cpu, args)
        finally:
            server.stop()
    return results


def _check_predictions(model: Path, servers: list[Server]) -> None:
    rng = np.random.default_rng(42)
    points = (rng.standard_normal((257, 2)) * 4).astype(np.float32)
    module = torch.jit.load(str(model)).eval()
    with torch.inference_mode():
        expected = module(torch.from_numpy(points)).reshape(-1).numpy()
    for server in servers:
        response = httpx.post(f"{server.url}/predict", json={"points": points.tolist()}, timeout=30)
        response.raise_for_status()
        predictions = np.array(response.json()["predictions"], dtype=np.float32)
        # One forward of all points is the reference; servers that batch or chunk
        # differently may differ from it in the last bits of float32.
        if not np.allclose(predictions, expected, rtol=1e-5, atol=1e-6):
            worst = float(np.abs(predictions - expected).max())
            raise RuntimeError(f"{server.name} returned wrong predictions (off by {worst})")
        print(f"{server.name}: predictions correct", flush=True)


if __name__ == "__main__":
    sys.exit(main())
