"""Entry point: ``python -m service`` reads SURFSERVE_* settings and serves the artifact."""

from __future__ import annotations

import logging
import os
import signal
import sys

import torch
import uvicorn

from service.app import create_app
from service.devices import DeviceUnavailable, resolve_device
from service.gcpause import freeze_startup_objects
from service.listening import ListenError, bind_listening_socket
from service.logs import configure_logging
from service.settings import SettingsError, load_settings, warn_unknown_variables
from service.workers import serve_workers, torch_threads

logger = logging.getLogger("service")


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"surfserve: invalid setting: {error}", file=sys.stderr)
        return 2

    configure_logging(settings.log_level, settings.log_format)
    warn_unknown_variables(os.environ)

    try:
        device = resolve_device(settings.device)
    except DeviceUnavailable as error:
        logger.error("%s", error)
        return 2

    # Fail before binding the port when there is plainly nothing to serve.
    if not settings.model_path.is_file():
        logger.error(
            "artifact not found: %s (train one with `python -m training --out %s`, "
            "or set SURFSERVE_MODEL_PATH)",
            settings.model_path,
            settings.model_path,
        )
        return 1

    # Bind before anything loads the artifact, so that a bad address stops start-up
    # with one line and no load runs on in the background.
    try:
        listening = bind_listening_socket(settings.host, settings.port)
    except ListenError as error:
        logger.error("%s", error)
        return 1

    if settings.workers > 1:
        return serve_workers(settings, listening)

    threads = torch_threads(settings)
    torch.set_num_threads(threads)
    logger.info("torch uses %d intra-op thread(s)", threads)

    server: uvicorn.Server | None = None
    failure: list[str] = []

    def stop_on_fatal(reason: str) -> None:
        failure.append(reason)
        if server is not None:
            server.should_exit = True

    app = create_app(settings, device, on_fatal=stop_on_fatal, reload_on_sighup=True)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        # uvicorn types this as int, but waits with asyncio.timeout, which takes seconds as float.
        timeout_graceful_shutdown=settings.graceful_shutdown_s,  # type: ignore[arg-type]
    )
    server = uvicorn.Server(config)

    # uvicorn drains connections on SIGTERM/SIGINT, then re-raises the signal
    # with the handlers it found at start-up. Handlers that ignore the re-raise
    # let a clean drain end with exit code 0 instead of death by signal.
    signal.signal(signal.SIGTERM, _ignore_signal)
    signal.signal(signal.SIGINT, _ignore_signal)
    freeze_startup_objects()
    server.run(sockets=[listening])
    return 1 if failure else 0


def _ignore_signal(signum: int, frame: object) -> None:
    return None


if __name__ == "__main__":
    sys.exit(main())
