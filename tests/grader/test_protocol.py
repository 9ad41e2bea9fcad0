"""The wire codec and framing: what may cross, and what is refused."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

from grader import protocol
from grader.child import wire


def roundtrip(value, trusted=False):
    tree, blobs = wire.encode(value)
    frame = wire.pack({"id": 1, "value": tree}, blobs)
    buf = protocol.ReplyBuffer()
    buf.feed(frame)
    header, blobs = buf.next_frame()
    return protocol.decode_value(header, blobs)


def test_values_round_trip_with_their_types():
    value = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": 3, "x": 0.5,
             "t": (1, [True, None, "s"]), 7: np.int64(4), "f": np.float64(2.5)}
    out = roundtrip(value)
    assert out["w"].dtype == np.float32 and out["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert out["t"] == (1, [True, None, "s"]) and isinstance(out["t"], tuple)
    assert out[7] == 4 and type(out[7]) is int and out["f"] == 2.5 and type(out["f"]) is float


def test_non_finite_floats_survive_as_floats():
    out = roundtrip([float("nan"), float("inf"), -np.inf])
    assert np.isnan(out[0]) and out[1] == float("inf") and out[2] == float("-inf")


@pytest.mark.parametrize("value, words", [
    (np.array([object()], dtype=object), "dtype object"),
    (np.zeros(2, dtype=[("a", "f8")]), "cannot be sent"),
    (np.array(["a"]), "cannot be sent"),
    (np.complex128(1j), "numpy scalar"),
    ({(1, 2): 3}, "dict keys"),
    (type("Evil", (), {"__reduce__": lambda self: (print, ("pwned",))})(), "Evil"),
    (set([1]), "set"),
])
def test_unsendable_values_are_refused_with_a_reason(value, words):
    with pytest.raises(wire.WireError, match=words):
        wire.encode(value)


def test_nesting_depth_is_capped():
    value: list = []
    for _ in range(100):
        value = [value]
    with pytest.raises(wire.WireError, match="nested"):
        wire.encode(value)


def test_parent_never_unpickles_a_forged_object_array():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    frame = wire.pack({"id": 1, "value": {"__nd__": 0}}, [buf.getvalue()])
    header, blobs = wire.unpack(frame)
    with pytest.raises(wire.WireError, match="could not be read"):
        protocol.decode_value(header, blobs)


def test_a_raw_pickle_instead_of_npy_is_rejected():
    blob = pickle.dumps([1, 2, 3])
    with pytest.raises(wire.WireError):
        protocol.decode_value({"value": {"__nd__": 0}}, [blob])


@pytest.mark.parametrize("tree", [{"__nd__": 5}, {"__weird__": 1}, {"a": 1, "b": 2},
                                  {"__float__": "1e999"}, {"__map__": [[[1], 2]]},
                                  {"__shared__": "x"}])
def test_malformed_trees_are_rejected(tree):
    with pytest.raises(wire.WireError):
        protocol.decode_value({"value": tree}, [])


def test_reply_buffer_waits_for_complete_frames_and_splits_them():
    a = wire.pack({"id": 1}, [b"xyz"])
    b = wire.pack({"id": 2}, [])
    buf = protocol.ReplyBuffer()
    buf.feed(a[:5])
    assert buf.next_frame() is None
    buf.feed(a[5:] + b)
    assert buf.next_frame()[0]["id"] == 1
    assert buf.next_frame() == ({"id": 2}, [])
    assert buf.next_frame() is None


def test_reply_buffer_refuses_oversized_replies_early():
    buf = protocol.ReplyBuffer(max_bytes=1000)
    header = wire.FRAME.pack(10**9, 0)  # announces a 1 GB header
    with pytest.raises(wire.WireError, match="larger than"):
        buf.feed(header)


def test_garbage_frames_raise_wire_errors():
    with pytest.raises(wire.WireError):
        wire.unpack(wire.FRAME.pack(3, 0) + b"{{{")
    with pytest.raises(wire.WireError):
        wire.unpack(wire.FRAME.pack(2, 0) + b"[]")


def test_call_frames_carry_args_kwargs_and_shared_handles():
    handle = wire.Shared("a1-00.npy", (3,), "float64")
    frame = protocol.call_frame(4, "f", (np.ones(2), handle), {"k": np.zeros(1)})
    header, blobs = wire.unpack(frame)
    args = wire.decode(header["args"], blobs, trusted=True, open_shared=lambda name: name)
    kwargs = wire.decode(header["kwargs"], blobs, trusted=True)
    assert header["function"] == "f" and args[1] == "a1-00.npy"
    assert args[0].tolist() == [1, 1] and kwargs["k"].tolist() == [0]


def test_child_side_stream_reader_handles_eof_and_partial_frames():
    data = wire.pack({"id": 1}, [b"abc"])
    assert wire.read_frame(io.BytesIO(data)) == ({"id": 1}, [b"abc"])
    assert wire.read_frame(io.BytesIO(b"")) is None
    with pytest.raises(wire.WireError):
        wire.read_frame(io.BytesIO(data[:-1]))


def test_reply_buffer_refuses_too_many_blobs_as_soon_as_they_are_announced():
    buf = protocol.ReplyBuffer()
    # a 32 MB reply of 4 million empty blobs: refused from its first 8 bytes
    with pytest.raises(wire.WireError, match=r"4000000 arrays \(at most 4096\)"):
        buf.feed(wire.FRAME.pack(2, 4_000_000))


def test_reply_buffer_parses_a_many_blob_frame_fed_piece_by_piece():
    frame = wire.pack({"id": 1}, [bytes([i % 256]) for i in range(wire.MAX_BLOBS)])
    buf = protocol.ReplyBuffer()
    for start in range(0, len(frame) - 1, 7):
        buf.feed(frame[start:min(start + 7, len(frame) - 1)])
        assert buf.next_frame() is None
    buf.feed(frame[-1:] + wire.pack({"id": 2}, []))
    header, blobs = buf.next_frame()
    assert header == {"id": 1} and len(blobs) == wire.MAX_BLOBS and blobs[300] == b"\x2c"
    assert buf.next_frame() == ({"id": 2}, []) and buf.data == bytearray()
    with pytest.raises(wire.WireError, match="at most 4096"):
        buf.feed(wire.pack({"id": 3}, [b""] * (wire.MAX_BLOBS + 1)))


def test_reply_buffer_refuses_a_blob_longer_than_the_cap_when_announced():
    buf = protocol.ReplyBuffer(max_bytes=1000)
    with pytest.raises(wire.WireError, match="larger than"):
        buf.feed(wire.FRAME.pack(2, 1) + b"{}" + wire.BLOB.pack(10**6))


def test_a_garbage_frame_after_a_good_one_does_not_lose_the_good_one():
    buf = protocol.ReplyBuffer()
    buf.feed(wire.pack({"id": 1}, []) + wire.FRAME.pack(2, 10**6))
    assert buf.next_frame() == ({"id": 1}, [])
    with pytest.raises(wire.WireError, match="arrays"):
        buf.next_frame()


def test_encoding_more_arrays_than_a_frame_may_hold_is_refused():
    wire.encode([np.zeros(1)] * wire.MAX_BLOBS)
    with pytest.raises(wire.WireError, match="more than 4096 arrays"):
        wire.encode([np.zeros(1)] * (wire.MAX_BLOBS + 1))


def test_encode_refuses_arrays_larger_than_a_reply_may_carry():
    big = np.broadcast_to(np.float64(1.0), (wire.MAX_ARRAY_BYTES // 8 + 1,))  # no memory
    with pytest.raises(wire.WireError, match="MiB"):
        wire.encode({"weights": big})
    wire.encode([np.zeros(1 << 20, dtype=np.uint8)] * 10)  # 10 MiB is fine


def test_one_blob_cannot_be_referenced_twice():
    (tree, blobs) = wire.encode(np.zeros(3))
    with pytest.raises(wire.WireError, match="referenced twice"):
        protocol.decode_value({"value": [tree, tree]}, blobs)


def test_an_npy_header_declaring_more_data_than_sent_is_refused():
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                               "shape": (10**9,)})
    with pytest.raises(wire.WireError, match="could not be read"):
        protocol.decode_value({"value": {"__nd__": 0}}, [buf.getvalue() + b"\0" * 64])


# The runner's replies, as runner.py writes them.
HELLO = {"id": -1, "ok": True, "hello": True, "rss_kb": 30000}
IMPORTED = {"id": 0, "ok": True, "value": None, "functions": ["add"], "seconds": 0.01,
            "rss_kb": 30000}
RAISED = {"id": 2, "ok": False, "rss_kb": 3, "error": {
    "kind": "raised", "type": "ValueError", "message": "m", "traceback": "t", "rss_kb": 3}}


@pytest.mark.parametrize("header, call_id", [
    (HELLO, -1), (IMPORTED, 0), (RAISED, 2), ({"id": 3, "ok": True, "value": [1]}, 3),
    ({"id": 0, "ok": False, "error": {"kind": "exit", "type": "SystemExit"}}, 0),
    ({"id": 4, "ok": False, "error": {"kind": "missing", "message": "no add"}}, 4),
])
def test_the_runners_own_replies_are_valid(header, call_id):
    assert protocol.check_reply(header, call_id) is header


@pytest.mark.parametrize("header, call_id, words", [
    ({**HELLO, "hello": 1}, -1, "start-up"),
    ({**HELLO, "id": 0}, -1, "out of order"),
    ({**IMPORTED, "functions": "add"}, 0, "`functions`"),
    ({**IMPORTED, "functions": [None]}, 0, "`functions`"),
    ({**IMPORTED, "seconds": "1"}, 0, "import reply"),
    ({**IMPORTED, "rss_kb": 2.5}, 0, "`rss_kb`"),
    ({**IMPORTED, "rss_kb": True}, 0, "`rss_kb`"),
    ({"id": 0, "ok": False, "error": {"kind": "missing"}}, 0, "error kind"),
    ({**RAISED, "error": None}, 2, "`error`"),
    ({**RAISED, "error": {**RAISED["error"], "traceback": ["x"]}}, 2, "error description"),
    ({**RAISED, "error": {**RAISED["error"], "extra": 1}}, 2, "unexpected field 'extra'"),
    ({**RAISED, "error": {**RAISED["error"], "rss_kb": 10**20}}, 2, "`rss_kb`"),
    ({**RAISED, "value": 1}, 2, "unexpected field 'value'"),
    ({**RAISED, "id": 2.0}, 2, "out of order"),
    ({**RAISED, "ok": None}, 2, "`ok`"),
    ({"id": 1, "ok": True, "value": 1, "hello": True}, 1, "unexpected field 'hello'"),
])
def test_malformed_reply_headers_are_refused_with_a_reason(header, call_id, words):
    with pytest.raises(wire.WireError, match=words):
        protocol.check_reply(header, call_id)
