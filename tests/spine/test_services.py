"""Account, token and course services."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from plugins import RubricDef
from server.errors import Conflict, NotFound, ValidationError
from server.services import accounts, courses, tokens
from tests.spine.plugin_helpers import AssignmentPlugin, make_assignment


@pytest.fixture
def pm(pm, tmp_path):
    pm.register(AssignmentPlugin(
        [make_assignment("toy", tmp_path)],
        rubrics=[RubricDef(name="toy-strict", assignment="toy")]), name="toy-course")
    return pm


def test_create_user_validates_and_hashes(db):
    user = accounts.create_user(db, "zoe", "correct horse", role="instructor", name="Zoë")
    assert user.password_hash.startswith("scrypt:") and "correct" not in user.password_hash
    assert accounts.verify_password(user, "correct horse")
    assert not accounts.verify_password(user, "correct horsE")
    assert not accounts.verify_password(None, "anything")
    with pytest.raises(Conflict):
        accounts.create_user(db, "zoe", "another one")
    with pytest.raises(ValidationError, match="username"):
        accounts.create_user(db, "no spaces", "password")
    with pytest.raises(ValidationError, match="role"):
        accounts.create_user(db, "yan", "password", role="root")
    with pytest.raises(ValidationError, match="at least"):
        accounts.create_user(db, "yan", "pw")
    accounts.set_password(user, "new password")
    assert accounts.verify_password(user, "new password")
    with pytest.raises(NotFound):
        accounts.get_user(db, "nobody")


def test_enroll_is_idempotent_and_defaults_the_role(db):
    course = courses.create_course(db, "c9", "Course 9")
    teacher = accounts.create_user(db, "tom", "password", role="instructor")
    student = accounts.create_user(db, "sam", "password")
    assert accounts.enroll(db, teacher, course).role == "instructor"
    first = accounts.enroll(db, student, course)
    assert first.role == "student"
    again = accounts.enroll(db, student, course, "instructor")
    assert again.id == first.id and again.role == "instructor"
    with pytest.raises(ValidationError):
        accounts.enroll(db, student, course, "owner")


def test_tokens_are_hashed_looked_up_and_revoked(db):
    user = accounts.create_user(db, "una", "password")
    row, plaintext = tokens.create_token(db, user, "laptop")
    assert row.token_hash == tokens.hash_token(plaintext) and plaintext not in row.token_hash
    assert row.last_used_at is None
    assert tokens.lookup_token(db, plaintext).id == user.id
    assert tokens.touch_token(db) is True  # first use: recorded
    db.refresh(row)
    assert row.last_used_at is not None
    assert tokens.lookup_token(db, plaintext).id == user.id
    assert tokens.touch_token(db) is False  # used a moment ago: no write on this read
    assert tokens.lookup_token(db, "") is None and tokens.lookup_token(db, "ngt_wrong") is None
    tokens.revoke_token(db, row)
    assert tokens.lookup_token(db, plaintext) is None


def test_enable_assignment_validates_and_updates(db, state):
    course = courses.create_course(db, "c10", "Course 10")
    row = courses.enable_assignment(db, state.registry, course, "toy",
                                    deadline=datetime(2026, 12, 1, 12, 0), rubric="toy-strict",
                                    late_penalty_per_day=0.25)
    assert row.deadline == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # naive means UTC
    assert (row.rubric_name, row.late_penalty_per_day, row.enabled) == ("toy-strict", 0.25, True)
    assert 0 <= row.split_seed < 2**31
    same = courses.enable_assignment(db, state.registry, course, "toy", daily_submission_limit=3)
    assert same.id == row.id and same.rubric_name == "toy-strict"
    assert same.daily_submission_limit == 3
    with pytest.raises(ValidationError, match="No installed plugin"):
        courses.enable_assignment(db, state.registry, course, "missing")
    with pytest.raises(ValidationError, match="no rubric"):
        courses.enable_assignment(db, state.registry, course, "toy", rubric="other")
    with pytest.raises(ValidationError, match="Unknown settings"):
        courses.enable_assignment(db, state.registry, course, "toy", colour="red")
    other = courses.create_course(db, "c11", "Course 11")
    seeds = {courses.enable_assignment(db, state.registry, c, "toy").split_seed
             for c in (course, other)}
    assert len(seeds) == 2  # each course gets its own public/private split
