"""XSTest v2's real model replies with human labels: a calibration set for refusal judges.

`xstest_labelled.jsonl` (package data, version `XSTEST_VERSION`) holds the replies of three chat models
(`XSTEST_MODELS`: gpt4, llama2new, mistralinstruct) to XSTest's 450 prompts (250 safe, 200 unsafe), 1,350
replies, each with its human label and the labels of the paper's own start-of-reply string matcher and
GPT-4 judge, all in the judge's vocabulary (`refusal`, `partial`, `compliance`).

Source and licence: Röttger, Kirk, Vidgen, Attanasio, Bianchi, Hovy, "XSTest: A Test Suite for Identifying
Exaggerated Safety Behaviours in Large Language Models", NAACL 2024; data from
github.com/paul-rottger/exaggerated-safety at commit d7bb5bd, licensed CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/). Changes: the per-model CSVs are merged into one JSONL with
fewer columns and the paper's labels renamed (see `xstest_NOTICE.md` beside this file).

Split: each prompt id is in the `develop` half or the `heldout` half, the same for all three models. Within
the safe and within the unsafe prompts, ids are ranked by the SHA-256 of `SPLIT_SALT:<id>` and the first
half of each is `develop` (125 safe + 100 unsafe prompts); the rest is `heldout`. Judges are designed on
`develop` only, and their agreement is quoted on `heldout`.

    from evaluators.checks.refusal.judges.xstest import load_xstest_set
    for r in load_xstest_set("heldout"):           # 675 replies: 225 prompts x 3 models
        label = my_judge(r.prompt, r.reply)         # compare with r.human
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal, get_args

XSTEST_VERSION = "xstest-v2-labelled/1"
XSTEST_FILE = "xstest_labelled.jsonl"
XSTEST_MODELS: tuple[str, ...] = ("gpt4", "llama2new", "mistralinstruct")
XSTEST_CITATION = (
    "Röttger, Kirk, Vidgen, Attanasio, Bianchi, Hovy. XSTest: A Test Suite for Identifying Exaggerated Safety "
    "Behaviours in Large Language Models. NAACL 2024. Data: paul-rottger/exaggerated-safety @ d7bb5bd, CC BY 4.0."
)
SPLIT_SALT = "xstest-split/1"

HumanLabel = Literal["refusal", "partial", "compliance"]
"""A person's (or the paper's judges') label of a reply: full refusal, partial refusal or full compliance."""
HUMAN_LABELS: tuple[str, ...] = get_args(HumanLabel)

Split = Literal["develop", "heldout"]
SPLITS: tuple[str, ...] = get_args(Split)


@dataclass(frozen=True)
class XSTestReply:
    """One model's reply to one XSTest prompt, with the human label and the paper's two judges' labels."""

    prompt_id: int
    """XSTest's prompt number, 1-450 (`v2-<n>` upstream)."""
    prompt_type: str
    """XSTest's type, e.g. `homonyms`; unsafe prompts' types start with `contrast_`."""
    prompt_label: Literal["safe", "unsafe"]
    model: str
    prompt: str
    reply: str
    human: HumanLabel
    paper_matcher: HumanLabel
    """The paper's start-of-reply string matcher (it never says `partial`)."""
    paper_gpt4: HumanLabel | None
    """The paper's GPT-4 judge; None where its output was not one of the labels."""
    split: Split


def _rank(prompt_id: int) -> str:
    return hashlib.sha256(f"{SPLIT_SALT}:{prompt_id}".encode()).hexdigest()


def develop_prompt_ids(prompt_labels: Mapping[int, str]) -> frozenset[int]:
    """The `develop` half: per safe/unsafe group, the first half of the ids ranked by their salted hash."""
    develop: set[int] = set()
    for group in sorted(set(prompt_labels.values())):
        ids = sorted((i for i, g in prompt_labels.items() if g == group), key=_rank)
        develop.update(ids[: len(ids) // 2])
    return frozenset(develop)


def _label(raw: object, line_no: int, field: str) -> HumanLabel:
    if raw not in HUMAN_LABELS:
        raise ValueError(f"{XSTEST_FILE} line {line_no}: unknown {field} label {raw!r}")
    return raw  # type: ignore[return-value]


@cache
def _all_replies() -> tuple[XSTestReply, ...]:
    text = resources.files(__package__).joinpath(XSTEST_FILE).read_text(encoding="utf-8")
    raws = [(n, json.loads(line)) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    develop = develop_prompt_ids({raw["prompt_id"]: raw["prompt_label"] for _, raw in raws})
    return tuple(
        XSTestReply(
            prompt_id=raw["prompt_id"],
            prompt_type=raw["type"],
            prompt_label=raw["prompt_label"],
            model=raw["model"],
            prompt=raw["prompt"],
            reply=raw["reply"],
            human=_label(raw["human"], n, "human"),
            paper_matcher=_label(raw["paper_matcher"], n, "paper_matcher"),
            paper_gpt4=None if raw["paper_gpt4"] is None else _label(raw["paper_gpt4"], n, "paper_gpt4"),
            split="develop" if raw["prompt_id"] in develop else "heldout",
        )
        for n, raw in raws
    )


def load_xstest_set(split: Split | Literal["all"] = "all", models: Sequence[str] | None = None) -> list[XSTestReply]:
    """The shipped replies of one half (`develop`, `heldout`) or `all`, optionally of some models only.

    Order: model by model (`XSTEST_MODELS` order), then prompt id. Raises ValueError on an unknown split or model.
    """
    if split not in (*SPLITS, "all"):
        raise ValueError(f"unknown split {split!r}; expected one of {(*SPLITS, 'all')}")
    unknown = set(models or ()) - set(XSTEST_MODELS)
    if unknown:
        raise ValueError(f"unknown model(s) {sorted(unknown)}; the set has {list(XSTEST_MODELS)}")
    return [r for r in _all_replies() if (split == "all" or r.split == split) and (models is None or r.model in models)]
