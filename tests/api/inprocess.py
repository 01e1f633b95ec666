"""Start the app in process under Starlette's TestClient for the API tests."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from fastapi.testclient import TestClient

from service import app as app_module
from service.app import create_app
from service.settings import Settings

CPU = torch.device("cpu")


def wait_ready(client: TestClient, path: str = "/health/ready", timeout: float = 10) -> None:
    """Poll the readiness route until the background load has finished."""
    deadline = time.monotonic() + timeout
    while (response := client.get(path)).status_code != 200:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.01)


@contextmanager
def serving(artifact_path: Path, **settings) -> Iterator[TestClient]:
    """Run the app (lifespan included) with these settings and yield a client once it is ready."""
    app = create_app(Settings(model_path=artifact_path, **settings), CPU)
    with TestClient(app) as client:
        wait_ready(client)
        yield client


def hold_model_loading(monkeypatch) -> threading.Event:
    """Make the app's background load wait until the returned event is set."""
    release = threading.Event()
    real_loader = app_module.load_predictor

    def slow_loader(path, device):
        release.wait(10)
        return real_loader(path, device)

    monkeypatch.setattr(app_module, "load_predictor", slow_loader)
    return release
