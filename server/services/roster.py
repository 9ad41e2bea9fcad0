"""Adding students to a course, one by one or from a CSV file (username, name, email).

New accounts get a random initial password that is shown once to the
instructor. Existing accounts are only invited (`server.services.invitations`): the
student accepts on her home page, and until then the course sees her username only.
Every row gets its own outcome so a bad line never hides the good ones.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from server.errors import NeurogradeError
from server.models import Course, User
from server.services.accounts import create_user, enroll, find_enrollment, find_user
from server.services.invitations import invite

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_ROWS = 2000
HEADER = ("username", "name", "email")


@dataclass(frozen=True)
class RowResult:
    line: int | None
    username: str
    ok: bool
    message: str
    #: the initial password of an account created here (shown once)
    password: str | None = None


def add_one(session: Session, course: Course, username: str, name: str, email: str, *,
            line: int | None = None, invited_by: User | None = None) -> RowResult:
    """Create (if needed) and enrol one student; never raises for bad input."""
    username, name, email = username.strip(), name.strip(), email.strip()
    if not username:
        return RowResult(line, username, False, "the username is missing")
    if email and not EMAIL.match(email):
        return RowResult(line, username, False, f"{email!r} is not an email address")
    user = find_user(session, username)
    password = None
    if user is None:
        password = secrets.token_urlsafe(9)
        try:  # create_user validates before it writes anything
            user = create_user(session, username, password, name=name or username, email=email)
            user.pseudonym = ""  # the leaderboard generates one; never the username
        except NeurogradeError as error:
            return RowResult(line, username, False, error.message)
    enrolment = find_enrollment(session, user, course)
    if enrolment is not None:
        return RowResult(line, username, False, f"already enrolled as {enrolment.role}")
    if password is None:  # her account, not the course's: she decides
        invite(session, course, user, invited_by=invited_by)
        return RowResult(line, username, True, "existing account invited: enrolled once the "
                         "student accepts on her home page")
    enroll(session, user, course, role="student")
    return RowResult(line, username, True, "account created and enrolled", password)


def add_from_csv(session: Session, course: Course, data: bytes, *,
                 invited_by: User | None = None) -> list[RowResult]:
    """Add every row of a CSV upload; a header row ``username,name,email`` is optional."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [RowResult(None, "", False, "the file is not UTF-8 text; save it as CSV (UTF-8)")]
    rows = list(csv.reader(io.StringIO(text)))
    if rows and tuple(c.strip().lower() for c in rows[0][:3]) == HEADER:
        rows[0] = []  # skipped like a blank line: line numbers stay as the instructor sees them
    if len(rows) > MAX_ROWS:
        return [RowResult(None, "", False, f"at most {MAX_ROWS} rows per upload")]
    results = []
    for number, row in enumerate(rows, 1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > 3:
            results.append(RowResult(number, row[0].strip(), False,
                                     f"expected 3 columns (username, name, email), got {len(row)}"))
            continue
        username, name, email = (list(row) + ["", ""])[:3]
        results.append(add_one(session, course, username, name, email, line=number,
                               invited_by=invited_by))
    if not results:
        return [RowResult(None, "", False, "the file has no rows")]
    return results
