"""Registry webhook events, de-duplicated by key."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from service.store import outside
from service.store.sql.base import SqlBase


class WebhookEventsMixin(SqlBase):
    """Registry webhook events, de-duplicated by key."""

    async def webhook_event(self, registry: str, key: str) -> outside.WebhookEventRecord | None:
        """The recorded event with this de-duplication key, or None."""
        async with self._tx() as conn:
            return await outside.webhook_event(conn, registry, key)

    async def record_webhook_event(
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
    ) -> outside.WebhookEventRecord:
        """Insert the event, or update an earlier row of it that did not submit a job."""
        values = outside.webhook_event_values(
            event=event, model=model, status=status, detail=detail, profile=profile, job_id=job_id
        )
        try:
            async with self._tx(write=True) as conn:
                await outside.insert_webhook_event(conn, registry, key, values)
        except IntegrityError:
            async with self._tx(write=True) as conn:
                await outside.update_unsubmitted_event(conn, registry, key, values)
        found = await self.webhook_event(registry, key)
        assert found is not None
        return found

    async def recent_webhook_events(self, limit: int = 50) -> list[outside.WebhookEventRecord]:
        """Newest first."""
        async with self._tx() as conn:
            return await outside.recent_webhook_events(conn, limit)
