"""A plugin check for the worker tests: real, batched scoring work through the CheckContext.

It scores each text of the check's corpus with the target model (log-likelihood per character), one
small batch at a time, reporting progress and passing the job's hook to the backend, so a cancel, a
deadline or a SIGKILL lands in the middle of genuine computation. Its figure is the mean log-likelihood
per character with one-sided 95% normal-approximation bounds over the n texts. Not gated: it has no threshold.

Registered by the tests with `UNLEARN_AUDIT_CHECK_PLUGINS=forget=tests.worker.slow_check:corpus_scoring`.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from typing import Any

from evaluators.checks.base import CheckContext, CheckOutcome
from evaluators.models.protocol import LoglikelihoodRequest
from schemas.datasets import DatasetRef
from schemas.jobs import ItemRecord
from schemas.scorecard import CheckResult, Metric

BATCH = 4
Z_ONE_SIDED_95 = 1.6448536269514722


class CorpusScoringCheck:
    """Mean per-character log-likelihood of the check's `corpus` under the target."""

    name = "corpus_scoring"

    async def run(self, spec: Any, ctx: CheckContext) -> CheckOutcome:
        check = "forget" if hasattr(spec, "dataset") else "collateral"
        ref: DatasetRef | None = spec.corpus
        if ref is None:
            raise ValueError("corpus_scoring needs the check's `corpus`")
        data = ctx.load_dataset(ref, "text")
        texts = [item.text for item in data.items]
        per_char: list[float] = []
        records: list[ItemRecord] = []
        for start in range(0, len(texts), BATCH):
            ctx.hook(start)
            chunk = texts[start : start + BATCH]
            requests = [
                LoglikelihoodRequest(context=t.split(" ", 1)[0], continuation=" " + t.split(" ", 1)[1]) for t in chunk
            ]
            scores = await ctx.target.loglikelihood(requests, hook=ctx.hook)
            for offset, (req, (logprob, greedy)) in enumerate(zip(requests, scores, strict=True)):
                value = logprob / len(req.continuation)
                per_char.append(value)
                records.append(
                    ItemRecord(
                        check=check,
                        dataset=data.name,
                        index=start + offset,
                        variant="standard",
                        model="target",
                        record={
                            "continuation": req.continuation,
                            "loglikelihood": logprob,
                            "greedy": greedy,
                            "per_char": value,
                        },
                    )
                )
            ctx.progress(len(per_char), len(texts))
        n = len(per_char)
        mean = statistics.fmean(per_char)
        half = Z_ONE_SIDED_95 * statistics.stdev(per_char) / math.sqrt(n) if n > 1 else math.nan
        metric = Metric(
            name="loglikelihood_per_char",
            value=mean,
            ci_low=mean - half if n > 1 else None,
            ci_high=mean + half if n > 1 else None,
            n=n,
            direction="higher_is_better",
            ci_method="normal",
            confidence=0.95,
        )
        result = CheckResult(
            verdict="pass",
            reasons=["ungated_test_plugin"],
            summary=f"Scored {n} texts of {data.name}.",
            headline=metric,
            metrics=[metric],
        )
        return CheckOutcome(result=result, records=records, datasets=[data.provenance()])


corpus_scoring = CorpusScoringCheck()


class HungBackendCheck:
    """Waits on a backend call that never returns (an endpoint that hangs): it never reaches the hook."""

    name = "hung_backend"

    async def run(self, spec: Any, ctx: CheckContext) -> CheckOutcome:
        ctx.progress(0, 1)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


hung_backend = HungBackendCheck()
