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
