"""jobs.team: the team whose key (or webhook profile) submitted the job; NULL when teams are not used.

Keys of a team see only their team's jobs, claims are fair across teams, and an operator may cap each
team's queued and running jobs; the index serves those per-team counts and the fair claim's per-team heads.

Revision ID: 0004_teams
Revises: 0003_callback_due
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_teams"
down_revision = "0003_callback_due"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("team", sa.String(64)))
    op.create_index("ix_jobs_team_status_created", "jobs", ["team", "status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_team_status_created", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("team")
