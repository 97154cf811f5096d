"""The reason-code list (`schemas.reasons.REASON_CODES`) is the code's own: every reason the source emits is
listed, every listed reason is emitted, and docs/reference-reasons.md is generated from the list."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from schemas.reasons import REASON_CODES, REASON_PLACEHOLDERS
from schemas.scorecard import Scorecard
from tests.docs.reason_scan import PLACEHOLDER, Scan, scan_reasons

REPO = Path(__file__).resolve().parents[2]

KNOWN_UNRESOLVED = {
    # A TOFU/MUSE suite's checks that do not apply, each with the prose summary of why, held in a local
    # called `reasons`; the code these checks carry is the literal `not_applicable` beside it (scanned).
    "service/runner/benchmarks.py: NOT_APPLICABLE",
    "service/runner/benchmarks.py: NOT_APPLICABLE_MUSE",
}


def _declared(code: str) -> re.Pattern[str]:
    """A listed code as a regex: each `<...>` part stands for any non-empty text."""
    parts = re.split(r"<[a-z]+>", code)
    return re.compile(".+".join(re.escape(p) for p in parts) + r"\Z")


def _sample(pattern: str) -> str:
    return pattern.replace(PLACEHOLDER, "x")


@pytest.fixture(scope="module")
def scan() -> Scan:
    return scan_reasons(REPO)


def test_the_scan_reads_every_source_of_reasons(scan: Scan) -> None:
    assert set(scan.unresolved) <= KNOWN_UNRESOLVED, (
        "reasons emitted in a way tests/docs/reason_scan.py cannot read; emit literals or f-strings, or teach "
        f"the scan: {sorted(set(scan.unresolved) - KNOWN_UNRESOLVED)}"
    )
    # The scan is not vacuous: it finds reasons of every kind (check, forget, refusal, overall verdict).
    for expected in ("suppression_suspected", "baseline_lacks_knowledge", "unassessed_over_budget", "warn_is_failure"):
        assert expected in scan.emitted, expected
    assert {"fails_threshold:<*>", "check_failed:<*>", "check_warned:<*>"} <= set(scan.emitted)


def test_every_emitted_reason_is_listed(scan: Scan) -> None:
    declared = [_declared(code) for code in REASON_CODES]
    missing = {
        pattern: where
        for pattern, where in scan.emitted.items()
        if not any(d.match(_sample(pattern)) for d in declared)
    }
    assert not missing, f"reason codes emitted but not in schemas/reasons.py REASON_CODES: {missing}"


def test_every_listed_reason_is_emitted(scan: Scan) -> None:
    samples = [_sample(p) for p in scan.emitted]
    literals = {
        node.value
        for package in ("schemas", "evaluators", "service")
        for path in (REPO / package).rglob("*.py")
        if path.name != "reasons.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    stale = []
    for code, reason in REASON_CODES.items():
        if reason.places == ("skipped",):  # `<check>: <why>` entries: the literal is what the code writes
            if code not in literals:
                stale.append(code)
        elif not any(_declared(code).match(s) for s in samples):
            stale.append(code)
    assert not stale, f"listed in REASON_CODES but emitted nowhere: {stale}"


def test_placeholders_are_explained_and_verdict_reasons_documented_on_the_model() -> None:
    used = {p for code in REASON_CODES for p in re.findall(r"<[a-z]+>", code)}
    assert used == set(REASON_PLACEHOLDERS)
    description = Scorecard.model_fields["reasons"].description or ""
    for code, reason in REASON_CODES.items():
        if "verdict" in reason.places:
            assert f"`{code}`" in description, f"Scorecard.reasons' description does not name {code}"


def test_the_reason_code_page_is_generated_from_the_list() -> None:
    from service.reference.reasons import reason_reference_markdown

    page = (REPO / "docs" / "reference-reasons.md").read_text()
    assert page == reason_reference_markdown(), "regenerate docs/reference-reasons.md: python -m service.reference"
    assert all(f"`{code}`" in page for code in REASON_CODES)
