"""Cost of surfserve's middlewares and of FastAPI's routing on the 1-point /predict path.

Apps that serve the same artifact are called directly over ASGI, with no sockets,
so the differences are the code in the app alone:

- the app without surfserve's middlewares (request ids, metrics, access log check,
  limits), with /predict routed through FastAPI;
- the service's app, with /predict routed through FastAPI (``fast_predict=False``);
- the service's app as it runs, with /predict handled ahead of FastAPI's router
  (``service.fastpath``), also with a bearer key.

Rounds alternate between the apps and the median round is reported.

    python -m benchmarks.middleware_overhead [--requests 20000] [--rounds 7] [--artifact FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
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
        "without middleware": (_bare(_app(artifact, fast_predict=False)), headers),
        "surfserve, FastAPI route": (_app(artifact, fast_predict=False), headers),
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
    print(f"{'app':<26} {'us/request':>11} {'overhead us':>12} {'ratio':>6}")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"{name:<26} {median * 1e6:11.1f} {(median - base) * 1e6:12.1f} {median / base:6.2f}")


def _app(artifact: Path, *, fast_predict: bool = True, **settings: object) -> FastAPI:
    configured = Settings(model_path=artifact, **settings)
    return create_app(configured, torch.device("cpu"), fast_predict=fast_predict)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per app")
    parser.add_argument(
        "--artifact", type=Path, help="artifact to serve (default: train a small one)"
    )
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    if args.artifact is not None:
        asyncio.run(_measure(args.artifact, args.requests, args.rounds))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        artifact = Path(folder) / "surface.pt"
        train_main(["--steps", "50", "--samples", "200", "--device", "cpu", "--out", str(artifact)])
        asyncio.run(_measure(artifact, args.requests, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
