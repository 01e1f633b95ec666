import json
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from service import artifact as artifact_format
from service.artifact import (
    METADATA_FILE,
    REQUIRED_KEYS,
    SCHEMA_VERSION,
    ArtifactError,
    load_artifact,
    save_artifact,
    script_module,
    weights_digest,
    write_file_atomically,
)
from tests.conftest import SMALL_CONFIG
from training.model import SurfaceModel

CPU = torch.device("cpu")


def _rewrite_metadata(source: Path, target: Path, change) -> None:
    """Copy a TorchScript zip, passing its metadata JSON through ``change``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename.endswith(METADATA_FILE):
                data = json.dumps(change(json.loads(data))).encode()
            new.writestr(item, data)


def test_round_trip_keeps_weights_and_metadata(artifact_path, artifact):
    metadata = artifact.metadata

    for key in REQUIRED_KEYS:
        assert key in metadata
    assert metadata["schema_version"] == SCHEMA_VERSION
    assert metadata["name"] == "surface"
    assert metadata["version"] == metadata["weights_sha256"][:12]
    assert metadata["training"]["samples"] == SMALL_CONFIG.samples
    assert metadata["training"]["hidden"] == SMALL_CONFIG.hidden
    assert metadata["seed"] == SMALL_CONFIG.seed
    assert metadata["torch_version"] == torch.__version__
    assert set(metadata["input_domain"]) == {"x0", "x1"}
    assert set(metadata["input_domain"]["x0"]) == {"min", "max", "mean", "std"}
    assert metadata["metrics"]["rmse_clean"] > 0
    assert metadata["final_loss"] > 0


def test_metadata_travels_inside_the_file(artifact_path):
    with zipfile.ZipFile(artifact_path) as archive:
        names = [name for name in archive.namelist() if name.endswith(METADATA_FILE)]

    assert len(names) == 1


def test_save_is_atomic_and_leaves_no_temporary(tmp_path):
    module = script_module(SurfaceModel(hidden=4))
    metadata = _metadata_for(module)
    path = tmp_path / "model.pt"

    save_artifact(module, metadata, path)

    assert load_artifact(path, CPU).version == metadata["version"]
    assert [entry.name for entry in tmp_path.iterdir()] == ["model.pt"]


def test_failed_save_keeps_previous_artifact(tmp_path, monkeypatch):
    module = script_module(SurfaceModel(hidden=4))
    path = tmp_path / "model.pt"
    save_artifact(module, _metadata_for(module), path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(artifact_format.os, "replace", crash)
    other = script_module(SurfaceModel(hidden=5))
    with pytest.raises(OSError, match="disk full"):
        save_artifact(other, _metadata_for(other), path)

    assert path.read_bytes() == before
    assert [entry.name for entry in tmp_path.iterdir()] == ["model.pt"]


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize(
    ("umask", "mode"),
    [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)],
    ids=["umask-022", "umask-077", "umask-002"],
)
def test_save_mode_follows_umask(tmp_path, umask, mode):
    module = script_module(SurfaceModel(hidden=4))
    path = tmp_path / "model.pt"
    reference = tmp_path / "reference"

    with _umask(umask):
        save_artifact(module, _metadata_for(module), path)
        with open(reference, "w"):
            pass

    assert path.stat().st_mode & 0o777 == mode
    assert reference.stat().st_mode & 0o777 == mode


def test_replaced_file_gets_umask_mode(tmp_path):
    path = tmp_path / "report.json"
    path.write_bytes(b"old")
    path.chmod(0o600)

    with _umask(0o022):
        write_file_atomically(path, b"new")

    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 == 0o644
    assert [entry.name for entry in tmp_path.iterdir()] == ["report.json"]


def test_write_skips_taken_temporary_name(tmp_path, monkeypatch):
    names = iter(["taken", "free"])
    monkeypatch.setattr(artifact_format.secrets, "token_hex", lambda nbytes: next(names))
    outside = tmp_path / "outside"
    (tmp_path / ".model.pt.taken.tmp").symlink_to(outside)

    write_file_atomically(tmp_path / "model.pt", b"content")

    assert (tmp_path / "model.pt").read_bytes() == b"content"
    assert not outside.exists()
    assert sorted(entry.name for entry in tmp_path.iterdir()) == [".model.pt.taken.tmp", "model.pt"]


def test_save_rejects_incomplete_metadata(tmp_path):
    module = script_module(SurfaceModel(hidden=4))

    with pytest.raises(ArtifactError, match=r"missing required keys: .*version"):
        save_artifact(module, {"schema_version": SCHEMA_VERSION, "name": "x"}, tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()


def test_load_missing_file(tmp_path):
    with pytest.raises(ArtifactError, match=r"artifact not found: .*absent\.pt"):
        load_artifact(tmp_path / "absent.pt", CPU)


def test_load_empty_file(tmp_path):
    path = tmp_path / "empty.pt"
    path.touch()

    with pytest.raises(ArtifactError, match=r"artifact is empty: .*empty\.pt"):
        load_artifact(path, CPU)


def test_load_truncated_file(tmp_path, artifact_path):
    path = tmp_path / "truncated.pt"
    data = artifact_path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(ArtifactError, match="not a readable TorchScript file"):
        load_artifact(path, CPU)


def test_load_corrupt_file(tmp_path):
    path = tmp_path / "corrupt.pt"
    path.write_bytes(b"this is not a zip archive" * 10)

    with pytest.raises(ArtifactError, match="not a readable TorchScript file"):
        load_artifact(path, CPU)


def test_load_unknown_schema_version(tmp_path, artifact_path):
    path = tmp_path / "future.pt"
    _rewrite_metadata(artifact_path, path, lambda meta: {**meta, "schema_version": 99})

    with pytest.raises(ArtifactError, match="schema version 99 is not supported"):
        load_artifact(path, CPU)


def test_load_checksum_mismatch(tmp_path, artifact_path):
    path = tmp_path / "tampered.pt"
    _rewrite_metadata(artifact_path, path, lambda meta: {**meta, "weights_sha256": "0" * 64})

    with pytest.raises(ArtifactError, match="weights do not match their checksum"):
        load_artifact(path, CPU)


def test_load_without_metadata(tmp_path):
    path = tmp_path / "plain.pt"
    module = script_module(SurfaceModel(hidden=4))
    module.save(str(path))

    with pytest.raises(ArtifactError, match="has no surfserve metadata"):
        load_artifact(path, CPU)


def test_digest_ignores_device_but_sees_values():
    torch.manual_seed(0)
    model = SurfaceModel(hidden=4)
    before = weights_digest(model)

    with torch.no_grad():
        model.net[0].bias[0] += 1

    assert weights_digest(model) != before


def _metadata_for(module) -> dict:
    digest = weights_digest(module)
    return {
        "schema_version": SCHEMA_VERSION,
        "name": "test",
        "version": digest[:12],
        "architecture": {},
        "training": {},
        "seed": 0,
        "final_loss": 0.0,
        "metrics": {},
        "input_domain": {},
        "extrapolation": {},
        "weights_sha256": digest,
        "torch_version": torch.__version__,
        "created_at": "2026-01-01T00:00:00+00:00",
    }
