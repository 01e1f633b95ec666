"""Bounded mixed load on the real service: no errors, and no memory growth after warm-up."""

import random
import time
from collections import Counter
from pathlib import Path

import anyio
import httpx
import numpy as np
import orjson
import pytest

from tests.conftest import start_service, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.load]

CONNECTIONS = 64
WARM_UP_S = 10.0
LOAD_S = 40.0
MAX_RSS_GROWTH = 0.05


def _predict_body(points: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return orjson.dumps({"points": (rng.standard_normal((points, 2)) * 4).tolist()})


# (weight, method, path, query, body, points expected back)
MIX = [
    (40, "POST", "/predict", None, _predict_body(1, 0), 1),
    (20, "POST", "/predict", None, _predict_body(100, 1), 100),
    (10, "POST", "/predict", None, _predict_body(1_000, 2), 1_000),
    (3, "POST", "/predict", None, _predict_body(10_000, 3), 10_000),
    (10, "GET", "/grid", {"nx": 50, "ny": 50}, None, 2_500),
    (2, "GET", "/grid", {"nx": 200, "ny": 200}, None, 40_000),
    (10, "GET", "/health/ready", None, None, 0),
    (5, "GET", "/health/live", None, None, 0),
]


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


async def _drive(url: str, seconds: float, outcomes: Counter, seed: int) -> None:
    """Send the mix over CONNECTIONS connections for ``seconds``; count outcomes by kind."""
    choices = random.Random(seed)
    weights = [entry[0] for entry in MIX]
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    headers = {"content-type": "application/json"}

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            while time.monotonic() < deadline:
                _, method, path, query, body, points = choices.choices(MIX, weights)[0]
                try:
                    response = await client.request(
                        method, path, params=query, content=body, headers=headers
                    )
                except httpx.TransportError as error:
                    outcomes[f"{path}: {type(error).__name__}"] += 1
                    continue
                if response.status_code != 200:
                    outcomes[f"{path}: {response.status_code} {response.text[:200]}"] += 1
                elif points and _returned_points(path, response) != points:
                    outcomes[f"{path}: wrong number of predictions"] += 1
                else:
                    outcomes["ok"] += 1

        async with anyio.create_task_group() as tasks:
            for _ in range(CONNECTIONS):
                tasks.start_soon(worker)


def _returned_points(path: str, response: httpx.Response) -> int:
    body = orjson.loads(response.content)
    if path == "/grid":
        return sum(len(row) for row in body["values"])
    return len(body["predictions"])


def test_mixed_load_no_errors_no_growth(artifact_path, tmp_path):
    service = start_service({"SURFSERVE_MODEL_PATH": str(artifact_path)}, tmp_path / "s.log")
    try:
        wait_ready(service)
        warm_up, load = Counter(), Counter()

        anyio.run(_drive, service.url, WARM_UP_S, warm_up, 1)
        rss_after_warm_up = _rss_bytes(service.process.pid)
        anyio.run(_drive, service.url, LOAD_S, load, 2)
        rss_after_load = _rss_bytes(service.process.pid)

        metrics = httpx.get(f"{service.url}/metrics").text
        alive = service.process.poll() is None
    finally:
        code = service.stop()

    print(
        f"load: {load['ok']} requests in {LOAD_S:g} s at {CONNECTIONS} connections; RSS "
        f"{rss_after_warm_up / 2**20:.1f} MiB after warm-up, {rss_after_load / 2**20:.1f} MiB after"
    )
    errors = {kind: count for kind, count in (warm_up + load).items() if kind != "ok"}
    assert alive
    assert errors == {}
    # Enough traffic to make the memory check mean something, on any machine.
    assert load["ok"] >= 1_000
    assert "surfserve_rejected_requests_total{" not in metrics
    growth = (rss_after_load - rss_after_warm_up) / rss_after_warm_up
    assert growth < MAX_RSS_GROWTH, (
        f"RSS grew {growth:.1%}: {rss_after_warm_up / 2**20:.1f} MiB after warm-up, "
        f"{rss_after_load / 2**20:.1f} MiB after {LOAD_S:g} s of load "
        f"({load['ok']} requests)"
    )
    assert code == 0
