"""Leaderboard cache version kept by the database; index for the queue position

Revision ID: webperf
Revises: lti
Create Date: 2026-12-04

`course_assignments.standings_version` is bumped by triggers on every write that can
change a leaderboard (graded submissions, enrolments, students' displayed names), so
every web process can tell from the row it loads whether its cached standings are
current (`server.models.standings` holds the same SQL for `create_all`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "webperf"
down_revision: str | None = "lti"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUBMISSION_COLUMNS = ("state, status, score, max_score, metric_public, metric_private, "
                      "submitted_at, graded_at, course_assignment_id, user_id")
USER_COLUMNS = "username, name, pseudonym, leaderboard_opt_out, created_at"
BUMP_CA = ("UPDATE course_assignments SET standings_version = standings_version + 1 "
           "WHERE id = {row}.course_assignment_id")
BUMP_COURSE = ("UPDATE course_assignments SET standings_version = standings_version + 1 "
               "WHERE course_id = {row}.course_id")
BUMP_USER = ("UPDATE course_assignments SET standings_version = standings_version + 1 "
             "WHERE course_id IN (SELECT course_id FROM enrollments WHERE user_id = {row}.id)")

SQLITE = [
    f"""CREATE TRIGGER standings_submission_insert AFTER INSERT ON submissions
        WHEN NEW.state = 'done' BEGIN {BUMP_CA.format(row="NEW")}; END""",
    f"""CREATE TRIGGER standings_submission_update AFTER UPDATE OF {SUBMISSION_COLUMNS}
        ON submissions WHEN OLD.state = 'done' OR NEW.state = 'done'
        BEGIN {BUMP_CA.format(row="OLD")}; {BUMP_CA.format(row="NEW")}; END""",
    f"""CREATE TRIGGER standings_submission_delete AFTER DELETE ON submissions
        WHEN OLD.state = 'done' BEGIN {BUMP_CA.format(row="OLD")}; END""",
    f"""CREATE TRIGGER standings_enrollment_insert AFTER INSERT ON enrollments
        BEGIN {BUMP_COURSE.format(row="NEW")}; END""",
    f"""CREATE TRIGGER standings_enrollment_update AFTER UPDATE OF role, course_id, user_id
        ON enrollments BEGIN {BUMP_COURSE.format(row="OLD")}; {BUMP_COURSE.format(row="NEW")};
        END""",
    f"""CREATE TRIGGER standings_enrollment_delete AFTER DELETE ON enrollments
        BEGIN {BUMP_COURSE.format(row="OLD")}; END""",
    f"""CREATE TRIGGER standings_user_update AFTER UPDATE OF {USER_COLUMNS} ON users
        BEGIN {BUMP_USER.format(row="NEW")}; END""",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name}" for name in (
    "standings_submission_insert", "standings_submission_update",
    "standings_submission_delete", "standings_enrollment_insert",
    "standings_enrollment_update", "standings_enrollment_delete", "standings_user_update")]

POSTGRESQL = [
    f"""CREATE FUNCTION neurograde_standings_submission() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' AND OLD.state = 'done' THEN {BUMP_CA.format(row="OLD")};
            END IF;
            IF TG_OP <> 'DELETE' AND NEW.state = 'done' THEN {BUMP_CA.format(row="NEW")};
            END IF;
            RETURN NULL;
        END $$""",
    f"""CREATE TRIGGER standings_submission AFTER INSERT OR DELETE
        OR UPDATE OF {SUBMISSION_COLUMNS} ON submissions
        FOR EACH ROW EXECUTE FUNCTION neurograde_standings_submission()""",
    f"""CREATE FUNCTION neurograde_standings_enrollment() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN {BUMP_COURSE.format(row="OLD")}; END IF;
            IF TG_OP <> 'DELETE' THEN {BUMP_COURSE.format(row="NEW")}; END IF;
            RETURN NULL;
        END $$""",
    """CREATE TRIGGER standings_enrollment AFTER INSERT OR DELETE
        OR UPDATE OF role, course_id, user_id ON enrollments
        FOR EACH ROW EXECUTE FUNCTION neurograde_standings_enrollment()""",
    f"""CREATE FUNCTION neurograde_standings_user() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN {BUMP_USER.format(row="NEW")}; RETURN NULL; END $$""",
    f"""CREATE TRIGGER standings_user AFTER UPDATE OF {USER_COLUMNS} ON users
        FOR EACH ROW EXECUTE FUNCTION neurograde_standings_user()""",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS standings_submission ON submissions",
    "DROP TRIGGER IF EXISTS standings_enrollment ON enrollments",
    "DROP TRIGGER IF EXISTS standings_user ON users",
    "DROP FUNCTION IF EXISTS neurograde_standings_submission()",
    "DROP FUNCTION IF EXISTS neurograde_standings_enrollment()",
    "DROP FUNCTION IF EXISTS neurograde_standings_user()",
]


def _statements(sqlite: list[str], postgresql: list[str]) -> list[str]:
    return {"sqlite": sqlite, "postgresql": postgresql}.get(op.get_bind().dialect.name, [])


def upgrade() -> None:
    with op.batch_alter_table("course_assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("standings_version", sa.Integer(), nullable=False,
                                      server_default="0"))
    for statement in _statements(SQLITE, POSTGRESQL):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(SQLITE_DROP, POSTGRESQL_DROP):
        op.execute(statement)
    with op.batch_alter_table("course_assignments", schema=None) as batch_op:
        batch_op.drop_column("standings_version")
