"""The visible checks of the solution notebooks' finite-difference cells, executed as they are in the notebook
(the cell's own source), across seeds and thread counts: the solution passes each with at least 5x margin
(the printed "relative difference X (allowed Y)": Y / X >= 5), and the classic wrong `compute_gradient` of notebook
03 (``requires_grad_()`` on the caller's image, ``.backward()``, ``return image.grad``) fails in compute_gradient's
own check cell with a message that names the property. The margins are printed (``pytest -s``)."""
from __future__ import annotations

import contextlib
import copy
import io
import re

import nbformat
import numpy as np
import pytest
import torch

import hwlib
from autograder.assignments import registered, solution_notebook
from course import solution_namespace

SEEDS = {1: (0, 1, 2), 2: (0, 1)}     # thread count -> seeds (kept small: the suite runs on 2 busy cores)
THREADS = tuple(SEEDS)


def assignment(function: str):
    """The registered assignment whose students write ``function`` (looked up, never named)."""
    return next(a for a in registered() if function in a.functions)


_NAMESPACES: dict[str, dict] = {}


def solution(function: str) -> dict:
    """The solution's functions of the assignment of ``function``, extracted once per test session."""
    if function not in _NAMESPACES:
        _NAMESPACES[function] = solution_namespace(assignment(function))
    return _NAMESPACES[function]


def check_cell(function: str, owner: str | None = None) -> str:
    """The source of the first plain code cell (no nbgrader id) after ``function``'s solution cell, in the notebook
    of the assignment that has ``owner`` (default: ``function``; two notebooks have a compute_saliency_maps)."""
    cells = nbformat.read(solution_notebook(assignment(owner or function)), as_version=4).cells
    start = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == function)
    return next(c.source for c in cells[start + 1:] if c.cell_type == "code" and "nbgrader" not in c.metadata)


def run_cell(source: str, namespace: dict) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<visible check>", "exec"), namespace)
    return out.getvalue()


def margin(printed: str) -> float:
    found = re.search(r"relative difference ([\d.e+-]+) \(allowed ([\d.e+-]+)\)", printed)
    assert found, printed
    return float(found.group(2)) / max(float(found.group(1)), 1e-300)


@pytest.fixture(params=THREADS, ids=lambda t: f"threads{t}")
def threads(request):
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def shapes():
    model, class_names, _ = hwlib.load_pixel_classifier("offline", device="cpu")
    samples = hwlib.load_sample_images(10, source="offline")
    return model, samples


def test_logit_gradient_check_margin(threads):
    """Notebook 01: the directional finite difference of logit_gradient, untrained CNNs of three seeds."""
    ns = solution("logit_gradient")
    val_set = hwlib.load_digits("offline", "val")
    first_of_each = [int((val_set.labels == c).nonzero()[0]) for c in range(10)]
    source = check_cell("logit_gradient")
    for seed in SEEDS[threads]:
        namespace = dict(ns, np=np, torch=torch, copy=copy, val_set=val_set, first_of_each=first_of_each,
                         device=torch.device("cpu"), cnn_untrained=hwlib.digit_cnn(seed=seed),
                         linear_untrained=hwlib.digit_linear(seed=seed))
        m = margin(run_cell(source, namespace))
        print(f"01 logit_gradient, seed {seed}, {threads} thread(s): margin {m:.0f}x")
        assert m >= 5


def test_saliency_check_margin(threads, shapes):
    """Notebook 02: the finite difference at the most salient pixel, on three orderings of the sample images."""
    ns = solution("make_fooling_image")
    model, class_names, _ = hwlib.load_squeezenet("offline", device="cpu")
    samples = hwlib.load_sample_images(5, source="offline")
    source = check_cell("compute_saliency_maps", owner="make_fooling_image")
    for seed in SEEDS[threads]:
        order = np.random.default_rng(seed).permutation(len(samples.labels))
        X = hwlib.preprocess(samples.images[order], size=samples.image_size)
        y = torch.as_tensor(samples.labels[order])
        m = margin(run_cell(source, dict(ns, np=np, torch=torch, copy=copy, X=X, y=y, model=model)))
        print(f"02 compute_saliency_maps, seed {seed}, {threads} thread(s): margin {m:.0f}x")
        assert m >= 5


def namespace_03(ns, shapes, seed):
    model, samples = shapes
    order = np.random.default_rng(seed).permutation(len(samples.labels))
    X = torch.as_tensor(samples.images[order]).permute(0, 3, 1, 2).float() / 255
    blank = torch.full((1, 3, *X.shape[2:]), 0.5)
    with torch.no_grad():
        probabilities = model(torch.cat([X[:3], blank])).softmax(dim=1)
    return dict(ns, np=np, torch=torch, copy=copy, X=X, model=model, probabilities=probabilities)


def test_compute_gradient_check_margin(threads, shapes):
    """Notebook 03: the directional finite difference of the probability's gradient, three orderings."""
    ns = dict(solution("compute_gradient"))
    source = check_cell("compute_gradient")
    for seed in SEEDS[threads]:
        m = margin(run_cell(source, namespace_03(ns, shapes, seed)))
        print(f"03 compute_gradient, seed {seed}, {threads} thread(s): margin {m:.0f}x")
        assert m >= 5


CLASSIC = """
def compute_gradient(image, intended_outcome, model):
    image.requires_grad_()
    model(image).softmax(dim=1)[:, intended_outcome].sum().backward()
    return image.grad
"""


def test_classic_compute_gradient_fails_in_its_own_cell(shapes):
    """The classic .backward() version fails compute_gradient's check, naming requires_grad, not later in trick."""
    ns = dict(solution("compute_gradient"))
    namespace = namespace_03(ns, shapes, 0)
    exec(CLASSIC, namespace)
    with pytest.raises(AssertionError, match="requires_grad"):
        run_cell(check_cell("compute_gradient"), namespace)


@pytest.fixture(scope="module")
def food():
    model, class_names, _ = hwlib.load_food_classifier("offline", device="cpu")
    samples = hwlib.load_food_samples(10, source="offline")
    images = torch.from_numpy(samples.images).permute(0, 3, 1, 2).float().div(255)
    return model, images, torch.as_tensor(samples.labels)


def namespace_04(function, food, seed):
    model, images, labels = food
    order = torch.as_tensor(np.random.default_rng(seed).permutation(len(labels)))
    torch.manual_seed(seed)
    return dict(solution(function), np=np, torch=torch, F=torch.nn.functional, copy=copy, model=model,
                images=images[order], labels=labels[order], device=torch.device("cpu"), QUICK=True)


def test_smooth_grad_sign_flip_check_margin(threads, food):
    """Notebook 04: |gradient| before the average, on the sign-flipping model: the solution's ratio is at least twice
    the allowed 0.3 (a signed average gives about 0.1), on three orderings and seeds."""
    source = check_cell("smooth_grad")
    for seed in SEEDS[threads]:
        printed = run_cell(source, namespace_04("smooth_grad", food, seed))
        ratio = float(re.search(r"where it does not\): ([\d.]+)", printed).group(1))
        print(f"04 smooth_grad, seed {seed}, {threads} thread(s): ratio {ratio:.2f} (allowed > 0.3)")
        assert ratio >= 0.6


def test_filter_adam_step_check_margin(food):
    """Notebook 04: two Adam steps of lr 0.05 move the largest pixel by 2 lr at most (Adam's bound, 0.1001 < 0.105)
    and well above 1.5 lr (0.075), on two orderings."""
    source = check_cell("filter_explanation")
    for seed in (0, 1):
        printed = run_cell(source, namespace_04("filter_explanation", food, seed))
        moved = float(re.search(r"the largest pixel change is ([\d.]+)", printed).group(1))
        print(f"04 filter_explanation, seed {seed}: largest change {moved:.4f} (allowed 0.075..0.105)")
        assert 0.09 <= moved <= 0.1002
