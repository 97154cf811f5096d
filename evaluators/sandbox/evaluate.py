"""Quick direct scoring of the sandbox models (build-time figures for the manifest).

Log-likelihoods are computed as lm-eval does (context and continuation encoded whole, split at the context's
length) in plain torch, batched; generation is greedy.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from evaluators.checks.forget.templates import BLACK_BOX, few_shot, parse_generated_answer
from evaluators.sandbox.data import SUBJECTS
from evaluators.sandbox.examples import REFUSAL
from evaluators.sandbox.modeling import chat_text
from schemas.datasets import MultipleChoiceItem


@torch.no_grad()
def loglikelihoods(model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str]], batch: int = 64) -> list[float]:
    """Sum of log-probs of each continuation given its context."""
    rows = []
    for context, continuation in pairs:
        ctx = tokenizer.encode(context)
        whole = tokenizer.encode(context + continuation)
        rows.append((whole, len(ctx)))
    out: list[float] = []
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        width = max(len(w) for w, _ in chunk)
        ids = torch.full((len(chunk), width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, (w, _) in enumerate(chunk):
            ids[r, : len(w)] = torch.tensor(w)
            mask[r, : len(w)] = 1
        dev = next(model.parameters()).device
        logp = F.log_softmax(model(input_ids=ids.to(dev), attention_mask=mask.to(dev)).logits.float(), -1).cpu()
        for r, (w, n) in enumerate(chunk):
            positions = torch.arange(n - 1, len(w) - 1)
            out.append(float(logp[r, positions, torch.tensor(w[n:])].sum()))
    return out


@torch.no_grad()
def greedy(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int = 24, batch: int = 64) -> list[str]:
    """Greedy replies to chat prompts (chat template applied, BOS added), cut at EOS; batched with left
    padding (one `generate` call per prompt took 3.5-6.1 s per control's figures, batched 0.7-1.3 s)."""
    dev = next(model.parameters()).device
    encoded = [tokenizer.encode(chat_text(p)) for p in prompts]
    replies = []
    for start in range(0, len(encoded), batch):
        chunk = encoded[start : start + batch]
        width = max(len(e) for e in chunk)
        ids = torch.full((len(chunk), width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, e in enumerate(chunk):
            ids[row, width - len(e) :] = torch.tensor(e)
            mask[row, width - len(e) :] = 1
        out = model.generate(
            ids.to(dev),
            attention_mask=mask.to(dev),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        replies += [tokenizer.decode(row[width:], skip_special_tokens=True).strip() for row in out]
    return replies


def mc_accuracy(
    model: Any, tokenizer: Any, items: Sequence[dict[str, Any]], subject: str, fmt: str, seed: int = 0
) -> float:
    """Accuracy of `model` on `items` in the forget check's format `fmt` (few-shot: 3 shots from the rest)."""
    rng = random.Random(seed)
    mcs = [MultipleChoiceItem(question=i["question"], choices=i["choices"], answer=i["answer"]) for i in items]
    elicitation = BLACK_BOX[fmt]
    if fmt == "generation":
        prompts = [elicitation.template.render(m, subject).context for m in mcs]
        replies = greedy(model, tokenizer, prompts, max_new_tokens=6)
        picks = [parse_generated_answer(r, len(m.choices)) for r, m in zip(replies, mcs, strict=True)]
        return sum(p == m.answer for p, m in zip(picks, mcs, strict=True)) / len(mcs)
    rendered = []
    for k, m in enumerate(mcs):
        template = elicitation.template
        if fmt == "few_shot":
            template = few_shot(rng.sample(mcs[:k] + mcs[k + 1 :], 3))
        rendered.append(template.render(m, subject))
    pairs = [(p.context, c) for p in rendered for c in p.continuations]
    lls = loglikelihoods(model, tokenizer, pairs)
    correct, pos = 0, 0
    for p, m in zip(rendered, mcs, strict=True):
        scores = lls[pos : pos + len(p.continuations)]
        if elicitation.template.score_by == "length":
            scores = [s / max(1, len(c)) for s, c in zip(scores, p.continuations, strict=True)]
        pos += len(p.continuations)
        correct += int(max(range(len(scores)), key=scores.__getitem__) == m.answer)
    return correct / len(mcs)


def build_figures(model: Any, tok: Any, ds: dict[str, list[dict[str, Any]]], *, prompts: int = 16) -> dict[str, Any]:
    """Quick build-time figures for the manifest (direct log-likelihood scoring; the checks measure properly)."""
    out: dict[str, Any] = {}
    for fmt in ("standard", "cloze", "generation"):
        out[f"forget_{fmt}"] = round(mc_accuracy(model, tok, ds["forget"], SUBJECTS["forget"], fmt), 3)
    for domain in ("retain", "adjacent"):
        out[f"{domain}_standard"] = round(mc_accuracy(model, tok, ds[domain], SUBJECTS[domain], "standard"), 3)
    harmful = greedy(model, tok, [r["prompt"] for r in ds["harmful"][:prompts]], max_new_tokens=10)
    benign = greedy(model, tok, [r["prompt"] for r in ds["benign"][:prompts]], max_new_tokens=10)
    out["harmful_refused"] = sum(r.startswith(REFUSAL) for r in harmful) / len(harmful)
    out["benign_refused"] = sum(r.startswith(REFUSAL) for r in benign) / len(benign)
    out["n"] = {
        "forget": len(ds["forget"]),
        "retain": len(ds["retain"]),
        "adjacent": len(ds["adjacent"]),
        "prompts": prompts,
    }
    return out
