"""A Python client for surfserve's JSON API, synchronous and asynchronous, on httpx.

::

    from service.client import SurfserveClient

    with SurfserveClient("http://127.0.0.1:8000") as client:
        result = client.predict([[0.0, 0.0], [1.5, -2.0]])
        print(result.predictions)  # float32 array of shape (2,)

``AsyncSurfserveClient`` has the same methods as coroutines. An error response
raises ``SurfserveError`` with the server's message and status. A server that
cannot be reached or does not respond in time raises ``SurfserveConnectionError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx
import numpy as np
import orjson

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0

T = TypeVar("T")


class SurfserveError(Exception):
    """Raised when the server responds with an error status.

    ``message`` is the server's own message; ``code``, ``field`` and ``allowed``
    come from the JSON API's error object when it has them.
    """

    def __init__(
        self,
        message: str,
        status_code: int | None,
        *,
        code: str | None = None,
        field: str | None = None,
        allowed: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message if status_code is None else f"HTTP {status_code}: {message}")
        self.message = message
        self.status_code = status_code
        self.code = code
        self.field = field
        self.allowed = allowed
        self.body = body


class SurfserveConnectionError(SurfserveError):
    """Raised when the server cannot be reached or does not respond within the timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(message, None)


@dataclass(frozen=True)
class ModelRef:
    """The name and version of the model that served a request."""

    name: str
    version: str


@dataclass(frozen=True)
class Predictions:
    """The result of ``predict``: one float32 prediction per point, in the order sent.

    ``extrapolation`` is True for each point where the training data was sparse,
    or None from a server that does not send the flags.
    """

    predictions: np.ndarray
    model: ModelRef
    extrapolation: np.ndarray | None = None


@dataclass(frozen=True)
class Grid:
    """The result of ``grid``: ``values[i, j]`` is the prediction at ``(x0[j], x1[i])``."""

    x0: np.ndarray
    x1: np.ndarray
    values: np.ndarray
    model: ModelRef
    extrapolation: np.ndarray | None = None


@dataclass(frozen=True)
class ModelInfo:
    """Metadata of the served artifact and the device it runs on."""

    name: str
    version: str
    device: str
    metadata: dict[str, Any] = field(repr=False)


class SurfserveClient:
    """A blocking client; use it as a context manager or call ``close()``."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        api_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout, headers=_headers(api_key), transport=transport
        )

    def predict(self, points: Sequence[Sequence[float]] | np.ndarray) -> Predictions:
        """Return predictions for a batch of (x0, x1) points, a list of pairs or an (N, 2) array."""
        return self._send(_predict_call(points))

    def grid(
        self,
        x0_min: float = -10.0,
        x0_max: float = 10.0,
        x1_min: float = -10.0,
        x1_max: float = 10.0,
        nx: int = 100,
        ny: int = 100,
    ) -> Grid:
        """Return predictions over an nx-by-ny grid spanning the given rectangle."""
        return self._send(_grid_call(x0_min, x0_max, x1_min, x1_max, nx, ny))

    def model(self) -> ModelInfo:
        """Return the served artifact's metadata."""
        return self._send(_MODEL_CALL)

    def ready(self) -> bool:
        """Return True once the model is loaded and warmed up, False while it is not."""
        return self._send(_READY_CALL)

    def live(self) -> bool:
        """Return True when the server process responds."""
        return self._send(_LIVE_CALL)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SurfserveClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, call: _Call[T]) -> T:
        try:
            response = self._http.request(
                call.method, call.path, params=call.params, content=call.content
            )
        except httpx.TransportError as error:
            raise _connection_error(self._http.base_url, call, error) from error
        return call.parse(response)


class AsyncSurfserveClient:
    """An asyncio client; use it with ``async with`` or await ``aclose()``."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, headers=_headers(api_key), transport=transport
        )

    async def predict(self, points: Sequence[Sequence[float]] | np.ndarray) -> Predictions:
        """Return predictions for a batch of (x0, x1) points, a list of pairs or an (N, 2) array."""
        return await self._send(_predict_call(points))

    async def grid(
        self,
        x0_min: float = -10.0,
        x0_max: float = 10.0,
        x1_min: float = -10.0,
        x1_max: float = 10.0,
        nx: int = 100,
        ny: int = 100,
    ) -> Grid:
        """Return predictions over an nx-by-ny grid spanning the given rectangle."""
        return await self._send(_grid_call(x0_min, x0_max, x1_min, x1_max, nx, ny))

    async def model(self) -> ModelInfo:
        """Return the served artifact's metadata."""
        return await self._send(_MODEL_CALL)

    async def ready(self) -> bool:
        """Return True once the model is loaded and warmed up, False while it is not."""
        return await self._send(_READY_CALL)

    async def live(self) -> bool:
        """Return True when the server process responds."""
        return await self._send(_LIVE_CALL)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncSurfserveClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send(self, call: _Call[T]) -> T:
        try:
            response = await self._http.request(
                call.method, call.path, params=call.params, content=call.content
            )
        except httpx.TransportError as error:
            raise _connection_error(self._http.base_url, call, error) from error
        return call.parse(response)


# Requests and responses, shared by the two clients.


@dataclass(frozen=True)
class _Call(Generic[T]):
    """One HTTP request and how to read its response, shared by both clients."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, Any] | None = None
    content: bytes | None = None


def _predict_call(points: Sequence[Sequence[float]] | np.ndarray) -> _Call[Predictions]:
    return _Call("POST", "/predict", _parse_predictions, content=_encode_points(points))


def _grid_call(
    x0_min: float, x0_max: float, x1_min: float, x1_max: float, nx: int, ny: int
) -> _Call[Grid]:
    params = {"x0_min": x0_min, "x0_max": x0_max, "x1_min": x1_min, "x1_max": x1_max}
    params.update({"nx": nx, "ny": ny})
    return _Call("GET", "/grid", _parse_grid, params=params)


def _headers(api_key: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def _encode_points(points: Sequence[Sequence[float]] | np.ndarray) -> bytes:
    if isinstance(points, np.ndarray) and points.dtype.kind in "iuf":
        # float64 represents every float32 and integer coordinate the server can use,
        # and it is in the native byte order that orjson needs.
        array = np.ascontiguousarray(points, dtype=np.float64)
        if np.isfinite(array).all():
            return orjson.dumps({"points": array}, option=orjson.OPT_SERIALIZE_NUMPY)
        points = array.tolist()
    elif isinstance(points, np.ndarray):
        points = points.tolist()
    # The standard library writes NaN and Infinity as literals where orjson writes
    # null, so the server's error names the non-finite value it received.
    return json.dumps({"points": points}).encode()


def _connection_error(base_url: httpx.URL, call: _Call[Any], error: Exception) -> Exception:
    kind = "timed out" if isinstance(error, httpx.TimeoutException) else "failed"
    return SurfserveConnectionError(
        f"{call.method} {base_url.join(call.path)} {kind}: {error or type(error).__name__}"
    )


def _json_body(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json()
    raise _server_error(response)


def _server_error(response: httpx.Response) -> SurfserveError:
    try:
        body = response.json()
    except ValueError:
        body = None

    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return SurfserveError(
            str(error.get("message", response.reason_phrase)),
            response.status_code,
            code=error.get("code"),
            field=error.get("field"),
            allowed=error.get("allowed"),
            body=body,
        )
    if isinstance(error, str):
        return SurfserveError(error, response.status_code, body=body)
    message = response.text.strip() or response.reason_phrase
    return SurfserveError(message, response.status_code, body=body)


def _model_ref(body: dict[str, Any]) -> ModelRef:
    return ModelRef(name=body["model"]["name"], version=body["model"]["version"])


def _parse_predictions(response: httpx.Response) -> Predictions:
    body = _json_body(response)
    predictions = np.asarray(body["predictions"], dtype=np.float32)
    return Predictions(
        predictions=predictions,
        model=_model_ref(body),
        extrapolation=_flags(body, predictions.shape),
    )


def _parse_grid(response: httpx.Response) -> Grid:
    body = _json_body(response)
    x0 = np.asarray(body["x0"], dtype=np.float64)
    x1 = np.asarray(body["x1"], dtype=np.float64)
    values = np.asarray(body["values"], dtype=np.float32).reshape(len(x1), len(x0))
    return Grid(
        x0=x0,
        x1=x1,
        values=values,
        model=_model_ref(body),
        extrapolation=_flags(body, values.shape),
    )


def _flags(body: dict[str, Any], shape: tuple[int, ...]) -> np.ndarray | None:
    # Servers from before the extrapolation flags send none.
    flags = body.get("extrapolation")
    if flags is None:
        return None
    return np.asarray(flags, dtype=bool).reshape(shape)


def _parse_model(response: httpx.Response) -> ModelInfo:
    body = _json_body(response)
    return ModelInfo(
        name=str(body["name"]),
        version=str(body["version"]),
        device=str(body.get("device", "")),
        metadata=body,
    )


def _parse_ready(response: httpx.Response) -> bool:
    # 503 means "not ready yet" here, not a failed request.
    if response.status_code == 503:
        return False
    _json_body(response)
    return True


def _parse_live(response: httpx.Response) -> bool:
    _json_body(response)
    return True


_MODEL_CALL: _Call[ModelInfo] = _Call("GET", "/model", _parse_model)
_READY_CALL: _Call[bool] = _Call("GET", "/health/ready", _parse_ready)
_LIVE_CALL: _Call[bool] = _Call("GET", "/health/live", _parse_live)
