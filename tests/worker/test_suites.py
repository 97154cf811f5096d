"""Suite expansion: `suite: sandbox` fills the three checks from the sandbox's builtin datasets."""

from __future__ import annotations

import subprocess
import sys

from evaluators import suites
from schemas import EvaluationRequest
from schemas.datasets import BUILTIN_DATASETS


def test_sandbox_suite_fills_all_three_checks_from_builtins() -> None:
    request = EvaluationRequest.model_validate({"target": {"kind": "sandbox", "name": "shallow"}, "suite": "sandbox"})
    checks = suites.effective_checks(request)
    assert suites.requested_check_names(request) == ["forget", "refusal", "collateral"]
    assert checks.forget is not None and checks.forget.dataset.builtin == "sandbox/forget"
    assert checks.forget.corpus is not None and checks.forget.corpus.builtin == "sandbox/forget_corpus"
    assert checks.refusal is not None and checks.refusal.harmful.builtin == "sandbox/harmful"
    assert checks.refusal.benign is not None and checks.refusal.benign.builtin == "sandbox/benign"
    assert checks.collateral is not None
    assert [(d.builtin, d.adjacent) for d in checks.collateral.datasets] == [
        ("sandbox/retain", False),
        ("sandbox/adjacent", True),
    ]
    refs = [
        checks.forget.dataset,
        checks.forget.corpus,
        checks.forget.holdout_corpus,
        checks.refusal.harmful,
        checks.refusal.benign,
        *checks.collateral.datasets,
        checks.collateral.corpus,
    ]
    assert {r.builtin for r in refs if r is not None} == set(BUILTIN_DATASETS)


def test_explicit_checks_win_over_the_suite() -> None:
    mine = {"harmful": {"items": [{"prompt": "x"}]}}
    request = EvaluationRequest.model_validate(
        {"target": {"kind": "sandbox", "name": "base"}, "suite": "sandbox", "checks": {"refusal": mine}}
    )
    checks = suites.effective_checks(request)
    assert checks.refusal is not None and checks.refusal.harmful.items == [{"prompt": "x"}]
    assert checks.forget is not None and checks.forget.dataset.builtin == "sandbox/forget"


def test_no_suite_runs_only_the_given_checks() -> None:
    request = EvaluationRequest.model_validate(
        {
            "target": {"kind": "sandbox", "name": "base"},
            "checks": {"refusal": {"harmful": {"items": [{"prompt": "x"}]}}},
        }
    )
    assert suites.requested_check_names(request) == ["refusal"]


def test_subjects_match_the_sandbox_world() -> None:
    from evaluators.sandbox import world

    assert (suites.FORGET_SUBJECT, suites.RETAIN_SUBJECT, suites.ADJACENT_SUBJECT) == (
        world.FORGET_SUBJECT,
        world.RETAIN_SUBJECT,
        world.ADJACENT_SUBJECT,
    )


def test_suites_import_without_torch() -> None:
    code = "import sys, evaluators.suites; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
