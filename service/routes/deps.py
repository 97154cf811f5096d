"""What handlers share: the store and settings as dependencies, and the one way to read a job the caller may see.

Handlers take `store: StoreDep` and `settings: SettingsDep`; `STATE_DEPENDENCIES` provides both from the app's
state (where service.app.create_app puts them). The app declares it, once (Litestar refuses the same provider
on two layers of one route); an app that mounts one feature router on its own declares it the same way.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation

from schemas.errors import NotFoundError
from schemas.jobs import Job
from service.auth import current_principal
from service.settings import Settings
from service.store.api import EVERY_TEAM, JobStore, TeamFilter

StoreDep = NamedDependency[SkipValidation[JobStore]]
"""The app's job store, injected as `store`."""

SettingsDep = NamedDependency[SkipValidation[Settings]]
"""The app's settings, injected as `settings`."""

_MAX_JOB_ID = 64


def store_from_state(state: State) -> JobStore:
    """The app's job store (`app.state.store`)."""
    store: JobStore = state.store
    return store


def settings_from_state(state: State) -> Settings:
    """The app's settings (`app.state.settings`)."""
    settings: Settings = state.settings
    return settings


STATE_DEPENDENCIES: dict[str, Provide] = {
    "store": Provide(store_from_state, sync_to_thread=False),
    "settings": Provide(settings_from_state, sync_to_thread=False),
}
"""`store` and `settings`, read from the app's state."""


def team_filter(connection: ASGIConnection[Any, Any, Any, Any]) -> TeamFilter:
    """The jobs the caller's key may see: its team's (or those without a team), or all for `admin`."""
    principal = current_principal(connection)
    return EVERY_TEAM if principal.sees_all_teams else TeamFilter(everyone=False, team=principal.team)


async def visible_job(store: JobStore, job_id: str, connection: ASGIConnection[Any, Any, Any, Any]) -> Job:
    """The job, if it exists and the caller's team may see it; else NotFoundError (never 403: another
    team's job ids are not to be confirmed)."""
    job = await store.get_job(job_id) if len(job_id) <= _MAX_JOB_ID else None
    if job is None or not team_filter(connection).sees(job.team):
        raise NotFoundError(f"no evaluation {job_id[:_MAX_JOB_ID]!r}", field="id")
    return job
