"""Checks for notebook 03 (adversarial examples): the gradient of a probability, many small steps, FGSM, a targeted
attack in the eps-ball, and fooling a linear classifier.

Every probe uses the offline SqueezeNet 1.1 wrapped in :class:`hwlib.NormalizedClassifier` with the range check off
(so that a missing clamp costs only the check of the pixel range), the first 10 offline sample images as pixels in
[0, 1], and, for the linear classifier, a seeded random weight matrix and offline digits. Everything is
deterministic on every machine; nothing is stochastic.

How each function is judged (each verify's docstring lists the known-correct variants that keep full marks and the
known-wrong ones that lose points; ``VARIANTS`` holds an example submission of each):

- ``compute_gradient``: the gradient for a batch of two images against the reference (relative L2 error); a second
  call on the same tensor must give the same answer; the caller's tensor is a side-effect check.
- ``trick``: three steps from two images whose pixels lie in [0.1, 0.9] (so the clamp never acts): the
  displacement against the reference; the recorded probabilities' first and last rows against the trusted model's
  probabilities of the start and of the returned image; one step from a black image must stay in [0, 1].
- ``fgsm``: the signed change of every pixel (after clamping the student's image to [0, 1], so a missing clamp is
  judged only by its own check) against the reference; the budget; the pixel range; the caller's tensor.
- ``targeted_attack``: ten steps reach the target (trusted model) on four images the reference turns with a wide
  margin; the first two steps match the reference pixel by pixel; the budget; the pixel range; ``ValueError`` for
  eps < 0, an image outside [0, 1] and a target out of range; the caller's tensor.
- ``fool_linear_classifier``: the signed change of every pixel against the reference; the pixel range; the
  caller's tensor.

Every verdict treats NaN or inf anywhere as a failure; a tensor subclass or another dtype than the input's is
unusable; an attack that returns its input unchanged fails every check that is not a side-effect check. Feedback
pictures show only unsigned change magnitudes (max over channels) of the student's and of the reference's image as
8 x 8-pixel block means, which cannot be turned back into the signed per-pixel change the checks require.
"""
from __future__ import annotations

import copy
import functools

import numpy as np

from ..arrays import flag, norm_relative_error, shape_problem, to_array
from ..check import Assignment, Check, Figure, Probe, Tolerance, Verdict, follows_reference

ASSIGNMENT_ID = "03_adversarial_examples"
NOTEBOOK = "adversarial_examples.ipynb"
FUNCTIONS = ("compute_gradient", "trick", "fgsm", "targeted_attack", "fool_linear_classifier")

NUM_IMAGES = 10
GRADIENT_IMAGES, GRADIENT_TARGET = slice(0, 2), 1
TRICK_IMAGES, TRICK_TARGET, TRICK_STEPS, TRICK_STEP_SIZE = slice(2, 4), 8, 3, 2 / 255
TRICK_EDGE_STEP = 4 / 255
FGSM_IMAGES, FGSM_EPS = slice(4, 8), 4 / 255
TARGETED_IMAGES, TARGETED_SHIFT = (0, 2, 3, 5), 3    # target = (label + 3) % 10; each reached with p > 0.99
TARGETED_EPS, TARGETED_STEP, TARGETED_STEPS = 8 / 255, 1 / 255, 10
SHORT_IMAGES, SHORT_SHIFT, SHORT_STEPS = slice(8, 10), 5, 2
LINEAR_SEED, LINEAR_TARGET, LINEAR_EPS, LINEAR_COUNT = 0, 3, 0.12, 4   # not the notebook's 0.1
SLACK = 1e-6                      # float rounding of x + delta, of x - eps and of the clamps
MATCH = 1e-5                      # a pixel's change equals the reference's within this
COARSE_BLOCK = 8

_PLAIN, _SUBCLASS, _OTHER_DTYPE = 0, 1, 2


class Context:
    """The model and the inputs of notebook 03's probes; inputs live on the CPU and probes move them to ``device``.

    X: (10, 3, 128, 128) float32 pixels in [0, 1]; y: (10,) int64 labels; digits: (4, 1, 28, 28) float32 in [0, 1]
    with labels digit_y (none is LINEAR_TARGET); weights: (10, 784) float32 seeded N(0, 0.1^2)."""

    def __init__(self, device: str = "cpu"):
        import hwlib
        import torch

        loaded = hwlib.load_squeezenet("offline", device="cpu")
        samples = hwlib.load_sample_images(NUM_IMAGES, source="offline")
        self.device = torch.device(device)
        self.base_model = hwlib.NormalizedClassifier(loaded.model, hwlib.SQUEEZENET_MEAN, hwlib.SQUEEZENET_STD,
                                                     check_range=False)
        self.class_names = loaded.class_names
        self.X = torch.from_numpy(samples.images).permute(0, 3, 1, 2).float().div(255).contiguous()
        self.y = torch.as_tensor(samples.labels, dtype=torch.int64)
        digits = hwlib.load_digits("offline", split="val")
        keep = (digits.labels != LINEAR_TARGET).nonzero()[:LINEAR_COUNT, 0]
        self.digits, self.digit_y = digits.images[keep].clone(), digits.labels[keep].clone()
        gen = torch.Generator().manual_seed(LINEAR_SEED)
        self.weights = 0.1 * torch.randn(10, 28 * 28, generator=gen)

    def fresh_model(self):
        """A private copy of the model on ``device`` (so one probe cannot spoil the next), frozen as the notebook
        says its classifier is (eval mode, every weight's ``requires_grad`` off): ``.backward()`` on a copy of the
        image, which the notebook allows, then leaves no ``.grad`` on the weights. A result computed from an image
        that requires a gradient still keeps its gradient history, which the side-effect checks see."""
        model = copy.deepcopy(self.base_model).to(self.device).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return model

    def on_device(self, tensor):
        return tensor.clone().to(self.device)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    # --------------------------------------------------------------------------------- trusted inputs and outputs
    def gradient_images(self):
        return self.X[GRADIENT_IMAGES]

    def trick_images(self):
        return 0.1 + 0.8 * self.X[TRICK_IMAGES]          # pixels in [0.1, 0.9]: three steps never reach 0 or 1

    def trick_classes(self) -> list[int]:
        return [TRICK_TARGET, *(int(c) for c in self.y[TRICK_IMAGES])]

    def edge_image(self):
        import torch

        return torch.zeros(1, *self.X.shape[1:])

    def targeted_inputs(self):
        index = list(TARGETED_IMAGES)
        return self.X[index], (self.y[index] + TARGETED_SHIFT) % self.num_classes

    def short_inputs(self):
        """Two images with pixels in [0.1, 0.9] (two steps of 1/255 never reach 0 or 1, so only the steps show)."""
        return 0.1 + 0.8 * self.X[SHORT_IMAGES], (self.y[SHORT_IMAGES] + SHORT_SHIFT) % self.num_classes

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Trusted softmax probabilities ``(N, C)`` float64 of float32 pixels ``(N, 3, H, W)`` (may hold NaN)."""
        import torch

        with torch.no_grad():
            logits = self.base_model(torch.from_numpy(np.ascontiguousarray(images, np.float32))).double()
            return logits.softmax(dim=1).numpy()

    def gradients(self, images: np.ndarray, target: int, objective: str) -> np.ndarray:
        """Trusted float64 gradients ``(N, 3, H, W)`` of each image's ``objective`` of class ``target``:
        ``"probability"``, ``"logit"`` or ``"log_probability"``."""
        import torch

        x = torch.from_numpy(np.ascontiguousarray(images, np.float32)).requires_grad_(True)
        logits = self.base_model(x)
        chosen = {"probability": lambda: logits.softmax(1)[:, target],
                  "logit": lambda: logits[:, target],
                  "log_probability": lambda: logits.log_softmax(1)[:, target]}[objective]()
        (grad,) = torch.autograd.grad(chosen.sum(), x)
        return grad.double().numpy()


@functools.lru_cache(maxsize=4)
def make_context(device: str = "cpu") -> Context:
    """The Context for ``device``, built once per process (nbgrader runs one hidden cell per check, each asking for
    it). Probes hand the student's code only copies of its model and inputs; nothing writes to it."""
    return Context(device)


# ---------------------------------------------------------------------------------------------- probes (untrusted side)

def _kind(value, like) -> np.ndarray:
    """How usable a returned tensor is, as a 0-d array: plain, a tensor subclass, or another dtype than ``like``."""
    import torch

    if type(value) not in (torch.Tensor, torch.nn.Parameter):
        return np.asarray(_SUBCLASS)
    return np.asarray(_PLAIN if value.dtype == like.dtype else _OTHER_DTYPE)


def _output(out: dict, key: str, value, like, what: str) -> None:
    out[key] = to_array(value, what)
    out[f"{key}_kind"] = _kind(value, like)


def _inputs_after(out: dict, x, model=None, results=()) -> None:
    """The caller's image after the call; with ``model`` whether a weight got a ``.grad`` (the model is handed over
    without any), with ``results`` whether a returned tensor keeps gradient history (the docstrings ask for none)."""
    import torch

    out["x_after"] = to_array(x, "image")
    out["x_requires_grad"] = flag(x.requires_grad)
    if model is not None:
        out["params_touched"] = flag(any(p.grad is not None for p in model.parameters()))
    out["history"] = flag(any(isinstance(r, torch.Tensor) and r.requires_grad for r in results))


def _gradient_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    x = ctx.on_device(ctx.gradient_images())
    like, model, out = x.detach().clone(), ctx.fresh_model(), {}
    first = fn(x, GRADIENT_TARGET, model)
    _output(out, "gradient", first, like, "compute_gradient returned")
    _output(out, "gradient_again", fn(x, GRADIENT_TARGET, model), like, "compute_gradient returned (second call)")
    _inputs_after(out, x, model, (first,))
    return out


def _unpack_pair(result, what: str):
    from ..check import SubmissionError

    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise SubmissionError(f"{what}: expected a tuple (image, probabilities), got {type(result).__name__}"
                              f"{f' of length {len(result)}' if isinstance(result, (tuple, list)) else ''}.")
    return result


def _trick_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    x = ctx.on_device(ctx.trick_images())
    like, out, model = x.detach().clone(), {}, ctx.fresh_model()
    image, probabilities = _unpack_pair(fn(x, TRICK_TARGET, model, n_steps=TRICK_STEPS,
                                           step_size=TRICK_STEP_SIZE, classes=ctx.trick_classes()), "trick returned")
    _output(out, "image", image, like, "trick returned image")
    _output(out, "probabilities", probabilities, like, "trick returned probabilities")
    _inputs_after(out, x, model, (image, probabilities))
    return out


def _trick_edge_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    x = ctx.on_device(ctx.edge_image())
    image, _ = _unpack_pair(fn(x, TRICK_TARGET, ctx.fresh_model(), n_steps=1, step_size=TRICK_EDGE_STEP,
                               classes=None), "trick returned")
    out: dict = {}
    _output(out, "image", image, x, "trick returned image")
    return out


def _fgsm_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    x, label = ctx.on_device(ctx.X[FGSM_IMAGES]), ctx.on_device(ctx.y[FGSM_IMAGES])
    like, out, model = x.detach().clone(), {}, ctx.fresh_model()
    result = fn(x, label, model, FGSM_EPS)
    _output(out, "adversarial", result, like, "fgsm returned")
    _inputs_after(out, x, model, (result,))
    # One channel, and a classifier unsure between many classes (a seeded linear model of the digits): there the
    # loss of the logits and the loss of probabilities (softmax twice) move different pixels.
    digits = ctx.on_device(ctx.digits)
    digit_result = fn(digits, ctx.on_device(ctx.digit_y), _digit_classifier(ctx), FGSM_EPS)
    _output(out, "digits", digit_result, digits.detach().clone(), "fgsm returned (1-channel digits)")
    return out


def _digit_classifier(ctx: Context):
    """A frozen linear classifier of (N, 1, 28, 28) digits with the context's seeded weights (no bias)."""
    import torch

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(ctx.weights)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(ctx.device).eval()


def _targeted_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    images, targets = ctx.targeted_inputs()
    x, t = ctx.on_device(images), ctx.on_device(targets)
    like, out, model = x.detach().clone(), {}, ctx.fresh_model()
    result = fn(x, t, model, TARGETED_EPS, step_size=TARGETED_STEP, num_steps=TARGETED_STEPS)
    _output(out, "adversarial", result, like, "targeted_attack returned")
    _inputs_after(out, x, model, (result,))
    return out


def _short_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    images, targets = ctx.short_inputs()
    x, t = ctx.on_device(images), ctx.on_device(targets)
    out: dict = {}
    result = fn(x, t, ctx.fresh_model(), TARGETED_EPS, step_size=TARGETED_STEP, num_steps=SHORT_STEPS)
    _output(out, "adversarial", result, x.detach().clone(), "targeted_attack returned")
    return out


def _bad_input_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    x = ctx.on_device(ctx.X[:1])
    target = (int(ctx.y[0]) + 1) % ctx.num_classes
    below, above, edges = x.clone(), x.clone(), x.clone()
    below[0, 0, 0, 0], above[0, -1, -1, -1] = -0.01, 1.01
    edges[0, 0, 0, 0], edges[0, -1, -1, -1] = 0.0, 1.0                 # exactly 0 and 1 lie inside [0, 1]
    cases = {"negative_eps": (x, target, -1 / 255), "pixels_below_0": (below, target, TARGETED_EPS),
             "pixels_above_1": (above, target, TARGETED_EPS), "target_out_of_range": (x, ctx.num_classes, TARGETED_EPS),
             "negative_target": (x, -1, TARGETED_EPS)}
    out = {}
    for name, (image, t, eps) in cases.items():
        try:
            fn(image, t, ctx.fresh_model(), eps, step_size=TARGETED_STEP, num_steps=1)
        except ValueError:
            out[name] = flag(True)
        except Exception:  # noqa: BLE001 - any other failure is "no clear ValueError"
            out[name] = flag(False)
        else:
            out[name] = flag(False)
    for name, (image, t, eps) in {"valid_zero_eps": (x, target, 0.0), "valid_pixels_0_and_1": (edges, target, 0.1),
                                  "valid_target_0": (x, 0, TARGETED_EPS)}.items():
        try:
            fn(image, t, ctx.fresh_model(), eps, step_size=TARGETED_STEP, num_steps=1)
            out[name] = flag(True)
        except Exception:  # noqa: BLE001 - valid input must not raise
            out[name] = flag(False)
    return out


def _linear_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    x, label, w = ctx.on_device(ctx.digits), ctx.on_device(ctx.digit_y), ctx.on_device(ctx.weights)
    like, out = x.detach().clone(), {}
    _output(out, "adversarial", fn(x, label, LINEAR_TARGET, w, LINEAR_EPS), like, "fool_linear_classifier returned")
    _inputs_after(out, x)
    return out


GRADIENT_PROBE = Probe("gradient", "compute_gradient", _gradient_probe,
                       engaged=follows_reference("gradient", Context.gradient_images, changes=False))
TRICK_PROBE = Probe("trick", "trick", _trick_probe, engaged=follows_reference("image", Context.trick_images))
TRICK_EDGE_PROBE = Probe("trick_edge", "trick", _trick_edge_probe,
                         engaged=follows_reference("image", Context.edge_image))
FGSM_PROBE = Probe("fgsm", "fgsm", _fgsm_probe,
                   engaged=follows_reference("adversarial", lambda ctx: ctx.X[FGSM_IMAGES]))
TARGETED_PROBE = Probe("targeted", "targeted_attack", _targeted_probe,
                       engaged=follows_reference("adversarial", lambda ctx: ctx.targeted_inputs()[0]))
SHORT_PROBE = Probe("targeted_short", "targeted_attack", _short_probe)
BAD_INPUT_PROBE = Probe("targeted_bad_input", "targeted_attack", _bad_input_probe)
LINEAR_PROBE = Probe("linear", "fool_linear_classifier", _linear_probe,
                     engaged=follows_reference("adversarial", lambda ctx: ctx.digits))


# ------------------------------------------------------------------------------------------------ checks (trusted side)

def _output_problem(student, key: str, shape: tuple[int, ...], what: str) -> str | None:
    """A message when output ``key`` is missing, a tensor subclass, of another dtype than the input, of the wrong
    shape, or holds NaN/inf; ``None`` when it is usable."""
    kind = student.get(f"{key}_kind")
    if kind is not None and np.ndim(kind) == 0 and int(kind) == _SUBCLASS:
        return f"{what}: expected a plain torch.Tensor, got a subclass of it."
    if kind is not None and np.ndim(kind) == 0 and int(kind) == _OTHER_DTYPE:
        return f"{what}: expected the dtype of the input (float32), got another one."
    return shape_problem(student.get(key), shape, what)


def _input_problem(student, x: np.ndarray) -> str | None:
    after = student.get("x_after")
    if after is None:
        return "the input image did not come back from your code after the call."
    if after.shape != x.shape or not np.array_equal(after, x):
        return ("your function modified its input image; work on a copy (`image.detach().clone()`), never change the "
                "caller's tensor.")
    if bool(student.get("x_requires_grad", False)):
        return ("your function switched on image.requires_grad of the caller's tensor; work on a copy instead: "
                "`x = image.detach().clone().requires_grad_(True)`.")
    if bool(student.get("params_touched", False)):
        return ("the model's weights have a .grad after your call: `.backward()` fills every weight's .grad (and "
                "adds to what is there); use `torch.autograd.grad(objective, x)`, which computes only what you ask for.")
    if bool(student.get("history", False)):
        return ("your result still carries gradient history (requires_grad=True); the docstring asks for none: "
                "return a `.detach()`ed tensor or compute the update under torch.no_grad().")
    return None


def _coarse(heatmap: np.ndarray, block: int = COARSE_BLOCK) -> np.ndarray:
    """``heatmap`` ``(H, W)`` with every ``block`` x ``block`` block replaced by its mean."""
    h, w = heatmap.shape
    hb, wb = h - h % block, w - w % block
    out = np.array(np.nan_to_num(heatmap, nan=0.0, posinf=0.0, neginf=0.0), dtype=np.float64)
    blocks = out[:hb, :wb].reshape(hb // block, block, wb // block, block).mean(axis=(1, 3))
    out[:hb, :wb] = np.repeat(np.repeat(blocks, block, axis=0), block, axis=1)
    return out


def _change_figure(title: str, student: np.ndarray, reference: np.ndarray, x: np.ndarray) -> Figure:
    """|change| (max over channels) of the first image, student's and reference's, both as 8 x 8-block means."""
    s = np.abs(np.nan_to_num(student[0].astype(np.float64) - x[0], nan=0.0, posinf=0.0, neginf=0.0)).max(0)
    r = np.abs(reference[0].astype(np.float64) - x[0]).max(0)
    return Figure(f"{title}: |change| (8x8-pixel block means)", _coarse(s), _coarse(r), "heatmap")


def _unchanged(s: np.ndarray, x: np.ndarray) -> bool:
    return bool(np.array_equal(s, x)) or float(np.abs(s.astype(np.float64) - x).max()) <= 1e-7


def _attack_output(student, key: str, x: np.ndarray, what: str) -> str | None:
    """Usable (see :func:`_output_problem`) and not the input returned unchanged."""
    problem = _output_problem(student, key, x.shape, what)
    if problem:
        return problem
    if _unchanged(student[key], x):
        return f"{what} the input unchanged: the attack must change the image."
    return None


def _signed_match(s: np.ndarray, r: np.ndarray, x: np.ndarray) -> float:
    """Fraction of pixels whose change (after clamping the student's image to [0, 1]) equals the reference's."""
    delta_s = np.clip(s.astype(np.float64), 0, 1) - x
    return float((np.abs(delta_s - (r.astype(np.float64) - x)) <= MATCH).mean())


def _budget_verdict(student, key: str, x: np.ndarray, eps: float, what: str, fix: str) -> Verdict:
    problem = _attack_output(student, key, x, what)
    if problem:
        return Verdict(False, problem)
    change = float(np.abs(student[key].astype(np.float64) - x).max())
    if change > eps + SLACK:
        return Verdict(False, f"a pixel changed by {change * 255:.2f}/255 with a budget of eps = {eps * 255:.0f}/255: "
                              f"{fix}")
    return Verdict(True, f"no pixel changed by more than eps (largest change {change * 255:.2f}/255).")


def _range_verdict(student, key: str, x: np.ndarray, what: str, fix: str) -> Verdict:
    problem = _attack_output(student, key, x, what)
    if problem:
        return Verdict(False, problem)
    s = student[key]
    low, high = float(s.min()), float(s.max())
    if low < -SLACK or high > 1 + SLACK:
        return Verdict(False, f"pixel values range from {low:.4f} to {high:.4f}, outside [0, 1]: {fix}")
    return Verdict(True, "every pixel value lies in [0, 1].")


# ------------------------------------------------------------------------------------------------ compute_gradient

def _gradient_hint(s: np.ndarray, r: np.ndarray, ctx: Context) -> str:
    x = ctx.gradient_images().numpy()
    candidates = {
        "it is the gradient of the logit: differentiate the softmax PROBABILITY, "
        "model(image).softmax(dim=1)[:, intended_outcome].": ctx.gradients(x, GRADIENT_TARGET, "logit"),
        "it is the gradient of the log-probability (or of minus the cross-entropy): differentiate the probability "
        "itself, model(image).softmax(dim=1)[:, intended_outcome].":
            ctx.gradients(x, GRADIENT_TARGET, "log_probability"),
    }
    for hint, candidate in candidates.items():
        if np.isfinite(candidate).all() and norm_relative_error(s, candidate) < 0.02:
            return hint
    if norm_relative_error(-s, r) < 0.02:
        return "it has the wrong sign: return the gradient of the probability itself."
    if norm_relative_error(s * len(r), r) < 0.02:
        return ("it is the reference divided by the batch size: SUM the probabilities over the batch before "
                "differentiating, do not average them.")
    if not s.any():
        return "it is all zeros: differentiate the probability of intended_outcome with respect to the image."
    return "differentiate softmax(model(image))[:, intended_outcome], summed over the batch, with respect to image."


def _verify_gradient(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The gradient of a batch of two images matches the reference within ``tol.rtol`` relative L2 error.
    Known correct, full marks: ``torch.autograd.grad`` or ``.backward()`` on a copy, ``softmax`` or
    ``exp(log_softmax)``, a per-image loop. Known wrong, lose points: the gradient of the logit, of the
    log-probability or of the loss, the batch mean of the probabilities, the wrong sign."""
    r = reference["gradient"]
    problem = _output_problem(student, "gradient", r.shape, "compute_gradient returned")
    if problem:
        return Verdict(False, problem)
    s = student["gradient"]
    if _unchanged(s, ctx.gradient_images().numpy()):
        return Verdict(False, "compute_gradient returned its input image, not a gradient.")
    err = norm_relative_error(s, r)
    if err <= tol.rtol:
        return Verdict(True, f"matches the reference gradient (relative difference {err:.1e}).")
    return Verdict(False, f"differs from the reference by {100 * min(err, 99.99):.1f}% (relative L2 difference): "
                          f"{_gradient_hint(s, r, ctx)}")


def _verify_gradient_fresh(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """A second call on the same tensor returns what the first returned (within ``tol.rtol``), and the first is a
    plausible gradient (usable, not the input, within 8 orders of magnitude of the reference's size), so that a
    wrong gradient is judged once, by the check above. Known correct: ``torch.autograd.grad``, ``.backward()`` on
    a fresh copy. Known wrong, lose this point: ``image.requires_grad_()`` then ``.backward()`` on the caller's
    tensor and returning ``image.grad`` (it grows with every call)."""
    r = reference["gradient"]
    for key, what in (("gradient", "compute_gradient returned"),
                      ("gradient_again", "compute_gradient returned (second call)")):
        problem = _output_problem(student, key, r.shape, what)
        if problem:
            return Verdict(False, problem)
    first, second = student["gradient"].astype(np.float64), student["gradient_again"].astype(np.float64)
    size, ref_size = float(np.linalg.norm(first)), float(np.linalg.norm(r))
    if _unchanged(first, ctx.gradient_images().numpy()) or not ref_size * 1e-8 <= size <= ref_size * 1e8:
        return Verdict(False, "not checked until compute_gradient returns a gradient (see the check above).")
    err = norm_relative_error(second, first)
    if err <= tol.rtol:
        return Verdict(True, "a second call returns the same gradient.")
    ratio = float(np.linalg.norm(second)) / size
    hint = (" It doubled: the gradient accumulates in .grad across calls; differentiate a fresh copy "
            "(`image.detach().clone().requires_grad_(True)`) with torch.autograd.grad." if abs(ratio - 2) < 0.05
            else "")
    return Verdict(False, f"a second call on the same image returns a different gradient ({100 * min(err, 99.99):.1f}%"
                          f" apart).{hint}")


def _verify_gradient_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's image keeps its values and ``requires_grad`` stays off. Known wrong, lose
    this point only: ``image.requires_grad_()`` on the caller's tensor."""
    problem = _input_problem(student, ctx.gradient_images().numpy())
    return Verdict(problem is None, problem or "the caller's image is unchanged and does not require a gradient.")


# ---------------------------------------------------------------------------------------------------------- trick

def _verify_trick_image(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Three steps of ``step_size * g / max|g|`` (per image) from two images whose pixels lie in [0.1, 0.9] (the
    clamp never acts) move the image as the reference does, within ``tol.rtol`` relative L2 error of the
    displacement. Known correct, full marks: calling ``compute_gradient`` or differentiating inline, ``amax`` over
    (1, 2, 3) or a loop over images, recording the probabilities in any way. Known wrong, lose points: the sign of
    the gradient instead of the normalized gradient, one maximum for the whole batch, gradient descent, no
    re-computation of the gradient after a step, a wrong ``compute_gradient`` (judged there as well)."""
    x = ctx.trick_images().numpy()
    problem = _attack_output(student, "image", x, "trick returned")
    if problem:
        return Verdict(False, problem)
    s, r = student["image"], reference["image"]
    move_s, move_r = s.astype(np.float64) - x, r.astype(np.float64) - x
    figures = (_change_figure("trick, image 0", s, r, x),)
    err = norm_relative_error(move_s, move_r)
    if err <= tol.rtol:
        return Verdict(True, f"the image moved as the reference did (difference {err:.1e}).", figures)
    if norm_relative_error(-move_s, move_r) < 0.1:
        hint = "it moved the opposite way: ADD step_size * g / max|g| to raise the probability."
    elif np.allclose(np.abs(move_s[move_s != 0]), TRICK_STEP_SIZE * np.round(np.abs(move_s[move_s != 0]) /
                                                                                 TRICK_STEP_SIZE), atol=1e-6):
        hint = "every pixel moved by a multiple of step_size: use g / max|g|, not the sign of g."
    else:
        hint = ("take n_steps steps image <- clamp(image + step_size * g / max|g|, 0, 1), with g from "
                "compute_gradient at the current image and max|g| over each image's own gradient.")
    return Verdict(False, f"the image moved differently from the reference ({100 * min(err, 99.99):.1f}% relative "
                          f"difference): {hint}", figures)


def _verify_trick_probabilities(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The probabilities have shape ``(n_steps + 1, N, K)``; their first row equals the trusted probabilities of
    the start images and their last row those of the returned image, for the requested classes in their order
    (within ``tol.atol``); every entry lies in [0, 1]. Judged against the student's own returned image, so a wrong
    step is not blamed twice. Known correct: recording inside the loop or after it, ``softmax`` or
    ``exp(log_softmax)``. Known wrong, lose this point: missing row 0 (the start), the probabilities of the image
    before the last step, logits instead of probabilities, all classes instead of the requested ones."""
    x = ctx.trick_images().numpy()
    classes = ctx.trick_classes()
    shape = (TRICK_STEPS + 1, len(x), len(classes))
    problem = _output_problem(student, "probabilities", shape, "trick returned probabilities")
    if problem:
        if student.get("probabilities") is not None and tuple(student["probabilities"].shape)[:1] == (TRICK_STEPS,):
            problem += " Record the probabilities before the first step as well (row 0)."
        return Verdict(False, problem)
    image_problem = _output_problem(student, "image", x.shape, "trick returned image")
    if image_problem:
        return Verdict(False, f"not checked until trick returns a usable image: {image_problem}")
    p = student["probabilities"].astype(np.float64)
    start, end = ctx.probabilities(x)[:, classes], ctx.probabilities(student["image"])[:, classes]
    if not (np.isfinite(start).all() and np.isfinite(end).all()):
        return Verdict(False, "the model's probabilities of your returned image are not finite.")
    if p.min() < -tol.atol or p.max() > 1 + tol.atol:
        return Verdict(False, "the recorded values are not probabilities (outside [0, 1]): apply softmax to the "
                              "logits and keep the requested classes.")
    if np.abs(p[0] - start).max() > tol.atol:
        return Verdict(False, "row 0 is not the probabilities of the start image for the requested classes (in their "
                              "order): record them before the first step.")
    if np.abs(p[-1] - end).max() > tol.atol:
        return Verdict(False, "the last row is not the probabilities of the image you return: record them after "
                              "every step, including the last.")
    return Verdict(True, "the recorded probabilities start at the start image and end at the returned image.")


def _verify_trick_range(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """One step from a black image (where half of the gradient points below 0) keeps every pixel in [0, 1].
    Known correct: ``.clamp(0, 1)``, ``torch.clamp``, ``clamp_`` on a new tensor. Known wrong, lose this point:
    no clamp."""
    return _range_verdict(student, "image", ctx.edge_image().numpy(), "trick returned",
                          "clamp the image to [0, 1] after every step.")


def _verify_trick_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's image is unchanged. Known wrong, lose this point only: ``image += ...`` on
    the caller's tensor."""
    problem = _input_problem(student, ctx.trick_images().numpy())
    return Verdict(problem is None, problem or "the caller's image is unchanged.")


# ----------------------------------------------------------------------------------------------------------- fgsm

def _verify_fgsm_direction(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every pixel's change (the student's image clamped to [0, 1], so a missing clamp costs only the range check)
    equals the reference's within 1e-5 on at least ``1 - tol.rtol`` of the pixels (a gradient within rounding of 0
    may flip a sign). Known correct, full marks: ``autograd.grad`` or ``loss.backward()`` on a detached clone, a
    sum or a mean of the loss, ``torch.clamp`` or ``.clamp`` before returning. Known wrong, lose points: the flipped
    sign (toward the label), eps times the raw gradient instead of its sign, the gradient of a probability's sign
    only where it is positive."""
    x = ctx.X[FGSM_IMAGES].numpy()
    problem = _attack_output(student, "adversarial", x, "fgsm returned")
    if problem:
        return Verdict(False, problem)
    s, r = student["adversarial"], reference["adversarial"]
    figures = (_change_figure("FGSM, image 0", s, r, x),)
    match = _signed_match(s, r, x)
    if match >= 1 - tol.rtol and reference.get("digits") is not None:
        digits = ctx.digits.numpy()
        problem = _attack_output(student, "digits", digits, "fgsm returned (1-channel digits)")
        if problem:
            return Verdict(False, problem)
        digit_match = _signed_match(student["digits"], reference["digits"], digits)
        if digit_match < 1 - tol.rtol:
            return Verdict(False, f"right on the RGB photos but only {100 * digit_match:.1f}% of the pixels moved as "
                                  "in the reference on 1-channel digits with a linear classifier unsure between "
                                  "many classes: differentiate cross_entropy of the model's LOGITS (not of "
                                  "softmax probabilities) and the labels, for any number of channels.", figures)
    if match >= 1 - tol.rtol:
        return Verdict(True, f"every pixel moved as in the reference ({100 * match:.2f}% identical).", figures)
    delta = np.clip(s.astype(np.float64), 0, 1) - x
    moved = np.abs(delta[(x > FGSM_EPS) & (x < 1 - FGSM_EPS)])
    if _signed_match(np.clip(2 * x - s, 0, 1), r, x) > 0.9:
        hint = ("the image moved TOWARD its label (the loss went down): FGSM adds eps * sign(gradient of the loss of "
                "the true label), which increases the loss.")
    elif moved.size and (np.abs(moved - FGSM_EPS) > MATCH).mean() > 0.5 and (moved > 0).mean() > 0.5:
        hint = "pixels moved by other amounts than eps: step along the SIGN of the gradient, eps * grad.sign()."
    else:
        hint = "x_adv = clamp(image + eps * sign(gradient of cross_entropy(model(image), label)), 0, 1)."
    return Verdict(False, f"only {100 * match:.1f}% of the pixels moved as in the reference: {hint}", figures)


def _verify_fgsm_budget(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """No pixel changes by more than eps (+1e-6 for rounding). Known wrong, lose this point: a step larger than
    eps, eps times an unnormalized gradient that exceeds 1."""
    return _budget_verdict(student, "adversarial", ctx.X[FGSM_IMAGES].numpy(), FGSM_EPS, "fgsm returned",
                           "one step of eps * sign(gradient) changes each pixel by at most eps.")


def _verify_fgsm_range(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every pixel of the result lies in [0, 1] (+-1e-6). Known correct: clamping with ``.clamp(0, 1)`` or
    ``torch.clamp``. Known wrong, lose this point: no clamp."""
    return _range_verdict(student, "adversarial", ctx.X[FGSM_IMAGES].numpy(), "fgsm returned",
                          "clamp the adversarial image to [0, 1].")


def _verify_fgsm_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's image keeps its values and ``requires_grad`` stays off."""
    problem = _input_problem(student, ctx.X[FGSM_IMAGES].numpy())
    return Verdict(problem is None, problem or "the caller's image is unchanged and does not require a gradient.")


# ------------------------------------------------------------------------------------------------ targeted_attack

def _verify_targeted_reached(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The trusted model classifies every returned image as its target (four images that the reference turns with
    p(target) > 0.99; a target probability within 1e-3 of the top counts). Known correct: any order of the two
    clamps, projection by ``clamp(min=x-eps, max=x+eps)`` or ``torch.max``/``torch.min``, working with a delta,
    ``autograd.grad`` or ``.backward()`` on a fresh leaf each step, a sum or a mean of the loss. Known wrong, lose
    points: the flipped sign (away from the target: an untargeted step), too few steps."""
    x, targets = (a.numpy() for a in ctx.targeted_inputs())
    problem = _attack_output(student, "adversarial", x, "targeted_attack returned")
    if problem:
        return Verdict(False, problem)
    p = ctx.probabilities(student["adversarial"])
    if not np.isfinite(p).all():
        return Verdict(False, "the model's probabilities of your images are not finite.")
    missed = [i for i in range(len(x)) if p[i, targets[i]] < p[i].max() - tol.atol]
    if missed:
        i = missed[0]
        names = ctx.class_names
        return Verdict(False, f"{len(missed)} of {len(x)} images are not classified as their target; e.g. a "
                              f"{names[int(ctx.y[TARGETED_IMAGES[i]])]!r} with target {names[targets[i]]!r} is seen "
                              f"as {names[int(p[i].argmax())]!r} (p(target) = {p[i, targets[i]]:.3f}). Step "
                              "x - step_size * sign(gradient of the loss of the TARGET), then project.")
    return Verdict(True, f"all {len(x)} images are classified as their target.")


def _verify_targeted_steps(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The first two steps from two images with pixels in [0.1, 0.9] (eps larger than both steps: neither the
    projection nor the clamp acts, so a missing one is judged only by its own check) match the reference pixel by
    pixel: the change of at least ``1 - tol.rtol`` of the pixels equals the reference's within 1e-5. Known
    correct: as for reaching the target. Known wrong, lose this point: the flipped sign, ``.grad`` accumulating
    across steps (one leaf updated in place without zeroing its ``.grad``), the gradient of the target logit or
    probability instead of the loss of the target, a random start."""
    x, _ = (a.numpy() for a in ctx.short_inputs())
    problem = _attack_output(student, "adversarial", x, "targeted_attack returned")
    if problem:
        return Verdict(False, problem)
    s, r = student["adversarial"], reference["adversarial"]
    match = _signed_match(s, r, x)
    figures = (_change_figure("two steps, image 0", s, r, x),)
    if match >= 1 - tol.rtol:
        return Verdict(True, f"two steps move every pixel as the reference does ({100 * match:.2f}% identical).",
                       figures)
    if _signed_match(np.clip(2 * x - s, 0, 1), r, x) > 0.9:
        hint = ("the image moved AWAY from the target: subtract step_size * sign(gradient of the loss of the "
                "target).")
    else:
        hint = ("each step is x - step_size * sign(gradient of cross_entropy(model(x), target)) at the CURRENT x, "
                "from a fresh gradient (nothing accumulated in .grad), starting at the image itself.")
    return Verdict(False, f"after two steps only {100 * match:.1f}% of the pixels match the reference: {hint}",
                   figures)


def _verify_targeted_budget(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Ten steps of 1/255 stay within eps = 8/255 of the image (+1e-6). Known correct: either order of the two
    clamps. Known wrong, lose this point: no projection into the eps-ball, projecting around the previous
    iterate instead of the original image."""
    x, _ = (a.numpy() for a in ctx.targeted_inputs())
    return _budget_verdict(student, "adversarial", x, TARGETED_EPS, "targeted_attack returned",
                           "after every step, clamp to [image - eps, image + eps] around the ORIGINAL image.")


def _verify_targeted_range(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every pixel lies in [0, 1] (+-1e-6). Known wrong, lose this point: no clamp to [0, 1]."""
    x, _ = (a.numpy() for a in ctx.targeted_inputs())
    return _range_verdict(student, "adversarial", x, "targeted_attack returned",
                          "clamp to [0, 1] after every step.")


_BAD_INPUTS = {"negative_eps": "eps < 0", "pixels_below_0": "an image with a value below 0",
               "pixels_above_1": "an image with a value above 1",
               "target_out_of_range": "a target equal to the number of classes", "negative_target": "a target of -1"}
_VALID_EDGES = {"valid_zero_eps": "eps = 0 (a budget of nothing is allowed)",
                "valid_pixels_0_and_1": "an image with pixels exactly 0 and 1 (inside [0, 1])",
                "valid_target_0": "target class 0"}


def _verify_targeted_bad_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Raises ``ValueError`` (or a subclass) for eps < 0, for an image outside [0, 1] and for a target out of
    range. A behaviour check, not an output check: it may pass whatever the function returns for good input.
    Known wrong, lose this point: no validation (an ``IndexError`` from the loss is not a clear error), raising
    ``TypeError``/``AssertionError``, ``assert`` statements."""
    missing = [what for key, what in _BAD_INPUTS.items() if not bool(student.get(key, False))]
    if missing:
        return Verdict(False, f"no ValueError for {', '.join(missing)}: check eps, the pixel range and the targets "
                              "first, and `raise ValueError(...)` with a message that says what was expected.")
    refused = [what for key, what in _VALID_EDGES.items() if not bool(student.get(key, False))]
    if refused:
        return Verdict(False, f"it raised for valid input: {', '.join(refused)}; the rules are eps >= 0, pixels in "
                              "[0, 1] (both ends included) and targets in [0, num_classes).")
    return Verdict(True, "raises ValueError for a negative eps, pixels outside [0, 1] and a target out of range, "
                         "and accepts eps = 0, pixels of exactly 0 and 1 and target 0.")


def _verify_targeted_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's image keeps its values and ``requires_grad`` stays off."""
    x, _ = ctx.targeted_inputs()
    problem = _input_problem(student, x.numpy())
    return Verdict(problem is None, problem or "the caller's image is unchanged and does not require a gradient.")


# ----------------------------------------------------------------------------------------- fool_linear_classifier

def _verify_linear_direction(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every pixel's change (the student's image clamped to [0, 1]) equals the reference's within 1e-5. Known
    correct: ``torch.sign`` or ``Tensor.sign``, ``view``/``reshape``, indexing ``weights[label]`` or a loop over
    images. Known wrong, lose points: the flipped sign, ``sign(w_target)`` alone (ignores the current class),
    ``eps * (w_target - w_label)`` without the sign."""
    x = ctx.digits.numpy()
    problem = _attack_output(student, "adversarial", x, "fool_linear_classifier returned")
    if problem:
        return Verdict(False, problem)
    s, r = student["adversarial"], reference["adversarial"]
    match = _signed_match(s, r, x)
    figures = (_change_figure("digit 0", s, r, x),)
    if match >= 1 - tol.rtol:
        return Verdict(True, f"every pixel moved as in the reference ({100 * match:.2f}% identical).", figures)
    w = ctx.weights.numpy().astype(np.float64)
    target_only = np.clip(x + LINEAR_EPS * np.sign(w[LINEAR_TARGET]).reshape(1, *x.shape[1:]), 0, 1)
    if _signed_match(np.clip(2 * x - s, 0, 1), r, x) > 0.9:
        hint = "the image moved toward its own class: add eps * sign(w_target - w_label)."
    elif _signed_match(s, target_only, x) > 0.99:
        hint = ("you used sign(w_target) alone: the score DIFFERENCE s_target - s_label grows fastest along "
                "sign(w_target - w_label).")
    else:
        hint = "x_adv = clamp(image + eps * sign(w_target - w_label), 0, 1), with w_c = weights[c] reshaped."
    return Verdict(False, f"only {100 * match:.1f}% of the pixels moved as in the reference: {hint}", figures)


def _verify_linear_range(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every pixel lies in [0, 1] (+-1e-6). Known wrong, lose this point: no clamp."""
    return _range_verdict(student, "adversarial", ctx.digits.numpy(), "fool_linear_classifier returned",
                          "clamp the result to [0, 1].")


def _verify_linear_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's image keeps its values and ``requires_grad`` stays off."""
    problem = _input_problem(student, ctx.digits.numpy())
    return Verdict(problem is None, problem or "the caller's image is unchanged.")


CHECKS = (
    Check("gradient_values", GRADIENT_PROBE, 2, "the gradient of the probability matches the reference",
          _verify_gradient, Tolerance(rtol=1e-2)),
    Check("gradient_fresh", GRADIENT_PROBE, 1, "a second call returns the same gradient (nothing accumulates)",
          _verify_gradient_fresh, Tolerance(rtol=1e-4), needs_work=True),
    Check("gradient_side_effects", GRADIENT_PROBE, 1, "the caller's image is left untouched",
          _verify_gradient_input, side_effect=True),
    Check("trick_image", TRICK_PROBE, 2, "three normalized steps move the image as the reference does",
          _verify_trick_image, Tolerance(rtol=2e-2)),
    Check("trick_probabilities", TRICK_PROBE, 1, "the probabilities are recorded before and after every step",
          _verify_trick_probabilities, Tolerance(atol=1e-4)),
    Check("trick_valid_pixels", TRICK_EDGE_PROBE, 1, "the image stays in [0, 1]", _verify_trick_range, needs_work=True),
    Check("trick_side_effects", TRICK_PROBE, 1, "the caller's image is left untouched", _verify_trick_input,
          side_effect=True),
    Check("fgsm_direction", FGSM_PROBE, 2, "every pixel moves by eps along the sign of the loss gradient",
          _verify_fgsm_direction, Tolerance(rtol=5e-3)),
    Check("fgsm_budget", FGSM_PROBE, 1, "no pixel changes by more than eps", _verify_fgsm_budget, needs_work=True),
    Check("fgsm_valid_pixels", FGSM_PROBE, 1, "the adversarial image stays in [0, 1]",
          _verify_fgsm_range, needs_work=True),
    Check("fgsm_side_effects", FGSM_PROBE, 1, "the caller's image is left untouched", _verify_fgsm_input,
          side_effect=True),
    Check("targeted_reaches_target", TARGETED_PROBE, 2, "ten steps make the model see the target",
          _verify_targeted_reached, Tolerance(atol=1e-3)),
    Check("targeted_steps", SHORT_PROBE, 1, "the first two steps match the reference pixel by pixel",
          _verify_targeted_steps, Tolerance(rtol=1e-2)),
    Check("targeted_budget", TARGETED_PROBE, 1, "the result stays within eps of the image",
          _verify_targeted_budget, needs_work=True),
    Check("targeted_valid_pixels", TARGETED_PROBE, 1, "the result stays in [0, 1]",
          _verify_targeted_range, needs_work=True),
    Check("targeted_bad_input", BAD_INPUT_PROBE, 1, "ValueError for eps < 0, pixels outside [0, 1], a bad target",
          _verify_targeted_bad_input, side_effect=True),
    Check("targeted_side_effects", TARGETED_PROBE, 1, "the caller's image is left untouched", _verify_targeted_input,
          side_effect=True),
    Check("linear_direction", LINEAR_PROBE, 2, "every pixel moves by eps along sign(w_target - w_label)",
          _verify_linear_direction, Tolerance(rtol=1e-3)),
    Check("linear_valid_pixels", LINEAR_PROBE, 1, "the result stays in [0, 1]", _verify_linear_range, needs_work=True),
    Check("linear_side_effects", LINEAR_PROBE, 1, "the caller's image is left untouched", _verify_linear_input,
          side_effect=True),
)


ASSIGNMENT = Assignment(ASSIGNMENT_ID, NOTEBOOK, FUNCTIONS, CHECKS, make_context)
