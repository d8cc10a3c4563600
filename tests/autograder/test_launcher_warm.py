"""The sandbox's launcher builds the preloaded assignment's context once and calls its optional ``warm()`` before it
forks any child (what the probes would otherwise load in every fork), and exits as soon as its socket closes; what
the probes load on first use is loaded there, not in each fork."""
import socket
import subprocess
import sys
import time

import pytest

from autograder.assignments import registered

REGISTRY = '''
import os

class Context:
    def warm(self):
        with open(os.environ["WARM_MARKER"], "a") as f:
            f.write("warm\\n")

class Assignment:
    def make_context(self, device):
        with open(os.environ["WARM_MARKER"], "a") as f:
            f.write(f"context {device}\\n")
        return Context()

def load_assignment(assignment_id):
    return Assignment()
'''


def test_the_launcher_warms_the_preloaded_context_once_and_exits_when_its_socket_closes(tmp_path):
    from autograder.sandbox import launcher

    (tmp_path / "fake_registry.py").write_text(REGISTRY)
    marker = tmp_path / "marker"
    ours, theirs = socket.socketpair()
    root = str(__import__("pathlib").Path(launcher.__file__).resolve().parents[2])
    code = (f"import sys; sys.path[:0] = [{root!r}, {str(tmp_path)!r}]; from autograder.sandbox.launcher import main; "
            f"main({theirs.fileno()}, ('some_id', 'cpu'), 'fake_registry:load_assignment', ())")
    process = subprocess.Popen([sys.executable, "-c", code], pass_fds=(theirs.fileno(),),
                               env={"WARM_MARKER": str(marker), "PATH": "/usr/bin:/bin"})
    theirs.close()
    deadline = time.monotonic() + 120
    while not (marker.exists() and "warm" in marker.read_text()) and time.monotonic() < deadline:
        assert process.poll() is None, "the launcher died while preloading"
        time.sleep(0.05)
    assert marker.read_text() == "context cpu\nwarm\n"
    ours.close()
    assert process.wait(timeout=60) == 0


FIRST_RUN = '''
import os, sys
import torch

torch.set_num_threads(1)
import hwlib  # noqa: F401 - what the launcher preloads
from autograder.assignments import load_assignment, solution_namespace
from autograder.runner import run_probe

assignment = load_assignment(sys.argv[1])
context = assignment.make_context("cpu")
if callable(getattr(context, "warm", None)):
    context.warm()
namespace = solution_namespace(assignment)
probes = list(dict.fromkeys(check.probe for check in assignment.checks))
read, write = os.pipe()
if os.fork() == 0:   # a child of the launcher: the probes' first run
    before = set(sys.modules)
    for probe in probes:
        run_probe(probe, namespace, context)
    os.write(write, " ".join(sorted(set(sys.modules) - before)).encode())
    os._exit(0)
os.close(write)
print("NEW:" + os.fdopen(read).read())
'''
HEAVY = {"torch", "transformers", "sympy", "mpmath", "scipy", "sklearn", "matplotlib", "tokenizers", "PIL"}


@pytest.mark.parametrize("assignment_id", [a.id for a in registered()])
def test_a_forked_child_loads_no_heavy_module_on_the_probes_first_run(assignment_id):
    """Every module the probes load on first use is loaded once, in the launcher (the context and its ``warm()``),
    not in each fork: torch imports its compiler package (~900 modules, 2 s) on a process's first optimizer, which
    notebook 04's filter probe builds in every child unless the launcher has built one."""
    done = subprocess.run([sys.executable, "-c", FIRST_RUN, assignment_id], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    new = done.stdout.rsplit("NEW:", 1)[1].split()
    heavy = [m for m in new if m.split(".")[0] in HEAVY]
    assert not heavy, f"{len(heavy)} modules loaded in each fork (warm them in the context): {heavy[:20]}"


GC_SPY = '''
import gc
print(f"GC enabled={gc.isenabled()} frozen={gc.get_freeze_count()} threshold={gc.get_threshold()[0]}")
'''


def test_student_code_runs_with_garbage_collection_on_and_the_launchers_objects_frozen(assignment):
    """The launcher imports with garbage collection off and freezes its objects before each fork (Python's recipe
    for fork without exec); the student's code must still run with ordinary collection, and a child's collections
    must skip the launcher's millions of objects (frozen: never walked, never copied)."""
    from autograder_helpers import TEST_LIMITS

    from autograder.extract import Cell
    from autograder.sandbox import Sandbox, observe
    from autograder.sandbox_host import grader_host

    function = assignment.functions[0]
    with Sandbox(host=grader_host()) as sandbox:
        obs = observe([Cell(function, GC_SPY, 0)], assignment, TEST_LIMITS, "cpu", sandbox)
    line = next(l for l in obs.output_tail.splitlines() if l.startswith("GC "))
    fields = dict(part.split("=", 1) for part in line[3:].split())
    assert fields["enabled"] == "True", line
    assert int(fields["frozen"]) > 100_000, line   # torch alone is several hundred thousand objects
    assert int(fields["threshold"]) > 0, line
