"""Finding (or preparing) a Docker engine and running Compose v2 against the project's files."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
TEST_OVERRIDE_FILE = Path(__file__).with_name("compose.override.yml")
WHEELS_DIR = REPO_ROOT / "docker" / "wheels"

# Starts a private engine, with a stand-in python:3.11-slim base image, on machines that
# reach no container registry. CI has the shared folder beside its clone.
DOCKER_LOCAL_TOOL = REPO_ROOT.parent / "shared" / "tools" / "docker-local"

# Variables that would point Compose at other files or projects than the test's own.
_FOREIGN_COMPOSE_VARIABLES = ("COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES")


class EngineUnavailable(Exception):
    """Raised when no Docker engine is reachable and none can be prepared, with the reason."""


def clean_environment() -> dict[str, str]:
    """Return this process's environment without SURFSERVE_* settings or Compose file choices."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SURFSERVE_") and key not in _FOREIGN_COMPOSE_VARIABLES
    }


def engine_dir() -> Path:
    """Return the private engine's folder: DOCKER_LOCAL_DIR, else prepare.sh's default."""
    return Path(os.environ.get("DOCKER_LOCAL_DIR", "/tmp/docker-local"))


def _succeeds(command: list[str], env: dict[str, str], timeout: float = 30) -> bool:
    try:
        result = subprocess.run(command, env=env, capture_output=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _local_engine_environment(base: dict[str, str]) -> dict[str, str]:
    directory = engine_dir()
    return {
        **base,
        "DOCKER_HOST": f"unix://{directory}/docker.sock",
        "DOCKER_CONFIG": str(directory / "dockercfg"),
    }


def compose_v2_environment() -> dict[str, str] | None:
    """Return an environment in which ``docker compose`` is Compose v2, or None.

    Without a Compose plugin of its own, the docker CLI may still find the one that
    prepare.sh installed in the engine folder.
    """
    if shutil.which("docker") is None:
        return None
    base = clean_environment()
    for env in (base, _local_engine_environment(base)):
        try:
            result = subprocess.run(
                ["docker", "compose", "version", "--short"],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0 and result.stdout.strip().lstrip("v").startswith("2."):
            return env
    return None


def _parse_exports(text: str) -> dict[str, str]:
    exports = {}
    for line in text.splitlines():
        match = re.fullmatch(r"export (\w+)=(.*)", line.strip())
        if match:
            exports[match.group(1)] = match.group(2)
    return exports


@contextmanager
def docker_engine() -> Iterator[dict[str, str]]:
    """Yield the environment for a reachable Docker engine.

    Uses the engine that DOCKER_HOST (or the default socket) reaches. Otherwise starts a
    private one with prepare.sh and stops it again on exit, unless it was already running.
    Raises EngineUnavailable with the reason when neither works.
    """
    if shutil.which("docker") is None:
        raise EngineUnavailable("the docker CLI is not installed")
    env = clean_environment()
    if _succeeds(["docker", "info"], env):
        yield env
        return

    prepare = DOCKER_LOCAL_TOOL / "prepare.sh"
    if not prepare.is_file():
        raise EngineUnavailable(f"no Docker engine is reachable and {prepare} does not exist")
    if os.geteuid() != 0:
        raise EngineUnavailable(
            "no Docker engine is reachable, and preparing one with prepare.sh needs root"
        )

    directory = engine_dir()
    already_running = _succeeds(["docker", "info"], _local_engine_environment(env))
    try:
        result = subprocess.run(
            ["bash", str(prepare), str(directory)],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except subprocess.TimeoutExpired as error:
        raise EngineUnavailable(f"{prepare} timed out after {error.timeout} s") from None
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise EngineUnavailable(f"{prepare} failed with exit code {result.returncode}: {last_line}")

    env.update(_parse_exports(result.stdout))
    try:
        yield env
    finally:
        if not already_running:
            subprocess.run(
                ["bash", str(DOCKER_LOCAL_TOOL / "stop.sh"), str(directory)],
                env=env,
                capture_output=True,
                timeout=120,
            )


@contextmanager
def exclusive_lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on ``path``, so that two test runs never share one engine at once."""
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path} is still locked after {timeout} s") from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pinned_torch_version() -> str:
    """Return the torch version pinned in pyproject.toml (``torch==X``)."""
    text = (REPO_ROOT / "pyproject.toml").read_text()
    match = re.search(r'"torch==([^"]+)"', text)
    if match is None:
        raise AssertionError("pyproject.toml has no exact torch pin")
    return match.group(1)


def local_torch_wheel() -> Path | None:
    """Find the pinned torch CPU wheel for the image's Python 3.11 in pip's find-links folders."""
    folders = [*os.environ.get("PIP_FIND_LINKS", "").split(), "/opt/wheels"]
    pattern = f"torch-{pinned_torch_version()}+cpu-cp311-cp311-*x86_64.whl"
    for folder in folders:
        matches = sorted(Path(folder).glob(pattern)) if Path(folder).is_dir() else []
        if matches:
            return matches[0]
    return None


@contextmanager
def staged_wheel(wheel: Path) -> Iterator[Path]:
    """Put ``wheel`` into docker/wheels (ignored by git) for the build; remove it afterwards."""
    target = WHEELS_DIR / wheel.name
    created = not target.exists()
    if created:
        try:
            os.link(wheel, target)
        except OSError:
            shutil.copyfile(wheel, target)
    try:
        yield target
    finally:
        if created:
            target.unlink(missing_ok=True)


@dataclass
class Compose:
    """``docker compose`` for one project, on the main file plus the test override."""

    project: str
    env: dict[str, str]
    files: tuple[Path, ...] = (COMPOSE_FILE, TEST_OVERRIDE_FILE)

    def command(self, *args: str) -> list[str]:
        files = [part for path in self.files for part in ("-f", str(path))]
        return ["docker", "compose", "-p", self.project, *files, *args]

    def run(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.command(*args),
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(self.command(*args))} exited with {result.returncode}:\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def container_id(self, service: str) -> str:
        ids = self.run("ps", "--all", "--quiet", service).stdout.split()
        if len(ids) != 1:
            raise AssertionError(f"expected one {service} container, found {ids}")
        return ids[0]


def docker(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a plain docker command and fail with its output when it fails."""
    result = subprocess.run(
        ["docker", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result
