"""The fault benchmark's settings: the service's settings and keys, what a run is asked (`Options`) and
what it gives back (`Report`), and the environment its processes run in."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

REPO = Path(__file__).resolve().parents[2]
PLUGIN = "forget=bench.trivial_check:answer_position_check"
API_KEY = "sk-faults-bench"
CALLBACK_SECRET = "faults-bench-callback-secret"
SERVICE_SETTINGS = {
    "UNLEARN_AUDIT_LEASE_S": "4",
    "UNLEARN_AUDIT_HEARTBEAT_S": "1",
    "UNLEARN_AUDIT_POLL_S": "0.2",
    "UNLEARN_AUDIT_CALLBACK_BACKOFF_S": "0.2",
    "UNLEARN_AUDIT_CALLBACK_MAX_ATTEMPTS": "2",
}
"""Short leases and polls, so a killed worker's job and callback are taken up again quickly."""
SUBMIT_DEADLINE_S = 120.0
"""How long one submission is retried across the API processes before it counts as not accepted."""
TERMINAL = ("succeeded", "failed", "cancelled")
Kind = Literal["api", "worker"]


class SetupError(RuntimeError):
    """The run could not be set up (PostgreSQL tools missing, a process that never became ready)."""


@dataclass
class Options:
    jobs: int = 80
    kills: int = 20
    pg_restart: bool = True
    seed: int = 0
    kill_every_s: float = 2.0
    """Seconds between kills; the jobs are submitted evenly over the kills' span."""
    pg_down_s: float = 2.0
    """How long PostgreSQL stays down in its restart."""
    api_processes: int = 2
    workers: int = 4
    receiver_delay_s: float = 0.0
    """How long the callback receiver holds each 200."""
    kills_during_restart: bool = False
    """Go on killing while PostgreSQL is down (else the next kill comes `kill_every_s` after the outage)."""
    strict_once: bool = False
    """Count every second 2xx as a violation, also when its first went to a process SIGKILLed before it could
    record it (which at-least-once delivery allows)."""
    log_dir: Path | None = None
    pg_bin: Path | None = None


@dataclass
class Report:
    figures: dict[str, Any]
    pids: list[int]
    """Every process the run started (all stopped when it returns)."""
    root: Path
    """Its temporary directory (deleted when it returns)."""
    pg_port: int
    """The private cluster's port (stopped when it returns)."""

    @property
    def ok(self) -> bool:
        return not self.figures["violations"]


def service_env(data_dir: Path, database_url: str) -> dict[str, str]:
    """The processes' environment: ours without any UNLEARN_AUDIT_* of the caller's, plus the bench's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNLEARN_AUDIT_")}
    env.update(SERVICE_SETTINGS)
    env.update(
        {
            "UNLEARN_AUDIT_DATABASE_URL": database_url,
            "UNLEARN_AUDIT_DATA_DIR": str(data_dir),
            "UNLEARN_AUDIT_API_KEYS": f"{API_KEY}:submit+read",
            "UNLEARN_AUDIT_CALLBACK_SECRET": CALLBACK_SECRET,
            "UNLEARN_AUDIT_CHECK_PLUGINS": PLUGIN,
        }
    )
    return env


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
