"""Installs the limit, access-control and CORS middlewares, and documents their responses."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from service.asgi import is_exempt
from service.auth import BearerAuthMiddleware
from service.limits import LimitsMiddleware
from service.observability import REQUEST_ID_HEADER
from service.settings import Settings

_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
_PROTOCOL_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}
_BODY_METHODS = ("post", "put", "patch")
# GridSpec.validate rejects fewer than 2 steps on an axis.
GRID_MIN_STEPS = 2

# Request headers a browser may send cross-origin beyond the CORS-safelisted ones:
# the bearer token, a JSON or octet-stream Content-Type, a compressed body, the
# client's request id, and the length of the JSON part of a binary v2 request.
_CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Content-Encoding",
    "Inference-Header-Content-Length",
    REQUEST_ID_HEADER.decode(),
)
# Response headers a browser shows to scripts only when they are listed. They carry
# the request id, the file name and value range of npy and PNG grids, the count of
# extrapolated points of binary /predict, the JSON length of binary v2 responses,
# and the served model.
_CORS_EXPOSED_HEADERS = (
    REQUEST_ID_HEADER.decode(),
    "Content-Disposition",
    "X-Surfserve-Min",
    "X-Surfserve-Max",
    "X-Surfserve-Extrapolated-Points",
    "Inference-Header-Content-Length",
    "X-Surfserve-Model-Name",
    "X-Surfserve-Model-Version",
)


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Add the middlewares; the last one added is the first to see a request.

    CORS comes first, so a browser's preflight needs no token; then the bearer
    token check, so requests without one never count toward the limits.
    """
    app.add_middleware(
        LimitsMiddleware,
        max_body_bytes=settings.body_limit,
        max_concurrent_requests=settings.max_concurrent_requests,
        timeout_s=settings.request_timeout_s,
    )
    if settings.api_key is not None:
        app.add_middleware(BearerAuthMiddleware, api_key=settings.api_key.get_secret_value())
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=list(_CORS_REQUEST_HEADERS),
            expose_headers=list(_CORS_EXPOSED_HEADERS),
        )

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        # The generator caches the document in app.openapi_schema; it is completed once.
        if app.openapi_schema is None:
            document = generate()
            document_middleware_responses(document, auth=settings.api_key is not None)
            document_point_limits(document, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_middleware_responses(document: dict[str, Any], *, auth: bool) -> None:
    """Add the statuses the middlewares can return to every operation they apply to."""
    if auth:
        schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["bearer"] = {"type": "http", "scheme": "bearer"}

    for path, operations in document.get("paths", {}).items():
        if is_exempt(path):
            continue
        is_v2 = path == "/v2" or path.startswith("/v2/")
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            added = {
                "503": "the model is not ready, or too many requests are in progress "
                "(SURFSERVE_MAX_CONCURRENT_REQUESTS)",
                "504": "the request took longer than SURFSERVE_REQUEST_TIMEOUT_S",
            }
            if method in _BODY_METHODS:
                added["413"] = "the body is larger than SURFSERVE_MAX_BODY_BYTES"
            if auth:
                added["401"] = "missing or invalid bearer token (SURFSERVE_API_KEY)"
                operation["security"] = [{"bearer": []}]
            for status, description in added.items():
                _add_response(responses, status, description, is_v2)


def document_point_limits(document: dict[str, Any], settings: Settings) -> None:
    """State the configured point limits in the schemas of /predict and /grid.

    The routes decode and check these themselves, with messages that name the
    setting, and the document only shows where the bounds are. The limit on nx*ny
    spans two parameters, which OpenAPI cannot express, so each axis shows the
    largest value that the other axis's minimum of 2 leaves.
    """
    paths = document.get("paths", {})
    predict = paths.get("/predict", {}).get("post", {})
    body = predict.get("requestBody", {}).get("content", {}).get("application/json", {})
    points = body.get("schema", {}).get("properties", {}).get("points")
    if points is not None:
        points["maxItems"] = settings.max_points

    for parameter in paths.get("/grid", {}).get("get", {}).get("parameters", []):
        if parameter.get("name") in ("nx", "ny"):
            parameter["schema"]["minimum"] = GRID_MIN_STEPS
            parameter["schema"]["maximum"] = settings.max_grid_points // GRID_MIN_STEPS


def _add_response(responses: dict[str, Any], status: str, description: str, is_v2: bool) -> None:
    schema = _PROTOCOL_ERROR if is_v2 else _ERROR_REF
    if status in responses:
        # Keep the route's own entry, and note that the middleware returns it too.
        existing = responses[status]
        existing["description"] = f"{existing.get('description', '')}; or {description}"
        return
    code, message = _EXAMPLE_ERRORS[status]
    example = {"error": message} if is_v2 else {"error": {"code": code, "message": message}}
    responses[status] = {
        "description": description,
        "content": {"application/json": {"schema": schema, "example": example}},
    }


# One error body per status the middlewares answer, as the OpenAPI examples.
_EXAMPLE_ERRORS = {
    "401": (
        "unauthorized",
        "missing bearer token; send the header 'Authorization: Bearer <token>' with the token "
        "set in SURFSERVE_API_KEY",
    ),
    "413": (
        "payload_too_large",
        "request body is 70000000 bytes, above the limit of 64065536 bytes "
        "(SURFSERVE_MAX_BODY_BYTES); split the batch",
    ),
    "503": (
        "overloaded",
        "the service is busy: the limit of 128 concurrent request(s) is reached "
        "(SURFSERVE_MAX_CONCURRENT_REQUESTS); retry after a second",
    ),
    "504": (
        "timeout",
        "request timed out after 30 s (SURFSERVE_REQUEST_TIMEOUT_S); send fewer points per request",
    ),
}
