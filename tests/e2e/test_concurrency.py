"""Concurrent requests of different sizes get exactly the responses sequential ones get."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from tests.conftest import start_service, wait_ready

pytestmark = pytest.mark.e2e

# Sizes on both sides of the inline limit (2,048 points) and of a CPU chunk (8,192).
SIZES = [1, 3, 31, 32, 33, 100, 2_047, 2_048, 2_049, 5_000, 8_193, 20_000]
GRIDS = [{"nx": 7, "ny": 5}, {"nx": 120, "ny": 90}, {"nx": 300, "ny": 200}]


def _requests() -> list[tuple[str, dict]]:
    rng = np.random.default_rng(11)
    requests = []
    for size in SIZES:
        points = (rng.standard_normal((size, 2)) * 5).tolist()
        requests.append(("/predict", {"json": {"points": points}}))
    for params in GRIDS:
        requests.append(("/grid", {"params": params}))
    return requests


def _send(client: httpx.Client, request: tuple[str, dict]) -> bytes:
    path, kwargs = request
    method = "POST" if path == "/predict" else "GET"
    response = client.request(method, path, **kwargs)
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize("batching", ["false", "true"])
def test_concurrent_equals_sequential(artifact_path, tmp_path, batching):
    env = {"SURFSERVE_MODEL_PATH": str(artifact_path), "SURFSERVE_BATCHING": batching}
    service = start_service(env, tmp_path / "service.log")
    requests = _requests()
    try:
        wait_ready(service)
        with httpx.Client(base_url=service.url, timeout=60) as client:
            sequential = [_send(client, request) for request in requests]

        # Every request three times, all at once, in shuffled order over 16 connections.
        order = np.random.default_rng(5).permutation(len(requests) * 3) % len(requests)
        limits = httpx.Limits(max_connections=16)
        with (
            httpx.Client(base_url=service.url, timeout=60, limits=limits) as client,
            ThreadPoolExecutor(16) as pool,
        ):
            concurrent = list(pool.map(lambda index: _send(client, requests[index]), order))
    finally:
        service.stop()

    for index, body in zip(order, concurrent, strict=True):
        assert body == sequential[index], f"request {index} ({requests[index][0]}) differs"
