"""Registry deliveries (what the webhook receivers got), de-duplicated by key, paged newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from schemas.errors import BadCursorError
from service.store import outside
from service.store.convert import decode_cursor, encode_cursor
from service.store.sql.base import SqlBase


class RegistryDeliveriesMixin(SqlBase):
    """Registry deliveries, de-duplicated by key."""

    async def registry_delivery(self, registry: str, key: str) -> outside.RegistryDeliveryRecord | None:
        """The recorded delivery with this de-duplication key, or None."""
        async with self._tx() as conn:
            return await outside.registry_delivery(conn, registry, key)

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
    ) -> outside.RegistryDeliveryRecord:
        """Insert the delivery, or update an earlier row of its event that did not submit a job."""
        values = outside.registry_delivery_values(
            event=event, model=model, status=status, detail=detail, profile=profile, job_id=job_id
        )
        try:
            async with self._tx(write=True) as conn:
                await outside.insert_registry_delivery(conn, registry, key, values)
        except IntegrityError:
            async with self._tx(write=True) as conn:
                await outside.update_unsubmitted_delivery(conn, registry, key, values)
        found = await self.registry_delivery(registry, key)
        assert found is not None
        return found

    async def registry_deliveries(self, limit: int = 50, cursor: str | None = None) -> outside.RegistryDeliveryPage:
        """A page of deliveries, newest first, and the cursor of the next (None at the end); BadCursorError on a
        cursor this store did not give."""
        after = _after(cursor) if cursor is not None else None
        async with self._tx() as conn:
            rows = await outside.registry_delivery_page(conn, limit + 1, after)
        items = rows[:limit]
        next_cursor = None
        if len(rows) > limit:
            next_cursor = encode_cursor({"t": items[-1].received_at.isoformat(), "id": items[-1].id})
        return outside.RegistryDeliveryPage(items=items, next_cursor=next_cursor)


def _after(cursor: str) -> tuple[datetime, int]:
    """(received_at, id) of the last delivery of the previous page, from its cursor."""
    payload = decode_cursor(cursor, {"t": str, "id": int})
    try:
        received = datetime.fromisoformat(payload["t"])
    except ValueError as exc:
        raise BadCursorError("cursor is not valid: pass the next_cursor of a previous page", field="cursor") from exc
    if received.tzinfo is None:  # the store compares aware UTC times only
        raise BadCursorError("cursor is not valid: pass the next_cursor of a previous page", field="cursor")
    return received, int(payload["id"])
