"""A plug-in check for the fault benchmark (bench/faults.py): no model, a known duration, a real figure.

It stands in for `forget`: it reads the check's multiple-choice `dataset`, then spends STEP_S per item in
`asyncio.sleep` steps, passing the job's hook before each, so a SIGKILL, a lost lease or a worker stop lands
in the middle of a check. The request sets the duration through the number of items (STEP_S each). The
figure is the share of items whose answer is the first choice, with its Wilson interval over the n items:
ungated, so the verdict is always `pass`. It never calls the target model.

    UNLEARN_AUDIT_CHECK_PLUGINS=forget=bench.trivial_check:answer_position_check
"""

from __future__ import annotations

import asyncio
from typing import Any

from evaluators.checks.base import CheckContext, CheckOutcome
from evaluators.stats import wilson
from schemas.jobs import ItemRecord
from schemas.scorecard import CheckResult, Metric

STEP_S = 0.1
"""Seconds spent per item of the dataset."""


class AnswerPositionCheck:
    """Share of the dataset's items whose correct answer is the first choice (Wilson interval)."""

    name = "answer_position"

    async def run(self, spec: Any, ctx: CheckContext) -> CheckOutcome:
        data = ctx.load_dataset(spec.dataset, "multiple_choice")
        records: list[ItemRecord] = []
        for index, item in enumerate(data.items):
            ctx.hook(index)
            await asyncio.sleep(STEP_S)
            records.append(
                ItemRecord(
                    check="forget",
                    dataset=data.name,
                    index=index,
                    variant="standard",
                    model="target",
                    record={"answer": item.answer, "first_choice": item.answer == 0},
                )
            )
            ctx.progress(index + 1, len(data.items))
        ctx.hook(len(data.items))
        first = sum(1 for r in records if r.record["first_choice"])
        interval = wilson(first, len(records), ctx.policy.confidence)
        metric = Metric(
            name="answer_first_choice_rate",
            value=interval.estimate if records else None,
            ci_low=interval.low,
            ci_high=interval.high,
            n=interval.n,
            direction="lower_is_better",
            ci_method=interval.method,
            confidence=interval.confidence,
            note=interval.note,
        )
        result = CheckResult(
            verdict="pass",
            reasons=["ungated_bench_plugin"],
            summary=f"{first} of {len(records)} items of {data.name} have the first choice as their answer.",
            headline=metric,
            metrics=[metric],
        )
        return CheckOutcome(result=result, records=records, datasets=[data.provenance()])


answer_position_check = AnswerPositionCheck()
