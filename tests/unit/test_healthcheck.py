"""The container health check client against small stand-in HTTP servers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service.healthcheck import check, ready_url
from tests.conftest import free_port


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8000/health/ready"),
        ("::", "http://[::1]:8000/health/ready"),
        ("127.0.0.1", "http://127.0.0.1:8000/health/ready"),
        ("::1", "http://[::1]:8000/health/ready"),
        ("localhost", "http://localhost:8000/health/ready"),
    ],
)
def test_ready_url_for_host(host, url):
    assert ready_url(host, 8000) == url


def _server(status: int, body: bytes) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ready_url("127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ready_server() -> Iterator[str]:
    body = json.dumps({"status": "ready", "model": {"name": "surface", "version": "x"}})
    yield from _server(200, body.encode())


@pytest.fixture
def loading_server() -> Iterator[str]:
    body = json.dumps({"status": "not_ready", "reason": "the model is still loading"})
    yield from _server(503, body.encode())


@pytest.fixture
def plain_503_server() -> Iterator[str]:
    yield from _server(503, b"<html>busy</html>")


def test_check_ready(ready_server):
    healthy, description = check(ready_server)

    assert healthy is True
    assert description == f"ready: {ready_server} returned 200"


def test_check_not_ready_gives_reason(loading_server):
    healthy, description = check(loading_server)

    assert healthy is False
    assert description == f"not ready: {loading_server} returned 503 (the model is still loading)"


def test_check_not_ready_without_json(plain_503_server):
    healthy, description = check(plain_503_server)

    assert healthy is False
    assert description == f"not ready: {plain_503_server} returned 503 (Service Unavailable)"


def test_check_nothing_listening():
    url = ready_url("127.0.0.1", free_port())

    healthy, description = check(url)

    assert healthy is False
    assert description.startswith(f"not reachable: {url} (")
    assert "refused" in description


def test_check_ignores_proxy_variables(ready_server, monkeypatch):
    # A proxy that does not exist: going through it would fail.
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")

    assert check(ready_server)[0] is True
