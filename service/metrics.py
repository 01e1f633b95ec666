"""Prometheus metrics of the service, and the exposition of ``GET /metrics``.

The metrics live in prometheus-client's default registry, next to its process
collector (resident memory, CPU seconds, open files) and Python GC collectors.
Labels are bounded: routes are route templates such as ``/v2/models/{name}/infer``
(``unmatched`` for unknown paths), methods outside the HTTP standard count as
``other``.

With several worker processes, the supervisor sets PROMETHEUS_MULTIPROC_DIR
before it starts them; each worker then writes its samples to files there, and
``GET /metrics`` from any worker adds up all of them (prometheus-client's
multiprocess mode, which has no process collector). The supervisor counts the
reloads it accepts or rejects in a file there too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

# Latency from a 1-point request (well under a millisecond) to a 4-million-point grid.
_SECONDS_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
_POINTS_BUCKETS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 4_000_000)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "surfserve_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "surfserve_request_duration_seconds",
    "Time from the start of a request to the end of its response, by route template",
    ["route", "method"],
    buckets=_SECONDS_BUCKETS,
)
REQUEST_POINTS = Histogram(
    "surfserve_request_points",
    "Points sent to the model per request (grid requests count nx*ny)",
    ["route"],
    buckets=_POINTS_BUCKETS,
)
INFERENCE_SECONDS = Histogram(
    "surfserve_inference_duration_seconds",
    "Time spent in forward passes of one predictor call, on the serving device",
    buckets=_SECONDS_BUCKETS,
)
REJECTED = Counter(
    "surfserve_rejected_requests",
    "Requests answered with an error status, by reason",
    ["reason"],
)
IN_PROGRESS = Gauge(
    "surfserve_requests_in_progress",
    "Requests being served now, health checks and metrics excluded",
    multiprocess_mode="livesum",
)
MODEL_INFO = Gauge(
    "surfserve_model_info",
    "The served model: 1 for its name, version and device, absent while none is loaded",
    ["name", "version", "device"],
    multiprocess_mode="livemax",
)
RELOADS = Counter(
    "surfserve_model_reloads",
    "Artifact reloads by result: success, or failure while the old model kept serving",
    ["result"],
)

RELOAD_RESULTS = ("success", "failure")

_MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_model_labels: tuple[str, str, str] | None = None

# Label children cached per label tuple: .labels() takes a lock and hashes every call.
_request_series: dict[tuple[str, str, int], tuple[Counter, Histogram, Histogram]] = {}

# Status codes whose rejection reason is plain from the status alone, used when no
# code further in (an error handler, a middleware) recorded a reason.
_REASON_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    500: "internal_error",
    503: "model_not_ready",
    504: "timeout",
}


def observe_request(
    route: str, method: str, status: int, seconds: float, points: int, rejection: str | None
) -> None:
    """Count one completed request in every request metric.

    ``rejection`` is the reason of an error response, None for a success or for a
    health check's 503 (which reports a state, not a rejected request).
    """
    if method not in _METHODS:
        method = "other"
    series = _request_series.get((route, method, status))
    if series is None:
        series = (
            REQUESTS.labels(route, method, str(status)),
            REQUEST_SECONDS.labels(route, method),
            REQUEST_POINTS.labels(route),
        )
        _request_series[(route, method, status)] = series
    series[0].inc()
    series[1].observe(seconds)

    if points:
        series[2].observe(points)
    if rejection is not None:
        REJECTED.labels(rejection).inc()


def rejection_reason(status: int, recorded: str | None) -> str | None:
    """Return why a request with this status was rejected: the recorded reason, or the status's."""
    if status < 400:
        return None
    return recorded or _REASON_BY_STATUS.get(status, f"http_{status}")


def observe_inference(seconds: float) -> None:
    INFERENCE_SECONDS.observe(seconds)


def set_model_info(name: str, version: str, device: str) -> None:
    """Make the given model the one this process reports in ``surfserve_model_info``."""
    global _model_labels
    if _model_labels is not None:
        # Zero first: a multiprocess sample file keeps the last value of a removed series.
        MODEL_INFO.labels(*_model_labels).set(0)
        MODEL_INFO.remove(*_model_labels)
    _model_labels = (name, version, device)
    MODEL_INFO.labels(*_model_labels).set(1)


def initialize_reload_series() -> None:
    """Create every series of ``surfserve_model_reloads_total`` at 0.

    Before the first reload, an alert on reload failures then reads 0 instead of no series.
    """
    for result in RELOAD_RESULTS:
        RELOADS.labels(result)


def exposition() -> tuple[bytes, str]:
    """Return the text exposition of every metric and its content type."""
    if _MULTIPROCESS_DIR in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


@contextmanager
def multiprocess_metrics() -> Iterator[None]:
    """Share a metrics folder with the worker processes started inside, and count reloads there.

    The folder is a fresh temporary one, removed after, unless PROMETHEUS_MULTIPROC_DIR
    names one already. This process (the supervisor) counts its reloads in that folder.
    """
    if _MULTIPROCESS_DIR in os.environ:
        # The operator chose the folder, and owns its cleaning. The variable was set
        # when prometheus-client was imported, so this process writes there already.
        initialize_reload_series()
        yield
        return

    folder = tempfile.mkdtemp(prefix="surfserve-metrics-")
    # prometheus-client chose in-memory values when it was imported, before the
    # variable was set. Each series reads values.ValueClass when it is created, so
    # reload series created after the switch below write to the folder.
    # NOTE: values.ValueClass is not a documented interface (checked with
    # prometheus-client 0.26); a release that renames it breaks this switch.
    # clear() drops in-memory series, and warns once the variable is set.
    RELOADS.clear()
    in_memory = values.ValueClass
    os.environ[_MULTIPROCESS_DIR] = folder
    try:
        values.ValueClass = values.get_value_class()
        initialize_reload_series()
        yield
    finally:
        values.ValueClass = in_memory
        del os.environ[_MULTIPROCESS_DIR]
        RELOADS.clear()
        shutil.rmtree(folder, ignore_errors=True)


def forget_this_process() -> None:
    """Drop this process's live gauges from the shared files when it stops (multiprocess mode)."""
    if _MULTIPROCESS_DIR in os.environ:
        multiprocess.mark_process_dead(os.getpid())
