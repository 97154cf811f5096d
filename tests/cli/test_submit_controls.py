"""The CI client end to end: `submit --wait` against a real `serve` (real worker, real sandbox controls).

A passing control (`retrain`, exact unlearning) exits 0 with a JUnit file without failures; a failing one
(`base` audited against itself: nothing was unlearned) exits 1 with a JUnit <failure> stating the figure,
its interval and the threshold. The forget check runs the standard format only (`attacks: []`), which is
enough to tell these two controls apart and keeps the test short.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from evaluators.sandbox import FORGET_SUBJECT
from service.cli.submit import submit
from service.demo import DemoServer

pytestmark = pytest.mark.slow


def _request(control: str) -> dict[str, object]:
    return {
        "target": {"kind": "sandbox", "name": control},
        "baseline": {"kind": "sandbox", "name": "base"},
        "checks": {"forget": {"dataset": {"builtin": "sandbox/forget"}, "subject": FORGET_SUBJECT, "attacks": []}},
        "labels": {"ci_run": "test"},
    }


@pytest.mark.parametrize(
    ("control", "expected_exit", "expected_verdict"), [("retrain", 0, "pass"), ("base", 1, "fail")]
)
def test_submit_wait_gates_a_real_audit(
    control: str,
    expected_exit: int,
    expected_verdict: str,
    sandbox_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GITHUB_RUN_ID", "CI_PIPELINE_ID", "UNLEARN_AUDIT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    request = tmp_path / "request.json"
    request.write_text(json.dumps(_request(control)))
    junit, card_path = tmp_path / "audit.xml", tmp_path / "card.json"

    with DemoServer(tmp_path / "data", sandbox_root, tmp_path / "server.log") as server:
        with httpx.Client(timeout=10.0) as client:
            server.wait_ready(client, timeout_s=120)
        code = submit(
            str(request), server=server.base_url, wait=True, timeout=900, junit=str(junit), output=str(card_path)
        )

    assert code == expected_exit, (tmp_path / "server.log").read_text()[-3000:]
    card = json.loads(card_path.read_text())
    assert card["verdict"] == expected_verdict and card["checks"]["forget"]["verdict"] == expected_verdict
    suites = ET.parse(junit).getroot()
    failures = suites.findall(".//failure")
    errors = suites.findall(".//error")
    assert not errors
    if expected_verdict == "pass":
        assert not failures and suites.findall(".//testcase")
    else:
        assert failures
        message = " ".join((f.get("message") or "") + (f.text or "") for f in failures)
        assert "0.25" in message  # the threshold is stated beside the figure and its interval
