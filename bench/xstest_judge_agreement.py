"""Agreement of the default refusal judge with XSTest's human labels of real model replies.

    python -m bench.xstest_judge_agreement --out bench/results/xstest_judge_agreement_2026-12-05.json

Data: XSTest v2 (Röttger et al., "XSTest: A Test Suite for Identifying Exaggerated Safety Behaviours in
Large Language Models", NAACL 2024; CC BY 4.0), 450 replies each of gpt4, llama2new and mistralinstruct,
each with the human `final_label` (`1_full_compliance`, `2_full_refusal`, `3_partial_refusal`), the paper's
start-of-reply string matcher's label (`_streval.csv`) and its GPT-4 judge's label (`_gpteval.csv`).

Judges compared with the human label: ours (the refusal check's default `LayeredJudge`: degeneracy
detector, then the keyword judge, called as the check calls it), the paper's matcher and the paper's GPT-4
judge. Two binarisations: the paper's (partial refusal counts as refused; ours: `refusal` or `partial`) and
the gate's (only full refusal counts as refused; ours: `refusal` only, as `JudgedReply.refused`). For each:
overall agreement and agreement within each human class (the recall of that class), each a Wilson interval
with two-sided 95% coverage (each bound at 0.975) and its n. GPT-4 judge outputs that are not one of the
three labels (it sometimes answered the prompt instead) are left out of its figures and counted.
Pooled figures treat the 1,350 replies as independent; they share 450 prompts, so the pooled intervals
are somewhat too narrow. Reads CSVs and runs a text judge: seconds, no model, no network.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluators.checks.refusal.judges.keyword import KeywordJudge
from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.stats import Interval, wilson

DATA = Path("/work/shared/data/xstest")
MODELS: tuple[str, ...] = ("gpt4", "llama2new", "mistralinstruct")
HUMAN_CLASSES: tuple[str, ...] = ("1_full_compliance", "2_full_refusal", "3_partial_refusal")
CONFIDENCE = 0.975
"""One-sided level of each Wilson bound: a two-sided 95% interval."""
CITATION = (
    "Röttger, Kirk, Vidgen, Attanasio, Bianchi, Hovy. XSTest: A Test Suite for Identifying Exaggerated Safety "
    "Behaviours in Large Language Models. NAACL 2024. Data: paul-rottger/exaggerated-safety @ d7bb5bd, CC BY 4.0."
)
MISSED_TOP = 10
OPENING_WORDS = 8


@dataclass(frozen=True)
class Item:
    """One reply with the human label and every judge's three-way label (None: the judge gave no label)."""

    model: str
    item_id: str
    prompt_type: str
    reply: str
    human: str
    ours: str | None
    strmatch: str | None
    gpt4: str | None


BINARISATIONS: dict[str, dict[str, Callable[[str], bool]]] = {
    # Refused or not, per source of labels: human and paper labels, and ours.
    "paper": {
        "three_way": lambda label: label in ("2_full_refusal", "3_partial_refusal"),
        "ours": lambda label: label in ("refusal", "partial"),
    },
    "gate": {
        "three_way": lambda label: label == "2_full_refusal",
        "ours": lambda label: label == "refusal",
    },
}
"""`paper`: partial refusal counts as refused (the paper's figures); `gate`: only full refusal counts."""


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _three_way(label: str) -> str | None:
    return label if label in HUMAN_CLASSES else None


async def load_items(data: Path, judge: LayeredJudge) -> tuple[list[Item], dict[str, Counter[str]]]:
    """Every model's replies with the human label, ours, the matcher's and GPT-4's; and our raw label counts."""
    items: list[Item] = []
    our_labels: dict[str, Counter[str]] = {}
    for model in MODELS:
        rows = _read(data / f"xstest_v2_completions_{model}.csv")
        streval = _read(data / f"xstest_v2_completions_{model}_streval.csv")
        gpteval = _read(data / f"xstest_v2_completions_{model}_gpteval.csv")
        for other in (streval, gpteval):
            if [r["id"] for r in other] != [r["id"] for r in rows]:
                raise SystemExit(f"{model}: the eval files' rows do not line up with the completions")
        # Exactly as the refusal check judges its replies: (request, reply) pairs through judge_many.
        judgements = await judge.judge_many([(r["prompt"], r["completion"]) for r in rows])
        our_labels[model] = Counter(j.label for j in judgements)
        for r, s, g, j in zip(rows, streval, gpteval, judgements, strict=True):
            items.append(
                Item(
                    model=model,
                    item_id=r["id"],
                    prompt_type=r["type"],
                    reply=r["completion"],
                    human=r["final_label"],
                    ours=j.label,
                    strmatch=_three_way(s["strmatch_label"]),
                    gpt4=_three_way(g["gpt4_label"]),
                )
            )
    return items, our_labels


def _interval(hits: int, n: int) -> dict[str, Any]:
    iv: Interval = wilson(hits, n, CONFIDENCE)

    def num(v: float) -> float | None:
        return None if math.isnan(v) else round(v, 4)

    return {"agreement": num(iv.estimate), "low": num(iv.low), "high": num(iv.high), "hits": hits, "n": n}


def agreement(items: Sequence[Item], judge: str, binarisation: str) -> dict[str, Any]:
    """Overall and per-class agreement of one judge with the human label under one binarisation."""
    rules = BINARISATIONS[binarisation]
    human_refused = rules["three_way"]
    judge_refused = rules["ours"] if judge == "ours" else rules["three_way"]
    labelled = [(it, getattr(it, judge)) for it in items]
    scored = [(it, label) for it, label in labelled if label is not None]
    agree = [human_refused(it.human) == judge_refused(label) for it, label in scored]
    out: dict[str, Any] = {
        "overall": _interval(sum(agree), len(agree)),
        "unlabelled_left_out": len(labelled) - len(scored),
    }
    by_binary: dict[str, dict[str, Any]] = {}
    for name, want in (("refused", True), ("not_refused", False)):
        sub = [a for (it, _), a in zip(scored, agree, strict=True) if human_refused(it.human) == want]
        by_binary[name] = _interval(sum(sub), len(sub))
    out["per_human_binary_class"] = by_binary
    by_class: dict[str, dict[str, Any]] = {}
    for cls in HUMAN_CLASSES:
        sub = [a for (it, _), a in zip(scored, agree, strict=True) if it.human == cls]
        by_class[cls] = _interval(sum(sub), len(sub))
    out["per_human_class"] = by_class
    return out


def confusion(items: Sequence[Item], judge: str) -> dict[str, dict[str, int]]:
    """Counts of (human label -> judge label), unlabelled judge outputs as `none`."""
    table: dict[str, Counter[str]] = {cls: Counter() for cls in HUMAN_CLASSES}
    for it in items:
        table[it.human][str(getattr(it, judge) or "none")] += 1
    return {cls: dict(sorted(c.items())) for cls, c in table.items()}


def missed_openings(items: Sequence[Item]) -> dict[str, Any]:
    """The commonest openings of replies people called a (full or partial) refusal that ours calls compliance."""
    missed = [it for it in items if it.human != "1_full_compliance" and it.ours == "compliance"]
    openings = Counter(" ".join(re.split(r"\s+", it.reply.strip())[:OPENING_WORDS]) for it in missed)
    return {
        "n_missed": len(missed),
        "by_human_class": dict(Counter(it.human for it in missed)),
        "top_openings": [{"opening": text, "count": c} for text, c in openings.most_common(MISSED_TOP)],
    }


def build_report(items: Sequence[Item], our_labels: dict[str, Counter[str]], judge: LayeredJudge) -> dict[str, Any]:
    groups: dict[str, list[Item]] = {m: [it for it in items if it.model == m] for m in MODELS}
    groups["pooled"] = list(items)
    results: dict[str, Any] = {}
    for name, sub in groups.items():
        results[name] = {
            "n": len(sub),
            "human_labels": dict(Counter(it.human for it in sub)),
            "agreement": {b: {j: agreement(sub, j, b) for j in ("ours", "strmatch", "gpt4")} for b in BINARISATIONS},
            "confusion": {j: confusion(sub, j) for j in ("ours", "strmatch", "gpt4")},
        }
        if name in our_labels:
            results[name]["our_labels"] = dict(our_labels[name])
            results[name]["missed_refusals"] = missed_openings(sub)
    return {
        "bench": "xstest_judge_agreement",
        "data": str(DATA),
        "citation": CITATION,
        "judge": judge.describe(),
        "judges": {
            "ours": "LayeredJudge() as the refusal check builds it for judge.kind `keyword` (default lists)",
            "strmatch": "the paper's string matcher (`strmatch_label` in _streval.csv)",
            "gpt4": "the paper's GPT-4 judge (`gpt4_label` in _gpteval.csv); non-label outputs left out",
        },
        "binarisations": {
            "paper": "refused = full or partial refusal (ours: `refusal` or `partial`)",
            "gate": "refused = full refusal only (ours: `refusal`; `partial`/`degenerate` are not refused)",
        },
        "interval": {"method": "wilson", "two_sided_coverage": 0.95, "confidence_each_bound": CONFIDENCE},
        "pooled_note": "pooled replies share 450 prompts; its Wilson intervals assume independence",
        "results": results,
    }


def _cell(fig: dict[str, Any]) -> str:
    if fig["agreement"] is None:
        return "n/a"
    return f"{fig['agreement']:.3f} [{fig['low']:.3f}, {fig['high']:.3f}]"


def print_table(report: dict[str, Any]) -> None:
    judges = ("ours", "strmatch", "gpt4")
    for b in BINARISATIONS:
        print(f"\n== binarisation: {b} ({report['binarisations'][b]})")
        print(f"{'set':<16} {'judge':<9} {'n':>5}  {'agreement':<24} {'refused recall':<24} {'not-refused recall':<24}")
        for name, res in report["results"].items():
            for j in judges:
                fig = res["agreement"][b][j]
                per = fig["per_human_binary_class"]
                print(
                    f"{name:<16} {j:<9} {fig['overall']['n']:>5}  {_cell(fig['overall']):<24} "
                    f"{_cell(per['refused']):<24} {_cell(per['not_refused']):<24}"
                )
    for name, res in report["results"].items():
        if "missed_refusals" not in res:
            continue
        missed = res["missed_refusals"]
        print(f"\n{name}: {missed['n_missed']} human refusals called compliance by ours {missed['by_human_class']}")
        for row in missed["top_openings"]:
            print(f"  {row['count']:>3}  {row['opening']}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the XSTest v2 completion CSVs")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    judge = LayeredJudge(keyword=KeywordJudge())
    items, our_labels = asyncio.run(load_items(args.data, judge))
    report = build_report(items, our_labels, judge)
    report["data"] = str(args.data)
    print_table(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
