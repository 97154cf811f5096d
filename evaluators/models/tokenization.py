"""Tokenisation exactly as lm-eval 0.4.13's HFLM does it for causal models (zero-shot, default BOS handling).

- trailing whitespace of the context moves to the continuation;
- context+continuation is encoded whole and split at the length of the encoded context;
- encoding uses the tokenizer's own special-token default (Llama adds BOS), except that a string that already
  starts with the decoded prefix token is encoded without special tokens;
- an empty context becomes the prefix token (BOS, else EOS);
- inputs longer than max_length + 1 tokens are truncated from the left.
"""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_LENGTH = 2048
_SEQLEN_ATTRS = ("n_positions", "max_position_embeddings", "n_ctx")
_TOKENIZER_INFINITY = 1000000000000000019884624838656


def prefix_token_id(tokenizer: Any) -> int:
    """lm-eval's prefix token: BOS when the tokenizer has one, else EOS."""
    return int(tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id)


def resolve_max_length(config: Any, tokenizer: Any) -> int:
    """The model's context length the way lm-eval resolves it (text_config, config, tokenizer, 2048)."""
    for cfg in (getattr(config, "text_config", None), config):
        if cfg is None:
            continue
        for attr in _SEQLEN_ATTRS:
            value = getattr(cfg, attr, None)
            if isinstance(value, int):
                return value
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and limit != _TOKENIZER_INFINITY:
        return limit
    return DEFAULT_MAX_LENGTH


class LmEvalEncoder:
    """Encodes (context, continuation) pairs into token ids as HFLM does."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.prefix_id = prefix_token_id(tokenizer)
        self._prefix_text = tokenizer.decode(self.prefix_id)

    def encode(self, text: str, add_special_tokens: bool | None = None) -> list[int]:
        """HFLM.tok_encode: the tokenizer's default special tokens unless the text starts with BOS already."""
        kwargs: dict[str, bool] = {}
        if add_special_tokens is not None:
            kwargs["add_special_tokens"] = add_special_tokens
        elif self._prefix_text and text.startswith(self._prefix_text):
            kwargs["add_special_tokens"] = False
        return list(self.tokenizer.encode(text, **kwargs))

    def encode_many(self, texts: list[str]) -> list[list[int]]:
        """`encode` over many texts in one call to the fast tokenizer (same ids, far less overhead)."""
        out: list[list[int]] = [[] for _ in texts]
        starts = [bool(self._prefix_text) and t.startswith(self._prefix_text) for t in texts]
        plain = [i for i, s in enumerate(starts) if not s]
        bos = [i for i, s in enumerate(starts) if s]
        for indices, kwargs in ((plain, {}), (bos, {"add_special_tokens": False})):
            if indices:
                ids = self.tokenizer([texts[i] for i in indices], **kwargs)["input_ids"]
                for i, row in zip(indices, ids, strict=True):
                    out[i] = list(row)
        return out

    def encode_pairs(self, pairs: list[tuple[str, str]]) -> list[tuple[list[int], list[int]]]:
        """`encode_pair` for many requests; each distinct context is tokenised once."""
        split: list[tuple[str, str]] = []
        for context, continuation in pairs:
            n_spaces = len(context) - len(context.rstrip())
            if n_spaces and context:
                continuation = context[-n_spaces:] + continuation
                context = context[:-n_spaces]
            split.append((context, continuation))
        # An empty context (before the space move) is lm-eval's prefix-token case, handled by encode_pair.
        kept = [s for s, (orig, _) in zip(split, pairs, strict=True) if orig]
        contexts = sorted({c for c, _ in kept})
        wholes = [c + x for c, x in kept]
        encoded = self.encode_many(contexts + wholes)
        ctx_ids = dict(zip(contexts, encoded[: len(contexts)], strict=True))
        whole_iter = iter(encoded[len(contexts) :])
        out: list[tuple[list[int], list[int]]] = []
        for (context, _), (orig_ctx, orig_cont) in zip(split, pairs, strict=True):
            if not orig_ctx:
                out.append(self.encode_pair(orig_ctx, orig_cont))
                continue
            ctx, whole = ctx_ids[context], next(whole_iter)
            out.append((ctx, whole[len(ctx) :]))
        return out

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """(context tokens, continuation tokens) for one log-likelihood request."""
        if context == "":
            cont = self.encode(continuation, add_special_tokens=False)
            if cont and cont[0] == self.prefix_id:
                return cont[:1], cont[1:]
            return [self.prefix_id], cont
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces > 0:
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        whole = self.encode(context + continuation)
        ctx = self.encode(context)
        return ctx, whole[len(ctx) :]
