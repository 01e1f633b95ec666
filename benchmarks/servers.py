"""The servers under test: surfserve and the FastAPI baseline, each pinned to one CPU."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A server subprocess on a loopback port."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    started: float

    def wait_ready(self, path: str, timeout: float = 60) -> float:
        """Poll ``path`` until it returns 200; return the seconds since the process started."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()}")
                try:
                    if client.get(self.url + path).status_code == 200:
                        return time.monotonic() - self.started
                except httpx.TransportError:
                    pass
                time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout} s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        """Stop the server and every process it started (LitServe runs several)."""
        # The server leads its own process group, so its workers go with it.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(15)
                break
            except subprocess.TimeoutExpired:
                continue


def start_surfserve(
    model: Path, cpu: int, log_dir: Path, extra_env: dict[str, str] | None = None
) -> Server:
    """Start ``python -m service`` pinned to ``cpu`` with torch on one thread."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SURFSERVE_")}
    env.update(
        {
            "SURFSERVE_MODEL_PATH": str(model),
            "SURFSERVE_DEVICE": "cpu",
            "SURFSERVE_TORCH_THREADS": "1",
            "SURFSERVE_WORKERS": "1",
            "SURFSERVE_LOG_LEVEL": "warning",
        }
    )
    env.update(extra_env or {})
    command = [sys.executable, "-m", "service"]
    return start_server("surfserve", command, env, cpu, log_dir, "SURFSERVE_PORT")


def start_baseline(model: Path, cpu: int, log_dir: Path) -> Server:
    """Start the FastAPI baseline under uvicorn pinned to ``cpu``, without an access log."""
    env = {**os.environ, "BASELINE_MODEL_PATH": str(model), "BASELINE_TORCH_THREADS": "1"}
    command = [
        sys.executable, "-m", "uvicorn", "benchmarks.baseline_app:app",
        "--host", "127.0.0.1", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return start_server("baseline", command, env, cpu, log_dir, None)


def start_server(
    name: str,
    command: list[str],
    env: dict[str, str],
    cpu: int,
    log_dir: Path,
    port_variable: str | None,
) -> Server:
    """Start ``command`` pinned to ``cpu`` on a free port, passed in ``port_variable``.

    Without ``port_variable`` the port is passed as ``--port``.
    """
    port = free_port()
    if port_variable:
        env[port_variable] = str(port)
    else:
        command = [*command, "--port", str(port)]
    env["OMP_NUM_THREADS"] = "1"

    log_path = log_dir / f"{name}-{port}.log"
    with log_path.open("wb") as log:
        started = time.monotonic()
        process = subprocess.Popen(
            ["taskset", "-c", str(cpu), *command],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    return Server(name=name, process=process, url=url, log_path=log_path, started=started)
