"""Settings of the API the client tests call: temporary data directory, the API tests' keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Settings
from tests.api.helpers import API_KEYS


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", api_keys=API_KEYS)
