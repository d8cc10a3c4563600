"""The sandbox's launcher builds the preloaded assignment's context once and calls its optional ``warm()`` before it
forks any child (what the probes would otherwise load in every fork), and exits as soon as its socket closes."""
import socket
import subprocess
import sys
import time

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
