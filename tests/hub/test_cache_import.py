"""`unlearn-audit cache import`: a checkpoint copied into the cache as a Hub commit, checked against the Hub when
it can be reached, recorded as given when not; an audit of that commit then needs no Hub at all."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from evaluators.models.factory import BackendEnv, open_model
from evaluators.registries.cache import COMPLETE
from schemas.targets import HubTarget
from service.routes.sources import pin_source
from service.settings import Settings
from tests.support.serve_process import ROOT, clean_env, cli

UNREACHABLE = "http://127.0.0.1:9"  # nothing listens there


def _import(directory: Path, data: Path, endpoint: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        UNLEARN_AUDIT_DATA_DIR=str(data),
        UNLEARN_AUDIT_HUB_ENDPOINT=endpoint,
        UNLEARN_AUDIT_ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    return subprocess.run(
        [*cli(), "cache", "import", str(directory), *extra],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_checks_files_against_the_hub(hub: Any, tiny_checkpoint: Path, tmp_path: Path) -> None:
    from tests.support.servers.hub import HubRepo

    repo = hub.state.add(HubRepo.from_directory(tiny_checkpoint, "acme/tiny"))
    sha = repo.branches["main"]
    done = _import(tiny_checkpoint, tmp_path / "data", hub.url, "--repo", "acme/tiny", "--revision", "main")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["revision"] == sha and record["verified"] is True and "model.safetensors" in record["files"]
    complete = json.loads((tmp_path / "data" / "cache" / "snapshots" / record["cache_key"] / COMPLETE).read_text())
    assert complete["source"]["verified"] is True
    tampered = tmp_path / "tampered"
    shutil.copytree(tiny_checkpoint, tampered)
    (tampered / "config.json").write_text((tampered / "config.json").read_text().replace("{", '{"x": 1, ', 1))
    refused = _import(tampered, tmp_path / "other", hub.url, "--repo", "acme/tiny", "--revision", sha)
    assert refused.returncode == 2 and "differs from the Hub" in refused.stderr


def test_an_air_gapped_deployment_audits_a_seeded_commit(tiny_checkpoint: Path, tmp_path: Path) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    branch = _import(tiny_checkpoint, tmp_path / "data", UNREACHABLE, "--repo", "acme/tiny", "--revision", "main")
    assert branch.returncode == 2 and "full 40-character commit sha" in branch.stderr
    done = _import(tiny_checkpoint, tmp_path / "data", UNREACHABLE, "--repo", "acme/tiny", "--revision", sha)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verified"] is False
    settings = Settings(
        data_dir=tmp_path / "data", hub_endpoint=UNREACHABLE, hub_repos="acme/*", allowed_hosts="127.0.0.1"
    )
    target = HubTarget(repo="acme/tiny", revision=sha)
    # Submit-time pinning finds the commit in the cache and asks no Hub.
    assert pin_source(target, settings).revision == sha


@pytest.mark.slow
async def test_the_worker_loads_a_seeded_commit_without_the_hub(tiny_checkpoint: Path, tmp_path: Path) -> None:
    sha = "89abcdef0123456789abcdef0123456789abcdef"
    done = _import(tiny_checkpoint, tmp_path / "data", UNREACHABLE, "--repo", "acme/tiny", "--revision", sha)
    assert done.returncode == 0, done.stderr
    settings = Settings(
        data_dir=tmp_path / "data", hub_endpoint=UNREACHABLE, hub_repos="acme/*", allowed_hosts="127.0.0.1"
    )
    model = await open_model(
        HubTarget(repo="acme/tiny", revision=sha, device="cpu"), BackendEnv.from_settings(settings)
    )
    try:
        provenance = await model.fingerprint()
        assert provenance.fingerprint_verified and provenance.source is not None and provenance.source.revision == sha
    finally:
        await model.close()
