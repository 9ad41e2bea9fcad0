"""Late penalties and the grades CSV export.

The rule, in one place: a submission's *effective* score is its latest graded
counted score (`counted_score`: the public-half score before the deadline, the
final whole-set score from it on) times ``1 - late_penalty_per_day * days_late``
(``days_late`` counts every started day after the deadline, floored at 0 credit);
anything submitted after the hard cutoff earns nothing. A student's grade for an
assignment is the best effective score over their submissions.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import DONE, Course, CourseAssignment, Enrollment, Submission, User

#: statuses that are our fault: never a grade
NOT_A_GRADE = frozenset({"internal_error"})


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
@overload
def as_utc(moment: datetime | None) -> datetime | None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; all stored times are UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def days_late(submitted_at: datetime, deadline: datetime | None) -> int:
    """Started days after the deadline (0 when on time or without a deadline)."""
    if deadline is None:
        return 0
    late = (as_utc(submitted_at) - as_utc(deadline)).total_seconds()
    return max(0, math.ceil(late / 86400))


def penalty_factor(submitted_at: datetime, ca: CourseAssignment) -> float:
    """Share of the score kept for a submission made at `submitted_at`."""
    cutoff = as_utc(ca.hard_cutoff)
    if cutoff is not None and as_utc(submitted_at) > cutoff:
        return 0.0
    return max(0.0, 1.0 - (ca.late_penalty_per_day or 0.0) * days_late(submitted_at, ca.deadline))


def deadline_passed(ca: CourseAssignment, now: datetime | None = None) -> bool:
    """Whether the final scores (and the private half of a test set) are revealed."""
    deadline = as_utc(ca.deadline)
    return deadline is not None and (now or datetime.now(UTC)) >= deadline


def counted_score(submission: Submission | Any, ca: CourseAssignment,
                  now: datetime | None = None) -> float | None:
    """The score that counts, and may be shown, now.

    Before the deadline that is `score`: partial credit from the public half of a
    hidden test set. From the deadline on it is `final_score`, fixed at grading time
    from the whole set and hidden until then (None in results from before it existed:
    `score` then). Without a deadline nothing is ever final: `score`.
    """
    final = getattr(submission, "final_score", None)
    if final is not None and deadline_passed(ca, now):
        return final
    return submission.score


def effective_score(submission: Submission | Any, ca: CourseAssignment,
                    now: datetime | None = None) -> float | None:
    """The counted score after late penalties, or None when the submission has no grade.

    `submission` may be a row with the columns state, status, score, final_score and
    submitted_at.
    """
    if submission.state != DONE or submission.score is None or submission.status in NOT_A_GRADE:
        return None
    counted = counted_score(submission, ca, now)  # not None: `score` is set
    return None if counted is None else counted * penalty_factor(submission.submitted_at, ca)


@dataclass(frozen=True)
class GradeCell:
    score: float
    max_score: float
    submission_id: int


def best_grades(session: Session, course: Course) -> dict[tuple[int, int], GradeCell]:
    """(user_id, course_assignment_id) -> the best effective score of that student."""
    cas = {ca.id: ca for ca in course.assignments}
    if not cas:
        return {}
    rows = session.execute(  # plain rows: sources and results are not needed here
        select(Submission.id, Submission.user_id, Submission.course_assignment_id,
               Submission.state, Submission.status, Submission.score, Submission.final_score,
               Submission.max_score, Submission.submitted_at)
        .where(Submission.course_assignment_id.in_(cas), Submission.state == DONE)
    )
    best: dict[tuple[int, int], GradeCell] = {}
    for sub in rows:
        score = effective_score(sub, cas[sub.course_assignment_id])
        if score is None:
            continue
        key = (sub.user_id, sub.course_assignment_id)
        if key not in best or score > best[key].score:
            best[key] = GradeCell(score, sub.max_score or 0.0, sub.id)
    return best


def course_students(session: Session, course: Course) -> list[User]:
    """Students enrolled in `course`, ordered by username."""
    return list(session.scalars(
        select(User).join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.course_id == course.id, Enrollment.role == "student")
        .order_by(User.username)
    ))


def grades_csv(session: Session, course: Course) -> str:
    """One row per student, one column per enabled assignment (best effective score).

    An empty cell means no graded submission. The header names each column
    ``<slug> (/<max>)`` when the maximum is known.
    """
    cas = sorted((ca for ca in course.assignments if ca.enabled), key=lambda c: c.assignment_slug)
    best = best_grades(session, course)
    maxima = {ca.id: max((c.max_score for (_, cid), c in best.items() if cid == ca.id),
                         default=None) for ca in cas}
    header = ["username", "name", "email"] + [
        f"{ca.assignment_slug} (/{_num(top)})" if (top := maxima[ca.id]) else ca.assignment_slug
        for ca in cas
    ]
    rows = (
        [u.username, u.name, u.email] + [_cell(best.get((u.id, ca.id))) for ca in cas]
        for u in course_students(session, course)
    )
    return _write_csv(header, rows)


def _cell(cell: GradeCell | None) -> str:
    return "" if cell is None else _num(cell.score)


def _num(value: float) -> str:
    return f"{round(value, 4):g}"


#: cells starting with these run as formulas in spreadsheets (tab and CR too: some
#: programs strip them and read what follows), so such cells get a leading quote (OWASP)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _defused(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _write_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    # CRLF as RFC 4180 says: with it the writer also quotes a cell holding a bare CR,
    # which would otherwise split the row in a spreadsheet
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_defused(v) for v in row])
    return out.getvalue()
