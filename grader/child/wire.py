"""Wire codec shared by the trusted parent and the sandboxed child.

Stdlib and numpy only: this file is bound read-only into the sandbox.

A frame is `>II` (JSON length, number of blobs), the UTF-8 JSON header, then each
blob as `>Q` length + bytes. Values are JSON with tagged objects for what JSON
cannot carry: arrays become `{"__nd__": i}` pointing at blob i (raw `.npy` bytes,
never pickled), tuples `{"__tuple__": [...]}`, dicts `{"__map__": [[k, v], ...]}`,
non-finite floats `{"__float__": "nan"}`, shared files `{"__shared__": name}`.
"""

from __future__ import annotations

import builtins as _builtins
import io
import json
import math
import struct

import numpy as np

# Bound as module globals so a student's monkeypatching of builtins cannot reach us.
(RecursionError, ValueError, bool, bytes, dict, float, int, isinstance, len, list, range, repr,
 set, str, tuple, type) = (
    _builtins.RecursionError, _builtins.ValueError, _builtins.bool, _builtins.bytes,
    _builtins.dict, _builtins.float, _builtins.int, _builtins.isinstance, _builtins.len,
    _builtins.list, _builtins.range, _builtins.repr, _builtins.set, _builtins.str,
    _builtins.tuple, _builtins.type
)

FRAME = struct.Struct(">II")
BLOB = struct.Struct(">Q")
MAX_DEPTH = 32
MAX_ITEMS = 100_000
MAX_BLOBS = 4096  #: arrays per frame (a network's weights are a few dozen)
#: array bytes per frame: below the parent's 256 MiB reply cap, so an honest but huge
#: return value fails its check with this message instead of looking like a forged frame
MAX_ARRAY_BYTES = 255 * 2**20


class WireError(ValueError):
    """A value that cannot cross the wire, or a malformed frame."""


class Shared:
    """A handle to a read-only `.npy` file the parent placed in the shared directory."""

    __slots__ = ("name", "shape", "dtype")

    def __init__(self, name: str, shape: tuple = (), dtype: str = "") -> None:
        self.name, self.shape, self.dtype = name, tuple(shape), dtype

    def __repr__(self) -> str:
        return f"shared array(shape={self.shape}, dtype={self.dtype})"


def _type_name(value: object) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def encode(value: object) -> tuple[object, list[bytes]]:
    """Turn a value into a JSON-able tree plus `.npy` blobs; raises WireError."""
    blobs: list[bytes] = []
    count, size = [0], [0]

    def enc(v: object, depth: int) -> object:
        count[0] += 1
        if depth > MAX_DEPTH or count[0] > MAX_ITEMS:
            raise WireError("the value is nested too deeply or has too many items")
        if v is None or type(v) in (bool, str, int):  # exact types: subclasses run code
            return v
        if type(v) is float:
            return v if math.isfinite(v) else {"__float__": repr(v)}
        if isinstance(v, np.generic):
            if isinstance(v, np.bool_):
                return bool(v)
            if isinstance(v, np.integer):
                return int(v)
            if isinstance(v, np.floating):
                return enc(float(v), depth)
            raise WireError(f"a numpy scalar of dtype {v.dtype} cannot be sent")
        if isinstance(v, np.ndarray):
            if v.dtype.hasobject or v.dtype.names is not None or v.dtype.kind not in "biuf":
                raise WireError(f"an array of dtype {v.dtype} cannot be sent "
                                "(use numbers: bool, int or float)")
            if len(blobs) >= MAX_BLOBS:
                raise WireError(f"the value holds more than {MAX_BLOBS} arrays")
            size[0] += v.nbytes
            if size[0] > MAX_ARRAY_BYTES:
                raise WireError(f"the value's arrays hold more than {MAX_ARRAY_BYTES // 2**20} "
                                "MiB (return less data)")
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(v), allow_pickle=False)
            blobs.append(buf.getvalue())
            return {"__nd__": len(blobs) - 1}
        if isinstance(v, Shared):
            return {"__shared__": v.name}
        if type(v) is list:
            return [enc(x, depth + 1) for x in v]
        if type(v) is tuple:
            return {"__tuple__": [enc(x, depth + 1) for x in v]}
        if type(v) is dict:
            pairs = []
            for k, x in v.items():
                if type(k) not in (str, int):
                    raise WireError(f"dict keys must be str or int, not {_type_name(k)}")
                pairs.append([k, enc(x, depth + 1)])
            return {"__map__": pairs}
        raise WireError(f"a value of type {_type_name(v)} cannot be sent back "
                        "(return numbers, numpy arrays, or lists/tuples/dicts of those)")

    return enc(value, 0), blobs


def decode(tree: object, blobs: list[bytes], *, trusted: bool = False,
           open_shared=None) -> object:
    """Inverse of `encode`. Untrusted input: arrays load with allow_pickle=False and
    only bool/int/uint/float dtypes are accepted; anything malformed raises WireError.
    Each blob may be referenced once (`encode` never repeats one), so a small frame
    cannot make the reader load one large array many times."""
    count = [0]
    used: set = set()

    def dec(t: object, depth: int) -> object:
        count[0] += 1
        if depth > MAX_DEPTH or count[0] > MAX_ITEMS:
            raise WireError("the value is nested too deeply or has too many items")
        if t is None or type(t) in (bool, int, float, str):
            return t
        if type(t) is list:
            return [dec(x, depth + 1) for x in t]
        if type(t) is not dict or len(t) != 1:
            raise WireError("malformed value")
        (tag, body), = t.items()
        if tag == "__nd__" and type(body) is int and 0 <= body < len(blobs):
            if body in used:
                raise WireError("an array is referenced twice")
            used.add(body)
            return load_array(blobs[body], trusted=trusted)
        if tag == "__float__" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "__tuple__" and type(body) is list:
            return tuple(dec(x, depth + 1) for x in body)
        if tag == "__map__" and type(body) is list:
            out = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2 or type(pair[0]) not in (str, int):
                    raise WireError("malformed mapping")
                out[pair[0]] = dec(pair[1], depth + 1)
            return out
        if tag == "__shared__" and type(body) is str and open_shared is not None:
            return open_shared(body)
        raise WireError(f"malformed value with tag {tag!r:.40}")

    return dec(tree, 0)


def load_array(blob: bytes, *, trusted: bool = False) -> np.ndarray:
    """One `.npy` blob; untrusted blobs must hold all the data their header declares
    (checked before numpy allocates the array)."""
    try:
        if not trusted:
            _check_npy_size(blob)
        array = np.lib.format.read_array(io.BytesIO(blob), allow_pickle=False)
    except Exception as exc:  # any malformed .npy is the sender's fault
        raise WireError(f"an array could not be read ({type(exc).__name__})") from None
    if not trusted and (array.dtype.hasobject or array.dtype.names is not None
                        or array.dtype.kind not in "biuf"):
        raise WireError(f"arrays of dtype {array.dtype} are not accepted")
    return array


def _check_npy_size(blob: bytes) -> None:
    stream = io.BytesIO(blob)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    else:  # 3.0 only adds UTF-8 field names: structured dtypes, refused anyway
        raise ValueError(f"npy version {version}")
    need = dtype.itemsize * math.prod(shape)
    if stream.tell() + need > len(blob):
        raise ValueError(f"the header declares {need} bytes of data")


def pack(header: dict, blobs: list[bytes]) -> bytes:
    """One frame: header JSON plus blobs."""
    data = json.dumps(header, allow_nan=False, separators=(",", ":")).encode()
    parts = [FRAME.pack(len(data), len(blobs)), data]
    for blob in blobs:
        parts += [BLOB.pack(len(blob)), blob]
    return b"".join(parts)


def parse_header(data: bytes | bytearray) -> dict:
    """A frame's JSON header; raises WireError."""
    try:
        header = json.loads(bytes(data))
    except (ValueError, RecursionError) as exc:
        raise WireError(f"malformed frame ({type(exc).__name__})") from None
    if type(header) is not dict:
        raise WireError("malformed frame header")
    return header


def unpack(frame: bytes | bytearray) -> tuple[dict, list[bytes]]:
    """Split one complete frame into its header and blobs; raises WireError."""
    try:
        size, nblobs = FRAME.unpack_from(frame, 0)
        pos = FRAME.size + size
        header = parse_header(frame[FRAME.size:pos])
        blobs = []
        for _ in range(nblobs):
            (n,) = BLOB.unpack_from(frame, pos)
            pos += BLOB.size
            blobs.append(bytes(frame[pos:pos + n]))
            pos += n
    except WireError:
        raise
    except (struct.error, ValueError) as exc:
        raise WireError(f"malformed frame ({type(exc).__name__})") from None
    return header, blobs


def read_frame(stream) -> tuple[dict, list[bytes]] | None:
    """Blocking read of one frame from a binary stream (child side); None at EOF."""
    head = _read_exact(stream, FRAME.size)
    if head is None:
        return None
    size, nblobs = FRAME.unpack(head)
    parts = [head, _need(stream, size)]
    for _ in range(nblobs):
        raw = _need(stream, BLOB.size)
        parts += [raw, _need(stream, BLOB.unpack(raw)[0])]
    return unpack(b"".join(parts))


def _need(stream, n: int) -> bytes:
    data = _read_exact(stream, n)
    if data is None:
        raise WireError("the stream ended inside a frame")
    return data


def _read_exact(stream, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            if got:
                raise WireError("the stream ended inside a frame")
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
