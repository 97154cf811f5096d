"""The job store's interface, as the HTTP layer and the worker use it.

Implemented by `service.store.sql.SqlJobStore` (SQLAlchemy async: SQLite by default, PostgreSQL at
scale). All methods are async and safe to call from several processes at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from schemas.dataset_sources import DatasetSource
from schemas.jobs import ItemPage, ItemRecord, Job, JobError, JobPage, JobStatus
from schemas.requests import EvaluationRequest
from schemas.scorecard import CheckResult
from schemas.sources import ModelSource, WriteBack

if TYPE_CHECKING:
    from service.store.dataset_pins import DatasetPin
    from service.store.metric_counters import MetricCounters
    from service.store.outside import DeliveryAttempt, RegistryDeliveryPage, RegistryDeliveryRecord
    from service.store.queue_gauges import QueueGauges
    from service.store.signing_keys import SigningKeyStore
    from service.store.webhook_profiles import WebhookProfileStore


Outbox = Literal["callback", "writeback"]
"""What an ended job owes the world: its result callback, and its result written back to a registry."""


@dataclass(frozen=True)
class TeamFilter:
    """Which jobs a caller sees: every team's (`everyone`: admins, workers), or one team's (`team`; None
    is the jobs submitted without a team)."""

    everyone: bool = True
    team: str | None = None

    def sees(self, team: str | None) -> bool:
        return self.everyone or team == self.team


EVERY_TEAM = TeamFilter()


@dataclass(frozen=True)
class TeamLimits:
    """The operator's per-team caps (None: no cap). Jobs without a team count as one team."""

    max_active: int | None = None
    """Queued plus running jobs a team may have; a submit above it gets 429."""
    max_running: int | None = None
    """Jobs of one team that run at once; claims pass over a team at its cap."""
    retry_after_s: int = 30


NO_LIMITS = TeamLimits()


@dataclass
class ClaimedJob:
    """A job a worker holds under lease."""

    id: str
    request: EvaluationRequest
    attempts: int
    done_checks: dict[str, CheckResult]
    """Checks finished by an earlier attempt: a resumed job does not run them again."""
    done_check_meta: dict[str, dict[str, Any]]
    created_at: datetime
    started_at: datetime
    resolved: dict[str, ModelSource] = field(default_factory=dict)
    """Fetched models' sources pinned at submit, by request field (`target`, `baseline`, ...)."""
    resolved_datasets: dict[str, DatasetSource] = field(default_factory=dict)
    """Hub datasets' sources pinned at submit, by request field (`checks.forget.dataset`, ...)."""


@dataclass
class JobEvent:
    id: int
    job_id: str
    kind: str
    data: dict[str, Any]
    created_at: datetime


class JobStore(Protocol):
    async def create_job(
        self,
        request: EvaluationRequest,
        *,
        idempotency_key: str | None = None,
        owner: str | None = None,
        team: str | None = None,
        limits: TeamLimits = NO_LIMITS,
        resolved: Mapping[str, ModelSource] | None = None,
        write_back: WriteBack | None = None,
        resolved_datasets: Mapping[str, DatasetSource] | None = None,
    ) -> tuple[Job, bool]:
        """Store a queued job of `team`. With an idempotency key already used by `owner`, return that job and
        False. QuotaExceededError when the team already has `limits.max_active` queued and running jobs.
        `resolved`: the fetched models' sources pinned at submit, by request field (`resolved_datasets`: the Hub
        datasets'); `write_back`: where the
        result goes back to a registry when the job ends."""
        ...

    async def get_job(self, job_id: str) -> Job | None: ...

    async def get_request(self, job_id: str) -> EvaluationRequest | None: ...

    async def list_jobs(
        self,
        *,
        status: JobStatus | None = None,
        labels: dict[str, str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
        teams: TeamFilter = EVERY_TEAM,
    ) -> JobPage:
        """Newest first; `labels` must all match; only jobs `teams` sees."""
        ...

    async def request_cancel(self, job_id: str) -> Job | None:
        """Queued: cancelled at once. Running: flagged; the worker stops at its next batch."""
        ...

    async def is_cancel_requested(self, job_id: str) -> bool: ...

    async def set_progress(self, job_id: str, worker_id: str, progress: dict[str, Any]) -> None:
        """Update the job's progress (check, done, total) while `worker_id` holds it."""
        ...

    async def claim_next(self, worker_id: str, lease_s: float, limits: TeamLimits = NO_LIMITS) -> ClaimedJob | None:
        """Atomically take a queued job, or a running one whose lease has expired: the oldest of the team
        with the fewest running jobs (fair across teams; teams at `limits.max_running` wait). A job that
        cannot be decoded is failed with `invalid_job` and the next one is taken."""
        ...

    async def heartbeat(self, job_id: str, worker_id: str, lease_s: float) -> bool:
        """Extend the lease; False when this worker no longer holds the job."""
        ...

    async def release(self, job_id: str, worker_id: str) -> bool:
        """Put a held job back in the queue now (graceful shutdown); False when not held."""
        ...

    async def save_check(
        self,
        job_id: str,
        worker_id: str,
        check: str,
        result: CheckResult,
        records: list[ItemRecord],
        meta: dict[str, Any],
    ) -> None:
        """Store a finished check with its per-item records, in one transaction."""
        ...

    async def finish_job(
        self,
        job_id: str,
        worker_id: str,
        *,
        status: JobStatus,
        scorecard: dict[str, Any] | None = None,
        verdict: str | None = None,
        error: JobError | None = None,
    ) -> None: ...

    async def claim_due(self, outbox: Outbox, lease_s: float) -> str | None:
        """An ended job whose `outbox` delivery (result callback, registry write-back) is owed, held for
        `lease_s`."""
        ...

    async def end_due(self, outbox: Outbox, job_id: str, *, retry_now: bool = False) -> None:
        """Clear the owed delivery (delivered or given up); `retry_now` gives it back to the queue."""
        ...

    async def claim_callback(self, lease_s: float) -> str | None:
        """`claim_due("callback", lease_s)`."""
        ...

    async def end_callback(self, job_id: str, *, retry_now: bool = False) -> None:
        """`end_due("callback", job_id, retry_now=...)`."""
        ...

    async def write_back_of(self, job_id: str) -> WriteBack | None:
        """Where the job's result goes back to a registry, if anywhere."""
        ...

    async def record_delivery_attempt(self, job_id: str, attempt: DeliveryAttempt) -> None:
        """Record one callback attempt."""
        ...

    async def delivery_attempts(self, job_id: str) -> list[DeliveryAttempt]:
        """Every callback attempt of a job, oldest first."""
        ...

    async def registry_delivery(self, registry: str, key: str) -> RegistryDeliveryRecord | None:
        """The recorded registry delivery with this de-duplication key, or None."""
        ...

    async def record_registry_delivery(
        self,
        registry: str,
        key: str,
        *,
        event: str,
        model: str,
        status: str,
        detail: str,
        profile: str | None,
        job_id: str | None,
    ) -> RegistryDeliveryRecord:
        """Insert a registry delivery, or update an earlier row of its event that did not submit a job."""
        ...

    async def registry_deliveries(self, limit: int = 50, cursor: str | None = None) -> RegistryDeliveryPage:
        """A page of registry deliveries, newest first (BadCursorError on a cursor the store did not give)."""
        ...

    async def dataset_pins(self, endpoint: str | None = None) -> list[DatasetPin]:
        """The deployment's pins of suite datasets (of one Hub endpoint, or all)."""
        ...

    async def remember_dataset_pins(self, endpoint: str, resolved: Mapping[tuple[str, str], str]) -> int:
        """Pin (repo, requested revision) -> commit where not pinned yet; how many are new."""
        ...

    async def forget_dataset_pins(self, repo: str | None = None) -> int:
        """Drop the pins of `repo` (all when None); how many were dropped."""
        ...

    async def append_event(self, job_id: str, kind: str, data: dict[str, Any]) -> None:
        """Append to the job-events table (progress, check started/finished, job ended)."""
        ...

    async def events_since(self, job_id: str, after_id: int = 0) -> list[JobEvent]: ...

    async def get_scorecard(self, job_id: str) -> dict[str, Any] | None: ...

    async def list_items(
        self,
        job_id: str,
        *,
        check: str | None = None,
        variant: str | None = None,
        model: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> ItemPage: ...

    async def expire_items(self, older_than_days: int) -> int:
        """Delete per-item records of jobs finished longer ago; scorecards stay. Returns rows deleted."""
        ...

    @property
    def signing_keys(self) -> SigningKeyStore:
        """The scorecard signing keys every machine shares (active and retired)."""
        ...

    @property
    def webhook_profiles(self) -> WebhookProfileStore:
        """The audit profiles every API replica shares."""
        ...

    async def read_metrics(self) -> MetricCounters:
        """The counters behind /metrics (kept with each status change): one query, whatever the history."""
        ...

    async def read_queue_gauges(self) -> QueueGauges:
        """The age of the oldest queued job and the running jobs whose lease has expired, as of now."""
        ...

    async def count_by_status(self) -> dict[str, int]: ...

    async def check_durations(self) -> list[tuple[str, float]]:
        """(check name, seconds) of finished checks, for metrics."""
        ...

    async def count_items(self) -> dict[str, int]:
        """Per-item records scored by finished checks, by check (metrics)."""
        ...

    async def job_durations(self) -> list[tuple[str, float]]:
        """(final status, seconds from first start to end) of finished jobs (metrics)."""
        ...

    async def ping(self) -> None:
        """Touch the database; raises when it is unreachable."""
        ...

    async def close(self) -> None: ...
