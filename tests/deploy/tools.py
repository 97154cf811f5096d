"""Paths of the command-line tools the deploy tests run: a missing tool fails the test in CI, skips it elsewhere."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHECKOV_VENV = Path(os.environ.get("CHECKOV_VENV", "/tmp/checkov-venv"))
"""checkov lives in a virtual environment of its own (.ci/run makes it): its pins would hold back the project's."""


def require(tool: str, path: str | None, how: str) -> str:
    """`path` when it is an executable file; else fail (CI) or skip, saying `how` to install it."""
    if path is not None and os.access(path, os.X_OK):
        return path
    message = f"{tool} is not installed ({how})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}: required in CI")
    pytest.skip(message)


def promtool() -> str:
    return require("promtool", shutil.which("promtool"), "apt-get install prometheus")


def checkov() -> str:
    return require(
        "checkov", str(CHECKOV_VENV / "bin" / "checkov"), f"python3 -m venv {CHECKOV_VENV} && its pip install checkov"
    )
