"""The HTML report in a real browser: headless Debian chromium loads a real server's page, also from a signed
report link of a server that has API keys (no key in the browser).

Fails (does not skip) when CI is set and chromium is missing: `.ci/run` installs it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from service.app import create_app
from service.reports.log_redaction import REDACTED
from service.settings import Settings
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


def _tampered(link: str) -> str:
    """The link with one character of its signed claims changed (the evaluation id, format or expiry)."""
    claims, sig = link.split(".")[-2:]
    i = len(claims) // 2
    changed = claims[:i] + ("A" if claims[i] != "A" else "B") + claims[i + 1 :]
    return link.removesuffix(f"{claims}.{sig}") + f"{changed}.{sig}"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_a_signed_report_link_opens_in_chromium_without_a_key(
    sqlite_store: SqlJobStore, sqlite_url: str, tmp_path: Path
) -> None:
    chromium = _chromium()
    sc = await seed_finished_job(sqlite_store)
    settings = Settings(data_dir=tmp_path / "data", database_url=sqlite_url, api_keys="sk-browser-reader:read")
    access = _Records()
    with serve(create_app(settings), log_level="info") as base:
        logging.getLogger("uvicorn.access").addHandler(access)
        try:
            report = f"{base}/v1/evaluations/{sc.evaluation_id}/report"
            async with httpx.AsyncClient() as http:
                denied = await http.get(report)
                answer = await http.post(f"{report}-links", headers={"Authorization": "Bearer sk-browser-reader"})
            assert answer.status_code == 201, answer.text
            link = answer.json()["url"]
            dom = _run(chromium, tmp_path / "profile-link", "--dump-dom", link)
            tampered = _run(chromium, tmp_path / "profile-tampered", "--dump-dom", _tampered(link))
        finally:
            logging.getLogger("uvicorn.access").removeHandler(access)
    assert denied.status_code == 401  # the report needs a key...
    assert link.startswith(f"{base}/v1/evaluations/{sc.evaluation_id}/report?token=")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout  # ...and the link opens it in a browser that has none
    assert "Unlearning audit" in html and sc.evaluation_id in html
    assert 'id="glance-forget"' in html and html.count("<svg") >= 3
    assert "Unlearning audit" not in tampered.stdout and "unauthorized" in tampered.stdout
    token = parse_qs(urlsplit(link).query)["token"][0]
    opened = [line for line in access.lines if "/report?token=" in line]
    assert len(opened) >= 2, access.lines  # chromium's two requests are in the access log...
    assert all(f"token={REDACTED}" in line for line in opened)
    assert not any(token.split(".")[2] in line or token.split(".")[1] in line for line in access.lines)  # ...without it
