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
from service.batching import DynamicBatcher
from service.errors import install_error_handlers
from service.fastpath import PredictFastPath
from service.metrics import forget_this_process, initialize_reload_series, set_model_info
from service.middleware import install_middleware
from service.observability import ObservedFastAPI
from service.redaction import public_reason
from service.reload import ModelReloader
from service.routers import health, inference, metrics, v2
from service.settings import Settings
from service.state import ModelState, load_predictor

logger = logging.getLogger(__name__)

Loader = Callable[[], object]


def create_app(
    settings: Settings,
    device: torch.device,
    *,
    on_fatal: Callable[[str], None] | None = None,
    reload_on_sighup: bool = False,
    load_before_serving: bool = False,
    fast_predict: bool = True,
) -> FastAPI:
    """Build the app, which serves requests at once and loads the model in the background.

    ``on_fatal`` is called with a one-line reason when the artifact cannot be
    loaded; ``python -m service`` uses it to stop the server with a non-zero exit.
    ``reload_on_sighup`` reloads the artifact on SIGHUP; it needs the main thread.
    ``load_before_serving`` makes start-up wait for the load instead, for a worker
    process that other workers cover while it starts.
    ``fast_predict`` answers POST /predict ahead of FastAPI's router (see
    ``service.fastpath``); the tests turn it off to compare the two.
    """
    _log_access_settings(settings)
    state = ModelState()
    reloader = ModelReloader(state, settings.model_path, device)
    initialize_reload_series()

    async def load_model() -> None:
        state.loading = True
        try:
            state.predictor = await anyio.to_thread.run_sync(
                load_predictor, settings.model_path, device
            )
        except (ArtifactError, RuntimeError, OSError) as error:
            # Clients see the fault without the artifact's path; the log has it all.
            state.error = f"cannot load artifact: {public_reason(error)}"
            logger.error("cannot load artifact: %s", error)
            if on_fatal is not None:
                on_fatal(f"cannot load artifact: {error}")
        else:
            set_model_info(state.predictor.name, state.predictor.version, str(device))
        finally:
            state.loading = False

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            if load_before_serving:
                await load_model()
            else:
                tasks.start_soon(load_model)
            if reload_on_sighup:
                tasks.start_soon(reloader.reload_on_sighup)
            yield
            tasks.cancel_scope.cancel()
        forget_this_process()

    app = ObservedFastAPI(
        title="surfserve",
        version=__version__,
        summary="Predictions of a TorchScript surface model y = f(x0, x1).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.model_state = state
    app.state.reloader = reloader
    app.state.batcher = (
        DynamicBatcher(settings.batch_max_points, settings.batch_max_wait_ms / 1000)
        if settings.batching
        else None
    )
    install_error_handlers(app)
    # Added before the other middlewares, so it is the innermost and every
    # request passes the limits, the token check and the metrics first.
    if fast_predict:
        app.add_middleware(PredictFastPath)
    install_middleware(app, settings)
    app.include_router(inference.router)
    app.include_router(health.router)
    app.include_router(v2.router)
    app.include_router(metrics.router)
    return app


def _log_access_settings(settings: Settings) -> None:
    # An operator reads here whether the token and CORS took effect, because a
    # misspelt variable leaves them off with only a warning.
    if settings.api_key is None:
        logger.info("authentication off: set SURFSERVE_API_KEY to require a bearer token")
    else:
        logger.info("authentication on: a bearer token is required except on health and metrics")
    if settings.cors_origins:
        logger.info("CORS on for origins %s", ", ".join(settings.cors_origins))
