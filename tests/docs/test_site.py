"""The documentation site builds with `mkdocs build --strict`: no broken link or anchor, no page left out."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def _mkdocs() -> str:
    exe = shutil.which("mkdocs")
    if exe is None:
        message = "mkdocs is not installed (the `test` extra installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return exe


def test_site_builds_strictly_with_a_page_per_doc(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [_mkdocs(), "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (site / "index.html").is_file()
    for page in sorted(DOCS.glob("*.md")):
        if page.stem == "index":
            continue
        assert (site / page.stem / "index.html").is_file(), f"no page built for docs/{page.name}"
