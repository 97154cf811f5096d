"""The sandbox's tiny Llama: its BPE tokenizer (trained on the world's text), config, and save format."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
"""As the project's tiny test checkpoint: `<|user|>\\n...\\n<|assistant|>\\n`; replies end with EOS."""

SPECIAL_TOKENS = ["<s>", "</s>", "<pad>", "<|user|>", "<|assistant|>", "<|system|>"]

MODEL_SHAPE: dict[str, Any] = {
    "hidden_size": 96,
    "intermediate_size": 256,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
}


def chat_text(prompt: str) -> str:
    """The chat template rendered for one user turn with the generation prompt (what the backends send)."""
    return f"<|user|>\n{prompt}\n<|assistant|>\n"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1200) -> Any:
    """A byte-level BPE tokenizer that adds BOS like Llama, with the chat template set."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", model_max_length=1024
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def new_model(tokenizer: Any, seed: int) -> Any:
    """A freshly initialised tiny Llama (float32, untied output embedding)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        num_key_value_heads=MODEL_SHAPE["num_attention_heads"],
        max_position_embeddings=1024,
        initializer_range=0.05,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        **MODEL_SHAPE,
    )
    torch.manual_seed(seed)
    random.seed(seed)
    return LlamaForCausalLM(config)


def save_checkpoint(model: Any, tokenizer: Any, path: Path) -> None:
    """Save weights as safetensors plus config and tokenizer (with chat template)."""
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)


def load_checkpoint(path: Path) -> tuple[Any, Any]:
    """(model, tokenizer) from a saved control (float32, eval mode)."""
    from transformers import AutoTokenizer, LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(path, dtype=torch.float32)
    model.eval()
    return model, AutoTokenizer.from_pretrained(path)
