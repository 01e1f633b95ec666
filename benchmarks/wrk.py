"""wrk, the HTTP load generator from Debian's packages: installing it and running one workload."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).with_name("request.lua")
_RESULT_PREFIX = "WRK_JSON "


class WrkUnavailable(Exception):
    """Raised when wrk is missing and cannot be installed."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    latency_mean_ms: float
    latency_p50_ms: float
    latency_p99_ms: float

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds


def ensure_wrk() -> str:
    """Return the path of wrk, installing Debian's package with apt-get when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise WrkUnavailable("wrk is not installed; install it with `apt-get install wrk`")

    print("installing wrk with apt-get ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    found = shutil.which("wrk")
    if not found:
        raise WrkUnavailable("apt-get installed wrk, but it is not on PATH")
    return found


def run_wrk(
    url: str,
    *,
    connections: int,
    seconds: float,
    cpu: int,
    method: str = "GET",
    body: Path | None = None,
    content_type: str = "",
    accept: str = "",
) -> WrkResult:
    """Run wrk with one thread pinned to ``cpu`` and return its summary."""
    env = {
        **os.environ,
        "WRK_METHOD": method,
        "WRK_BODY": str(body) if body else "",
        "WRK_CONTENT_TYPE": content_type,
        "WRK_ACCEPT": accept,
    }
    command = [
        "taskset", "-c", str(cpu),
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "30s", "-s", str(LUA_SCRIPT), url,
    ]  # fmt: skip
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return _parse(completed.stdout)


def _parse(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith(_RESULT_PREFIX):
            raw = json.loads(line.removeprefix(_RESULT_PREFIX))
            break
    else:
        raise RuntimeError(f"wrk printed no summary:\n{output}")

    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        non_2xx=raw["errors_status"],
        socket_errors=raw["errors_connect"]
        + raw["errors_read"]
        + raw["errors_write"]
        + raw["errors_timeout"],
        latency_mean_ms=raw["latency_mean_us"] / 1000,
        latency_p50_ms=raw["latency_p50_us"] / 1000,
        latency_p99_ms=raw["latency_p99_us"] / 1000,
    )
