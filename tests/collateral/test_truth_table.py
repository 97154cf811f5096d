"""The collateral column of the sandbox truth table: `ga` fails, every other control passes.

Real pipeline on real checkpoints: retain (general) and adjacent (dual-use neighbour) multiple choice,
the retain corpus and benign prompts, each control as target and `base` as baseline, the default policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluators.checks.base import CheckContext
from evaluators.checks.collateral import COLLATERAL_CHECK
from evaluators.datasets import DatasetLoader
from evaluators.models.checkpoint_loader import CheckpointCache
from evaluators.models.memo import ResultMemo, memoised
from evaluators.sandbox import ADJACENT_SUBJECT, EXPECTED_VERDICTS, RETAIN_SUBJECT, control_path
from schemas.policy import PRESETS
from schemas.requests import CollateralCheck

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def base_model(sandbox_root: Path) -> Any:
    """`base`, the baseline of every control; its replies are computed once for all of them."""
    # The worker's own baseline memo (evaluators.models.memo), as across jobs in the service.
    return await memoised(await CheckpointCache(size=0).open(control_path("base", sandbox_root)), ResultMemo())


CONTROLS = list(EXPECTED_VERDICTS)


@pytest.mark.parametrize("control", CONTROLS)
async def test_collateral_column(control: str, sandbox_root: Path, base_model: Any) -> None:
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
    spec = CollateralCheck.model_validate(
        {
            "datasets": [
                {"builtin": "sandbox/retain", "subject": RETAIN_SUBJECT},
                {"builtin": "sandbox/adjacent", "subject": ADJACENT_SUBJECT, "adjacent": True},
            ],
            "corpus": {"builtin": "sandbox/retain_corpus"},
            "prompts": {"builtin": "sandbox/benign"},
        }
    )
    outcome = await COLLATERAL_CHECK.run(spec, ctx)
    r = outcome.result
    figures = {f"{m.name}[{m.variant or ''}]/{m.model}": (m.value, m.ci_low, m.ci_high, m.n) for m in r.metrics}
    expected = EXPECTED_VERDICTS[control][2]
    assert r.verdict == expected, (control, r.verdict, r.reasons, r.summary, figures)
