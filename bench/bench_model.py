"""The benchmark's model and data: a randomly initialised ~100M-parameter Llama with a 32k byte-level BPE
vocabulary, and four-choice items of MMLU/WMDP-like length, all generated offline from a seed."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou", "ee")]


def word_list(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))))
    return sorted(words)


def build_tokenizer(directory: Path, vocab_size: int = 32000, seed: int = 0) -> Any:
    """A 32k byte-level BPE tokenizer (Llama-style BOS) trained on synthetic words; cached in `directory`."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    if (directory / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(directory)
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    words = word_list(60000, seed)
    rng = random.Random(seed)
    # MMLU-style scaffolding too, so " A".." D" are single tokens as in real vocabularies.
    scaffold = "\nA. x\nB. y\nC. z\nD. w\nAnswer: A Answer: B Answer: C Answer: D"
    corpus = (" ".join(rng.choices(words, k=50)).capitalize() + "?" + scaffold for _ in range(40000))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    directory.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(directory)
    return fast


def build_model(tokenizer: Any, *, layers: int = 8, hidden: int = 768, seed: int = 0) -> Any:
    """A random Llama: 8 x 768 with a 32k vocabulary and untied head is ~106M parameters."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=max(32000, len(tokenizer)),
        hidden_size=hidden,
        intermediate_size=hidden * 8 // 3 // 64 * 64,
        num_hidden_layers=layers,
        num_attention_heads=hidden // 64,
        num_key_value_heads=hidden // 64,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config).eval()


def make_items(n: int, seed: int) -> list[Any]:
    """Four-choice items: 30-110-word questions, 2-14-word choices (roughly MMLU/WMDP token counts)."""
    from schemas.datasets import MultipleChoiceItem

    words = word_list(60000, 0)
    rng = random.Random(seed)

    def sentence(lo: int, hi: int) -> str:
        return " ".join(rng.choices(words, k=rng.randint(lo, hi)))

    return [
        MultipleChoiceItem(
            question=sentence(30, 110).capitalize() + "?",
            choices=[sentence(2, 14) for _ in range(4)],
            answer=rng.randrange(4),
        )
        for _ in range(n)
    ]
