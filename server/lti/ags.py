"""Assignment and Grade Services: the line item of a course assignment and its scores.

A course assignment has exactly one line item per LMS context, keyed by the resourceId
`neurograde-<course assignment id>`: the URL is stored once known, and otherwise the
platform is asked for a line item with that resourceId before one is created, so a
retry, a second worker or a lost database row never adds a duplicate column to the
gradebook.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.service_connector import ServiceConnector
from sqlalchemy.orm import Session

from server.lti.keys import ToolKeys
from server.lti.models import LtiContext, LtiLineItem
from server.lti.toolconf import registration_of

log = logging.getLogger(__name__)

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
#: seconds a call to the platform may take
HTTP_TIMEOUT = 20


class _TimeoutSession(requests.Session):
    def request(self, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(*args, **kwargs)


def connector(context: LtiContext, keys: ToolKeys) -> ServiceConnector:
    """A service connector for the context's platform (OAuth2 client credentials with a
    JWT signed by the tool's key)."""
    return ServiceConnector(registration_of(context.platform, keys), _TimeoutSession())


def resource_id(course_assignment_id: int) -> str:
    return f"neurograde-{course_assignment_id}"


def service(context: LtiContext, keys: ToolKeys, lineitem_url: str | None = None
            ) -> AssignmentsGradesService:
    data = {"scope": list(context.ags_scopes or []), "lineitems": context.lineitems_url}
    if lineitem_url:
        data["lineitem"] = lineitem_url
    return AssignmentsGradesService(connector(context, keys), data)  # type: ignore[arg-type]


def ensure_line_item(session: Session, item: LtiLineItem, keys: ToolKeys, label: str,
                     maximum: float) -> str:
    """The URL of `item`'s line item on the platform, found or created (idempotent)."""
    if item.url:
        return item.url
    ags = service(item.context, keys)
    wanted = (LineItem().set_resource_id(item.resource_id).set_label(label)
              .set_score_maximum(maximum))
    if item.resource_link_id:
        wanted.set_resource_link_id(item.resource_link_id)
    found = ags.find_or_create_lineitem(wanted, find_by="resource_id")
    item.url = found.get_id()
    if not item.url:
        raise LtiException("the LMS returned a line item without an id")
    session.flush()
    log.info("line item %s of context %s: %s", item.resource_id, item.context_id, item.url)
    return item.url


@dataclass(frozen=True)
class ScoreToSend:
    user_sub: str
    score: float
    maximum: float
    comment: str


def post_score(item: LtiLineItem, keys: ToolKeys, url: str, score: ScoreToSend) -> None:
    """POST one score (raises `LtiServiceException` with the platform's response)."""
    grade = (Grade().set_score_given(round(score.score, 6)).set_score_maximum(score.maximum)
             .set_activity_progress("Completed").set_grading_progress("FullyGraded")
             .set_user_id(score.user_sub).set_comment(score.comment)
             .set_timestamp(datetime.now(UTC).isoformat(timespec="milliseconds")))
    service(item.context, keys, url).put_grade(grade, LineItem({"id": url}))
