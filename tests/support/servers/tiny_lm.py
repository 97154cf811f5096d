"""The model work behind the test servers: prompt log-probs and greedy generation with plain transformers."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


@dataclass
class PromptScores:
    ids: list[int]
    logprobs: list[float | None]
    """Per prompt token: log-prob given the tokens before it (None for the first)."""
    top1: list[tuple[int, float] | None]
    """Per prompt token: the most likely token at that position and its log-prob (None for the first)."""
    next_top: list[tuple[int, float]]
    """The next token's candidates, most likely first."""


class TinyLM:
    """A causal LM loaded once (fp32, CPU); calls are serialised (servers run in their own threads)."""

    def __init__(self, path: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer: Any = AutoTokenizer.from_pretrained(path)
        self.model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        self._lock = threading.Lock()

    def token_text(self, token_id: int) -> str:
        return str(self.tokenizer.decode([token_id]))

    def score(self, ids: list[int], top_k: int = 20) -> PromptScores:
        with self._lock, torch.inference_mode():
            logits = self.model(torch.tensor([ids])).logits[0].float()
        logp = torch.log_softmax(logits, -1)
        lps: list[float | None] = [None]
        top1: list[tuple[int, float] | None] = [None]
        for i in range(1, len(ids)):
            lps.append(float(logp[i - 1, ids[i]]))
            best = int(logp[i - 1].argmax())
            top1.append((best, float(logp[i - 1, best])))
        values, indices = logp[-1].topk(min(top_k, logp.shape[-1]))
        nxt = [(int(t), float(v)) for v, t in zip(values, indices, strict=True)]
        return PromptScores(ids, lps, top1, nxt)

    def greedy(self, ids: list[int], max_new_tokens: int) -> list[int]:
        with self._lock, torch.inference_mode():
            out = self.model.generate(
                torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                temperature=None,
                top_p=None,
                top_k=None,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        return [int(t) for t in out[0, len(ids) :]]

    def chat_ids(self, messages: list[dict[str, Any]]) -> list[int]:
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return list(self.tokenizer.encode(text, add_special_tokens=False))
