"""`world`: the fake Hub (the `hub` fixture) holding the test world of tests/hub/hub_world.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hub.hub_world import World, build_world
from tests.support.servers.hub import RunningHub


@pytest.fixture
def world(hub: RunningHub, tmp_path: Path) -> World:
    return build_world(hub, tmp_path)
