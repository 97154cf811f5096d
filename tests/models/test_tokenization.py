"""The batched encoder gives exactly lm-eval's per-request encoding, edge cases included."""

from __future__ import annotations

from pathlib import Path

from evaluators.models.tokenization import LmEvalEncoder, resolve_max_length


def test_encode_pairs_equals_lm_eval_encode_pair(tiny_checkpoint: Path) -> None:
    from lm_eval.models.huggingface import HFLM
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    encoder = LmEvalEncoder(tokenizer)
    pairs = [
        ("Answer:", " A"),
        ("Answer: ", "A"),  # trailing space moves into the continuation
        ("", "The quick brown fox"),  # empty context: the prefix token
        ("<s>Already has BOS", " yes"),  # no second BOS
        ("Water boils at  ", "one hundred"),
        ("Answer:", " A"),
    ]
    hflm = HFLM(pretrained=str(tiny_checkpoint), device="cpu", dtype="float32", batch_size=1)
    for (context, continuation), got in zip(pairs, encoder.encode_pairs(pairs), strict=True):
        if context:
            expected = hflm._encode_pair(context, continuation)
        else:
            cont = hflm.tok_encode(continuation, add_special_tokens=False)
            expected = ([hflm.prefix_token_id], cont)
        assert got == (list(expected[0]), list(expected[1]))
        assert got == encoder.encode_pair(context, continuation)
    assert encoder.encode_pairs(pairs)[0][0][0] == tokenizer.bos_token_id
    assert resolve_max_length(hflm.model.config, tokenizer) == hflm.max_length
