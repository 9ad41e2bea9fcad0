"""SQLAlchemy 2.x ORM models, split by domain."""

from server.models.accounts import ROLES, ApiToken, User
from server.models.base import Base, utcnow
from server.models.courses import Course, CourseAssignment, Enrollment
from server.models.progress import GradingProgress
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

__all__ = [
    "DONE", "LANE_FRESH", "LANE_REGRADE", "QUEUED", "ROLES", "RUNNING", "ApiToken", "Base",
    "Course", "CourseAssignment", "Enrollment", "GradingProgress", "GradingRecord",
    "RegradeBatch", "Submission", "User", "utcnow",
]
