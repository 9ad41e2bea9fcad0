"""Leaderboards: one documented query, a cache, and who sees which name.

`standings` is the only ranking query; `course_totals` sums its rows. Views and
the JSON API call these and then `present` the rows for the viewer: students
see pseudonyms only and never opted-out students; instructors see real names.

The cache is per process and exact: each course assignment's standings are kept under
its `standings_version`, a counter the database bumps in every transaction that can
change them (a grade written, a regrade queued, an enrolment or a student's displayed
name changed: `server.models.standings`). A web process compares the counter of the
course assignment row it has loaded anyway, so it never serves a stale board and never
asks the database whether its board is fresh; with several web processes each one
recomputes a board once per change.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import DONE, CourseAssignment, Enrollment, Submission, User
from server.services.grades import NOT_A_GRADE, as_utc, deadline_passed

#: (database, course assignment) -> (what the rows were computed for, the rows)
_cache: dict[tuple[str, int], tuple[tuple[Any, ...], list[Standing]]] = {}
#: (database, what the totals were computed for) -> totals; small, cleared when it grows
_totals_cache: dict[tuple[Any, ...], list[Total]] = {}
_TOTALS_ENTRIES = 256
#: the Ladder's step (Blum & Hardt, ICML 2015): before the deadline a student's shown
#: public figure moves only when a submission beats it by at least this much, and it is
#: shown rounded (towards worse) to a multiple of it; 0.005 is half a percentage point
LADDER_STEP = 0.005
_lock = threading.Lock()


@dataclass(frozen=True)
class Standing:
    """One student's line on a leaderboard (before presentation)."""

    rank: int
    user_id: int
    username: str
    name: str
    pseudonym: str
    opted_out: bool
    score: float
    max_score: float
    #: the ranking metric: the Ladder's public figure live, the private part after the deadline
    metric: float | None
    metric_public: float | None
    metric_private: float | None
    submitted_at: datetime
    submission_id: int | None = None


def clear_leaderboard_cache() -> None:
    """Forget every cached leaderboard in this process; call after each grade write."""
    with _lock:
        _cache.clear()
        _totals_cache.clear()


def ranked_until(ca: CourseAssignment) -> datetime | None:
    """The latest submission time the leaderboard counts: the deadline, if there is one."""
    return as_utc(ca.deadline)


def standings(session: Session, ca: CourseAssignment, *, higher_is_better: bool = True,
              now: datetime | None = None) -> list[Standing]:
    """The leaderboard of one course assignment, best first.

    Each enrolled student's **best submission** counts (finished, with a score,
    not an internal error). Order, and tie-break rule:

    1. higher score: before the deadline `Submission.score` (partial credit from the
       public half), from it on `final_score` (`grades.counted_score`);
    2. better metric (the assignment's `AssignmentDef.metric`, direction from
       `metric_higher_is_better`): before the deadline the student's **Ladder**
       figure of the public part (`ladder`: it moves only when a submission beats
       it by `LADDER_STEP`, rounded to that step); after it the **private** part
       (`metric_private`, falling back to the public one); a missing metric ranks
       last;
    3. earlier submission time.

    When the assignment has a deadline only submissions made by it are ranked: the
    private part is revealed at the deadline, so a later submission could be tuned
    against it. Late submissions still count for the grade (`server.services.grades`,
    with the late penalty); they just do not move the board.

    The same order picks each student's best submission. Ranks are 1..n with
    no shared ranks: the time tie-break separates everyone.
    """
    revealed = deadline_passed(ca, now)
    key = (_database(session), ca.id)
    stamp = _stamp(ca, revealed, higher_is_better)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    rows = _compute(session, ca, revealed, higher_is_better)
    with _lock:
        _cache[key] = (stamp, rows)
    return rows


def _database(session: Session) -> str:
    # the database URL keeps two apps in one process (tests, tools) apart
    return str(session.get_bind().engine.url)


def _stamp(ca: CourseAssignment, revealed: bool, higher_is_better: bool) -> tuple[Any, ...]:
    """What a cached board depends on, all read from the loaded row (no query). The
    version is read before the board is computed, so a grade written in between makes
    the cached rows newer than their key, never older."""
    return (ca.standings_version, str(ranked_until(ca)), revealed, higher_is_better)


def _compute(session: Session, ca: CourseAssignment, revealed: bool,
             higher_is_better: bool) -> list[Standing]:
    # plain rows, not ORM objects: a course has thousands of submissions
    query = (
        select(Submission.id, Submission.user_id, Submission.score, Submission.final_score,
               Submission.max_score, Submission.metric_public, Submission.metric_private,
               Submission.submitted_at)
        .join(Enrollment, (Enrollment.user_id == Submission.user_id)
              & (Enrollment.course_id == ca.course_id) & (Enrollment.role == "student"))
        .where(Submission.course_assignment_id == ca.id, Submission.state == DONE,
               Submission.score.is_not(None), Submission.status.not_in(NOT_A_GRADE))
    )
    until = ranked_until(ca)
    if until is not None:
        query = query.where(Submission.submitted_at <= until)
    sign = 1.0 if higher_is_better else -1.0

    subs = list(session.execute(query))
    ladders = {} if revealed else ladder_figures(subs, higher_is_better)

    def order(sub: Any) -> tuple[float, float, float]:
        metric = ladders.get(sub.user_id) if not revealed else _metric(sub, revealed)
        ranked_metric = -sign * metric if metric is not None else float("inf")
        return (-(_counted(sub, revealed) or 0.0), ranked_metric,
                as_utc(sub.submitted_at).timestamp())

    best: dict[int, tuple[tuple[float, float, float], Any]] = {}
    for sub in subs:
        key = order(sub)
        if sub.user_id not in best or key < best[sub.user_id][0]:
            best[sub.user_id] = (key, sub)
    ranked = sorted(best.values(), key=lambda pair: pair[0])
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(best)))}
    return [_standing(i, sub, users[sub.user_id], revealed, ladders.get(sub.user_id))
            for i, (_, sub) in enumerate(ranked, 1)]


def _counted(sub: Any, revealed: bool) -> float | None:
    """The score that ranks: the final one once revealed (see grades.counted_score)."""
    return sub.final_score if revealed and sub.final_score is not None else sub.score


def ladder_figures(subs: Sequence[Any], higher_is_better: bool = True,
                   step: float = LADDER_STEP) -> dict[int, float]:
    """Each user's public figure by the Ladder rule, over their submissions in time order.

    A figure is released only when a submission's public metric beats the one shown by
    at least `step`, and then rounded towards worse to a multiple of `step`, so neither
    small gains nor the exact value are ever shown: probing the public half with many
    submissions learns at most one step per release.
    """
    sign = 1.0 if higher_is_better else -1.0
    shown: dict[int, float] = {}
    for sub in sorted(subs, key=lambda s: (as_utc(s.submitted_at), s.id)):
        if sub.metric_public is None:
            continue
        value = sign * sub.metric_public  # larger is better from here on
        previous = shown.get(sub.user_id)
        if previous is None or value >= previous + step:
            # a tiny epsilon: 0.97 / 0.005 is 193.99999999999997 in floating point
            shown[sub.user_id] = math.floor(value / step + 1e-9) * step
    return {user: round(sign * value, 10) for user, value in shown.items()}


def _metric(sub: Any, revealed: bool) -> float | None:
    if revealed and sub.metric_private is not None:
        return sub.metric_private
    return sub.metric_public


def _standing(rank: int, sub: Any, user: User, revealed: bool,
              ladder: float | None) -> Standing:
    public = sub.metric_public if revealed else ladder
    return Standing(
        rank=rank, user_id=user.id, username=user.username, name=user.name or user.username,
        pseudonym=display_pseudonym(user), opted_out=user.leaderboard_opt_out,
        score=_counted(sub, revealed) or 0.0, max_score=sub.max_score or 0.0,
        metric=_metric(sub, revealed) if revealed else ladder, metric_public=public,
        metric_private=sub.metric_private if revealed else None,
        submitted_at=as_utc(sub.submitted_at), submission_id=sub.id,
    )


@dataclass(frozen=True)
class Total:
    rank: int
    user_id: int
    username: str
    name: str
    pseudonym: str
    opted_out: bool
    score: float
    max_score: float
    per_assignment: dict[str, float]
    #: when the last counted best submission was made (the tie-break)
    reached_at: datetime


def course_totals(session: Session, cas: Sequence[CourseAssignment],
                  higher_is_better: dict[str, bool] | None = None,
                  now: datetime | None = None) -> list[Total]:
    """Course total: the sum of each student's leaderboard scores over `cas`.

    Ranked by total score, then by who reached it first (the latest of the
    counted submissions' times, earlier is better).
    """
    hib = higher_is_better or {}
    stamps = tuple((ca.id, _stamp(ca, deadline_passed(ca, now),
                                  hib.get(ca.assignment_slug, True))) for ca in cas)
    key = (_database(session), stamps)
    with _lock:
        hit = _totals_cache.get(key)
    if hit is not None:
        return hit
    totals = _totals(session, cas, hib, now)
    with _lock:
        if len(_totals_cache) >= _TOTALS_ENTRIES:
            _totals_cache.clear()
        _totals_cache[key] = totals
    return totals


def _totals(session: Session, cas: Sequence[CourseAssignment], higher_is_better: dict[str, bool],
            now: datetime | None) -> list[Total]:
    acc: dict[int, dict[str, Any]] = {}
    maxima: dict[str, float] = {}
    for ca in cas:
        hib = higher_is_better.get(ca.assignment_slug, True)
        for s in standings(session, ca, higher_is_better=hib, now=now):
            entry = acc.setdefault(s.user_id, {"s": s, "per": {}, "at": s.submitted_at})
            entry["per"][ca.assignment_slug] = s.score
            entry["at"] = max(entry["at"], s.submitted_at)
            maxima[ca.assignment_slug] = max(maxima.get(ca.assignment_slug, 0.0), s.max_score)
    total_max = sum(maxima.values())
    ranked = sorted(acc.values(), key=lambda e: (-sum(e["per"].values()), e["at"].timestamp()))
    return [
        Total(rank=i, user_id=e["s"].user_id, username=e["s"].username, name=e["s"].name,
              pseudonym=e["s"].pseudonym, opted_out=e["s"].opted_out,
              score=sum(e["per"].values()), max_score=total_max, per_assignment=e["per"],
              reached_at=e["at"])
        for i, e in enumerate(ranked, 1)
    ]


def present(rows: Sequence[Any], *, instructor: bool, viewer_id: int | None) -> list[dict]:
    """Rows as the viewer may see them.

    Instructors get every row with the real name (and the pseudonym). Everyone
    else gets pseudonyms only and no opted-out student except themselves; their
    own row is marked ``you``. Ranks are kept as computed, so a student's rank
    does not change when someone above them opts out of being shown.
    """
    shown = []
    for row in rows:
        you = row.user_id == viewer_id
        if row.opted_out and not (instructor or you):
            continue
        item = {"rank": row.rank, "display_name": row.pseudonym, "score": row.score,
                "max_score": row.max_score, "you": you}
        if isinstance(row, Standing):
            item.update(metric=row.metric, metric_public=row.metric_public,
                        metric_private=row.metric_private,
                        submitted_at=row.submitted_at.isoformat())
        else:
            item.update(per_assignment=dict(row.per_assignment))
        if instructor:
            item.update(name=row.name, username=row.username, user_id=row.user_id,
                        opted_out=row.opted_out,
                        submission_id=getattr(row, "submission_id", None))
        shown.append(item)
    return shown


_ADJECTIVES = (
    "Amber", "Brisk", "Calm", "Daring", "Eager", "Fuzzy", "Gentle", "Hidden", "Ivory", "Jolly",
    "Keen", "Lucky", "Mellow", "Nimble", "Orange", "Plucky", "Quiet", "Rapid", "Silver", "Tidy",
    "Upbeat", "Vivid", "Witty", "Young", "Zesty", "Bold", "Clever", "Dusky", "Fancy", "Golden",
)
_ANIMALS = (
    "Axolotl", "Badger", "Cheetah", "Dolphin", "Egret", "Falcon", "Gecko", "Heron", "Ibis",
    "Jackal", "Koala", "Lemur", "Marmot", "Narwhal", "Otter", "Panda", "Quokka", "Raven",
    "Salmon", "Tapir", "Urchin", "Vole", "Walrus", "Yak", "Zebra", "Beaver", "Crane", "Dingo",
)


def display_pseudonym(user: User) -> str:
    """The name a student appears under: their own pseudonym, else a generated one.

    A pseudonym equal to the username would unmask the student, so it counts as unset.
    """
    chosen = (user.pseudonym or "").strip()
    return chosen if chosen and chosen != user.username else default_pseudonym(user)


def default_pseudonym(user: User) -> str:
    """A stable generated name, e.g. ``Nimble Otter 42``.

    Derived from the account's id and creation time (which students never see),
    so it cannot be recomputed from a username.
    """
    created = as_utc(user.created_at)
    seed = f"{user.id}:{created.isoformat() if created else ''}".encode()
    digest = hashlib.sha256(b"neurograde-pseudonym:" + seed).digest()
    return (f"{_ADJECTIVES[digest[0] % len(_ADJECTIVES)]} "
            f"{_ANIMALS[digest[1] % len(_ANIMALS)]} {digest[2] % 100}")

