"""Issue 7: no student can stop the batch, outlive their turn, slow a classmate, or poison what later students are
graded against. One test (or more) per class of the issue; the hostile notebooks are the generic attacks of
``fixtures.attacks`` built on the infrastructure assignment's ``one_bug``. Sandboxed runs share one warm
sandbox per module and use small deadlines."""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sys
import urllib.parse
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from autograder import batch as batch_module
from autograder.assignments import release_notebook
from fixtures import examples_dir
from autograder.batch import csv_cell, find_submissions, grade_batch, safe_name, student_id
from autograder.check import Assignment, Check, Probe, SubmissionError, Tolerance, Verdict
from autograder.extract import Cell
from autograder.feedback import render
from autograder.grade import grade_notebook, verify_all
from autograder.images import coarse, figure_pngs
from autograder.sandbox import (SANDBOX_UIDS, GraderError, Limits, Observation, Sandbox, enforcement, given_uids,
                                observe, processes_of, size_problem)
from autograder.sandbox_host import grader_host
from autograder.sandbox import cgroups

from autograder_helpers import needs_namespaces

LIMITS = Limits(timeout_s=12, memory_mb=1536, threads=1)


@pytest.fixture(scope="module")
def warm(assignment):
    """One sandbox (its launcher warm after the first run) for the sandboxed tests of this module."""
    with Sandbox(host=grader_host()) as sandbox:
        yield sandbox
    assert processes_of(given_uids()) == [], "a process of a sandbox uid outlived the module's sandbox"


# (Other graders may run on this machine at the same time: "no process of a sandbox uid" is checked for the uids
# this test process handed out.)


@pytest.fixture(scope="module")
def graded(assignment):
    """(reference, context): what grade_notebook compares with."""
    from autograder.reference import reference_outputs

    return reference_outputs(assignment), assignment.make_context("cpu")


def example(assignment, name: str) -> Path:
    return examples_dir(assignment) / f"{name}.ipynb"


def grade_file(path, assignment, graded, sandbox, limits=LIMITS):
    reference, context = graded
    result, figures = grade_notebook(path, "student", assignment, reference, context, "key", limits, "cpu", sandbox)
    return result, figures


def text(result) -> str:
    return "\n".join([c.message for c in result.checks] + result.notes + [result.output_tail])


def spy_output(warm, assignment, source: str, limits=LIMITS) -> str:
    obs = observe([Cell(assignment.functions[0], source, 0)], assignment, limits, "cpu", warm)
    return obs.output_tail


# ------------------------------------------------------------------- 1. nothing from a student raises in the parent

@needs_namespaces
def test_student_text_and_forged_messages_become_failed_checks(assignment, graded, warm):
    """Lone surrogates in exceptions and printed text, headers with a list where a string belongs, and an .npy
    header declaring 2**40 values: each a failed check with a message; the page and the result encode as UTF-8."""
    surrogates, _ = grade_file(example(assignment, "hostile_surrogate_text"), assignment, graded, warm)
    forged, figures = grade_file(example(assignment, "hostile_forged_message_types"), assignment, graded, warm)
    for result in (surrogates, forged):
        render(result, figures).encode("utf-8")   # strict: a lone surrogate would raise here
        json.loads(result.to_json())
    assert "broken text" in text(surrogates) and "ValueError" in text(surrogates)
    assert any("could not be read" in c.message or "garbled" in c.message for c in forged.checks), text(forged)


# --------------------------------------------------------------------------------- 2. nothing outlives its turn

@needs_namespaces
def test_student_code_never_is_the_namespace_init(assignment, warm):
    """The process running student code is not PID 1 of its namespace; PID 1 is a privileged supervisor the
    student cannot signal or trace."""
    out = spy_output(warm, assignment, """
import os, signal
status = open("/proc/1/status").read()
uid = status.split("Uid:")[1].split()[0]
try:
    os.kill(1, signal.SIGKILL)
    killed = "sent"
except OSError as err:
    killed = type(err).__name__
print("SPY", os.getpid(), uid, killed)
""")
    pid, init_uid, killed = re.search(r"SPY (\d+) (\d+) (\w+)", out).groups()
    assert pid != "1" and killed != "sent"
    if warm.level == "namespaces":
        assert init_uid == "0"


@needs_namespaces
@pytest.mark.parametrize("attack", ["holds_pipes", "outlives_turn"])
def test_a_process_that_clears_its_parent_death_signal_dies_with_its_turn(assignment, graded, warm, attack):
    """The student's process clears its parent-death signal and hangs (holding the pipes, or after closing them and
    forking a CPU burner into a new session): the deadline ends the run, and no process of a sandbox uid is left."""
    limits = replace(LIMITS, timeout_s=4)
    result, _ = grade_file(example(assignment, f"hostile_{attack}"), assignment, graded, warm, limits)
    assert "did not finish within the time limit" in text(result)
    assert processes_of(given_uids()) == []


# --------------------------------------------------------------------------------- 3. one deadline per submission

@needs_namespaces
def test_one_deadline_for_the_whole_submission(assignment, graded, warm, monkeypatch):
    """A hang in every function's cell: the runs of the submission together never get more than its one
    deadline (each restart only what is left of it)."""
    from autograder.sandbox.parent import Turn

    runs = []
    original = Turn.run

    def recording(self, job, budget_s):
        run = original(self, job, budget_s)
        runs.append((budget_s, run.charged_s))
        return run

    monkeypatch.setattr(Turn, "run", recording)
    limits = replace(LIMITS, timeout_s=3)
    result, _ = grade_file(example(assignment, "hostile_hangs_every_cell"), assignment, graded, warm, limits)
    assert runs and runs[0][0] == 3
    assert sum(charged for _, charged in runs[:-1]) + runs[-1][0] <= 3 + 1e-9
    assert result.total == 0 and "for the whole submission" in text(result)


def test_a_submission_that_only_sleeps_still_ends(assignment, warm):
    """The deadline counts the submission's own CPU time, and its wall time while nothing of it is runnable: a
    cell that sleeps forever ends after timeout_s, long before the wall-clock backstop."""
    limits = replace(LIMITS, timeout_s=2, wall_backstop_s=60)
    obs = observe([Cell("compute_saliency_maps", "import time\ntime.sleep(10**6)\n", 0)], assignment, limits,
                  "cpu", warm)
    messages = " ".join(message for _, message in obs.probes.values() if message)
    assert "used 2 s of CPU time" in messages and "backstop" not in messages


def test_too_many_cells_or_too_much_code_is_refused_naming_the_limit():
    limits = Limits(max_cells=5, max_code_kb=1)
    assert "max_cells" in size_problem([Cell(f"c{i}", "pass", i) for i in range(6)], limits)
    assert "max_code_kb" in size_problem([Cell("c", "x = 1\n" * 400, 0)], limits)
    assert size_problem([Cell("c", "pass", 0)], limits) is None


# --------------------------------------------------------------------------------- 4. limits per submission

@needs_namespaces
def test_each_submission_has_its_own_memory_cpu_and_process_limits(assignment, warm):
    """Read from inside: the student's control groups (memory, CPU quota, pids) carry the submission's limits;
    where the machine has none, the grader says so and falls back to per-process limits (RLIMIT_AS)."""
    out = spy_output(warm, assignment, """
import resource
groups = dict(line.split(":", 2)[1:] for line in open("/proc/self/cgroup").read().splitlines())
found = {}
for controller, name in (("memory", "memory.limit_in_bytes"), ("cpu", "cpu.cfs_quota_us"), ("pids", "pids.max")):
    for folder in (f"/sys/fs/cgroup/{controller}{groups.get(controller, '?')}", f"/sys/fs/cgroup{groups.get('', '?')}"):
        try:
            found[controller] = open(f"{folder}/{name}").read().strip()
            break
        except OSError:
            pass
print("SPY", found, resource.getrlimit(resource.RLIMIT_AS)[0])
""")
    usable, _ = cgroups.probe()
    line = next(l for l in out.splitlines() if l.startswith("SPY"))
    if usable:
        if "memory" in usable and usable["memory"].version == 1:
            assert f"'memory': '{LIMITS.memory_mb * 2**20}'" in line
        if "cpu" in usable and usable["cpu"].version == 1:
            assert "'cpu': '100000'" in line
        if "pids" in usable:
            assert f"'pids': '{LIMITS.processes}'" in line
    else:
        assert enforcement(warm.level) and not line.endswith(" -1")


@needs_namespaces
def test_shared_memory_counts_against_the_submission(assignment, graded, warm):
    """3 GiB of touched MAP_SHARED memory (invisible to RLIMIT_DATA) under a 768 MB limit: stopped."""
    result, _ = grade_file(example(assignment, "hostile_shared_memory_bomb"), assignment, graded, warm,
                           replace(LIMITS, memory_mb=768))
    assert "touched 3 GiB" not in result.output_tail
    assert "memory" in text(result).lower()


def test_cgroups_are_removed_after_each_submission(assignment, warm):
    """A turn's control groups exist while it runs and are gone after it."""
    usable, _ = cgroups.probe()
    with warm.turn(LIMITS) as turn:
        paths = turn.cgroup.paths if turn.cgroup else []
        assert all(Path(p).is_dir() for p in paths) and bool(paths) == bool(usable)
    assert not any(Path(p).exists() for p in paths)


def test_cgroup_v2_groups_get_the_limits(tmp_path, monkeypatch):
    """Where the grader's own cgroup v2 group delegates memory, cpu and pids, a submission's group gets
    memory.max, cpu.max and pids.max (a plain folder stands in for the cgroup file system)."""
    base = tmp_path / "grader.service"
    base.mkdir()
    (base / "cgroup.subtree_control").write_text("cpu memory pids\n")
    mountinfo = f"30 23 0:26 / {tmp_path} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
    usable, missing = cgroups.hierarchies(mountinfo, "0::/grader.service\n")
    assert missing == () and {h.version for h in usable.values()} == {2} and set(usable) == set(cgroups.CONTROLLERS)
    monkeypatch.setattr(cgroups, "probe", lambda: (usable, missing))
    group = cgroups.Cgroup.create("t", 512, 2, 64)
    (folder,) = map(Path, group.paths)
    assert folder.parent == base and (folder / "memory.max").read_text() == str(512 * 2**20)
    assert (folder / "cpu.max").read_text() == "200000 100000" and (folder / "pids.max").read_text() == "64"


def test_without_usable_cgroups_the_grader_warns_once_what_is_not_limited(tmp_path, monkeypatch):
    """No cgroup mount, or a v1 folder that is not writable, or a v2 group that does not delegate: each
    controller's reason, and the warning lines the batch prints once."""
    locked = tmp_path / "locked"
    locked.mkdir()
    mountinfo = (f"35 31 0:32 / {tmp_path}/memory rw - cgroup cgroup rw,memory\n"
                 f"41 31 0:38 / {tmp_path} rw - cgroup2 cgroup2 rw\n")
    (tmp_path / "memory" / "locked").mkdir(parents=True)
    os.chmod(tmp_path / "memory" / "locked", 0o555)
    usable, missing = cgroups.hierarchies(mountinfo, "4:memory:/locked\n0::/locked\n")
    if os.geteuid() != 0:   # (root may write anywhere)
        assert "memory" not in usable
    assert any("does not delegate" in m for m in missing)
    monkeypatch.setattr(cgroups, "probe", lambda: ({}, ("memory: x", "cpu: y", "pids: z")))
    lines = enforcement("namespaces")
    assert len(lines) == 4 and "RLIMIT_AS" in lines[0] and "RLIMIT_CPU" in lines[1] and "RLIMIT_NPROC" in lines[2]
    assert cgroups.Cgroup.create("t", 512, 1, 64) is None


# --------------------------------------------------------------------------------- 5. non-finite = fail

def _fake_assignment(verify, side_effect=False):
    probe = Probe("p", "f", lambda fn, ctx: {})
    return Assignment("fake", "fake.ipynb", ("f",), (Check("c", probe, 1, "d", verify, Tolerance(),
                                                           side_effect=side_effect),), lambda device: None)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_verdict_on_non_finite_student_arrays_fails(bad):
    """A check that (wrongly) passes anything: NaN/inf in the student's arrays still fail it, with a message;
    a side-effect check may pass whatever the function returned."""
    always = lambda s, r, ctx, tol: Verdict(True, "ok")   # noqa: E731
    outputs = {"out": np.array([1.0, bad], np.float32)}
    obs = Observation(probes={"p": (outputs, None)})
    (result,), _ = verify_all(_fake_assignment(always), obs, {"p": {}}, None, Limits())
    assert not result.passed and "NaN or infinite" in result.message and "`out`" in result.message
    (side,), _ = verify_all(_fake_assignment(always, side_effect=True), obs, {"p": {}}, None, Limits())
    assert side.passed


def test_require_finite_turns_a_nan_computation_into_a_failed_check():
    """A check that computes the trusted model's scores on a huge image and calls require_finite fails with that
    message instead of comparing NaN (which would say "fooled")."""
    from autograder.arrays import require_finite

    def verify(s, r, ctx, tol):
        scores = require_finite(np.array([np.nan, 1.0]), "the model's scores on your image")
        return Verdict(bool(scores[0] >= scores[1] - 1), "fooled")

    obs = Observation(probes={"p": ({"out": np.ones(2)}, None)})
    (result,), _ = verify_all(_fake_assignment(verify), obs, {"p": {}}, None, Limits())
    assert not result.passed and "the model's scores on your image contains 1 NaN" in result.message
    with pytest.raises(SubmissionError):
        require_finite([1.0, np.inf], "x")


# ------------------------------------------------------------------------- 6. trusted state out of reach, verified

@pytest.fixture
def private_cache(tmp_path, monkeypatch, assignment, graded):
    """A cache folder and a digest folder of this test's own, holding the verified reference."""
    from autograder import reference as ref

    monkeypatch.setenv("AUTOGRADER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("AUTOGRADER_STATE", str(tmp_path / "state"))
    name = ref.cache_name(assignment)
    buffer = __import__("io").BytesIO()
    np.savez(buffer, **{f"{p}/{k}": v for p, arrays in graded[0].items() for k, v in arrays.items()})
    ref.store_reference(name, buffer.getvalue())
    computed = []
    monkeypatch.setattr(ref, "_compute", lambda a, timeout: computed.append(a.id) or buffer.getvalue())
    return ref, tmp_path / "cache" / name, computed


def nonzero(outputs) -> bool:
    return any(a.any() for arrays in outputs.values() for a in arrays.values())


def test_a_rewritten_reference_cache_is_not_used(assignment, graded, private_cache):
    """A submission (under the fallback isolation) zeroed the cached reference: its digest no longer matches, so
    the reference is recomputed, and the cache rewritten, before anyone is graded against it."""
    ref, path, computed = private_cache
    assert nonzero(ref.reference_outputs(assignment)) and computed == []
    os.chmod(path, 0o644)
    with np.load(path) as npz:
        zeros = {k: np.zeros_like(npz[k]) for k in npz.files}
    np.savez(path, **zeros)
    outputs = ref.reference_outputs(assignment)
    assert computed == [assignment.id] and nonzero(outputs)
    assert ref._verified(path.name) is not None


def test_hidden_test_cells_never_write_the_cache(assignment, private_cache, monkeypatch):
    """Inside a Jupyter kernel (nbgrader's hidden-test cells, next to the student's code) a missing or
    unverifiable cache is recomputed in memory, never written; the digests are untouched."""
    ref, path, computed = private_cache
    digest = ref.digest_dir() / f"{path.name}.sha256"
    path.unlink()
    monkeypatch.setitem(sys.modules, "ipykernel", sys.modules.get("ipykernel") or type(sys)("ipykernel"))
    assert set(ref.reference_outputs(assignment)) == {p.name for p in assignment.probes}
    assert computed == [assignment.id] and not path.exists() and digest.exists()


def test_after_a_batch_without_isolation_the_digests_are_dropped(assignment, private_cache):
    ref, path, computed = private_cache
    ref.forget_digests(assignment)
    assert ref._verified(path.name) is None   # in doubt: the next use recomputes


@needs_namespaces
def test_no_per_uid_state_or_home_passes_between_students(assignment, graded, warm):
    """Two students in a row on one sandbox slot: fresh uid (user keyrings), a fresh session keyring and a fresh
    HOME: the second finds nothing the first left."""
    outputs = []
    for _ in range(2):
        for attack in ("keyring_message", "home_leftover"):
            result, _ = grade_file(example(assignment, f"hostile_{attack}"), assignment, graded, warm)
            outputs.append(result.output_tail)
    assert sum("keyring messages found: none" in o for o in outputs) == 2, outputs
    assert sum("leftover files found: none" in o for o in outputs) == 2, outputs


def test_every_turn_gets_a_fresh_uid(warm):
    if warm.level != "namespaces":
        return
    with warm.turn(LIMITS) as first, warm.turn(LIMITS) as second:
        assert first.uid != second.uid and {first.uid, second.uid} <= set(SANDBOX_UIDS)


# ----------------------------------------------- 7-9. every submission gets a row; ids; regular files only


def _nested(depth: int) -> str:
    return '{"cells": [' + "[" * depth + "]" * depth + "]}"


@pytest.fixture(scope="module")
def odd_batch(tmp_path_factory, assignment):
    """One small batch of the submissions the issue says got no row, crashed the parent or collided."""
    folder = tmp_path_factory.mktemp("odd")
    release = release_notebook(assignment).read_bytes()
    names = {"x y": release, "x_y": release, "=HYPERLINK(1)": release, "@SUM(1)": release, "Alice": release,
             "alice": release, "nested": _nested(100_000).encode(), "many_cells": None, "surrogates": None,
             "forged_step": None}
    nb = json.loads(release)
    nb["cells"] = [{"cell_type": "code", "metadata": {"nbgrader": {"solution": True}}, "source": "pass",
                    "outputs": [], "execution_count": None}] * 40
    names["many_cells"] = json.dumps(nb).encode()
    names["surrogates"] = example(assignment, "hostile_surrogate_text").read_bytes()
    names["forged_step"] = example(assignment, "hostile_forged_step_then_exit").read_bytes()
    for name, data in names.items():
        (folder / f"{name}.ipynb").write_bytes(data)
    (folder / os.fsdecode(b"bad\xff\xfe name.ipynb")).write_bytes(release)
    os.symlink(example(assignment, "perfect"), folder / "linked.ipynb")
    os.mkfifo(folder / "fifo.ipynb")
    with open(folder / "huge.ipynb", "wb") as f:   # sparse: larger than any notebook the grader reads
        f.truncate(60 * 2**20)
    out = tmp_path_factory.mktemp("odd-out")
    submissions = find_submissions([folder], assignment)
    results = grade_batch(submissions, assignment, out / "grades.csv", out / "feedback", workers=1,
                          limits=replace(LIMITS, max_cells=30), device="cpu", log=lambda *_: None)
    return folder, out, submissions, {r.student: r for r in results}


@needs_namespaces
def test_every_odd_submission_gets_one_row_and_a_reason(odd_batch):
    folder, out, submissions, results = odd_batch
    rows = (out / "grades.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert len(rows) == len(submissions) == len(results) == 14
    assert all(r.graded for r in results.values())
    reasons = {"linked": "symbolic link", "fifo": "not a regular file", "nested": "nested too deeply",
               "huge": "larger than", "many_cells": "max_cells", "forged_step": "ended the process (exit code 3)",
               "surrogates": "broken text"}
    for student, reason in reasons.items():
        assert reason in text(results[student]), text(results[student])
        assert results[student].total == 0 or student == "surrogates"   # (built on one_bug)


@needs_namespaces
def test_student_ids_are_unique_reversible_and_spreadsheet_safe(odd_batch):
    folder, out, submissions, results = odd_batch
    names = {os.fsencode(p.name)[:-len(b".ipynb")] for p in folder.iterdir()}
    assert {urllib.parse.unquote_to_bytes(s) for s in results} == names
    assert "bad%ff%fe name" in results and "x y" in results and "x_y" in results
    first_cells = [line.split(",")[0] for line in (out / "grades.csv").read_text().splitlines()[1:]]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in first_cells)
    assert "'=HYPERLINK(1)" in first_cells and "'@SUM(1)" in first_cells


@needs_namespaces
def test_feedback_file_names_never_collide(odd_batch):
    """One page per student, even for ids that differ only by a space/underscore or by case (on a
    case-insensitive file system too)."""
    folder, out, submissions, results = odd_batch
    pages = [p.name for p in (out / "feedback").glob("*.html")]
    assert len(pages) == len({p.casefold() for p in pages}) == len(results)
    for student in ("x y", "x_y", "Alice", "alice"):
        page = (out / "feedback" / f"{safe_name(student)}.html").read_text()
        assert f"feedback for {student}" in page


def test_safe_names_and_ids_by_construction():
    ids = [student_id(n) for n in ("x y", "x_y", "X_y", "%41", "A", "a", b"\xff", "\u202eevil", ".hidden", "a/b")]
    assert len(set(ids)) == len(ids) == len({safe_name(i).casefold() for i in ids})
    assert all(re.fullmatch(r"[a-z0-9_.%~-]+", safe_name(i)) and not safe_name(i).startswith(".") for i in ids)
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("\tx") == "'\tx" and csv_cell("bob") == "bob"


def test_a_symlinked_student_folder_is_not_followed(assignment, tmp_path):
    """nbgrader's layout: a student folder that is a link to the solutions is a row of zeros, never read."""
    submitted = tmp_path / "submitted"
    (submitted / "bob" / assignment.id).mkdir(parents=True)
    shutil.copy(release_notebook(assignment), submitted / "bob" / assignment.id / assignment.notebook)
    (tmp_path / "elsewhere" / assignment.id).mkdir(parents=True)
    shutil.copy(example(assignment, "perfect"), tmp_path / "elsewhere" / assignment.id / assignment.notebook)
    os.symlink(tmp_path / "elsewhere", submitted / "eve")
    subs = {s.student: s for s in find_submissions([submitted], assignment)}
    assert set(subs) == {"bob", "eve"} and subs["bob"].problem is None and "symbolic link" in subs["eve"].problem


def test_a_grader_failure_still_gives_a_row_and_is_retried_next_run(assignment, tmp_path, monkeypatch):
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        raise GraderError("the launcher died")

    monkeypatch.setattr(batch_module, "grade_notebook", failing)
    shutil.copy(release_notebook(assignment), tmp_path / "s.ipynb")
    results = grade_batch(find_submissions([tmp_path / "s.ipynb"], assignment), assignment, tmp_path / "g.csv",
                          tmp_path / "fb", limits=LIMITS, log=lambda *_: None)
    (result,) = results
    assert len(calls) == 2 and not result.graded and result.total == 0
    assert (tmp_path / "g.csv").read_text().count("\n") == 2
    assert not (tmp_path / "fb" / ".results").exists() and (tmp_path / "fb" / "s.html").exists()


# --------------------------------------------------------------------------------- 10. feedback gives nothing away

def _decode_png(b64: str) -> np.ndarray:
    from PIL import Image
    import io

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB"))


def test_unsafe_reference_pictures_are_shown_coarse():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    heat = rng.random((64, 64))
    for kind, picture in (("rgb", rgb), ("heatmap", heat)):
        _, shown = figure_pngs(picture, picture, kind, reference_safe=False)
        decoded = _decode_png(shown)
        blocks = {tuple(map(tuple, decoded[i:i + 8, j:j + 8].reshape(-1, 3))) for i in range(0, 64, 8)
                  for j in range(0, 64, 8)}
        assert all(len(set(b)) == 1 for b in blocks) or len(np.unique(decoded.reshape(-1, 3), axis=0)) <= 4 ** 3
        _, full = figure_pngs(picture, picture, kind, reference_safe=True)
        assert len(np.unique(_decode_png(full).reshape(-1, 3), axis=0)) > 100
    assert coarse(heat).std() < heat.std()


def test_reference_pictures_on_the_page_cannot_be_handed_in(assignment, graded):
    """Issue 7's leak (the reference fooling image decoded from the page passed both fooling checks): on the page
    of the reference's own outputs, a reference picture appears in full only where its check marked it safe; and
    every RGB reference picture that has the size of an image the probe returns, decoded back into that image
    and handed in, passes none of the checks of that probe."""
    from hwlib import SQUEEZENET_MEAN, SQUEEZENET_STD

    from autograder.grade import SubmissionResult

    reference, context = graded
    obs = Observation(probes={name: (arrays, None) for name, arrays in reference.items()})
    results, figures = verify_all(assignment, obs, reference, context, Limits())
    page = render(SubmissionResult("perfect", assignment.id, "p.ipynb", "0", "k", results), figures)
    shown = [f for figs in figures.values() for f in figs]
    assert page.count('alt="reference"') == sum(f.reference_safe for f in shown)
    assert page.count('alt="reference (coarse view)"') == sum(not f.reference_safe for f in shown)
    tried = 0
    for check in assignment.checks:
        for figure in figures.get(check.name, ()):
            if figure.kind != "rgb" or figure.reference_safe:
                continue
            _, b64 = figure_pngs(figure.student, figure.reference, "rgb", False)
            picture = _decode_png(b64)
            h, w = figure.reference.shape[:2]
            picture = picture[:: picture.shape[0] // h, :: picture.shape[1] // w][:h, :w]
            image = ((picture / 255.0 - SQUEEZENET_MEAN) / SQUEEZENET_STD).transpose(2, 0, 1)[None]
            for key, array in reference[check.probe.name].items():
                if array.ndim == 4 and array.shape[1:] == (3, h, w) and array.dtype.kind == "f":
                    outputs = {**reference[check.probe.name], key: np.repeat(image, len(array), 0).astype(array.dtype)}
                    probe_checks = tuple(c for c in assignment.checks if c.probe.name == check.probe.name)
                    verdicts, _ = verify_all(replace(assignment, checks=probe_checks),
                                             Observation(probes={check.probe.name: (outputs, None)}), reference,
                                             context, Limits())
                    tried += 1
                    assert not any(v.passed and not c.side_effect for v, c in zip(verdicts, probe_checks)), \
                        [v.message for v in verdicts]
    assert tried or not any(f.kind == "rgb" for f in shown)


# The must-show batch (every hostile example next to perfect, one_bug and a slow but honest solution, 2 workers,
# within the time bound, no process left) is the registry-wide example batch: see test_grading_examples.py.
