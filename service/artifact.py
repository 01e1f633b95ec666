"""The surfserve artifact format: one TorchScript file with JSON metadata inside.

Training writes artifacts and the service reads them; both go through this module,
so the format and its metadata schema live in one place.

Layout: a TorchScript archive (``torch.jit.save``) whose extra file
``surfserve/metadata.json`` contains the metadata below. The module maps a float32
tensor of shape (N, 2) to a float32 tensor of shape (N, 1).

The module also carries the density map of the training inputs as the buffer
``extrapolation_density``, which the metadata key ``extrapolation`` describes;
``service.extrapolation`` reads both. Keeping it in the module puts it under
the weights checksum and keeps the artifact one file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

SCHEMA_VERSION = 1
METADATA_FILE = "surfserve/metadata.json"
# Random temporary names to try before giving up. With 8 hex digits even the first rarely clashes.
TEMPORARY_NAME_ATTEMPTS = 100
# With O_CREAT, O_EXCL also fails on an existing symlink (POSIX open()), so none is followed.
_TEMPORARY_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)

# Keys every metadata document must carry, whatever else it holds.
REQUIRED_KEYS = (
    "schema_version",
    "name",
    "version",
    "architecture",
    "training",
    "seed",
    "final_loss",
    "metrics",
    "input_domain",
    "extrapolation",
    "weights_sha256",
    "torch_version",
    "created_at",
)


class ArtifactError(Exception):
    """Raised when an artifact is missing, unreadable, corrupt or of an unknown schema."""


@dataclass(frozen=True)
class LoadedArtifact:
    """A TorchScript module on its device, with the metadata stored beside its weights."""

    module: torch.jit.ScriptModule
    metadata: dict[str, Any]
    path: Path

    @property
    def name(self) -> str:
        return str(self.metadata["name"])

    @property
    def version(self) -> str:
        return str(self.metadata["version"])


@contextmanager
def _quiet_torchscript() -> Iterator[None]:
    # NOTE: torch 2.13 marks torch.jit.script/save/load as deprecated in favour of
    # torch.export; TorchScript is still the format this service ships, so the
    # warning is silenced here and nowhere else.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning
        )
        yield


def script_module(module: torch.nn.Module) -> torch.jit.ScriptModule:
    """Compile a module to TorchScript."""
    with _quiet_torchscript():
        return torch.jit.script(module)


def weights_digest(module: torch.nn.Module) -> str:
    """Return the SHA-256 of a module's parameters and buffers, in name order.

    The digest depends on values, shapes and dtypes only, not on the device.
    """
    digest = hashlib.sha256()
    tensors = dict(module.named_parameters())
    tensors.update(dict(module.named_buffers()))
    for name in sorted(tensors):
        tensor = tensors[name].detach().to("cpu").contiguous()
        digest.update(name.encode())
        digest.update(str(tensor.dtype).encode())
        digest.update(repr(tuple(tensor.shape)).encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def save_artifact(module: torch.jit.ScriptModule, metadata: dict[str, Any], path: Path) -> Path:
    """Write a TorchScript module and its metadata to ``path`` atomically.

    The file is written to a temporary name in the same folder, flushed to disk and
    renamed, so a reader sees either the old artifact or the complete new one.
    """
    missing = [key for key in REQUIRED_KEYS if key not in metadata]
    if missing:
        raise ArtifactError(f"metadata is missing required keys: {', '.join(missing)}")
    if metadata["schema_version"] != SCHEMA_VERSION:
        raise ArtifactError(
            f"metadata schema_version is {metadata['schema_version']!r}, "
            f"this build writes {SCHEMA_VERSION}"
        )

    # Serialise in memory first, so an encoding error leaves nothing on disk.
    buffer = io.BytesIO()
    extra_files = {METADATA_FILE: json.dumps(metadata, indent=2, sort_keys=True).encode()}
    with _quiet_torchscript():
        torch.jit.save(module, buffer, _extra_files=extra_files)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomically(path, buffer.getvalue())
    return path


def write_file_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same folder.

    The temporary file is flushed to disk and renamed over ``path``, then the folder
    is flushed. A reader, also one after a crash, reads either the old file or the
    complete new one. The file gets the mode that ``open(path, "w")`` gives a new
    file, 0o666 masked by the umask, and does not keep the mode of a file it replaces.
    """
    path = Path(path)
    handle, temporary = _create_temporary(path)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise

    # Persist the rename itself; a crash right after os.replace could otherwise lose it.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _create_temporary(path: Path) -> tuple[int, Path]:
    for _ in range(TEMPORARY_NAME_ATTEMPTS):
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            # With 0o666 the kernel applies the umask as open() does, so no umask read can race.
            handle = os.open(temporary, _TEMPORARY_FLAGS, 0o666)
        except FileExistsError:
            continue
        return handle, temporary
    raise FileExistsError(
        f"failed to create a temporary file for {path} because all "
        f"{TEMPORARY_NAME_ATTEMPTS} random names tried already exist"
    )


def read_metadata(path: Path) -> dict[str, Any]:
    """Read and check an artifact's metadata without keeping the module."""
    return load_artifact(path, torch.device("cpu")).metadata


def load_artifact(path: Path, device: torch.device) -> LoadedArtifact:
    """Load an artifact onto ``device`` and check its metadata and weights.

    Raises ArtifactError with a one-line reason for a missing, empty, corrupt or
    truncated file, an unknown schema version, or weights that do not match the
    checksum in the metadata.
    """
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"artifact not found: {path}")
    if not path.is_file():
        raise ArtifactError(f"artifact is not a regular file: {path}")
    if path.stat().st_size == 0:
        raise ArtifactError(f"artifact is empty: {path}")

    # torch.jit.load fills the values of this dict with the stored bytes.
    extra_files = {METADATA_FILE: ""}
    try:
        with _quiet_torchscript():
            module = torch.jit.load(str(path), map_location=device, _extra_files=extra_files)
    except Exception as error:  # torch raises RuntimeError and friends for bad archives
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ArtifactError(
            f"artifact is not a readable TorchScript file: {path} ({reason})"
        ) from error

    metadata = _parse_metadata(extra_files[METADATA_FILE], path)

    actual = weights_digest(module)
    if actual != metadata["weights_sha256"]:
        raise ArtifactError(
            f"artifact weights do not match their checksum: {path} "
            f"(metadata says {metadata['weights_sha256'][:12]}…, weights hash to {actual[:12]}…)"
        )

    # A served model is never trained: frozen parameters make it safe to call in
    # any autograd mode (TorchScript fails when inference-mode and grad-mode calls mix).
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return LoadedArtifact(module=module, metadata=metadata, path=path)


def _parse_metadata(raw: bytes | str, path: Path) -> dict[str, Any]:
    if not raw:
        raise ArtifactError(f"artifact has no surfserve metadata ({METADATA_FILE}): {path}")
    try:
        metadata = json.loads(raw)
    except ValueError as error:
        raise ArtifactError(f"artifact metadata is not valid JSON: {path} ({error})") from error
    if not isinstance(metadata, dict):
        raise ArtifactError(f"artifact metadata is not a JSON object: {path}")

    schema = metadata.get("schema_version")
    if schema != SCHEMA_VERSION:
        raise ArtifactError(
            f"artifact schema version {schema!r} is not supported: {path} "
            f"(this build reads schema version {SCHEMA_VERSION}; retrain with "
            f"`python -m training` or upgrade surfserve)"
        )

    missing = [key for key in REQUIRED_KEYS if key not in metadata]
    if missing:
        raise ArtifactError(f"artifact metadata is missing keys {', '.join(missing)}: {path}")
    return metadata
