"""Redaction of artifact metadata and load failures before clients see them.

Responses never carry file system paths of the serving machine or of the
training machine: they tell a client nothing it can use, and they map the
server's layout for anyone probing it. The service log keeps the full text.
"""

from __future__ import annotations

from typing import Any

_PATH_SEPARATORS = ("/", "\\")


def public_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Return artifact metadata without the string values that are file system paths.

    The training configuration stores where the artifact and its data were
    written and read (``training.out``, for example); those keys are left out.
    """
    return {key: _without_paths(value) for key, value in metadata.items() if not _is_path(value)}


def public_reason(error: BaseException) -> str:
    """Return the first clause of an artifact error, which names the fault but not the path.

    ArtifactError and OSError messages put the path after the first ": ", as in
    "artifact is empty: /models/surface.pt" or "[Errno 13] Permission denied: '/m'".
    """
    return str(error).split(": ", 1)[0]


def _without_paths(value: Any) -> Any:
    if isinstance(value, dict):
        return public_metadata(value)
    if isinstance(value, list):
        return [_without_paths(item) for item in value if not _is_path(item)]
    return value


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and any(separator in value for separator in _PATH_SEPARATORS)
