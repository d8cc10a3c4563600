"""autograder.distributed: the same grader on a Dask LocalCluster of 2 worker processes (localhost only).

One cluster serves every test of this file (starting workers and warming their sandboxes is the expensive part);
the kill-a-worker test runs last.
"""
import csv
import io
import os
import shutil
import signal
import threading
import time
from dataclasses import replace

import psutil
import pytest
from autograder_helpers import TEST_LIMITS, example_cells, needs_namespaces, notebook_with
from fixtures import examples_dir

from autograder.batch import find_submissions, grade_batch, result_path
from autograder.distributed import connect, grade_distributed, parse_scheduler
from autograder.progress import Progress

# a small subset of the examples: full marks, partial, zero, unreadable, and hostile ones (a hang, an exit, NaN
# outputs, forged results)
SUBSET = ("perfect", "one_bug", "wrong", "unparseable", "hostile_infinite_loop", "hostile_os_exit",
          "hostile_nan_output", "hostile_forges_results")


@pytest.fixture(scope="module")
def client():
    with connect("local:2", log=lambda *_: None) as c:
        yield c


@pytest.fixture(scope="module")
def subset(tmp_path_factory, assignment):
    folder = tmp_path_factory.mktemp("subset")
    for name in SUBSET:
        shutil.copy(examples_dir(assignment) / f"{name}.ipynb", folder)
    return folder


def on_cluster(paths, assignment, out, client, limits=TEST_LIMITS, **kwargs):
    log = []
    results = grade_distributed(find_submissions(paths, assignment), assignment, out / "grades.csv",
                                out / "feedback", client, limits=limits, device="cpu", log=log.append, **kwargs)
    return {r.student: r for r in results}, log


@pytest.fixture(scope="module")
def graded(subset, assignment, client, tmp_path_factory):
    """The subset graded by the local pool (2 workers) and on the cluster (2 workers)."""
    pool = tmp_path_factory.mktemp("pool")
    grade_batch(find_submissions([subset], assignment), assignment, pool / "grades.csv", pool / "feedback",
                workers=2, limits=TEST_LIMITS, device="cpu", log=lambda *_: None)
    cluster = tmp_path_factory.mktemp("cluster")
    results, log = on_cluster([subset], assignment, cluster, client)
    return pool, cluster, results, log


@needs_namespaces
def test_cluster_csv_is_exactly_the_local_pools(graded):
    pool, cluster, results, log = graded
    expected = (pool / "grades.csv").read_text()
    assert (cluster / "grades.csv").read_text() == expected
    rows = list(csv.DictReader(io.StringIO(expected)))
    assert sorted(r["student"] for r in rows) == sorted(SUBSET)
    assert {r["student"]: r["total"] for r in rows}["perfect"] == "9"
    assert {r["student"]: r["total"] for r in rows}["wrong"] == "0"
    assert "2 Dask worker(s)" in log[0] and "isolation: namespaces" in log[0]


@needs_namespaces
def test_every_result_and_page_is_written_once_by_the_client(graded):
    _, cluster, results, log = graded
    for student in SUBSET:
        assert result_path(cluster / "feedback", student).is_file()
        assert (cluster / "feedback" / f"{student}.html").is_file()
        assert sum(line.startswith(f"  {student}: ") for line in log) == 1, log
    assert results["perfect"].submission.endswith("perfect.ipynb")   # the client's path, not the worker's copy
    assert not list((cluster / "feedback").rglob(".*.tmp")), "temporary files left behind"


@needs_namespaces
def test_an_interrupted_run_resumes_only_the_missing_submission(assignment, client, tmp_path, monkeypatch):
    # other work on hwlib changes the grader's key (and so invalidates every result) at any time: pin it here
    from autograder.reference import cache_key

    pinned = cache_key(assignment)
    monkeypatch.setattr("autograder.reference.cache_key", lambda a: pinned)
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("perfect", "wrong"):
        shutil.copy(examples_dir(assignment) / f"{name}.ipynb", folder)
    out = tmp_path / "out"
    first, _ = on_cluster([folder], assignment, out, client)
    csv_first = (out / "grades.csv").read_text()
    result_path(out / "feedback", "wrong").unlink()   # interrupted before this result was written
    (out / "grades.csv").unlink()
    results, log = on_cluster([folder], assignment, out, client)
    assert "1 already graded, 1 to grade" in log[0]
    graded = [line for line in log if line.startswith("  ")]
    assert graded == [line for line in log if line.startswith("  wrong: 0 / 9")]
    assert (out / "grades.csv").read_text() == csv_first
    _, log = on_cluster([folder], assignment, out, client, force=True)
    assert "0 already graded, 2 to grade" in log[0]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _launchers(client, address) -> list[int]:
    """The sandbox launcher pids of the worker at ``address``."""
    def pids():
        from autograder import distributed

        state = distributed._STATE
        return [s.process.pid for s in state.sandboxes if s.process is not None] if state else []
    return client.run(pids, workers=[address])[address]


def test_threads_per_task_share_the_machine_between_all_its_workers():
    from autograder.distributed import threads_per_task

    workers = {"tcp://10.0.0.5:1": {"host": "10.0.0.5", "nthreads": 1},
               "tcp://10.0.0.5:2": {"host": "10.0.0.5", "nthreads": 1},
               "tcp://10.0.0.5:3": {"host": "10.0.0.5", "nthreads": 2},
               "tcp://10.0.0.6:1": {"host": "10.0.0.6", "nthreads": 8}}
    assert threads_per_task(16, 1, workers, "10.0.0.5") == 4      # 4 task threads on this machine, 16 cores
    assert threads_per_task(16, 8, workers, "10.0.0.6") == 2
    assert threads_per_task(16, 2, None, None) == 8                # nothing known of the cluster: own threads
    assert threads_per_task(2, 1, workers, "10.0.0.5") == 1        # never below one
    assert threads_per_task(16, 4, {}, "10.0.0.7") == 4            # a worker the scheduler does not list yet


def test_a_worker_task_counts_the_other_workers_of_its_machine(client):
    """The test cluster: two one-thread worker processes on this machine; each run gets half the cores."""
    from autograder.distributed import _worker_threads

    got = client.gather(client.submit(_worker_threads, pure=False))
    assert got == max(1, (os.cpu_count() or 1) // 2)


def _all_launchers(client) -> dict[str, list[int]]:
    """Every worker's sandbox launcher pids."""
    return {address: _launchers(client, address) for address in client.scheduler_info()["workers"]}


@needs_namespaces
def test_the_next_batch_on_the_same_cluster_forks_from_the_same_warm_launchers(graded, assignment, client,
                                                                                tmp_path):
    """A long-running cluster keeps its workers' launchers (torch and the contexts loaded) from one batch to the
    next: registering the sandbox plugin again would tear them down, and every batch would pay their start-up."""
    before = _all_launchers(client)
    assert any(before.values()), "the graded batch left no launcher on any worker"
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("perfect", "wrong", "one_bug", "hostile_os_exit"):
        shutil.copy(examples_dir(assignment) / f"{name}.ipynb", folder)
    results, _ = on_cluster([folder], assignment, tmp_path / "out", client)
    assert results["perfect"].total == 9 and results["wrong"].total == 0
    after = _all_launchers(client)
    for address, pids in before.items():
        for pid in pids:
            assert alive(pid) and pid in after.get(address, []), (before, after)


CLIENT = """
import json, sys
from pathlib import Path
from autograder.assignments import load_assignment
from autograder.batch import find_submissions
from autograder.distributed import grade_on_scheduler
from autograder.sandbox import Limits
assignment, out = load_assignment(sys.argv[1]), Path(sys.argv[2])
results = grade_on_scheduler(sys.argv[3], find_submissions([sys.argv[4]], assignment), assignment, out / "g.csv",
                             out / "fb", limits=Limits(timeout_s=120, memory_mb=4096, threads=1), device="cpu",
                             force=True, log=lambda *_: None)
print("RESULT" + json.dumps({"torch": "torch" in sys.modules, "totals": {r.student: r.total for r in results}}))
"""


@needs_namespaces
def test_a_client_whose_cached_reference_passed_its_self_check_never_imports_torch(assignment, client, tmp_path):
    """With a trusted state folder the first batch self-checks the cached reference and records it; the next
    client sends the tasks without building a context (the workers build theirs), so it never imports torch. A
    mark that names another file than the digest does not count."""
    import json
    import subprocess
    import sys

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("perfect", "wrong"):
        shutil.copy(examples_dir(assignment) / f"{name}.ipynb", folder)
    env = {**os.environ, "AUTOGRADER_STATE": str(tmp_path / "state"), "AUTOGRADER_CACHE": str(tmp_path / "cache"),
           "AUTOGRADER_PROGRESS": "0"}

    def run() -> dict:
        out = subprocess.run([sys.executable, "-c", CLIENT, assignment.id, str(tmp_path / "out"),
                              client.scheduler.address, str(folder)], env=env, capture_output=True, text=True)
        line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT")), None)
        assert line, out.stdout[-2000:] + out.stderr[-3000:]
        return json.loads(line[6:])

    first, second = run(), run()
    assert first["torch"] and not second["torch"], (first, second)
    assert first["totals"] == second["totals"] == {"perfect": 9, "wrong": 0}
    marks = list((tmp_path / "state").glob("*.checked"))
    assert len(marks) == 1
    marks[0].chmod(0o600)
    marks[0].write_text("0" * 64 + "\n")   # names another file: the self-check runs again (and marks anew)
    third = run()
    assert third["torch"] and third["totals"] == first["totals"]
    assert not run()["torch"]


@needs_namespaces
def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(assignment, client, tmp_path):
    """SIGKILL the worker that is grading the slow submission: it is graded again elsewhere, every submission
    gets exactly one row, one result and one log line, and the dead worker's sandbox does not outlive the batch."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("perfect", "one_bug", "wrong"):
        shutil.copy(examples_dir(assignment) / f"{name}.ipynb", folder)
    cells = example_cells("perfect.ipynb")
    first = next(iter(cells))
    cells[first] = "import time\ntime.sleep(8)\n" + cells[first]
    (folder / "slow.ipynb").write_text(notebook_with(cells))
    killed = {}

    def kill_the_slow_one():
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not killed:
            running = client.run(lambda dask_worker: [ts.key for ts in dask_worker.state.executing])
            for address, keys in running.items():
                if any(isinstance(k, tuple) and k[1] == "slow" for k in keys):
                    time.sleep(2)   # inside the sandbox now: the child sleeps
                    killed["launchers"] = _launchers(client, address)
                    killed["pid"] = client.run(os.getpid, workers=[address])[address]
                    os.kill(killed["pid"], signal.SIGKILL)
                    return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_the_slow_one, daemon=True)
    killer.start()
    limits = replace(TEST_LIMITS, timeout_s=60)   # room for the 8 s sleep on a loaded machine
    results, log = on_cluster([folder], assignment, tmp_path / "out", client, limits=limits)
    killer.join(timeout=5)
    assert killed.get("pid"), "the slow submission was never seen executing"
    assert not alive(killed["pid"])
    assert sorted(results) == ["one_bug", "perfect", "slow", "wrong"]
    assert results["slow"].total == 9 and results["slow"].graded, [c.message for c in results["slow"].checks]
    rows = (tmp_path / "out" / "grades.csv").read_text().splitlines()[1:]
    assert sorted(r.split(",")[0] for r in rows) == ["one_bug", "perfect", "slow", "wrong"]
    for student in results:
        assert sum(line.startswith(f"  {student}: ") and "/ 9" in line for line in log) == 1, log
        assert result_path(tmp_path / "out" / "feedback", student).is_file()
    # what the dead worker's sandbox was running ends (the restarted worker reaps it, or it finishes)
    end = time.monotonic() + 60
    while time.monotonic() < end and any(alive(p) for p in killed["launchers"]):
        time.sleep(0.5)
    assert killed["launchers"] and not any(alive(p) for p in killed["launchers"])
    # ... and its submissions' control groups are gone (removed by the worker that started after it)
    from autograder.sandbox import cgroups

    usable, _ = cgroups.probe()
    assert not [g for where in usable.values() for g in where.base.glob(f"autograder-{killed['pid']}-*")]


def test_grade_command_passes_the_scheduler_on(assignment, tmp_path, monkeypatch):
    from autograder import cli

    calls = []
    monkeypatch.setattr("autograder.distributed.grade_on_scheduler",
                        lambda scheduler, submissions, *rest: calls.append((scheduler, submissions)) or [])
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(examples_dir(assignment) / "wrong.ipynb", folder)
    argv = ["grade", str(folder), "--assignment", assignment.id, "--out", str(tmp_path / "g.csv")]
    assert cli.main([*argv, "--scheduler", "local:2"]) == 1    # (no rows came back from the stand-in)
    assert calls[0][0] == "local:2" and [s.student for s in calls[0][1]] == ["wrong"]
    with pytest.raises(SystemExit, match="--workers"):
        cli.main([*argv, "--scheduler", "local:2", "--workers", "2"])


def test_scheduler_argument():
    assert parse_scheduler("local:3") == 3
    assert parse_scheduler("tcp://10.0.0.1:8786") == "tcp://10.0.0.1:8786"
    for bad in ("local:0", "local:x", " "):
        with pytest.raises(ValueError, match="--scheduler"):
            parse_scheduler(bad)


def test_progress_counts_graded_failed_and_left():
    out = io.StringIO()
    bar = Progress(3, desc="x", already=2, enabled=True, file=out)
    lines = []
    log = bar.wrap(lines.append)
    bar.update(ok=True)
    log("one line")
    bar.update(ok=False)
    assert (bar.graded, bar.failed, bar.left, lines) == (1, 1, 1, ["one line"])
    bar.close()
    text = out.getvalue()
    assert "graded=1" in text and "failed=1" in text and "left=1" in text and "kept=2" in text


def test_a_worker_refuses_a_client_whose_files_changed_after_it_loaded_them(monkeypatch):
    """A worker keeps its imported grader and warm launchers between batches, so the fingerprint a client sends is
    compared with the files as the worker first saw them, not as they are on disk now."""
    from autograder import distributed

    disk = {"autograder/checks/x.py": "v1", "hwlib/y.py": "v1"}
    monkeypatch.setattr(distributed, "_file_hash", lambda name: disk[name])
    monkeypatch.setattr(distributed, "_FIRST_SEEN", {})
    versions = distributed._versions()
    state = distributed._WorkerState()
    state.check_fingerprint({"versions": versions, **disk})          # the first batch: what this worker loads
    disk["autograder/checks/x.py"] = "v2"                              # the instructor edits a check ...
    client = {"versions": versions, **disk}                           # ... and the next client hashes the new file
    with pytest.raises(RuntimeError, match=r"(?s)different version.*autograder/checks/x\.py.*restart"):
        state.check_fingerprint(client)
    assert distributed._differences({"versions": versions, "hwlib/y.py": "v1"}) == []
    assert distributed._differences({"versions": "torch 0", "hwlib/y.py": "v1"})[0].startswith("versions:")
