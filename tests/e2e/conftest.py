"""Fixtures of the end-to-end tests beyond the session artifact."""

import dataclasses
from pathlib import Path

import pytest

from tests import conftest as shared


@pytest.fixture(scope="session")
def second_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An artifact with other weights than the session one (another seed), for reloads."""
    config = dataclasses.replace(shared.SMALL_CONFIG, seed=shared.SMALL_CONFIG.seed + 1)
    return shared.train_small_artifact(tmp_path_factory.mktemp("second") / "surface.pt", config)
