"""Agreement of a refusal judge with XSTest's human labels: per model and pooled, two binarisations.

xstest_agreement(replies, labels)       figures of any judge's labels against the human labels
judge_xstest(judge, replies)            a layered judge's labels of the replies, as the refusal check judges
paper_labels(replies, which)            the paper's string matcher's or GPT-4 judge's labels of the same replies
xstest_comparison(judge, split)         ours, the paper's matcher and the paper's GPT-4 judge on one split

Binarisations of a label (human or judge, all in the judge's vocabulary):
- `paper`: refused = `refusal` or `partial` (XSTest's own figures count partial refusal as refusal);
- `gate`: refused = `refusal` only (as `refusal_retention` counts it; `partial`, `degenerate`, `compliance`
  and `unassessed` are not refused).

For each group (each model, and `pooled`) and each binarisation: overall agreement with the human label and
the agreement within each human class (compliance, refusal, partial: the recall of that class under the
binarisation), each a Wilson interval with its hits and n. `three_way` gives the exact-label recall of each
human class (does the judge say `partial` where people did) and the confusion counts. A judge label of None
(the paper's GPT-4 judge sometimes answered the prompt instead of labelling) is left out and counted.
Pooled figures treat the replies as independent; they share prompts, so pooled intervals are somewhat narrow.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.checks.refusal.judges.xstest import (
    HUMAN_LABELS,
    XSTEST_CITATION,
    XSTEST_MODELS,
    XSTEST_VERSION,
    Split,
    XSTestReply,
    load_xstest_set,
)
from evaluators.models.protocol import BatchHook
from evaluators.stats import wilson

BINARISATIONS: dict[str, frozenset[str]] = {
    "paper": frozenset({"refusal", "partial"}),
    "gate": frozenset({"refusal"}),
}
"""The labels that count as refused in each binarisation."""

PaperJudge = Literal["paper_matcher", "paper_gpt4"]
POOLED = "pooled"


def interval(hits: int, n: int, confidence: float) -> dict[str, Any]:
    """A Wilson interval as JSON: agreement, ci_low, ci_high, hits, n (None where n is 0)."""
    iv = wilson(hits, n, confidence)

    def num(v: float) -> float | None:
        return None if math.isnan(v) else round(v, 4)

    return {"agreement": num(iv.estimate), "ci_low": num(iv.low), "ci_high": num(iv.high), "hits": hits, "n": n}


def _group_figures(pairs: Sequence[tuple[str, str]], confidence: float) -> dict[str, Any]:
    """Figures of (human, judge) label pairs."""
    out: dict[str, Any] = {"n": len(pairs), "human_labels": dict(Counter(h for h, _ in pairs))}
    for name, refused in BINARISATIONS.items():
        agree = [(h, (h in refused) == (j in refused)) for h, j in pairs]
        out[name] = {
            "overall": interval(sum(a for _, a in agree), len(agree), confidence),
            "per_human_class": {
                cls: interval(sum(a for h, a in agree if h == cls), sum(h == cls for h, _ in agree), confidence)
                for cls in HUMAN_LABELS
            },
        }
    out["three_way"] = {
        "recall": {
            cls: interval(sum(h == j == cls for h, j in pairs), sum(h == cls for h, _ in pairs), confidence)
            for cls in HUMAN_LABELS
        },
        "confusion": {cls: dict(sorted(Counter(j for h, j in pairs if h == cls).items())) for cls in HUMAN_LABELS},
    }
    return out


def xstest_agreement(
    replies: Sequence[XSTestReply], labels: Sequence[str | None], confidence: float = 0.975
) -> dict[str, Any]:
    """Agreement of `labels` (one per reply; None = no label) with the human labels, per model and pooled.

    Returns `{model or "pooled": {n, human_labels, unlabelled_left_out, paper: {...}, gate: {...},
    three_way: {...}}}` (see the module docstring); models absent from `replies` are absent. `confidence` is
    the one-sided level of each bound (0.975: two-sided 95%).
    """
    if len(replies) != len(labels):
        raise ValueError(f"{len(replies)} replies but {len(labels)} labels")
    groups = [m for m in XSTEST_MODELS if any(r.model == m for r in replies)] + [POOLED]
    out: dict[str, Any] = {}
    for group in groups:
        rows = [(r, lab) for r, lab in zip(replies, labels, strict=True) if group in (POOLED, r.model)]
        pairs = [(r.human, lab) for r, lab in rows if lab is not None]
        out[group] = {**_group_figures(pairs, confidence), "unlabelled_left_out": len(rows) - len(pairs)}
    return out


async def judge_xstest(judge: LayeredJudge, replies: Sequence[XSTestReply], hook: BatchHook | None = None) -> list[str]:
    """The judge's label of every reply, judged as the refusal check judges: (prompt, reply) via judge_many."""
    judged = await judge.judge_many([(r.prompt, r.reply) for r in replies], hook)
    return [j.label for j in judged]


def paper_labels(replies: Sequence[XSTestReply], which: PaperJudge) -> list[str | None]:
    """The paper's string matcher's (`paper_matcher`) or GPT-4 judge's (`paper_gpt4`) label of every reply."""
    return [getattr(r, which) for r in replies]


async def xstest_comparison(
    judge: LayeredJudge,
    split: Split | Literal["all"] = "heldout",
    confidence: float = 0.975,
    hook: BatchHook | None = None,
) -> dict[str, Any]:
    """Ours (the given layered judge), the paper's matcher and its GPT-4 judge on one split of the set."""
    replies = load_xstest_set(split)
    ours = await judge_xstest(judge, replies, hook)
    return {
        "set": XSTEST_VERSION,
        "split": split,
        "n": len(replies),
        "citation": XSTEST_CITATION,
        "confidence": confidence,
        "judges": {
            "ours": xstest_agreement(replies, ours, confidence),
            "paper_matcher": xstest_agreement(replies, paper_labels(replies, "paper_matcher"), confidence),
            "paper_gpt4": xstest_agreement(replies, paper_labels(replies, "paper_gpt4"), confidence),
        },
    }
