"""Per-token log-probabilities of whole texts from a checkpoint's weights, for the membership-inference scores
(min-k) that MUSE's privleak rests on. The model protocol returns only sums over a continuation, so these are
computed from the white-box model directly, batch by batch in a worker thread.

Tokens as open-unlearning's `CompletionDataset` (empty prefix) and `tokenwise_logprobs` give them: the text
encoded with the tokenizer's special tokens (BOS), at most `max_tokens` tokens after the prefix, the first token
never scored, and the last scored token left out ("ignore eos prediction", though a raw text has no EOS).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np

from evaluators.models.protocol import BatchHook, WhiteBoxModel

MAX_TOKENS = 2048
"""open-unlearning configs/data/datasets/MUSE_MIA.yaml `max_length`."""
BATCH_SIZE = 4


def scored_token_ids(tokenizer: Any, text: str, max_tokens: int = MAX_TOKENS) -> tuple[list[int], int]:
    """(input ids, position of the first scored token) for one text, as open-unlearning builds them."""
    prefix = len(tokenizer("", add_special_tokens=True)["input_ids"])
    ids = list(tokenizer(text, add_special_tokens=True)["input_ids"])[: prefix + max_tokens]
    return ids, max(prefix, 1)


async def text_token_logprobs(
    model: WhiteBoxModel,
    texts: Sequence[str],
    *,
    max_tokens: int = MAX_TOKENS,
    hook: BatchHook | None = None,
) -> list[np.ndarray]:
    """Per text: log P(x_t | x_<t) for every scored token t (see the module docstring); float64 arrays."""
    torch_model, tokenizer = model.torch_model, model.tokenizer
    limit = _context_length(torch_model)
    encoded = [scored_token_ids(tokenizer, t, max_tokens) for t in texts]
    encoded = [(ids[:limit], start) for ids, start in encoded]
    out: list[np.ndarray] = [np.zeros(0)] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: -len(encoded[i][0]))
    for begin in range(0, len(order), BATCH_SIZE):
        chunk = order[begin : begin + BATCH_SIZE]
        scored = await asyncio.to_thread(_score_batch, torch_model, model.device, [encoded[i] for i in chunk])
        for i, values in zip(chunk, scored, strict=True):
            out[i] = values
        if hook is not None:
            hook(min(begin + len(chunk), len(texts)))
    return out


def _context_length(torch_model: Any) -> int:
    value = getattr(torch_model.config, "max_position_embeddings", None)
    return int(value) if isinstance(value, int) else MAX_TOKENS + 1


def _score_batch(torch_model: Any, device: str, batch: list[tuple[list[int], int]]) -> list[np.ndarray]:
    import torch  # lazy: only checkpoint targets reach here

    width = max(len(ids) for ids, _ in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for b, (tokens, _) in enumerate(batch):  # right padding: real positions never attend to the pads
        ids[b, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        mask[b, : len(tokens)] = 1
    out: list[np.ndarray] = []
    with torch.inference_mode():
        logits = torch_model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        for b, (tokens, start) in enumerate(batch):
            stop = len(tokens) - 1  # the last labelled token is not scored (open-unlearning's `[:-1]`)
            if stop <= start:
                out.append(np.zeros(0))
                continue
            logp = torch.log_softmax(logits[b, start - 1 : stop - 1].float(), dim=-1)
            wanted = ids[b, start:stop].to(logp.device).unsqueeze(1)
            out.append(logp.gather(1, wanted).squeeze(1).double().cpu().numpy())
    return out
