"""In-process cost of a 1-point POST /predict through the fast path and through FastAPI's route.

Builds the service's ASGI app twice, with and without ``service.fastpath``, and
sends each the same 1-point JSON request straight through ASGI (no sockets, no
HTTP parser), batching off and torch on one thread. Prints the best of several
rounds of each, in microseconds per request.

    python -m benchmarks.fastpath --artifact models/surface.pt
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import torch

from service.app import create_app
from service.settings import Settings

BODY = b'{"points": [[0.5, -1.0]]}'
SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/predict",
    "raw_path": b"/predict",
    "query_string": b"",
    "root_path": "",
    "headers": [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}


async def _started_app(artifact: Path, fast_predict: bool) -> Any:
    settings = Settings(model_path=artifact, batching=False)
    app = create_app(
        settings, torch.device("cpu"), load_before_serving=True, fast_predict=fast_predict
    )
    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    lifespan = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    # The task runs until the process ends; a reference keeps it from being collected.
    app.state.lifespan_task = asyncio.create_task(app(lifespan, inbox.get, outbox.put))
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {started}")
    return app


async def _microseconds_per_request(app: Any, requests: int) -> float:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    started = time.perf_counter()
    for _ in range(requests):
        sent.clear()
        await app(dict(SCOPE), receive, send)
    seconds = time.perf_counter() - started

    if sent[0]["status"] != 200:
        raise RuntimeError(f"/predict returned {sent[0]['status']}: {sent[1]['body']!r}")
    return seconds / requests * 1e6


async def _measure(artifact: Path, rounds: int, requests: int) -> dict[str, float]:
    apps = {
        "fast path": await _started_app(artifact, True),
        "FastAPI route": await _started_app(artifact, False),
    }
    best = dict.fromkeys(apps, float("inf"))
    for _ in range(rounds):
        for name, app in apps.items():
            best[name] = min(best[name], await _microseconds_per_request(app, requests))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fastpath", description=__doc__)
    parser.add_argument("--artifact", type=Path, default=Path("models/surface.pt"))
    parser.add_argument("--rounds", type=int, default=6, help="rounds of requests per app")
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    args = parser.parse_args(argv)

    if not args.artifact.is_file():
        parser.error(f"{args.artifact} does not exist; train it with python -m training")
    torch.set_num_threads(1)

    best = asyncio.run(_measure(args.artifact, args.rounds, args.requests))
    for name, microseconds in best.items():
        print(f"{name}: {microseconds:.1f} us per request")
    print(f"fast path / FastAPI route: {best['fast path'] / best['FastAPI route']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
