"""Alembic migrations of the job store, run in code at start-up (no alembic.ini needed)."""
