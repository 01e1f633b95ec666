"""POST /predict handled by a pure ASGI app, ahead of FastAPI's router.

FastAPI's routing, dependency resolution and exception middlewares took about a
third of a 1-point request's time in process, more than the forward pass, so the
busiest route skips them. This app sits inside the service's own middlewares
(limits, token, CORS, request ids and metrics), so every request still passes
those. It builds the response with the same function as the FastAPI route, which
stays for the OpenAPI document and for the other methods.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from service.asgi import ASGIApp, Receive, Scope, Send, match_route
from service.errors import ServiceError, rejection_response
from service.routers.inference import predict_response

PREDICT_PATH = "/predict"


class PredictFastPath:
    """Handles POST /predict itself and passes every other request on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PREDICT_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return

        # The route FastAPI's router would have matched, so the metrics label
        # the request without searching the routes.
        scope["route"] = self._route or self._find_route(scope)
        request = Request(scope, receive)
        try:
            response = await predict_response(request)
        except ServiceError as error:
            response = rejection_response(request, error)
        await response(scope, receive, send)

    def _find_route(self, scope: Scope) -> Any:
        self._route = match_route(scope)
        return self._route
