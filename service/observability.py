"""Request ids, request metrics and the per-request log line, as the outermost middleware.

``ObservedFastAPI`` places ``ObservabilityMiddleware`` outside Starlette's
ServerErrorMiddleware, so a crash's 500 response is counted, carries the request
id header, and is logged while the request id is still set.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from fastapi import FastAPI

from service.asgi import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    header,
    is_exempt,
    route_template,
)
from service.context import close_request, open_request
from service.metrics import observe_request, rejection_reason

logger = logging.getLogger("service.access")

REQUEST_ID_HEADER = b"x-request-id"
# A client's id is kept when it is short and cannot break a log line or a header.
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:/+=@-]{1,128}")


class ObservabilityMiddleware:
    """Gives each request an id, echoes it in ``X-Request-ID``, counts it and logs it.

    The id comes from the request's ``X-Request-ID`` header when that is a
    plausible id, and is generated otherwise.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        request_id = _request_id(scope)
        context, token = open_request(request_id.decode())
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id)]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # ServerErrorMiddleware has logged the error and sent the 500 already;
            # raising further would only log the same traceback again, without the id.
            if not response_started:
                raise
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            rejection = None
            if not is_exempt(scope["path"]):
                rejection = rejection_reason(status, context.rejection)
            observe_request(route, scope["method"], status, seconds, context.points, rejection)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                        "points": context.points,
                    },
                )
            close_request(token)


class ObservedFastAPI(FastAPI):
    """FastAPI with ``ObservabilityMiddleware`` around its whole middleware stack."""

    def build_middleware_stack(self) -> ASGIApp:
        return ObservabilityMiddleware(super().build_middleware_stack())


def _request_id(scope: Scope) -> bytes:
    received = header(scope, REQUEST_ID_HEADER)
    if received is not None and _VALID_REQUEST_ID.fullmatch(received):
        return received
    return uuid.uuid4().hex.encode()
