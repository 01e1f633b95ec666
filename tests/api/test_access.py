"""Access control in process: bearer token, CORS, and what responses never reveal."""

import logging
import time

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.api.inprocess import CPU, serving

KEY = "s3cret-token_value"


@pytest.fixture
def guarded(artifact_path):
    with serving(artifact_path, api_key=KEY) as client:
        yield client


PROTECTED = [
    ("POST", "/predict", {"json": {"points": [[0, 0]]}}),
    ("GET", "/grid", {"params": {"nx": 3, "ny": 3}}),
    ("GET", "/model", {}),
    ("GET", "/openapi.json", {}),
    ("GET", "/v2", {}),
    ("GET", "/v2/models/surface", {}),
    ("POST", "/v2/models/surface/infer", {"json": {"inputs": []}}),
    ("GET", "/no/such/route", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), PROTECTED, ids=[p[1] for p in PROTECTED])
def test_missing_token_is_401(guarded, method, path, kwargs):
    response = guarded.request(method, path, **kwargs)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="surfserve"'
    assert KEY not in response.text


def test_401_body_names_the_fix(guarded):
    response = guarded.post("/predict", json={"points": [[0, 0]]})

    assert response.json() == {
        "error": {
            "code": "unauthorized",
            "message": "missing bearer token; send the header 'Authorization: Bearer <token>' "
            "with the token set in SURFSERVE_API_KEY",
        }
    }


def test_v2_401_has_protocol_shape(guarded):
    response = guarded.get("/v2/models/surface")

    assert set(response.json()) == {"error"}
    assert response.json()["error"].startswith("missing bearer token")


@pytest.mark.parametrize(
    "credentials",
    [f"Bearer {KEY}x", f"Bearer {KEY[:-1]}", "Bearer ", f"Basic {KEY}", KEY, "Bearer wrong"],
)
def test_wrong_token_is_401(guarded, credentials):
    response = guarded.get("/model", headers={"Authorization": credentials})

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="surfserve"')


def test_invalid_token_challenge(guarded):
    response = guarded.get("/model", headers={"Authorization": "Bearer wrong"})

    assert response.headers["www-authenticate"] == 'Bearer realm="surfserve", error="invalid_token"'
    assert response.json()["error"]["message"].startswith("invalid bearer token")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_valid_token_passes(guarded, scheme):
    headers = {"Authorization": f"{scheme} {KEY}"}

    predict = guarded.post("/predict", json={"points": [[0, 0]]}, headers=headers)
    v2 = guarded.get("/v2/models/surface", headers=headers)

    assert predict.status_code == 200
    assert v2.status_code == 200


@pytest.mark.parametrize(
    "path", ["/health/live", "/health/ready", "/v2/health/live", "/v2/health/ready", "/metrics"]
)
def test_health_and_metrics_need_no_token(guarded, path):
    assert guarded.get(path).status_code == 200


def test_openapi_declares_bearer_scheme(guarded):
    document = guarded.get("/openapi.json", headers={"Authorization": f"Bearer {KEY}"}).json()

    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
    }
    predict = document["paths"]["/predict"]["post"]
    assert predict["security"] == [{"bearer": []}]
    assert "401" in predict["responses"]
    assert "security" not in document["paths"]["/health/ready"]["get"]


def test_no_auth_by_default(artifact_path):
    with serving(artifact_path) as client:
        response = client.post("/predict", json={"points": [[0, 0]]})

    assert response.status_code == 200


def test_cors_off_by_default(artifact_path):
    with serving(artifact_path) as client:
        simple = client.get("/health/live", headers={"Origin": "https://app.example.com"})
        preflight = client.options(
            "/predict",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
            },
        )

    assert "access-control-allow-origin" not in simple.headers
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code == 405


def test_cors_allows_configured_origin(artifact_path):
    settings = {"cors_origins": ["https://app.example.com"], "api_key": KEY}
    with serving(artifact_path, **settings) as client:
        preflight = client.options(
            "/predict",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        allowed = client.post(
            "/predict",
            json={"points": [[0, 0]]},
            headers={"Origin": "https://app.example.com", "Authorization": f"Bearer {KEY}"},
        )
        other = client.post(
            "/predict",
            json={"points": [[0, 0]]},
            headers={"Origin": "https://evil.example.net", "Authorization": f"Bearer {KEY}"},
        )

    # The browser's preflight carries no token and must still succeed.
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers


ORIGIN = "https://app.example.com"
# Response headers a browser shows to scripts without Access-Control-Expose-Headers
# (the CORS-safelisted response headers of the Fetch standard).
SAFELISTED_RESPONSE_HEADERS = frozenset(
    {
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    }
)


@pytest.fixture
def cross_origin(artifact_path):
    with serving(artifact_path, cors_origins=[ORIGIN]) as client:
        yield client


def _binary_v2_request() -> tuple[bytes, dict[str, str]]:
    raw = np.array([[0.25, -1.0]], dtype="<f4").tobytes()
    tensor = {
        "name": "input",
        "shape": [1, 2],
        "datatype": "FP32",
        "parameters": {"binary_data_size": len(raw)},
    }
    header = orjson.dumps({"inputs": [tensor], "parameters": {"binary_data_output": True}})
    return header + raw, {"Inference-Header-Content-Length": str(len(header))}


def _send_npy_grid(client):
    return client.get(
        "/grid", params={"nx": 3, "ny": 3, "format": "npy"}, headers={"Origin": ORIGIN}
    )


def _send_binary_predict(client):
    return client.post(
        "/predict",
        content=np.zeros(2, dtype="<f4").tobytes(),
        headers={
            "Origin": ORIGIN,
            "Content-Type": "application/octet-stream",
            "Accept": "application/octet-stream",
        },
    )


def _send_binary_v2_infer(client):
    body, headers = _binary_v2_request()
    return client.post(
        "/v2/models/surface/infer", content=body, headers={"Origin": ORIGIN, **headers}
    )


@pytest.mark.parametrize(
    ("send", "own_header"),
    [
        (_send_npy_grid, "x-surfserve-min"),
        (_send_binary_predict, "x-surfserve-extrapolated-points"),
        (_send_binary_v2_infer, "inference-header-content-length"),
    ],
    ids=["grid-npy", "predict-binary", "v2-binary"],
)
def test_cors_exposes_every_response_header(cross_origin, send, own_header):
    response = send(cross_origin)

    assert response.status_code == 200
    assert own_header in response.headers
    exposed = {
        name.strip().lower()
        for name in response.headers["access-control-expose-headers"].split(",")
    }
    hidden = {
        name
        for name in response.headers
        if not name.startswith("access-control-")
        and name != "vary"
        and name not in SAFELISTED_RESPONSE_HEADERS
        and name not in exposed
    }
    assert hidden == set()


def test_cors_preflight_allows_binary_and_compressed_bodies(cross_origin):
    requested = [
        "authorization",
        "content-type",
        "content-encoding",
        "inference-header-content-length",
        "x-request-id",
    ]

    preflight = cross_origin.options(
        "/v2/models/surface/infer",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ", ".join(requested),
        },
    )

    assert preflight.status_code == 200, preflight.text
    allowed = {
        name.strip().lower()
        for name in preflight.headers["access-control-allow-headers"].split(",")
    }
    for name in requested:
        assert name in allowed


def test_model_metadata_has_no_paths(artifact_path, artifact):
    with serving(artifact_path) as client:
        body = client.get("/model").text

    assert str(artifact_path) not in body
    assert str(artifact_path.parent) not in body
    assert "out" not in client.get("/model").json()["training"]
    assert artifact.metadata["training"]["out"]


def test_load_failure_reason_has_no_path(tmp_path):
    broken = tmp_path / "secret-dir" / "broken.pt"
    broken.parent.mkdir()
    broken.write_bytes(b"not a model")
    reasons = []
    app = create_app(Settings(model_path=broken), CPU, on_fatal=reasons.append)
    with TestClient(app) as client:
        deadline = time.monotonic() + 10
        while not reasons and time.monotonic() < deadline:
            time.sleep(0.01)
        ready = client.get("/health/ready")
        predict = client.post("/predict", json={"points": [[0, 0]]})

    assert ready.json() == {
        "status": "not_ready",
        "reason": "cannot load artifact: artifact is not a readable TorchScript file",
    }
    assert "secret-dir" not in predict.text
    assert predict.json()["error"]["message"] == (
        "model not ready: cannot load artifact: artifact is not a readable TorchScript file"
    )
    # The full reason, path included, goes to the log and the exit line.
    assert str(broken) in reasons[0]


def test_crash_response_has_no_internals(artifact_path, monkeypatch):
    from service.predictor import Predictor

    def explode(self, points):
        raise RuntimeError(f"CUDA error in {__file__}")

    with serving(artifact_path) as client:
        monkeypatch.setattr(Predictor, "predict", explode)
        response = client.post(
            "/predict", json={"points": [[0, 0]]}, headers={"X-Request-ID": "crash-1"}
        )

    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "internal server error"}
    }
    assert response.headers["x-request-id"] == "crash-1"
    assert __file__ not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, ["authentication off: set SURFSERVE_API_KEY to require a bearer token"]),
        (
            {"api_key": KEY, "cors_origins": "https://app.example.com"},
            [
                "authentication on: a bearer token is required except on health and metrics",
                "CORS on for origins https://app.example.com",
            ],
        ),
    ],
    ids=["open", "guarded"],
)
def test_startup_logs_access_settings(artifact_path, caplog, settings, expected):
    caplog.set_level(logging.INFO, logger="service.app")

    create_app(Settings(model_path=artifact_path, **settings), CPU)

    messages = [record.getMessage() for record in caplog.records if record.name == "service.app"]
    assert messages == expected
    assert KEY not in caplog.text
