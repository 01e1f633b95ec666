"""Optional bearer-token access control (SURFSERVE_API_KEY) as a pure ASGI middleware."""

from __future__ import annotations

import hashlib
import hmac

from service.asgi import ASGIApp, Receive, Scope, Send, header, is_exempt, send_error
from service.context import note_rejection
from service.errors import ServiceError

_CHALLENGE = b'Bearer realm="surfserve"'


class Unauthorized(ServiceError):
    """Raised for a request without a valid bearer token while one is required; becomes 401."""

    status_code = 401
    code = "unauthorized"


class BearerAuthMiddleware:
    """Requires ``Authorization: Bearer <key>`` on every route but health checks and metrics.

    Both sides are hashed before the constant-time comparison, so neither the
    content nor the length of the key shows in the response time.
    """

    def __init__(self, app: ASGIApp, *, api_key: str) -> None:
        self.app = app
        self._key_digest = _digest(api_key.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_exempt(scope["path"]):
            await self.app(scope, receive, send)
            return

        credentials = header(scope, b"authorization")
        if credentials is None:
            await self._reject(scope, send, "missing bearer token", _CHALLENGE)
            return

        scheme, _, token = credentials.partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            await self._reject(
                scope, send, "the Authorization header must be 'Bearer <token>'", _CHALLENGE
            )
            return

        if not hmac.compare_digest(_digest(token.strip()), self._key_digest):
            challenge = _CHALLENGE + b', error="invalid_token"'
            await self._reject(scope, send, "invalid bearer token", challenge)
            return

        await self.app(scope, receive, send)

    async def _reject(self, scope: Scope, send: Send, problem: str, challenge: bytes) -> None:
        note_rejection("unauthorized")
        error = Unauthorized(
            f"{problem}; send the header 'Authorization: Bearer <token>' "
            "with the token set in SURFSERVE_API_KEY"
        )
        await send_error(scope, send, error, ((b"www-authenticate", challenge),))


def _digest(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()
