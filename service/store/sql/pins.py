"""Deployment pins of suite datasets."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError

from service.store import dataset_pins
from service.store.sql.base import SqlBase


class DatasetPinsMixin(SqlBase):
    """Deployment pins of suite datasets."""

    async def dataset_pins(self, endpoint: str | None = None) -> list[dataset_pins.DatasetPin]:
        """The deployment's pins (of one Hub endpoint, or all), by endpoint and repository."""
        async with self._tx() as conn:
            return await dataset_pins.pins(conn, endpoint)

    async def remember_dataset_pins(self, endpoint: str, resolved: Mapping[tuple[str, str], str]) -> int:
        """Pin each (repo, requested revision) to the commit it resolved to, unless pinned already (the first
        resolution wins, also against a concurrent submit); how many pins are new."""
        added = 0
        for (repo, requested), revision in resolved.items():
            try:
                async with self._tx(write=True) as conn:
                    await dataset_pins.insert(conn, endpoint, repo, requested, revision)
                added += 1
            except IntegrityError:
                continue
        return added

    async def forget_dataset_pins(self, repo: str | None = None) -> int:
        """Drop the pins of `repo` (all when None): the next audit pins what the revision names then."""
        async with self._tx(write=True) as conn:
            return await dataset_pins.forget(conn, repo)
