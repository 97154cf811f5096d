"""The measurements: each part's checks timed per unit, on both roles."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.wmdp_cost.extrapolate import white_box_fixed_costs
from bench.wmdp_cost.synthetic import HARMBENCH_CATEGORY_COUNTS
from bench.wmdp_cost.units import FULL_SUITE_COUNTS, SUITE, Deadline, DeadlineExceeded, Unit
from evaluators.checks.base import CheckContext
from evaluators.checks.collateral.check import CollateralCapabilityCheck
from evaluators.checks.forget.check import FORGET_CHECK, WHITE_BOX_ATTACKS
from evaluators.checks.forget.templates import ATTACK_TO_ELICITATIONS
from evaluators.checks.refusal.check import REFUSAL_CHECK
from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.checks.refusal.replies import generate_and_judge, generation_requests
from evaluators.checks.refusal.variants import PLAIN, expand_prompt
from evaluators.datasets import DatasetLoader
from evaluators.models.protocol import LanguageModel
from evaluators.scoring import score_multiple_choice
from schemas.datasets import DatasetRef, Sample
from schemas.policy import Policy


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
