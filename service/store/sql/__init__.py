"""`SqlJobStore`: the JobStore on SQLAlchemy async (sqlite+aiosqlite or postgresql+asyncpg), one module a concern."""

from service.store.sql.store import SqlJobStore, create_store

__all__ = ["SqlJobStore", "create_store"]
