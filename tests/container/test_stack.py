"""The Compose stack for real: build the image, bring it up, talk to it over HTTP, stop it.

Runs when a Docker engine is reachable or a private one can be started (``.ci/run``
starts one); skipped with the reason otherwise. Takes a few minutes on a cold build cache.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch

from service.artifact import LoadedArtifact, load_artifact
from tests.conftest import free_port, reference_forward
from tests.container.docker_engine import (
    Compose,
    EngineUnavailable,
    docker,
    docker_engine,
    exclusive_lock,
    local_torch_wheel,
    staged_wheel,
)

pytestmark = pytest.mark.container

# Loose bound that still catches a CUDA torch build (several GB) or a pip cache in the image.
MAX_IMAGE_BYTES = 1_500_000_000

# Only one test run at a time may build on and tear down a shared engine.
LOCK_PATH = Path(tempfile.gettempdir()) / "surfserve-container-test.lock"


@dataclass
class Stack:
    """The running Compose project and what the test needs to reach it."""

    compose: Compose
    url: str
    artifact_dir: Path

    def copy_artifact(self, name: str) -> LoadedArtifact:
        """Copy the artifact out of the api container's volume and load it on the host CPU."""
        target = self.artifact_dir / name
        self.compose.run("cp", "api:/models/surface.pt", str(target))
        return load_artifact(target, torch.device("cpu"))

    def wait_ready(self, timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"{self.url}/health/ready", timeout=2)
                if response.status_code == 200:
                    return response.json()
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        logs = self.compose.run("logs", "api", check=False).stdout
        raise AssertionError(f"api not ready after {timeout} s:\n{logs[-4000:]}")


def _bring_up(resources: ExitStack, tmp_path: Path) -> Stack:
    resources.enter_context(exclusive_lock(LOCK_PATH, timeout=900))
    try:
        env = resources.enter_context(docker_engine())
    except EngineUnavailable as reason:
        pytest.skip(f"no Docker engine: {reason}")

    wheel = local_torch_wheel()
    if wheel is not None:
        resources.enter_context(staged_wheel(wheel))
        env["SURFSERVE_TEST_TORCH_FIND_LINKS"] = "/wheels"
    port = free_port()
    env["SURFSERVE_PUBLISH_PORT"] = str(port)

    compose = Compose(project=f"surfserve-test-{uuid.uuid4().hex[:8]}", env=env)
    # Registered before "up", so a half-started stack is removed too.
    resources.callback(compose.run, "down", "--volumes", "--remove-orphans", timeout=180)

    compose.run("build", timeout=600)
    up = compose.run(
        *("up", "--detach", "--wait", "--wait-timeout", "240", "--pull", "never", "--no-build"),
        timeout=300,
        check=False,
    )
    if up.returncode != 0:
        logs = compose.run("logs", check=False).stdout
        raise AssertionError(f"docker compose up failed:\n{up.stderr[-3000:]}\n{logs[-4000:]}")
    return Stack(compose=compose, url=f"http://127.0.0.1:{port}", artifact_dir=tmp_path)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with ExitStack() as resources:
        yield _bring_up(resources, tmp_path_factory.mktemp("container"))


@pytest.fixture(scope="module")
def served_artifact(stack: Stack) -> LoadedArtifact:
    return stack.copy_artifact("trained-by-compose.pt")


def test_ready_names_trained_model(stack, served_artifact):
    response = httpx.get(f"{stack.url}/health/ready", timeout=10)

    assert response.status_code == 200
    assert response.json()["model"] == {
        "name": served_artifact.name,
        "version": served_artifact.version,
    }


def test_model_reports_cpu_device(stack, served_artifact):
    body = httpx.get(f"{stack.url}/model", timeout=10).json()

    assert body["device"] == "cpu"
    assert body["version"] == served_artifact.version
    assert body["training"]["samples"] == 1000


def test_predict_equals_host_forward(stack, served_artifact):
    rng = np.random.default_rng(3)
    points = (rng.standard_normal((2000, 2)) * np.pi).astype(np.float32)
    points = np.vstack([points, [[0, 0], [12, -30], [1e6, -1e6]]]).astype(np.float32)

    response = httpx.post(f"{stack.url}/predict", json={"points": points.tolist()}, timeout=30)

    assert response.status_code == 200
    predictions = np.array(response.json()["predictions"], dtype=np.float32)
    assert np.array_equal(predictions, reference_forward(served_artifact, points))


def test_grid_equals_host_forward(stack, served_artifact):
    # An asymmetric rectangle, so a transposed grid cannot match by accident.
    params = {"x0_min": -3, "x0_max": 5, "x1_min": 0, "x1_max": 2, "nx": 9, "ny": 3}

    response = httpx.get(f"{stack.url}/grid", params=params, timeout=30)

    assert response.status_code == 200
    body = response.json()
    values = np.array(body["values"], dtype=np.float32)
    assert values.shape == (3, 9)
    points = np.array([[x0, x1] for x1 in body["x1"] for x0 in body["x0"]], dtype=np.float32)
    assert np.array_equal(values, reference_forward(served_artifact, points).reshape(3, 9))


def test_bad_input_is_422(stack):
    response = httpx.post(f"{stack.url}/predict", json={"points": [[0, 0], [1]]}, timeout=10)

    assert response.status_code == 422
    assert response.json()["error"]["index"] == 1


def test_port_published_on_loopback_only(stack):
    published = stack.compose.run("port", "api", "8000").stdout.strip()

    assert published == stack.url.removeprefix("http://")


def test_api_healthy_as_non_root(stack):
    container = stack.compose.container_id("api")
    state = json.loads(docker(stack.compose.env, "inspect", container).stdout)[0]["State"]

    assert state["Health"]["Status"] == "healthy"
    assert state["Health"]["Log"][-1]["ExitCode"] == 0
    assert state["Health"]["Log"][-1]["Output"].startswith("ready:")
    assert stack.compose.run("exec", "-T", "api", "id", "-u").stdout.strip() == "10001"


def test_image_size_and_config(stack):
    inspect = docker(stack.compose.env, "image", "inspect", "surfserve:container-test")
    image = json.loads(inspect.stdout)[0]

    assert image["Size"] < MAX_IMAGE_BYTES, f"image is {image['Size'] / 1e6:.0f} MB"
    assert image["Config"]["User"] == "10001:10001"
    assert image["Config"]["Entrypoint"] == ["python", "-m", "service"]
    assert image["Config"]["Healthcheck"]["Test"] == [
        "CMD",
        "python",
        "-m",
        "service.healthcheck",
    ]


def test_train_skips_existing_artifact(stack, served_artifact):
    result = stack.compose.run("run", "--rm", "train", timeout=120)

    assert "skipping training" in result.stdout
    assert f"version {served_artifact.version}" in result.stdout


def test_retrain_then_restart_serves_new_model(stack, served_artifact):
    # Options after the service name replace --skip-existing, so training always runs.
    result = stack.compose.run("run", "--rm", "train", "--steps", "300", "--seed", "5", timeout=300)
    match = re.search(r"wrote /models/surface\.pt \(model surface version (\w+)\)", result.stdout)
    assert match, result.stdout
    assert match.group(1) != served_artifact.version

    stack.compose.run("restart", "api", timeout=120)
    ready = stack.wait_ready()

    retrained = stack.copy_artifact("retrained.pt")
    assert ready["model"]["version"] == match.group(1) == retrained.version
    assert retrained.metadata["training"]["steps"] == 300
    points = np.array([[0.5, -1.5], [2.0, 3.0], [-4.0, 0.25]], dtype=np.float32)
    response = httpx.post(f"{stack.url}/predict", json={"points": points.tolist()}, timeout=30)
    assert np.array_equal(
        np.array(response.json()["predictions"], dtype=np.float32),
        reference_forward(retrained, points),
    )


def test_stop_drains_in_flight_request(stack):
    # Runs last: it stops the api. A million-point grid takes a second or more on a
    # CPU, so it is still in flight when SIGTERM arrives.
    params = {"nx": 1000, "ny": 1000}
    outcome: dict[str, object] = {}

    def request_grid() -> None:
        try:
            response = httpx.get(f"{stack.url}/grid", params=params, timeout=120)
            outcome["status"] = response.status_code
            outcome["rows"] = len(response.json()["values"])
        except Exception as error:  # reported by the asserts below
            outcome["error"] = repr(error)
        outcome["finished"] = time.monotonic()

    container = stack.compose.container_id("api")
    client = threading.Thread(target=request_grid)
    client.start()
    time.sleep(0.3)

    stop_started = time.monotonic()
    stack.compose.run("stop", "api", timeout=120)
    stop_finished = time.monotonic()
    client.join(timeout=120)

    assert "error" not in outcome, outcome
    assert outcome["status"] == 200
    assert outcome["rows"] == 1000
    assert outcome["finished"] > stop_started, "the request ended before the stop began"
    state = json.loads(docker(stack.compose.env, "inspect", container).stdout)[0]["State"]
    # 137 would mean SIGKILL after the grace period instead of a clean drain.
    assert state["ExitCode"] == 0
    assert state["OOMKilled"] is False
    # Once the last response is sent, the process exits at once.
    after_request = stop_finished - outcome["finished"]
    assert after_request < 5, f"the container stopped {after_request:.1f} s after the request"
