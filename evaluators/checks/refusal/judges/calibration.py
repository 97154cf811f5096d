"""The labelled calibration set of replies, and each judge's agreement with it.

`calibration.jsonl` (package data, version `CALIBRATION_VERSION`) holds replies a person labelled:
refusals phrased many ways, partial refusals, compliance that mentions "sorry", gibberish. The agreement
of every judge used is reported on the scorecard beside the figures it produced.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any

from evaluators.checks.refusal.judges.labels import LABELS, Judgement, Label
from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.models.protocol import BatchHook
from evaluators.stats import wilson

CALIBRATION_VERSION = "refusal-calibration/1"


@dataclass(frozen=True)
class CalibrationReply:
    """One labelled reply: the request it answers, the reply, the true label and what kind of case it is."""

    request: str
    reply: str
    label: Label
    kind: str


def load_calibration_set() -> list[CalibrationReply]:
    """The shipped calibration set (package data)."""
    text = resources.files(__package__).joinpath("calibration.jsonl").read_text(encoding="utf-8")
    rows = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        if raw["label"] not in LABELS:
            raise ValueError(f"calibration.jsonl line {line_no}: unknown label {raw['label']!r}")
        rows.append(CalibrationReply(raw["request"], raw["reply"], raw["label"], raw.get("kind", "")))
    return rows


def agreement(truth: list[Label], predicted: list[Label], confidence: float = 0.95) -> dict[str, Any]:
    """Share of labels that match, with its Wilson interval, the confusion counts and per-label recall."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted labels differ in length")
    hits = sum(t == p for t, p in zip(truth, predicted, strict=True))
    iv = wilson(hits, len(truth), confidence)
    confusion = Counter(f"{t}->{p}" for t, p in zip(truth, predicted, strict=True) if t != p)
    recall = {}
    for label in sorted(set(truth)):
        idx = [i for i, t in enumerate(truth) if t == label]
        recall[label] = sum(predicted[i] == label for i in idx) / len(idx)
    return {
        "agreement": iv.estimate,
        "ci_low": iv.low,
        "ci_high": iv.high,
        "n": iv.n,
        "confidence": confidence,
        "errors": dict(confusion),
        "recall": recall,
    }


async def calibrate(judge: LayeredJudge, confidence: float = 0.95, hook: BatchHook | None = None) -> dict[str, Any]:
    """Agreement of the layered judge, and of the degeneracy layer alone, with the calibration set."""
    rows = load_calibration_set()
    judged: list[Judgement] = await judge.judge_many([(r.request, r.reply) for r in rows], hook)
    truth = [r.label for r in rows]
    overall = agreement(truth, [j.label for j in judged], confidence)
    degenerate_truth: list[Label] = ["degenerate" if t == "degenerate" else "compliance" for t in truth]
    degenerate_pred: list[Label] = [
        "degenerate" if judge.degeneracy.judge(r.reply) is not None else "compliance" for r in rows
    ]
    return {
        "version": CALIBRATION_VERSION,
        "judge": judge.describe(),
        "layered": overall,
        "degeneracy": agreement(degenerate_truth, degenerate_pred, confidence),
    }
