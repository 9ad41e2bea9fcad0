"""The LTI 1.3 flow against the test LMS over HTTP: keys, launches, deep linking,
account linking, AGS passback (policy, late penalty, once per change, never for
non-students, retries) and NRPS."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import jwt
import requests

from server.lti import passback
from server.lti.models import LtiLineItem, LtiPassback, LtiPassbackLog
from server.models import CourseAssignment, Enrollment
from tests.lti.conftest import LmsBrowser, deep_link, form_of, regrade, user_of, write_grade


def run_passbacks(tool) -> int:
    return passback.run_due(tool.state.session_factory, tool.state.config)


def test_jwks_is_served_and_the_key_lives_in_the_instance(tool):
    keys = requests.get(tool.url + "/.well-known/jwks.json", timeout=10).json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["kid"]
    assert requests.get(tool.url + "/lti/jwks", timeout=10).json()["keys"] == keys
    private = tool.app.instance_path + "/lti/private.pem"
    assert "PRIVATE KEY" in open(private).read()


def test_deep_linking_then_launches_link_accounts_and_scores_pass_back(tool, lms):
    link = deep_link(lms, slugs=("sigmoid",))
    # the platform created one line item from the deep-linking answer, keyed by resourceId
    assert len(lms.line_items) == 1
    item = lms.line_items[0]
    assert item["resourceId"].startswith("neurograde-") and item["scoreMaximum"] > 0

    student = LmsBrowser().open(lms.launch_url("s-1", link))
    assert student.status_code == 200
    assert student.url.endswith("/courses/" + student.url.split("/courses/")[1].split("/")[0]
                                + "/assignments/sigmoid/")
    alice = user_of(tool, "s-1@lms.example")
    with tool.session() as session:
        ca = session.query(CourseAssignment).one()
        assert session.query(Enrollment).filter_by(user_id=alice.id).one().role == "student"
        assert session.query(LtiLineItem).one().url == item["id"]  # from the launch's claim
        ca.deadline = datetime.now(UTC) - timedelta(days=3)
        ca.late_penalty_per_day = 0.1
        session.commit()
        ca_id = ca.id

    # two attempts: on time 6/10, one day late 9/10 -> 8.1 after the penalty: best is 8.1
    write_grade(tool, alice.id, ca_id, 6.0, days_after_deadline=-1)
    late = write_grade(tool, alice.id, ca_id, 9.0, days_after_deadline=0.5)
    assert run_passbacks(tool) == 1
    assert [round(s["scoreGiven"], 6) for s in lms.scores] == [8.1]
    assert lms.scores[0]["scoreMaximum"] == 10.0 and lms.scores[0]["userId"] == "s-1"
    assert lms.scores[0]["lineitem"] == item["id"]
    assert run_passbacks(tool) == 0  # nothing due: sent once

    # a regrade that changes nothing is not sent again; one that does, is
    regrade(tool, late, 9.0)
    assert run_passbacks(tool) == 1 and len(lms.scores) == 1
    regrade(tool, late, 10.0)
    assert run_passbacks(tool) == 1
    assert [round(s["scoreGiven"], 6) for s in lms.scores] == [8.1, 9.0]
    with tool.session() as session:
        outcomes = [e.outcome for e in session.query(LtiPassbackLog).order_by(LtiPassbackLog.id)]
    assert outcomes == ["sent", "unchanged", "sent"]


def test_latest_policy_sends_the_latest_attempt(tool, lms):
    link = deep_link(lms)
    LmsBrowser().open(lms.launch_url("s-1", link))
    alice = user_of(tool, "s-1@lms.example")
    with tool.session() as session:
        from server.lti.models import LtiContext

        session.query(LtiContext).one().score_policy = "latest"
        ca_id = session.query(CourseAssignment).one().id
        session.commit()
    write_grade(tool, alice.id, ca_id, 9.0)
    write_grade(tool, alice.id, ca_id, 4.0)
    run_passbacks(tool)
    assert [s["scoreGiven"] for s in lms.scores] == [4.0]


def test_instructors_are_never_sent_and_lms_non_students_end_without_retries(tool, lms):
    link = deep_link(lms)
    LmsBrowser().open(lms.launch_url("t-1", link))
    LmsBrowser().open(lms.launch_url("s-2", link))
    teacher, bob = user_of(tool, "t-1@lms.example"), user_of(tool, "s-2@lms.example")
    with tool.session() as session:
        ca_id = session.query(CourseAssignment).one().id
    write_grade(tool, teacher.id, ca_id, 10.0)
    with tool.session() as session:
        assert session.query(LtiPassback).count() == 0  # an instructor's grade: no job
    # the LMS drops Bob's learner role (neurograde still has him as a student): Canvas' 422
    lms.members["s-2"].roles = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]
    write_grade(tool, bob.id, ca_id, 7.0)
    assert run_passbacks(tool) == 1
    assert lms.score_posts == [("s-2", 422)]
    with tool.session() as session:
        job = session.query(LtiPassback).one()
        assert job.state == "failed" and "422" in job.last_error
        entry = session.query(LtiPassbackLog).one()
        assert entry.outcome == "error" and entry.http_status == 422
    assert run_passbacks(tool) == 0  # final: not retried by itself


def test_a_failed_post_is_retried_later(tool, lms):
    link = deep_link(lms)
    LmsBrowser().open(lms.launch_url("s-1", link))
    alice = user_of(tool, "s-1@lms.example")
    with tool.session() as session:
        ca_id = session.query(CourseAssignment).one().id
    real_token_url = lms.url + "/token"
    with tool.session() as session:  # the LMS is unreachable for a while
        from server.lti.models import LtiPlatform

        session.query(LtiPlatform).one().auth_token_url = "http://127.0.0.1:9/token"
        session.commit()
    write_grade(tool, alice.id, ca_id, 5.0)
    assert run_passbacks(tool) == 1
    with tool.session() as session:
        job = session.query(LtiPassback).one()
        assert job.state == "queued" and job.attempts == 1 and job.last_error
        assert job.due_at.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(seconds=20)
        session.query(LtiPlatform).one().auth_token_url = real_token_url
        job.due_at = datetime.now(UTC)  # time passes
        session.commit()
    assert run_passbacks(tool) == 1
    assert [s["scoreGiven"] for s in lms.scores] == [5.0]


def test_a_replayed_or_forged_launch_is_refused(tool, lms):
    link = deep_link(lms)
    browser = LmsBrowser()
    # stop at the platform's answer (the id_token form) and post it twice
    start = browser.http.get(lms.launch_url("s-1", link), timeout=10)
    to_tool_login = form_of(start.text)
    auth_page = browser.http.post(to_tool_login[0], data=to_tool_login[1], timeout=10)
    action, fields = form_of(auth_page.text)
    assert browser.http.post(action, data=fields, timeout=10).status_code == 200
    replay = browser.http.post(action, data=fields, timeout=10, allow_redirects=False)
    assert replay.status_code == 400 and "Nonce" in replay.text

    # a token signed with another key, under the platform's kid
    other = LmsBrowser()
    start = other.http.get(lms.launch_url("s-1", link), timeout=10)
    login_form = form_of(start.text)
    action, fields = form_of(other.http.post(login_form[0], data=login_form[1],
                                             timeout=10).text)
    claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
    claims["sub"] = "t-1"  # try to become the instructor
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    fields["id_token"] = jwt.encode(claims, key, algorithm="RS256",
                                    headers={"kid": lms.jwk["kid"]})
    forged = other.http.post(action, data=fields, timeout=10, allow_redirects=False)
    assert forged.status_code == 400 and "signature" in forged.text.lower()


def test_only_the_launch_endpoints_skip_csrf(tool, lms):
    deep_link(lms)
    browser = LmsBrowser()
    browser.open(lms.launch_url("t-1"))  # an instructor session in the tool
    refused = browser.http.post(tool.url + "/lti/admin/retry", timeout=10)
    assert refused.status_code == 400 and re.search("csrf", refused.text, re.I)


def test_names_and_roles_sync_enrols_the_lms_roster(tool, lms):
    deep_link(lms)  # the instructor's launch binds the context and offers NRPS
    lms.add_member("s-3", "Carol Student", "Learner")
    lms.add_member("o-1", "Oscar Observer", "Mentor")
    teacher = LmsBrowser()
    teacher.open(lms.launch_url("t-1"))
    admin = teacher.http.get(tool.url + "/lti/admin", timeout=10)
    form = re.search(r'action="(/lti/admin/contexts/\d+/roster)"', admin.text).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', admin.text).group(1)
    done = teacher.http.post(tool.url + form, data={"csrf_token": csrf}, timeout=20)
    # two pages of memberships; the mentor has no place in the course
    assert "Roster synced: 4 enrolled, 1 ignored" in done.text
    with tool.session() as session:
        roles = {e.user.email: e.role for e in session.query(Enrollment)}
    assert roles == {"t-1@lms.example": "instructor", "s-1@lms.example": "student",
                     "s-2@lms.example": "student", "s-3@lms.example": "student"}
