"""MUSE's figures on a model, computed through our model protocol as open-unlearning computes them.

open-unlearning (github.com/locuslab/open-unlearning) configs/eval/muse.yaml and muse_metrics/*.yaml:
- VerbMem (`forget_verbmem_ROUGE`): greedy continuation (128 new tokens) of each `verbmem/forget` prompt, ROUGE-L F1
  against the true continuation `gt` (no chat template: `CompletionDataset`);
- KnowMem on forget and retain (`forget_knowmem_ROUGE`, `retain_knowmem_ROUGE`): each `knowmem` question after the
  few-shot examples of the `*_qa_icl` split, greedy answer (32 new tokens, cut at "\\n\\n", "\\nQuestion",
  "Question:"), ROUGE-L F1 against the gold answer;
- PrivLeak (`privleak`): min-k (k = 0.4) membership scores of the `privleak` forget and holdout texts, the AUC of
  forget vs holdout, relative to the retain model's AUC (`reference`; without one, open-unlearning's default 0.5).

Generation goes through the protocol; min-k needs per-token log-probabilities, which the protocol does not return,
so they are computed from the checkpoint's weights (`token_scores`): the target must be a checkpoint. What differs
from open-unlearning is listed in `DIFFERENCES` (and docs/benchmarks.md).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluators.benchmarks.auc import mia_auc
from evaluators.benchmarks.membership import min_k
from evaluators.benchmarks.privleak import DEFAULT_RETAIN_AUC, privleak
from evaluators.benchmarks.report import RESAMPLES, fmt, mean_interval, reported_metric
from evaluators.benchmarks.rouge import rouge_l_f1, truncate_generation
from evaluators.benchmarks.token_scores import MAX_TOKENS, text_token_logprobs
from evaluators.checks.base import LoadedDataset
from evaluators.models.protocol import BatchHook, GenerationRequest, LanguageModel, WhiteBoxModel
from evaluators.stats.result import Interval
from evaluators.verdict import Direction
from schemas.scorecard import BenchmarkItem, BenchmarkResult, Metric

REFERENCE_IMPLEMENTATION = (
    "locuslab/open-unlearning: configs/eval/muse.yaml, muse_metrics/*.yaml, src/evals/metrics "
    "(memorization.py `rouge`, privacy.py `privleak`, mia/min_k.py)"
)
TEMPLATE_VERSION = "muse-1"
"""The prompt construction below; bump it when it changes (the scorecard records it)."""
VERBMEM_MAX_NEW_TOKENS = 128
KNOWMEM_MAX_NEW_TOKENS = 32
KNOWMEM_STOP = ("\n\n", "\nQuestion", "Question:")
MIN_K = 0.4
"""configs/eval/muse_metrics/mia_min_k.yaml `k`."""
QUESTION_TAG, ANSWER_TAG, TURN_END, ANSWER_END = "Question: ", "Answer: ", "\n", "\n\n"
"""open-unlearning configs/model/Llama-2-7b-hf.yaml `template_args` (MUSE's models have no chat template)."""

DIFFERENCES = (
    "Min-k log-probabilities come from the checkpoint's weights directly (the model protocol returns only sums): "
    "the same tokens as open-unlearning's (BOS + text, 2048 tokens at most, the last one not scored), computed in "
    "float32 from right-padded batches; an endpoint target gets no PrivLeak.",
    "Without `reference` (the retain model) PrivLeak uses open-unlearning's default retain AUC of 0.5; with one, "
    "the reference's AUC is computed here on the same texts (open-unlearning reads it from retain-model logs).",
    "Without a chat template the knowledge prompt uses Llama-2-7b-hf's tags from open-unlearning's model config "
    "('Question: ', '\\n', 'Answer: ', '\\n\\n'); with one (`chat_template: auto`), the few-shot pairs are chat "
    "turns, rendered by the tokenizer's template.",
    "ROUGE references are the dataset's texts as given; open-unlearning decodes them from the label tokens.",
    "The request's `limit` and `sample` apply to every set, the few-shot sets included.",
    "extraction_strength (in open-unlearning's default muse.yaml) is not computed: it needs greedy token ids per "
    "position, which the model protocol does not return.",
    "Intervals: percentile bootstrap over items with the request's seed (PrivLeak: forget and holdout texts "
    "resampled independently, target and reference on the same draws); open-unlearning reports point values.",
)

ROLES = (
    "verbmem_forget",
    "knowmem_forget",
    "knowmem_forget_icl",
    "knowmem_retain",
    "knowmem_retain_icl",
    "privleak_forget",
    "privleak_holdout",
)
"""The sets MUSE's figures read (suite datasets are walked as `benchmarks.muse.<role>`)."""


@dataclass(frozen=True)
class MuseSets:
    """MUSE's sets as loaded, as prompt items: `prompt` is the verbmem prefix, the question, or the privleak text;
    `gt` (verbmem) and `answer` (knowmem) alongside."""

    verbmem_forget: LoadedDataset
    knowmem_forget: LoadedDataset
    knowmem_forget_icl: LoadedDataset
    knowmem_retain: LoadedDataset
    knowmem_retain_icl: LoadedDataset
    privleak_forget: LoadedDataset
    privleak_holdout: LoadedDataset

    def by_role(self) -> dict[str, LoadedDataset]:
        return {role: getattr(self, role) for role in ROLES}


def _field(item: Any, name: str) -> str:
    value = item.model_dump().get(name)
    if not isinstance(value, str):
        raise ValueError(f"a MUSE item has no text column {name!r}")
    return value


class KnowledgePrompts:
    """The few-shot question-answer prompt of one model (open-unlearning `QADataset` with `few_shot_dataset`)."""

    def __init__(self, tokenizer: Any, chat: bool) -> None:
        self.tokenizer = tokenizer
        self.chat = chat and bool(getattr(tokenizer, "chat_template", None))

    def prompt(self, shots: Sequence[tuple[str, str]], question: str) -> str:
        if self.chat:
            turns: list[dict[str, str]] = []
            for q, a in shots:
                turns += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
            turns.append({"role": "user", "content": question})
            return str(self.tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True))
        text = "".join(f"{QUESTION_TAG}{q}{TURN_END}{ANSWER_TAG}{a}{ANSWER_END}" for q, a in shots)
        return f"{text}{QUESTION_TAG}{question}{TURN_END}{ANSWER_TAG}"


@dataclass
class Generated:
    """One set's greedy generations, their references and per-item ROUGE-L F1."""

    generations: list[str]
    references: list[str]
    rouge: np.ndarray


async def _generate_sets(
    model: LanguageModel, prompts: KnowledgePrompts, sets: MuseSets, eos: str, hook: BatchHook | None
) -> dict[str, Generated]:
    """VerbMem and both KnowMem sets in one batched generation call."""
    requests: list[GenerationRequest] = []
    spans: dict[str, tuple[int, int, list[str], tuple[str, ...]]] = {}
    start = len(requests)
    for item in sets.verbmem_forget.items:
        requests.append(GenerationRequest(item.prompt, max_new_tokens=VERBMEM_MAX_NEW_TOKENS, chat=False))
    spans["verbmem_forget"] = (start, len(requests), [_field(i, "gt") for i in sets.verbmem_forget.items], ())
    for role, icl in (("knowmem_forget", sets.knowmem_forget_icl), ("knowmem_retain", sets.knowmem_retain_icl)):
        shots = [(i.prompt, _field(i, "answer")) for i in icl.items]
        data: LoadedDataset = getattr(sets, role)
        start = len(requests)
        for item in data.items:
            requests.append(
                GenerationRequest(
                    prompts.prompt(shots, item.prompt),
                    max_new_tokens=KNOWMEM_MAX_NEW_TOKENS,
                    stop=KNOWMEM_STOP,
                    chat=False,  # the chat template, where used, is already in the prompt
                )
            )
        spans[role] = (start, len(requests), [_field(i, "answer") for i in data.items], KNOWMEM_STOP)
    raw = await model.generate(requests, hook)
    out: dict[str, Generated] = {}
    for role, (begin, end, references, stop) in spans.items():
        texts = [truncate_generation(t, stop, eos) for t in raw[begin:end]]
        rouge = np.array([rouge_l_f1(g, r) for g, r in zip(texts, references, strict=True)])
        out[role] = Generated(texts, references, rouge)
    return out


@dataclass
class MembershipScores:
    """One model's min-k scores on the privleak forget and holdout texts, and token counts."""

    forget: np.ndarray
    holdout: np.ndarray
    forget_tokens: list[int]
    holdout_tokens: list[int]

    @property
    def auc(self) -> float:
        return mia_auc(self.forget, self.holdout)


async def _membership(model: WhiteBoxModel, sets: MuseSets, hook: BatchHook | None) -> MembershipScores:
    forget_texts = [i.prompt for i in sets.privleak_forget.items]
    holdout_texts = [i.prompt for i in sets.privleak_holdout.items]
    logprobs = await text_token_logprobs(model, forget_texts + holdout_texts, hook=hook)
    scores = np.array([min_k(lp, MIN_K) for lp in logprobs])
    counts = [int(lp.size) for lp in logprobs]
    n = len(forget_texts)
    return MembershipScores(scores[:n], scores[n:], counts[:n], counts[n:])


def _privleak_interval(
    target: MembershipScores, reference: MembershipScores | None, seed: int, confidence: float
) -> Interval:
    """PrivLeak with a percentile-bootstrap interval: forget and holdout texts resampled independently, the
    reference's scores (when given) on the same draws."""
    retain_auc = reference.auc if reference is not None else DEFAULT_RETAIN_AUC
    estimate = privleak(target.auc, retain_auc)
    rng = np.random.default_rng(seed)
    nf, nh = target.forget.size, target.holdout.size
    values = np.empty(RESAMPLES)
    for r in range(RESAMPLES):
        fi, hi = rng.integers(0, nf, nf), rng.integers(0, nh, nh)
        ref = mia_auc(reference.forget[fi], reference.holdout[hi]) if reference is not None else DEFAULT_RETAIN_AUC
        values[r] = privleak(mia_auc(target.forget[fi], target.holdout[hi]), ref)
    finite = values[np.isfinite(values)]
    low, high = np.quantile(finite, [1 - confidence, confidence]) if finite.size else (np.nan, np.nan)
    return Interval(estimate, float(low), float(high), nf + nh, "bootstrap_stratified", confidence, RESAMPLES, seed)


def _auc_interval(scores: MembershipScores, seed: int, confidence: float) -> Interval:
    rng = np.random.default_rng(seed)
    nf, nh = scores.forget.size, scores.holdout.size
    values = np.array(
        [
            mia_auc(scores.forget[rng.integers(0, nf, nf)], scores.holdout[rng.integers(0, nh, nh)])
            for _ in range(RESAMPLES)
        ]
    )
    low, high = np.quantile(values, [1 - confidence, confidence])
    return Interval(scores.auc, float(low), float(high), nf + nh, "bootstrap_stratified", confidence, RESAMPLES, seed)


PRIVLEAK_NOTE = (
    "MUSE's PrivLeak: 0 is as private as the retain model; negative (toward -100): the forget texts still look "
    "familiar (under-unlearning); positive: they look less familiar than unseen text (over-unlearning)"
)


async def run_muse(
    suite: str,
    sets: MuseSets,
    target: LanguageModel,
    *,
    reference: LanguageModel | None = None,
    chat: dict[str, bool] | None = None,
    seed: int = 0,
    confidence: float = 0.95,
    hook: BatchHook | None = None,
) -> BenchmarkResult:
    """MUSE's figures for `target` on `sets`; PrivLeak relative to `reference` (the retain model) when given.

    `chat` says per role whether the target's chat template may be applied (its `chat_template: auto`). A target
    without a tokenizer and weights (an endpoint) gets a skipped section saying why.
    """
    began = time.monotonic()
    chat = chat or {}
    section = BenchmarkResult(
        benchmark="muse",
        suite=suite,
        reference_implementation=REFERENCE_IMPLEMENTATION,
        datasets={role: data.name for role, data in sets.by_role().items()},
        differences=list(DIFFERENCES),
    )
    if not isinstance(target, WhiteBoxModel):
        return _skipped_for_an_endpoint(section)
    prompts = KnowledgePrompts(target.tokenizer, chat.get("target", True))
    generated = await _generate_sets(target, prompts, sets, str(target.tokenizer.eos_token or ""), hook)
    scores = await _membership(target, sets, hook)
    ref_scores, ref_note = await _reference_membership(reference, sets, hook)
    metrics = _rouge_metrics(generated, seed, confidence)
    leak = reported_metric(
        "privleak",
        _privleak_interval(scores, ref_scores, seed, confidence),
        "higher_is_better",
        "forget",
        model="difference" if ref_scores is not None else "target",
        note=f"{PRIVLEAK_NOTE}; {ref_note}",
    )
    metrics.append(leak)
    metrics += _mia_metrics(scores, ref_scores, seed, confidence)
    section.metrics = metrics
    section.items = _item_records(generated, scores, ref_scores)
    section.settings = _settings(sets, prompts, ref_scores is not None, seed, confidence)
    section.summary = (
        f"MUSE {suite}: VerbMem {fmt(metrics[0].value)}, KnowMem forget {fmt(metrics[1].value)} / retain "
        f"{fmt(metrics[2].value)}, PrivLeak {fmt(leak.value)} (reported, not gated)"
    )
    section.duration_s = round(time.monotonic() - began, 3)
    return section


def _skipped_for_an_endpoint(section: BenchmarkResult) -> BenchmarkResult:
    section.status = "skipped"
    section.reasons = ["unsupported_capability"]
    section.summary = (
        "MUSE's PrivLeak needs per-token log-probabilities from the target's weights: audit a checkpoint "
        "(local, Hub or MLflow) for MUSE's figures."
    )
    return section


async def _reference_membership(
    reference: LanguageModel | None, sets: MuseSets, hook: BatchHook | None
) -> tuple[MembershipScores | None, str]:
    """The reference's min-k scores where it is a checkpoint (None otherwise), and the PrivLeak note saying which
    retain AUC was used."""
    if reference is None:
        return (
            None,
            f"no `reference` (the retain model): its AUC is taken as {DEFAULT_RETAIN_AUC}, open-unlearning's default",
        )
    if isinstance(reference, WhiteBoxModel):
        return await _membership(
            reference, sets, hook
        ), "relative to the reference (retain model) AUC on the same texts"
    return None, (
        f"the reference is not a checkpoint (no per-token log-probabilities): its AUC is taken as "
        f"{DEFAULT_RETAIN_AUC}, open-unlearning's default"
    )


_ROUGE_FIGURES: tuple[tuple[str, str, Direction, str], ...] = (
    ("verbmem_forget", "forget_verbmem_ROUGE", "lower_is_better", "forget"),
    ("knowmem_forget", "forget_knowmem_ROUGE", "lower_is_better", "forget"),
    ("knowmem_retain", "retain_knowmem_ROUGE", "higher_is_better", "retain"),
)
"""(set, metric name, direction, variant) of each ROUGE figure, in the order the summary reads them."""


def _rouge_metrics(generated: dict[str, Generated], seed: int, confidence: float) -> list[Metric]:
    metrics: list[Metric] = []
    for role, name, direction, variant in _ROUGE_FIGURES:
        rouge = generated[role].rouge
        interval = mean_interval(rouge, float(rouge.mean()), seed, confidence)
        metrics.append(reported_metric(name, interval, direction, variant))
    return metrics


def _mia_metrics(
    scores: MembershipScores, ref_scores: MembershipScores | None, seed: int, confidence: float
) -> list[Metric]:
    """Min-k membership AUC (forget vs holdout) of the target, and of the reference where scored."""
    metrics = [reported_metric("mia_min_k", _auc_interval(scores, seed, confidence), "lower_is_better", "forget")]
    if ref_scores is not None:
        metrics.append(
            reported_metric(
                "mia_min_k", _auc_interval(ref_scores, seed, confidence), "lower_is_better", "forget", "reference"
            )
        )
    return metrics


def _settings(
    sets: MuseSets, prompts: KnowledgePrompts, has_reference: bool, seed: int, confidence: float
) -> dict[str, Any]:
    return {
        "template_version": TEMPLATE_VERSION,
        "chat_template_applied": {"target": prompts.chat},
        "verbmem": {"max_new_tokens": VERBMEM_MAX_NEW_TOKENS, "chat_template": False},
        "knowmem": {
            "max_new_tokens": KNOWMEM_MAX_NEW_TOKENS,
            "stop": list(KNOWMEM_STOP),
            "few_shot": {"forget": len(sets.knowmem_forget_icl.items), "retain": len(sets.knowmem_retain_icl.items)},
        },
        "privleak": {"attack": "min_k", "k": MIN_K, "max_tokens": MAX_TOKENS, "reference": has_reference},
        "decoding": "greedy, cut at EOS",
        "rouge": "rouge_score ROUGE-L F1, Porter stemmer",
        "bootstrap": {"resamples": RESAMPLES, "seed": seed, "confidence": confidence},
    }


def _item_records(
    generated: dict[str, Generated], scores: MembershipScores, ref_scores: MembershipScores | None
) -> list[BenchmarkItem]:
    records: list[BenchmarkItem] = []
    for role, g in generated.items():
        for i, (text, rouge) in enumerate(zip(g.generations, g.rouge, strict=True)):
            values: dict[str, float | str | None] = {"generation": text, "rouge_l_f1": float(rouge)}
            records.append(BenchmarkItem(dataset=role, index=i, model="target", values=values))
    for model, s in (("target", scores), ("reference", ref_scores)):
        if s is None:
            continue
        for role, values_, counts in (
            ("privleak_forget", s.forget, s.forget_tokens),
            ("privleak_holdout", s.holdout, s.holdout_tokens),
        ):
            for i, (score, n) in enumerate(zip(values_, counts, strict=True)):
                records.append(
                    BenchmarkItem(
                        dataset=role, index=i, model=model, values={"min_k": float(score), "scored_tokens": n}
                    )
                )
    return records
