"""The Python client's requests and error handling, on httpx's mock transport."""

import anyio
import httpx
import numpy as np
import orjson
import pytest

from service.client import (
    AsyncSurfserveClient,
    SurfserveClient,
    SurfserveConnectionError,
    SurfserveError,
)

URL = "http://surfserve.test"
PREDICT_BODY = {"predictions": [0.5], "model": {"name": "surface", "version": "abc"}}


def _client(handler, **options) -> SurfserveClient:
    return SurfserveClient(URL, transport=httpx.MockTransport(handler), **options)


def test_bearer_token_sent():
    seen = []

    def handler(request):
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json=PREDICT_BODY)

    with _client(handler, api_key="s3cret") as client:
        client.predict([[1, 2]])

    assert seen == ["Bearer s3cret"]


def test_no_token_without_api_key():
    seen = []

    def handler(request):
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json=PREDICT_BODY)

    with _client(handler) as client:
        client.predict([[1, 2]])

    assert seen == [None]


def test_numpy_points_sent_as_json():
    bodies = []

    def handler(request):
        bodies.append(orjson.loads(request.content))
        return httpx.Response(200, json=PREDICT_BODY)

    with _client(handler) as client:
        client.predict(np.array([[0.1, 2]], dtype=np.float32))

    assert bodies == [{"points": [[float(np.float32(0.1)), 2.0]]}]


def test_extrapolation_flags_read():
    body = {**PREDICT_BODY, "extrapolation": [True]}

    with _client(lambda request: httpx.Response(200, json=body)) as client:
        result = client.predict([[100, 100]])

    assert result.extrapolation is not None
    assert result.extrapolation.dtype == bool
    assert result.extrapolation.tolist() == [True]


def test_ready_false_on_503():
    body = {"status": "not_ready", "reason": "the model is still loading"}

    with _client(lambda request: httpx.Response(503, json=body)) as client:
        assert client.ready() is False


def test_protocol_error_body():
    body = {"error": "model 'x' not found"}

    client = _client(lambda request: httpx.Response(404, json=body))
    with client, pytest.raises(SurfserveError, match=r"^HTTP 404: model 'x' not found$") as caught:
        client.model()

    assert caught.value.status_code == 404
    assert caught.value.code is None


def test_unauthorized_error_carries_message():
    body = {"error": {"code": "unauthorized", "message": "missing or invalid API key"}}

    client = _client(lambda request: httpx.Response(401, json=body))
    with client, pytest.raises(SurfserveError) as caught:
        client.ready()

    assert caught.value.status_code == 401
    assert caught.value.code == "unauthorized"
    assert caught.value.message == "missing or invalid API key"


def test_non_json_error_body():
    client = _client(lambda request: httpx.Response(502, text="Bad Gateway from proxy"))
    with client, pytest.raises(SurfserveError, match=r"^HTTP 502: Bad Gateway from proxy$"):
        client.grid()


def test_timeout_raises_connection_error():
    def handler(request):
        raise httpx.ReadTimeout("timed out", request=request)

    client = _client(handler)
    with client, pytest.raises(SurfserveConnectionError, match=f"^GET {URL}/model timed out: "):
        client.model()


def test_async_client_on_mock_transport():
    seen = []

    async def handler(request):
        seen.append((request.method, request.url.path, request.headers.get("authorization")))
        return httpx.Response(200, json=PREDICT_BODY)

    async def call():
        transport = httpx.MockTransport(handler)
        async with AsyncSurfserveClient(URL, api_key="k", transport=transport) as client:
            return await client.predict([[1, 2]])

    result = anyio.run(call)

    assert result.predictions.tolist() == [0.5]
    assert seen == [("POST", "/predict", "Bearer k")]
