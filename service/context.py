"""The request being served, reachable from any code that runs for it.

The observability middleware opens a ``RequestContext`` per HTTP request in a
context variable. Code deeper down (the predictor core, error handlers, log
filters) reads or updates it without being handed the request. Worker threads
started with ``anyio.to_thread`` get a copy of the context, and the copy refers to
the same mutable object, so counts made there are seen by the middleware.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass(slots=True)
class RequestContext:
    """Per-request facts gathered while the request runs."""

    request_id: str
    points: int = 0
    rejection: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("surfserve_request", default=None)


def open_request(request_id: str) -> tuple[RequestContext, Token[RequestContext | None]]:
    """Make a new context current; pass the token to ``close_request``."""
    context = RequestContext(request_id)
    return context, _current.set(context)


def close_request(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def current_request() -> RequestContext | None:
    return _current.get()


def count_points(points: int) -> None:
    """Add the points of one inference call to the current request, if any."""
    context = _current.get()
    if context is not None:
        context.points += points


def note_rejection(reason: str) -> None:
    """Record why the current request gets an error status, for the metrics."""
    context = _current.get()
    if context is not None and context.rejection is None:
        context.rejection = reason
