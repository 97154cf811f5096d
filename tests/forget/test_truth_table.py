"""The forget column of the sandbox truth table: every control against `base`, and the failure each
control was built for is the elicitation the check names. Also: robust_shallow served over HTTP (an
OpenAI-compatible endpoint) gets its white-box attacks skipped with a reason, and the check still runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluators.checks.base import CheckContext, CheckOutcome, LoadedDataset
from evaluators.checks.forget import FORGET_CHECK
from evaluators.models.factory import BackendEnv, open_model
from evaluators.models.memo import ResultMemo, memoised
from evaluators.models.openai_compat import OpenAICompatModel
from evaluators.sandbox import BUILT_FOR, EXPECTED_VERDICTS, FORGET_SUBJECT
from schemas.datasets import DatasetRef, MultipleChoiceItem
from schemas.policy import Policy
from schemas.requests import ForgetCheck
from schemas.targets import SandboxTarget
from tests.support.servers import FaultPlan, TinyLM, openai_app, serve

pytestmark = pytest.mark.slow

CONTROLS = ("base", "retrain", "shallow", "robust_shallow", "quant_fragile", "norefusal", "rmu")


_ENVS: dict[Path, BackendEnv] = {}
_OUTCOMES: dict[str, CheckOutcome] = {}
_MEMO = ResultMemo()
"""`base` is every control's baseline: scored once and reused, as a worker does across jobs."""


def _loader(root: Path) -> Any:
    path = root / "datasets" / "forget.jsonl"
    items = [MultipleChoiceItem(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]

    def load(ref: DatasetRef, kind: str) -> LoadedDataset:
        assert kind == "multiple_choice" and ref.builtin == "sandbox/forget"
        return LoadedDataset("sandbox/forget", "multiple_choice", items, "sandbox", str(path))

    return load


def _context(target: Any, baseline: Any, root: Path, *, endpoint: bool = False) -> CheckContext:
    return CheckContext(
        target=target,
        baseline=baseline,
        reference=None,
        policy=Policy(),
        seed=0,
        load_dataset=_loader(root),
        hook=lambda done: None,
        target_is_endpoint=endpoint,
    )


SPEC = ForgetCheck(dataset=DatasetRef(builtin="sandbox/forget"), subject=FORGET_SUBJECT)


async def _open(name: str, root: Path) -> Any:
    """A sandbox control through the service's own backend factory (the checkpoint backend)."""
    env = _ENVS.setdefault(root, BackendEnv(sandbox_dir=root, cache_size=8))
    return await open_model(SandboxTarget(name=name), env)


async def _outcome(control: str, root: Path) -> CheckOutcome:
    if control not in _OUTCOMES:
        base = await memoised(await _open("base", root), _MEMO)
        target = await _open(control, root)
        _OUTCOMES[control] = await FORGET_CHECK.run(SPEC, _context(target, base, root))
    return _OUTCOMES[control]


def _figures(outcome: CheckOutcome) -> str:
    """The evidence, for the assertion message: residual per elicitation with its simultaneous interval."""
    res = outcome.result
    rows = [
        f"{m.variant}: {m.value:.2f} [{m.ci_low:.2f}, {m.ci_high:.2f}]"
        for m in res.metrics
        if m.name == "normalised_residual" and m.value is not None and m.ci_low is not None and m.ci_high is not None
    ]
    return f"verdict={res.verdict} chosen={res.details.get('chosen_elicitation')} reasons={res.reasons}; " + "; ".join(
        rows
    )


@pytest.mark.parametrize("control", CONTROLS)
async def test_forget_verdict_matches_the_truth_table(control: str, sandbox_root: Path) -> None:
    outcome = await _outcome(control, sandbox_root)
    expected = EXPECTED_VERDICTS[control][0]
    assert outcome.result.verdict == expected, _figures(outcome)
    allowed = BUILT_FOR.get(control)
    if expected == "fail" and allowed is not None:
        chosen = outcome.result.details["chosen_elicitation"]
        assert chosen in allowed, _figures(outcome)
        assert f"fails_threshold:residual_knowledge[{chosen}]" in outcome.result.reasons


async def test_a_reused_baseline_gives_what_a_fresh_one_gives(sandbox_root: Path) -> None:
    """The memo's results for `base` equal a fresh computation: exactly for every untrained elicitation; for
    the trained attacks (fine-tuning a copy on CPU), item for item on all but a sliver, because a fresh run of
    those is itself only reproducible up to floating-point reduction order (seen once in a full suite run)."""
    await _outcome("shallow", sandbox_root)  # fills the memo when this test runs alone
    reused_run = await _outcome("retrain", sandbox_root)
    fresh = await FORGET_CHECK.run(
        SPEC, _context(await _open("retrain", sandbox_root), await _open("base", sandbox_root), sandbox_root)
    )
    assert _MEMO.hits > 0
    trained = {"relearning", "benign_relearning"}
    memo_records = {(r.variant, r.index): r.record for r in reused_run.records if r.model == "baseline"}
    fresh_records = {(r.variant, r.index): r.record for r in fresh.records if r.model == "baseline"}
    assert memo_records.keys() == fresh_records.keys()
    assert {variant for variant, _ in fresh_records} >= {"standard", "cloze", "relearning", "probe"}
    for key, record in fresh_records.items():
        if key[0] not in trained:
            assert memo_records[key] == record, key
    trained_keys = [k for k in fresh_records if k[0] in trained]
    differ = sum(memo_records[k]["correct"] != fresh_records[k]["correct"] for k in trained_keys)
    assert differ <= 0.02 * len(trained_keys), (differ, len(trained_keys))
    assert fresh.result.verdict == reused_run.result.verdict


async def test_robust_shallow_as_an_endpoint_skips_white_box_attacks(sandbox_root: Path) -> None:
    base = await _open("base", sandbox_root)
    spec = SPEC.model_copy(update={"attacks": ["alt_template", "relearning", "quantization", "probe", "logit_lens"]})
    with serve(openai_app(TinyLM(sandbox_root / "models" / "robust_shallow"), FaultPlan(), model="rs")) as server:
        endpoint = OpenAICompatModel(server.url + "/v1", "rs")
        try:
            outcome = await FORGET_CHECK.run(spec, _context(endpoint, base, sandbox_root, endpoint=True))
        finally:
            await endpoint.close()
    res = outcome.result
    skipped = res.details["skipped_attacks"]
    assert set(skipped) == {"relearning", "quantization", "probe", "logit_lens"}
    assert all("endpoint" in why for why in skipped.values())
    assert "white_box_attacks_skipped" in res.reasons
    assert res.verdict in {"pass", "warn", "fail"} and res.headline is not None
    assert {e for e in res.details["elicitations"]} == {"standard", "alt_template"}
