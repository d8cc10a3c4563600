"""autograder.sandbox.wire: what may cross from the sandboxed child to the parent."""
import io
import pickle
import struct
import zipfile

import numpy as np
import pytest

from autograder.sandbox.wire import Reader, decode_arrays, encode_arrays, send


def test_arrays_round_trip():
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "flag": np.asarray(True)}
    back = decode_arrays(encode_arrays(arrays))
    assert set(back) == {"a", "flag"} and np.array_equal(back["a"], arrays["a"]) and back["flag"].dtype == bool


def test_pickled_objects_are_refused():
    """An object array (which only pickle can carry) is rejected: nothing is ever unpickled."""
    buffer = io.BytesIO()
    np.savez(buffer, evil=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        decode_arrays(buffer.getvalue())
    with pytest.raises(ValueError):
        decode_arrays(pickle.dumps({"a": 1}))


def test_declared_size_is_checked_before_decompressing():
    """A zip bomb is refused from its declared sizes."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, big=np.zeros(3_000_000))
    with pytest.raises(ValueError, match="larger"):
        decode_arrays(buffer.getvalue(), max_bytes=1_000_000)


def test_strings_and_structured_arrays_are_refused():
    for bad in (np.array(["x"]), np.zeros(2, dtype=[("a", "f4")])):
        buffer = io.BytesIO()
        np.savez(buffer, bad=bad)
        with pytest.raises(ValueError):
            decode_arrays(buffer.getvalue())


def test_reader_stops_at_garbage_and_keeps_earlier_messages():
    stream = io.BytesIO()
    send(stream, {"event": "start", "step": "x"})
    send(stream, {"event": "probe", "name": "p"}, b"payload")
    stream.write(struct.pack(">I", 10**9) + b"garbage")
    stream.seek(0)
    reader = Reader(stream)
    messages = list(reader)
    assert [h["event"] for h, _ in messages] == ["start", "probe"] and messages[1][1] == b"payload"
    assert reader.problem == "a message header was too large"


def test_reader_refuses_non_dict_headers():
    stream = io.BytesIO()
    head = b"[1, 2]"
    stream.write(struct.pack(">I", len(head)) + head)
    stream.seek(0)
    reader = Reader(stream)
    assert list(reader) == [] and reader.problem == "a message was malformed"


def test_zip_helpers_are_plain():
    """The payload is an ordinary uncompressed .npz (readable by any tool)."""
    data = encode_arrays({"a": np.zeros(3)})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.namelist() == ["a.npy"]
