"""Log in / out, rate limiting, CSRF, settings (pseudonym, opt-out, password, tokens)."""

from __future__ import annotations

import re

import pytest

from server.models import ApiToken, User
from tests.web.toy import toy_pm


@pytest.fixture
def pm():
    return toy_pm()


def test_login_page_has_named_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'name="username"' in page and 'name="password"' in page


def test_login_wrong_then_right(client, auth, make_user):
    make_user(username="carol", password="s3cret")
    wrong = auth.login_form("carol", "nope")
    assert wrong.status_code == 401
    assert "Wrong username or password" in wrong.get_data(as_text=True)
    right = auth.login_form("carol", "s3cret")
    assert right.status_code == 302
    assert client.get("/settings").status_code == 200


def test_pages_need_login(client):
    for url in ("/", "/settings", "/courses/c1/", "/submissions/1"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_logout_is_a_post(client, auth, make_user):
    user = make_user()
    auth.login(user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/settings").status_code == 302


def test_login_does_not_redirect_off_site(client, auth, make_user):
    make_user(username="erin", password="pw1")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post("/login", data={"username": "erin", "password": "pw1",
                                               "next": target})
        assert response.headers["Location"] in ("/", "http://localhost/"), target
        client.post("/logout")
    response = client.post("/login", data={"username": "erin", "password": "pw1",
                                           "next": "/settings"})
    assert response.headers["Location"].endswith("/settings")


def test_security_headers_and_cookie_flags(client, auth, make_user):
    make_user(username="fay", password="pw1")
    response = auth.login_form("fay", "pw1")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/settings")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in page.get_data(as_text=True)  # no inline scripts anywhere


def test_pseudonym_and_opt_out(client, auth, db, make_user):
    user = make_user(username="gus", pseudonym="gus")
    make_user(username="hal", pseudonym="Taken Name")
    auth.login(user)
    response = client.post("/settings/profile", data={"pseudonym": "taken name"})
    assert response.status_code == 400 and "taken" in response.get_data(as_text=True)
    response = client.post("/settings/profile", data={"pseudonym": "hal"})
    assert response.status_code == 400  # a pseudonym may not be someone's username
    from server.services.leaderboard import default_pseudonym

    ivo = make_user(username="ivo")  # ivo chose none: he appears under a generated name
    response = client.post("/settings/profile",
                           data={"pseudonym": default_pseudonym(ivo).upper()})
    assert response.status_code == 400 and "taken" in response.get_data(as_text=True)
    response = client.post("/settings/profile",
                           data={"pseudonym": "<b>Speedy</b>", "opt_out": "on"})
    assert response.status_code == 302
    stored = db.get(User, user.id)
    assert stored.pseudonym == "<b>Speedy</b>" and stored.leaderboard_opt_out
    page = client.get("/settings").get_data(as_text=True)
    assert "&lt;b&gt;Speedy&lt;/b&gt;" in page and "<b>Speedy</b>" not in page
    client.post("/settings/profile", data={"pseudonym": ""})
    db.expire_all()
    assert db.get(User, user.id).pseudonym  # empty -> a generated pseudonym
    assert not db.get(User, user.id).leaderboard_opt_out


def test_change_password(client, auth, make_user):
    user = make_user(username="ivy", password="old-pw")
    auth.login(user)
    new = {"current_password": "old-pw", "new_password": "new-password",
           "confirm_password": "new-password"}
    bad = client.post("/settings/password", data=new | {"current_password": "wrong"})
    assert bad.status_code == 400
    mismatch = client.post("/settings/password", data=new | {"confirm_password": "other"})
    assert mismatch.status_code == 400
    short = client.post("/settings/password", data=new | {
        "new_password": "short", "confirm_password": "short"})
    assert short.status_code == 400 and "at least 8 characters" in short.get_data(as_text=True)
    ok = client.post("/settings/password", data=new)
    assert ok.status_code == 302
    assert client.get("/settings").status_code == 200  # this session goes on
    client.post("/logout")
    assert auth.login_form("ivy", "old-pw").status_code == 401
    assert auth.login_form("ivy", "new-password").status_code == 302


def test_changing_the_password_ends_the_other_sessions(app, auth, make_user):
    user = make_user(username="una", password="first-password")
    laptop, phone = app.test_client(), app.test_client()
    for client in (laptop, phone):
        assert client.post("/login", data={"username": "una", "password": "first-password"}
                           ).status_code == 302
        assert client.get("/settings").status_code == 200
    changed = laptop.post("/settings/password", data={
        "current_password": "first-password", "new_password": "second-password",
        "confirm_password": "second-password"})
    assert changed.status_code == 302
    assert laptop.get("/settings").status_code == 200
    assert phone.get("/settings").status_code == 302  # back to the login page
    assert phone.post("/login", data={"username": user.username, "password": "second-password"}
                      ).status_code == 302


def test_a_new_password_may_not_be_the_username(client, auth, make_user):
    auth.login(make_user(username="quentin-x", password="old-pw"))
    same = client.post("/settings/password", data={
        "current_password": "old-pw", "new_password": "Quentin-X", "confirm_password": "Quentin-X"})
    assert same.status_code == 400
    assert "differ from your username" in same.get_data(as_text=True)


def test_token_shown_once_works_and_can_be_revoked(client, auth, db, make_user, toy_classroom):
    auth.login(toy_classroom.alice)
    page = client.post("/settings/tokens", data={"label": "laptop"}).get_data(as_text=True)
    token = re.search(r'id="new-token">(ngt_[^<]+)<', page).group(1)
    assert token not in client.get("/settings").get_data(as_text=True)
    api = client.get("/api/v1/courses/c1/assignments/toy/submissions",
                     headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    row = db.query(ApiToken).filter_by(user_id=toy_classroom.alice.id).one()
    # another user cannot revoke it
    auth.login(toy_classroom.bob)
    client.post(f"/settings/tokens/{row.id}/revoke")
    assert client.get("/api/v1/courses/c1/assignments/toy/submissions",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200
    auth.login(toy_classroom.alice)
    client.post(f"/settings/tokens/{row.id}/revoke")
    assert client.get("/api/v1/courses/c1/assignments/toy/submissions",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 401


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_forms_without_token_are_refused(self, client, auth, make_user):
        make_user(username="jay", password="pw1")
        assert client.post("/login", data={"username": "jay", "password": "pw1"}
                           ).status_code == 400
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        assert client.post("/login", data={"username": "jay", "password": "pw1",
                                           "csrf_token": token}).status_code == 302
        assert client.post("/settings/profile", data={"pseudonym": "x"}).status_code == 400
        assert client.post("/settings/tokens", data={"label": "x"}).status_code == 400


class TestSecureCookies:
    @pytest.fixture
    def app_config(self):
        return {"SECURE_COOKIES": True}

    def test_session_cookie_is_secure(self, auth, make_user):
        make_user(username="kim", password="pw1")
        assert "Secure" in auth.login_form("kim", "pw1").headers["Set-Cookie"]


def test_a_copied_session_cookie_is_refused_after_logout(app, make_user):
    make_user(username="rex", password="rex-pw")
    browser = app.test_client()
    assert browser.post("/login", data={"username": "rex", "password": "rex-pw"}
                        ).status_code == 302
    copied = browser.get_cookie("session").value

    def replay() -> int:
        thief = app.test_client()
        thief.set_cookie("session", copied)
        return thief.get("/settings").status_code

    assert replay() == 200  # the copy works while the session is open ...
    assert browser.post("/logout").status_code == 302
    assert replay() == 302  # ... and not after the logout: back to the login page
    assert browser.get("/settings").status_code == 302
