import os
import shutil
import signal
from pathlib import Path

import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from service import workers
from service.metrics import exposition, multiprocess_metrics
from service.reload import CheckedReloadSupervisor
from service.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("cpus", "worker_count", "expected"),
    [(8, 1, 8), (8, 2, 4), (8, 3, 2), (2, 4, 1), (1, 1, 1)],
)
def test_torch_threads_split_cpu_quota_between_workers(monkeypatch, cpus, worker_count, expected):
    monkeypatch.setattr(workers, "available_cpus", lambda: cpus)

    settings = load_settings(workers=worker_count)

    assert workers.torch_threads(settings) == expected


def test_torch_threads_setting_wins(monkeypatch):
    monkeypatch.setattr(workers, "available_cpus", lambda: 8)

    assert workers.torch_threads(load_settings(workers=2, torch_threads=3)) == 3


def test_worker_app_reads_environment(monkeypatch, artifact_path):
    monkeypatch.setenv("SURFSERVE_MODEL_PATH", str(artifact_path))
    monkeypatch.setenv("SURFSERVE_BATCH_MAX_POINTS", "17")
    monkeypatch.setenv("SURFSERVE_DEVICE", "cpu")
    monkeypatch.setattr(workers, "configure_logging", lambda *args: None)
    frozen = []
    monkeypatch.setattr(workers, "freeze_startup_objects", lambda: frozen.append(True))

    app = workers.create_worker_app()

    assert app.state.settings.model_path == artifact_path
    assert app.state.batcher.max_points == 17
    assert frozen == [True]


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("workers", 0, "SURFSERVE_WORKERS=0 is invalid"),
        ("batch_max_points", 0, "SURFSERVE_BATCH_MAX_POINTS=0 is invalid"),
        ("batch_max_points", 4096, "SURFSERVE_BATCH_MAX_POINTS=4096 is invalid"),
        ("batch_max_wait_ms", -1, "SURFSERVE_BATCH_MAX_WAIT_MS=-1 is invalid"),
    ],
)
def test_bad_performance_settings_rejected(variable, value, fragment):
    with pytest.raises(SettingsError, match=fragment):
        load_settings(**{variable: value})


def _reload_counts(text: str) -> dict[str, float]:
    return {
        sample.labels["result"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "surfserve_model_reloads_total"
    }


def test_supervisor_counts_reloads_in_shared_folder(monkeypatch, tmp_path, artifact_path):
    # uvicorn's supervisor installs its signal handlers when built; keep pytest's.
    monkeypatch.setattr(signal, "signal", lambda *args: None)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    served = tmp_path / "served.pt"
    served.write_bytes(b"not a model")
    config = uvicorn.Config(workers.WORKER_APP_FACTORY, factory=True, workers=2, log_config=None)

    with multiprocess_metrics():
        folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        at_start = _reload_counts(exposition()[0].decode())
        # No workers run, so an accepted reload has none to restart.
        supervisor = CheckedReloadSupervisor(config, sockets=[], model_path=served)
        supervisor.handle_hup()
        shutil.copyfile(artifact_path, served)
        supervisor.handle_hup()
        supervisor.handle_hup()
        after = _reload_counts(exposition()[0].decode())

    assert at_start == {"success": 0, "failure": 0}
    assert after == {"success": 2, "failure": 1}
    assert not folder.exists()
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
