"""Messages from the sandboxed child to the parent: data only, size-capped, never pickle, never trusted.

A message is a 4-byte big-endian length, a JSON header of that length, then ``header["nbytes"]`` payload bytes
(an uncompressed ``.npz`` of numeric arrays, or nothing). The parent feeds the bytes it reads to a
:class:`Decoder`, which stops at the first malformed message or when a cap is reached; a student who writes
garbage on the channel only loses the results that would have come after it.

Everything here assumes the bytes were written by the student: a header is accepted only with the exact types
the harness sends (:func:`header_problem`), every text is made printable (:func:`clean_text`), and an array
payload is checked member by member from its ``.npy`` headers (declared shape x dtype = stored bytes, total under
the cap, numeric dtypes only) before numpy allocates anything. Nothing in this module raises on student data
except ``ValueError`` from :func:`decode_arrays`.
"""
from __future__ import annotations

import ast
import io
import json
import math
import struct
import zipfile

import numpy as np

from ..text import MAX_TEXT, clean_text  # noqa: F401  (MAX_TEXT: part of this module's interface)

MAX_HEADER = 64 * 1024
MAX_PAYLOAD = 64 * 2**20
ALLOWED_KINDS = "biuf"     # bool, signed, unsigned, float: no objects, strings or structured arrays
MAX_NDIM = 32

# The header fields the harness sends and their types (``None`` allowed where listed).
FIELDS = {"event": (str,), "step": (str,), "name": (str,), "index": (int,), "error": (str, type(None)),
          "nbytes": (int,)}
EVENTS = ("start", "cell", "probe", "done")


def header_problem(header) -> str | None:
    """Why ``header`` is not one the harness could have sent (``None`` when it is well formed)."""
    if not isinstance(header, dict):
        return "a message header was not a JSON object"
    for key, value in header.items():
        types = FIELDS.get(key)
        if types is None:
            return f"a message header had an unknown field {clean_text(key, 40)!r}"
        if not isinstance(value, types) or isinstance(value, bool):
            return f"a message header had a field {key!r} of the wrong type"
    if header.get("event") not in EVENTS:
        return "a message had an unknown event"
    return None


def encode_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _npy_header(raw: bytes) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """(shape, dtype, Fortran order, header length) of one ``.npy`` member, parsed without numpy's reader.
    Raises ValueError."""
    if raw[:6] != b"\x93NUMPY" or len(raw) < 10:
        raise ValueError("not a .npy array")
    major = raw[6]
    if major == 1:
        (size,), start = struct.unpack("<H", raw[8:10]), 10
    elif major in (2, 3):
        (size,), start = struct.unpack("<I", raw[8:12]), 12
    else:
        raise ValueError("unknown .npy version")
    if size > 10_000 or start + size > len(raw):
        raise ValueError("a .npy header is too large")
    meta = ast.literal_eval(raw[start:start + size].decode("latin-1"))
    if not isinstance(meta, dict) or set(meta) != {"descr", "fortran_order", "shape"}:
        raise ValueError("a malformed .npy header")
    shape, descr = meta["shape"], meta["descr"]
    if not isinstance(shape, tuple) or len(shape) > MAX_NDIM or \
            not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**40 for n in shape):
        raise ValueError("an array with an impossible shape")
    if not isinstance(descr, str) or not isinstance(meta["fortran_order"], bool):
        raise ValueError("an array with a non-numeric dtype")
    dtype = np.dtype(descr)
    if dtype.kind not in ALLOWED_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"an array with a non-numeric dtype {clean_text(descr, 40)}")
    return shape, dtype, meta["fortran_order"], start + size


def decode_arrays(data: bytes, max_bytes: int = MAX_PAYLOAD) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` payload. Raises ``ValueError`` (and nothing else) for anything but plain numeric
    arrays whose declared sizes match their stored bytes and add up to at most ``max_bytes``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > 256 or sum(info.file_size for info in infos) > max_bytes:
                raise ValueError("arrays larger than the limit")
            arrays, total = {}, 0
            for info in infos:
                name = info.filename
                if not name.endswith(".npy") or name[:-4] in arrays or info.compress_type != zipfile.ZIP_STORED:
                    raise ValueError("an unexpected member in the arrays")
                raw = archive.read(info)
                shape, dtype, fortran, offset = _npy_header(raw)
                nbytes = math.prod(shape) * dtype.itemsize
                total += nbytes
                if nbytes != len(raw) - offset or total > max_bytes:
                    raise ValueError("an array whose declared shape does not match its data")
                array = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=offset)
                array = array.reshape(shape, order="F" if fortran else "C")
                arrays[clean_text(name[:-4], 200)] = np.array(array, dtype=dtype.newbyteorder("="))  # native copy
    except ValueError as err:
        raise ValueError(clean_text(err, 200)) from None
    except Exception as err:  # zipfile, struct, literal_eval, dtype parsing: anything else is unreadable too
        raise ValueError(f"unreadable arrays ({type(err).__name__})") from None
    return arrays


def send(stream, header: dict, payload: bytes = b"") -> None:
    """Write one message to a binary ``stream`` and flush it."""
    head = json.dumps({**header, "nbytes": len(payload)}).encode()
    stream.write(struct.pack(">I", len(head)) + head + payload)
    stream.flush()


class Decoder:
    """Turns the bytes of the channel, fed in any pieces, into ``(header, payload)`` messages.

    Stops for good at the first malformed message or after ``max_total`` bytes (``problem`` says why); the
    messages before that are kept."""

    def __init__(self, max_total: int = 4 * MAX_PAYLOAD):
        self.left, self.problem = max_total, None
        self.messages: list[tuple[dict, bytes]] = []
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        if self.problem is not None:
            return
        self._buffer += data
        while self.problem is None and len(self._buffer) >= 4:
            (size,) = struct.unpack(">I", self._buffer[:4])
            if size > MAX_HEADER or size > self.left:
                self.problem = "a message header was too large"
                break
            if len(self._buffer) < 4 + size:
                break
            try:
                header = json.loads(bytes(self._buffer[4:4 + size]))
            except (ValueError, RecursionError):
                self.problem = "a message was malformed"
                break
            self.problem = header_problem(header)
            if self.problem:
                break
            nbytes = header.get("nbytes", 0)
            if not 0 <= nbytes <= min(MAX_PAYLOAD, self.left - size):
                self.problem = "a message was too large"
                break
            if len(self._buffer) < 4 + size + nbytes:
                break
            payload = bytes(self._buffer[4 + size:4 + size + nbytes])
            del self._buffer[:4 + size + nbytes]
            self.left -= 4 + size + nbytes
            self.messages.append((header, payload))
        if self.problem is not None:
            self._buffer.clear()


class Reader:
    """Reads messages from a binary stream until EOF, a malformed message or ``max_total`` bytes (iterate it;
    ``problem`` says why it stopped early)."""

    def __init__(self, stream, max_total: int = 4 * MAX_PAYLOAD):
        self.stream, self.problem = stream, None
        self._decoder = Decoder(max_total)

    def __iter__(self):
        sent = 0
        while True:
            chunk = self.stream.read(65536)
            if chunk:
                self._decoder.feed(chunk)
            while sent < len(self._decoder.messages):
                yield self._decoder.messages[sent]
                sent += 1
            self.problem = self._decoder.problem
            if not chunk or self.problem:
                return
