"""MLflowRegistry against a real `mlflow server` (MLflow 3 in a virtualenv of its own, basic auth, artifacts
served), with MLflow's own client on the other side: it logs the tiny checkpoint as plain run artifacts and with
the transformers flavor, registers versions and an alias, and reads back the tags we write.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from evaluators.models.http_retry import RetryPolicy
from evaluators.models.weights import inspect_checkpoint
from evaluators.net import OutboundPolicy
from evaluators.registries.mlflow import MLflowRegistry, RegistryAuth, checkpoint_files, find_checkpoint
from schemas.errors import (
    ArtifactStoreUnsupportedError,
    BadInputError,
    ModelAccessDeniedError,
    ModelNotFoundError,
    ModelUnreachableError,
    URLNotAllowedError,
)
from tests.support.mlflow_server import ADMIN, READER, RunningMLflow

pytestmark = pytest.mark.slow

SIDE = Path(__file__).with_name("mlflow_side.py")


@pytest.fixture(scope="module")
def logged(mlflow_server: RunningMLflow, tiny_checkpoint: Path) -> dict[str, Any]:
    """What MLflow's client logged and registered (run ids, the logged model id, versions)."""
    return dict(mlflow_server.run_script(SIDE, "setup", str(tiny_checkpoint)))


def registry(server: RunningMLflow, user: tuple[str, str] = ADMIN, **options: Any) -> MLflowRegistry:
    auth = RegistryAuth(username=user[0], password=user[1])
    return MLflowRegistry(server.url, OutboundPolicy.only(server.url), auth=auth, **options)


async def test_resolves_versions_aliases_runs_and_logged_models(
    mlflow_server: RunningMLflow, logged: dict[str, Any]
) -> None:
    run, model_id = logged["plain_run"], logged["flavor_model_id"]
    async with registry(mlflow_server) as mlflow:
        by_version = await mlflow.resolve("models:/tiny-plain/1")
        by_alias = await mlflow.resolve("models:/tiny-plain@candidate")
        by_run = await mlflow.resolve(f"runs:/{run}/model")
        flavor = await mlflow.resolve(f"models:/tiny-flavor/{logged['flavor_version']}")
        by_model_id = await mlflow.resolve(f"models:/{model_id}")

    assert (by_version.name, by_version.version, by_version.run_id) == ("tiny-plain", "1", run)
    assert by_version.source == f"runs:/{run}/model"
    assert by_version.artifact_uri.startswith("mlflow-artifacts:/")
    assert by_version.artifact_uri.endswith(f"/{run}/artifacts/model")
    assert (by_alias.version, by_alias.alias, by_alias.pinned_uri) == ("1", "candidate", "models:/tiny-plain/1")
    assert by_alias.artifact_uri == by_run.artifact_uri == by_version.artifact_uri
    assert (by_run.run_id, by_run.name) == (run, None)

    assert model_id.startswith("m-")
    assert (flavor.model_id, flavor.source, flavor.run_id) == (model_id, f"models:/{model_id}", logged["flavor_run"])
    assert flavor.artifact_uri.endswith(f"/models/{model_id}/artifacts")
    assert (by_model_id.artifact_uri, by_model_id.run_id) == (flavor.artifact_uri, logged["flavor_run"])

    source = by_alias.model_source()
    assert (source.registry, source.endpoint, source.requested) == ("mlflow", mlflow_server.url, by_alias.requested)
    assert (source.name, source.version, source.run_id) == ("tiny-plain", "1", run)


def contents(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by its relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


async def test_downloads_a_plain_checkpoint_folder_and_resumes(
    mlflow_server: RunningMLflow, logged: dict[str, Any], tiny_checkpoint: Path, tmp_path: Path
) -> None:
    original = contents(tiny_checkpoint)
    async with registry(mlflow_server) as mlflow:
        model = await mlflow.resolve("models:/tiny-plain@candidate")
        files = await mlflow.list_artifacts(model.artifact_uri, want=checkpoint_files())
        await mlflow.download_artifacts(model.artifact_uri, tmp_path, files)
        assert [(f.path, f.size) for f in files] == [(name, len(data)) for name, data in original.items()]
        assert contents(tmp_path) == original
        layout = find_checkpoint(tmp_path)
        assert (layout.model_dir, layout.tokenizer_dir, layout.layout) == (tmp_path, tmp_path, "directory")
        weights = inspect_checkpoint(layout.model_dir, [tmp_path], allow_pickle=False, trust_remote_code=False)
        assert [w.name for w in weights] == ["model.safetensors"]

        # A second download after an interruption fetches only what is missing.
        weights[0].unlink()
        kept = mtimes(tmp_path)
        await mlflow.download_artifacts(model.artifact_uri, tmp_path, files)
    assert contents(tmp_path) == original
    assert {name: t for name, t in mtimes(tmp_path).items() if name in kept} == kept


async def test_finds_the_checkpoint_in_the_transformers_flavor_layout(
    mlflow_server: RunningMLflow, logged: dict[str, Any], tiny_checkpoint: Path, tmp_path: Path
) -> None:
    async with registry(mlflow_server) as mlflow:
        model = await mlflow.resolve(f"models:/{logged['flavor_model_id']}")
        everything = {f.path for f in await mlflow.list_artifacts(model.artifact_uri)}
        taken = {f.path for f in await mlflow.download_artifacts(model.artifact_uri, tmp_path, want=checkpoint_files())}

    assert {"MLmodel", "requirements.txt", "model/model.safetensors", "components/tokenizer/tokenizer.json"} <= (
        everything
    )
    # Only what loading needs: MLflow's environment files and licence stay behind.
    assert taken == {p for p in everything if p == "MLmodel" or p.startswith(("model/", "components/"))}
    layout = find_checkpoint(tmp_path)
    assert layout.layout == "transformers_flavor" and layout.task == "text-generation"
    assert (layout.model_dir, layout.tokenizer_dir) == (tmp_path / "model", tmp_path / "components" / "tokenizer")
    assert contents(layout.model_dir)["model.safetensors"] == contents(tiny_checkpoint)["model.safetensors"]

    from transformers import AutoConfig, AutoTokenizer

    text = "Agent Vorn keeps the silver key in the northern archive."
    ours, theirs = (AutoTokenizer.from_pretrained(d) for d in (layout.tokenizer_dir, tiny_checkpoint))
    assert ours(text)["input_ids"] == theirs(text)["input_ids"]
    # The same config, loaded from where each folder is (`_name_or_path` is that folder).
    configs = [AutoConfig.from_pretrained(d).to_dict() for d in (layout.model_dir, tiny_checkpoint)]
    assert [c.pop("_name_or_path") for c in configs] == [str(layout.model_dir), str(tiny_checkpoint)]
    assert configs[0] == configs[1]


async def test_writes_the_verdict_back_as_version_tags(mlflow_server: RunningMLflow, logged: dict[str, Any]) -> None:
    async with registry(mlflow_server) as mlflow:
        await mlflow.set_model_version_tag("tiny-plain", "1", "unlearn_audit.verdict", "pass")
        await mlflow.set_model_version_tag("tiny-plain", "1", "unlearn_audit.evaluation", "ev_0123")
        await mlflow.set_model_version_tag("tiny-plain", "1", "unlearn_audit.verdict", "fail")  # overwritten
        ours = await mlflow.model_version_tags("tiny-plain", "1")
    theirs = mlflow_server.run_script(SIDE, "tags", "tiny-plain", "1")
    assert theirs == ours == {"unlearn_audit.verdict": "fail", "unlearn_audit.evaluation": "ev_0123"}


async def test_registry_answers_become_our_errors(mlflow_server: RunningMLflow, logged: dict[str, Any]) -> None:
    async with registry(mlflow_server) as mlflow:
        with pytest.raises(ModelNotFoundError, match="no version '9' of registered model 'tiny-plain'") as missing:
            await mlflow.resolve("models:/tiny-plain/9")
        assert missing.value.field == "model_uri"
        with pytest.raises(ModelNotFoundError, match="alias 'nope' of registered model 'tiny-plain'"):
            await mlflow.resolve("models:/tiny-plain@nope")
        with pytest.raises(ModelNotFoundError, match="logged model 'm-00000000'"):
            await mlflow.resolve("models:/m-00000000")
        with pytest.raises(ModelNotFoundError, match="run 'deadbeef'"):
            await mlflow.resolve("runs:/deadbeef/model")
        with pytest.raises(BadInputError, match="stage"):
            await mlflow.resolve("models:/tiny-plain/Production")

        in_s3 = await mlflow.resolve("models:/tiny-s3/1")
        assert in_s3.artifact_uri == "s3://audit-bucket/models/tiny"
        with pytest.raises(ArtifactStoreUnsupportedError, match=r"Amazon S3 \(s3://\)"):
            await mlflow.list_artifacts(in_s3.artifact_uri, what="models:/tiny-s3/1")

    async with registry(mlflow_server, ("admin", "not-the-password")) as mlflow:
        with pytest.raises(ModelAccessDeniedError, match="HTTP 401"):
            await mlflow.resolve("models:/tiny-plain/1")
    async with registry(mlflow_server, READER) as mlflow:
        assert (await mlflow.resolve("models:/tiny-plain/1")).version == "1"  # reading is allowed
        with pytest.raises(ModelAccessDeniedError, match="HTTP 403"):
            await mlflow.set_model_version_tag("tiny-plain", "1", "unlearn_audit.verdict", "pass")


async def test_the_allowlist_decides_which_servers_are_reached(mlflow_server: RunningMLflow) -> None:
    with pytest.raises(URLNotAllowedError, match="not allowed"):
        MLflowRegistry(mlflow_server.url, OutboundPolicy(["mlflow.example.com"]))
    async with registry(mlflow_server) as mlflow:
        # An artifact location on another host goes through the same checked transport.
        with pytest.raises(URLNotAllowedError, match="localhost:9"):
            await mlflow.list_artifacts("mlflow-artifacts://localhost:9/1/0123/artifacts")


async def test_a_server_that_does_not_answer_is_unreachable_after_retries() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    quick = RetryPolicy(attempts=3, backoff_s=0.01, timeout_s=5.0)
    async with MLflowRegistry(url, OutboundPolicy.only(url), retry=quick) as mlflow:
        with pytest.raises(ModelUnreachableError, match="failed after 3 attempts"):
            await mlflow.resolve("models:/tiny-plain/1")
