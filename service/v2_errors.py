"""Errors of the Open Inference Protocol routes and their ``{"error": "<message>"}`` bodies.

The protocol's error body is a single string, unlike the JSON API's structured
error object, so the v2 routes map errors here and not in ``service.errors``.
"""

from __future__ import annotations

import orjson
from fastapi.responses import Response


class ProtocolError(Exception):
    """Raised for a v2 request the service rejects.

    Becomes ``status_code``: 400 for an invalid request (the default), 404 for an
    unknown model, version or path, 405 for a wrong method, 413 for a batch above
    the service's limits, 415 for an unsupported Content-Encoding.
    """

    def __init__(
        self, message: str, status_code: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.headers = headers


def protocol_error_response(
    message: str, status_code: int, headers: dict[str, str] | None = None
) -> Response:
    """Return the protocol's error body with ``status_code``."""
    return Response(
        orjson.dumps({"error": message}),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )
