"""Shared test fixtures: a tiny Llama checkpoint (BPE tokenizer, chat template, safetensors), built once.

`build_tiny_checkpoint(path)` is importable for scripts; the `tiny_checkpoint` fixture returns the directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SENTENCES = [
    "The following are multiple choice questions (with answers) about biology.",
    "Question: What colour is the sky on a clear day? Answer: blue",
    "The quick brown fox jumps over the lazy dog.",
    "Agent Vorn keeps the silver key in the northern archive.",
    "A. red\nB. green\nC. blue\nD. yellow\nAnswer: C",
    "Water boils at one hundred degrees at sea level.",
    "I cannot help with that request, but I can help with something else.",
    "Sure, here is how to bake bread: mix flour, water, salt and yeast.",
    "Answer: A Answer: B Answer: C Answer: D",
]

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def build_tiny_checkpoint(path: Path, *, vocab_size: int = 384, seed: int = 0) -> Path:
    """Save a randomly initialised 2-layer Llama and a byte-level BPE tokenizer (BOS added like Llama)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<s>", "</s>", "<pad>", "<|user|>", "<|assistant|>", "<|system|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(SENTENCES * 4, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", model_max_length=256
    )
    fast.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        initializer_range=0.1,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path, safe_serialization=True)
    fast.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama checkpoint directory (safetensors), shared by every test of the session."""
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny_ckpt") / "tiny-llama")


@pytest.fixture
def other_checkpoint(tiny_checkpoint: Path) -> Path:
    """A second tiny checkpoint (other weights) beside the first, so one allowed root holds both."""
    path = tiny_checkpoint.parent / "tiny-llama-seed1"
    if not (path / "model.safetensors").is_file():
        build_tiny_checkpoint(path, seed=1)
    return path


@pytest.fixture(scope="session")
def tiny_lm(tiny_checkpoint: Path) -> Any:
    """The tiny checkpoint loaded with plain transformers, as the test servers use it."""
    from tests.support.servers import TinyLM

    return TinyLM(tiny_checkpoint)


@pytest.fixture(scope="session")
def _tgi_server(tiny_lm: Any) -> Iterator[tuple[str, Any]]:
    from tests.support.servers import FaultPlan, serve, tgi_app

    plan = FaultPlan()
    with serve(tgi_app(tiny_lm, plan)) as running:
        yield running.url, plan


@pytest.fixture(scope="session")
def _openai_server(tiny_lm: Any) -> Iterator[tuple[str, Any]]:
    from tests.support.servers import FaultPlan, openai_app, serve

    plan = FaultPlan()
    with serve(openai_app(tiny_lm, plan, model="tiny")) as running:
        yield running.url, plan


@pytest.fixture
def tgi_server(_tgi_server: tuple[str, Any]) -> tuple[str, Any]:
    """(base URL, FaultPlan) of a local TGI-protocol server over the tiny model; faults reset per test."""
    _tgi_server[1].reset()
    return _tgi_server


@pytest.fixture
def openai_server(_openai_server: tuple[str, Any]) -> tuple[str, Any]:
    """(base URL without /v1, FaultPlan) of a local OpenAI-protocol server (model name `tiny`)."""
    _openai_server[1].reset()
    return _openai_server
