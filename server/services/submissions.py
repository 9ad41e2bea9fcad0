"""Accepting uploads and finding submissions.

`create_submission` is the only way a submission enters the database (web form and
JSON API alike). It validates everything before writing anything, so a rejected
upload leaves no trace, then inserts the queued row and wakes the workers in the
same transaction. A notebook (`.ipynb`) is validated and converted here
(`grader.notebook`): `source` holds the graded module, `notebook` the notebook without
its outputs and the conversion (report and line map) that grading and the pages use.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from grader import notebook as notebooks
from server.models import (
    DONE,
    LANE_FRESH,
    QUEUED,
    CourseAssignment,
    Enrollment,
    Submission,
    User,
)
from server.runtime.queue import notify_new_job
from server.services.access import (
    can_view_submission,
    enrollment_role,
    is_course_staff,
    submission_rights,
)
from server.services.grades import as_utc

log = logging.getLogger(__name__)

#: used when the assignment does not say otherwise (kB)
DEFAULT_MAX_SOURCE_KB = 256
#: statuses that are our fault and so never count against the daily limit
NOT_COUNTED = ("internal_error",)
#: SQLite has no row locks: a web process's threads count and insert in turn (and
#: `_lock_user` takes the database's write lock against the other processes)
_SQLITE_WRITE_LOCK = threading.Lock()


class SubmissionRejected(Exception):
    """An upload that was refused; `message` is written for the student."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def clean_filename(name: str) -> str:
    """The last path component only (browsers may send `C:\\dir\\x.py`), at most 255
    characters: a longer name is shortened in its stem, so it keeps its extension."""
    name = PurePosixPath(name.replace("\\", "/")).name.strip()
    if len(name) <= 255:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 16:
        return name[:255]
    return stem[:254 - len(suffix)] + "." + suffix


@dataclass(frozen=True)
class Decoded:
    """An accepted upload: the graded source, and for a notebook what else is stored."""

    source: str
    #: {"ipynb": …, "conversion": …} for a notebook (see Submission.notebook), else None
    notebook: dict[str, Any] | None = None

    @property
    def stored(self) -> bytes:
        """The file as kept (a notebook without its outputs): what sha256 and size describe."""
        if self.notebook is None:
            return self.source.encode("utf-8")
        return notebooks.notebook_json(self.notebook["ipynb"]).encode("utf-8")


#: a rejected notebook's status code by the kind of problem
_NOTEBOOK_CODES = {"too_large": 413, "empty": 400, "format": 415}


def decode_upload(upload: Upload, max_kb: int = DEFAULT_MAX_SOURCE_KB) -> Decoded:
    """Validate one uploaded `.py` file or notebook, or raise SubmissionRejected."""
    name = clean_filename(upload.filename or "")
    if not notebooks.is_notebook(name):
        return Decoded(decode_source(upload, max_kb))
    try:
        content, conversion = notebooks.load(upload.data, name, max_kb=max_kb)
    except notebooks.NotebookError as exc:
        raise SubmissionRejected(exc.message, _NOTEBOOK_CODES.get(exc.kind, 415)) from None
    return Decoded(conversion.source, {"ipynb": content, "conversion": conversion.to_dict()})


def decode_source(upload: Upload, max_kb: int = DEFAULT_MAX_SOURCE_KB) -> str:
    """Validate one uploaded file and return its text, or raise SubmissionRejected."""
    name = clean_filename(upload.filename or "")
    if not name:
        raise SubmissionRejected("Choose a file to upload.")
    if not name.lower().endswith(".py"):
        raise SubmissionRejected(f"Upload a Python file ending in .py or a Jupyter notebook "
                                 f"ending in .ipynb (got {name!r}).", 415)
    if len(upload.data) > max_kb * 1024:
        raise SubmissionRejected(
            f"The file is {len(upload.data) / 1024:.0f} kB; the limit is {max_kb} kB.", 413)
    try:
        text = upload.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionRejected(
            f"The file is not valid UTF-8 text (byte {exc.start}); save it as UTF-8.", 415
        ) from None
    if "\x00" in text:
        raise SubmissionRejected("The file contains NUL bytes; upload Python source text.", 415)
    if not text.strip():
        raise SubmissionRejected("The file is empty.")
    return text.removeprefix("\ufeff")


def notebook_conversion(submission: Submission) -> notebooks.Conversion | None:
    """A notebook submission's conversion (report and line map); None for a .py file."""
    return notebooks.stored_conversion(submission.notebook, submission.source)


def notebook_report(submission: Submission) -> dict[str, Any] | None:
    """What the pages show of a notebook submission: the cells and lines left out."""
    conversion = notebook_conversion(submission)
    return conversion.report() if conversion is not None else None


def day_start(now: datetime) -> datetime:
    """Daily limits reset at midnight UTC."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def submissions_today(session: Session, user: User, ca: CourseAssignment,
                      now: datetime | None = None) -> int:
    """Submissions that count against today's limit (our own failures do not)."""
    now = now or datetime.now(UTC)
    return session.scalar(
        select(func.count(Submission.id)).where(
            Submission.user_id == user.id,
            Submission.course_assignment_id == ca.id,
            Submission.submitted_at >= day_start(now),
            or_(Submission.status.is_(None), Submission.status.not_in(NOT_COUNTED)),
        )
    ) or 0


def _counts_today(sub: Any, start: datetime) -> bool:
    """`submissions_today`'s rule for one row already loaded."""
    return as_utc(sub.submitted_at) >= start and sub.status not in NOT_COUNTED


def submissions_left(session: Session, user: User, ca: CourseAssignment,
                     now: datetime | None = None) -> int | None:
    """How many more uploads today, or None when unlimited."""
    if ca.daily_submission_limit is None:
        return None
    return max(0, ca.daily_submission_limit - submissions_today(session, user, ca, now))


def next_reset(now: datetime | None = None) -> datetime:
    return day_start(now or datetime.now(UTC)) + timedelta(days=1)


def check_policy(session: Session, user: User, ca: CourseAssignment,
                 now: datetime | None = None) -> None:
    """Raise SubmissionRejected if the user may not submit to `ca` right now."""
    now = now or datetime.now(UTC)
    enrolled = session.scalar(select(Enrollment.id).where(
        Enrollment.course_id == ca.course_id, Enrollment.user_id == user.id))
    if enrolled is None and not is_course_staff(session, user, ca.course_id):
        raise SubmissionRejected("You are not enrolled in this course.", 403)
    if not ca.enabled:
        raise SubmissionRejected("This assignment is not open for submissions.", 403)
    cutoff = as_utc(ca.hard_cutoff)
    if cutoff is not None and now > cutoff:
        raise SubmissionRejected(
            f"Submissions closed at {cutoff:%Y-%m-%d %H:%M} UTC.", 403)
    left = submissions_left(session, user, ca, now)
    if left == 0:
        raise SubmissionRejected(
            f"You have used all {ca.daily_submission_limit} submissions for today; "
            f"the count resets at {next_reset(now):%Y-%m-%d %H:%M} UTC.", 429)


def create_submission(session: Session, user: User, ca: CourseAssignment, upload: Upload, *,
                      max_kb: int = DEFAULT_MAX_SOURCE_KB,
                      now: datetime | None = None) -> Submission:
    """Validate and enqueue an upload; commits. Raises SubmissionRejected (nothing stored)."""
    decoded = decode_upload(upload, max_kb)
    sqlite = session.get_bind().dialect.name == "sqlite"
    with _SQLITE_WRITE_LOCK if sqlite else nullcontext():
        return _insert(session, user, ca, upload, decoded, now)


def _insert(session: Session, user: User, ca: CourseAssignment, upload: Upload,
            decoded: Decoded, now: datetime | None) -> Submission:
    _lock_user(session, user)
    try:
        check_policy(session, user, ca, now)
    except SubmissionRejected:
        session.rollback()
        raise
    stored = decoded.stored  # hash and size describe what is kept (BOM, outputs stripped)
    submission = Submission(
        course_assignment_id=ca.id, user_id=user.id, filename=clean_filename(upload.filename),
        source=decoded.source, notebook=decoded.notebook,
        sha256=hashlib.sha256(stored).hexdigest(), size=len(stored),
        state=QUEUED, lane=LANE_FRESH,
    )
    if now is not None:
        submission.submitted_at = submission.enqueued_at = now
    session.add(submission)
    session.flush()
    _notify(session)
    session.commit()
    log.info("submission %s queued: user=%s assignment=%s", submission.id, user.id,
             ca.assignment_slug)
    return submission


def _lock_user(session: Session, user: User) -> None:
    """Serialise one user's concurrent uploads so the daily limit holds: a row lock on
    PostgreSQL; on SQLite a no-op write that takes the database's write lock before the
    count, since several web processes may take uploads at once."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(User.id).where(User.id == user.id).with_for_update())
    else:
        session.execute(update(User).where(User.id == user.id).values(id=User.id))


def _notify(session: Session) -> None:
    notify_new_job(session)


def visible_submission(session: Session, user: User | None, submission_id: int
                       ) -> Submission | None:
    """The submission if `user` may see it, else None (also for unknown ids)."""
    submission = session.get(Submission, submission_id)
    if submission is None or not can_view_submission(session, user, submission):
        return None
    return submission


def status_head(session: Session, user: User, submission_id: int) -> tuple[Any, bool] | None:
    """What a status poll needs of a submission, without its source or result, and
    whether `user` is course staff; None if `user` may not see it
    (`access.submission_rights`).
    Two indexed queries."""
    head = session.execute(
        select(Submission.id, Submission.user_id, Submission.state, Submission.status,
               Submission.score, Submission.max_score, Submission.attempts,
               Submission.graded_at, Submission.started_at, Submission.course_assignment_id,
               CourseAssignment.course_id, CourseAssignment.deadline)
        .join(CourseAssignment, CourseAssignment.id == Submission.course_assignment_id)
        .where(Submission.id == submission_id)).first()
    if head is None or not getattr(user, "is_authenticated", False):
        return None
    may_view, staff = submission_rights(user, head.user_id,
                                        enrollment_role(session, user, head.course_id))
    return (head, staff) if may_view else None


def user_submissions(session: Session, user: User, ca: CourseAssignment) -> list[Submission]:
    """The user's own submissions to `ca`, newest first."""
    return list(session.scalars(
        select(Submission).where(Submission.user_id == user.id,
                                 Submission.course_assignment_id == ca.id)
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
    ))


def best_submission(subs: list[Submission]) -> Submission | None:
    """The highest-scoring finished submission (earliest on ties)."""
    graded = [s for s in subs if s.state == DONE and s.score is not None
              and s.status not in NOT_COUNTED]
    if not graded:
        return None
    return min(graded, key=lambda s: (-(s.score or 0.0), as_utc(s.submitted_at)))


@dataclass(frozen=True)
class AssignmentRow:
    """One line of a student's course page."""

    ca: CourseAssignment
    title: str
    summary: str
    #: the best submission's id, max_score, …: a plain row, not the whole submission
    best: Any
    best_score: float | None  #: after late penalties
    submissions_left: int | None
    count: int
    closed: bool


#: what the course page needs of a submission: never its source or result
_ROW_COLUMNS = (Submission.id, Submission.course_assignment_id, Submission.state,
                Submission.status, Submission.score, Submission.max_score,
                Submission.submitted_at)


def course_rows(session: Session, user: User, cas: list[CourseAssignment],
                assignments: dict, now: datetime | None = None) -> list[AssignmentRow]:
    """The enabled assignments of a course as `user` sees them, in teaching order.

    One query for all of them (the user's submissions, only the columns shown); the best
    score and today's count come from those rows."""
    from server.services.grades import effective_score

    now = now or datetime.now(UTC)
    mine: dict[int, list[Any]] = {ca.id: [] for ca in cas}
    if mine:
        for sub in session.execute(select(*_ROW_COLUMNS).where(
                Submission.user_id == user.id, Submission.course_assignment_id.in_(mine))):
            mine[sub.course_assignment_id].append(sub)
    today = day_start(now)
    rows = []
    for ca in cas:
        definition = assignments.get(ca.assignment_slug)
        subs = mine[ca.id]
        scored = [(effective_score(s, ca), s) for s in subs]
        scored = [(score, s) for score, s in scored if score is not None]
        best_score, best = max(scored, key=lambda pair: (pair[0], -pair[1].id),
                               default=(None, None))
        limit = ca.daily_submission_limit
        left = None if limit is None else max(
            0, limit - sum(_counts_today(s, today) for s in subs))
        cutoff = as_utc(ca.hard_cutoff)
        rows.append(AssignmentRow(
            ca=ca, title=definition.title if definition else ca.assignment_slug,
            summary=definition.summary if definition else "",
            best=best, best_score=best_score, submissions_left=left, count=len(subs),
            closed=cutoff is not None and now > cutoff))
    order = {slug: getattr(a, "order", 100) for slug, a in assignments.items()}
    return sorted(rows, key=lambda r: (order.get(r.ca.assignment_slug, 1000),
                                       r.ca.assignment_slug))
