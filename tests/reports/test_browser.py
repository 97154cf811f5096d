"""The HTML report in a real browser: headless Debian chromium loads a real server's page.

Fails (does not skip) when CI is set and chromium is missing: `.ci/run` installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from service.store import SqlJobStore
from tests.reports.server import report_app, seed_finished_job, serve

pytestmark = pytest.mark.slow

_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1100,1500",
]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (apt-get install -y chromium)")
        pytest.skip("chromium not installed")
    return found


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_report_renders_in_chromium(sqlite_store: SqlJobStore, sqlite_url: str, tmp_path: Path) -> None:
    chromium = _chromium()
    sc = await seed_finished_job(sqlite_store)
    assert sc.checks.forget is not None and sc.checks.forget.headline is not None
    headline = f"{sc.checks.forget.headline.value:.3f}"
    # The server opens its own store on the same SQLite file, in its own thread and loop.
    with serve(report_app(url=sqlite_url)) as base:
        url = f"{base}/v1/evaluations/{sc.evaluation_id}/report"
        dom = _run(chromium, tmp_path / "profile-dom", "--dump-dom", url)
        screenshot = tmp_path / "report.png"
        shot = _run(chromium, tmp_path / "profile-shot", f"--screenshot={screenshot}", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "Unlearning audit" in html and sc.evaluation_id in html
    for check, result in (
        ("forget", sc.checks.forget),
        ("refusal", sc.checks.refusal),
        ("collateral", sc.checks.collateral),
    ):
        assert result is not None
        assert f'id="glance-{check}"' in html
        assert f'<span class="badge {result.verdict}">{result.verdict}</span>' in html
    assert html.count("<svg") >= 3 and "<circle" in html
    assert f'class="figure">{headline}</b>' in html
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    assert screenshot.stat().st_size > 10_000  # a rendered page, not a blank image
    keep = os.environ.get("UNLEARN_AUDIT_REPORT_SCREENSHOT")
    if keep:
        shutil.copy(screenshot, keep)
