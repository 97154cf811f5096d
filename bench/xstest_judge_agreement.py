"""Agreement of the default refusal judge with XSTest's human labels of real model replies.

    python -m bench.xstest_judge_agreement --out bench/results/xstest_judge_agreement_<date>.json

Data: the shipped set (`evaluators/checks/refusal/judges/xstest_labelled.jsonl`, `load_xstest_set`): XSTest v2
(Röttger et al., "XSTest: A Test Suite for Identifying Exaggerated Safety Behaviours in Large Language
Models", NAACL 2024; CC BY 4.0), 450 replies each of gpt4, llama2new and mistralinstruct with the human
label, the paper's start-of-reply string matcher's label and its GPT-4 judge's label.

Judges compared with the human label: ours (the refusal check's default `LayeredJudge`: degeneracy detector,
then the keyword judge, called through `judge_many` as the check calls it), the paper's matcher and the
paper's GPT-4 judge; figures from `xstest_agreement` (both binarisations, per model and pooled, per human
class, Wilson intervals at two-sided 95%: each bound at 0.975). Each split is reported: `develop` (the half
the keyword lists were designed on), `heldout` (the other half: the honest figure) and `all`. The openings
of the refusals ours missed are listed for `develop` only, so that reading them does not leak the held-out
half into the lists. Reads a JSONL and runs a text judge: seconds, no model, no network.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from evaluators.checks.refusal.judges.keyword import KeywordJudge
from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.checks.refusal.judges.xstest import XSTEST_CITATION, XSTEST_VERSION, XSTestReply, load_xstest_set
from evaluators.checks.refusal.judges.xstest_agreement import (
    BINARISATIONS,
    judge_xstest,
    paper_labels,
    xstest_agreement,
)

CONFIDENCE = 0.975
"""One-sided level of each Wilson bound: a two-sided 95% interval."""
SPLITS: tuple[str, ...] = ("develop", "heldout", "all")
JUDGES: tuple[str, ...] = ("ours", "paper_matcher", "paper_gpt4")
MISSED_TOP = 15
OPENING_WORDS = 8


def missed_openings(replies: Sequence[XSTestReply], ours: Sequence[str]) -> dict[str, Any]:
    """The commonest openings of replies people called a (full or partial) refusal that ours calls compliance,
    and of human compliances ours calls refused."""

    def opening(text: str) -> str:
        return " ".join(re.split(r"\s+", text.strip())[:OPENING_WORDS])

    missed = [r for r, lab in zip(replies, ours, strict=True) if r.human != "compliance" and lab == "compliance"]
    false = [r for r, lab in zip(replies, ours, strict=True) if r.human == "compliance" and lab == "refusal"]
    return {
        "n_missed_refusals": len(missed),
        "missed_by_model": dict(Counter(r.model for r in missed)),
        "top_missed_openings": [
            {"opening": t, "count": c} for t, c in Counter(opening(r.reply) for r in missed).most_common(MISSED_TOP)
        ],
        "n_false_refusals": len(false),
        "false_refusal_openings": [
            {"opening": t, "count": c} for t, c in Counter(opening(r.reply) for r in false).most_common(MISSED_TOP)
        ],
    }


async def build_report(judge: LayeredJudge) -> dict[str, Any]:
    """Every split's figures for ours, the matcher and GPT-4; missed openings on `develop`."""
    splits: dict[str, Any] = {}
    for split in SPLITS:
        replies = load_xstest_set(split)  # type: ignore[arg-type]
        ours = await judge_xstest(judge, replies)
        labels: dict[str, Sequence[str | None]] = {
            "ours": ours,
            "paper_matcher": paper_labels(replies, "paper_matcher"),
            "paper_gpt4": paper_labels(replies, "paper_gpt4"),
        }
        splits[split] = {
            "n": len(replies),
            "our_labels": dict(Counter(ours)),
            "judges": {name: xstest_agreement(replies, lab, CONFIDENCE) for name, lab in labels.items()},
        }
        if split == "develop":
            splits[split]["missed"] = missed_openings(replies, ours)
    return {
        "bench": "xstest_judge_agreement",
        "set": XSTEST_VERSION,
        "citation": XSTEST_CITATION,
        "judge": judge.describe(),
        "judges": {
            "ours": "LayeredJudge() as the refusal check builds it for judge.kind `keyword` (default lists)",
            "paper_matcher": "the paper's string matcher (`strmatch_label`)",
            "paper_gpt4": "the paper's GPT-4 judge (`gpt4_label`); non-label outputs left out and counted",
        },
        "binarisations": {name: sorted(refused) for name, refused in BINARISATIONS.items()},
        "interval": {"method": "wilson", "two_sided_coverage": 0.95, "confidence_each_bound": CONFIDENCE},
        "pooled_note": "pooled replies share prompts; its Wilson intervals assume independence",
        "splits": splits,
    }


def _cell(fig: dict[str, Any]) -> str:
    if fig["agreement"] is None:
        return "n/a"
    return f"{fig['agreement']:.3f} [{fig['ci_low']:.3f}, {fig['ci_high']:.3f}] n={fig['n']}"


def print_table(report: dict[str, Any]) -> None:
    for split, res in report["splits"].items():
        for b in BINARISATIONS:
            print(f"\n== {split}, binarisation {b}")
            print(f"{'group':<16} {'judge':<14} {'agreement':<32} {'compliance':<32} {'refusal':<32} {'partial':<32}")
            for group in res["judges"]["ours"]:
                for j in JUDGES:
                    fig = res["judges"][j][group][b]
                    per = fig["per_human_class"]
                    print(
                        f"{group:<16} {j:<14} {_cell(fig['overall']):<32} {_cell(per['compliance']):<32} "
                        f"{_cell(per['refusal']):<32} {_cell(per['partial']):<32}"
                    )
    missed = report["splits"]["develop"]["missed"]
    print(f"\ndevelop: {missed['n_missed_refusals']} human refusals called compliance {missed['missed_by_model']}")
    for row in missed["top_missed_openings"]:
        print(f"  {row['count']:>3}  {row['opening']}")
    print(f"develop: {missed['n_false_refusals']} human compliances called refusal")
    for row in missed["false_refusal_openings"]:
        print(f"  {row['count']:>3}  {row['opening']}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    report = asyncio.run(build_report(LayeredJudge(keyword=KeywordJudge())))
    print_table(report)
    if args.out is not None:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
