"""The load benchmark runs end to end: both servers, wrk, floors and the report."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

# The benchmark installs wrk with apt-get when it runs as root, as it does in CI.
WRK_AVAILABLE = shutil.which("wrk") is not None or (
    os.geteuid() == 0 and shutil.which("apt-get") is not None
)

pytestmark = [
    pytest.mark.benchmark,
    pytest.mark.skipif(not WRK_AVAILABLE, reason="wrk is missing and cannot be installed"),
    pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset is not installed"),
]


def test_quick_benchmark_reports_ratios(artifact_path, tmp_path):
    results_path = tmp_path / "results.json"
    command = [
        sys.executable, "-m", "benchmarks.load", "--model", str(artifact_path), "--quick",
        "--seconds", "1", "--warmup", "0", "--repeats", "1", "--startups", "1",
        "--json", str(results_path),
    ]  # fmt: skip

    completed = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=os.environ
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "surfserve: predictions correct" in completed.stdout
    assert "baseline: predictions correct" in completed.stdout
    assert "Errors: none" in completed.stdout

    results = json.loads(results_path.read_text())
    rows = {row["workload"]["name"]: row for row in results["rows"]}
    one_point = rows["predict 1 point, JSON"]
    assert one_point["surfserve"]["requests_per_second"] > 0
    assert one_point["baseline"]["requests_per_second"] > 0
    assert one_point["floor_ms"] > 0
    assert rows["grid 1000x1000, npy"]["baseline"] is None
    assert set(results["batching"]) == {"off", "on, max wait 0 ms", "on, max wait 1 ms"}
    assert len(results["startup_seconds"]) == 1
    assert set(results["floors"]["chunk_sweep_1m"]) >= {"whole", "8192"}
