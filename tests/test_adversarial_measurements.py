"""hwlib.adversarial (robustness curves, per-class difficulty), hwlib.robustness (adversarial training on digits)
and hwlib.plotting_adversarial. The attacks here are tiny stand-ins written in the tests: hwlib never contains the
students' attacks."""
import matplotlib
import numpy as np
import pytest
import torch

import hwlib
from hwlib import plotting_adversarial as plots
from hwlib.adversarial import RobustnessCurve, check_epsilon, check_pixels

matplotlib.use("Agg")


class Threshold(torch.nn.Module):
    """Two classes by the mean pixel: logits (0, 40 * (mean - 0.5)); class 1 iff mean > 0.5. Known answers."""

    def forward(self, x):
        m = x.mean(dim=(1, 2, 3))
        return torch.stack([torch.zeros_like(m), 40 * (m - 0.5)], dim=1)


def push(images, labels, model, eps):
    """A stand-in untargeted attack: move every pixel by eps toward the other class."""
    direction = torch.where(labels == 1, -1.0, 1.0).view(-1, 1, 1, 1)
    return (images + eps * direction).clamp(0, 1)


def pull(images, targets, model, eps):
    """A stand-in targeted attack: move every pixel by eps toward the target class."""
    return push(images, 1 - targets, model, eps)


def threshold_data():
    means = torch.tensor([0.30, 0.45, 0.48, 0.55, 0.60, 0.90])       # distances to 0.5: .2 .05 .02 .05 .1 .4
    images = means.view(-1, 1, 1, 1).expand(-1, 1, 4, 4).contiguous()
    labels = (means > 0.5).long()
    return images, labels


def test_robustness_curve_known_answer():
    """Image i is fooled exactly when eps exceeds its distance to the decision threshold 0.5."""
    images, labels = threshold_data()
    curve = hwlib.robustness_curve(push, Threshold(), images, labels, [0, 0.03, 0.06, 0.5], progress=False)
    assert curve.clean_accuracy == 1.0
    np.testing.assert_allclose(curve.robust_accuracy, [1, 5 / 6, 3 / 6, 0])
    np.testing.assert_allclose(curve.attack_success, [0, 1 / 6, 3 / 6, 1])
    assert curve.predictions.shape == (4, 6) and curve.targets is None
    assert "robust acc" in curve.table() and len(curve.table().splitlines()) == 5


def test_targeted_curve_counts_images_that_reach_their_target():
    images, labels = threshold_data()
    targets = 1 - labels
    curve = hwlib.robustness_curve(pull, Threshold(), images, labels, [0.03, 0.5], targets=targets, progress=False)
    np.testing.assert_allclose(curve.attack_success, [1 / 6, 1])
    np.testing.assert_allclose(curve.robust_accuracy, [5 / 6, 0])


def test_untargeted_success_counts_only_images_that_were_right():
    images, labels = threshold_data()
    wrong = labels.clone()
    wrong[0] = 1                                                        # misclassified before any attack
    curve = hwlib.robustness_curve(push, Threshold(), images, wrong, [0.0], progress=False)
    assert curve.clean_accuracy == pytest.approx(5 / 6) and curve.attack_success[0] == 0


def test_batched_curve_equals_one_image_at_a_time():
    images, labels = threshold_data()
    calls = []

    def counting(x, y, model, eps):
        calls.append(len(x))
        return push(x, y, model, eps)

    eps = [0.01, 0.05, 0.2]
    batched = hwlib.robustness_curve(counting, Threshold(), images, labels, eps, batch_size=64, progress=False)
    assert calls == [6, 6, 6]
    single = hwlib.robustness_curve(push, Threshold(), images, labels, eps, batch_size=1, progress=False)
    np.testing.assert_array_equal(batched.predictions, single.predictions)


def test_curve_never_modifies_the_images():
    images, labels = threshold_data()
    before = images.clone()
    hwlib.robustness_curve(push, Threshold(), images, labels, [0.1], progress=False)
    assert torch.equal(images, before)


@pytest.mark.parametrize("attack, match", [
    (lambda x, y, m, e: x[:, :, :2], "shaped like its input"),
    (lambda x, y, m, e: (x + 2 * e).clamp(0, 1), "budget"),
    (lambda x, y, m, e: x + e, r"\[0, 1\]"),
    (lambda x, y, m, e: x * float("nan"), "NaN"),
])
def test_attacks_that_break_the_rules_are_reported(attack, match):
    images, labels = threshold_data()
    with pytest.raises(ValueError, match=match):
        hwlib.robustness_curve(attack, Threshold(), images, labels, [0.2], progress=False)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(epsilons=[-0.1]), ValueError, ">= 0"),
    (dict(epsilons=[float("inf")]), ValueError, "finite"),
    (dict(epsilons=["big"]), TypeError, "number"),
    (dict(epsilons=[]), ValueError, "at least one"),
    (dict(labels=torch.tensor([0, 1, 2, 0, 1, 1])), ValueError, r"\[0, 2\)"),
    (dict(targets=torch.tensor([0, 1, 5, 0, 1, 1])), ValueError, r"\[0, 2\)"),
    (dict(images=torch.full((6, 1, 4, 4), 1.5)), ValueError, r"\[0, 1\]"),
    (dict(images=torch.full((6, 4, 4), 0.5)), ValueError, "rank"),
    (dict(attack="fgsm"), TypeError, "function"),
    (dict(batch_size=0), ValueError, "batch_size"),
])
def test_bad_input_to_the_curve_is_a_clear_error(kwargs, error, match):
    images, labels = threshold_data()
    args = dict(attack=push, model=Threshold(), images=images, labels=labels, epsilons=[0.1], progress=False)
    with pytest.raises(error, match=match):
        hwlib.robustness_curve(**{**args, **kwargs})


def test_check_helpers():
    assert check_epsilon(torch.tensor(0.25)) == 0.25 and check_epsilon(0) == 0.0
    with pytest.raises(TypeError):
        check_epsilon(True)
    x = torch.rand(2, 1, 3, 3)
    assert check_pixels(x) is x


def test_class_difficulty_known_answer():
    """Three classes: class 0 is fooled at the first budget, class 1 at the second (median of 2, 2 and never ->
    the second), class 2 is never fooled; the misclassified image of class 2 does not count."""
    labels = np.array([0, 0, 1, 1, 1, 2, 2])
    clean = np.array([0, 0, 1, 1, 1, 2, 0])
    predictions = np.array([[1, 1, 0, 0, 1, 2, 0],     # eps 0.1 (listed first on purpose: order is irrelevant)
                            [0, 0, 1, 1, 1, 2, 0],     # eps 0.0
                            [1, 1, 1, 1, 1, 2, 0]])    # eps 0.05
    curve = RobustnessCurve(np.array([0.1, 0.0, 0.05]), predictions, labels, clean)
    d = hwlib.class_difficulty(curve, ["zero", "one", "two"])
    np.testing.assert_array_equal(d.counts, [2, 3, 1])
    np.testing.assert_array_equal(d.epsilons, [0.0, 0.05, 0.1])
    assert d.median_epsilon[0] == 0.05 and d.median_epsilon[1] == 0.1 and np.isinf(d.median_epsilon[2])
    np.testing.assert_allclose(d.fooled[:, -1], [1, 2 / 3, 0])
    table = d.table()
    assert table.splitlines()[1].startswith("two") and "never" in table


def test_class_difficulty_refuses_targeted_curves_and_short_name_lists():
    images, labels = threshold_data()
    targeted = hwlib.robustness_curve(pull, Threshold(), images, labels, [0.1], targets=1 - labels, progress=False)
    with pytest.raises(ValueError, match="untargeted"):
        hwlib.class_difficulty(targeted, ["a", "b"])
    untargeted = hwlib.robustness_curve(push, Threshold(), images, labels, [0.1], progress=False)
    with pytest.raises(ValueError, match="class names"):
        hwlib.class_difficulty(untargeted, ["a"])


# ----------------------------------------------------------------------------------------------- adversarial training

@pytest.fixture(scope="module")
def digits():
    train = hwlib.load_digits("offline", split="train")
    return train.images[:256], train.labels[:256]


def sign_attack(images, labels, model, eps):
    """A stand-in FGSM, so that training has an attack to call (the students write the real one)."""
    x = images.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(torch.nn.functional.cross_entropy(model(x), labels), x)
    return (images + eps * grad.sign()).clamp(0, 1)


def test_training_is_deterministic_and_leaves_global_randomness_alone(digits):
    images, labels = digits
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = hwlib.train_digit_classifier(images, labels, epochs=1, progress=False)
    assert torch.equal(torch.rand(1), expected_next)
    b = hwlib.train_digit_classifier(images, labels, epochs=1, progress=False)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
    assert not a.model.training and all(not p.requires_grad for p in a.model.parameters())
    assert len(a.losses) == 1 and a.seconds > 0 and a.adversarial_fraction == 0.0


def test_adversarial_training_calls_the_attack_on_the_model_being_trained(digits):
    images, labels = digits
    seen = []

    def spy(x, y, model, eps):
        seen.append((len(x), eps, model.training, next(model.parameters()).detach().clone()))
        return sign_attack(x, y, model, eps)

    run = hwlib.train_digit_classifier(images, labels, epochs=1, attack=spy, eps=0.1, batch_size=64, progress=False)
    assert [s[0] for s in seen] == [64, 64, 64, 64] and all(s[1] == 0.1 for s in seen)
    assert not torch.equal(seen[0][3], seen[-1][3])        # the weights change between batches
    assert run.adversarial_fraction == 0.5 and run.eps == 0.1


def test_adversarial_training_raises_robust_accuracy_on_the_training_digits(digits):
    """Three epochs on 256 digits: FGSM accuracy at eps = 0.2 on those digits rises with adversarial training."""
    images, labels = digits
    plain = hwlib.train_digit_classifier(images, labels, epochs=3, progress=False).model
    robust = hwlib.train_digit_classifier(images, labels, epochs=3, attack=sign_attack, eps=0.2,
                                          progress=False).model
    acc = {name: hwlib.robustness_curve(sign_attack, m, images, labels, [0.2], progress=False).robust_accuracy[0]
           for name, m in (("plain", plain), ("robust", robust))}
    assert acc["robust"] > acc["plain"] + 0.1, acc


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(epochs=0), ValueError, "epochs"),
    (dict(eps=-1.0), ValueError, ">= 0"),
    (dict(adversarial_fraction=1.5), ValueError, r"\[0, 1\]"),
    (dict(attack=3), TypeError, "function"),
    (dict(model="cnn"), TypeError, "Module"),
    (dict(labels=torch.full((256,), 10)), ValueError, r"\[0, 10\)"),
    (dict(images=torch.full((256, 1, 28, 28), 2.0)), ValueError, r"\[0, 1\]"),
    (dict(images=torch.rand(256, 3, 28, 28)), ValueError, "channels"),
])
def test_bad_training_input_is_a_clear_error(digits, kwargs, error, match):
    images, labels = digits
    args = dict(images=images, labels=labels, epochs=1, progress=False)
    with pytest.raises(error, match=match):
        hwlib.train_digit_classifier(**{**args, **kwargs})


def test_a_wrong_shaped_attack_output_stops_training(digits):
    images, labels = digits
    with pytest.raises(ValueError, match="shaped like its input"):
        hwlib.train_digit_classifier(images, labels, epochs=1, attack=lambda x, y, m, e: x[:1], eps=0.1,
                                     progress=False)


# ------------------------------------------------------------------------------------------------------------ plots

def test_plots_draw_titled_figures():
    import matplotlib.pyplot as plt

    images, labels = threshold_data()
    rgb = images.expand(-1, 3, -1, -1)
    probs = torch.tensor([[0.7, 0.3]] * 6)
    curve = hwlib.robustness_curve(push, Threshold(), images, labels, [0, 0.1], progress=False)
    figures = [
        plots.show_predictions(rgb[:2], probs[:2], ["a", "b"], titles=["x", "y"]),
        plots.show_adversarial(rgb, (rgb + 0.01).clamp(0, 1), ["a", "b"], probs, probs.flip(1), max_images=2),
        plots.plot_probability_trajectory(torch.rand(5, 2), ["a", "b"]),
        plots.plot_robustness_curves({"push": curve}),
        plots.plot_class_difficulty(hwlib.class_difficulty(curve, ["a", "b"])),
        plots.show_linear_weights(torch.randn(2, 16), ["a", "b"], image_shape=(4, 4)),
    ]
    for fig in figures:
        titles = [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]
        assert any(titles), fig
        plt.close(fig)


@pytest.mark.parametrize("call", [
    lambda: plots.show_predictions(torch.rand(2, 3, 4, 4), torch.rand(2, 3), ["a", "b"]),
    lambda: plots.show_adversarial(torch.rand(2, 3, 4, 4), torch.rand(2, 3, 5, 5), ["a"], None, None),
    lambda: plots.plot_probability_trajectory(torch.rand(5, 3), ["a", "b"]),
])
def test_plots_refuse_mismatched_shapes(call):
    with pytest.raises(ValueError, match="expected"):
        call()


def test_training_runs_on_one_cpu_thread_and_restores_the_setting(digits):
    images, labels = digits
    seen = []

    def spy(x, y, model, eps):
        seen.append(torch.get_num_threads())
        return sign_attack(x, y, model, eps)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        hwlib.train_digit_classifier(images[:64], labels[:64], epochs=1, attack=spy, eps=0.1, progress=False)
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
