"""The FastAPI application: routers, error handlers and the model's lifecycle."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import torch
from fastapi import FastAPI

from service import __version__
from service.artifact import ArtifactError
from service.errors import install_error_handlers
from service.routers import health, inference
from service.settings import Settings
from service.state import ModelState, load_predictor

logger = logging.getLogger(__name__)

Loader = Callable[[], object]


def create_app(
    settings: Settings,
    device: torch.device,
    *,
    on_fatal: Callable[[str], None] | None = None,
) -> FastAPI:
    """Build the app; it starts answering at once and loads the model in the background.

    ``on_fatal`` is called with a one-line reason when the artifact cannot be
    loaded; ``python -m service`` uses it to stop the server with a non-zero exit.
    """
    state = ModelState()

    async def load_model() -> None:
        state.loading = True
        try:
            state.predictor = await anyio.to_thread.run_sync(
                load_predictor, settings.model_path, device
            )
        except (ArtifactError, RuntimeError, OSError) as error:
            state.error = f"cannot load artifact: {error}"
            logger.error("%s", state.error)
            if on_fatal is not None:
                on_fatal(state.error)
        finally:
            state.loading = False

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(load_model)
            yield
            tasks.cancel_scope.cancel()

    app = FastAPI(
        title="surfserve",
        version=__version__,
        summary="Predictions of a TorchScript surface model y = f(x0, x1).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.model_state = state
    install_error_handlers(app)
    app.include_router(inference.router)
    app.include_router(health.router)
    return app
