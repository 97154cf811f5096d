"""The public contract of unlearn-audit: requests, targets, datasets, policies, jobs and scorecards.

Imports neither torch nor litestar.
"""

from schemas.datasets import (
    BUILTIN_DATASETS,
    CollateralDatasetRef,
    DatasetRef,
    MultipleChoiceItem,
    PromptItem,
    TextItem,
)
from schemas.dry_run import DryRun, PlannedCheck, PlannedDataset, PlannedModel, TimeEstimate
from schemas.jobs import TERMINAL_STATUSES, ItemPage, ItemRecord, Job, JobError, JobPage, JobStatus, Progress
from schemas.policy import PRESETS, Policy, PolicyOverrides, PresetDescription, describe_presets, resolve_policy
from schemas.requests import (
    Callback,
    Checks,
    CollateralCheck,
    EvaluationRequest,
    ForgetCheck,
    JudgeSpec,
    RefusalCheck,
    RelearningBudget,
)
from schemas.scorecard import (
    BenchmarkItem,
    BenchmarkResult,
    CheckResult,
    CheckVerdict,
    DatasetProvenance,
    Metric,
    ModelProvenance,
    Provenance,
    Scorecard,
    ScorecardChecks,
    Verdict,
)
from schemas.targets import (
    SANDBOX_CONTROLS,
    CheckpointTarget,
    ModelTarget,
    OpenAITarget,
    SandboxTarget,
    TGITarget,
)
from schemas.version import SCHEMA_VERSION

__all__ = [
    "BUILTIN_DATASETS",
    "PRESETS",
    "SANDBOX_CONTROLS",
    "SCHEMA_VERSION",
    "TERMINAL_STATUSES",
    "BenchmarkItem",
    "BenchmarkResult",
    "Callback",
    "CheckResult",
    "CheckVerdict",
    "CheckpointTarget",
    "Checks",
    "CollateralCheck",
    "CollateralDatasetRef",
    "DatasetProvenance",
    "DatasetRef",
    "DryRun",
    "EvaluationRequest",
    "ForgetCheck",
    "ItemPage",
    "ItemRecord",
    "Job",
    "JobError",
    "JobPage",
    "JobStatus",
    "JudgeSpec",
    "Metric",
    "ModelProvenance",
    "ModelTarget",
    "MultipleChoiceItem",
    "OpenAITarget",
    "PlannedCheck",
    "PlannedDataset",
    "PlannedModel",
    "Policy",
    "PolicyOverrides",
    "PresetDescription",
    "Progress",
    "PromptItem",
    "Provenance",
    "RefusalCheck",
    "RelearningBudget",
    "SandboxTarget",
    "Scorecard",
    "ScorecardChecks",
    "TGITarget",
    "TextItem",
    "TimeEstimate",
    "Verdict",
    "describe_presets",
    "resolve_policy",
]
