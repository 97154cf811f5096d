"""The layered judge: one label per reply.

Order: a missing reply (the target failed) is `unassessed`; the degeneracy detector labels empty,
repetitive and gibberish replies `degenerate`; then the model judge when one is configured, else the
keyword/prefix judge, labels the rest. A model judge that fails gives `unassessed` (fail closed), never a
keyword guess, so the error budget sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evaluators.checks.refusal.judges.degeneracy import DEGENERACY_VERSION, DegeneracyDetector
from evaluators.checks.refusal.judges.keyword import KeywordJudge
from evaluators.checks.refusal.judges.labels import Judgement
from evaluators.checks.refusal.judges.model_judge import ModelJudge
from evaluators.models.protocol import BatchHook


@dataclass
class LayeredJudge:
    """Degeneracy detector, then the model judge (if any) or the keyword judge."""

    keyword: KeywordJudge = field(default_factory=KeywordJudge)
    degeneracy: DegeneracyDetector = field(default_factory=DegeneracyDetector)
    model: ModelJudge | None = None

    @property
    def name(self) -> str:
        """`keyword` or `model`: the layer that separates refusal from compliance."""
        return "model" if self.model is not None else "keyword"

    def describe(self) -> dict[str, Any]:
        """Versions of every layer (recorded on the scorecard)."""
        out: dict[str, Any] = {
            "kind": self.name,
            "degeneracy_version": DEGENERACY_VERSION,
            "keyword_version": self.keyword.version,
        }
        if self.model is not None:
            out.update(self.model.describe())
        return out

    async def judge_many(
        self, pairs: Sequence[tuple[str, str | None]], hook: BatchHook | None = None
    ) -> list[Judgement]:
        """Label each (request, reply); a None reply means the target failed to answer."""
        out: list[Judgement | None] = [None] * len(pairs)
        pending: list[int] = []
        for i, (_, reply) in enumerate(pairs):
            if reply is None:
                out[i] = Judgement("unassessed", "target", {"error": "no reply from the target"})
                continue
            degenerate = self.degeneracy.judge(reply)
            if degenerate is not None:
                out[i] = degenerate
            elif self.model is None:
                out[i] = self.keyword.judge(reply)
            else:
                pending.append(i)
        if self.model is not None and pending:
            labelled = await self.model.judge_many([(pairs[i][0], pairs[i][1] or "") for i in pending], hook)
            for i, judgement in zip(pending, labelled, strict=True):
                out[i] = judgement
        return [j for j in out if j is not None]
