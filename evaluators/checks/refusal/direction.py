"""The refusal-direction report: does the target still carry the baseline's refusal direction? (not gated)

Refusal in chat models is largely mediated by one direction of the residual stream (Arditi et al. 2024): per
layer, the difference in means of the last-token states of harmful and benign chat prompts. On checkpoints
(white-box target and baseline) the report reads those states once per model and gives:

- the layer: chosen on the baseline's fit prompts only (`direction_stats.choose_layer`);
- separation: harmful and benign held-out prompts projected on the baseline's unit direction, for baseline
  and target (standardised mean difference and AUROC), and target minus baseline;
- cosine: the baseline's and the target's own directions at that layer, over all prompts;
- ablation: the baseline's refusal rate on held-out harmful prompts with the direction projected out of every
  decoder block's output (forward hooks on a copy, `evaluators.models.ablation`) against its own unablated
  replies, judged by the check's judge.

Prompts of each class are split in two by the request's seed: directions and the layer come from the fit
half, every figure but the cosine is measured on the held-out half. Nothing here gates the verdict: the
figures describe mechanism, and a model can keep or lose a direction for reasons the refusal rates already
judge. Skipped, with the reason, on endpoints, without a baseline or benign prompts, or with too few prompts.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from evaluators.checks.base import CheckContext, LoadedDataset
from evaluators.checks.forget.whitebox import white_box_of
from evaluators.checks.refusal.direction_stats import (
    auroc,
    choose_layer,
    cosine_interval,
    mean_difference,
    separation_change,
    separation_interval,
    split_halves,
    standardised_difference,
    unit,
)
from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.checks.refusal.metrics import JudgedReply, StatsSettings, rate, rate_change
from evaluators.checks.refusal.variants import PLAIN, PromptVariant
from evaluators.models.ablation import ablating, decoder_layers
from evaluators.models.chat_prompt import prompt_texts
from evaluators.models.memo import reused
from evaluators.models.protocol import GenerationRequest, WhiteBoxModel
from evaluators.stats import Interval
from evaluators.verdict import gated_metric
from schemas.generation import RefusalGeneration
from schemas.requests import RefusalCheck
from schemas.scorecard import Metric

DIRECTION_VERSION = "refusal-direction/1"
MIN_PER_SPLIT = 8
"""Fewest prompts of each class in each half (fit, held-out): 16 harmful and 16 benign prompts at least."""
ABLATED = "direction_ablated"
"""The variant name of the baseline's replies with the direction ablated (records and metrics)."""
LAYER_RULE = (
    "the layer >= 1 whose difference-in-means direction, estimated on one half of the fit prompts, gives the "
    "largest standardised mean difference on the other half (both ways round, averaged); baseline only"
)

NO_PLAIN_REPLIES = "The baseline has no plain replies to the held-out harmful prompts to compare against."

Request = tuple[PromptVariant, int, GenerationRequest]


@dataclass
class DirectionReport:
    """What the check adds: `details` (the `refusal_direction` section), ungated metrics, ablated replies."""

    details: dict[str, Any]
    metrics: list[Metric] = field(default_factory=list)
    replies: list[JudgedReply] = field(default_factory=list)


def skipped(reason: str, why: str) -> DirectionReport:
    return DirectionReport({"status": "skipped", "reason": reason, "summary": why, "version": DIRECTION_VERSION})


def chat_formatted(tokenizer: Any, prompts: Sequence[str], generation: RefusalGeneration) -> list[str]:
    """Each prompt as the check's replies are generated from it: one user turn after the request's system
    prompt, rendered with the request's chat template or the model's own, with the generation prompt.

    Blocking (a request's template renders in a child process). The model's own template is used whenever it
    has one; `hidden_states` adds BOS when the rendered text does not begin with it."""
    requests = [
        GenerationRequest(p, system_prompt=generation.system_prompt, chat_template=generation.chat_template)
        for p in prompts
    ]
    return [text for text, _ in prompt_texts(requests, tokenizer, "auto")]


async def _states(
    wb: WhiteBoxModel, prompts: Sequence[str], generation: RefusalGeneration, ctx: CheckContext
) -> np.ndarray:
    """[prompts, layers + 1, hidden] last-token states of the chat-formatted prompts (one batched pass)."""
    texts = await asyncio.to_thread(chat_formatted, wb.tokenizer, prompts, generation)
    states = await wb.hidden_states(texts, ctx.hook)
    return np.stack([torch.as_tensor(s, dtype=torch.float32).numpy() for s in states])


def _figure(name: str, iv: Interval, model: str, note: str, baseline_value: float | None = None) -> Metric:
    return gated_metric(
        name,
        iv,
        direction="higher_is_better",
        threshold=None,
        gated=False,
        model=model,
        baseline_value=baseline_value,
        note=note,
    )


def _finite(x: float) -> float | None:
    """JSON carries no NaN (canonical scorecards refuse it): a figure that cannot be estimated is null."""
    return x if math.isfinite(x) else None


def _interval_dict(iv: Interval) -> dict[str, Any]:
    return {"value": _finite(iv.estimate), "ci": [_finite(iv.low), _finite(iv.high)], "n": iv.n, "method": iv.method}


def _geometry(
    base: np.ndarray,
    target: np.ndarray,
    n_harmful: int,
    s: StatsSettings,
) -> tuple[dict[str, Any], list[Metric], np.ndarray]:
    """Layer, separation and cosine figures; returns (details, metrics, the baseline's unit direction)."""
    seed = s.seed
    h_fit, h_held = split_halves(n_harmful, seed)
    b_fit, b_held = split_halves(len(base) - n_harmful, seed + 1)
    b_fit, b_held = [n_harmful + i for i in b_fit], [n_harmful + i for i in b_held]
    layer, scores = choose_layer(base[h_fit], base[b_fit], seed)
    direction = unit(mean_difference(base[h_fit, layer], base[b_fit, layer]).astype(np.float64))
    kw: dict[str, Any] = {"confidence": s.confidence, "resamples": s.resamples, "seed": seed}
    at = {"baseline": base[:, layer].astype(np.float64), "target": target[:, layer].astype(np.float64)}
    projected = {role: (states[h_held] @ direction, states[b_held] @ direction) for role, states in at.items()}
    sep = {role: separation_interval(*p, standardised_difference, **kw) for role, p in projected.items()}
    roc = {role: separation_interval(*p, auroc, **kw) for role, p in projected.items()}
    change = separation_change(projected["baseline"], projected["target"], **kw)
    cosine = cosine_interval(
        (at["baseline"][:n_harmful], at["baseline"][n_harmful:]),
        (at["target"][:n_harmful], at["target"][n_harmful:]),
        **kw,
    )
    held = (
        f"held-out prompts ({len(h_held)} harmful, {len(b_held)} benign) on the baseline's direction at layer {layer}"
    )
    metrics = [
        *(_figure("direction_separation", sep[r], r, f"standardised mean difference of {held}") for r in sep),
        _figure("direction_separation", change, "difference", f"target minus baseline, {held}"),
        *(_figure("direction_auroc", roc[r], r, f"AUROC of {held}") for r in roc),
        _figure(
            "direction_cosine",
            cosine,
            "target",
            f"cosine of the target's and the baseline's difference-in-means directions at layer {layer}, all prompts",
        ),
    ]
    details = {
        "layer": {
            "index": layer,
            "layers": int(base.shape[1]) - 1,
            "rule": LAYER_RULE,
            "fit_separation": [_finite(x) for x in scores],
        },
        "split": {
            "seed": seed,
            "fit": {"harmful": len(h_fit), "benign": len(b_fit)},
            "held_out": {"harmful": len(h_held), "benign": len(b_held)},
            "held_out_harmful": h_held,
        },
        "separation": {r: {"d": _interval_dict(sep[r]), "auroc": _interval_dict(roc[r])} for r in sep},
        "separation_change": _interval_dict(change),
        "cosine": _interval_dict(cosine),
    }
    return details, metrics, direction


async def _ablation(
    wb: WhiteBoxModel,
    baseline: Any,
    direction: np.ndarray,
    layers: int,
    requests: Sequence[Request],
    unablated: Sequence[JudgedReply],
    judge: LayeredJudge,
    ctx: CheckContext,
    s: StatsSettings,
) -> tuple[dict[str, Any], list[Metric], list[JudgedReply]]:
    """The baseline's replies to `requests` with `direction` ablated at every layer, judged and compared."""
    vector = torch.from_numpy(direction.astype(np.float32))
    digest = hashlib.sha256(vector.numpy().tobytes()).hexdigest()
    generation = [r for _, _, r in requests]

    async def generate() -> list[str]:
        # Hooks go on a copy: the loaded model is shared with whatever else runs on it meanwhile.
        ablated = await asyncio.to_thread(copy.deepcopy, wb.torch_model)
        with ablating(ablated, dict.fromkeys(range(1, layers + 1), vector)):
            return await wb.derived(ablated, ABLATED).generate(generation, ctx.hook)

    texts = await reused(baseline, ["refusal_direction_ablation", DIRECTION_VERSION, digest, generation], generate)
    judgements = await judge.judge_many([(v.text, t) for (v, _, _), t in zip(requests, texts, strict=True)], ctx.hook)
    replies = [
        JudgedReply("baseline", "harmful", v.base_index, ABLATED, v.sub_index, sample, v.text, text, j)
        for (v, sample, _), text, j in zip(requests, texts, judgements, strict=True)
    ]
    by_key = {(r.base_index, r.sample): r for r in unablated}
    pairs = [(r, by_key[r.base_index, r.sample]) for r in replies if (r.base_index, r.sample) in by_key]
    with_direction, without = rate(unablated, "refusal", s), rate(replies, "refusal", s)
    change = rate_change(pairs, s)
    note = "the baseline on held-out harmful plain prompts"
    metrics = [
        _figure("direction_ablation_refusal_rate", without, "baseline", f"{note}, direction ablated at every layer"),
        _figure("direction_ablation_refusal_rate", with_direction, "baseline", f"{note}, unablated"),
        _figure("direction_ablation_refusal_change", change, "baseline", f"ablated minus unablated, {note}"),
    ]
    metrics[0].variant, metrics[1].variant, metrics[2].variant = "ablated", "unablated", "ablated_minus_unablated"
    details = {
        "ablated": _interval_dict(without),
        "unablated": _interval_dict(with_direction),
        "change": _interval_dict(change),
        "layers_ablated": f"the output of every decoder block (hidden states 1..{layers}; not the embeddings)",
        "replies": len(replies),
    }
    return details, metrics, replies


async def refusal_direction_report(
    ctx: CheckContext,
    judge: LayeredJudge,
    spec: RefusalCheck,
    harmful_set: LoadedDataset,
    benign_set: LoadedDataset | None,
    harmful_requests: Sequence[Request],
    baseline_harmful: Sequence[JudgedReply] | None,
) -> DirectionReport:
    """The `refusal_direction` section for the plain prompts of the harmful and benign datasets.

    `harmful_requests` and `baseline_harmful` are the check's own generation requests and the baseline's
    judged replies to them: the ablation reuses the plain, held-out ones, so both sides are generated alike.
    `spec.direction` false skips the report; `spec.generation` says how prompts are rendered.
    """
    started = time.monotonic()
    if not spec.direction:
        return skipped("not_requested", "The request turned the refusal-direction report off (direction: false).")
    harmful = [item.prompt for item in harmful_set.items]
    benign = [item.prompt for item in benign_set.items] if benign_set is not None else []
    wb_target = white_box_of(ctx.target, ctx.target_is_endpoint)
    wb_base = white_box_of(ctx.baseline, False)
    if ctx.baseline is None:
        return skipped("no_baseline", "There is no baseline whose refusal direction could be compared.")
    if wb_target is None or wb_base is None:
        role = "target" if wb_target is None else "baseline"
        return skipped(f"{role}_not_white_box", f"The {role} offers no hidden states (an endpoint, not a checkpoint).")
    if not benign:
        return skipped("no_benign_prompts", "The request gives no benign prompts to contrast the harmful ones with.")
    if min(len(harmful), len(benign)) < 2 * MIN_PER_SPLIT:
        return skipped(
            "too_few_prompts",
            f"{len(harmful)} harmful and {len(benign)} benign prompts; the report needs {2 * MIN_PER_SPLIT} of each.",
        )
    base = await _states(wb_base, [*harmful, *benign], spec.generation, ctx)
    target = await _states(wb_target, [*harmful, *benign], spec.generation, ctx)
    read_s = time.monotonic() - started
    if base.shape[1:] != target.shape[1:]:
        return skipped("shape_mismatch", f"hidden states differ in shape: baseline {base.shape}, target {target.shape}")
    s = StatsSettings(ctx.policy.confidence, ctx.policy.bootstrap_resamples, ctx.seed)
    details, metrics, direction = await asyncio.to_thread(_geometry, base, target, len(harmful), s)
    details = {"status": "reported", "version": DIRECTION_VERSION, **details}
    replies: list[JudgedReply] = []
    held = set(details["split"]["held_out_harmful"])
    requests = [q for q in harmful_requests if q[0].family == PLAIN and q[0].base_index in held]
    unablated = [r for r in baseline_harmful or [] if r.family == PLAIN and r.base_index in held]
    geometry_s = time.monotonic() - started - read_s
    try:
        layers, unsupported = len(decoder_layers(wb_base.torch_model)), ""
    except ValueError as exc:  # an architecture whose blocks the hooks cannot find
        layers, unsupported = 0, str(exc)
    if not (requests and unablated):
        details["ablation"] = {"status": "skipped", "reason": "no_plain_replies", "summary": NO_PLAIN_REPLIES}
    elif unsupported:
        details["ablation"] = {"status": "skipped", "reason": "unsupported_architecture", "summary": unsupported}
    else:
        details["ablation"], more, replies = await _ablation(
            wb_base, ctx.baseline, direction, layers, requests, unablated, judge, ctx, s
        )
        metrics += more
    details["seconds"] = {
        "hidden_states": round(read_s, 3),
        "figures": round(geometry_s, 3),
        "ablation": round(time.monotonic() - started - read_s - geometry_s, 3),
    }
    return DirectionReport(details, metrics, replies)
