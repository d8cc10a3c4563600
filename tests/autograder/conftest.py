"""Shared fixtures of the autograder tests: one reference run per registered assignment and one graded batch of
each assignment's example submissions per test session, shared between pytest-xdist workers through a folder and
a file lock (a batch is resumable, so a second worker finds everything already graded)."""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures import examples_dir
from autograder.batch import find_submissions, grade_batch

from course import shared_folder

from autograder_helpers import INFRASTRUCTURE_ASSIGNMENT, LEAK_PORT, TEST_LIMITS, file_lock, suite_examples


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory) -> Path:
    """A folder shared by all xdist workers of this session."""
    path = shared_folder(tmp_path_factory) / "autograder-shared"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session", autouse=True)
def reference_cache(shared_dir):
    """Reference outputs cached once per session (not in the user's cache); computed on first use."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AUTOGRADER_CACHE", str(shared_dir / "reference-cache"))
    mp.setenv("AUTOGRADER_STATE", str(shared_dir / "reference-digests"))
    mp.setenv("HWLIB_NO_NETWORK", "1")
    yield shared_dir / "reference-cache"
    mp.undo()


@pytest.fixture(scope="session")
def assignment():
    """The assignment the infrastructure tests (batch, CLI, sandbox, feedback) grade."""
    return INFRASTRUCTURE_ASSIGNMENT


class LeakListener:
    """A TCP server on localhost that records whatever a sandboxed submission manages to send."""

    def __init__(self, port: int):
        self.received: list[bytes] = []
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", port))
        self.server.listen()
        self.server.settimeout(0.5)
        self.stopped = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped:
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                self.received.append(conn.recv(1024) or b"<connected>")

    def close(self):
        self.stopped = True
        self.thread.join()
        self.server.close()


@dataclass
class Batch:
    out: Path
    results: dict
    csv: str
    leaked: list | None     # what reached the leak listener (None: this worker did not run the batch)
    elapsed: float          # seconds the batch took when it was graded (once per session)
    submissions: int


def grade_examples(shared_dir: Path, assignment) -> Batch:
    """The example submissions the suite grades for ``assignment`` (:func:`suite_examples`), graded once per session
    with 2 workers (shared by all tests and xdist workers)."""
    out = shared_dir / f"examples-batch-{assignment.id}"
    leaked_file = shared_dir / f"examples-batch-{assignment.id}-leaks.json"
    elapsed_file = shared_dir / f"examples-batch-{assignment.id}-seconds.json"
    with file_lock(shared_dir / f"examples-batch-{assignment.id}.lock"):
        from autograder.reference import reference_outputs

        reference_outputs(assignment)
        graded = set(suite_examples(assignment))  # never the hostile ones unsandboxed: they really attack
        submissions = [s for s in find_submissions([examples_dir(assignment)], assignment) if s.student in graded]
        fresh = not leaked_file.exists()
        with file_lock(shared_dir / "leak-port.lock"):
            listener = LeakListener(LEAK_PORT) if fresh else None
            start = time.monotonic()
            try:
                results = grade_batch(submissions, assignment, out / "grades.csv", out / "feedback", workers=2,
                                      limits=TEST_LIMITS, device="cpu", log=lambda *_: None)
            finally:
                if listener:
                    listener.close()
                    leaked_file.write_text(json.dumps([r.decode("latin-1") for r in listener.received]))
                    elapsed_file.write_text(json.dumps(time.monotonic() - start))
    return Batch(out, {r.student: r for r in results}, (out / "grades.csv").read_text(),
                 json.loads(leaked_file.read_text()), json.loads(elapsed_file.read_text()), len(submissions))


@pytest.fixture(scope="session")
def example_batches(shared_dir):
    """``assignment id -> Batch``, graded on first use (see :func:`grade_examples`)."""
    cache: dict[str, Batch] = {}

    def get(assignment) -> Batch:
        if assignment.id not in cache:
            cache[assignment.id] = grade_examples(shared_dir, assignment)
        return cache[assignment.id]
    return get


@pytest.fixture(scope="session")
def example_batch(example_batches, assignment) -> Batch:
    """The graded examples of the infrastructure tests' assignment."""
    return example_batches(assignment)
