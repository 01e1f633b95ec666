"""The benchmark's pure parts: the report table, wrk's summary and the KServe body."""

import orjson

from benchmarks.peers import _kserve_body
from benchmarks.report import Row, render
from benchmarks.workloads import WORKLOADS, Measurement
from benchmarks.wrk import _parse


def _measurement(rate, p99=10.0):
    return Measurement(
        requests_per_second=rate,
        points_per_second=rate,
        latency_mean_ms=5.0,
        latency_p50_ms=4.0,
        latency_p99_ms=p99,
        non_2xx=0,
        socket_errors=0,
    )


def test_report_gives_ratios_to_baseline_floor_and_peers():
    row = Row(WORKLOADS[0], _measurement(3000), _measurement(1500), floor_ms=0.1)
    row.peers = {"kserve": _measurement(1000), "litserve": _measurement(0)}

    report = render([row], [1.5, 1.7, 1.6], {"off": _measurement(1500)}, {})

    table_line = next(line for line in report.splitlines() if line.startswith("| predict 1 point"))
    assert "| 2.00x |" in table_line
    # 1 / 3000 s per request against a 0.1 ms floor.
    assert table_line.endswith("| 0.100 | 3.33x |")
    assert "1,000.0, p99 10.0 (3.00x) | - |" in report
    assert "median 1.60" in report
    assert "Errors: none" in report


def test_report_lists_failed_requests():
    failing = _measurement(100)
    failing.non_2xx = 7

    report = render([Row(WORKLOADS[1], failing)], [1.0], {}, {})

    assert "Errors: predict 1,000 points, JSON: 7 non-2xx, 0 socket errors" in report


def test_wrk_summary_parsed():
    output = (
        "Running 1s test\n"
        'WRK_JSON {"requests": 200, "duration_us": 2000000, "bytes": 1, "errors_connect": 1, '
        '"errors_read": 2, "errors_write": 0, "errors_status": 3, "errors_timeout": 4, '
        '"latency_mean_us": 1500.5, "latency_p50_us": 1000, "latency_p99_us": 9000, '
        '"latency_max_us": 12000}\n'
    )

    result = _parse(output)

    assert result.requests_per_second == 100
    assert result.non_2xx == 3
    assert result.socket_errors == 7
    assert result.latency_p99_ms == 9.0


def test_kserve_body_carries_same_points(tmp_path):
    body = tmp_path / "points.json"
    body.write_bytes(orjson.dumps({"points": [[0.5, -1.0], [2.0, 3.0]]}))

    request = orjson.loads(_kserve_body(body, tmp_path).read_bytes())

    assert request == {
        "inputs": [
            {"name": "input", "shape": [2, 2], "datatype": "FP32", "data": [0.5, -1.0, 2.0, 3.0]}
        ]
    }
