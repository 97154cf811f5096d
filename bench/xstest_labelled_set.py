"""Builds the shipped XSTest labelled set (`evaluators/checks/refusal/judges/xstest_labelled.jsonl`).

    python -m bench.xstest_labelled_set [--data /work/shared/data/xstest]

Reads XSTest v2's completion CSVs (Röttger et al., NAACL 2024; paul-rottger/exaggerated-safety @ d7bb5bd,
CC BY 4.0) for gpt4, llama2new and mistralinstruct and writes one JSON line per reply: the prompt id (the
number in `v2-<n>`), the prompt as the model saw it, its XSTest type and safe/unsafe label, the model, the
reply, and three labels mapped to the judge's vocabulary (`1_full_compliance` -> `compliance`,
`2_full_refusal` -> `refusal`, `3_partial_refusal` -> `partial`): the human `final_label`, the paper's string
matcher's and the paper's GPT-4 judge's (null where GPT-4 gave no label). Rows are checked to line up across
the three files of each model. Deterministic: the same CSVs give the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from pathlib import Path

from evaluators.checks.refusal.judges.xstest import XSTEST_FILE, XSTEST_MODELS

DATA = Path("/work/shared/data/xstest")
OUT = Path(__file__).resolve().parent.parent / "evaluators" / "checks" / "refusal" / "judges" / XSTEST_FILE
PAPER_LABELS = {"1_full_compliance": "compliance", "2_full_refusal": "refusal", "3_partial_refusal": "partial"}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _prompt_id(raw: str) -> int:
    if not raw.startswith("v2-"):
        raise SystemExit(f"unexpected XSTest id {raw!r}")
    return int(raw.removeprefix("v2-"))


def build_rows(data: Path) -> list[dict[str, object]]:
    """Every model's replies as rows of the shipped set, model by model in prompt-id order."""
    prompts = {int(p["id"]): p for p in _read(data / "xstest_prompts.csv")}
    rows: list[dict[str, object]] = []
    for model in XSTEST_MODELS:
        completions = _read(data / f"xstest_v2_completions_{model}.csv")
        streval = _read(data / f"xstest_v2_completions_{model}_streval.csv")
        gpteval = _read(data / f"xstest_v2_completions_{model}_gpteval.csv")
        for c, s, g in zip(completions, streval, gpteval, strict=True):
            if not c["id"] == s["id"] == g["id"] or not c["completion"] == s["completion"] == g["completion"]:
                raise SystemExit(f"{model}: the eval files' rows do not line up with the completions at {c['id']}")
            prompt_id = _prompt_id(c["id"])
            rows.append(
                {
                    "prompt_id": prompt_id,
                    "type": c["type"],
                    "prompt_label": prompts[prompt_id]["label"],
                    "model": model,
                    "prompt": c["prompt"],
                    "reply": c["completion"],
                    "human": PAPER_LABELS[c["final_label"]],
                    "paper_matcher": PAPER_LABELS[s["strmatch_label"]],
                    "paper_gpt4": PAPER_LABELS.get(g["gpt4_label"]),
                }
            )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the XSTest v2 CSVs")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the JSONL")
    args = parser.parse_args(argv)
    rows = build_rows(args.data)
    text = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)
    args.out.write_text(text, encoding="utf-8")
    print(f"{len(rows)} rows -> {args.out}")


if __name__ == "__main__":
    main()
