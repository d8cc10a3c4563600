"""Messages from the sandboxed child to the parent: data only, size-capped, never pickle.

A message is a 4-byte big-endian length, a JSON header of that length, then ``header["nbytes"]`` payload bytes
(an uncompressed ``.npz`` of numeric arrays, or nothing). The parent reads them with :class:`Reader`, which stops
at the first malformed message or when a cap is reached; a student who writes garbage on the channel only loses the
results that would have come after it.
"""
from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np

MAX_HEADER = 64 * 1024
MAX_PAYLOAD = 64 * 2**20
ALLOWED_KINDS = "biuf"     # bool, signed, unsigned, float: no objects, strings or structured arrays


def encode_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def decode_arrays(data: bytes, max_bytes: int = MAX_PAYLOAD) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` payload. Raises ``ValueError`` for anything but plain numeric arrays within
    ``max_bytes`` (checked on the declared sizes before anything is decompressed)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > max_bytes:
                raise ValueError("arrays larger than the limit")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise ValueError(f"unreadable arrays ({type(err).__name__})") from None
    for key, array in arrays.items():
        if array.dtype.kind not in ALLOWED_KINDS or array.dtype.fields is not None:
            raise ValueError(f"array {key!r} has a non-numeric dtype {array.dtype}")
    return arrays


def send(stream, header: dict, payload: bytes = b"") -> None:
    """Write one message to a binary ``stream`` and flush it."""
    head = json.dumps({**header, "nbytes": len(payload)}).encode()
    stream.write(struct.pack(">I", len(head)) + head + payload)
    stream.flush()


class Reader:
    """Reads messages from a binary stream until EOF, a malformed message or ``max_total`` bytes."""

    def __init__(self, stream, max_total: int = 4 * MAX_PAYLOAD):
        self.stream, self.left, self.problem = stream, max_total, None

    def _read(self, n: int) -> bytes | None:
        chunks, want = [], n
        while want:
            chunk = self.stream.read(want)
            if not chunk:
                return None
            chunks.append(chunk)
            want -= len(chunk)
        self.left -= n
        return b"".join(chunks)

    def __iter__(self):
        while True:
            raw = self._read(4)
            if raw is None:
                return
            (size,) = struct.unpack(">I", raw)
            if size > MAX_HEADER or size > self.left:
                self.problem = "a message header was too large"
                return
            try:
                header = json.loads(self._read(size) or b"")
                nbytes = int(header.get("nbytes", 0))
            except (ValueError, TypeError, AttributeError):
                self.problem = "a message was malformed"
                return
            if not 0 <= nbytes <= min(MAX_PAYLOAD, self.left):
                self.problem = "a message was too large"
                return
            payload = self._read(nbytes) if nbytes else b""
            if payload is None:
                return
            yield header, payload
