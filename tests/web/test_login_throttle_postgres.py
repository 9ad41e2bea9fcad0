"""Login throttling and login sessions shared by two app processes on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.web.test_login_throttle import POLICY, check_sessions_are_shared, check_state_is_shared
from tests.web.toy import toy_pm

pytestmark = pytest.mark.postgres


@pytest.fixture
def pm():
    return toy_pm()


@pytest.fixture
def app_config(pg_schema_url):
    return {"DATABASE_URL": pg_schema_url, "LOGIN_THROTTLE": POLICY}


def test_throttle_state_is_shared_by_two_app_processes_on_postgres(app, state, make_user):
    assert state.engine.dialect.name == "postgresql"
    check_state_is_shared(app, make_user)


def test_login_sessions_are_shared_by_two_app_processes_on_postgres(app, make_user):
    check_sessions_are_shared(app, make_user)
