"""Class analytics for instructors: which checks fail, which mistakes are common, how
submissions pile up towards the deadline, who has not submitted, how scores spread.

Everything is computed from the stored results of one course assignment; `csv_rows`
gives the same figures as CSV tables. Diagnoses are the grader's own words from the
messages of failed checks ("∂C/∂W2 (dW2) has the wrong sign"), with the numbers that
differ from run to run (random values, shapes of random nets) blanked, so the same
mistake made by different students falls into one group.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import DONE, CourseAssignment, Enrollment, Submission, User
from server.services.grades import NOT_A_GRADE, as_utc, effective_score

#: score histogram bins (tenths of the maximum)
BINS = 10
#: at most this many days on the timeline (the latest ones)
MAX_DAYS = 60
#: links per diagnosis
MAX_LINKS = 12
#: decimal numbers and arrays vary per run; integers stay ("w5", "layer 2")
_NUMBER = re.compile(r"[-+−]?\d+\.\d+(?:e[-+]?\d+)?|[-+−]?\d+e[-+]?\d+", re.I)
_ARRAY = re.compile(r"\[[^\[\]]*\]|array\([^()]*\)")
_NET = re.compile(r"\b\d+(?:-\d+){1,}\b")


@dataclass
class CheckRate:
    name: str
    failed: int = 0
    partial: int = 0
    passed: int = 0

    @property
    def total(self) -> int:
        return self.failed + self.partial + self.passed

    @property
    def failure_rate(self) -> float:
        return (self.failed + self.partial) / self.total if self.total else 0.0


@dataclass
class Diagnosis:
    check: str
    text: str
    students: set[int] = field(default_factory=set)
    #: the latest submission of each student with this diagnosis (newest first)
    submission_ids: list[int] = field(default_factory=list)


@dataclass
class Analytics:
    ca: CourseAssignment
    students: int
    submitted: int
    checks: list[CheckRate]
    diagnoses: list[Diagnosis]
    #: (day in the course's time zone, submissions that day)
    timeline: list[tuple[date, int]]
    deadline_day: date | None
    missing: list[User]
    #: students per tenth of the maximum, best effective score
    histogram: list[int]
    mean_fraction: float | None


def diagnosis_phrases(message: str) -> list[str]:
    """The grader's diagnoses in a failed check's message, with per-run numbers blanked."""
    text = (message or "").split("\nHint:")[0].strip()
    if not text or text.startswith("not run"):
        return []
    first = text.splitlines()[0]
    # "on a random 3-4-2 network with m = 5: <diagnosis>; <diagnosis>" -> the diagnoses
    if ": " in first:
        head, _, rest = first.partition(": ")
        if rest and len(head) < 80:
            first = rest
    phrases = []
    for part in first.split("; "):
        part = _ARRAY.sub("[…]", part)
        part = _NET.sub("N-…", part)
        part = _NUMBER.sub("…", part).strip().rstrip(".")
        if part:
            phrases.append(part[:200])
    return phrases


def class_analytics(session: Session, ca: CourseAssignment) -> Analytics:
    """Every figure of the analytics page for one course assignment."""
    subs = list(session.scalars(
        select(Submission).where(Submission.course_assignment_id == ca.id)
        .order_by(Submission.submitted_at, Submission.id)))
    students = _students(session, ca.course_id)
    graded = [s for s in subs if s.state == DONE and s.status not in NOT_A_GRADE]
    latest: dict[int, Submission] = {}
    for sub in graded:
        latest[sub.user_id] = sub  # ordered by time: the last one wins
    submitted = {s.user_id for s in subs}
    fractions = _best_fractions(graded, ca)
    bins = Counter(min(BINS - 1, int(f * BINS)) for f in fractions)
    zone = _zone(ca.course.time_zone)
    deadline = as_utc(ca.deadline)
    deadline_day = deadline.astimezone(zone).date() if deadline else None
    return Analytics(
        ca=ca, students=len(students), submitted=len(submitted & set(students)),
        checks=_check_rates(latest.values()),
        diagnoses=_diagnoses(graded),
        timeline=_timeline(subs, zone, deadline_day),
        deadline_day=deadline_day,
        missing=[u for uid, u in students.items() if uid not in submitted],
        histogram=[bins.get(i, 0) for i in range(BINS)],
        mean_fraction=sum(fractions) / len(fractions) if fractions else None,
    )


def _students(session: Session, course_id: int) -> dict[int, User]:
    rows = session.execute(
        select(User).join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.course_id == course_id, Enrollment.role == "student")
        .order_by(User.username))
    return {user.id: user for (user,) in rows}


def _zone(name: str | None) -> Any:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return UTC


def _best_fractions(graded: list[Submission], ca: CourseAssignment) -> list[float]:
    best: dict[int, float] = {}
    for sub in graded:
        score = effective_score(sub, ca)
        if score is not None and sub.max_score:
            best[sub.user_id] = max(best.get(sub.user_id, 0.0), min(1.0, score / sub.max_score))
    return list(best.values())


def _check_rates(latest: Any) -> list[CheckRate]:
    """Per check, over each student's latest graded submission: failed / partial / passed."""
    rates: dict[str, CheckRate] = {}
    for sub in latest:
        for check in (sub.result or {}).get("checks") or []:
            rate = rates.setdefault(check["name"], CheckRate(check["name"]))
            score, maximum = check.get("score") or 0.0, check.get("max_score") or 0.0
            if check.get("passed") and score >= maximum:
                rate.passed += 1
            elif score > 0:
                rate.partial += 1
            else:
                rate.failed += 1
    return list(rates.values())


def _diagnoses(graded: list[Submission]) -> list[Diagnosis]:
    groups: dict[tuple[str, str], Diagnosis] = {}
    latest_of: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for sub in graded:
        for check in (sub.result or {}).get("checks") or []:
            if check.get("passed"):
                continue
            for phrase in diagnosis_phrases(check.get("message", "")):
                key = (check["name"], phrase)
                group = groups.setdefault(key, Diagnosis(check["name"], phrase))
                group.students.add(sub.user_id)
                latest_of[key][sub.user_id] = sub.id
    for key, group in groups.items():
        group.submission_ids = sorted(latest_of[key].values(), reverse=True)[:MAX_LINKS]
    return sorted(groups.values(), key=lambda d: (-len(d.students), d.check, d.text))


def _timeline(subs: list[Submission], zone: Any, deadline_day: date | None,
              ) -> list[tuple[date, int]]:
    """Submissions per day (course time zone), every day from the first submission to the
    last one or the deadline, whichever is later (so the piling up towards it shows)."""
    days = Counter(as_utc(s.submitted_at).astimezone(zone).date() for s in subs)
    if not days:
        return []
    first, last = min(days), max(days)
    if deadline_day is not None and first <= deadline_day:
        last = max(last, deadline_day)
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    return [(first + timedelta(days=i), days.get(first + timedelta(days=i), 0))
            for i in range((last - first).days + 1)]


def csv_rows(data: Analytics, kind: str) -> list[list[Any]]:
    """One table of the analytics as CSV rows (header first)."""
    if kind == "checks":
        return [["check", "students", "failed", "partial", "passed", "failure_rate"]] + [
            [c.name, c.total, c.failed, c.partial, c.passed, f"{c.failure_rate:.3f}"]
            for c in data.checks]
    if kind == "diagnoses":
        return [["check", "diagnosis", "students", "submission_ids"]] + [
            [d.check, d.text, len(d.students), " ".join(map(str, d.submission_ids))]
            for d in data.diagnoses]
    if kind == "timeline":
        return [["day", "submissions"]] + [[d.isoformat(), n] for d, n in data.timeline]
    if kind == "missing":
        return [["username", "name", "email"]] + [[u.username, u.name, u.email]
                                                  for u in data.missing]
    if kind == "scores":
        return [["score_from_percent", "score_to_percent", "students"]] + [
            [10 * i, 10 * (i + 1), n] for i, n in enumerate(data.histogram)]
    raise KeyError(kind)


CSV_KINDS = ("checks", "diagnoses", "timeline", "missing", "scores")
