"""Training the sandbox's models in parallel lanes: one process per lane, each with its share of the CPU threads.

The sandbox model's matrices (hidden 96) are too small for intra-op threads to pay off, so two processes with
one thread each train faster than one process with two. First the trunk, which everything starts from, is
trained data-parallel (one rank per lane, `train.Shard`); then two phases, each lane reading its inputs from
checkpoints saved by the phase before:

    phase 1: lane A base                   | lane B retrain, norefusal    (each needs the trunk)
    phase 2: lane A robust_shallow, ga, rmu | lane B shallow, quant_fragile (each needs base; some retrain)

Each control is saved as it finishes; its build-time figures are measured in its lane.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluators.sandbox import controls
from evaluators.sandbox.rmu import train_rmu

PHASES: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("base",), ("retrain", "norefusal")),
    (("robust_shallow", "ga", "rmu"), ("shallow", "quant_fragile")),
)
"""Balanced by cost (full world, measured on one 2-core machine): base 235 s against retrain + norefusal 198 s;
robust_shallow (last block only, its frozen bottom computed once) 179 s + ga 10 s against shallow 59 s +
quant_fragile (every quantized weight, two streams) 176 s. Putting shallow beside robust_shallow instead
would give 237 s against 186 s: no better. rmu (only the MLPs of three layers train, on states that stop at its
layer) goes to lane A, the shorter one."""

STEP_KEY = {
    "base": "stage",
    "retrain": "restage",
    "norefusal": "restage",
    "shallow": "shallow",
    "robust_shallow": "robust",
    "quant_fragile": "quant",
    "ga": "ga",
    "rmu": "rmu",
}


@dataclass(frozen=True)
class LaneSpec:
    """What one lane process trains: `controls` in order, from checkpoints under `root`."""

    root: Path
    trunk_dir: Path
    size: str
    seed: int
    device: str
    threads: int
    controls: tuple[str, ...]
    figures: bool
    steps: dict[str, int]
    """Optimiser steps per recipe for this world (`controls.steps_for`; a spawned process imports afresh)."""


def _train(name: str, tok: Any, world: Any, ds: Any, seed: int, load: Callable[[str], Any], p: Any) -> Any:
    if name == "base":
        return controls.train_stage(tok, load("trunk"), world, ds, seed, forget=True, progress=p)
    if name == "retrain":
        return controls.train_stage(tok, load("trunk"), world, ds, seed, forget=False, progress=p)
    if name == "norefusal":
        return controls.train_stage(tok, load("trunk"), world, ds, seed, forget=False, refusals=False, progress=p)
    if name == "shallow":
        return controls.train_shallow(tok, load("base"), world, ds, seed, p)
    if name == "robust_shallow":
        return controls.train_robust_shallow(tok, load("base"), load("retrain"), world, ds, seed, p)
    if name == "quant_fragile":
        return controls.train_quant_fragile(tok, load("base"), load("retrain"), world, ds, seed, p)
    if name == "ga":
        return controls.train_ga(tok, load("base"), world, ds, seed, p)
    if name == "rmu":
        return train_rmu(tok, load("base"), world, ds, seed, p, steps=controls.STEPS["rmu"])
    raise ValueError(f"unknown control {name!r}")


def run_lane(spec: LaneSpec, messages: Any) -> None:
    """A lane process's body: train, save and measure each control; report on `messages`."""
    try:
        import torch
        from transformers.utils import logging as hf_logging

        from evaluators.sandbox.data import SUBJECTS
        from evaluators.sandbox.datasets import all_datasets
        from evaluators.sandbox.evaluate import build_figures, mc_accuracy
        from evaluators.sandbox.modeling import load_checkpoint, save_checkpoint
        from evaluators.sandbox.world import make_world

        torch.set_num_threads(spec.threads)
        hf_logging.disable_progress_bar()  # per-file load/save bars would drown the build's own progress
        controls.STEPS.update(spec.steps)
        world = make_world(spec.seed, spec.size)
        ds = all_datasets(world)
        loaded: dict[str, Any] = {}
        tok: Any = None

        def load(name: str) -> Any:
            nonlocal tok
            if name not in loaded:
                path = spec.trunk_dir if name == "trunk" else spec.root / "models" / name
                loaded[name], tok = load_checkpoint(path)
                loaded[name].to(spec.device)
            return loaded[name]

        load("trunk")
        report: dict[str, Any] = {}
        for name in spec.controls:
            started = time.monotonic()
            model = _train(name, tok, world, ds, spec.seed, load, lambda step, n=name: messages.put(("step", n)))
            seconds = round(time.monotonic() - started, 1)
            model.to("cpu")
            save_checkpoint(model, tok, spec.root / "models" / name)
            entry: dict[str, Any] = {"seconds": seconds}
            if name == "quant_fragile":
                grid = controls.on_grid(load("base")).to("cpu")
                entry["quant_gap"] = controls.max_quantization_gap(model, grid)
            if spec.figures:
                entry["figures"] = build_figures(model, tok, ds)
                if name == "quant_fragile":
                    quantized = controls.on_grid(model)
                    entry["figures"]["after_nf4_forget_standard"] = round(
                        mc_accuracy(quantized, tok, ds["forget"], SUBJECTS["forget"], "standard"), 3
                    )
            report[name] = entry
            messages.put(("control", name, entry))
        messages.put(("lane_done", spec.controls, report))
    except BaseException:  # the parent raises it again with this traceback
        messages.put(("error", spec.controls, traceback.format_exc()))
        raise


def run_trunk_rank(spec: LaneSpec, rank: int, ranks: int, rendezvous: str, messages: Any) -> None:
    """One rank of the data-parallel trunk (rows `rank::ranks` of every batch). The tokenizer is read from
    `spec.trunk_dir`; rank 0 reports the steps and saves the trunk there."""
    try:
        import torch
        import torch.distributed as dist
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        from evaluators.sandbox.datasets import all_datasets
        from evaluators.sandbox.modeling import new_model, save_checkpoint
        from evaluators.sandbox.train import Shard, join_local_group
        from evaluators.sandbox.world import make_world

        torch.set_num_threads(spec.threads)
        hf_logging.disable_progress_bar()
        if ranks > 1:
            join_local_group(rank, ranks, rendezvous)
        tok = AutoTokenizer.from_pretrained(spec.trunk_dir)
        world = make_world(spec.seed, spec.size)
        ds = all_datasets(world)
        model = new_model(tok, spec.seed).to(spec.device)
        started = time.monotonic()
        controls.train_trunk(
            tok,
            model,
            world,
            ds,
            spec.seed,
            (lambda _: messages.put(("step", "trunk"))) if rank == 0 else None,
            steps=spec.steps["trunk"],
            shard=Shard(rank, ranks) if ranks > 1 else None,
        )
        if rank == 0:
            save_checkpoint(model.to("cpu"), tok, spec.trunk_dir)
            messages.put(("control", "trunk", {"seconds": round(time.monotonic() - started, 1)}))
        if ranks > 1:
            dist.destroy_process_group()
        messages.put(("lane_done", _trunk_lane(rank), {}))
    except BaseException:
        messages.put(("error", _trunk_lane(rank), traceback.format_exc()))
        raise


def _trunk_lane(rank: int) -> tuple[str, ...]:
    return ("trunk",) if rank == 0 else (f"trunk rank {rank}",)


def train_trunk_parallel(spec: LaneSpec, ranks: int, on_step: Callable[[str], None]) -> float:
    """Train and save the trunk on `ranks` data-parallel processes; return its training seconds."""
    ctx = multiprocessing.get_context("spawn")
    rendezvous = spec.trunk_dir.parent / f".rendezvous-{os.getpid()}"
    rendezvous.unlink(missing_ok=True)  # gloo's file store must start empty
    url = f"file://{rendezvous.resolve()}"
    try:
        lanes = [(_trunk_lane(r), run_trunk_rank, (spec, r, ranks, url)) for r in range(ranks)]
        return float(_run_group(ctx, lanes, on_step)["trunk"]["seconds"])
    finally:
        rendezvous.unlink(missing_ok=True)


def run_phases(base_spec: LaneSpec, lanes: int, on_step: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Train every control lane by lane, phase by phase; return per control its seconds, figures, quant gap.

    `lanes` = 1 runs each phase's lanes one after another in a single child process per lane (still isolated);
    `on_step(stage)` is called once per optimiser step with a label of what is training."""
    ctx = multiprocessing.get_context("spawn")  # fork after torch has started threads can deadlock
    results: dict[str, dict[str, Any]] = {}
    for phase in PHASES:
        groups = [phase] if lanes > 1 else [(lane,) for lane in phase]
        for group in groups:
            jobs = [(names, run_lane, (LaneSpec(**{**base_spec.__dict__, "controls": names}),)) for names in group]
            results.update(_run_group(ctx, jobs, on_step))
    return results


Lane = tuple[tuple[str, ...], Callable[..., None], tuple[Any, ...]]
"""What one process trains (the names it reports), its body, and the body's arguments before `messages`."""


def _run_group(ctx: Any, lanes: list[Lane], on_step: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Run the lanes' processes together until each reports done; per trained model, what its lane reported."""
    messages = ctx.Queue()
    procs = []
    for _, body, args in lanes:
        proc = ctx.Process(target=body, args=(*args, messages), daemon=True)
        proc.start()
        procs.append(proc)
    group = [names for names, _, _ in lanes]
    current = {names: names[0] for names in group}
    stepping: set[tuple[str, ...]] = set()  # lanes that report steps (not a trunk's other ranks)
    finished: dict[str, dict[str, Any]] = {}
    pending = set(current)
    while pending:
        try:
            message = messages.get(timeout=5.0)
        except queue.Empty:
            dead = [p for p in procs if not p.is_alive() and p.exitcode not in (0, None)]
            if dead:
                for p in procs:  # a data-parallel rank would wait for the dead one forever
                    p.kill()
                raise RuntimeError(f"a sandbox training lane died (exit code {dead[0].exitcode})") from None
            continue
        kind = message[0]
        if kind == "step":
            lane = next(names for names in group if message[1] in names)
            current[lane] = message[1]
            stepping.add(lane)
            on_step(" | ".join(current[names] for names in group if names in stepping))
        elif kind == "control":
            finished[message[1]] = message[2]
        elif kind == "lane_done":
            pending.discard(message[1])
        else:
            for p in procs:
                p.kill()
            raise RuntimeError(f"sandbox training lane {'+'.join(message[1])} failed:\n{message[2]}")
    for p in procs:
        p.join(timeout=60)
    return finished
