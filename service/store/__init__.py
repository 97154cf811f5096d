"""The job store: jobs, checks, per-item records, events (SQLAlchemy async; SQLite or PostgreSQL)."""

from service.store.api import ClaimedJob, JobEvent, JobStore
from service.store.claims import LeaseLostError
from service.store.convert import BadCursorError
from service.store.sql import SqlJobStore, create_store

__all__ = [
    "BadCursorError",
    "ClaimedJob",
    "JobEvent",
    "JobStore",
    "LeaseLostError",
    "SqlJobStore",
    "create_store",
]
