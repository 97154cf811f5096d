"""The forget check's white-box attacks as independent units: one attack (or one quantization scheme) on one role,
and for relearning and its placebo one fold.

A unit names only what its work depends on beyond the job (attack, role, which hidden-state figures), so it
pickles small and another process can run it on a context rebuilt from the same job: the items, folds, seed and
budget all follow from the job's request. `plan_units` lists them in the order the check runs them in one
process, so running them one after another here does exactly what the check always did.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, cast

from evaluators.attacks.relearning import TrainingBudget
from evaluators.checks.base import CheckContext
from evaluators.checks.forget.ablation_attack import direction_ablation
from evaluators.checks.forget.whitebox import benign_relearning, latent, quantized, relearning_fold
from evaluators.models.memo import reused
from schemas.canonical import sha256_hex
from schemas.requests import ForgetCheck

QUANTIZATION_SCHEMES = ("int8", "nf4")


@dataclass(frozen=True)
class WhiteBoxUnit:
    """One white-box run: `attack` is relearning or relearning_placebo (one `fold`: trained on the others, scored
    on it), benign_relearning, direction_ablation (both roles in one run, as its placebo needs them),
    quantization_int8, quantization_nf4 or hidden_states (logit lens and probe from one pass); `role` is target or
    baseline."""

    attack: str
    role: str
    want_lens: bool = False
    want_probe: bool = False
    fold: int | None = None

    @property
    def label(self) -> str:
        return f"{self.attack}-{self.role}" + (f"-fold{self.fold}" if self.fold is not None else "")

    @property
    def trains(self) -> bool:
        """Whether the unit fine-tunes or quantizes a copy of its model (see service.runner.ray_resources)."""
        return self.attack not in ("hidden_states",)


def plan_units(white: Sequence[str], has_baseline: bool, folds: Sequence[int]) -> list[WhiteBoxUnit]:
    """The units of the white-box attacks `white` (their names in the check's order); `folds`: each item's fold."""
    roles = ["target", "baseline"] if has_baseline else ["target"]
    fold_ids = sorted(set(folds))
    units: list[WhiteBoxUnit] = []
    for attack in white:
        if attack == "relearning":
            runs = [("relearning", r) for r in roles] + [("relearning_placebo", "target")]
            units += [WhiteBoxUnit(a, r, fold=f) for a, r in runs for f in fold_ids]
        elif attack == "benign_relearning":
            units += [WhiteBoxUnit("benign_relearning", r) for r in roles]
        elif attack == "direction_ablation":
            units.append(WhiteBoxUnit("direction_ablation", "target"))
        elif attack == "quantization":
            units += [WhiteBoxUnit(f"quantization_{s}", r) for s in QUANTIZATION_SCHEMES for r in roles]
    want_lens, want_probe = "logit_lens" in white, "probe" in white
    if want_lens or want_probe:
        units += [WhiteBoxUnit("hidden_states", r, want_lens, want_probe) for r in roles]
    return units


def training_budget(spec: ForgetCheck) -> TrainingBudget:
    """The relearning attacks' budget from the request."""
    relearn = spec.relearning
    return TrainingBudget(
        steps=relearn.steps,
        learning_rate=relearn.learning_rate,
        batch_size=relearn.batch_size,
        lora_above_params=relearn.lora_above_params,
    )


def unit_attack(unit: WhiteBoxUnit) -> str:
    """The attack a unit belongs to (for progress and per-attack seconds); hidden_states serves lens and probe."""
    if unit.attack == "relearning_placebo":
        return "relearning"
    if unit.attack.startswith("quantization_"):
        return "quantization"
    return unit.attack


@dataclass
class WhiteBoxAttacks:
    """Runs units on one run's checkpoints: the target and (where it has one) the baseline."""

    spec: ForgetCheck
    ctx: CheckContext
    items: list[Any]
    folds: list[int]
    wb_target: Any
    wb_base: Any

    def __post_init__(self) -> None:
        self.budget = training_budget(self.spec)
        # Everything an attack's result depends on besides the model (memoised on a fingerprinted baseline).
        self.data_key = [sha256_hex(self.items), self.spec.subject, list(self.folds), self.ctx.seed]

    async def run(self, unit: WhiteBoxUnit) -> tuple[Any, float]:
        """(the unit's result, its seconds): a RelearnedFold per relearning fold; a PerItem per other run;
        direction_ablation: ({role: PerItem}, placebo); hidden_states: {"logit_lens"/"probe": PerItem}."""
        began = time.perf_counter()
        value = await self._compute(unit)
        return value, time.perf_counter() - began

    async def _compute(self, unit: WhiteBoxUnit) -> Any:
        spec, ctx = self.spec, self.ctx
        wb = self.wb_target if unit.role == "target" else self.wb_base
        if unit.attack in ("relearning", "relearning_placebo"):
            placebo, fold = unit.attack == "relearning_placebo", int(unit.fold or 0)
            relearn = partial(
                relearning_fold, wb, self.items, spec.subject, self.folds, fold, self.budget,
                seed=ctx.seed, placebo=placebo, hook=ctx.hook, variant=unit.attack,
            )  # fmt: skip
            if placebo:
                return await relearn()
            return await reused(wb, ["relearning", self.data_key, self.budget.as_dict(), fold], relearn)
        if unit.attack == "benign_relearning":
            key = ["benign_relearning", self.data_key, self.budget.as_dict()]
            compute = partial(
                benign_relearning, wb, self.items, spec.subject, self.budget, seed=ctx.seed, hook=ctx.hook
            )
            return await reused(wb, key, compute)
        if unit.attack == "direction_ablation":
            return await direction_ablation(
                self.wb_target, self.wb_base, self.items, spec.subject, self.folds, seed=ctx.seed, hook=ctx.hook
            )
        if unit.attack.startswith("quantization_"):
            scheme = cast(Literal["int8", "nf4"], unit.attack.removeprefix("quantization_"))
            key = ["quantized", self.data_key, scheme]
            return await reused(wb, key, partial(quantized, wb, self.items, spec.subject, scheme, hook=ctx.hook))
        if unit.attack == "hidden_states":
            one_pass = partial(
                latent, wb, self.items, spec.subject, self.folds, seed=ctx.seed, hook=ctx.hook,
                want_lens=unit.want_lens, want_probe=unit.want_probe,
            )  # fmt: skip
            return await reused(wb, ["latent", self.data_key, unit.want_lens, unit.want_probe], one_pass)
        raise ValueError(f"unknown white-box unit {unit.attack!r}")
