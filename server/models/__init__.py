"""SQLAlchemy 2.x ORM models, split by domain."""

from server.models.accounts import ROLES, ApiToken, User
from server.models.base import Base, utcnow
from server.models.courses import Course, CourseAssignment, Enrollment, EnrollmentInvitation
from server.models.progress import GradingProgress
from server.models.security import LoginSession, LoginThrottle
from server.models.standings import attach as _attach_standings_triggers
from server.models.submissions import (
    DONE,
    LANE_FRESH,
    LANE_REGRADE,
    QUEUED,
    RUNNING,
    GradingRecord,
    RegradeBatch,
    Submission,
)

_attach_standings_triggers(Base.metadata)

__all__ = [
    "DONE", "LANE_FRESH", "LANE_REGRADE", "QUEUED", "ROLES", "RUNNING", "ApiToken", "Base",
    "Course", "CourseAssignment", "Enrollment", "EnrollmentInvitation", "GradingProgress",
    "GradingRecord", "LoginSession", "LoginThrottle", "RegradeBatch", "Submission", "User",
    "utcnow",
]

# LTI tables (and the grade-passback listener) belong to the schema everywhere
import server.lti.models  # noqa: E402, F401
