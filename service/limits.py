"""Request limits as one pure ASGI middleware: body size, concurrent requests, time.

A pure ASGI middleware receives the body as it arrives, so an oversized body is
rejected before it is buffered, and it costs a few function calls per request
where Starlette's BaseHTTPMiddleware would copy every response through a stream.
"""

from __future__ import annotations

import logging
import math
import time

import anyio

from service.asgi import ASGIApp, Message, Receive, Scope, Send, header, is_exempt, send_error
from service.context import note_rejection
from service.errors import PayloadTooLarge, ServiceError
from service.metrics import IN_PROGRESS

logger = logging.getLogger(__name__)

# A JSON point such as [-1.2345678901234567e-05, -1.2345678901234567e-05] with its
# separators takes at most 52 bytes; 64 leaves room for odd spacing.
BODY_BYTES_PER_POINT = 64
BODY_OVERHEAD_BYTES = 64 * 1024

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_OVERLOAD_WARNING_INTERVAL_S = 10.0


class Overloaded(ServiceError):
    """Raised when too many requests are in progress; becomes 503 with Retry-After."""

    status_code = 503
    code = "overloaded"


class RequestTimeout(ServiceError):
    """Raised when a request runs past SURFSERVE_REQUEST_TIMEOUT_S; becomes 504."""

    status_code = 504
    code = "timeout"


def default_body_limit(max_points: int) -> int:
    """Return the body size that fits ``max_points`` points in the JSON API's encoding."""
    return max_points * BODY_BYTES_PER_POINT + BODY_OVERHEAD_BYTES


class LimitsMiddleware:
    """Rejects oversized bodies (413), excess concurrent requests (503) and slow ones (504).

    Health checks and metrics are not counted toward the concurrent-request bound
    and have no time limit.
    """

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, max_concurrent_requests: int, timeout_s: float
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_concurrent_requests = max_concurrent_requests
        self.timeout_s = timeout_s
        self.in_progress = 0
        self._overloads_since_warning = 0
        self._overload_warned_at = -math.inf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # Body size: a declared length is checked before a byte of the body is read;
        # a chunked body is counted as it arrives.
        length = header(scope, b"content-length")
        if length is not None:
            if length.isdigit() and int(length) > self.max_body_bytes:
                await self._reject(scope, send, self._too_large(int(length)), "body_too_large")
                return
        elif scope["method"] in _BODY_METHODS:
            receive = self._counting(receive)

        if is_exempt(scope["path"]):
            await self.app(scope, receive, send)
            return

        # Concurrency: a request over the bound is rejected at once instead of queueing.
        if self.in_progress >= self.max_concurrent_requests:
            self._warn_overload()
            retry_after = ((b"retry-after", b"1"),)
            await self._reject(scope, send, self._overloaded(), "overloaded", retry_after)
            return

        self.in_progress += 1
        IN_PROGRESS.inc()
        try:
            await self._call_with_deadline(scope, receive, send)
        finally:
            self.in_progress -= 1
            IN_PROGRESS.dec()

    async def _call_with_deadline(self, scope: Scope, receive: Receive, send: Send) -> None:
        response_started = False

        async def send_tracking(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                # A response that has begun is never cut off halfway.
                deadline.deadline = math.inf
            await send(message)

        # Cancellation reaches awaits in the app, and forwards in worker threads at
        # their next chunk boundary (the predictor checks between chunks).
        with anyio.CancelScope(deadline=anyio.current_time() + self.timeout_s) as deadline:
            await self.app(scope, receive, send_tracking)

        if deadline.cancelled_caught and not response_started:
            logger.warning(
                "request timed out after %g s: %s %s",
                self.timeout_s,
                scope["method"],
                scope["path"],
            )
            await self._reject(scope, send, self._timed_out(), "timeout")

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def receive_counting() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # Raised inside the app, whose error handlers turn it into a 413.
                    note_rejection("body_too_large")
                    raise self._too_large(received, declared=False)
            return message

        return receive_counting

    async def _reject(
        self,
        scope: Scope,
        send: Send,
        error: ServiceError,
        reason: str,
        headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        note_rejection(reason)
        await send_error(scope, send, error, headers)

    def _too_large(self, size: int, *, declared: bool = True) -> PayloadTooLarge:
        what = "request body is" if declared else "request body exceeds"
        message = (
            f"{what} {size} bytes, above the limit of {self.max_body_bytes} bytes "
            "(SURFSERVE_MAX_BODY_BYTES); split the batch"
        )
        return PayloadTooLarge(
            message, field="body", value=size, allowed=f"at most {self.max_body_bytes} bytes"
        )

    def _overloaded(self) -> Overloaded:
        return Overloaded(
            "the service is busy: the limit of "
            f"{self.max_concurrent_requests} concurrent request(s) is reached "
            "(SURFSERVE_MAX_CONCURRENT_REQUESTS); retry after a second"
        )

    def _timed_out(self) -> RequestTimeout:
        return RequestTimeout(
            f"request timed out after {self.timeout_s:g} s (SURFSERVE_REQUEST_TIMEOUT_S); "
            "send fewer points per request"
        )

    def _warn_overload(self) -> None:
        # Under overload every request is rejected, so one warning per interval
        # reports them with a count instead of one line per request.
        self._overloads_since_warning += 1
        now = time.monotonic()
        if now - self._overload_warned_at >= _OVERLOAD_WARNING_INTERVAL_S:
            logger.warning(
                "overloaded: rejected %d request(s) with 503, %d requests in progress",
                self._overloads_since_warning,
                self.in_progress,
            )
            self._overloads_since_warning = 0
            self._overload_warned_at = now
