"""The build's plumbing on a run with two optimiser steps per recipe: layout, manifest, caching, loading."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from evaluators.models.factory import BackendEnv, open_model
from evaluators.models.protocol import LoglikelihoodRequest
from evaluators.sandbox import SANDBOX_VERSION, build, control_path, controls
from schemas.datasets import BUILTIN_DATASETS
from schemas.targets import SANDBOX_CONTROLS, SandboxTarget

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    saved = dict(controls.STEPS)
    controls.STEPS.update(dict.fromkeys(saved, 2))
    try:
        root = tmp_path_factory.mktemp("sandbox-quick")
        build.build_sandbox_at(root, size="test", seed=5, figures=False)
        return root
    finally:
        controls.STEPS.update(saved)


def test_layout_and_manifest(quick_root: Path) -> None:
    manifest = json.loads((quick_root / "manifest.json").read_text())
    assert manifest["version"] == SANDBOX_VERSION and manifest["seed"] == 5 and manifest["size"] == "test"
    assert manifest["complete"] is True
    assert set(manifest["datasets"]) == {name.split("/", 1)[1] for name in BUILTIN_DATASETS}
    assert manifest["quant_fragile_max_gap_after_nf4"] == 0.0
    for name in SANDBOX_CONTROLS:
        directory = control_path(name, quick_root)
        assert (directory / "model.safetensors").is_file() and (directory / "config.json").is_file()
        tokenizer_config = json.loads((directory / "tokenizer_config.json").read_text())
        assert "chat_template" in tokenizer_config or (directory / "chat_template.jinja").is_file()
        assert not list(directory.glob("*.bin"))


def test_second_call_is_instant_and_other_seed_rebuilds(quick_root: Path) -> None:
    started = time.monotonic()
    info = build.build_sandbox_at(quick_root, size="test", seed=5, figures=False)
    assert time.monotonic() - started < 1.0
    assert info.manifest["seed"] == 5
    assert build._manifest_matches(quick_root, 6, "test") is None
    assert build._manifest_matches(quick_root, 5, "full") is None


def test_controls_load_through_the_sandbox_target(quick_root: Path) -> None:
    async def score() -> list[tuple[float, bool]]:
        model = await open_model(SandboxTarget(name="retrain"), BackendEnv(sandbox_dir=quick_root))
        return await model.loglikelihood([LoglikelihoodRequest("Answer:", " A")])

    ((ll, _),) = asyncio.run(score())
    assert ll < 0
