"""Audit profiles kept in the store, so every API replica matches events against the same profiles and an
edit through any replica (PUT /v1/webhooks/profiles) is seen by all.

The profiles file (`UNLEARN_AUDIT_WEBHOOK_PROFILES_FILE`, default `<data_dir>/webhook_profiles.yaml`) is
imported once per content: at start (or at the first use of the profiles), a file whose sha256 the store has
not imported before replaces the stored profiles; an unchanged file is not imported again, so edits made
through the API stay. `unlearn-audit webhooks import|export` copy profiles between a file and the store.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from pydantic import ValidationError

from schemas.errors import ProfileError
from service.routes.validation import check_request_policy
from service.settings import Settings
from service.store.api import JobStore
from service.webhooks.events import RegistryEvent
from service.webhooks.profiles import AuditProfile, ProfileFile, ProfileSet, build_request

log = logging.getLogger(__name__)


def default_profile_file(settings: Settings) -> ProfileFile:
    """The profiles file: UNLEARN_AUDIT_WEBHOOK_PROFILES_FILE, else data_dir/webhook_profiles.yaml."""
    return ProfileFile(settings.webhook_profiles_file or settings.data_dir / "webhook_profiles.yaml")


def unique_names(profiles: ProfileSet) -> None:
    """ProfileError unless every profile has its own name (names are the stored rows' keys)."""
    names = [p.name for p in profiles.profiles]
    if len(set(names)) != len(names):
        raise ProfileError("profile names must be unique", field="profiles")


def check_profiles(profiles: ProfileSet, settings: Settings, may_use_unsafe: bool) -> None:
    """Build each profile's request for a sample event and check what does not depend on the event (secret
    names, unsafe options, judges), so a bad profile is a 4xx when saved, not at event time."""
    for i, profile in enumerate(profiles.profiles):
        sample = RegistryEvent(
            registry=profile.registry,
            event=(profile.events or ["model_version.created"])[0],
            model="example/model",
            version="1",
            revision="0" * 40,
            alias="latest",
            dedupe_key="dry-run",
            extra={"to_stage": "Staging", "project": "example/project"},
        )
        try:
            check_request_policy(build_request(profile, sample), settings, may_use_unsafe=may_use_unsafe)
        except ProfileError as exc:
            raise ProfileError(f"profiles.{i}: {exc.message}", field=f"profiles.{i}") from exc


class StoredProfiles:
    """The profiles in `store`, with the profiles file `file` imported when its content is new.

    One instance per process remembers that the file was looked at; every method re-reads the store.
    """

    def __init__(self, file: ProfileFile) -> None:
        self.file = file
        self._file_seen = False

    @classmethod
    def from_settings(cls, settings: Settings) -> StoredProfiles:
        return cls(default_profile_file(settings))

    async def import_file(self, store: JobStore) -> int | None:
        """Import the profiles file unless absent or imported before (same sha256): how many profiles it
        replaced the stored ones with, or None. ProfileError when the file is malformed (retried next use)."""
        if self._file_seen:
            return None
        path = self.file.path
        if not path.exists():
            self._file_seen = True
            return None
        profiles = self.file.load()
        unique_names(profiles)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        rows = [p.model_dump(mode="json", exclude_none=True) for p in profiles.profiles]
        done = await store.webhook_profiles.import_once(digest, str(path), rows)
        self._file_seen = True
        if done:
            log.info("imported %d audit profiles from %s into the database", len(rows), path)
            return len(rows)
        return None

    async def load(self, store: JobStore) -> ProfileSet:
        """The stored profiles, in match order. ProfileError when a stored one no longer validates."""
        await self.import_file(store)
        try:
            return ProfileSet.model_validate({"profiles": await store.webhook_profiles.load()})
        except ValidationError as exc:
            raise ProfileError(f"stored audit profiles: {exc}") from exc

    async def save(self, store: JobStore, profiles: ProfileSet) -> None:
        """Replace every stored profile (names must be unique)."""
        unique_names(profiles)
        await self.import_file(store)  # a later first use must not overwrite what is saved now
        await store.webhook_profiles.replace([p.model_dump(mode="json", exclude_none=True) for p in profiles.profiles])

    async def match(self, store: JobStore, event: RegistryEvent) -> AuditProfile | None:
        """The first stored profile matching the event, or None."""
        return next((p for p in (await self.load(store)).profiles if p.matches(event)), None)


@asynccontextmanager
async def import_profiles_on_start(app: Litestar) -> AsyncIterator[None]:
    """A lifespan step after the store's: import the profiles file if its content is new (a broken file is
    logged and tried again at the profiles' first use, where it is an error a caller sees)."""
    profiles = app.state.get("webhook_profiles")
    if not isinstance(profiles, StoredProfiles):
        profiles = app.state.webhook_profiles = StoredProfiles.from_settings(app.state.settings)
    try:
        await profiles.import_file(app.state.store)
    except ProfileError as exc:
        log.error("audit profiles file not imported: %s", exc.message)
    yield
