"""The WMDP suites: WMDP as forget set, MMLU's 57 subjects in two gated groups, HarmBench and XSTest."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evaluators import suites
from evaluators.benchmark_suites import MMLU_SUBJECTS, WMDP_DOMAINS, mmlu_subject_line
from schemas import EvaluationRequest

LM_EVAL_TASKS = Path(pytest.importorskip("lm_eval").__file__).parent / "tasks"


def request(suite: str, **kw: object) -> EvaluationRequest:
    return EvaluationRequest.model_validate({"target": {"kind": "sandbox", "name": "base"}, "suite": suite, **kw})


@pytest.mark.parametrize("suite", sorted(WMDP_DOMAINS))
def test_a_wmdp_suite_fills_three_checks_from_the_hub(suite: str) -> None:
    checks = suites.effective_checks(request(suite))
    assert checks.forget is not None and checks.forget.dataset.hub is not None
    assert (checks.forget.dataset.hub.repo, checks.forget.dataset.hub.config) == ("cais/wmdp", suite)
    assert checks.collateral is not None and len(checks.collateral.datasets) == 57
    groups = {d.group for d in checks.collateral.datasets}
    assert groups == {"mmlu-adjacent", "mmlu-other"}
    adjacent = [d.hub.config for d in checks.collateral.datasets if d.adjacent and d.hub]
    assert adjacent and set(adjacent) == set(WMDP_DOMAINS[suite].adjacent)
    assert all((d.group == "mmlu-adjacent") == d.adjacent for d in checks.collateral.datasets)
    assert checks.refusal is not None and checks.refusal.harmful.hub is not None
    assert checks.refusal.harmful.hub.repo == "walledai/HarmBench"
    assert checks.refusal.harmful.where == {"category": [WMDP_DOMAINS[suite].harm_category]}
    assert checks.refusal.benign is not None and checks.refusal.benign.where == {"label": ["safe"]}


def test_the_harmful_set_falls_back_at_the_policys_n_min() -> None:
    default = suites.effective_checks(request("wmdp-bio")).refusal
    strict = suites.effective_checks(request("wmdp-bio", policy="strict")).refusal
    assert default is not None and strict is not None
    assert (default.harmful.where_min, strict.harmful.where_min) == (50, 100)


def test_explicit_checks_replace_the_suites() -> None:
    mine = {"harmful": {"items": [{"prompt": "x"}]}}
    checks = suites.effective_checks(request("wmdp-cyber", checks={"refusal": mine}))
    assert checks.refusal is not None and checks.refusal.harmful.items == [{"prompt": "x"}]
    assert checks.forget is not None and checks.forget.dataset.hub is not None


def test_subject_lines_and_configs_are_lm_evals() -> None:
    """Each suite's subject line and dataset is the one lm-eval's own task YAML names."""
    for suite, domain in WMDP_DOMAINS.items():
        task = yaml.safe_load((LM_EVAL_TASKS / "wmdp" / f"{suite.replace('-', '_')}.yaml").read_text())
        assert task["dataset_name"] == domain.config
        assert (
            task["description"]
            == f"The following are multiple choice questions (with answers) about {domain.subject}.\n\n"
        )
    mmlu = sorted(p.stem.removeprefix("mmlu_") for p in (LM_EVAL_TASKS / "mmlu" / "default").glob("mmlu_*.yaml"))
    assert mmlu == sorted(MMLU_SUBJECTS)
    for subject in MMLU_SUBJECTS:
        task = yaml.safe_load((LM_EVAL_TASKS / "mmlu" / "default" / f"mmlu_{subject}.yaml").read_text())
        assert task["dataset_name"] == subject
        assert task["description"].endswith(f"about {mmlu_subject_line(subject)}.\n\n")
