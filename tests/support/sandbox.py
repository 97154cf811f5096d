"""Shared test fixtures: the sandbox world (test size), built once and cached on disk across sessions.

The cache directory is `$UNLEARN_AUDIT_TEST_CACHE/sandbox-test-<version>-<seed>` when that variable is set,
else `<repo>/.sandbox/test-<version>-<seed>` (git-ignored). A build lock makes concurrent sessions wait for
one build instead of racing. Fixtures: `sandbox_root` (Path) and `sandbox_info` (SandboxInfo).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

SANDBOX_TEST_SEED = 0


def sandbox_test_root() -> Path:
    """Where the test-size sandbox is cached."""
    from evaluators.sandbox import SANDBOX_VERSION

    name = f"test-{SANDBOX_VERSION}-{SANDBOX_TEST_SEED}"
    cache = os.environ.get("UNLEARN_AUDIT_TEST_CACHE")
    if cache:
        return Path(cache) / f"sandbox-{name}"
    return Path(__file__).resolve().parents[2] / ".sandbox" / name


@pytest.fixture(scope="session")
def sandbox_info() -> Any:
    """The built test-size sandbox (SandboxInfo); builds it on first use (a few minutes on 2 cores)."""
    from evaluators.sandbox import build_sandbox

    return build_sandbox(sandbox_test_root(), size="test", seed=SANDBOX_TEST_SEED)


@pytest.fixture(scope="session")
def sandbox_root(sandbox_info: Any) -> Path:
    """Root directory of the built test-size sandbox (datasets/, models/, manifest.json)."""
    return Path(sandbox_info.root)


if __name__ == "__main__":  # `python -m tests.support.sandbox`: build the test world ahead (CI does, before pytest)
    import sys

    from service.cli.sandbox import build_sandbox_command

    sys.exit(build_sandbox_command(str(sandbox_test_root()), size="test", seed=SANDBOX_TEST_SEED))
