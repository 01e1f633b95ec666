"""Several server processes: uvicorn's supervisor, and the app factory each worker runs.

Each worker is a fresh interpreter (uvicorn starts them with multiprocessing's
"spawn"), so it imports ``create_worker_app`` by name and reads its settings
from the same SURFSERVE_* environment as the supervisor.
"""

from __future__ import annotations

import logging
import socket

import torch
import uvicorn
from fastapi import FastAPI

from service.app import create_app
from service.artifact import ArtifactError, load_artifact
from service.cpus import available_cpus
from service.devices import resolve_device
from service.gcpause import freeze_startup_objects
from service.logs import configure_logging
from service.metrics import multiprocess_metrics
from service.reload import CheckedReloadSupervisor
from service.settings import Settings, load_settings

logger = logging.getLogger(__name__)

WORKER_APP_FACTORY = "service.workers:create_worker_app"


def torch_threads(settings: Settings) -> int:
    """Return the intra-op threads of one worker: the setting, or the CPU quota split evenly."""
    if settings.torch_threads is not None:
        return settings.torch_threads
    return max(1, available_cpus() // settings.workers)


def serve_workers(settings: Settings, listening: socket.socket) -> int:
    """Run ``settings.workers`` worker processes on the bound socket until SIGTERM or SIGINT."""
    # uvicorn restarts a worker that dies, so a worker cannot stop the service
    # when the artifact is broken. The supervisor loads it once, on the CPU,
    # and refuses to start instead.
    try:
        load_artifact(settings.model_path, torch.device("cpu"))
    except (ArtifactError, RuntimeError, OSError) as error:
        logger.error("cannot load artifact: %s", error)
        return 1

    logger.info(
        "starting %d workers, torch uses %d intra-op thread(s) in each",
        settings.workers,
        torch_threads(settings),
    )
    # uvicorn's supervisor handles SIGTERM and SIGINT itself (workers drain and
    # stop); on SIGHUP it checks the artifact, then replaces every worker, which
    # reloads it.
    config = uvicorn.Config(
        WORKER_APP_FACTORY,
        factory=True,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        # uvicorn types this as int, but waits with asyncio.timeout, which takes seconds as float.
        timeout_graceful_shutdown=settings.graceful_shutdown_s,  # type: ignore[arg-type]
        # A new worker imports torch and loads the artifact before it responds to the
        # supervisor, and uvicorn's default of 5 s gave up on a busy 2-core machine.
        timeout_worker_healthcheck=60,
    )
    # The workers count into shared metric files, so /metrics adds up all of them.
    with multiprocess_metrics():
        supervisor = CheckedReloadSupervisor(
            config, sockets=[listening], model_path=settings.model_path
        )
        supervisor.run()
    return 0


def create_worker_app() -> FastAPI:
    """Build the app in a worker process from the SURFSERVE_* environment."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    torch.set_num_threads(torch_threads(settings))
    # A worker that cannot load the artifact after the supervisor's check stays
    # live but never ready; its readiness response gives the reason.
    # The worker takes connections only once its model is ready: uvicorn retires
    # an old worker on SIGHUP as soon as its replacement has started.
    app = create_app(settings, resolve_device(settings.device), load_before_serving=True)
    freeze_startup_objects()
    return app
