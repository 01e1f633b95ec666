"""Metrics, request ids and log lines in process."""

import io
import json
import logging
import sys

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.context import close_request, open_request
from service.logs import JsonFormatter, RequestIdFilter, TextFormatter
from service.metrics import RELOADS
from tests.api.inprocess import serving


@pytest.fixture
def api(artifact_path):
    with serving(artifact_path, max_points=50) as client:
        yield client


def _samples(client: TestClient) -> dict[tuple[str, frozenset], float]:
    text = client.get("/metrics").text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_is_prometheus_text(api):
    response = api.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE surfserve_requests_total counter" in response.text
    assert "# TYPE surfserve_request_duration_seconds histogram" in response.text
    assert "process_resident_memory_bytes" in response.text


def test_metrics_count_requests_by_route_and_status(api):
    before = _samples(api)

    api.post("/predict", json={"points": [[0, 0], [1, 1], [2, 2]]})
    api.post("/predict", json={"points": [[0, "a"]]})
    api.get("/grid", params={"nx": 4, "ny": 5})
    api.get("/v2/models/surface/ready")
    api.get("/no/such/path")
    after = _samples(api)

    def delta(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    requests = "surfserve_requests_total"
    assert delta(requests, route="/predict", method="POST", status="200") == 1
    assert delta(requests, route="/predict", method="POST", status="422") == 1
    assert delta(requests, route="/grid", method="GET", status="200") == 1
    # Route templates, not raw paths, keep the label set bounded.
    assert delta(requests, route="/v2/models/{name}/ready", method="GET", status="200") == 1
    assert delta(requests, route="unmatched", method="GET", status="404") == 1
    latency = "surfserve_request_duration_seconds_count"
    assert delta(latency, route="/predict", method="POST") == 2
    assert delta("surfserve_request_points_sum", route="/predict") == 3
    assert delta("surfserve_request_points_sum", route="/grid") == 20
    assert delta("surfserve_inference_duration_seconds_count") == 2
    rejected = "surfserve_rejected_requests_total"
    assert delta(rejected, reason="invalid_input") == 1
    assert delta(rejected, reason="not_found") == 1


def test_metrics_count_rejections_by_reason(api):
    before = _samples(api)

    api.post("/predict", json={"points": [[0, 0]] * 51})
    api.post("/predict", content=b" " * (api.app.state.settings.body_limit + 1))
    api.post("/v2/models/surface/infer", content=b"{}")
    api.post("/v2/models/surface/infer", content=b"{}", headers={"content-encoding": "br"})
    api.post("/predict", content=b"{}", headers={"content-type": "text/plain"})
    api.post("/predict", json={"points": [[0, 0]]}, headers={"accept": "text/html"})
    after = _samples(api)

    def delta(reason):
        name = "surfserve_rejected_requests_total"
        return _value(after, name, reason=reason) - _value(before, name, reason=reason)

    assert delta("payload_too_large") == 1
    assert delta("body_too_large") == 1
    # Both APIs count a client's invalid request and unsupported format the same way.
    assert delta("invalid_input") == 1
    assert delta("unsupported_media_type") == 2
    assert delta("not_acceptable") == 1
    assert delta("bad_request") == 0


def test_metrics_label_unknown_v2_paths_unmatched(api):
    before = _samples(api)

    api.get("/v2/no/such/endpoint")
    api.delete("/v2/models/surface/infer")
    after = _samples(api)

    def delta(**labels):
        name = "surfserve_requests_total"
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta(route="unmatched", method="GET", status="404") == 1
    # A known path with a method it does not take keeps its route template.
    assert delta(route="/v2/models/{name}/infer", method="DELETE", status="405") == 1
    assert [labels for name, labels in after if "/v2/{path:path}" in dict(labels).values()] == []


def test_metrics_reload_series_start_at_zero(artifact_path):
    # Forget the series that earlier tests' apps and reloads made in this process.
    RELOADS.clear()

    with serving(artifact_path) as client:
        samples = _samples(client)

    reloads = "surfserve_model_reloads_total"
    assert samples[(reloads, frozenset({("result", "success")}))] == 0
    assert samples[(reloads, frozenset({("result", "failure")}))] == 0


def test_metrics_model_info(api, artifact):
    samples = _samples(api)

    info = [
        dict(labels)
        for (name, labels), value in samples.items()
        if name == "surfserve_model_info" and value == 1
    ]
    assert info == [{"name": artifact.name, "version": artifact.version, "device": "cpu"}]


def test_request_id_echoed(api):
    response = api.post(
        "/predict", json={"points": [[0, 0]]}, headers={"X-Request-ID": "order-17:retry-2"}
    )

    assert response.headers["x-request-id"] == "order-17:retry-2"


def test_request_id_generated(api):
    first = api.get("/health/live").headers["x-request-id"]
    second = api.get("/health/live").headers["x-request-id"]

    assert len(first) == 32
    assert first != second


@pytest.mark.parametrize("received", ["", "a" * 129, "two words", "line\tbreak"])
def test_implausible_request_id_replaced(api, received):
    response = api.get("/health/live", headers={"X-Request-ID": received})

    assert response.headers["x-request-id"] != received
    assert len(response.headers["x-request-id"]) == 32


def test_request_id_on_error_responses(api):
    headers = {"X-Request-ID": "bad-one"}

    invalid = api.post("/predict", content=b"[", headers=headers)
    missing = api.get("/nowhere", headers=headers)

    assert invalid.headers["x-request-id"] == "bad-one"
    assert missing.headers["x-request-id"] == "bad-one"


def test_every_log_line_of_request_has_its_id(api, caplog):
    caplog.set_level(logging.DEBUG)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdFilter())

    api.post("/predict", content=b'{"points": [[0, NaN]]}', headers={"X-Request-ID": "trace-1"})

    lines = [record for record in caplog.records if getattr(record, "request_id", None)]
    assert {record.name for record in lines} >= {"service.errors", "service.access"}
    assert {record.request_id for record in lines} == {"trace-1"}
    access = next(record for record in lines if record.name == "service.access")
    assert access.levelno == logging.DEBUG
    assert access.status == 422
    assert access.route == "/predict"


def test_client_errors_not_logged_as_errors(api, caplog):
    caplog.set_level(logging.DEBUG)

    api.post("/predict", content=b"{")
    api.post("/predict", json={"points": [[0, 0]] * 51})
    api.get("/grid", params={"nx": 1})
    api.get("/missing")

    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []


def _json_line(record: logging.LogRecord) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.handle(record)
    return json.loads(stream.getvalue())


def test_json_log_line_fields():
    record = logging.makeLogRecord(
        {
            "name": "service.test",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "loaded %s",
            "args": ("surface",),
            "created": 0.0,
            "points": 3,
        }
    )

    line = _json_line(record)

    assert line == {
        "time": "1970-01-01T00:00:00.000+00:00",
        "level": "info",
        "logger": "service.test",
        "message": "loaded surface",
        "points": 3,
    }


def test_json_log_line_has_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("service.test").makeRecord(
            "service.test", logging.ERROR, __file__, 1, "failed", (), exc_info=True
        )
        record.exc_info = sys.exc_info()

    line = _json_line(record)

    assert line["level"] == "error"
    assert "ValueError: boom" in line["exception"]


def _text_line(record: logging.LogRecord) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    handler.addFilter(RequestIdFilter())
    handler.handle(record)
    return stream.getvalue()


def _record(msg: str, **extra) -> logging.LogRecord:
    fields = {"name": "service.access", "levelno": logging.DEBUG, "levelname": "DEBUG"}
    return logging.makeLogRecord({**fields, "msg": msg, "created": 0.0, **extra})


def test_text_log_line_has_extra_fields():
    record = _record(
        "request", method="POST", route="/predict", status=200, duration_ms=0.412, points=3
    )

    line = _text_line(record)

    # After the time stamp: level, logger, message, then the fields in the call's order.
    assert line.endswith("\n")
    assert line.rstrip("\n").split(" ", 2)[2] == (
        "DEBUG service.access: request "
        "method=POST route=/predict status=200 duration_ms=0.412 points=3"
    )


def test_text_log_line_request_id_last():
    _, token = open_request("trace-7")
    try:
        line = _text_line(_record("request", status=404))
    finally:
        close_request(token)

    assert line.rstrip("\n").endswith("request status=404 [request trace-7]")


def test_text_log_line_quotes_odd_values():
    line = _text_line(_record("request", path="/a b\nc", route="", note='x="y"'))

    assert line.count("\n") == 1
    assert 'path="/a b\\nc"' in line
    assert 'route=""' in line
    assert 'note="x=\\"y\\""' in line


def test_text_log_line_traceback_after_fields():
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed", points=2, exc_info=sys.exc_info())

    first, *rest = _text_line(record).splitlines()

    assert first.endswith("failed points=2")
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "ValueError: boom"


def test_text_log_line_of_request(api, caplog):
    caplog.set_level(logging.DEBUG, logger="service.access")

    api.post("/predict", json={"points": [[0, 0]]})

    access = next(record for record in caplog.records if record.name == "service.access")
    message = TextFormatter().format(access).split(": ", 1)[1]
    fields = message.split(" [request ")[0]
    assert fields.startswith("request method=POST route=/predict path=/predict status=200 ")
    assert " duration_ms=" in fields
    assert fields.endswith(" points=1")
