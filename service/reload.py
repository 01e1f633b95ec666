"""Reloading the artifact on SIGHUP: the new model is checked before it replaces the old.

With one process, the artifact is loaded and warmed up beside the old model, then
swapped in: requests that already hold the old predictor finish on it, the next
request gets the new one. With several worker processes, the supervisor checks
the artifact the same way, then lets uvicorn replace the workers one at a time.
Either way, an artifact that fails to load or warm up is rejected, the old model
keeps serving, and the reason is logged.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import anyio
import torch
from uvicorn.supervisors import Multiprocess

from service.artifact import ArtifactError
from service.metrics import RELOADS, set_model_info
from service.state import ModelState, load_predictor

logger = logging.getLogger(__name__)


class ModelReloader:
    """Reloads the artifact at ``path`` into ``state``, one reload at a time."""

    def __init__(self, state: ModelState, path: Path, device: torch.device) -> None:
        self.state = state
        self.path = path
        self.device = device
        self._lock = anyio.Lock()

    async def reload(self) -> bool:
        """Load the artifact again and swap it in; return whether the new one is served."""
        async with self._lock:
            old = self.state.predictor
            if old is None:
                logger.warning("reload ignored: the first load of the artifact has not finished")
                return False

            logger.info("reloading artifact %s", self.path)
            try:
                new = await anyio.to_thread.run_sync(load_predictor, self.path, self.device)
            except (ArtifactError, RuntimeError, OSError) as error:
                RELOADS.labels("failure").inc()
                logger.error(
                    "reload rejected, still serving model %s version %s: %s",
                    old.name,
                    old.version,
                    error,
                )
                return False

            # One assignment, so every request gets either the old predictor or the new one.
            self.state.predictor = new
            set_model_info(new.name, new.version, str(new.device))
            RELOADS.labels("success").inc()
            logger.info(
                "reload complete: serving model %s version %s (was version %s)",
                new.name,
                new.version,
                old.version,
            )
            return True

    async def reload_on_sighup(self) -> None:
        """Reload on every SIGHUP until cancelled; needs the main thread (``python -m service``)."""
        with anyio.open_signal_receiver(signal.SIGHUP) as signals:
            async for _ in signals:
                await self.reload()


class CheckedReloadSupervisor(Multiprocess):
    """uvicorn's worker supervisor, restarting workers on SIGHUP only for an artifact that loads."""

    def __init__(self, *args: object, model_path: Path, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.model_path = model_path

    def handle_hup(self) -> None:
        # NOTE: a file replaced again between this check and a worker's load is
        # not checked; that worker stays live but not ready, with the reason.
        try:
            load_predictor(self.model_path, torch.device("cpu"))
        except (ArtifactError, RuntimeError, OSError) as error:
            RELOADS.labels("failure").inc()
            logger.error("reload rejected, workers keep serving their model: %s", error)
            return
        # The new workers load the artifact as a first load and count nothing.
        RELOADS.labels("success").inc()
        logger.info("new artifact loads; restarting workers one at a time to serve it")
        super().handle_hup()
