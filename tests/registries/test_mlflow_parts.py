"""The parts of the MLflow client that need no server: model URIs, artifact stores, and the checkpoint layouts
(including those the real server test cannot log offline: a Hub reference, a PEFT adapter, a hostile MLmodel)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from evaluators.registries.mlflow import AliasRef, LoggedModelRef, RunRef, VersionRef, find_checkpoint, parse_model_uri
from evaluators.registries.mlflow.rest import MLflowREST, RegistryAuth, server_origin
from evaluators.registries.mlflow.stores import proxied_artifacts
from schemas.errors import ArtifactStoreUnsupportedError, BadInputError, NoWeightsError


@pytest.mark.parametrize(
    ("uri", "ref"),
    [
        ("models:/zephyr-rmu/3", VersionRef("zephyr-rmu", "3")),
        ("models:/zephyr rmu@champion", AliasRef("zephyr rmu", "champion")),
        ("models:/m-0123456789abcdef0123456789abcdef", LoggedModelRef("m-0123456789abcdef0123456789abcdef")),
        ("runs:/0a1b2c/model", RunRef("0a1b2c", "model")),
        ("runs:/0a1b2c//checkpoints/last/", RunRef("0a1b2c", "checkpoints/last")),
        ("runs:/0a1b2c", RunRef("0a1b2c", "")),
    ],
)
def test_model_uris_parse_as_mlflow_parses_them(uri: str, ref: object) -> None:
    assert parse_model_uri(uri) == ref


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("models:/zephyr-rmu/Production", "stage"),
        ("models:/zephyr-rmu/latest", "stage"),
        ("models://prof@databricks/zephyr/1", "profile"),
        ("runs:/0a1b2c/../../etc", r"`\.\.`"),
        ("s3://bucket/model", "models:/ or runs:/"),
        ("models:/a/b/c", "must be"),
    ],
)
def test_model_uris_an_audit_cannot_pin_are_refused(uri: str, why: str) -> None:
    with pytest.raises(BadInputError, match=why) as refused:
        parse_model_uri(uri)
    assert refused.value.field == "model_uri"


def test_proxied_artifacts_resolve_like_mlflow_and_other_stores_are_named() -> None:
    served = proxied_artifacts("mlflow-artifacts:/1/abc/artifacts/model", "https://ml.example/prefix/", "m")
    assert (served.base_url, served.path) == ("https://ml.example/prefix", "1/abc/artifacts/model")
    assert served.file_url == "https://ml.example/prefix/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model"
    elsewhere = proxied_artifacts("mlflow-artifacts://art.example:8443/7/x", "https://ml.example", "m")
    assert elsewhere.base_url == "https://art.example:8443"
    by_url = proxied_artifacts("http://ml.example:5000/api/2.0/mlflow-artifacts/artifacts/7/x", "http://other", "m")
    assert (by_url.base_url, by_url.path) == ("http://ml.example:5000", "7/x")
    for uri, store in [
        ("s3://b/m", "Amazon S3"),
        ("gs://b/m", "Google Cloud Storage"),
        ("wasbs://c@a.blob.core.windows.net/m", "Azure Blob Storage"),
        ("abfss://c@a.dfs.core.windows.net/m", "Azure Data Lake"),
        ("dbfs:/databricks/mlflow/m", "Databricks DBFS"),
        ("file:///srv/mlruns/1/abc/artifacts", "tracking server's own disk"),
        ("/srv/mlruns/1/abc/artifacts", "tracking server's own disk"),
        ("https://cdn.example/m.tar", "plain HTTPS"),
    ]:
        with pytest.raises(ArtifactStoreUnsupportedError, match=store):
            proxied_artifacts(uri, "https://ml.example", "models:/m/1")


async def test_credentials_go_to_the_tracking_server_only() -> None:
    async with httpx.AsyncClient() as client:
        rest = MLflowREST(client, "https://ml.example/prefix", RegistryAuth(token="t0ken"))
        assert rest.headers_for("https://ml.example/api/2.0/mlflow-artifacts/artifacts/x") == {
            "Authorization": "Bearer t0ken"
        }
        assert rest.headers_for("https://art.example/api/2.0/mlflow-artifacts/artifacts/x") == {}
        assert rest.headers_for("http://ml.example/api/2.0/mlflow/runs/get") == {}
    assert "t0ken" not in repr(RegistryAuth(token="t0ken"))
    assert "s3cret" not in repr(RegistryAuth(username="u", password="s3cret"))
    with pytest.raises(BadInputError, match="credentials"):
        server_origin("https://user:pw@ml.example")


def flavor_model(root: Path, transformers: dict[str, object], files: dict[str, str]) -> Path:
    """An MLflow model folder as `mlflow.transformers.save_model` writes it (the MLmodel fields it writes)."""
    conf = {"task": "text-generation", "instance_type": "TextGenerationPipeline", "transformers_version": "5.17.0"}
    pyfunc = {"loader_module": "mlflow.transformers"}
    mlmodel = {"flavors": {"python_function": pyfunc, "transformers": conf | transformers}}
    (root / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


CHECKPOINT = {"config.json": "{}", "model.safetensors": "weights"}


def test_the_transformers_flavor_saved_from_a_pipeline_keeps_the_tokenizer_in_components(tmp_path: Path) -> None:
    files = {f"model/{n}": t for n, t in CHECKPOINT.items()} | {"components/tokenizer/tokenizer.json": "{}"}
    flavor_model(tmp_path, {"model_binary": "model", "components": ["tokenizer"]}, files)
    layout = find_checkpoint(tmp_path)
    assert (layout.model_dir, layout.tokenizer_dir) == (tmp_path / "model", tmp_path / "components" / "tokenizer")


@pytest.mark.parametrize(
    ("flavor", "files", "error", "says"),
    [
        (
            {"source_model_name": "acme/llama", "source_model_revision": "abc123", "components": ["tokenizer"]},
            {},
            NoWeightsError,
            "save_pretrained=False.*'acme/llama' at revision 'abc123'",
        ),
        (
            {"peft_adaptor": "peft", "source_model_name": "acme/llama"},
            {"peft/adapter_config.json": "{}"},
            NoWeightsError,
            "PEFT adapter",
        ),
        ({"model_binary": "../../elsewhere"}, {}, BadInputError, "outside the model"),
        ({"model_binary": "model"}, {"model/config.json": "{}"}, NoWeightsError, "no config.json with weights"),
    ],
)
def test_flavors_without_loadable_weights_say_why(
    tmp_path: Path, flavor: dict[str, object], files: dict[str, str], error: type[Exception], says: str
) -> None:
    flavor_model(tmp_path, flavor, files)
    with pytest.raises(error, match=says):
        find_checkpoint(tmp_path)


def test_a_plain_folder_is_found_at_the_top_or_one_level_down(tmp_path: Path) -> None:
    for name, text in CHECKPOINT.items():
        (tmp_path / "run" / "checkpoint" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "run" / "checkpoint" / name).write_text(text)
    assert find_checkpoint(tmp_path / "run").model_dir == tmp_path / "run" / "checkpoint"
    assert find_checkpoint(tmp_path / "run" / "checkpoint").layout == "directory"
    (tmp_path / "run" / "other").mkdir()
    for name, text in CHECKPOINT.items():
        (tmp_path / "run" / "other" / name).write_text(text)
    with pytest.raises(BadInputError, match="several checkpoints"):
        find_checkpoint(tmp_path / "run")
    (tmp_path / "sklearn").mkdir()
    (tmp_path / "sklearn" / "MLmodel").write_text(yaml.safe_dump({"flavors": {"sklearn": {}, "python_function": {}}}))
    with pytest.raises(NoWeightsError, match="flavors python_function, sklearn, not transformers"):
        find_checkpoint(tmp_path / "sklearn")


def test_a_peft_adapter_is_found_for_the_worker_to_apply_to_its_base(tmp_path: Path) -> None:
    flavor = {"peft_adaptor": "peft", "source_model_name": "acme/llama", "components": ["tokenizer"]}
    flavor_model(tmp_path, flavor, {"peft/adapter_config.json": "{}", "peft/adapter_model.safetensors": "w"})
    layout = find_checkpoint(tmp_path)
    assert (layout.layout, layout.model_dir) == ("adapter", tmp_path / "peft")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "adapter_config.json").write_text("{}")
    (plain / "adapter_model.safetensors").write_text("w")
    assert find_checkpoint(plain).layout == "adapter"
