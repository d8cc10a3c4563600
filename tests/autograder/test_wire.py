"""autograder.sandbox.wire: what may cross from the sandboxed child to the parent."""
import io
import pickle
import struct
import zipfile

import numpy as np
import pytest

from autograder.sandbox.wire import Decoder, Reader, clean_text, decode_arrays, encode_arrays, send


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
    assert list(reader) == [] and reader.problem == "a message header was not a JSON object"


def test_zip_helpers_are_plain():
    """The payload is an ordinary uncompressed .npz (readable by any tool)."""
    data = encode_arrays({"a": np.zeros(3)})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.namelist() == ["a.npy"]


def _frame(header: dict, payload: bytes = b"") -> bytes:
    import json

    head = json.dumps({**header, "nbytes": len(payload)}).encode()
    return struct.pack(">I", len(head)) + head + payload


@pytest.mark.parametrize("header", [
    {"event": "probe", "name": ["x"], "error": None},      # a list where a string belongs
    {"event": {"nested": 1}},
    {"event": "cell", "name": "f", "index": "0", "error": None},
    {"event": "cell", "name": "f", "index": True, "error": None},
    {"event": "probe", "name": "p", "error": ["not", "text"]},
    {"event": "start", "step": "x", "extra": 1},
    {"event": "unknown"},
])
def test_forged_headers_of_the_wrong_types_stop_the_reader_without_raising(header):
    """Issue 7, class 1: a header with a JSON type the parent does not expect is a channel problem, never an
    exception in the parent; the messages before it are kept."""
    decoder = Decoder()
    decoder.feed(_frame({"event": "start", "step": "context"}) + _frame(header) + _frame({"event": "done"}))
    assert [h["event"] for h, _ in decoder.messages] == ["start"] and decoder.problem


def test_absurd_npy_header_is_refused_before_numpy_allocates():
    """An .npy member whose header declares 2**40 float64 values (numpy would try to allocate 8 TiB and raise
    MemoryError) and one whose declared size does not match its bytes: ValueError only."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627775,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(8)
    for data in (npy, npy.replace(b"1099511627775", b"2            ")):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("saliency.npy", data)
        with pytest.raises(ValueError):
            decode_arrays(buffer.getvalue())
    with pytest.raises(ValueError):
        decode_arrays(b"PK\x03\x04" + bytes(100))


def test_fortran_order_and_byte_order_survive():
    arrays = {"f": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "big": np.arange(4, dtype=">i4")}
    back = decode_arrays(encode_arrays(arrays))
    assert np.array_equal(back["f"], arrays["f"]) and np.array_equal(back["big"], arrays["big"])
    assert back["big"].dtype.isnative


def test_decoder_gives_the_same_messages_however_the_bytes_arrive():
    data = _frame({"event": "start", "step": "cell:f:0"}) + _frame({"event": "probe", "name": "p", "error": None},
                                                                    encode_arrays({"a": np.ones(3)}))
    whole, bytewise = Decoder(), Decoder()
    whole.feed(data)
    for i in range(len(data)):
        bytewise.feed(data[i:i + 1])
    assert whole.messages == bytewise.messages and len(whole.messages) == 2


def test_clean_text_makes_any_student_text_encodable():
    text = clean_text("ok \udcff \ud800 \x00 bell\x07 tab\t" + "x" * 5000, limit=100)
    text.encode("utf-8")
    assert text.startswith("ok \ufffd \ufffd \ufffd bell\ufffd tab\t") and len(text) <= 104
    assert clean_text(object.__new__(type("Bad", (), {"__str__": lambda self: 1 / 0}))) == "<unprintable>"
