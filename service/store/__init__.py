"""The job store: jobs, checks, per-item records, events (SQLAlchemy async; SQLite or PostgreSQL)."""
