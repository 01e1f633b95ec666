"""The workloads of the load benchmark, and measuring one server under one of them."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.servers import Server
from benchmarks.wrk import run_wrk

OCTET = "application/octet-stream"
JSON = "application/json"
MIN_REQUESTS = 3
MAX_SECONDS = 60
SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class Workload:
    name: str
    connections: int
    points: int = 0
    grid_steps: int = 0
    binary: bool = False
    grid_format: str = "json"
    baseline: bool = True

    @property
    def points_per_request(self) -> int:
        return self.points or self.grid_steps**2


WORKLOADS = (
    Workload("predict 1 point, JSON", 32, points=1),
    Workload("predict 1,000 points, JSON", 8, points=1000),
    Workload("predict 100,000 points, JSON", 1, points=100_000),
    Workload("predict 1 point, binary", 32, points=1, binary=True, baseline=False),
    Workload("predict 1,000 points, binary", 8, points=1000, binary=True, baseline=False),
    Workload("predict 100,000 points, binary", 1, points=100_000, binary=True, baseline=False),
    Workload("grid 100x100, JSON", 8, grid_steps=100),
    Workload("grid 1000x1000, JSON", 1, grid_steps=1000),
    Workload("grid 1000x1000, npy", 1, grid_steps=1000, grid_format="npy", baseline=False),
    Workload("grid 1000x1000, png", 1, grid_steps=1000, grid_format="png", baseline=False),
)
QUICK = {"predict 1 point, JSON", "predict 100,000 points, JSON", "grid 1000x1000, npy"}


@dataclass
class Measurement:
    requests_per_second: float
    points_per_second: float
    latency_mean_ms: float
    latency_p50_ms: float
    latency_p99_ms: float
    non_2xx: int
    socket_errors: int


def measure(
    server: Server,
    workload: Workload,
    body: Path | None,
    cpu: int,
    args: argparse.Namespace,
    path: str | None = None,
) -> Measurement:
    """Load ``server`` with one workload under wrk pinned to ``cpu``; ``path`` overrides the URL."""
    if workload.points:
        url = f"{server.url}{path or '/predict'}"
        request = {
            "method": "POST",
            "body": body,
            "content_type": OCTET if workload.binary else JSON,
        }
    else:
        steps = workload.grid_steps
        url = f"{server.url}/grid?nx={steps}&ny={steps}"
        if workload.grid_format != "json":
            url += f"&format={workload.grid_format}"
        request = {}

    connections = workload.connections
    if args.warmup > 0:
        run_wrk(url, connections=connections, seconds=args.warmup, cpu=cpu, **request)
    seconds = args.seconds
    result = run_wrk(url, connections=connections, seconds=seconds, cpu=cpu, **request)
    # A request slower than the run (the baseline's 1000x1000 grid) completes
    # too few times to count: run longer.
    while result.requests < MIN_REQUESTS and seconds < MAX_SECONDS:
        seconds = min(seconds * 4, MAX_SECONDS)
        result = run_wrk(url, connections=connections, seconds=seconds, cpu=cpu, **request)
    # Requests that wrk abandoned at the end may still run on the server's CPU.
    time.sleep(SETTLE_SECONDS)
    print(
        f"  {server.name}: {result.requests_per_second:,.1f} req/s, "
        f"p50 {result.latency_p50_ms:.2f} ms, p99 {result.latency_p99_ms:.2f} ms",
        flush=True,
    )
    return Measurement(
        requests_per_second=result.requests_per_second,
        points_per_second=result.requests_per_second * workload.points_per_request,
        latency_mean_ms=result.latency_mean_ms,
        latency_p50_ms=result.latency_p50_ms,
        latency_p99_ms=result.latency_p99_ms,
        non_2xx=result.non_2xx,
        socket_errors=result.socket_errors,
    )
