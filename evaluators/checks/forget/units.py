"""The forget check's independent units, and where they run.

The check's model work is units: first the `standard` elicitation (it decides whether the baseline knows
anything to unlearn), then, independent of one another, every other black-box elicitation (`blackbox.BlackBoxUnit`,
target and baseline), on checkpoint targets the white-box attacks' units (`whitebox_units`), and the memorisation
figures (`MemorisationUnit`). They run where `ctx.run_units` sends them (the Ray executor: each its own task), or
without one here, one after another; their results are added to the tally in the check's order either way, so the
outcome does not depend on where they ran.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from evaluators.checks.base import CheckContext
from evaluators.checks.forget.blackbox import BlackBoxUnit, score_roles
from evaluators.checks.forget.corpus import CorpusFigures, corpus_figures
from evaluators.checks.forget.figures import ElicitationScores
from evaluators.checks.forget.tally import Tally
from evaluators.checks.forget.whitebox import PerItem, relearned, white_box_of
from evaluators.checks.forget.whitebox_units import (
    QUANTIZATION_SCHEMES,
    WhiteBoxAttacks,
    WhiteBoxUnit,
    plan_units,
    training_budget,
    unit_attack,
)
from schemas.errors import UnsupportedCapabilityError
from schemas.requests import ForgetCheck


@dataclass(frozen=True)
class MemorisationUnit:
    """The memorisation figures on the forget corpus (reported, not gated; `corpus`)."""

    label = "memorisation"
    trains = False


Unit = BlackBoxUnit | WhiteBoxUnit | MemorisationUnit


class UnitComputer:
    """Runs one unit on a context: the whole check's (here) or one rebuilt from the same job (another process's).
    Returns a `RolesScored` for a black-box unit, (result, seconds) for a white-box or memorisation one."""

    def __init__(self, spec: ForgetCheck, ctx: CheckContext, items: list[Any], folds: list[int]) -> None:
        self.spec, self.ctx, self.items, self.folds = spec, ctx, items, folds
        self._white: WhiteBoxAttacks | None = None

    async def __call__(self, unit: Unit) -> Any:
        spec, ctx = self.spec, self.ctx
        if isinstance(unit, MemorisationUnit):
            began = time.perf_counter()
            return await corpus_figures(spec, ctx), time.perf_counter() - began
        if isinstance(unit, BlackBoxUnit):
            return await score_roles(
                ctx.target, ctx.baseline, unit.elicitation, self.items, spec.subject, self.folds,
                few_shot_k=spec.few_shot_k, seed=ctx.seed, hook=ctx.hook,
            )  # fmt: skip
        if self._white is None:
            wb_target, wb_base = white_box_of(ctx.target, ctx.target_is_endpoint), white_box_of(ctx.baseline, False)
            self._white = WhiteBoxAttacks(spec, ctx, self.items, self.folds, wb_target, wb_base)
        return await self._white.run(unit)


@dataclass
class UnitsRun:
    """One run of the check's units (see the module): planned, run, and added to `tally` in the check's order."""

    spec: ForgetCheck
    ctx: CheckContext
    items: list[Any]
    tally: Tally

    async def standard(self) -> None:
        """The `standard` elicitation, target and baseline, before any other unit: every residual is measured
        against it. A target it cannot score can be scored in no format."""
        (scored,) = await self._run([BlackBoxUnit("standard")], lambda i: None)
        if scored.skipped is not None:
            raise UnsupportedCapabilityError(scored.skipped)
        self.tally.add_black_box(scored)
        self.tally.step()

    async def run(self, black: list[str], white: list[str]) -> CorpusFigures:
        """`black`: the black-box elicitations after `standard`; `white`: the white-box attacks requested.
        Returns the memorisation figures (the seconds they took are in the tally)."""
        ctx = self.ctx
        wb_target, wb_base = white_box_of(ctx.target, ctx.target_is_endpoint), white_box_of(ctx.baseline, False)
        white_units = plan_units(white, wb_base is not None, self.tally.folds) if wb_target is not None else []
        memorisation = [MemorisationUnit()] if self.spec.corpus is not None else []
        units: list[Unit] = [*(BlackBoxUnit(n) for n in black), *white_units, *memorisation]
        results = await self._run(units, self._progress(len(black), white, white_units))
        for scored in results[: len(black)]:
            self.tally.add_black_box(scored)
        if wb_target is None:
            why = "target is an endpoint" if ctx.target_is_endpoint else "target offers no white-box access"
            self.tally.skipped.update(
                {a: f"white-box attack: {why} (needs weights, hidden states and a trainable copy)" for a in white}
            )
        else:
            timed = dict(zip(white_units, results[len(black) : len(black) + len(white_units)], strict=True))
            self._add_white_box(white, timed, has_baseline=wb_base is not None)
        if not memorisation:
            self.tally.seconds["memorisation"] = 0.0
            return CorpusFigures()
        corpus, took = results[-1]
        self.tally.seconds["memorisation"] = round(took, 3)
        return cast(CorpusFigures, corpus)

    async def _run(self, units: Sequence[Unit], done: Callable[[int], None]) -> list[Any]:
        if self.ctx.run_units is not None:
            return await self.ctx.run_units("forget", units, done)
        compute = UnitComputer(self.spec, self.ctx, self.items, self.tally.folds)
        results = []
        for i, unit in enumerate(units):
            results.append(await compute(unit))
            done(i)
        return results

    def _progress(self, n_black: int, white: list[str], white_units: Sequence[WhiteBoxUnit]) -> Callable[[int], None]:
        """`done(i)` for unit i: a black-box elicitation is one step; a white-box attack is one step when its
        last unit is done (logit lens and probe when the hidden-state pass is); `plan_units` gives every
        white-box attack at least one unit."""
        owner = {a: ("hidden_states" if a in ("logit_lens", "probe") else a) for a in white}
        left = {a: sum(unit_attack(u) == owner[a] for u in white_units) for a in white}

        def done(i: int) -> None:
            if i >= n_black + len(white_units):  # the memorisation figures: not a step
                return
            if i < n_black:
                self.tally.step()
                return
            unit = white_units[i - n_black]
            for attack in white:
                if owner[attack] == unit_attack(unit) and left[attack] > 0:
                    left[attack] -= 1
                    if left[attack] == 0:
                        self.tally.step()

        return done

    def _add_white_box(
        self, white: list[str], timed: dict[WhiteBoxUnit, tuple[Any, float]], *, has_baseline: bool
    ) -> None:
        """Records, elicitations and seconds of every white-box attack, in the check's order."""
        roles = ["target", "baseline"] if has_baseline else ["target"]
        seconds: dict[str, float] = {}
        for unit, (_, took) in timed.items():
            seconds[unit_attack(unit)] = seconds.get(unit_attack(unit), 0.0) + took
        value = {unit: got for unit, (got, _) in timed.items()}
        for attack in white:
            if attack == "relearning":
                runs = {r: self._relearned("relearning", r, value) for r in roles}
                self._add(attack, runs, self._relearned("relearning_placebo", "target", value), trained=True)
            elif attack == "benign_relearning":
                self._add(attack, {r: value[WhiteBoxUnit(attack, r)] for r in roles}, trained=True)
            elif attack == "direction_ablation":
                runs, placebo = value[WhiteBoxUnit("direction_ablation", "target")]
                self._add(attack, runs, placebo, trained=True)
            elif attack == "quantization":
                for scheme in QUANTIZATION_SCHEMES:
                    name = f"quantization_{scheme}"
                    self._add(name, {r: value[WhiteBoxUnit(name, r)] for r in roles})
            if attack in seconds:
                self.tally.seconds[attack] = round(seconds[attack], 3)
        hidden = {u.role: got for u, got in value.items() if u.attack == "hidden_states"}
        if hidden:
            for name in ("logit_lens", "probe"):
                if name in hidden["target"]:
                    self._add(name, {role: got[name] for role, got in hidden.items()})
            self.tally.seconds["hidden_states"] = round(seconds["hidden_states"], 3)  # lens and probe share one pass

    def _relearned(self, attack: str, role: str, value: dict[WhiteBoxUnit, Any]) -> PerItem:
        """A relearning run (or its placebo) on `role` from its folds' units."""
        folds = self.tally.folds
        runs = [value[WhiteBoxUnit(attack, role, fold=f)] for f in sorted(set(folds))]
        return relearned(len(self.items), folds, runs, training_budget(self.spec), attack == "relearning_placebo")

    def _add(self, name: str, runs: dict[str, PerItem], placebo: PerItem | None = None, trained: bool = False) -> None:
        for role, run in runs.items():
            self.tally.record(name, role, run.records)
        if placebo is not None:
            self.tally.record(f"{name}_placebo", "target", placebo.records)
        target, base = runs["target"], runs.get("baseline")
        self.tally.elicitations.append(
            ElicitationScores(
                name,
                "white_box",
                target.correct,
                base.correct if base else None,
                placebo.correct if placebo else None,
                version=name,
                settings={**target.settings, "trained": trained},
            )
        )
