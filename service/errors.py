"""The service's exception family and the one place that maps it to HTTP responses.

Every error body of the JSON API has the shape::

    {"error": {"code": "invalid_input", "message": "...", "field": "points[3][0]",
               "index": 3, "value": "NaN", "allowed": "a finite number"}}

where ``field``, ``index``, ``value`` and ``allowed`` appear when they apply.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.context import note_rejection

logger = logging.getLogger(__name__)

_UNSET: Any = object()
_MAX_VALUE_CHARS = 80


class ServiceError(Exception):
    """Base of the errors a request can end with; ``status_code`` is its HTTP status."""

    status_code = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        index: int | None = None,
        value: Any = _UNSET,
        allowed: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.index = index
        self.value = value
        self.allowed = allowed

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        if self.index is not None:
            error["index"] = self.index
        if self.value is not _UNSET:
            error["value"] = json_safe_value(self.value)
        if self.allowed is not None:
            error["allowed"] = self.allowed
        return {"error": error}


class InvalidInput(ServiceError):
    """Raised for a request whose body or query the service cannot use; becomes 422."""

    status_code = 422
    code = "invalid_input"


class PayloadTooLarge(ServiceError):
    """Raised when a request carries more points than the configured limit; becomes 413."""

    status_code = 413
    code = "payload_too_large"


class ModelNotReady(ServiceError):
    """Raised while no model is loaded and warmed up; becomes 503."""

    status_code = 503
    code = "model_not_ready"


class NotAcceptable(ServiceError):
    """Raised when the Accept header allows none of the response formats; becomes 406."""

    status_code = 406
    code = "not_acceptable"


class UnsupportedMediaType(ServiceError):
    """Raised for a request body in a format the endpoint does not read; becomes 415."""

    status_code = 415
    code = "unsupported_media_type"


def non_finite_name(value: float) -> str:
    """Return how JSON encoders spell a non-finite float: NaN, Infinity or -Infinity."""
    if math.isnan(value):
        return "NaN"
    if value > 0:
        return "Infinity"
    return "-Infinity"


def json_safe_value(value: Any) -> Any:
    """Return a short JSON-encodable echo of a received value for an error body."""
    if isinstance(value, float) and not math.isfinite(value):
        return non_finite_name(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= _MAX_VALUE_CHARS else value[:_MAX_VALUE_CHARS] + "…"
    try:
        encoded = orjson.dumps(value).decode()
    except TypeError:
        encoded = repr(value)
    if len(encoded) <= _MAX_VALUE_CHARS:
        return value if isinstance(value, list | dict) else encoded
    return encoded[:_MAX_VALUE_CHARS] + "…"


def error_response(error: ServiceError) -> Response:
    return Response(
        orjson.dumps(error.to_body()), status_code=error.status_code, media_type="application/json"
    )


def rejection_response(request: Request, error: ServiceError) -> Response:
    """Log and count a rejected request, and return its error response."""
    logger.debug("%s %s -> %d: %s", request.method, request.url.path, error.status_code, error)
    note_rejection(error.code)
    return error_response(error)


def install_error_handlers(app: FastAPI) -> None:
    """Map the exception family, FastAPI's validation errors and crashes to JSON bodies."""

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, error: ServiceError) -> Response:
        return rejection_response(request, error)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> Response:
        invalid = _from_validation(error)
        note_rejection(invalid.code)
        return error_response(invalid)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        body = {"error": {"code": _http_code(error.status_code), "message": str(error.detail)}}
        note_rejection(body["error"]["code"])
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def _unexpected_error(request: Request, error: Exception) -> Response:
        # The traceback goes to the log only: responses never carry internals.
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        body = {"error": {"code": "internal_error", "message": "internal server error"}}
        return JSONResponse(body, status_code=500)


# Plain wording for the pydantic error types that query parameters can raise.
_EXPECTED = {
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "missing": "a value",
}


def _from_validation(error: RequestValidationError) -> InvalidInput:
    first = error.errors()[0]
    location = [str(part) for part in first.get("loc", ()) if part not in ("query", "body")]
    field = ".".join(location) or "request"
    received = first.get("input", _UNSET)
    expected = _EXPECTED.get(str(first.get("type")), str(first.get("msg", "a valid value")))
    message = f"{field} must be {expected}"
    if received is not _UNSET:
        message += f", got {json_safe_value(received)!r}"
    return InvalidInput(message, field=field, value=received, allowed=expected)


def _http_code(status: int) -> str:
    return {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
