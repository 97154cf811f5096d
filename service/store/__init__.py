"""The job store: jobs, checks, per-item records, events (SQLAlchemy async; SQLite or PostgreSQL)."""

from schemas.errors import BadCursorError
from service.store.api import EVERY_TEAM, NO_LIMITS, ClaimedJob, JobEvent, JobStore, TeamFilter, TeamLimits
from service.store.claims import LeaseLostError
from service.store.outside import DeliveryAttempt, RegistryDeliveryPage, RegistryDeliveryRecord
from service.store.sql import SqlJobStore, create_store

__all__ = [
    "EVERY_TEAM",
    "NO_LIMITS",
    "BadCursorError",
    "ClaimedJob",
    "DeliveryAttempt",
    "JobEvent",
    "JobStore",
    "LeaseLostError",
    "RegistryDeliveryPage",
    "RegistryDeliveryRecord",
    "SqlJobStore",
    "TeamFilter",
    "TeamLimits",
    "create_store",
]
