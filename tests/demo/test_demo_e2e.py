"""`unlearn-audit demo` end to end on the small `test` sandbox world: real training, real server, real checks.

The exit code is the acceptance test of issue 4: 0 only when every truth-table cell matches.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from schemas.scorecard import Scorecard
from schemas.targets import SANDBOX_CONTROLS
from service.demo import CHECKS, run_demo

pytestmark = pytest.mark.slow


@pytest.mark.timeout(3000)  # seven full audits through a real server: longer than the suite's 600 s default
def test_demo_matches_the_truth_table_and_writes_every_scorecard(sandbox_root: Path, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    out_dir = tmp_path / "out"
    code = run_demo(out_dir, sandbox_root, size="test", workers=2, timeout_s=3000, stdout=out, stderr=err)
    table = out.getvalue()
    assert code in (0, 1), err.getvalue()[-3000:]  # 2 would mean the demo itself could not run

    rows = {line.split()[0]: line for line in table.splitlines() if line and line.split()[0] in SANDBOX_CONTROLS}
    assert set(rows) == set(SANDBOX_CONTROLS), table
    for control in SANDBOX_CONTROLS:
        path = out_dir / f"{control}.scorecard.json"
        assert path.is_file(), f"{control}: no scorecard\n{table}"
        card = Scorecard.model_validate(json.loads(path.read_text()))
        for check in CHECKS:  # the table shows what the scorecard says
            result = getattr(card.checks, check)
            assert (result.verdict if result else "skipped") in rows[control]
        report = out_dir / f"{control}.report.html"
        if report.exists():  # written when the server serves HTML reports
            assert report.read_text().lstrip().lower().startswith("<!doctype html")
    server_log = (out_dir / "server.log").read_text()
    assert server_log.count("worker result memo shared in ") == 2  # the two workers score `base` once
    assert "evaluations finished" in err.getvalue()
    assert code == 0, f"some cells do not match the truth table:\n{table}"
