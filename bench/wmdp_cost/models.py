"""The measured model: the tiny or bench Llama, a Llama-2-7B-shaped one (random weights), or a checkpoint."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import torch

from bench.bench_model import build_model, build_tokenizer
from evaluators.models.checkpoint import CheckpointModel
from evaluators.models.checkpoint_loader import CheckpointCache
from evaluators.models.protocol import LanguageModel
from schemas.scorecard import ModelProvenance

LLAMA2_7B = {"layers": 32, "hidden": 4096, "intermediate": 11008, "heads": 32, "vocab": 32000, "positions": 4096}
CHAT_TEMPLATE = "{% for m in messages %}{{ '<s>[INST] ' + m['content'] + ' [/INST]' }}{% endfor %}"
"""A Llama-2-style chat wrapper, so refusal prompts pay for the chat template's tokens as on a chat model."""


def torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def build_llama2_7b_shape(vocab: int, tokenizer: Any, device: str, dtype: torch.dtype) -> Any:
    """A randomly initialised model of Llama-2-7B's shape, built directly on `device` in `dtype`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    s = LLAMA2_7B
    config = LlamaConfig(
        vocab_size=max(vocab, len(tokenizer)),
        hidden_size=s["hidden"],
        intermediate_size=s["intermediate"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        num_key_value_heads=s["heads"],
        max_position_embeddings=s["positions"],
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        torch.manual_seed(0)
        with torch.device(device):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


async def open_model(args: argparse.Namespace) -> tuple[LanguageModel, dict[str, Any]]:
    """The model under test and a description of it."""
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if args.checkpoint is not None:
        model = await CheckpointCache(0).open(args.checkpoint, device=device, dtype=args.dtype)
        torch_model: Any = model.torch_model
        described: dict[str, Any] = {"kind": "checkpoint", "path": str(args.checkpoint)}
    else:
        tokenizer = build_tokenizer(args.cache_dir / "tokenizer")
        tokenizer.chat_template = CHAT_TEMPLATE
        dtype = torch_dtype("float32" if args.dtype == "auto" else args.dtype)
        if args.model == "llama2-7b":
            torch_model = build_llama2_7b_shape(32000, tokenizer, device, dtype)
        else:
            layers, hidden = (2, 64) if args.model == "tiny" else (8, 768)
            torch_model = build_model(tokenizer, layers=layers, hidden=hidden).to(device=device, dtype=dtype)
        provenance = ModelProvenance(kind="bench", description=f"random {args.model} Llama (suite_cost.py)")
        model = CheckpointModel(torch_model, tokenizer, name=f"bench-{args.model}", provenance=provenance)
        described = {"kind": args.model}
    config = torch_model.config
    described |= {
        "parameters": sum(p.numel() for p in torch_model.parameters()),
        "layers": config.num_hidden_layers,
        "hidden": config.hidden_size,
        "intermediate": config.intermediate_size,
        "vocab": config.vocab_size,
        "runtime": dataclasses.asdict(model.runtime()),
    }
    return model, described
