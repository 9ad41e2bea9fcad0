"""Parent side of the wire protocol: framing calls, reading replies under a size cap.

The codec itself lives in `grader/child/wire.py` because the sandboxed child uses
the same file. The parent never unpickles: arrays load with `allow_pickle=False`
and only bool/int/uint/float dtypes are accepted.
"""

from __future__ import annotations

from typing import Any

from grader.child import wire
from grader.child.wire import Shared, WireError

__all__ = ["ReplyBuffer", "Shared", "WireError", "call_frame", "decode_value"]

#: Largest reply accepted from the child (a trained MNIST model is a few MiB).
MAX_REPLY_BYTES = 256 * 1024 * 1024


def call_frame(call_id: int, function: str, args: tuple, kwargs: dict) -> bytes:
    """Encode one call; arguments come from trusted checks, so a failure here is our bug."""
    (args_tree, kwargs_tree), blobs = wire.encode([list(args), dict(kwargs)])
    return wire.pack({"id": call_id, "function": function, "args": args_tree,
                      "kwargs": kwargs_tree}, blobs)


def decode_value(header: dict, blobs: list[bytes]) -> Any:
    """The value of a successful reply, validated; raises WireError."""
    return wire.decode(header.get("value"), blobs, trusted=False)


class ReplyBuffer:
    """Accumulates bytes from the reply pipe and yields complete frames."""

    def __init__(self, max_bytes: int = MAX_REPLY_BYTES) -> None:
        self.data = bytearray()
        self.max_bytes = max_bytes

    def feed(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.max_bytes or wire.declared_length(self.data) > self.max_bytes:
            raise WireError(f"the reply is larger than {self.max_bytes // 2**20} MiB")

    def next_frame(self) -> tuple[dict, list[bytes]] | None:
        try:
            n = wire.frame_length(self.data)
        except Exception as exc:
            raise WireError(f"malformed frame ({type(exc).__name__})") from None
        if n is None:
            return None
        if n > self.max_bytes:
            raise WireError(f"the reply is larger than {self.max_bytes // 2**20} MiB")
        frame, self.data = self.data[:n], self.data[n:]
        return wire.unpack(frame)
