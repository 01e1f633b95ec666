"""What of artifact metadata and load failures reaches clients."""

from service.artifact import ArtifactError
from service.redaction import public_metadata, public_reason


def test_public_metadata_drops_paths():
    metadata = {
        "name": "surface",
        "created_at": "2026-01-01T00:00:00+00:00",
        "training": {"out": "/srv/models/surface.pt", "data": "C:\\data\\train.csv", "lr": 0.01},
        "tags": ["fast", "/tmp/x"],
    }

    assert public_metadata(metadata) == {
        "name": "surface",
        "created_at": "2026-01-01T00:00:00+00:00",
        "training": {"lr": 0.01},
        "tags": ["fast"],
    }


def test_public_reason_keeps_fault_only():
    errors = [
        (ArtifactError("artifact is empty: /srv/models/a.pt"), "artifact is empty"),
        (
            ArtifactError(
                "artifact weights do not match their checksum: /m/a.pt (metadata says x)"
            ),
            "artifact weights do not match their checksum",
        ),
        (PermissionError(13, "Permission denied", "/srv/m.pt"), "[Errno 13] Permission denied"),
        (RuntimeError("warm-up forward pass returned non-finite values"), None),
    ]

    for error, expected in errors:
        assert public_reason(error) == (expected or str(error))
        assert "/" not in public_reason(error)
