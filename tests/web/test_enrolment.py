"""An account crosses courses only by the student's own acceptance: an instructor of
another course who adds her username sends an invitation and sees nothing of her (name,
email, pseudonym) until she accepts it on her home page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.models import Enrollment, EnrollmentInvitation, User
from tests.web.toy import toy_pm


@pytest.fixture
def pm():
    return toy_pm()


@pytest.fixture
def other_course(make_course, make_user):
    course = make_course(slug="other", title="Another course")
    mallory = make_user(username="mallory", name="Mallory", role="instructor", course=course)
    return course, mallory


SECRETS = ("Alice Real-Name", "Quiet Otter")


def staff_pages(client) -> str:
    pages = [client.get(url) for url in (
        "/instructor/other/roster", "/instructor/other/", "/instructor/other/grades.csv")]
    assert all(page.status_code == 200 for page in pages)
    return "".join(page.get_data(as_text=True) for page in pages)


def test_enrolling_an_existing_student_elsewhere_needs_her_acceptance(
        app, client, auth, db, toy_classroom, other_course):
    _course, mallory = other_course
    alice = toy_classroom.alice
    email = db.get(User, alice.id).email
    auth.login(mallory)
    report = client.post("/instructor/other/roster", data={
        "username": "alice", "name": "Renamed", "email": "mallory@example.org"}
    ).get_data(as_text=True)
    assert "existing account invited" in report
    assert not any(secret in report for secret in (*SECRETS, email))
    # nothing about her on any staff page, and no way to her submissions page
    assert not any(secret in staff_pages(client) for secret in (*SECRETS, email))
    assert client.get("/instructor/other/students/alice").status_code == 404
    assert db.scalar(select(Enrollment).where(Enrollment.user_id == alice.id,
                                              Enrollment.course_id == _course.id)) is None

    invitation = db.scalar(select(EnrollmentInvitation).where(
        EnrollmentInvitation.user_id == alice.id))
    bob = app.test_client()  # a classmate cannot answer for her
    auth.client = bob
    auth.login(toy_classroom.bob)
    assert bob.post(f"/invitations/{invitation.id}/accept").status_code == 404

    her = app.test_client()
    auth.client = her
    auth.login(alice)
    home = her.get("/")
    assert home.status_code == 200  # not sent straight on to her only course
    assert "Another course" in home.get_data(as_text=True)
    assert her.post(f"/invitations/{invitation.id}/accept").status_code == 302
    db.expire_all()
    stored = db.get(User, alice.id)
    assert (stored.name, stored.email) == ("Alice Real-Name", email)  # her data, untouched
    assert "Alice Real-Name" in staff_pages(client)  # now, by her choice
    assert client.get("/instructor/other/students/alice").status_code == 200


def test_a_declined_invitation_enrols_nobody(app, client, auth, db, toy_classroom,
                                             other_course):
    course, mallory = other_course
    auth.login(mallory)
    client.post("/instructor/other/roster", data={"username": "bob"})
    invitation = db.scalar(select(EnrollmentInvitation))
    his = app.test_client()
    auth.client = his
    auth.login(toy_classroom.bob)
    assert his.post(f"/invitations/{invitation.id}/decline").status_code == 302
    assert db.scalar(select(EnrollmentInvitation)) is None
    assert db.scalar(select(Enrollment).where(Enrollment.course_id == course.id,
                                              Enrollment.user_id == toy_classroom.bob.id)) is None
    assert "Bob Real-Name" not in staff_pages(client)


def test_the_operators_cli_enrols_directly(runner, db, other_course):
    result = runner.invoke(["user", "add", "newbie", "--password", "pw1234",
                            "--course", "other"])
    assert result.exit_code == 0, result.output
    newbie = db.scalar(select(User).where(User.username == "newbie"))
    assert db.scalar(select(Enrollment).where(Enrollment.user_id == newbie.id)) is not None
