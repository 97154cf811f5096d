"""The fake Hub's test world: a tiny sandbox checkpoint as a repository with two commits and a tag, a gated and
a private copy, and three users (see `World`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers.hub import HubRepo, RunningHub

SHA = re.compile(r"[0-9a-f]{40}")
REPO = "sandbox/tiny-model"


def tiny_checkpoint_files() -> dict[str, bytes]:
    """A few KB that look like a saved sandbox checkpoint: config, tokenizer files, weights, a model card."""
    import numpy as np
    from safetensors.numpy import save

    weights = {"embed.weight": np.arange(512, dtype=np.float32).reshape(64, 8), "head.bias": np.ones(8, np.float32)}
    card = "---\nlicense: apache-2.0\nlibrary_name: transformers\ntags:\n- sandbox\n---\n# Tiny sandbox model\n"
    return {
        "config.json": json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}).encode(),
        "tokenizer.json": json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0}}}).encode(),
        "tokenizer_config.json": json.dumps({"bos_token": "<s>", "eos_token": "</s>"}).encode(),
        "model.safetensors": save(weights),
        "README.md": card.encode(),
    }


@dataclass
class World:
    hub: RunningHub
    repo: HubRepo
    files: dict[str, bytes]
    first: str
    """The first commit (tag v1); main has a second one that adds `notes.txt`."""
    alice: str
    """Writer of the sandbox repositories."""
    bob: str
    """Granted read access to the private and gated repositories."""
    carol: str
    """Signed in, no access granted."""


def build_world(hub: RunningHub, tmp_path: Path) -> World:
    """Add the users and repositories of `World` to `hub` (the checkpoint is written under `tmp_path`)."""
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    files = tiny_checkpoint_files()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    state = hub.state
    alice, bob, carol = state.add_user("alice"), state.add_user("bob"), state.add_user("carol")
    repo = state.add(HubRepo.from_directory(folder, REPO, writers={"alice"}))
    first = repo.head().oid
    repo.create_tag("v1")
    repo.commit({"notes.txt": "second commit\n"}, message="Add notes", author="alice")
    state.add(HubRepo.from_files("sandbox/gated", files, gated="manual", readers={"bob"}))
    state.add(HubRepo.from_files("sandbox/private", files, private=True, readers={"bob"}))
    return World(hub, repo, files, first, alice, bob, carol)
