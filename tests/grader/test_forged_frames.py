"""Forged reply frames, written by the submission itself through the real sandbox.

The student's code shares the runner's process, so it can find the reply pipe
(`/proc/self/cmdline` holds the runner's config) and write any frame with the right
id. Whatever it writes must end as the student's outcome (a failed check, or
`crashed` when the channel is unusable), never as `internal_error` (retried and not
counted against the submission limit), and must never earn credit.
"""

from __future__ import annotations

import pytest

from grader.engine import ENDED_HERE, grade_submission
from plugins.types import CheckDef

from .conftest import GOOD, check_visible_add

pytestmark = pytest.mark.sandbox

FORGE = '''
import json, os, struct, sys
import numpy as np

def _reply_fd():
    argv = open("/proc/self/cmdline", "rb").read().split(b"\\0")
    return json.loads([a for a in argv if a.startswith(b"{")][-1])["reply_fd"]

def _forge(header, blobs=(), nblobs=None):
    body = json.dumps(header).encode()
    data = struct.pack(">II", len(body), len(blobs) if nblobs is None else nblobs) + body
    for blob in blobs:
        data += struct.pack(">Q", len(blob)) + blob
    os.write(_reply_fd(), data)

def _call_id():
    return sys._getframe(2).f_locals["cid"]  # the runner's frame that called add()
'''

# `add([1, 2], 3)` is [4, 5]: every forged value below is the right answer.
RIGHT = [4.0, 5.0]


def forging_add(header: str, **forge: str) -> str:
    """A solution whose add() forges `header` (a Python expression using `cid`) for its
    own call, then returns the correct value itself."""
    extra = "".join(f", {k}={v}" for k, v in forge.items())
    return FORGE + f"""
def add(a, b):
    cid = _call_id()
    _forge({header}{extra})
    return np.asarray(a) + b
"""


def grade(make_assignment, source):
    result = grade_submission(source, make_assignment(), seed=3)
    assert result.status != "internal_error", result.message
    assert result.score == 0, [(c.name, c.score, c.message) for c in result.checks]
    good = grade_submission(GOOD, make_assignment())
    assert good.status == "graded" and good.score == good.max_score, good.message
    return result


def test_a_forged_internal_frame_fails_the_check_not_the_grader(make_assignment):
    source = forging_add('{"id": cid, "ok": False, "error": {"kind": "internal", '
                         '"message": "forged"}}')
    result = grade(make_assignment, source)
    first, second = result.checks
    assert "could not read its arguments (forged)" in first.message
    # the runner's own reply to call 1 is still in the pipe: call 2 sees it
    assert result.status == "crashed" and "out of order" in result.message
    assert second.message == ENDED_HERE  # the run-level message is not repeated in the row


def test_a_forged_internal_frame_on_the_last_call_is_a_graded_zero(make_assignment):
    source = forging_add('{"id": cid, "ok": False, "error": {"kind": "internal"}}')
    assignment = make_assignment(checks=[CheckDef("only", check_visible_add, 1, "visible")])
    result = grade_submission(source, assignment)
    assert result.status == "graded" and result.score == 0
    assert "could not be run" in result.checks[0].message


@pytest.mark.parametrize("header, words", [
    ('{"id": cid, "ok": False, "error": "boom"}', "malformed `error` field"),
    ('{"id": cid, "ok": False, "error": ["raised"]}', "malformed `error` field"),
    ('{"id": cid, "ok": False, "error": {"kind": "raised", "message": 5}}',
     "malformed error description"),
    ('{"id": cid, "ok": False, "error": {"kind": "sandbox"}}', "unknown error kind"),
    ('{"id": cid, "ok": False}', "malformed `error` field"),
    ('{"id": cid, "ok": 1, "value": RIGHT}', "valid `ok` field"),
    ('{"id": True, "ok": True, "value": RIGHT}', "out of order"),
    ('{"id": str(cid), "ok": True, "value": RIGHT}', "out of order"),
    ('{"id": cid, "ok": True}', "without a value"),
    ('{"id": cid, "ok": True, "value": RIGHT, "functions": 5}', "unexpected field 'functions'"),
    ('{"id": cid, "ok": True, "value": RIGHT, "rss_kb": 10 ** 400}', "`rss_kb`"),
    ('{"id": cid, "ok": True, "value": RIGHT, "rss_kb": -1}', "`rss_kb`"),
])
def test_malformed_call_replies_end_the_run_as_crashed(make_assignment, header, words):
    source = forging_add(header.replace("RIGHT", repr(RIGHT)))
    result = grade(make_assignment, source)
    assert result.status == "crashed" and words in result.message, result.message
    assert "channel was corrupted while running `add([1., 2.], 3)`" in result.message
    assert result.checks[0].score == 0 and result.checks[1].message.startswith("not run")


def test_a_forged_frame_with_too_many_arrays_is_refused(make_assignment):
    source = forging_add('{"id": cid, "ok": True, "value": None}', nblobs="10 ** 6")
    result = grade(make_assignment, source)
    assert result.status == "crashed" and "1000000 arrays (at most 4096)" in result.message


def test_a_forged_value_reusing_one_array_is_not_graded(make_assignment):
    # one blob referenced many times would make the parent load it many times
    source = forging_add('{"id": cid, "ok": True, "value": [{"__nd__": 0}] * 3}',
                         blobs="[_npy(np.zeros(3))]").replace(
        "def add(", "def _npy(x):\n    import io\n    f = io.BytesIO()\n    np.save(f, x)\n"
        "    return f.getvalue()\n\ndef add(")
    result = grade(make_assignment, source)
    assert "referenced twice" in result.checks[0].message


@pytest.mark.parametrize("header, words", [
    ('{"id": 0, "ok": True, "value": None, "functions": 5}', "malformed `functions` field"),
    ('{"id": 0, "ok": True, "value": None, "functions": [1]}', "malformed `functions` field"),
    ('{"id": 0, "ok": False, "error": "boom"}', "malformed `error` field"),
    ('{"id": 0, "ok": False, "error": {"kind": "internal"}}', "unknown error kind"),
    ('{"id": 0, "ok": True, "value": 1, "functions": []}', "malformed import reply"),
])
def test_malformed_import_replies_end_the_run_as_crashed(make_assignment, header, words):
    source = FORGE + f"\n_forge({header})\n" + GOOD
    result = grade(make_assignment, source)
    assert result.status == "crashed" and words in result.message, result.message
    assert "while running `importing solution.py`" in result.message
    assert all(c.message.startswith("not run") for c in result.checks)
