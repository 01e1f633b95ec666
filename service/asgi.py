"""Helpers shared by the pure ASGI middlewares: exempt paths, route labels and error responses."""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from fastapi.routing import iter_route_contexts

from service.errors import ServiceError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The route label of a path that no route serves. A catch-all route (one that returns
# its protocol's error for unknown paths) is given this name, so that its template
# never becomes a label.
UNMATCHED_ROUTE = "unmatched"

# Probes and scrapers must get through whatever else is going on: these paths need
# no bearer token and do not count toward the concurrent-request bound.
_EXEMPT_PREFIXES = ("/health/", "/v2/health/")
_EXEMPT_PATHS = frozenset({"/metrics"})

# Every route of an app, with included routers flattened; built on the first rejection.
_flat_routes: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()

# The Open Inference Protocol routes send errors as {"error": "<message>"}.
_V2_PREFIX = "/v2"


def is_exempt(path: str) -> bool:
    """Return whether a path is a health check or the metrics endpoint."""
    return path in _EXEMPT_PATHS or path.startswith(_EXEMPT_PREFIXES)


def header(scope: Scope, name: bytes) -> bytes | None:
    """Return the first value of a request header (``name`` in lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def route_template(scope: Scope) -> str:
    """Return the template of the route a request matched, such as ``/v2/models/{name}``.

    The router stores the matched route in the scope. A request rejected before
    routing, or handled by a catch-all route, is matched here against the app's
    other routes instead. A path that none of them serves gets ``unmatched``.
    """
    route = scope.get("route")
    if route is None or _is_catch_all(route):
        route = match_route(scope)
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


def _is_catch_all(route: Any) -> bool:
    return getattr(route, "name", None) == UNMATCHED_ROUTE


def match_route(scope: Scope) -> Any:
    """Return the app's route that serves this request's path and method, or None."""
    app = scope.get("app")
    if app is None:
        return None
    routes = _flat_routes.get(app)
    if routes is None:
        routes = _flat_routes[app] = list(iter_route_contexts(app.routes))

    path, method = scope["path"], scope["method"]
    partial = None
    for route in routes:
        if _is_catch_all(route) or route.path_regex.match(path) is None:
            continue
        if route.methods is None or method in route.methods:
            return route
        partial = partial or route
    return partial


async def send_error(
    scope: Scope, send: Send, error: ServiceError, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """Send an error response in the shape of the route family the path belongs to."""
    path = scope["path"]
    if path == _V2_PREFIX or path.startswith(_V2_PREFIX + "/"):
        body = orjson.dumps({"error": error.message})
    else:
        body = orjson.dumps(error.to_body())
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
