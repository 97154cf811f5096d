"""Model targets: what the service audits, discriminated on `kind`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import JsonDict

from schemas.bounds import EnvName, HubRepoId, HubRevision, MLflowModelURI, PathText, RelativePath, URLText

SANDBOX_CONTROLS = (
    "base",
    "retrain",
    "shallow",
    "robust_shallow",
    "quant_fragile",
    "ga",
    "norefusal",
    "rmu",
)
"""Names of the built-in sandbox control models (see evaluators/sandbox)."""

SandboxName = Literal["base", "retrain", "shallow", "robust_shallow", "quant_fragile", "ga", "norefusal", "rmu"]


def _kind_required(schema: JsonDict) -> None:
    """`kind` picks the variant of a ModelTarget, so a request always names it (its default serves code that
    builds one target class directly)."""
    required = schema.get("required")
    schema["required"] = ["kind", *(required if isinstance(required, list) else [])]


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_kind_required)

    chat_template: Literal["auto", "none"] = Field(
        "auto",
        description="Generation applies the model's chat template when it has one (`auto`) or never (`none`). "
        "Multiple-choice scoring never uses it, as lm-eval does.",
    )


class _Weights(_Target):
    """What loading weights with transformers takes, wherever the files come from."""

    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="`auto`: bfloat16 on CUDA, float32 on CPU."
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="`auto`: CUDA when present, else CPU.")
    allow_pickle: bool = Field(
        False,
        description="Allow loading *.bin/*.pt pickle weights (pickle can run code). Needs the operator's "
        "UNLEARN_AUDIT_ALLOW_PICKLE and a key with the `unsafe` scope.",
    )
    trust_remote_code: bool = Field(
        False,
        description="Allow the checkpoint's own Python code (it runs with the worker's rights). Needs the "
        "operator's UNLEARN_AUDIT_ALLOW_REMOTE_CODE and a key with the `unsafe` scope.",
    )
    base: AdapterBase | None = Field(
        None,
        description="When these files are a PEFT/LoRA adapter: the base model to apply it to. Default: the Hub "
        "repository its adapter_config.json names (`base_model_name_or_path`), fetched like an `hf` target.",
    )

    @model_validator(mode="after")
    def _base_is_a_full_model(self) -> _Weights:
        if self.base is not None and self.base.base is not None:
            raise ValueError("base: an adapter's base model cannot itself name a base")
        return self


class CheckpointTarget(_Weights):
    """A local Hugging Face checkpoint directory, loaded with transformers."""

    kind: Literal["checkpoint"] = "checkpoint"
    path: PathText = Field(..., description="Directory inside one of UNLEARN_AUDIT_MODEL_ROOTS.")


class HubTarget(_Weights):
    """A model repository on the Hugging Face Hub (or the operator's Hub endpoint), fetched by the worker.

    The revision is resolved to a commit sha when the evaluation is submitted; the worker downloads exactly
    that commit (safetensors weights, config, tokenizer and chat-template files only) into the shared cache.
    """

    kind: Literal["hf"] = "hf"
    repo: HubRepoId = Field(
        ..., description="`org/name` (or `name`); must match UNLEARN_AUDIT_HUB_REPOS.", examples=["cais/Zephyr_RMU"]
    )
    revision: HubRevision = Field(
        "main", description="A branch, tag, commit sha or pull-request ref (`refs/pr/3`); pinned to a sha at submit."
    )
    subfolder: RelativePath | None = Field(None, description="The checkpoint's folder inside the repository.")
    api_key_env: EnvName | None = Field(
        None,
        description="Name of an environment variable holding a Hub token that may read the repo (never the "
        "token); must be one the operator lists in UNLEARN_AUDIT_ENDPOINT_SECRETS.",
    )

    @model_validator(mode="after")
    def _no_traversal(self) -> HubTarget:
        for field, value in (("repo", self.repo), ("revision", self.revision), ("subfolder", self.subfolder)):
            if value is not None and (".." in value or "//" in value or (field == "repo" and "--" in value)):
                raise ValueError(f"{field} {value[:80]!r} has `..`, `//` or (in a repo id) `--`")
        return self


class MLflowTarget(_Weights):
    """A model version in an MLflow model registry (or a run's model), fetched by the worker.

    An alias is resolved to a version when the evaluation is submitted; the artifacts are downloaded over
    MLflow's REST API from a tracking server that serves artifacts (`mlflow-artifacts:`).
    """

    kind: Literal["mlflow"] = "mlflow"
    model_uri: MLflowModelURI = Field(
        ...,
        description="`models:/<name>/<version>`, `models:/<name>@<alias>`, `models:/m-<logged model id>` or "
        "`runs:/<run id>/<path>`.",
        examples=["models:/zephyr-rmu/3"],
    )
    tracking_uri: URLText | None = Field(
        None, description="The tracking server; default UNLEARN_AUDIT_MLFLOW_TRACKING_URI. Must pass the allowlist."
    )
    api_key_env: EnvName | None = Field(
        None,
        description="Name of an environment variable holding a bearer token for the tracking server (never the "
        "token); must be one the operator lists in UNLEARN_AUDIT_ENDPOINT_SECRETS.",
    )


class TGITarget(_Target):
    """A Text Generation Inference server (TGI >= 3 needs `--enable-prefill-logprobs` for log-likelihoods)."""

    kind: Literal["tgi"] = "tgi"
    url: URLText = Field(
        ...,
        description="Base URL of the TGI server; must pass UNLEARN_AUDIT_ALLOWED_HOSTS.",
        examples=["http://127.0.0.1:8080"],
    )
    api_key_env: EnvName | None = Field(
        None,
        description="Name of an environment variable of the worker holding a bearer token (never the token); "
        "must be one the operator lists in UNLEARN_AUDIT_ENDPOINT_SECRETS.",
    )


class OpenAITarget(_Target):
    """An OpenAI-compatible server (vLLM, llama.cpp server, TGI's /v1)."""

    kind: Literal["openai"] = "openai"
    base_url: URLText = Field(
        ..., description="Base URL including `/v1`; must pass the allowlist.", examples=["http://127.0.0.1:8000/v1"]
    )
    model: str = Field(..., min_length=1, max_length=256, description="Model name sent in each request.")
    api_key_env: EnvName | None = Field(
        None,
        description="Name of an environment variable of the worker holding the API key (never the key); must "
        "be one the operator lists in UNLEARN_AUDIT_ENDPOINT_SECRETS.",
    )
    chat_only: bool = Field(
        False,
        description="The server offers only /v1/chat/completions: multiple choice is scored from next-token "
        "top log-probs over the answer letters, or from parsed generations when those are missing too.",
    )


class SandboxTarget(_Target):
    """A built-in sandbox control model whose true status is known (positive/negative controls)."""

    kind: Literal["sandbox"] = "sandbox"
    name: SandboxName = Field(..., description="Which control: " + ", ".join(SANDBOX_CONTROLS) + ".")


ModelTarget = Annotated[
    CheckpointTarget | HubTarget | MLflowTarget | TGITarget | OpenAITarget | SandboxTarget,
    Field(discriminator="kind"),
]
"""A model to audit, discriminated on `kind`: checkpoint, hf, mlflow, tgi, openai or sandbox."""

AdapterBase = Annotated[CheckpointTarget | HubTarget | MLflowTarget, Field(discriminator="kind")]
"""The base model an adapter is applied to: weights loaded by the worker."""
for _model in (_Weights, CheckpointTarget, HubTarget, MLflowTarget):
    _model.model_rebuild()

WeightsTarget = CheckpointTarget | HubTarget | MLflowTarget
"""Targets whose weights are loaded by the worker (white-box checks run on them)."""
FetchedTarget = HubTarget | MLflowTarget
"""Targets whose files the worker fetches from a registry into its cache."""
