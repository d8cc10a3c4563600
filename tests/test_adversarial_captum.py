"""The solution notebook's attacks (loaded the way the grader loads them) against an independent implementation:
Captum's ``captum.robust.FGSM`` and ``PGD`` on pixels in [0, 1], and a finite-difference check of the probability
gradient. If the solution's FGSM or targeted attack drifted from the textbook method, these fail."""
import numpy as np
import pytest
import torch

import hwlib
from autograder.checks.adversarial_examples import ASSIGNMENT
from course import solution_namespace

pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")


@pytest.fixture(scope="module")
def solution():
    return solution_namespace(ASSIGNMENT)


@pytest.fixture(scope="module")
def setting():
    model = hwlib.load_pixel_classifier("offline", device="cpu").model
    samples = hwlib.load_sample_images(4, source="offline")
    x = torch.from_numpy(samples.images).permute(0, 3, 1, 2).float() / 255
    return model, x, torch.as_tensor(samples.labels)


def captum_loss():
    return torch.nn.CrossEntropyLoss(reduction="none")


def test_fgsm_equals_captum(solution, setting):
    """Same model, batch and eps: every pixel of our FGSM equals Captum's (its zero-gradient threshold set to 0,
    so that both take sign(0) = 0 only where the gradient is exactly 0)."""
    from captum.robust import FGSM

    model, x, y = setting
    attack = FGSM(model, loss_func=captum_loss(), lower_bound=0.0, upper_bound=1.0)
    attack.zero_thresh = 0.0
    for eps in (1 / 255, 4 / 255):
        ours = solution["fgsm"](x, y, model, eps)
        theirs = attack.perturb(x.clone(), eps, y)
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
        assert (ours - x).abs().max() > 0.5 * eps


def test_targeted_attack_equals_captum_pgd(solution, setting):
    """Targeted L-inf PGD without random start: Captum's steps are x - alpha * sign(grad of the target's loss),
    projected into the eps-ball and [0, 1], as ours."""
    from captum.robust import PGD

    model, x, y = setting
    targets = (y + 3) % 10
    attack = PGD(model, loss_func=captum_loss(), lower_bound=0.0, upper_bound=1.0)
    attack.fgsm.zero_thresh = 0.0
    ours = solution["targeted_attack"](x, targets, model, 8 / 255, step_size=1 / 255, num_steps=10)
    theirs = attack.perturb(x.clone(), radius=8 / 255, step_size=1 / 255, step_num=10, target=targets,
                            targeted=True, random_start=False, norm="Linf")
    same = ((ours - theirs).abs() <= 1e-6).float().mean().item()
    assert same >= 0.999, f"only {same:.4%} of the pixels agree with Captum's PGD"
    with torch.no_grad():
        assert (model(ours).argmax(1) == targets).all() and (model(theirs).argmax(1) == targets).all()


def test_probability_gradient_matches_finite_differences(solution, setting):
    """Central differences in float64 at the 5 pixels with the largest gradient."""
    import copy

    model, x, _ = setting
    model64 = copy.deepcopy(model).double()
    model64.check_range = False
    x64, target = x[:1].double(), 4
    grad = solution["compute_gradient"](x64, target, model64)[0]
    h = 1e-5
    for flat in grad.abs().flatten().topk(5).indices.tolist():
        c, i, j = np.unravel_index(flat, grad.shape)
        bump = torch.zeros_like(x64)
        bump[0, c, i, j] = h
        with torch.no_grad():
            p = lambda z: model64(z).softmax(dim=1)[0, target].item()
            numeric = (p(x64 + bump) - p(x64 - bump)) / (2 * h)
        assert numeric == pytest.approx(grad[c, i, j].item(), rel=1e-3, abs=1e-12)


def test_batched_gradient_equals_per_image_gradients(solution, setting):
    model, x, _ = setting
    batched = solution["compute_gradient"](x, 2, model)
    single = torch.cat([solution["compute_gradient"](x[i:i + 1], 2, model) for i in range(len(x))])
    torch.testing.assert_close(batched, single, rtol=1e-4, atol=1e-10)


def test_linear_attack_is_fgsm_on_the_score_difference(solution):
    """For scores W x + b, the gradient of s_target - s_label is w_target - w_label whatever x: the closed form
    equals one FGSM-like step along the sign of that autograd gradient."""
    gen = torch.Generator().manual_seed(0)
    weights, bias = torch.randn(10, 16, generator=gen), torch.randn(10, generator=gen)
    x, label, target, eps = torch.rand(3, 1, 4, 4, generator=gen), torch.tensor([0, 5, 9]), 3, 0.1
    xr = x.clone().requires_grad_(True)
    scores = xr.flatten(1) @ weights.T + bias
    (grad,) = torch.autograd.grad((scores[:, target] - scores.gather(1, label[:, None])[:, 0]).sum(), xr)
    expected = (x + eps * grad.sign()).clamp(0, 1)
    torch.testing.assert_close(solution["fool_linear_classifier"](x, label, target, weights, eps), expected)


def test_trick_steps_are_normalized_by_each_images_largest_gradient(solution, setting):
    """One step moves the most sensitive pixel of every image by exactly step_size (away from 0 and 1)."""
    model, x, _ = setting
    start = 0.1 + 0.8 * x[:2]
    moved, probabilities = solution["trick"](start, 1, model, n_steps=1, step_size=0.01, classes=[1])
    change = (moved - start).abs().flatten(1).max(dim=1).values
    torch.testing.assert_close(change, torch.full((2,), 0.01), rtol=0, atol=1e-6)
    assert probabilities.shape == (2, 2, 1) and (probabilities[1] > probabilities[0]).all()
