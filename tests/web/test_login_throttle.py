"""Login throttling through the real web app: delays per account that a known device
passes, failure-only limits per address, state shared by every app process, bounded
storage, and the same work for unknown usernames as for real ones."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.app import create_app
from server.models import LoginThrottle, utcnow
from server.services import accounts, devices, throttle
from tests.web.toy import toy_pm

#: small numbers so the tests wait seconds, not minutes; the rules are the production ones
POLICY = {"account_free_failures": 3, "account_base_delay": 3.0, "account_max_delay": 3.0}


@pytest.fixture
def pm():
    return toy_pm()


@pytest.fixture
def app_config():
    return {"LOGIN_THROTTLE": POLICY}


def login(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def logged_in_device(app, username: str, password: str, address: str = "10.0.0.1"):
    """A browser that has logged in to `username` once (and so holds a device cookie)."""
    device = app.test_client()
    assert login(device, username, password, address).status_code == 302
    assert device.post("/logout").status_code == 302
    return device


def test_a_classmates_wrong_passwords_do_not_lock_the_owner_out(app, make_user):
    make_user(username="alice", password="alice-pw")
    laptop = logged_in_device(app, "alice", "alice-pw", "192.0.2.10")
    classmate = app.test_client()

    def five_wrong_passwords() -> list[int]:
        return [login(classmate, "alice", f"guess{n}", "10.0.0.9").status_code
                for n in range(5)]

    # three free failures, the fourth starts a delay, the fifth falls inside it
    assert five_wrong_passwords() == [401, 401, 401, 401, 429]
    # from her own browser, at once, whatever others did
    assert login(laptop, "alice", "alice-pw", "192.0.2.10").status_code == 302
    laptop.post("/logout")
    assert five_wrong_passwords() == [401, 401, 401, 401, 429]  # her login reset the count
    # a browser she never used (the delay also holds the right password back: a guesser
    # would otherwise learn it during the delay) ...
    fresh = app.test_client()
    delayed = login(fresh, "alice", "alice-pw", "198.51.100.3")
    assert delayed.status_code == 429
    wait = int(delayed.headers["Retry-After"])
    assert 1 <= wait <= POLICY["account_max_delay"]
    assert "Try again in" in delayed.get_data(as_text=True)
    time.sleep(wait)  # ... gets in once the delay has passed: a delay, not a lockout
    assert login(fresh, "alice", "alice-pw", "198.51.100.3").status_code == 302


def test_the_owners_login_clears_the_account_delay(app, make_user):
    make_user(username="bea", password="bea-pw")
    laptop = logged_in_device(app, "bea", "bea-pw")
    attacker = app.test_client()
    for n in range(4):
        login(attacker, "bea", f"guess{n}", "10.0.0.9")
    assert login(attacker, "bea", "guess", "10.0.0.9").status_code == 429
    assert login(laptop, "bea", "bea-pw").status_code == 302
    assert login(app.test_client(), "bea", "bea-pw", "10.9.9.9").status_code == 302


def test_failures_from_a_known_device_count_on_that_device_only(app, make_user):
    """Someone at a shared computer where alice logged in gains nothing: the device's own
    counter delays them just as the account's would, and the account stays open."""
    make_user(username="cyd", password="cyd-pw")
    lab = logged_in_device(app, "cyd", "cyd-pw")
    answers = [login(lab, "cyd", f"guess{n}").status_code for n in range(5)]
    assert answers == [401, 401, 401, 401, 429]
    assert login(app.test_client(), "cyd", "cyd-pw", "10.7.7.7").status_code == 302


def test_a_forged_device_cookie_is_ignored(app, make_user):
    user = make_user(username="dot", password="dot-pw")
    forger = app.test_client()
    forged = devices.dump("not-the-secret-key", {user.id: "nonce"})
    forger.set_cookie(devices.COOKIE, forged, path="/login")
    for n in range(4):
        login(forger, "dot", f"guess{n}", "10.0.0.5")
    assert login(forger, "dot", "dot-pw", "10.0.0.5").status_code == 429


def test_a_hundred_made_up_names_from_one_address_do_not_lock_out_the_instructor(
        app, make_user):
    make_user(username="teacher", password="teacher-pw", role="instructor")
    make_user(username="student", password="student-pw")
    classroom = "10.20.0.1"  # everyone behind the school's NAT
    her_laptop = logged_in_device(app, "teacher", "teacher-pw", classroom)
    attacker = app.test_client()
    for n in range(100):
        assert login(attacker, f"made-up-{n}", "guess", classroom).status_code == 401
    assert login(attacker, "made-up-x", "guess", classroom).status_code == 429
    # the address is spent for browsers without a known device, not for hers
    assert login(app.test_client(), "student", "student-pw", classroom).status_code == 429
    assert login(her_laptop, "teacher", "teacher-pw", classroom).status_code == 302
    assert her_laptop.get("/settings").status_code == 200


def test_unknown_usernames_cost_a_password_check_of_the_same_kind(client, make_user,
                                                                  monkeypatch):
    """The timing is measured by bench/login_timing.py; here: both paths run one scrypt
    check with the same parameters."""
    make_user(username="eve", password="eve-pw")
    checked: list[str] = []
    real = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash",
                        lambda stored, password: checked.append(stored) or real(stored, password))
    assert login(client, "eve", "wrong", "10.3.0.1").status_code == 401
    assert login(client, "nobody-here", "wrong", "10.3.0.2").status_code == 401
    assert len(checked) == 2
    parameters = [stored.split("$", 1)[0] for stored in checked]
    assert parameters[0] == parameters[1] == accounts.hash_password("xyz").split("$", 1)[0]


def _twin(app):
    """A second web process on the same database (as behind a load balancer)."""
    keys = ("TESTING", "INSTANCE_PATH", "DATABASE_URL", "DATASETS_DIR", "SECRET_KEY",
            "WTF_CSRF_ENABLED", "EMBEDDED_WORKERS", "SANDBOX", "PLUGIN_MANAGER", "LOGIN_THROTTLE")
    return create_app({key: app.config[key] for key in keys})


def check_state_is_shared(app, make_user) -> None:
    make_user(username="fay", password="fay-pw")
    twin = _twin(app)
    try:
        one, two = app.test_client(), twin.test_client()
        # alternate processes: each sees only two failures of its own, yet the fourth
        # failure overall starts the delay on both
        for n, client in enumerate((one, two, one, two)):
            assert login(client, "fay", f"guess{n}", f"10.4.0.{n}").status_code == 401
        assert login(one, "fay", "fay-pw", "10.4.0.9").status_code == 429
        assert login(two, "fay", "fay-pw", "10.4.0.9").status_code == 429
    finally:
        twin.extensions["neurograde"].engine.dispose()


def check_sessions_are_shared(app, make_user) -> None:
    make_user(username="gil", password="gil-pw")
    twin = _twin(app)
    try:
        browser = app.test_client()
        assert login(browser, "gil", "gil-pw", "10.5.0.1").status_code == 302
        cookie = browser.get_cookie("session").value
        other = twin.test_client()
        other.set_cookie("session", cookie)
        assert other.get("/settings").status_code == 200  # the other process knows it
        assert other.post("/logout").status_code == 302  # and ends it for everyone
        assert browser.get("/settings").status_code == 302
    finally:
        twin.extensions["neurograde"].engine.dispose()


def test_throttle_state_is_shared_by_two_app_processes(app, make_user):
    check_state_is_shared(app, make_user)


def test_login_sessions_are_shared_by_two_app_processes(app, make_user):
    check_sessions_are_shared(app, make_user)


class TestAddressBudgetShared:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_THROTTLE": {"address_limit": 4}}

    def test_two_processes_share_one_address_budget(self, app):
        twin = _twin(app)
        try:
            one, two = app.test_client(), twin.test_client()
            for n, client in enumerate((one, two, one, two)):
                assert login(client, f"x{n}", "guess", "10.6.0.1").status_code == 401
            assert login(one, "x9", "guess", "10.6.0.1").status_code == 429
            assert login(two, "x9", "guess", "10.6.0.1").status_code == 429
        finally:
            twin.extensions["neurograde"].engine.dispose()


def test_counters_are_pruned_and_capped(db):
    policy = throttle.ThrottlePolicy(window=60.0, max_rows=3)
    start = utcnow()
    for n in range(5):
        throttle.record_failure(db, policy, throttle.ACCOUNT, throttle.account_key(f"u{n}"),
                                now=start + timedelta(seconds=n))
    throttle.prune(db, policy, now=start + timedelta(seconds=10), enforce_cap=True)
    db.commit()
    kept = set(db.scalars(select(LoginThrottle.key_hash)))
    assert kept == {throttle.account_key(f"u{n}") for n in (2, 3, 4)}  # the newest three
    throttle.prune(db, policy, now=start + timedelta(seconds=100))
    db.commit()
    assert db.scalar(select(func.count()).select_from(LoginThrottle)) == 0


def test_a_failure_count_starts_over_after_a_quiet_window(db):
    policy = throttle.ThrottlePolicy(account_free_failures=1, window=60.0)
    key, start = throttle.account_key("hal"), utcnow()
    assert throttle.record_failure(db, policy, throttle.ACCOUNT, key, now=start) == 1
    assert throttle.record_failure(db, policy, throttle.ACCOUNT, key, now=start) == 2
    assert throttle.wait_seconds(db, [key], now=start) == 2  # the base delay
    later = start + timedelta(seconds=61)
    assert throttle.wait_seconds(db, [key], now=later) == 0
    assert throttle.record_failure(db, policy, throttle.ACCOUNT, key, now=later) == 1
