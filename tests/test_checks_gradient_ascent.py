"""Notebook 01's checks module, in process: deterministic context, the reference gradient swapped in for the ascent
probe, every example body scored as the module says, and verdicts that never raise on hostile arrays."""
import json

import numpy as np
import pytest
import torch

from autograder.assignments import solution_notebook
from autograder.check import Verdict
from autograder.checks import gradient_ascent as checks
from fixtures import examples_for
from fixtures.generate import fill

A = checks.ASSIGNMENT
EXAMPLES = examples_for(A.id)


@pytest.fixture(scope="module")
def ctx():
    return A.make_context("cpu")


@pytest.fixture(scope="module")
def solution_cells():
    nb = json.loads(solution_notebook(A).read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]
            if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("solution")}


def namespace(cells, bodies=None):
    ns = {}
    for fn in A.functions:
        exec(fill(cells[fn], (bodies or {}).get(fn)), ns)
    return ns


def probe_all(ns, ctx):
    out = {}
    for probe in A.probes:
        try:
            out[probe.name] = probe.run(ns[probe.function], ctx)
        except Exception as err:  # a failed probe fails its checks, as in the grader
            out[probe.name] = err
    return out


@pytest.fixture(scope="module")
def reference(solution_cells, ctx):
    ref = probe_all(namespace(solution_cells), ctx)
    assert not [k for k, v in ref.items() if isinstance(v, Exception)], ref
    return ref


def lost_checks(bodies, solution_cells, ctx, reference):
    student = probe_all(namespace(solution_cells, bodies), ctx)
    lost = set()
    for check in A.checks:
        outputs = student[check.probe.name]
        if isinstance(outputs, Exception) or not check.verify(outputs, reference[check.probe.name], ctx,
                                                              check.tolerance).passed:
            lost.add(check.name)
    return lost


def test_context_is_deterministic_and_targets_are_not_predictions(ctx):
    """Two contexts hold the same inputs and weights; no probe target is the model's own prediction."""
    other = A.make_context("cpu")
    assert torch.equal(ctx.X, other.X) and torch.equal(ctx.targets, other.targets)
    for a, b in zip(ctx.base_model.parameters(), other.base_model.parameters()):
        assert torch.equal(a, b)
    with torch.no_grad():
        assert (ctx.base_model(ctx.X).argmax(1) != ctx.targets).all()
        assert (ctx.rgb_model(ctx.rgb_X).argmax(1) != ctx.rgb_targets).all()
        assert ctx.base_model(ctx.ascent_image).argmax(1).item() != ctx.ascent_target


def test_the_checks_module_holds_no_implementation_of_a_student_function():
    """The checks module is bound into the sandbox: no function of it may compute what a student's does (issue
    16). The gradient ascent is probed with the student's own logit_gradient."""
    import inspect

    source = inspect.getsource(checks)
    assert "reference_logit_gradient" not in source and "logit_gradient\"] = " not in source


@pytest.mark.parametrize("name", ["wrong", "one_bug", *EXAMPLES.variants])
def test_examples_score_as_the_module_says(name, solution_cells, ctx, reference):
    """wrong loses every check, one_bug some (only of its function), each variant exactly its `loses`."""
    bodies = EXAMPLES.wrong if name == "wrong" else EXAMPLES.one_bug if name == "one_bug" else EXAMPLES.variants[name].bodies
    lost = lost_checks(bodies, solution_cells, ctx, reference)
    if name == "wrong":
        assert lost == {c.name for c in A.checks}
    elif name == "one_bug":
        assert lost and {c.function for c in A.checks if c.name in lost} <= set(EXAMPLES.one_bug)
        assert lost != {c.name for c in A.checks}
    else:
        assert lost == set(EXAMPLES.variants[name].loses), (sorted(lost), EXAMPLES.variants[name].note)


HOSTILE = {"nan": lambda v: np.full_like(v, np.nan), "inf": lambda v: np.full_like(v, np.inf), "huge": lambda v: np.full_like(v, 1e38),
           "extra_axis": lambda v: v[None], "empty": lambda v: v[:0], "missing": None}


@pytest.mark.parametrize("check", A.checks, ids=[c.name for c in A.checks])
def test_hostile_outputs_fail_with_a_message_and_never_raise(check, ctx, reference):
    """Every output replaced by NaN, inf, huge values, an extra axis or an empty array, or missing: a failed verdict
    with a message, never an exception (side-effect checks may pass: they judge what happened to the inputs)."""
    ref = reference[check.probe.name]
    outputs = [k for k, v in ref.items() if v.dtype.kind == "f" and k != "x_after"]
    for name, transform in HOSTILE.items():
        student = {k: v for k, v in ref.items() if not (transform is None and k in outputs)}
        if transform is not None:
            student.update({k: transform(ref[k]) for k in outputs})
        verdict = check.verify(student, ref, ctx, check.tolerance)
        assert isinstance(verdict, Verdict) and len(verdict.message) > 10, name
        assert check.side_effect or not verdict.passed, (name, verdict.message)
