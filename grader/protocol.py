"""Parent side of the wire protocol: framing calls, reading and validating replies.

The codec itself lives in `grader/child/wire.py` because the sandboxed child uses
the same file. The parent never unpickles: arrays load with `allow_pickle=False`
and only bool/int/uint/float dtypes are accepted. Everything on the reply pipe is
the student's: their code runs in the runner's process and can write any bytes to
it, so framing is bounded and every reply header is validated field by field.
"""

from __future__ import annotations

from typing import Any, cast

from grader.child import wire
from grader.child.wire import BLOB, FRAME, MAX_BLOBS, MAX_ITEMS, Shared, WireError

__all__ = ["ReplyBuffer", "Shared", "WireError", "call_frame", "check_reply", "decode_value"]

#: Largest reply accepted from the child (a trained MNIST model is a few MiB).
MAX_REPLY_BYTES = 256 * 1024 * 1024
#: Upper bound for a reported peak memory (1 TiB in KiB): keeps usage figures finite.
MAX_RSS_KB = 1 << 30
#: What the runner puts in an error reply (runner.py `_call`, `_describe`, `_serve`).
CALL_ERROR_KINDS = frozenset({"raised", "memory", "exit", "missing", "unsendable", "internal"})
IMPORT_ERROR_KINDS = frozenset({"raised", "memory", "exit"})
_ERROR_TEXT = ("type", "message", "traceback")


def call_frame(call_id: int, function: str, args: tuple, kwargs: dict) -> bytes:
    """Encode one call; arguments come from trusted checks, so a failure here is our bug."""
    # wire's annotations name its rebound builtins, which mypy cannot read: restate the type
    tree, blobs = cast(tuple[list[Any], list[bytes]], wire.encode([list(args), dict(kwargs)]))
    args_tree, kwargs_tree = tree
    return wire.pack({"id": call_id, "function": function, "args": args_tree,
                      "kwargs": kwargs_tree}, blobs)


def decode_value(header: dict, blobs: list[bytes]) -> Any:
    """The value of a successful reply, validated; raises WireError."""
    return wire.decode(header.get("value"), blobs, trusted=False)


def check_reply(header: dict, call_id: int) -> dict:
    """Validate the header of reply `call_id` (-1 hello, 0 import, n call n) exactly as
    the runner writes it; raises WireError naming the first thing that is not."""
    if type(header.get("id")) is not int or header["id"] != call_id:
        raise WireError("a reply arrived out of order")
    ok = header.get("ok")
    if type(ok) is not bool:
        raise WireError("a reply without a valid `ok` field")
    _check_rss(header)
    if call_id == -1:
        fields = {"hello"}
        if not ok or header.get("hello") is not True:
            raise WireError("a malformed start-up reply")
    elif not ok:
        fields = {"error"}
        _check_error(header.get("error"), IMPORT_ERROR_KINDS if call_id == 0
                     else CALL_ERROR_KINDS)
    elif call_id == 0:
        fields = {"value", "functions", "seconds"}
        _check_import(header)
    else:
        fields = {"value"}
        if "value" not in header:
            raise WireError("a reply without a value")
    _check_fields(header, fields | {"id", "ok", "rss_kb"}, "reply")
    return header


def _check_fields(mapping: dict, allowed: set[str], what: str) -> None:
    extra = sorted(str(k) for k in set(mapping) - allowed)
    if extra:
        raise WireError(f"a {what} with an unexpected field {extra[0][:40]!r}")


def _check_rss(mapping: dict) -> None:
    rss = mapping.get("rss_kb", 0)
    if type(rss) is not int or not 0 <= rss <= MAX_RSS_KB:
        raise WireError("a reply with a malformed `rss_kb` field")


def _check_error(error: object, kinds: frozenset[str]) -> None:
    if type(error) is not dict:
        raise WireError("a reply with a malformed `error` field")
    if error.get("kind") not in kinds:
        raise WireError("a reply with an unknown error kind")
    if any(type(error.get(k, "")) is not str for k in _ERROR_TEXT):
        raise WireError("a reply with a malformed error description")
    _check_rss(error)
    _check_fields(error, {"kind", "rss_kb", *_ERROR_TEXT}, "error")


def _check_import(header: dict) -> None:
    functions = header.get("functions")
    if (type(functions) is not list or len(functions) > MAX_ITEMS
            or any(type(f) is not str for f in functions)):
        raise WireError("an import reply with a malformed `functions` field")
    seconds = header.get("seconds", 0.0)
    if type(seconds) not in (int, float) or header.get("value") is not None:
        raise WireError("a malformed import reply")


class ReplyBuffer:
    """Accumulates bytes from the reply pipe and yields complete frames.

    Parsing is incremental: each length field is read once, when it arrives, so the
    cost is linear in the bytes received. A frame may declare at most `max_blobs`
    blobs and `max_bytes` in all; either is refused as soon as it is announced."""

    def __init__(self, max_bytes: int = MAX_REPLY_BYTES, max_blobs: int = MAX_BLOBS) -> None:
        self.data = bytearray()
        self.max_bytes, self.max_blobs = max_bytes, max_blobs
        self._reset()

    def _reset(self) -> None:
        self._header_end: int | None = None  # end of the JSON header, once announced
        self._blobs: list[tuple[int, int]] = []  # (start, end) of each blob found so far
        self._left = 0  # blobs not yet found
        self._pos = 0  # where the next unread length field (or the frame's end) is

    def feed(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.max_bytes:
            raise self._too_large()
        self._scan()

    def next_frame(self) -> tuple[dict, list[bytes]] | None:
        self._scan()  # resumes where it stopped: the next frame may already be here
        if self._header_end is None or self._left or len(self.data) < self._pos:
            return None
        header = wire.parse_header(self.data[FRAME.size:self._header_end])
        blobs = [bytes(self.data[a:b]) for a, b in self._blobs]
        del self.data[:self._pos]
        self._reset()
        return header, blobs

    def _scan(self) -> None:
        data = self.data
        if self._header_end is None:
            if len(data) < FRAME.size:
                return
            size, nblobs = FRAME.unpack_from(data, 0)
            if nblobs > self.max_blobs:
                raise WireError(f"a reply with {nblobs} arrays (at most {self.max_blobs})")
            self._header_end = self._pos = self._bounded(FRAME.size + size)
            self._left = nblobs
        while self._left and len(data) >= self._pos + BLOB.size:
            (n,) = BLOB.unpack_from(data, self._pos)
            start = self._pos + BLOB.size
            self._pos = self._bounded(start + n)
            self._blobs.append((start, self._pos))
            self._left -= 1

    def _bounded(self, end: int) -> int:
        if end > self.max_bytes:
            raise self._too_large()
        return end

    def _too_large(self) -> WireError:
        return WireError(f"the reply is larger than {self.max_bytes // 2**20} MiB")
