"""Build the sandbox: write the datasets, train base and the controls, record figures in a manifest."""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from evaluators.sandbox import controls
from evaluators.sandbox.data import SUBJECTS
from evaluators.sandbox.datasets import all_datasets, write_datasets
from evaluators.sandbox.evaluate import greedy, mc_accuracy
from evaluators.sandbox.examples import REFUSAL
from evaluators.sandbox.modeling import MODEL_SHAPE, new_model, save_checkpoint, train_tokenizer
from evaluators.sandbox.world import make_world

SANDBOX_VERSION = "4"
"""Bump whenever the world, a recipe or a step count changes: cached sandboxes of another version rebuild."""

ProgressFn = Callable[[str, int, int], None]
"""progress(stage, done, total): called as training advances (the CLI draws a bar from it)."""

CONTROL_ORDER = ("norefusal", "base", "retrain", "shallow", "robust_shallow", "quant_fragile", "ga")


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


def _figures(
    model: Any, tok: Any, ds: dict[str, list[dict[str, Any]]], *, prompts: int = 16
) -> dict[str, Any]:
    """Quick build-time figures (direct log-likelihood scoring; the checks measure properly)."""
    out: dict[str, Any] = {}
    for fmt in ("standard", "cloze", "generation"):
        out[f"forget_{fmt}"] = round(mc_accuracy(model, tok, ds["forget"], SUBJECTS["forget"], fmt), 3)
    for domain in ("retain", "adjacent"):
        out[f"{domain}_standard"] = round(
            mc_accuracy(model, tok, ds[domain], SUBJECTS[domain], "standard"), 3
        )
    harmful = greedy(model, tok, [r["prompt"] for r in ds["harmful"][:prompts]], max_new_tokens=10)
    benign = greedy(model, tok, [r["prompt"] for r in ds["benign"][:prompts]], max_new_tokens=10)
    out["harmful_refused"] = sum(r.startswith(REFUSAL) for r in harmful) / len(harmful)
    out["benign_refused"] = sum(r.startswith(REFUSAL) for r in benign) / len(benign)
    out["n"] = {
        "forget": len(ds["forget"]),
        "retain": len(ds["retain"]),
        "adjacent": len(ds["adjacent"]),
        "prompts": prompts,
    }
    return out


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


def _build(
    root: Path, *, size: str, seed: int, progress: ProgressFn | None, device: str, figures: bool
) -> SandboxInfo:
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
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
    texts = [json.dumps(row) for rows in ds.values() for row in rows]
    tok = train_tokenizer(
        texts + [t.replace("{subject}", s) for s in SUBJECTS.values() for t in _template_texts()]
    )
    total = sum(controls.STEPS.values()) + controls.STEPS["restage"]  # restage runs twice
    done = 0

    def stage(name: str) -> Callable[[int], None] | None:
        if progress is None:
            return None
        offset = done
        return lambda step: progress(name, offset + step + 1, total)

    timings: dict[str, float] = {}
    models: dict[str, Any] = {}

    def run(name: str, steps_key: str, fn: Callable[[Callable[[int], None] | None], Any]) -> None:
        nonlocal done
        t0 = time.monotonic()
        models[name] = fn(stage(name))
        timings[name] = round(time.monotonic() - t0, 1)
        done += controls.STEPS[steps_key]
        if name in CONTROL_ORDER:
            save_checkpoint(models[name].to("cpu"), tok, root / "models" / name)
            models[name].to(device)

    def trunk(p: Callable[[int], None] | None) -> Any:
        model = new_model(tok, seed).to(device)
        controls.train_trunk(tok, model, world, ds, seed, p)
        return model

    run("trunk", "trunk", trunk)
    run(
        "norefusal",
        "restage",
        lambda p: controls.train_stage(
            tok, models["trunk"], world, ds, seed, forget=False, refusals=False, progress=p
        ),
    )
    run(
        "base",
        "stage",
        lambda p: controls.train_stage(tok, models["trunk"], world, ds, seed, forget=True, progress=p),
    )
    run(
        "retrain",
        "restage",
        lambda p: controls.train_stage(tok, models["trunk"], world, ds, seed, forget=False, progress=p),
    )
    run("shallow", "shallow", lambda p: controls.train_shallow(tok, models["base"], world, ds, seed, p))
    run(
        "robust_shallow",
        "robust",
        lambda p: controls.train_robust_shallow(tok, models["base"], models["retrain"], world, ds, seed, p),
    )
    run(
        "quant_fragile",
        "quant",
        lambda p: controls.train_quant_fragile(tok, models["base"], models["retrain"], world, ds, seed, p),
    )
    run("ga", "ga", lambda p: controls.train_ga(tok, models["base"], world, ds, seed, p))
    quant_gap = controls.max_quantization_gap(models["quant_fragile"], controls.on_grid(models["base"]))
    train_seconds = round(time.monotonic() - started, 1)
    measured: dict[str, Any] = {}
    if figures:
        for name in CONTROL_ORDER:
            measured[name] = _figures(models[name], tok, ds)
        quantized = controls.on_grid(models["quant_fragile"])
        measured["quant_fragile"]["after_nf4_forget_standard"] = round(
            mc_accuracy(quantized, tok, ds["forget"], SUBJECTS["forget"], "standard"), 3
        )
    manifest = {
        "version": SANDBOX_VERSION,
        "seed": seed,
        "size": size,
        "complete": True,
        "datasets": digests,
        "model_shape": MODEL_SHAPE,
        "steps": controls.STEPS,
        "train_seconds": train_seconds,
        "seconds_per_model": timings,
        "total_seconds": round(time.monotonic() - started, 1),
        "torch_threads": torch.get_num_threads(),
        "device": device,
        "quant_fragile_max_gap_after_nf4": quant_gap,
        "figures": measured,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return SandboxInfo(root, SANDBOX_VERSION, seed, size, manifest)


def _template_texts() -> list[str]:
    from evaluators.checks.forget.templates import BLACK_BOX

    t = BLACK_BOX
    return [e.template.description + e.template.wrapper + e.template.answer_prefix for e in t.values()]
