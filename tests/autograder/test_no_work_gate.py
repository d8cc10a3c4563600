"""Issue 18, class 5: a function that does no work earns nothing, side effects and properties included.

A gated check (:attr:`Check.gated`: a side effect, or a property an answer doing nothing has, like pixels in
[0, 1]) counts only when a main check of the same function passed, or the probe's ``engaged`` verdict says the
outputs follow the model (an honest attempt that is wrong). ``follows_reference`` is that verdict; here it is
held against the no-work answers (the input echoed +- epsilon, constants, noise) and against honest mistakes
(the sign flipped, the raw gradient for its sign, another objective)."""
from __future__ import annotations

import numpy as np
import pytest

from autograder.check import Assignment, Check, Probe, Verdict, follows_reference
from autograder.grade import verify_all
from autograder.sandbox import Limits, Observation

RNG = np.random.default_rng(0)
X = RNG.uniform(0.05, 0.95, size=(4, 3, 16, 16))
GRAD = RNG.normal(size=X.shape) * 1e-3
EPS = 8 / 255
REFERENCE = np.clip(X + EPS * np.sign(GRAD), 0, 1)


class Ctx:
    x = X


def start(ctx):
    return ctx.x


def engaged(student, changes=True, key="adv", reference=REFERENCE):
    return follows_reference(key, start, changes)({key: student}, {key: reference}, Ctx())


@pytest.mark.parametrize("name, student", [
    ("echo", X.copy()), ("echo + 1e-6", (X + 1e-6).astype(np.float32)), ("echo - 1e-6", X - 1e-6),
    ("constant 0.5", np.full_like(X, 0.5)), ("constant 0", np.zeros_like(X)),
    ("uniform noise", RNG.uniform(size=X.shape)),
    ("noise around the image", np.clip(X + 0.03 * RNG.normal(size=X.shape), 0, 1)),
    ("affine in the image", 0.3 + 0.5 * X)])
def test_no_work_answers_do_not_engage(name, student):
    assert not engaged(student), name


@pytest.mark.parametrize("name, student", [
    ("correct", REFERENCE), ("sign flipped", np.clip(X - EPS * np.sign(GRAD), 0, 1)),
    ("raw gradient", X + EPS * GRAD), ("no clamp", X + EPS * np.sign(GRAD)),
    ("half the pixels", np.where(RNG.uniform(size=X.shape) < 0.5, REFERENCE, X))])
def test_honest_attempts_engage(name, student):
    assert engaged(student), name


def test_gradients_without_changes():
    other = GRAD + 0.5 * RNG.normal(size=X.shape) * 1e-3         # another objective: correlated, not equal
    assert engaged(other, changes=False, key="g", reference=GRAD)
    assert not engaged(X + 1e-6, changes=False, key="g", reference=GRAD)     # the input echoed
    assert not engaged(RNG.uniform(size=X.shape), changes=False, key="g", reference=GRAD)


def _assignment(engaged_fn=None):
    probe = Probe("p", "f", lambda fn, ctx: {}, engaged=engaged_fn)
    main = Check("main", probe, 2, "values", lambda s, r, c, t: Verdict(bool(s["ok"]), "values"))
    prop = Check("range", probe, 1, "in [0, 1]", lambda s, r, c, t: Verdict(True, "in range"), needs_work=True)
    side = Check("untouched", probe, 1, "input untouched", lambda s, r, c, t: Verdict(True, "untouched"),
                 side_effect=True)
    return Assignment("t", "t.ipynb", ("f",), (main, prop, side), lambda device: None)


def _grade(assignment, ok):
    obs = Observation()
    obs.probes["p"] = ({"ok": np.asarray(ok)}, None)
    results, _ = verify_all(assignment, obs, {"p": {}}, None, Limits())
    return {r.name: r.points for r in results}, {r.name: r.message for r in results}


def test_gated_checks_need_the_function_to_work():
    points, messages = _grade(_assignment(), ok=False)
    assert points == {"main": 0, "range": 0, "untouched": 0}
    assert "does its work" in messages["untouched"] and "does its work" in messages["range"]
    points, _ = _grade(_assignment(), ok=True)
    assert points == {"main": 2, "range": 1, "untouched": 1}


def test_an_engaged_wrong_answer_keeps_its_property_points():
    points, _ = _grade(_assignment(lambda s, r, c: True), ok=False)
    assert points == {"main": 0, "range": 1, "untouched": 1}
    points, _ = _grade(_assignment(lambda s, r, c: 1 / 0), ok=False)      # a verdict that fails engages nothing
    assert points == {"main": 0, "range": 0, "untouched": 0}


def test_every_assignment_gates_its_side_effects():
    """Every registered function with a side-effect check has a main check to gate it on."""
    from autograder.assignments import registered

    for a in registered():
        for check in a.checks:
            if check.gated:
                assert a.work_checks(check.function), f"{a.id}: {check.name} has nothing to be gated on"
