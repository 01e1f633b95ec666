"""Cost of surfserve's middlewares on the 1-point /predict path, measured in process.

Two apps serve the same artifact: the real one (request ids, metrics, access log
check, limits, and the bearer check when a key is given) and the same app
without them. Both are called directly over ASGI, with no sockets, so the
difference is the middleware alone. Rounds alternate between the apps and the
median round is reported.

    python -m benchmarks.middleware_overhead [--requests 20000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import torch
from fastapi import FastAPI

from service.app import create_app
from service.settings import Settings
from training.cli import main as train_main

BODY = b'{"points": [[0.5, -1.0]]}'
KEY = "benchmark-key"


def _bare(app: FastAPI) -> FastAPI:
    """Strip the surfserve middlewares, keeping Starlette's own error middlewares."""
    app.user_middleware.clear()
    app.build_middleware_stack = lambda: FastAPI.build_middleware_stack(app)  # type: ignore[method-assign]
    app.middleware_stack = None
    return app


async def _call(app: FastAPI, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/predict",
        "raw_path": b"/predict",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _round(app: FastAPI, headers: list[tuple[bytes, bytes]], requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        status = await _call(app, headers)
        if status != 200:
            raise RuntimeError(f"/predict returned {status}")
    return (time.perf_counter() - started) / requests


async def _measure(artifact: Path, requests: int, rounds: int) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ]
    apps = {
        "without middleware": (_bare(_app(artifact)), headers),
        "surfserve": (_app(artifact), headers),
        "surfserve + bearer key": (
            _app(artifact, api_key=KEY),
            [*headers, (b"authorization", f"Bearer {KEY}".encode())],
        ),
    }
    seconds: dict[str, list[float]] = {name: [] for name in apps}
    async with AsyncExitStack() as lifespans:
        for app, _ in apps.values():
            await lifespans.enter_async_context(app.router.lifespan_context(app))
            while not app.state.model_state.ready:
                await asyncio.sleep(0.01)

        for _ in range(rounds):
            for name, (app, app_headers) in apps.items():
                seconds[name].append(await _round(app, app_headers, requests))

    base = statistics.median(seconds["without middleware"])
    print(f"{'app':<24} {'us/request':>11} {'overhead us':>12} {'ratio':>6}")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"{name:<24} {median * 1e6:11.1f} {(median - base) * 1e6:12.1f} {median / base:6.2f}")


def _app(artifact: Path, **settings: object) -> FastAPI:
    return create_app(Settings(model_path=artifact, **settings), torch.device("cpu"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per app")
    args = parser.parse_args()

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        artifact = Path(folder) / "surface.pt"
        train_main(["--steps", "50", "--samples", "200", "--device", "cpu", "--out", str(artifact)])
        asyncio.run(_measure(artifact, args.requests, args.rounds))


if __name__ == "__main__":
    main()
