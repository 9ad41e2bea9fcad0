"""Course time zone and live grading progress

Revision ID: ui
Revises: integrity
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ui"
down_revision: str | None = "integrity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("courses") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=64), server_default="UTC",
                                   nullable=False))
    op.create_table(
        "grading_progress",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("check_name", sa.String(length=128), nullable=False),
        sa.Column("checks_done", sa.Integer(), nullable=False),
        sa.Column("checks_total", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"],
                                name=op.f("fk_grading_progress_submission_id_submissions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_grading_progress")),
    )


def downgrade() -> None:
    op.drop_table("grading_progress")
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("time_zone")
