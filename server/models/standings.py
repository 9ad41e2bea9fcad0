"""`course_assignments.standings_version`: bumped by the database on every write that can
change a leaderboard.

The leaderboard cache (`server.services.leaderboard`) keys each course assignment's
standings by this number. Triggers do the bumping, inside the writing transaction, so
every writer counts — the grading workers, regrades, instructor tools, other web
processes, scripts — and a web process learns that its cached standings are stale from
the course assignment row it loads anyway (no extra query per request). What changes a
leaderboard:

- a graded submission (``state = 'done'``) appearing, changing or disappearing;
- an enrolment added, removed or given another role (only students are ranked);
- a student's displayed name or opt-out (``pseudonym``, ``name``, ``username``,
  ``leaderboard_opt_out``, ``created_at`` — the generated pseudonym derives from it).

The same SQL is in the migration that introduced it; change both together (with a new
migration) if it ever changes.
"""

from __future__ import annotations

from sqlalchemy import DDL, MetaData, event

#: submission columns whose change on a graded row can move a leaderboard
SUBMISSION_COLUMNS = ("state, status, score, max_score, metric_public, metric_private, "
                      "submitted_at, graded_at, course_assignment_id, user_id")
USER_COLUMNS = "username, name, pseudonym, leaderboard_opt_out, created_at"

_BUMP_CA = ("UPDATE course_assignments SET standings_version = standings_version + 1 "
            "WHERE id = {row}.course_assignment_id")
_BUMP_COURSE = ("UPDATE course_assignments SET standings_version = standings_version + 1 "
                "WHERE course_id = {row}.course_id")
_BUMP_USER = ("UPDATE course_assignments SET standings_version = standings_version + 1 "
              "WHERE course_id IN (SELECT course_id FROM enrollments WHERE user_id = {row}.id)")

SQLITE = [
    f"""CREATE TRIGGER standings_submission_insert AFTER INSERT ON submissions
        WHEN NEW.state = 'done' BEGIN {_BUMP_CA.format(row="NEW")}; END""",
    f"""CREATE TRIGGER standings_submission_update AFTER UPDATE OF {SUBMISSION_COLUMNS}
        ON submissions WHEN OLD.state = 'done' OR NEW.state = 'done'
        BEGIN {_BUMP_CA.format(row="OLD")}; {_BUMP_CA.format(row="NEW")}; END""",
    f"""CREATE TRIGGER standings_submission_delete AFTER DELETE ON submissions
        WHEN OLD.state = 'done' BEGIN {_BUMP_CA.format(row="OLD")}; END""",
    f"""CREATE TRIGGER standings_enrollment_insert AFTER INSERT ON enrollments
        BEGIN {_BUMP_COURSE.format(row="NEW")}; END""",
    f"""CREATE TRIGGER standings_enrollment_update AFTER UPDATE OF role, course_id, user_id
        ON enrollments BEGIN {_BUMP_COURSE.format(row="OLD")}; {_BUMP_COURSE.format(row="NEW")};
        END""",
    f"""CREATE TRIGGER standings_enrollment_delete AFTER DELETE ON enrollments
        BEGIN {_BUMP_COURSE.format(row="OLD")}; END""",
    f"""CREATE TRIGGER standings_user_update AFTER UPDATE OF {USER_COLUMNS} ON users
        BEGIN {_BUMP_USER.format(row="NEW")}; END""",
]

POSTGRESQL = [
    f"""CREATE FUNCTION neurograde_standings_submission() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' AND OLD.state = 'done' THEN {_BUMP_CA.format(row="OLD")};
            END IF;
            IF TG_OP <> 'DELETE' AND NEW.state = 'done' THEN {_BUMP_CA.format(row="NEW")};
            END IF;
            RETURN NULL;
        END $$""",
    f"""CREATE TRIGGER standings_submission AFTER INSERT OR DELETE
        OR UPDATE OF {SUBMISSION_COLUMNS} ON submissions
        FOR EACH ROW EXECUTE FUNCTION neurograde_standings_submission()""",
    f"""CREATE FUNCTION neurograde_standings_enrollment() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN {_BUMP_COURSE.format(row="OLD")}; END IF;
            IF TG_OP <> 'DELETE' THEN {_BUMP_COURSE.format(row="NEW")}; END IF;
            RETURN NULL;
        END $$""",
    """CREATE TRIGGER standings_enrollment AFTER INSERT OR DELETE
        OR UPDATE OF role, course_id, user_id ON enrollments
        FOR EACH ROW EXECUTE FUNCTION neurograde_standings_enrollment()""",
    f"""CREATE FUNCTION neurograde_standings_user() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN {_BUMP_USER.format(row="NEW")}; RETURN NULL; END $$""",
    f"""CREATE TRIGGER standings_user AFTER UPDATE OF {USER_COLUMNS} ON users
        FOR EACH ROW EXECUTE FUNCTION neurograde_standings_user()""",
]


def attach(metadata: MetaData) -> None:
    """Create the triggers whenever the tables are (`Base.metadata.create_all`, in tests)."""
    for dialect, statements in (("sqlite", SQLITE), ("postgresql", POSTGRESQL)):
        for statement in statements:
            event.listen(metadata, "after_create", DDL(statement).execute_if(dialect=dialect))
