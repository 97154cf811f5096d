"""Build the sandbox: write the datasets, train base and the controls, record figures in a manifest."""

from __future__ import annotations

import fcntl
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers.utils import logging as hf_logging

from evaluators.sandbox import controls
from evaluators.sandbox.data import SUBJECTS
from evaluators.sandbox.datasets import all_datasets, write_datasets
from evaluators.sandbox.lanes import LaneSpec, run_phases, train_trunk_parallel
from evaluators.sandbox.modeling import MODEL_SHAPE, train_tokenizer
from evaluators.sandbox.world import make_world

SANDBOX_VERSION = "11"
"""Bump whenever the world, a recipe or a step count changes: cached sandboxes of another version rebuild."""

ProgressFn = Callable[[str, int, int], None]
"""progress(stage, done, total): called as training advances (the CLI draws a bar from it)."""

CONTROL_ORDER = ("norefusal", "base", "retrain", "shallow", "robust_shallow", "quant_fragile", "ga", "rmu")


@dataclass(frozen=True)
class SandboxInfo:
    """A built sandbox: where it lives and what its manifest says."""

    root: Path
    version: str
    seed: int
    size: str
    manifest: dict[str, Any]

    @property
    def datasets_dir(self) -> Path:
        return self.root / "datasets"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"


def _manifest_matches(root: Path, seed: int, size: str) -> dict[str, Any] | None:
    path = root / "manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    want = {"version": SANDBOX_VERSION, "seed": seed, "size": size, "complete": True}
    if any(manifest.get(k) != v for k, v in want.items()):
        return None
    if not all((root / "models" / name / "model.safetensors").is_file() for name in CONTROL_ORDER):
        return None
    return manifest


def build_sandbox_at(
    root: Path,
    *,
    size: str = "full",
    seed: int = 0,
    progress: ProgressFn | None = None,
    device: str = "cpu",
    figures: bool = True,
) -> SandboxInfo:
    """Build (or reuse, when the manifest matches version, seed and size) the sandbox under `root`.

    A lock file serialises concurrent builders (several test sessions or workers): the second waits, then
    finds the manifest complete and returns at once."""
    manifest = _manifest_matches(root, seed, size)
    if manifest is not None:
        return SandboxInfo(root, SANDBOX_VERSION, seed, size, manifest)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = _manifest_matches(root, seed, size)
        if manifest is not None:
            return SandboxInfo(root, SANDBOX_VERSION, seed, size, manifest)
        return _build(root, size=size, seed=seed, progress=progress, device=device, figures=figures)


def _build(root: Path, *, size: str, seed: int, progress: ProgressFn | None, device: str, figures: bool) -> SandboxInfo:
    started = time.monotonic()
    world = make_world(seed, size)
    ds = all_datasets(world)
    digests = write_datasets(ds, root / "datasets")
    (root / "manifest.json").write_text(
        json.dumps(
            {"version": SANDBOX_VERSION, "seed": seed, "size": size, "complete": False, "datasets": digests},
            indent=2,
        )
    )
    cores = max(1, torch.get_num_threads())
    lanes = 2 if cores >= 2 else 1
    torch.set_num_threads(min(cores, 4))
    texts = [json.dumps(row) for rows in ds.values() for row in rows]
    tok = train_tokenizer(texts + [t.replace("{subject}", s) for s in SUBJECTS.values() for t in _template_texts()])
    steps = controls.steps_for(size)
    total = sum(steps.values()) + steps["restage"]  # restage runs twice
    done = 0

    def step(stage: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(stage, done, total)

    work = root / ".work"
    hf_logging.disable_progress_bar()  # a save's bar would interrupt the build's own progress
    try:
        tok.save_pretrained(work / "trunk")  # the trunk's ranks read it; the trunk is saved beside it
    finally:
        hf_logging.enable_progress_bar()
    spec = LaneSpec(
        root=root,
        trunk_dir=work / "trunk",
        size=size,
        seed=seed,
        device=device,
        threads=max(1, min(4, cores // lanes)),
        controls=(),
        figures=figures,
        steps=steps,
    )
    # Data-parallel on CPU cores; on a GPU one rank uses the device whole.
    timings: dict[str, float] = {"trunk": train_trunk_parallel(spec, lanes if device == "cpu" else 1, step)}
    results = run_phases(spec, lanes, step)
    shutil.rmtree(work, ignore_errors=True)
    timings.update({name: results[name]["seconds"] for name in CONTROL_ORDER})
    manifest = {
        "version": SANDBOX_VERSION,
        "seed": seed,
        "size": size,
        "complete": True,
        "datasets": digests,
        "model_shape": MODEL_SHAPE,
        "steps": steps,
        "total_seconds": round(time.monotonic() - started, 1),
        "seconds_per_model": timings,
        "lanes": lanes,
        "torch_threads_per_lane": spec.threads,
        "device": device,
        "quant_fragile_max_gap_after_nf4": results["quant_fragile"]["quant_gap"],
        "figures": {name: results[name]["figures"] for name in CONTROL_ORDER} if figures else {},
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return SandboxInfo(root, SANDBOX_VERSION, seed, size, manifest)


def _template_texts() -> list[str]:
    from evaluators.checks.forget.templates import BLACK_BOX

    t = BLACK_BOX
    return [e.template.description + e.template.wrapper + e.template.answer_prefix for e in t.values()]
