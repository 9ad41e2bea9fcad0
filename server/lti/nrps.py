"""Names and Role Provisioning: the LMS roster becomes the course's roster.

Every member with an admitted role is linked (created on first sight, as at launch)
and enrolled with the LMS role; nobody is removed (a dropped student's submissions and
grades stay, and the instructor decides).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pylti1p3.names_roles import NamesRolesProvisioningService
from sqlalchemy.orm import Session

from server.errors import ValidationError
from server.lti import accounts
from server.lti.ags import connector
from server.lti.keys import ToolKeys
from server.lti.models import LtiContext
from server.models import utcnow

log = logging.getLogger(__name__)


@dataclass
class RosterSync:
    enrolled: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def sync_roster(session: Session, context: LtiContext, keys: ToolKeys) -> RosterSync:
    """Fetch every page of the context's memberships and enrol the members."""
    if not context.memberships_url:
        raise ValidationError("The LMS has not offered its roster service for this course "
                              "(launch neurograde from it once, with NRPS enabled).")
    nrps = NamesRolesProvisioningService(
        connector(context, keys), {"context_memberships_url": context.memberships_url})
    outcome = RosterSync()
    for member in nrps.get_members():
        role = accounts.course_role(member.get("roles", []))
        if role is None or member.get("status", "Active") != "Active":
            outcome.ignored.append(member.get("user_id", "?"))
            continue
        user = accounts.link_user(session, context.platform, member["user_id"], member, role)
        accounts.enrol(session, user, context, role)
        outcome.enrolled.append(user.username)
    context.roster_synced_at = utcnow()
    session.flush()
    log.info("roster of context %s: %d enrolled, %d ignored", context.id,
             len(outcome.enrolled), len(outcome.ignored))
    return outcome
