"""The fast grader's reference cannot be poisoned by code that runs as the grader's own user (an nbgrader kernel
running a student's cells as the instructor): by default nothing on disk is trusted."""
import hashlib
import io
import os

import numpy as np


def test_a_kernel_writing_cache_and_digest_does_not_poison_the_fast_grader(assignment, tmp_path, monkeypatch):
    from autograder import reference as ref

    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.delenv("AUTOGRADER_STATE", raising=False)       # the default: no state folder named
    monkeypatch.setenv("AUTOGRADER_CACHE", str(tmp_path / "cache"))
    ref._MEMORY.clear()
    name = ref.cache_name(assignment)
    honest = io.BytesIO()
    np.savez(honest, **{f"{p.name}/out": np.ones(3) for p in assignment.probes})
    computed = []
    monkeypatch.setattr(ref, "_compute", lambda a, timeout: computed.append(a.id) or honest.getvalue())

    # The attack, as a hidden-cell kernel could run it: the project's own storing function, then the same files
    # written by hand where the grader used to keep them (~/.local/state/hwlib-autograder).
    poison = io.BytesIO()
    np.savez(poison, **{f"{p.name}/out": np.zeros(3) for p in assignment.probes})
    ref.store_reference(name, poison.getvalue())
    (tmp_path / "cache").mkdir(exist_ok=True)
    (tmp_path / "cache" / name).write_bytes(poison.getvalue())
    state = home / ".local" / "state" / "hwlib-autograder"
    state.mkdir(parents=True)
    (state / f"{name}.sha256").write_text(hashlib.sha256(poison.getvalue()).hexdigest() + "\n")

    outputs = ref.reference_outputs(assignment, store=True)   # what the fast grader does
    assert computed == [assignment.id]
    assert all(a.all() for arrays in outputs.values() for a in arrays.values()), "the poisoned cache was trusted"
    assert ref.reference_outputs(assignment, store=True) and computed == [assignment.id]   # once per process
    assert not any(p.name.endswith(".sha256") for p in state.parent.rglob("*") if p.parent != state)
    ref._MEMORY.clear()


def test_a_poisoned_reference_that_fails_its_self_check_is_recomputed(assignment, tmp_path, monkeypatch):
    """With a trusted state folder, a cache whose digest verifies but which fails the checks' self-check (every
    later batch used to exit 1 without a CSV) is dropped and computed again."""
    from autograder import batch, reference as ref

    monkeypatch.setenv("AUTOGRADER_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("AUTOGRADER_CACHE", str(tmp_path / "cache"))
    calls = []
    real = ref.reference_outputs

    def fake(a, store=None, key=None):
        calls.append(a.id)
        return {"broken": {}} if len(calls) == 1 else {"good": {}}

    checked = []

    def self_check(a, reference, context):
        checked.append(sorted(reference))
        if "broken" in reference:
            raise RuntimeError("the solution's own outputs fail these checks")

    monkeypatch.setattr(batch, "reference_outputs", fake)
    monkeypatch.setattr(batch, "self_check", self_check)
    assert batch.trusted_reference(assignment, None) == {"good": {}}
    assert checked == [["broken"], ["good"]] and real is ref.reference_outputs
    assert os.environ["AUTOGRADER_STATE"] == str(tmp_path / "state")


def test_a_self_check_mark_names_one_verified_file_and_goes_with_its_digest(assignment, tmp_path, monkeypatch):
    """``mark_self_checked`` / ``self_checked``: only with a trusted state folder, only for the file the digest
    names; storing a new file, forgetting the digests or rewriting the cache file voids it."""
    from autograder import reference as ref

    key = "k" * 64
    monkeypatch.setenv("AUTOGRADER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AUTOGRADER_STATE", raising=False)
    ref.mark_self_checked(assignment, key)
    assert not ref.self_checked(assignment, key)                  # no state folder: nothing on disk is trusted
    monkeypatch.setenv("AUTOGRADER_STATE", str(tmp_path / "state"))
    name = ref.cache_name(assignment, key)

    def npz(value: float) -> bytes:
        out = io.BytesIO()
        np.savez(out, **{f"{p.name}/out": np.full(3, value) for p in assignment.probes})
        return out.getvalue()

    assert not ref.self_checked(assignment, key)                  # nothing cached
    ref.store_reference(name, npz(1.0))
    assert not ref.self_checked(assignment, key)                  # cached, never self-checked
    ref.mark_self_checked(assignment, key)
    assert ref.self_checked(assignment, key)
    assert not ref.self_checked(assignment, "j" * 64)             # another key, another file
    ref.store_reference(name, npz(2.0))                           # a new file: the old mark does not carry over
    assert not ref.self_checked(assignment, key)
    ref.mark_self_checked(assignment, key)
    cached = tmp_path / "cache" / name
    cached.chmod(0o644)
    cached.write_bytes(npz(3.0))                                  # rewritten behind the digest's back
    assert not ref.self_checked(assignment, key)
    cached.write_bytes(npz(2.0))
    assert ref.self_checked(assignment, key)
    ref.forget_digests(assignment)
    assert not ref.self_checked(assignment, key) and not list((tmp_path / "state").glob("*.checked"))
