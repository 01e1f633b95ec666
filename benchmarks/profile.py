"""The profile of the 1-point /predict path: py-spy samples surfserve under wrk.

Run from the repository root (py-spy comes with ``pip install -e '.[bench]'``)::

    .venv/bin/python -m benchmarks.profile --seconds 10

surfserve runs pinned to the first CPU with torch on one thread. wrk sends
1-point JSON requests on 32 connections from the second CPU, where py-spy runs
too. Each sample is put in the category of its innermost frame that matches
one (so a forward pass called from the predictor counts as the forward pass),
and the table gives each category's share of the samples.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

from benchmarks.load import DEFAULT_MODEL
from benchmarks.servers import start_surfserve
from benchmarks.workloads import JSON
from benchmarks.wrk import ensure_wrk, run_wrk

# (category, substrings of a py-spy frame), tried from the innermost frame out.
CATEGORIES = (
    ("forward pass (TorchScript module call)", ("torch/",)),
    ("request decoding and negotiation", ("service/decoding.py", "service/negotiation.py")),
    ("response encoding", ("_json (service/routers/inference.py", "responses.py")),
    ("predictor and batcher", ("service/predictor.py", "service/batching.py")),
    ("endpoint function", ("service/routers/inference.py", "service/state.py")),
    (
        "surfserve middleware, logs and metrics",
        ("service/limits.py", "service/observability.py", "service/metrics.py",
         "service/context.py", "service/auth.py", "service/logs.py", "service/middleware.py",
         "service/asgi.py", "prometheus_client/", "uuid.py", "logging/"),
    ),
    ("FastAPI and Starlette routing", ("fastapi/", "starlette/", "anyio/", "contextlib.py")),
    ("uvicorn HTTP protocol", ("uvicorn/protocols/",)),
)  # fmt: skip
# Samples whose innermost frame is the event loop itself (uvloop runs in C
# under asyncio's Runner.run) go here, as do those no category matches.
OTHER = "event loop, sockets and the rest"
_EVENT_LOOP_FRAMES = ("asyncio/runners.py", "asyncio/base_events.py", "uvloop/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="artifact to serve")
    parser.add_argument("--seconds", type=float, default=10, help="sampling time")
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--raw", type=Path, help="also keep py-spy's collapsed stacks here")
    args = parser.parse_args(argv)

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("py-spy is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    ensure_wrk()
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, load_cpu = cpus[0], cpus[1 % len(cpus)]

    with tempfile.TemporaryDirectory(prefix="surfserve-profile-") as scratch:
        scratch_dir = Path(scratch)
        body = scratch_dir / "one-point.json"
        body.write_bytes(orjson.dumps({"points": [[0.5, -1.25]]}))
        raw = args.raw or scratch_dir / "stacks.txt"

        server = start_surfserve(args.model, server_cpu, scratch_dir)
        try:
            server.wait_ready("/health/ready")
            load = threading.Thread(
                target=run_wrk,
                args=(f"{server.url}/predict",),
                kwargs={
                    "connections": 32,
                    "seconds": args.seconds + 4,
                    "cpu": load_cpu,
                    "method": "POST",
                    "body": body,
                    "content_type": JSON,
                },
            )
            load.start()
            time.sleep(2)
            command = [
                "taskset", "-c", str(load_cpu), py_spy, "record", "--pid",
                str(server.process.pid), "--duration", str(round(args.seconds)),
                "--rate", str(args.rate), "--format", "raw", "--nonblocking",
                "--output", str(raw),
            ]  # fmt: skip
            subprocess.run(command, check=True, capture_output=True)
            load.join()
        finally:
            server.stop()
        print(summarise(raw.read_text()))
    return 0


def summarise(collapsed: str) -> str:
    """Return a markdown table of sample shares by category, and the top innermost frames."""
    by_category: collections.Counter[str] = collections.Counter()
    innermost: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        # py-spy 0.4 sometimes reads a frame name with a line break in it. The
        # pieces of such a record before its last line have no count and are skipped.
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        by_category[_category(frames)] += count
        innermost[frames[-1]] += count

    lines = ["| where | share of samples |", "|---|---|"]
    for name, _ in (*CATEGORIES, (OTHER, ())):
        lines.append(f"| {name} | {100 * by_category[name] / total:.1f}% |")
    lines += ["", f"{total} samples. Innermost frames with the most samples:"]
    for frame, count in innermost.most_common(12):
        lines.append(f"- {100 * count / total:.1f}% {frame}")
    return "\n".join(lines)


def _category(frames: list[str]) -> str:
    if any(marker in frames[-1] for marker in _EVENT_LOOP_FRAMES):
        return OTHER
    for frame in reversed(frames):
        for name, markers in CATEGORIES:
            if any(marker in frame for marker in markers):
                return name
    return OTHER


if __name__ == "__main__":
    sys.exit(main())
