"""Pseudonyms that imitate a classmate on the leaderboard are refused through the settings
form; ones stored before the rules are refused at their next edit and found by
`neurograde user check-pseudonyms`."""

from __future__ import annotations

import pytest

from server.models import User
from tests.web.toy import toy_pm


@pytest.fixture
def pm():
    return toy_pm()


IMITATIONS = {
    "Cyrillic і": "Qu\u0456et Otter",
    "zero-width space": "Quiet\u200b Otter",
    "right-to-left override": "\u202eQuiet Otter",
    "fullwidth letters": "\uff31\uff55\uff49\uff45\uff54 Otter",
    "upper case": "QUIET OTTER",
    "Cyrillic capitals": "QU\u0406ET OTTER",
    "digit one for l in a username": "a1ice",
}


@pytest.mark.parametrize("imitation", IMITATIONS.values(), ids=IMITATIONS.keys())
def test_a_look_alike_of_a_classmate_is_refused(client, auth, db, toy_classroom, imitation):
    auth.login(toy_classroom.bob)
    response = client.post("/settings/profile", data={"pseudonym": imitation})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "invisible or formatting characters" in page or "look alike" in page
    assert db.get(User, toy_classroom.bob.id).pseudonym == "Bold Yak"


def test_the_refusal_names_the_invisible_character(client, auth, toy_classroom):
    auth.login(toy_classroom.bob)
    page = client.post("/settings/profile", data={"pseudonym": "Bold\u200dYak"}
                       ).get_data(as_text=True)
    assert "ZERO WIDTH JOINER" in page


def test_a_distinct_pseudonym_is_stored_normalised(client, auth, db, toy_classroom):
    auth.login(toy_classroom.bob)
    response = client.post("/settings/profile", data={"pseudonym": "  \uff33peedy   Yak "})
    assert response.status_code == 302
    assert db.get(User, toy_classroom.bob.id).pseudonym == "Speedy Yak"  # NFKC, one space


def test_an_imitation_stored_before_the_rules_is_refused_at_its_next_edit(
        client, auth, db, runner, toy_classroom):
    bob = db.get(User, toy_classroom.bob.id)
    bob.pseudonym = "Qu\u0456et Otter"  # written by an older version
    db.commit()
    auth.login(toy_classroom.bob)
    response = client.post("/settings/profile",
                           data={"pseudonym": "Qu\u0456et Otter", "opt_out": "on"})
    assert response.status_code == 400
    listed = runner.invoke(["user", "check-pseudonyms"])
    assert "bob: 'Quіet Otter' looks like another account's name" in listed.output
    assert "alice" not in listed.output  # the imitated one keeps hers
    db.expire_all()
    assert db.get(User, toy_classroom.bob.id).pseudonym == "Qu\u0456et Otter"
    fixed = runner.invoke(["user", "check-pseudonyms", "--reset"])
    assert "1 pseudonym(s) reset" in fixed.output
    db.expire_all()
    assert db.get(User, toy_classroom.bob.id).pseudonym == ""  # a generated name now
    assert "0 pseudonym(s)" in runner.invoke(["user", "check-pseudonyms"]).output
