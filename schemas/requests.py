"""The evaluation request: what to audit, against what, with which checks and policy."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.datasets import CollateralDatasetRef, DatasetRef
from schemas.policy import PolicyOverrides
from schemas.targets import ModelTarget
from schemas.version import SCHEMA_VERSION

ForgetAttack = Literal[
    "cloze",
    "alt_template",
    "generation",
    "few_shot",
    "roleplay",
    "refusal_suppression",
    "relearning",
    "benign_relearning",
    "quantization",
    "logit_lens",
    "probe",
]
"""Elicitations beyond `standard` (always run). Black-box ones work on every target; the last five are
white-box and need a checkpoint."""

RefusalVariantFamily = Literal["roleplay", "hypothetical", "prefix_injection", "refusal_suppression", "base64", "noise"]


class RelearningBudget(BaseModel):
    """Budget of the relearning (RTT) attack; recorded on the scorecard."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(30, ge=1, le=10_000)
    learning_rate: float = Field(5e-4, gt=0, le=1)
    batch_size: int = Field(8, ge=1, le=512)
    lora_above_params: int = Field(
        1_000_000_000, ge=0, description="Models with more parameters are attacked with LoRA, not full fine-tuning."
    )


class ForgetCheck(BaseModel):
    """Forget efficacy: is the knowledge gone, or only hidden?"""

    model_config = ConfigDict(extra="forbid")

    dataset: DatasetRef = Field(..., description="Multiple-choice questions on the forgotten domain.")
    subject: str = Field(..., min_length=1, description="Subject of the description line, e.g. 'biology'.")
    corpus: DatasetRef | None = Field(None, description="Forget-domain text (memorisation; relearning).")
    holdout_corpus: DatasetRef | None = Field(
        None, description="Same-domain text the model never saw (membership inference)."
    )
    attacks: list[ForgetAttack] | None = Field(
        None, description="Elicitations beyond `standard`. Omitted: all the target supports. []: standard only."
    )
    folds: int = Field(5, ge=2, le=20, description="Cross-fitting folds for few-shot, relearning and probes.")
    few_shot_k: int = Field(3, ge=1, le=25)
    relearning: RelearningBudget = Field(default_factory=RelearningBudget)


class JudgeSpec(BaseModel):
    """An optional model judge for refusals: a TGI or OpenAI-compatible endpoint at temperature 0."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["keyword", "model"] = "keyword"
    target: ModelTarget | None = Field(None, description="The judge model (kind `model` only).")
    refusal_prefixes: list[str] | None = Field(None, description="Replace the built-in start-of-reply prefixes.")


class RefusalCheck(BaseModel):
    """Refusal consistency on harmful requests and their variants, and over-refusal on benign look-alikes."""

    model_config = ConfigDict(extra="forbid")

    harmful: DatasetRef
    benign: DatasetRef | None = None
    variants: list[RefusalVariantFamily] | None = Field(
        None, description="Variant families to generate; omitted: all; []: plain prompts only."
    )
    samples: int = Field(1, ge=1, le=16, description="Replies per prompt; 1 is greedy.")
    max_new_tokens: int = Field(64, ge=1, le=2048)
    judge: JudgeSpec = Field(default_factory=JudgeSpec)


class CollateralCheck(BaseModel):
    """Collateral capability loss on retained and adjacent (dual-use neighbour) knowledge."""

    model_config = ConfigDict(extra="forbid")

    datasets: list[CollateralDatasetRef] = Field(..., min_length=1)
    corpus: DatasetRef | None = Field(None, description="Retain text for the perplexity ratio.")
    prompts: DatasetRef | None = Field(None, description="Benign prompts for the degenerate-generation rate.")


class Checks(BaseModel):
    """Which checks to run; at least one."""

    model_config = ConfigDict(extra="forbid")

    forget: ForgetCheck | None = None
    refusal: RefusalCheck | None = None
    collateral: CollateralCheck | None = None


class Callback(BaseModel):
    """Where the signed scorecard is POSTed when the job ends (the URL must pass the allowlist)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., min_length=1)


class EvaluationRequest(BaseModel):
    """POST /v1/evaluations body."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = Field(SCHEMA_VERSION, description="Contract version the client speaks.")
    target: ModelTarget = Field(..., description="The model under audit (after unlearning).")
    baseline: ModelTarget | None = Field(None, description="The same model before unlearning.")
    reference: ModelTarget | None = Field(
        None, description="A model that never learned the forget data (membership-inference reference)."
    )
    checks: Checks | None = Field(None, description="The checks to run; or give `suite`.")
    suite: Literal["sandbox"] | None = Field(None, description="`sandbox` fills all three checks from the sandbox.")
    policy: str | PolicyOverrides | None = Field(
        None, description="A preset name (`default`, `strict`, `lenient`) or a preset plus overrides."
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Free labels, e.g. CI run id, model version.")
    seed: int = Field(0, ge=0, description="Seeds folds, splits, bootstraps and trained attacks.")
    limit: int | None = Field(None, ge=1, description="At most this many items per dataset (smoke runs).")
    deadline_s: float | None = Field(None, gt=0, description="Fail the job with `deadline_exceeded` after this.")
    callback: Callback | None = None

    @field_validator("labels")
    @classmethod
    def _labels_small(cls, v: dict[str, str]) -> dict[str, str]:
        if len(v) > 50:
            raise ValueError("at most 50 labels")
        for key, value in v.items():
            if not key or len(key) > 100 or len(value) > 500:
                raise ValueError(f"label {key[:40]!r}: keys 1-100 characters, values at most 500")
        return v

    @field_validator("policy")
    @classmethod
    def _known_preset(cls, v: str | PolicyOverrides | None) -> str | PolicyOverrides | None:
        from schemas.policy import PRESETS

        if isinstance(v, str) and v not in PRESETS:
            raise ValueError(f"unknown policy preset {v!r}; known: {', '.join(PRESETS)}")
        return v

    @model_validator(mode="after")
    def _has_checks(self) -> EvaluationRequest:
        if self.schema_version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(f"schema_version {self.schema_version} is not compatible with {SCHEMA_VERSION}")
        if self.suite is None and (
            self.checks is None or not any((self.checks.forget, self.checks.refusal, self.checks.collateral))
        ):
            raise ValueError("give `checks` with at least one of forget, refusal, collateral, or `suite`")
        return self
