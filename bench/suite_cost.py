"""What a `wmdp-bio` audit costs per unit, measured on synthetic items, and extrapolated to the full suite.

    python -m bench.suite_cost --tiny --n 16 --out suite_cost.json               # minutes on 2 CPU cores
    python -m bench.suite_cost --n 8 --out suite_cost.json                        # the 105.8M bench model
    python -m bench.suite_cost --checkpoint DIR --n 32 --device cuda --dtype bfloat16
    python -m bench.suite_cost --model llama2-7b --device cuda --dtype bfloat16 --n 32   # bench/suite_cost_gpu.sh

It runs the suite's own checks (`evaluators.benchmark_suites.wmdp_checks("wmdp-bio", n_min)`) through
`evaluators/` alone (no service, no Hub): every Hub dataset is replaced by inline synthetic items of the real
dataset's shape, kept with the suite's filters, subjects, groups and adjacency, and subsampled by the loader's
seeded `Sample`. Target and baseline are the same model object passed twice (nothing is memoised between the
roles: the checks do the baseline's work again, as on two copies, without a second copy's memory).

Units, each timed on both roles together:
- forget: one FORGET_CHECK run per elicitation/attack (the check's own `details.seconds`); relearning's
  training (steps x folds x runs, set by the budget, not by the item count) and quantization's copy+quantize
  are fixed costs, the rest scales with items;
- refusal: generation (`max_new_tokens`, greedy) per prompt, per variant family, through the check's own
  request builder and `generate_and_judge`; then the whole REFUSAL_CHECK once, for the total;
- collateral: the whole COLLATERAL_CHECK over MMLU's 57 subjects in the suite's two pooled groups, per item.

Synthetic shapes (assumptions, words drawn from bench_model's syllable vocabulary): WMDP-bio questions 30-60
words, choices 1-15 words; MMLU questions 10-100 words, choices 1-12 words, `--mmlu-per-subject` items per
subject; HarmBench behaviours 8-30 words over its six standard categories (HARMBENCH_CATEGORY_COUNTS, an
assumption); XSTest prompts 5-15 words, 250 `safe` and 200 `unsafe`. The forget items' answers are set to the
baseline's own standard-format choice (an untimed pass), so the baseline "knows" the material and the check
runs every attack instead of stopping at `baseline_lacks_knowledge` (timing does not depend on the answers).

Random weights never emit EOS early, so every generation runs its full `max_new_tokens`: generation figures
are upper bounds. Small samples make per-item figures pessimistic where batches are not full.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from bench.bench_model import build_model, build_tokenizer, word_list
from evaluators.benchmark_suites import MMLU_SUBJECTS, WMDP_DOMAINS, wmdp_checks
from evaluators.checks.base import CheckContext
from evaluators.checks.collateral.check import CollateralCapabilityCheck
from evaluators.checks.forget.check import BLACK_BOX_ATTACKS, FORGET_CHECK, WHITE_BOX_ATTACKS
from evaluators.checks.forget.templates import ATTACK_TO_ELICITATIONS
from evaluators.checks.refusal.check import REFUSAL_CHECK
from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.checks.refusal.replies import generate_and_judge, generation_requests
from evaluators.checks.refusal.variants import BUILTIN_FAMILIES, PLAIN, expand_prompt
from evaluators.datasets import DatasetLoader
from evaluators.models.checkpoint import CheckpointModel
from evaluators.models.checkpoint_loader import CheckpointCache
from evaluators.models.protocol import LanguageModel
from evaluators.scoring import score_multiple_choice
from schemas.datasets import CollateralDatasetRef, DatasetRef, Sample
from schemas.policy import Policy
from schemas.requests import Checks
from schemas.scorecard import ModelProvenance

SUITE = "wmdp-bio"
FULL_SUITE_COUNTS = {
    "wmdp_bio": 1273,
    "mmlu_test": 14042,
    "harmbench_standard": 200,
    "harmbench_chemical_biological": 28,
    "xstest_safe": 250,
}
"""Published item counts (HarmBench's chemical_biological count is HARMBENCH_CATEGORY_COUNTS's assumption)."""
HARMBENCH_CATEGORY_COUNTS = {
    "chemical_biological": 28,
    "cybercrime_intrusion": 40,
    "harassment_bullying": 19,
    "harmful": 21,
    "illegal": 58,
    "misinformation_disinformation": 34,
}
"""HarmBench's 200 standard behaviours by category: our assumption (not read from the dataset here). With the
default n_min of 50 the 28 chemical_biological prompts are too few, so the suite uses all 200."""
SHAPES = {
    "wmdp_question_words": (30, 60),
    "wmdp_choice_words": (1, 15),
    "mmlu_question_words": (10, 100),
    "mmlu_choice_words": (1, 12),
    "harmbench_words": (8, 30),
    "xstest_words": (5, 15),
}
"""Word-count ranges (uniform) of the synthetic items: assumptions about the real datasets' shapes."""
LLAMA2_7B = {"layers": 32, "hidden": 4096, "intermediate": 11008, "heads": 32, "vocab": 32000, "positions": 4096}
CHAT_TEMPLATE = "{% for m in messages %}{{ '<s>[INST] ' + m['content'] + ' [/INST]' }}{% endfor %}"
"""A Llama-2-style chat wrapper, so refusal prompts pay for the chat template's tokens as on a chat model."""


class DeadlineExceeded(Exception):
    """A unit ran past its part's time budget (raised from the BatchHook between batches)."""


@dataclass
class Deadline:
    """The BatchHook every backend call gets: raises once `at` (time.monotonic) has passed."""

    at: float = float("inf")

    def __call__(self, done: int) -> None:
        if time.monotonic() > self.at:
            raise DeadlineExceeded(f"past the part's time budget after {done} done")


@dataclass
class Unit:
    """One measured unit: `seconds` for `n` units on both roles; `fixed_s` of it does not scale with n."""

    part: str
    name: str
    unit: str
    n: int
    seconds: float | None
    fixed_s: float = 0.0
    full_count: int | None = None
    notes: list[str] = field(default_factory=list)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def per_unit_s(self) -> float | None:
        if self.seconds is None or self.n == 0:
            return None
        return max(0.0, self.seconds - self.fixed_s) / self.n

    def extrapolated_s(self) -> float | None:
        if self.per_unit_s is None or self.full_count is None:
            return None
        return self.per_unit_s * self.full_count + self.fixed_s

    def as_dict(self) -> dict[str, Any]:
        per = self.per_unit_s
        full = self.extrapolated_s()
        return {
            "part": self.part,
            "name": self.name,
            "unit": self.unit,
            "n": self.n,
            "seconds_both_roles": None if self.seconds is None else round(self.seconds, 3),
            "fixed_s": round(self.fixed_s, 3),
            "per_unit_s": None if per is None else round(per, 5),
            "full_count": self.full_count,
            "extrapolated_s": None if full is None else round(full, 1),
            "notes": self.notes,
            "loadavg_before": [round(x, 2) for x in self.load_before],
            "loadavg_after": [round(x, 2) for x in self.load_after],
        }


# --- synthetic datasets ------------------------------------------------------------------------------


class Synth:
    """Seeded text of given word counts, from bench_model's synthetic vocabulary."""

    def __init__(self, seed: int) -> None:
        self.words = word_list(60000, 0)
        self.rng = random.Random(seed)

    def text(self, span: tuple[int, int], end: str = "") -> str:
        return " ".join(self.rng.choices(self.words, k=self.rng.randint(*span))).capitalize() + end

    def mc_item(self, question: tuple[int, int], choice: tuple[int, int], **extra: Any) -> dict[str, Any]:
        choices = [self.text(choice) for _ in range(4)]
        return {"question": self.text(question, "?"), "choices": choices, "answer": self.rng.randrange(4), **extra}


def wmdp_pool(synth: Synth, n: int) -> list[dict[str, Any]]:
    return [synth.mc_item(SHAPES["wmdp_question_words"], SHAPES["wmdp_choice_words"]) for _ in range(n)]


def harmbench_rows(synth: Synth) -> list[dict[str, Any]]:
    return [
        {"prompt": synth.text(SHAPES["harmbench_words"], "."), "category": category}
        for category, count in HARMBENCH_CATEGORY_COUNTS.items()
        for _ in range(count)
    ]


def xstest_rows(synth: Synth) -> list[dict[str, Any]]:
    return [
        {"prompt": synth.text(SHAPES["xstest_words"], "?"), "label": "safe" if i < 250 else "unsafe"}
        for i in range(450)
    ]


def synthetic_checks(suite: Checks, synth: Synth, wmdp_items: list[dict[str, Any]], per_subject: int) -> Checks:
    """The suite's checks with every Hub dataset replaced by inline items (filters, groups, subjects kept)."""
    assert suite.forget and suite.refusal and suite.refusal.benign and suite.collateral
    forget = suite.forget.model_copy(update={"dataset": DatasetRef(items=wmdp_items, name=SUITE)})
    harmful, benign = suite.refusal.harmful, suite.refusal.benign
    refusal = suite.refusal.model_copy(
        update={
            "harmful": DatasetRef(
                items=harmbench_rows(synth), name=harmful.name, where=harmful.where, where_min=harmful.where_min
            ),
            "benign": DatasetRef(items=xstest_rows(synth), name=benign.name, where=benign.where),
        }
    )
    datasets = []
    for ref in suite.collateral.datasets:
        assert ref.hub is not None and ref.hub.config is not None
        items = [synth.mc_item(SHAPES["mmlu_question_words"], SHAPES["mmlu_choice_words"]) for _ in range(per_subject)]
        datasets.append(
            CollateralDatasetRef(
                items=items, name=ref.hub.config, subject=ref.subject, adjacent=ref.adjacent, group=ref.group
            )
        )
    assert [d.name for d in datasets] == list(MMLU_SUBJECTS)  # the suite's 57 subjects, in order
    collateral = suite.collateral.model_copy(update={"datasets": datasets})
    return Checks(forget=forget, refusal=refusal, collateral=collateral)


# --- models ------------------------------------------------------------------------------------------


def _dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def build_llama2_7b_shape(vocab: int, tokenizer: Any, device: str, dtype: torch.dtype) -> Any:
    """A randomly initialised model of Llama-2-7B's shape, built directly on `device` in `dtype`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    s = LLAMA2_7B
    config = LlamaConfig(
        vocab_size=max(vocab, len(tokenizer)),
        hidden_size=s["hidden"],
        intermediate_size=s["intermediate"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        num_key_value_heads=s["heads"],
        max_position_embeddings=s["positions"],
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        torch.manual_seed(0)
        with torch.device(device):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


async def open_model(args: argparse.Namespace) -> tuple[LanguageModel, dict[str, Any]]:
    """The model under test and a description of it."""
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if args.checkpoint is not None:
        model = await CheckpointCache(0).open(args.checkpoint, device=device, dtype=args.dtype)
        torch_model: Any = model.torch_model
        described: dict[str, Any] = {"kind": "checkpoint", "path": str(args.checkpoint)}
    else:
        tokenizer = build_tokenizer(args.cache_dir / "tokenizer")
        tokenizer.chat_template = CHAT_TEMPLATE
        dtype = _dtype("float32" if args.dtype == "auto" else args.dtype)
        if args.model == "llama2-7b":
            torch_model = build_llama2_7b_shape(32000, tokenizer, device, dtype)
        else:
            layers, hidden = (2, 64) if args.model == "tiny" else (8, 768)
            torch_model = build_model(tokenizer, layers=layers, hidden=hidden).to(device=device, dtype=dtype)
        provenance = ModelProvenance(kind="bench", description=f"random {args.model} Llama (suite_cost.py)")
        model = CheckpointModel(torch_model, tokenizer, name=f"bench-{args.model}", provenance=provenance)
        described = {"kind": args.model}
    config = torch_model.config
    described |= {
        "parameters": sum(p.numel() for p in torch_model.parameters()),
        "layers": config.num_hidden_layers,
        "hidden": config.hidden_size,
        "intermediate": config.intermediate_size,
        "vocab": config.vocab_size,
        "runtime": dataclasses.asdict(model.runtime()),
    }
    return model, described


# --- the measurements --------------------------------------------------------------------------------


class Bench:
    def __init__(self, model: LanguageModel, args: argparse.Namespace) -> None:
        self.model = model
        self.args = args
        self.seed = args.seed
        self.sample = Sample(n=args.n, seed=args.seed)
        self.loader = DatasetLoader([], None, sample=self.sample)
        self.deadline = Deadline()
        self.units: list[Unit] = []
        self.selection: dict[str, list[str]] = {}

    def context(self, sample: Sample | None = None) -> CheckContext:
        return CheckContext(
            target=self.model,
            baseline=self.model,  # the same object twice: the checks run the baseline's work again
            reference=None,
            policy=Policy(),
            seed=self.seed,
            load_dataset=self.loader,
            hook=self.deadline,
            sample=sample or self.sample,
        )

    async def timed(self, unit: Unit, work: Callable[[], Awaitable[float | None]]) -> Unit:
        """Run `work` (which returns its own seconds, or None to use the wall time) and record the unit."""
        unit.load_before = os.getloadavg()
        started = time.perf_counter()
        try:
            own = await work()
            unit.seconds = own if own is not None else time.perf_counter() - started
        except DeadlineExceeded as exc:
            unit.seconds = None
            unit.notes.append(f"not measured: {exc}")
        unit.load_after = os.getloadavg()
        self.units.append(unit)
        per = unit.per_unit_s
        shown = f"{per:.4f} s/{unit.unit}" if per is not None else "not measured"
        print(f"  {unit.part:10s} {unit.name:22s} n={unit.n:<4d} {shown}", flush=True)
        return unit

    async def forget(self, spec: Any, attacks: list[str]) -> None:
        self.deadline.at = time.monotonic() + self.args.part_budget_s
        loaded = self.loader(spec.dataset, "multiple_choice")
        self.selection["forget"] = loaded.selection
        # The baseline must know the material, or the check stops before its white-box attacks: label each
        # drawn item with the baseline's own standard-format choice (untimed; timing ignores the answers).
        scores = await score_multiple_choice(self.model, loaded.items, spec.subject, hook=self.deadline)
        items = [
            {**item.model_dump(), "answer": s.chosen if s.chosen is not None else item.answer}
            for item, s in zip(loaded.items, scores, strict=True)
        ]
        spec = spec.model_copy(update={"dataset": DatasetRef(items=items, name=SUITE)})
        n = len(items)
        for attack in ["warmup", "standard", *attacks]:
            elicitations = ATTACK_TO_ELICITATIONS.get(attack, (attack,))
            run_spec = spec.model_copy(update={"attacks": [] if attack in ("warmup", "standard") else [attack]})
            unit = Unit("forget", attack, "item", n, None, full_count=FULL_SUITE_COUNTS["wmdp_bio"])

            async def work(run_spec: Any = run_spec, unit: Unit = unit, elicitations: Any = elicitations) -> float:
                outcome = await FORGET_CHECK.run(run_spec, self.context())
                details = outcome.result.details
                if outcome.result.verdict == "error":
                    unit.notes.append(f"check error: {outcome.result.reasons}")
                seconds: dict[str, float] = details.get("seconds", {})
                settings: dict[str, Any] = details.get("elicitations", {})
                key = {"logit_lens": "hidden_states", "probe": "hidden_states"}.get(unit.name, unit.name)
                if unit.name in WHITE_BOX_ATTACKS:
                    own = seconds.get(key, 0.0)
                else:
                    own = sum(seconds.get(e, 0.0) for e in elicitations)
                for name, s in settings.items():
                    if name in ("relearning", "benign_relearning") and "seconds" in s:
                        method, device = s.get("method"), s.get("device")
                        unit.notes.append(f"{name}: {method} training {s['seconds']} s (target) on {device}")
                return own

            if attack == "warmup":
                await FORGET_CHECK.run(run_spec, self.context())  # allocator, kernels, tokenizer caches
                continue
            await self.timed(unit, work)
        white_box_fixed_costs(self.units)

    async def refusal(self, spec: Any, families: list[str]) -> None:
        self.deadline.at = time.monotonic() + self.args.part_budget_s
        harmful = self.loader(spec.harmful, "prompt")
        benign = self.loader(spec.benign, "prompt")
        self.selection["refusal_harmful"] = harmful.selection
        self.selection["refusal_benign"] = benign.selection
        judge = LayeredJudge()
        full_harmful = (
            FULL_SUITE_COUNTS["harmbench_chemical_biological"]
            if HARMBENCH_CATEGORY_COUNTS["chemical_biological"] >= Policy().n_min
            else FULL_SUITE_COUNTS["harmbench_standard"]
        )
        units: list[tuple[str, str, Any, list[str], int]] = [
            ("harmful", PLAIN, harmful, [], full_harmful),
            *[("harmful", f, harmful, [f], full_harmful) for f in families],
            ("benign", "xstest_plain", benign, [], FULL_SUITE_COUNTS["xstest_safe"]),
        ]
        for dataset, family, loaded, wanted, full in units:
            keep = family if dataset == "harmful" else PLAIN
            variants = [
                v
                for i, item in enumerate(loaded.items)
                for v in expand_prompt(i, item.prompt, item.variants, wanted, self.seed)
                if v.family == keep
            ]
            requests = generation_requests(variants, spec.samples, spec.max_new_tokens, self.seed)
            unit = Unit("refusal", family, "prompt", len(variants), None, full_count=full)
            unit.notes.append(f"{spec.max_new_tokens} new tokens, greedy, {spec.samples} sample(s) per prompt")

            async def work(requests: Any = requests, dataset: str = dataset) -> None:
                for role in ("target", "baseline"):
                    await generate_and_judge(self.model, role, dataset, requests, judge, self.deadline, lambda k: None)

            await self.timed(unit, work)
        whole = spec.model_copy(update={"variants": families})
        total_prompts = len(harmful.items) * (1 + len(families)) + len(benign.items)
        unit = Unit("refusal", "whole_check", "prompt", total_prompts, None)
        unit.notes.append("REFUSAL_CHECK.run: every family and XSTest together (keyword judge, calibration)")

        async def whole_check() -> None:
            await REFUSAL_CHECK.run(whole, self.context())

        await self.timed(unit, whole_check)

    async def collateral(self, spec: Any) -> None:
        self.deadline.at = time.monotonic() + self.args.part_budget_s
        ctx = self.context(Sample(n=self.args.n_mmlu, seed=self.seed))
        unit = Unit("collateral", "mmlu_standard", "item", 0, None, full_count=FULL_SUITE_COUNTS["mmlu_test"])

        async def work() -> None:
            outcome = await CollateralCapabilityCheck().run(spec, ctx)
            unit.n = sum(d.n for d in outcome.datasets)
            groups = {g: 0 for g in ("mmlu-adjacent", "mmlu-other")}
            for d, ref in zip(outcome.datasets, spec.datasets, strict=True):
                groups[ref.group] += d.n
            unit.notes.append(f"items per group: {groups}; {sum(1 for d in outcome.datasets if d.n)} subjects drawn")
            if outcome.result.verdict == "error":
                unit.notes.append(f"check error: {outcome.result.reasons}")

        await self.timed(unit, work)


STANDARD_PASSES = {"relearning": 1.5, "benign_relearning": 1.0, "quantization": 2.0}
"""Scoring each white-box attack does, in standard passes over the items on both roles: relearning scores
each held-out fold on three trained copies (target, baseline, placebo), benign relearning all items on two,
quantization all items on two copies per scheme (int8, nf4)."""


def white_box_fixed_costs(units: list[Unit]) -> None:
    """Split each white-box attack into its scoring (scales with items, as many standard passes as it makes)
    and the rest: copies, training steps (set by the budget) and quantizing, which do not scale with items."""
    std = next((u for u in units if u.part == "forget" and u.name == "standard" and u.seconds is not None), None)
    for u in units:
        if u.part != "forget" or u.name not in STANDARD_PASSES or u.seconds is None or std is None:
            continue
        assert std.seconds is not None
        scoring = STANDARD_PASSES[u.name] * std.seconds * u.n / std.n
        u.fixed_s = max(0.0, u.seconds - scoring)
        u.notes.append(
            f"fixed part (copies, training, quantizing) = seconds - {STANDARD_PASSES[u.name]} standard passes"
        )


def extrapolation(units: list[Unit]) -> dict[str, Any]:
    """Per-unit figures times the published counts: labelled, never a measurement."""
    parts: dict[str, float] = {}
    rows = {}
    for u in units:
        full = u.extrapolated_s()
        if full is None:
            continue
        rows[f"{u.part}/{u.name}"] = round(full, 1)
        parts[u.part] = parts.get(u.part, 0.0) + full
    total = sum(parts.values())
    return {
        "label": "extrapolated: measured per-unit seconds x published item counts (+ fixed costs); not measured",
        "counts": FULL_SUITE_COUNTS,
        "harmbench_rows_used": "all 200 (chemical_biological assumed 28 < n_min 50)",
        "units_s": rows,
        "parts_s": {k: round(v, 1) for k, v in parts.items()},
        "total_s": round(total, 1),
        "total_h": round(total / 3600, 2),
        "both_roles": True,
    }


def table(units: list[Unit], extra: dict[str, Any]) -> str:
    lines = [
        f"{'part':10s} {'unit':22s} {'n':>5s} {'s (both)':>10s} {'fixed s':>9s} {'s/unit':>10s} "
        f"{'full n':>7s} {'extrapolated s':>15s}"
    ]
    for u in units:
        d = u.as_dict()
        secs = "-" if d["seconds_both_roles"] is None else f"{d['seconds_both_roles']:.2f}"
        per = "-" if d["per_unit_s"] is None else f"{d['per_unit_s']:.4f}"
        full = "-" if d["extrapolated_s"] is None else f"{d['extrapolated_s']:.0f}"
        count = "-" if u.full_count is None else str(u.full_count)
        lines.append(
            f"{u.part:10s} {u.name:22s} {u.n:5d} {secs:>10s} {u.fixed_s:9.2f} {per:>10s} {count:>7s} {full:>15s}"
        )
    lines.append(f"extrapolated (not measured) per part: {extra['parts_s']}")
    lines.append(f"extrapolated (not measured) full wmdp-bio suite: {extra['total_s']} s = {extra['total_h']} h")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    load_start = os.getloadavg()
    began = time.perf_counter()
    model, described = await open_model(args)
    print(f"model: {described}", flush=True)
    synth = Synth(args.seed)
    suite = wmdp_checks(SUITE, Policy().n_min)
    checks = synthetic_checks(suite, synth, wmdp_pool(synth, args.wmdp_pool), args.mmlu_per_subject)
    if args.relearning_steps is not None and checks.forget is not None:  # smoke runs only: not the suite's budget
        budget = checks.forget.relearning.model_copy(update={"steps": args.relearning_steps})
        checks.forget = checks.forget.model_copy(update={"relearning": budget})
    bench = Bench(model, args)
    parts = [p for p in args.parts.split(",") if p]
    attacks = [a for a in args.attacks.split(",") if a]
    families = [f for f in args.families.split(",") if f]
    if "forget" in parts:
        await bench.forget(checks.forget, attacks)
    if "refusal" in parts:
        await bench.refusal(checks.refusal, families)
    if "collateral" in parts:
        await bench.collateral(checks.collateral)
    extra = extrapolation(bench.units)
    print(table(bench.units, extra))
    return {
        "benchmark": "suite_cost.py",
        "suite": SUITE,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        },
        "model": described,
        "roles": "target and baseline are the same model object passed twice (work done twice, one copy in memory)",
        "settings": {
            "n": args.n,
            "n_mmlu_per_group": args.n_mmlu,
            "seed": args.seed,
            "wmdp_pool": args.wmdp_pool,
            "mmlu_per_subject": args.mmlu_per_subject,
            "part_budget_s": args.part_budget_s,
            "attacks": attacks,
            "relearning": checks.forget.relearning.model_dump() if checks.forget else None,
            "families": families,
            "shapes_words": SHAPES,
            "harmbench_category_counts_assumed": HARMBENCH_CATEGORY_COUNTS,
            "domain": WMDP_DOMAINS[SUITE].__dict__,
        },
        "selection": bench.selection,
        "measured": [u.as_dict() for u in bench.units],
        "extrapolated": extra,
        "caveats": [
            "random weights never stop early: every generation runs its full max_new_tokens (upper bounds)",
            "small samples leave batches part-full: per-item figures are pessimistic against full-size runs",
            "relearning's training and quantization's copy are fixed costs, added once in the extrapolation",
        ],
        "wall_s": round(time.perf_counter() - began, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="the 2-layer 64-hidden model (same as --model tiny)")
    parser.add_argument("--model", choices=("tiny", "bench", "llama2-7b"), default="bench")
    parser.add_argument("--checkpoint", type=Path, help="a saved model instead of a random one")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", help="auto (float32 for random models), float32, bfloat16")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--n", type=int, default=16, help="Sample.n: items (prompts) drawn per dataset (>= 5 folds)")
    parser.add_argument("--n-mmlu", type=int, default=57, help="Sample.n per MMLU group (collateral)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--wmdp-pool", type=int, default=FULL_SUITE_COUNTS["wmdp_bio"])
    parser.add_argument("--mmlu-per-subject", type=int, default=4)
    parser.add_argument("--parts", default="forget,refusal,collateral")
    parser.add_argument("--attacks", default=",".join([*BLACK_BOX_ATTACKS, *WHITE_BOX_ATTACKS]))
    parser.add_argument("--relearning-steps", type=int, help="override the suite's relearning steps (smoke runs)")
    parser.add_argument("--families", default=",".join(BUILTIN_FAMILIES))
    parser.add_argument("--part-budget-s", type=float, default=600.0, help="time budget of each part")
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/unlearn_audit_bench"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.tiny:
        args.model = "tiny"
    if args.threads:
        torch.set_num_threads(args.threads)
    result = asyncio.run(run(args))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
