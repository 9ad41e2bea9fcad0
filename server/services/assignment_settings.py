"""Enabling assignments in a course and reading the instructor's settings form.

Times in the form are in the course's time zone (``YYYY-MM-DDTHH:MM``, as a
datetime-local input sends them) and stored in UTC; the late penalty is entered in
percent per started day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from plugins.registry import Registry
from server.errors import NeurogradeError
from server.models import Course, CourseAssignment
from server.services.courses import enable_assignment


class FormError(ValueError):
    """A message for the instructor about what they entered."""


def enable(session: Session, registry: Registry, course: Course, slug: str) -> CourseAssignment:
    """Enable an installed assignment with its default rubric's late penalty."""
    if any(ca.assignment_slug == slug for ca in course.assignments):
        raise FormError(f"{slug} is already enabled in this course")
    try:
        ca = enable_assignment(session, registry, course, slug)
    except NeurogradeError as error:
        raise FormError(error.message) from None
    try:
        ca.late_penalty_per_day = registry.rubric_for(slug).late_penalty_per_day
    except KeyError:
        ca.late_penalty_per_day = 0.0
    return ca


def parse_time(raw: str, time_zone: str = "UTC") -> datetime | None:
    """A UTC moment from a form field read in `time_zone`, or None for an empty field."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise FormError(f"use the form YYYY-MM-DD HH:MM ({time_zone})") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=valid_zone(time_zone))
    return moment.astimezone(UTC)


def valid_zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` ("Europe/Berlin", "UTC"), or a FormError."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise FormError(f"{name!r} is not a time zone name such as Europe/Berlin or UTC") from None


def apply_settings(ca: CourseAssignment, form: Mapping[str, str],
                   registry: Registry) -> dict[str, str]:
    """Copy valid settings onto `ca`; returns {field: message} for every invalid one."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}  # each field's parsed value, of that field's type
    def local_time(raw: str) -> datetime | None:
        return parse_time(raw, getattr(ca.course, "time_zone", None) or "UTC")

    for name, parse in (("deadline", local_time), ("hard_cutoff", local_time),
                        ("late_penalty_percent", _percent),
                        ("daily_submission_limit", _limit)):
        try:
            values[name] = parse(form.get(name, ""))
        except FormError as error:
            errors[name] = str(error)
    rubric = form.get("rubric_name", "").strip() or None
    if rubric is not None and rubric not in registry.rubric_names(ca.assignment_slug):
        errors["rubric_name"] = f"no rubric {rubric!r} for this assignment"
    deadline, cutoff = values.get("deadline"), values.get("hard_cutoff")
    if deadline and cutoff and cutoff < deadline:
        errors["hard_cutoff"] = "the hard cutoff must not be before the deadline"
    if errors:
        return errors
    ca.deadline, ca.hard_cutoff = deadline, cutoff
    ca.late_penalty_per_day = values["late_penalty_percent"] / 100.0
    ca.daily_submission_limit = values["daily_submission_limit"]
    ca.rubric_name = rubric
    ca.enabled = form.get("enabled") in ("on", "1", "true", "yes")
    return {}


def _percent(raw: str) -> float:
    raw = raw.strip() or "0"
    try:
        value = float(raw)
    except ValueError:
        raise FormError("enter a number of percent, e.g. 10") from None
    if not 0 <= value <= 100:
        raise FormError("between 0 and 100 percent")
    return value


def _limit(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise FormError("a whole number of submissions per day (at least 1), or empty for none")
    return int(raw)
