"""Verbatim memorisation and membership inference on forget-domain text (reported, not gated).

- Verbatim memorisation (MUSE's VerbMem): each forget text is cut after its first half of words (at most
  `PREFIX_WORDS`); the model continues the prefix greedily (`max_new_tokens` = `CONTINUATION_TOKENS`) and
  the continuation is compared with the true next words (at most `CONTINUATION_WORDS`) by ROUGE-L F1 over
  lower-cased word tokens (Lin 2004). The figure is the mean over texts with a bootstrap interval.
- Membership inference (Shi et al. 2024, min-k% prob): a text's score is the mean log-probability of its
  `MIN_K` share of least likely tokens; members (forget corpus) should score higher than non-members
  (holdout corpus, same domain, never trained on). AUC = P(score(member) > score(non-member)), ties 1/2;
  0.5 means the model cannot tell them apart. With a reference model (never saw the forget data), MUSE's
  PrivLeak = (AUC_target - AUC_reference) / AUC_reference. Needs per-token log-probs: white-box only.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from evaluators.models.protocol import BatchHook, GenerationRequest, LanguageModel, WhiteBoxModel
from evaluators.models.tokenization import LmEvalEncoder, resolve_max_length
from evaluators.stats import Interval, bootstrap

PREFIX_WORDS = 32
CONTINUATION_WORDS = 32
CONTINUATION_TOKENS = 48
MIN_K = 0.2
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 of two texts over lower-cased word tokens (0 when either is empty)."""
    c, r = words(candidate), words(reference)
    if not c or not r:
        return 0.0
    prev = [0] * (len(r) + 1)
    for cw in c:
        row = [0]
        for j, rw in enumerate(r, start=1):
            row.append(prev[j - 1] + 1 if cw == rw else max(prev[j], row[j - 1]))
        prev = row
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(c), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


def split_prefix(text: str) -> tuple[str, str] | None:
    """(prefix, true continuation) of a text, or None when it has fewer than 4 words."""
    tokens = text.split()
    if len(tokens) < 4:
        return None
    cut = min(len(tokens) // 2, PREFIX_WORDS)
    return " ".join(tokens[:cut]), " ".join(tokens[cut : cut + CONTINUATION_WORDS])


async def verbatim_memorisation(
    model: LanguageModel,
    texts: Sequence[str],
    *,
    confidence: float,
    resamples: int,
    seed: int,
    hook: BatchHook | None = None,
) -> tuple[Interval, list[dict[str, Any]]]:
    """Mean ROUGE-L of greedy continuations of text prefixes, with its bootstrap interval and records."""
    pairs = [(i, p) for i, t in enumerate(texts) if (p := split_prefix(t)) is not None]
    requests = [GenerationRequest(prefix, max_new_tokens=CONTINUATION_TOKENS, chat=False) for _, (prefix, _) in pairs]
    generated = await model.generate(requests, hook) if requests else []
    records, scores = [], []
    for (index, (prefix, truth)), text in zip(pairs, generated, strict=True):
        score = rouge_l(text, truth)
        scores.append(score)
        records.append({"index": index, "prefix": prefix, "reference": truth, "generation": text, "rouge_l": score})
    if not scores:
        return Interval(math.nan, math.nan, math.nan, 0, "bootstrap_paired", confidence, note="no usable text"), []
    iv = bootstrap(
        np.array(scores),
        lambda rows: float(rows[0].mean()),
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )
    return iv, records


def _min_k_batch(model: Any, encoded: list[list[int]], pad_id: int) -> list[float]:
    device = next(model.parameters()).device
    width = max(len(t) for t in encoded)
    ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, t in enumerate(encoded):
        ids[r, : len(t)] = torch.tensor(t)
        mask[r, : len(t)] = 1
    with torch.inference_mode():
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
    logprobs = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None].to(device))[..., 0].cpu()
    out = []
    for r, t in enumerate(encoded):
        lp = logprobs[r, : len(t) - 1]
        k = max(1, math.ceil(MIN_K * lp.numel()))
        out.append(float(lp.sort().values[:k].mean()) if lp.numel() else math.nan)
    return out


async def min_k_scores(wb: WhiteBoxModel, texts: Sequence[str], batch_size: int = 16) -> list[float]:
    """Per text, the mean log-prob of its least likely `MIN_K` share of tokens (higher: more familiar)."""
    encoder = LmEvalEncoder(wb.tokenizer)
    limit = resolve_max_length(wb.torch_model.config, wb.tokenizer)
    encoded = [encoder.encode(t)[:limit] for t in texts]
    pad = wb.tokenizer.pad_token_id if wb.tokenizer.pad_token_id is not None else wb.tokenizer.eos_token_id
    scores: list[float] = []
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start : start + batch_size]
        scores += await asyncio.to_thread(_min_k_batch, wb.torch_model, chunk, int(pad or 0))
    return scores


def auc(members: Sequence[float] | np.ndarray, nonmembers: Sequence[float] | np.ndarray) -> float:
    """P(member score > non-member score), ties counted 1/2 (Mann-Whitney U / n1 n2)."""
    m, n = np.asarray(members, float), np.asarray(nonmembers, float)
    if not m.size or not n.size:
        return math.nan
    greater = (m[:, None] > n[None, :]).sum() + 0.5 * (m[:, None] == n[None, :]).sum()
    return float(greater / (m.size * n.size))


def auc_interval(
    members: Sequence[float], nonmembers: Sequence[float], *, confidence: float, resamples: int, seed: int
) -> Interval:
    """AUC with a percentile bootstrap interval, resampling members and non-members separately."""
    m, n = np.asarray(members, float), np.asarray(nonmembers, float)
    estimate = auc(m, n)
    if not math.isfinite(estimate):
        return Interval(math.nan, math.nan, math.nan, int(m.size + n.size), "bootstrap_stratified", confidence)
    rng = np.random.default_rng(seed)
    draws = [auc(m[rng.integers(0, m.size, m.size)], n[rng.integers(0, n.size, n.size)]) for _ in range(resamples)]
    low, high = np.quantile(draws, [1 - confidence, confidence])
    return Interval(
        estimate,
        float(low),
        float(high),
        int(m.size + n.size),
        "bootstrap_stratified",
        confidence,
        resamples,
        seed,
        note=f"{m.size} members, {n.size} non-members",
    )


def privleak_interval(
    target: tuple[Sequence[float], Sequence[float]],
    reference: tuple[Sequence[float], Sequence[float]],
    *,
    confidence: float,
    resamples: int,
    seed: int,
) -> Interval:
    """MUSE's PrivLeak (AUC_target - AUC_reference) / AUC_reference over the same texts, with a bootstrap
    interval that resamples texts (members and non-members separately) for both models together."""
    tm, tn = np.asarray(target[0], float), np.asarray(target[1], float)
    rm, rn = np.asarray(reference[0], float), np.asarray(reference[1], float)

    def leak(mi: np.ndarray, ni: np.ndarray) -> float:
        ref = auc(rm[mi], rn[ni])
        return (auc(tm[mi], tn[ni]) - ref) / ref if ref > 0 else math.nan

    estimate = leak(np.arange(tm.size), np.arange(tn.size))
    rng = np.random.default_rng(seed)
    draws = np.array(
        [leak(rng.integers(0, tm.size, tm.size), rng.integers(0, tn.size, tn.size)) for _ in range(resamples)]
    )
    finite = draws[np.isfinite(draws)]
    n = int(tm.size + tn.size)
    if not math.isfinite(estimate) or finite.size < 0.95 * resamples:
        return Interval(estimate, math.nan, math.nan, n, "bootstrap_stratified", confidence, note="not estimable")
    low, high = np.quantile(finite, [1 - confidence, confidence])
    return Interval(estimate, float(low), float(high), n, "bootstrap_stratified", confidence, resamples, seed)
