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
