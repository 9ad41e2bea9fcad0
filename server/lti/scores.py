"""The score an LMS receives for a student: the course's final-score policy over the
student's graded submissions, each with its late penalty (`services.grades`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import DONE, CourseAssignment, Submission
from server.services.grades import effective_score


@dataclass(frozen=True)
class FinalScore:
    score: float
    maximum: float
    submission_id: int


def final_score(session: Session, ca: CourseAssignment, user_id: int, policy: str
                ) -> FinalScore | None:
    """"best": the highest effective score; "latest": the effective score of the latest
    graded submission. None while nothing is graded."""
    rows = session.execute(
        select(Submission.id, Submission.state, Submission.status, Submission.score,
               Submission.max_score, Submission.submitted_at)
        .where(Submission.course_assignment_id == ca.id, Submission.user_id == user_id,
               Submission.state == DONE)
        .order_by(Submission.submitted_at, Submission.id))
    graded = [(row, score) for row in rows if (score := effective_score(row, ca)) is not None]
    if not graded:
        return None
    if policy == "latest":
        row, score = graded[-1]
    else:
        row, score = max(graded, key=lambda pair: pair[1])
    # a run that never reached the checks (syntax error) has no maximum of its own
    maximum = max(r.max_score or 0.0 for r, _ in graded)
    return FinalScore(score, maximum, row.id)
