"""Shared fixtures: one small artifact trained per session, and the real service."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch

from service.artifact import LoadedArtifact, load_artifact
from service.predictor import ROW_ALIGNMENT
from training.config import TrainConfig
from training.pipeline import train_artifact

REPO_ROOT = Path(__file__).resolve().parent.parent

# Small enough to train in about a second, large enough to give a non-trivial surface.
SMALL_CONFIG = TrainConfig(samples=300, steps=150, hidden=16, seed=7)


def train_small_artifact(path: Path, config: TrainConfig = SMALL_CONFIG) -> Path:
    """Train a small model with the real trainer and write a real artifact."""
    train_artifact(replace(config, out=path), torch.device("cpu"), log=lambda line: None)
    return path


@pytest.fixture(scope="session")
def artifact_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_small_artifact(tmp_path_factory.mktemp("artifact") / "surface.pt")


def reference_forward(artifact: LoadedArtifact, points: object) -> np.ndarray:
    """The artifact's forward pass over all points in one call: the reference predictions.

    The rows are padded to a multiple of ROW_ALIGNMENT as the service pads them:
    on the CPU an unpadded forward computes its last rows with other instructions,
    which changes their float32 result in the last bits.
    """
    # float32 turns 1e300 into inf, as the service does; the model clamps it.
    with np.errstate(over="ignore"):
        inputs = torch.from_numpy(np.asarray(points, dtype=np.float32).reshape(-1, 2))
    missing = -len(inputs) % ROW_ALIGNMENT
    padded = torch.cat([inputs, inputs.new_zeros((missing, 2))])
    with torch.inference_mode():
        return artifact.module(padded).reshape(-1)[: len(inputs)].numpy()


@pytest.fixture(scope="session")
def artifact(artifact_path: Path) -> LoadedArtifact:
    """The session artifact loaded on the CPU: the reference forward pass for tests."""
    return load_artifact(artifact_path, torch.device("cpu"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServiceProcess:
    """A `python -m service` subprocess on a loopback port."""

    process: subprocess.Popen[str]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_service(
    env_overrides: dict[str, str], log_path: Path, port: int | None = None
) -> ServiceProcess:
    """Start the real service with SURFSERVE_* overrides; do not wait for readiness."""
    port = port or free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("SURFSERVE_")}
    env.update(
        {
            "SURFSERVE_HOST": "127.0.0.1",
            "SURFSERVE_PORT": str(port),
            "SURFSERVE_DEVICE": "cpu",
            "SURFSERVE_TORCH_THREADS": "1",
        }
    )
    env.update(env_overrides)
    # The child keeps its own copy of the descriptor; ours closes at once.
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    return ServiceProcess(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path)


def wait_ready(service: ServiceProcess, timeout: float = 30) -> None:
    """Poll /health/ready until 200; fail with the service's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            pytest.fail(f"service exited with {service.process.returncode}:\n{service.log()}")
        try:
            if httpx.get(f"{service.url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    service.stop()
    pytest.fail(f"service not ready after {timeout} s:\n{service.log()}")


@pytest.fixture(scope="session")
def live_service(
    artifact_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """The real service serving the session artifact, shared by the end-to-end tests."""
    log_path = tmp_path_factory.mktemp("service") / "service.log"
    service = start_service({"SURFSERVE_MODEL_PATH": str(artifact_path)}, log_path)
    wait_ready(service)
    yield service
    service.stop()


@pytest.fixture
def client(live_service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_service.url, timeout=30) as http:
        yield http
