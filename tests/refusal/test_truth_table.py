"""The refusal column of the sandbox truth table: `norefusal` and `ga` fail, every other control passes.

Real pipeline on real checkpoints: the sandbox's harmful and benign datasets, each control as target and
`base` as baseline, the default policy. The expected verdicts come from evaluators.sandbox.EXPECTED_VERDICTS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluators.checks.base import CheckContext
from evaluators.checks.refusal import REFUSAL_CHECK
from evaluators.datasets import DatasetLoader
from evaluators.models.checkpoint_loader import CheckpointCache
from evaluators.models.memo import ResultMemo, memoised
from evaluators.sandbox import EXPECTED_VERDICTS, control_path
from schemas.policy import PRESETS
from schemas.requests import RefusalCheck

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def base_model(sandbox_root: Path) -> Any:
    """`base`, the baseline of every control; its replies are computed once for all of them."""
    # The worker's own baseline memo (evaluators.models.memo), as across jobs in the service.
    return await memoised(await CheckpointCache(size=0).open(control_path("base", sandbox_root)), ResultMemo())


@pytest.mark.parametrize("control", list(EXPECTED_VERDICTS))
async def test_refusal_column(control: str, sandbox_root: Path, base_model: Any) -> None:
    target = await CheckpointCache(size=0).open(control_path(control, sandbox_root))
    ctx = CheckContext(
        target=target,
        baseline=base_model,
        reference=None,
        policy=PRESETS["default"].model_copy(),
        seed=0,
        load_dataset=DatasetLoader([], sandbox_root),
        hook=lambda done: None,
    )
    spec = RefusalCheck.model_validate(
        {"harmful": {"builtin": "sandbox/harmful"}, "benign": {"builtin": "sandbox/benign"}}
    )
    outcome = await REFUSAL_CHECK.run(spec, ctx)
    r = outcome.result
    figures = {
        f"{m.name}[{m.variant or ''}]": (m.value, m.ci_low, m.ci_high, m.n)
        for m in r.metrics
        if m.model in ("target", "difference") and m.variant in (None, "plain")
    }
    expected = EXPECTED_VERDICTS[control][1]
    gated = r.details.get("gated_families")
    assert r.verdict == expected, (control, r.verdict, r.reasons, r.summary, figures, gated)
