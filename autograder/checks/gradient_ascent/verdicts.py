"""Checks for notebook 01 (gradient ascent on digits): ``logit_gradient`` and ``gradient_ascent``.

Every probe uses the seeded, *untrained* digit CNN (``hwlib.digit_cnn(seed=0)``; weights drawn from torch's CPU
generator, the same on every machine; its parameters require gradients, as in the middle of training) and the first
offline validation digits. Training is not needed: every check compares the student's arrays with the reference's
on the same model, and the gradients of an untrained ReLU network still change from image to image. A second seeded
model (RGB 32x32 images, 5 classes) catches code hard-coded to 1x28x28 images or 10 classes.

``gradient_ascent`` is probed with the student's own ``logit_gradient`` (whatever its cell defines): the grader's
runtime holds no correct implementation of any student function (issue 16: it is bound into the sandbox, where a
submission could import it), so a ``logit_gradient`` that is wrong for one image can cost ``gradient_ascent``'s
points as well. A per-sample scale (the batch mean) does not: the ascent normalizes each step.

Points per function (= the ``points`` of its hidden-test cell): 6 each, 12 in all.

Known-correct variants that keep full marks (examples in ``tests/fixtures/gradient_ascent.py``): ``gather`` or ``logits[arange(N),
targets]`` or a one-hot mask, ``torch.autograd.grad`` or ``.backward()`` on a clone followed by
``model.zero_grad(set_to_none=True)``, a loop over the images; in the ascent, calling ``logit_gradient`` or
differentiating inline, probabilities computed inside the loop or after it, in-place or out-of-place clipping,
``F.normalize`` for the step. Known-wrong ones that lose points: the predicted class instead of the target, the
softmax probability or a loss instead of the logit, the sum of all logits, ``logits[:, targets]`` (every target for
every image: pl_bolts' bug), the mean over the batch, shapes hard-coded to 1x28x28, ``.backward()`` leaving weight
gradients, switching on the caller's ``requires_grad``, no input validation; descending, the raw (unnormalized)
gradient, no clipping, ``.grad`` accumulating across steps, logits instead of probabilities, the start image left
out, the caller's image modified.

Feedback figures show the reference's gradient map and final ascent image next to the student's: a picture cannot
be turned into arrays that match to the checks' tolerance, so they give no answer away.
"""
from __future__ import annotations

import copy
import functools

import numpy as np

from ..arrays import cosine, flag, norm_relative_error, shape_problem, to_array
from ..check import Assignment, Check, Figure, Probe, SubmissionError, Tolerance, Verdict, follows_reference

ASSIGNMENT_ID = "01_gradient_ascent"
NOTEBOOK = "gradient_ascent.ipynb"
FUNCTIONS = ("logit_gradient", "gradient_ascent")

NUM_CLASSES = 10
CNN_SEED = 0
BATCH = 6                          # images of the batched gradient probe: the first validation digit of classes 0..5
TARGET_SHIFT = 3                   # target = label + 3 (mod 10), moved on when it is the model's prediction
RGB_SHAPE, RGB_CLASSES, RGB_SEED = (3, 3, 32, 32), 5, 1
ASCENT_CLASS, ASCENT_TARGET = 5, 8  # "what would make this 5 look like an 8?"
ASCENT_STEPS, ASCENT_STEP_SIZE = 6, 0.5
PROBABILITY_TOL = 1e-4


def _rgb_model():
    """A seeded CNN for ``(N, 3, 32, 32)`` images and 5 classes (no batch norm: images stay independent)."""
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RGB_SEED)
        return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1),
                             nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, RGB_CLASSES))


class Context:
    """The models and inputs of notebook 01's probes. Inputs live on the CPU; probes move them to ``device``.

    X: (6, 1, 28, 28) float32 validation digits 0..5; targets: (6,) int64, never the model's prediction;
    rgb_X: (3, 3, 32, 32) seeded noise with rgb_targets (3,); ascent_image: (1, 1, 28, 28) a validation 5."""

    def __init__(self, device: str = "cpu"):
        import torch

        from hwlib.datasets.digits import load_digits
        from hwlib.models.digits import digit_cnn

        val = load_digits("offline", "val")
        first = [int((val.labels == c).nonzero()[0]) for c in range(NUM_CLASSES)]
        self.device = torch.device(device)
        self.base_model = digit_cnn(seed=CNN_SEED).eval()
        self.rgb_model = _rgb_model().eval()
        self.X = val.images[first[:BATCH]].clone()
        with torch.no_grad():
            predicted = self.base_model(self.X).argmax(dim=1)
        targets = (val.labels[first[:BATCH]] + TARGET_SHIFT) % NUM_CLASSES
        self.targets = torch.where(targets == predicted, (targets + 1) % NUM_CLASSES, targets)
        gen = torch.Generator().manual_seed(RGB_SEED)
        self.rgb_X = torch.rand(RGB_SHAPE, generator=gen)
        with torch.no_grad():
            rgb_predicted = self.rgb_model(self.rgb_X).argmax(dim=1)
        rgb_targets = torch.tensor([4, 0, 2])
        self.rgb_targets = torch.where(rgb_targets == rgb_predicted, (rgb_targets + 1) % RGB_CLASSES, rgb_targets)
        self.ascent_image = val.images[first[ASCENT_CLASS]:first[ASCENT_CLASS] + 1].clone()
        self.ascent_target = ASCENT_TARGET
        self._alternatives: dict[str, dict[str, np.ndarray]] = {}

    def fresh_model(self, rgb: bool = False):
        """A private copy on ``device`` whose parameters require gradients and have none (so one probe cannot spoil
        the next, and a ``.backward()`` shows)."""
        model = copy.deepcopy(self.rgb_model if rgb else self.base_model).to(self.device)
        for p in model.parameters():
            p.requires_grad_(True)
            p.grad = None
        return model

    def on_device(self, tensor):
        return tensor.clone().to(self.device)

    def inputs(self, which: str):
        """``(model, images, targets)`` on the CPU for the probe ``which`` ("batch", "single" or "rgb")."""
        if which == "rgb":
            return self.rgb_model, self.rgb_X, self.rgb_targets
        n = 1 if which == "single" else BATCH
        return self.base_model, self.X[:n], self.targets[:n]

    def alternatives(self, which: str) -> dict[str, np.ndarray]:
        """Trusted gradients of the known mistakes (for hints), ``(N, C, H, W)`` float64 each."""
        if which not in self._alternatives:
            import torch

            model, X, t = self.inputs(which)
            model = copy.deepcopy(model).double()
            x = X.double().requires_grad_(True)
            logits = model(x)
            n = len(t)

            def grad(objective):
                (g,) = torch.autograd.grad(objective, x, retain_graph=True)
                return g.detach().numpy()

            probs = logits.softmax(dim=1)
            loss = torch.nn.functional.cross_entropy(logits, t, reduction="sum")
            own = logits.gather(1, t.view(-1, 1)).sum()
            self._alternatives[which] = {
                "reference": grad(own),
                "predicted": grad(logits.gather(1, logits.argmax(1, keepdim=True)).sum()),
                "probability": grad(probs.gather(1, t.view(-1, 1)).sum()),
                "all_logits": grad(logits.sum()),
                "cross": grad(logits[:, t].sum()),
                "mean": grad(own / n),
                "negative": grad(-own),
                "loss": grad(loss),
                "mean_loss": grad(loss / n),
            }
        return self._alternatives[which]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Trusted softmax probabilities ``(K, 10)`` of float32 images ``(K, 1, 28, 28)`` (CPU, float64)."""
        import torch

        if getattr(self, "_model64", None) is None:
            self._model64 = copy.deepcopy(self.base_model).double()
        with torch.no_grad():
            return self._model64(torch.from_numpy(images).double()).softmax(dim=1).numpy()


@functools.lru_cache(maxsize=4)
def make_context(device: str = "cpu") -> Context:
    """One context per device and process (nbgrader runs one hidden cell per check, each asking for it)."""
    return Context(device)


# ----------------------------------------------------------------------------------------------- probes (untrusted side)

def _params_touched(model) -> np.ndarray:
    return flag(any(p.grad is not None for p in model.parameters()))


def _gradient_probe(which: str):
    def run(fn, ctx: Context) -> dict[str, np.ndarray]:
        _, X, t = ctx.inputs(which)
        model, X, t = ctx.fresh_model(which == "rgb"), ctx.on_device(X), ctx.on_device(t)
        out = fn(model, X, t)
        return {"grads": to_array(out, "logit_gradient returned"), "x_after": to_array(X, "images"),
                "x_requires_grad": flag(X.requires_grad), "params_touched": _params_touched(model),
                "history": flag(_has_history(out))}
    return run


def _has_history(value) -> bool:
    """True when a returned tensor still carries gradient history (the docstring asks for none)."""
    import torch

    values = value if isinstance(value, (tuple, list)) else (value,)
    return any(isinstance(v, torch.Tensor) and v.requires_grad for v in values)


def _raises(fn, *args) -> int:
    """0 when ``fn(*args)`` raises ValueError or TypeError, 1 for another exception, 2 when it returns."""
    try:
        fn(*args)
    except (ValueError, TypeError):
        return 0
    except Exception:
        return 1
    return 2


GRADIENT_ERROR_CASES = ("one image without its batch axis, shape (1, 28, 28)", "uint8 images",
                        f"a target equal to the number of classes ({NUM_CLASSES})", "a negative target (-1)",
                        "one target more than there are images")


def _gradient_errors(fn, ctx: Context) -> dict[str, np.ndarray]:
    import torch

    model, X, t = ctx.fresh_model(), ctx.on_device(ctx.X), ctx.on_device(ctx.targets)
    codes = [_raises(fn, model, X[0], t[:1]), _raises(fn, model, (X * 255).to(torch.uint8), t),
             _raises(fn, model, X, torch.full_like(t, NUM_CLASSES)), _raises(fn, model, X, torch.full_like(t, -1)),
             _raises(fn, model, X, torch.cat([t, t[:1]])),
             _raises(fn, model, X, t)]                                    # the last call is valid: must return
    return {"codes": np.asarray(codes, dtype=np.int64)}


def _ascent_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    model, image = ctx.fresh_model(), ctx.on_device(ctx.ascent_image)
    out = fn(model, image, ctx.ascent_target, ASCENT_STEPS, ASCENT_STEP_SIZE)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise SubmissionError(f"gradient_ascent must return a tuple (images, probabilities), got "
                              f"{type(out).__name__}{f' of length {len(out)}' if isinstance(out, (tuple, list)) else ''}.")
    return {"images": to_array(out[0], "gradient_ascent's images"),
            "probabilities": to_array(out[1], "gradient_ascent's probabilities"),
            "x_after": to_array(image, "image"), "x_requires_grad": flag(image.requires_grad),
            "params_touched": _params_touched(model), "history": flag(_has_history(out))}


ASCENT_ERROR_CASES = (f"target {NUM_CLASSES}", "target -1", "an image without its batch axis, shape (1, 28, 28)",
                      "two images, shape (2, 1, 28, 28)")


def _ascent_errors(fn, ctx: Context) -> dict[str, np.ndarray]:
    model, image = ctx.fresh_model(), ctx.on_device(ctx.ascent_image)
    codes = [_raises(fn, model, image, NUM_CLASSES, 1, ASCENT_STEP_SIZE),
             _raises(fn, model, image, -1, 1, ASCENT_STEP_SIZE),
             _raises(fn, model, image[0], ctx.ascent_target, 1, ASCENT_STEP_SIZE),
             _raises(fn, model, image.expand(2, -1, -1, -1).clone(), ctx.ascent_target, 1, ASCENT_STEP_SIZE),
             _raises(fn, model, image, ctx.ascent_target, 1, ASCENT_STEP_SIZE)]   # valid: must return
    return {"codes": np.asarray(codes, dtype=np.int64)}


def _follows_a_gradient(which: str):
    """``Probe.engaged`` (trusted): the student's gradients follow the model's gradient of the target's logit or
    of one of the known mistakes (:meth:`Context.alternatives`: another class, the probability, the loss...), so
    an honest wrong objective keeps its side-effect points; the input echoed, a constant or noise does not."""
    def engaged(student, reference, ctx: Context) -> bool:
        follows = follows_reference("grads")
        return any(follows(student, {"grads": g}, ctx) for g in ctx.alternatives(which).values())
    return engaged


GRADIENT_BATCH = Probe("gradient_batch", "logit_gradient", _gradient_probe("batch"),
                        engaged=_follows_a_gradient("batch"))
GRADIENT_SINGLE = Probe("gradient_single", "logit_gradient", _gradient_probe("single"),
                         engaged=_follows_a_gradient("single"))
GRADIENT_RGB = Probe("gradient_rgb", "logit_gradient", _gradient_probe("rgb"),
                      engaged=_follows_a_gradient("rgb"))
GRADIENT_ERRORS = Probe("gradient_errors", "logit_gradient", _gradient_errors)
ASCENT = Probe("ascent", "gradient_ascent", _ascent_probe)
ASCENT_ERRORS = Probe("ascent_errors", "gradient_ascent", _ascent_errors)


# ------------------------------------------------------------------------------------------------ checks (trusted side)

GRADIENT_HINTS = (
    ("predicted", "you differentiated the logit of the predicted class; differentiate image n's logit of "
                  "targets[n]."),
    ("cross", "each image's gradient includes the other images' targets: logits[:, targets] picks every target for "
              "every image; pick one per image with logits.gather(1, targets[:, None]) (or "
              "logits[torch.arange(N), targets])."),
    ("all_logits", "you summed all the logits of each image; select only logits[n, targets[n]]."),
    ("mean", "your gradients are divided by the batch size: sum the selected logits over the batch, do not average "
             "them."),
    ("probability", "you differentiated the softmax probability; differentiate the logit (the model's output) "
                    "itself."),
    ("loss", "you differentiated the cross-entropy loss; differentiate the target's logit itself."),
    ("mean_loss", "you differentiated the mean cross-entropy loss; differentiate the target's logit itself."),
    ("negative", "your gradient has the wrong sign: differentiate the logit, not its negative."),
)


def _verify_gradient(which: str):
    what = {"batch": "a batch of 6 digits", "single": "a single digit", "rgb": "a batch of 3 RGB 32x32 images with 5 "
                                                                                "classes"}[which]

    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        s, r = student.get("grads"), reference["grads"]
        problem = shape_problem(s, r.shape, "logit_gradient returned")
        if problem:
            if which == "rgb" and s is not None and np.ndim(s) == 4 and tuple(np.shape(s)[1:]) == (1, 28, 28):
                problem += " Nothing may be hard-coded to 1x28x28 images: use the shape of images."
            return Verdict(False, problem)
        figures = tuple(Figure(f"d logit[target] / d image, image {n} (summed over channels)", s[n].sum(0), r[n].sum(0),
                               "heatmap") for n in range(min(2, len(r))))
        err = norm_relative_error(s, r)
        if err <= tol.rtol:
            return Verdict(True, f"matches the reference on {what} (relative difference {err:.1e}).", figures)
        alternatives = ctx.alternatives(which)
        hint = next((message for key, message in GRADIENT_HINTS
                     if norm_relative_error(alternatives[key], alternatives["reference"]) > 0.05
                     and norm_relative_error(s, alternatives[key]) < 0.01),
                    "differentiate each image's own target logit, logits[n, targets[n]], with respect to the image "
                    "(one backward pass of their sum).")
        return Verdict(False, f"on {what} your gradients differ from the reference by {100 * min(err, 99.99):.1f}% "
                              f"(relative L2 difference): {hint}", figures)
    return verify


def _verify_untouched(name: str, original):
    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        after, x = student.get("x_after"), original(ctx).numpy()
        if after is None:
            return Verdict(False, f"the input {name} did not come back from your code after the call.")
        if after.shape != x.shape or not np.array_equal(after, x):
            return Verdict(False, f"your function modified the caller's {name}; work on a copy "
                                  f"(`{name}.detach().clone()`).")
        if bool(student.get("x_requires_grad", False)):
            return Verdict(False, f"your function switched on {name}.requires_grad of the caller's tensor; call "
                                  f"requires_grad_ on a copy (`{name}.detach().clone().requires_grad_(True)`).")
        return Verdict(True, f"the caller's `{name}` is left as it was.")
    return verify


def _verify_params(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    if bool(student.get("params_touched", True)):
        return Verdict(False, "the model's weights have a .grad after your call: `.backward()` fills every weight's "
                              ".grad (during training that corrupts the next optimizer step); use "
                              "`torch.autograd.grad(objective, x)`, which computes only the gradient you ask for.")
    if bool(student.get("history", True)):
        return Verdict(False, "your result still carries gradient history (requires_grad=True): the docstring asks "
                              "for tensors without it; compute under torch.no_grad() or return `.detach()`ed tensors.")
    return Verdict(True, "no weight of the model got a .grad and the result carries no gradient history.")


def _code_message(code: int, case: str) -> str:
    return (f"with {case} it raised another kind of exception; check the input first and raise ValueError or TypeError "
            "with a message saying what was expected." if code == 1 else
            f"with {case} it returned instead of raising; check the input first and raise ValueError or TypeError "
            "with a message saying what was expected.")


def _verify_errors(name: str, cases: tuple[str, ...]):
    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        codes = student.get("codes")
        if codes is None or np.shape(codes) != (len(cases) + 1,):
            return Verdict(False, f"{name}: the results of the bad-input calls are missing.")
        codes = np.asarray(codes).tolist()
        for code, case in zip(codes, cases):
            if code != 0:
                return Verdict(False, f"{name} must reject bad input: " + _code_message(code, case))
        if codes[-1] != 2:
            return Verdict(False, f"{name} raised an exception for valid input; raise only when the input is bad.")
        return Verdict(True, f"{name} raises a clear error for each bad input ({'; '.join(cases)}).")
    return verify


def _ascent_arrays(student) -> tuple[str | None, np.ndarray | None, np.ndarray | None]:
    """(problem, images, probabilities): problem is None when both are usable (right rank, finite)."""
    images, probs = student.get("images"), student.get("probabilities")
    steps1 = ASCENT_STEPS + 1
    if images is None or probs is None:
        return "gradient_ascent: no output came back.", None, None
    if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28) or not 1 <= len(images) <= steps1:
        return (f"images: expected shape ({steps1}, 1, 28, 28) (the start and every step), got "
                f"{tuple(images.shape)}."), None, None
    for what, a in (("images", images), ("probabilities", probs)):
        if not np.isfinite(a).all():
            return f"{what}: contains NaN or infinite values.", None, None
    return None, images, probs


def _verify_ascent_start(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    problem, images, probs = _ascent_arrays(student)
    if problem:
        return Verdict(False, problem)
    steps1 = ASCENT_STEPS + 1
    if len(images) == ASCENT_STEPS:
        return Verdict(False, f"images has {ASCENT_STEPS} images for {ASCENT_STEPS} steps: include the start image "
                              f"as images[0], so the shape is ({steps1}, 1, 28, 28).")
    if len(images) != steps1:
        return Verdict(False, f"images: expected shape ({steps1}, 1, 28, 28), got {tuple(images.shape)}.")
    if probs.shape != (steps1, NUM_CLASSES):
        return Verdict(False, f"probabilities: expected shape ({steps1}, {NUM_CLASSES}), one row per image, got "
                              f"{tuple(probs.shape)}.")
    if float(np.abs(images[0] - ctx.ascent_image[0].numpy()).max()) > tol.atol:
        return Verdict(False, "images[0] is not the start image: images[0] must be the image you were given, before "
                              "any step.")
    if float(np.abs(images[-1] - images[0]).max()) <= tol.atol:   # a yardstick the student does not control
        return Verdict(False, f"images[{ASCENT_STEPS}] is still the start image: after {ASCENT_STEPS} steps of "
                              "length step_size the image must have moved (images[k] is the image after k steps).")
    return Verdict(True, f"images ({steps1}, 1, 28, 28) start with the given image; probabilities are "
                         f"({steps1}, {NUM_CLASSES}).")


def _verify_ascent_steps(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    problem, images, _ = _ascent_arrays(student)
    if problem:
        return Verdict(False, problem)
    start = ctx.ascent_image.numpy().astype(np.float64)            # (1, 1, 28, 28)
    ref = reference["images"].astype(np.float64)
    s = images.astype(np.float64)
    if len(s) not in (ASCENT_STEPS, ASCENT_STEPS + 1):
        return Verdict(False, f"images: expected shape ({ASCENT_STEPS + 1}, 1, 28, 28), got {tuple(s.shape)}.")
    r = ref[1:] if len(s) == ASCENT_STEPS else ref               # the start left out: judged by the check above
    figures = (Figure(f"the image after {ASCENT_STEPS} steps", s[-1, 0], r[-1, 0], "heatmap"),)
    err = norm_relative_error(s - start, r - start)
    if err <= tol.rtol:
        return Verdict(True, f"all {ASCENT_STEPS} steps match the reference (relative difference {err:.1e}).", figures)
    first_s = s[1] - start[0] if len(s) == len(ref) else s[0] - start[0]
    first_r = ref[1] - start[0]
    first_ok = norm_relative_error(first_s, first_r) < 0.01
    p_target = ctx.probabilities(s.astype(np.float32))[:, ctx.ascent_target]
    hint = ("pixel values left [0, 1]: clip the image to [0, 1] after every step (`.clamp(0, 1)`)."
            if s.min() < -1e-4 or s.max() > 1 + 1e-4 else
            "the steps make the target less likely: gradient ASCENT adds step_size * g / ||g||_2."
            if cosine(first_s, first_r) < -0.9 or (np.isfinite(p_target).all() and p_target[-1] < p_target[0]) else
            "the first step points the right way but has the wrong length: divide the gradient by its L2 norm over "
            "the whole image, x + step_size * g / ||g||_2." if cosine(first_s, first_r) > 0.99 and not first_ok else
            "the first step matches but later ones do not: take a fresh gradient at the current image at every "
            "step (with `.backward()`, the .grad of a tensor accumulates across calls; use torch.autograd.grad or "
            "your logit_gradient)." if first_ok else
            "step k is x_{k+1} = clip(x_k + step_size * g_k / ||g_k||_2, 0, 1), with g_k the gradient of the target's "
            "logit at x_k.")
    return Verdict(False, f"your steps differ from the reference by {100 * min(err, 99.99):.1f}% (relative L2 "
                          f"difference of the changes): {hint}", figures)


def _verify_ascent_probabilities(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """probabilities[k] must be the model's softmax for the student's own images[k] (judged apart from the steps)."""
    problem, images, probs = _ascent_arrays(student)
    if problem:
        return Verdict(False, problem)
    if probs.shape != (len(images), NUM_CLASSES):
        return Verdict(False, f"probabilities: expected shape ({len(images)}, {NUM_CLASSES}), one row per image, got "
                              f"{tuple(probs.shape)}.")
    expected = ctx.probabilities(images)
    if not np.isfinite(expected).all():
        return Verdict(False, "the model's outputs for your images are not finite: return images with pixel values "
                              "in [0, 1].")
    probs = probs.astype(np.float64)
    diff = float(np.abs(probs - expected).max())
    if diff <= tol.atol:
        return Verdict(True, "probabilities are the model's softmax for each of your images.")
    sums = probs.sum(axis=1)
    hint = ("these are log-probabilities: return softmax(logits), not log_softmax." if (probs < 0).all() else
            "the rows do not sum to 1: apply softmax to the logits (`model(images).softmax(dim=1)`)."
            if np.abs(sums - 1).max() > 1e-3 else
            "probabilities[k] must belong to images[k] (the start image first, then the image after each step)."
            if len(probs) > 1 and float(np.abs(probs[1:] - expected[:-1]).max()) <= tol.atol else
            "compute softmax(model(images)) for the images you return, with the model as given.")
    return Verdict(False, f"probabilities differ from the model's softmax for your images by up to {diff:.3f}: {hint}")


CHECKS = (
    Check("gradient_batch", GRADIENT_BATCH, 2, "gradients for a batch, one target per image, match the reference",
          _verify_gradient("batch"), Tolerance(rtol=1e-3)),
    Check("gradient_single", GRADIENT_SINGLE, 1, "the gradient for a single image matches the reference",
          _verify_gradient("single"), Tolerance(rtol=1e-3)),
    Check("gradient_any_shape", GRADIENT_RGB, 1, "RGB 32x32 images and 5 classes work too",
          _verify_gradient("rgb"), Tolerance(rtol=1e-3)),
    Check("gradient_errors", GRADIENT_ERRORS, 1, "bad input raises a clear ValueError or TypeError",
          _verify_errors("logit_gradient", GRADIENT_ERROR_CASES), side_effect=True),
    Check("gradient_input_untouched", GRADIENT_BATCH, 0.5, "logit_gradient leaves images as they were",
          _verify_untouched("images", lambda ctx: ctx.X), side_effect=True),
    Check("gradient_params_untouched", GRADIENT_BATCH, 0.5, "logit_gradient leaves no autograd state: no .grad on the weights, "
          "no gradient history on the result",
          _verify_params, side_effect=True),
    Check("ascent_start", ASCENT, 1, "images start with the given image; shapes (steps + 1, ...)",
          _verify_ascent_start, Tolerance(atol=1e-6)),
    Check("ascent_steps", ASCENT, 2, "every normalized, clipped ascent step matches the reference",
          _verify_ascent_steps, Tolerance(rtol=1e-2)),
    Check("ascent_probabilities", ASCENT, 1, "probabilities are the model's softmax for each returned image",
          _verify_ascent_probabilities, Tolerance(atol=PROBABILITY_TOL)),
    Check("ascent_errors", ASCENT_ERRORS, 1, "a bad target or image shape raises ValueError",
          _verify_errors("gradient_ascent", ASCENT_ERROR_CASES), side_effect=True),
    Check("ascent_input_untouched", ASCENT, 0.5, "gradient_ascent leaves image as it was",
          _verify_untouched("image", lambda ctx: ctx.ascent_image), side_effect=True),
    Check("ascent_params_untouched", ASCENT, 0.5, "gradient_ascent leaves no autograd state: no .grad on the weights, "
          "no gradient history on the result",
          _verify_params, side_effect=True),
)

ASSIGNMENT = Assignment(ASSIGNMENT_ID, NOTEBOOK, FUNCTIONS, CHECKS, make_context)
