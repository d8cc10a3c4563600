"""Checks for notebook 02 (network visualization): saliency maps, fooling images, class-visualization steps.

Every probe uses the offline SqueezeNet 1.1 and the first offline sample images (deterministic on every machine).
Points per function (= the ``points`` of its hidden-test cell): 3 each, 9 in all.
"""
from __future__ import annotations

import copy

import numpy as np

from ..arrays import cosine, flag, norm_relative_error, shape_problem, to_array
from ..check import Assignment, Check, Figure, Probe, Tolerance, Verdict

ASSIGNMENT_ID = "02_network_visualization"
NOTEBOOK = "network_visualization.ipynb"
FUNCTIONS = ("compute_saliency_maps", "make_fooling_image", "class_visualization_update_step")

SALIENCY_BATCH = slice(0, 4)       # images of the batched saliency probe
SALIENCY_SINGLE = slice(4, 5)      # the one-image probe
FOOLING_IMAGE = 0                  # index of the image to fool; target = (its label + FOOLING_SHIFT) % classes
FOOLING_SHIFT = 3
FOOLING_TIE = 1e-3                 # a target score this close to the top counts (GPU and CPU round differently)
STEP_SEED, STEP_LEARNING_RATE = 0, 1.0
STEP_L2_SHARE = 0.5                # l2_reg is chosen so the L2 term's gradient is half the score's (see Context)


class Context:
    """The model and inputs of notebook 02's probes. Inputs live on the CPU; probes move them to ``device``.

    X: (5, 3, 128, 128) float32 normalized sample images; y: (5,) int64 labels."""

    def __init__(self, device: str = "cpu"):
        import hwlib
        import torch

        loaded = hwlib.load_squeezenet("offline", device="cpu")
        samples = hwlib.load_sample_images(5, source="offline")
        self.device = torch.device(device)
        self.base_model = loaded.model
        self.class_names = loaded.class_names
        self.X = hwlib.preprocess(samples.images, size=samples.image_size)
        self.y = torch.as_tensor(samples.labels, dtype=torch.int64)
        self.step_l2_reg = self._balanced_l2_reg()

    def _balanced_l2_reg(self) -> float:
        """The l2_reg of the update-step probe: ``||grad 2 l2_reg I|| = STEP_L2_SHARE * ||grad s_y(I)||`` at the
        start image, rounded to 2 significant digits, so that a missing or flipped L2 term shows for any model."""
        import torch

        img = self.step_start().double().requires_grad_(True)
        score = copy.deepcopy(self.base_model).double()(img)[0, int(self.y[0])]
        (grad,) = torch.autograd.grad(score, img)
        return float(f"{STEP_L2_SHARE * float(grad.norm()) / (2 * float(img.detach().norm())):.2g}")

    def fresh_model(self):
        """A private copy of the frozen model on ``device`` (so one probe cannot spoil the next)."""
        return copy.deepcopy(self.base_model).to(self.device).eval()

    def on_device(self, tensor):
        return tensor.clone().to(self.device)

    @property
    def fooling_target(self) -> int:
        return (int(self.y[FOOLING_IMAGE]) + FOOLING_SHIFT) % len(self.class_names)

    def step_start(self):
        """The class-visualization start image ``(1, 3, H, W)`` (seeded noise, CPU)."""
        import torch

        gen = torch.Generator().manual_seed(STEP_SEED)
        return torch.randn(1, 3, *self.X.shape[2:], generator=gen)

    def scores(self, images: np.ndarray) -> np.ndarray:
        """Trusted class scores ``(N, C)`` of float32 images ``(N, 3, H, W)`` (CPU)."""
        import torch

        with torch.no_grad():
            return self.base_model(torch.from_numpy(images)).double().numpy()


def make_context(device: str = "cpu") -> Context:
    return Context(device)


# ----------------------------------------------------------------------------------------------- probes (untrusted side)

def _saliency_probe(index: slice):
    def run(fn, ctx: Context) -> dict[str, np.ndarray]:
        X, y = ctx.on_device(ctx.X[index]), ctx.on_device(ctx.y[index])
        out = fn(X, y, ctx.fresh_model())
        return {"saliency": to_array(out, "compute_saliency_maps returned"), "x_after": to_array(X, "X"),
                "x_requires_grad": flag(X.requires_grad)}
    return run


def _fooling_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    X = ctx.on_device(ctx.X[FOOLING_IMAGE:FOOLING_IMAGE + 1])
    out = fn(X, ctx.fooling_target, ctx.fresh_model())
    return {"fooling": to_array(out, "make_fooling_image returned"), "x_after": to_array(X, "X")}


def _step_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    img = ctx.on_device(ctx.step_start()).requires_grad_(True)
    model, target = ctx.fresh_model(), int(ctx.y[0])
    fn(img, model, target, ctx.step_l2_reg, STEP_LEARNING_RATE)
    after_one = to_array(img, "img after one call")
    fn(img, model, target, ctx.step_l2_reg, STEP_LEARNING_RATE)
    return {"after_one": after_one, "after_two": to_array(img, "img after two calls")}


SALIENCY_BATCH_PROBE = Probe("saliency_batch", "compute_saliency_maps", _saliency_probe(SALIENCY_BATCH))
SALIENCY_SINGLE_PROBE = Probe("saliency_single", "compute_saliency_maps", _saliency_probe(SALIENCY_SINGLE))
FOOLING_PROBE = Probe("fooling", "make_fooling_image", _fooling_probe)
STEP_PROBE = Probe("update_step", "class_visualization_update_step", _step_probe)


# ------------------------------------------------------------------------------------------------ checks (trusted side)

def _input_problem(student, X: np.ndarray, name: str = "X") -> str | None:
    """A message when the student's function modified its input or switched on its requires_grad."""
    after = student.get("x_after")
    if after is None:
        return f"the input {name} did not come back from your code after the call."
    if after.shape != X.shape or not np.array_equal(after, X):
        return (f"your function modified its input {name}; work on a copy (`{name}.detach().clone()`) or use "
                "`torch.autograd.grad`, never change the caller's tensor.")
    if bool(student.get("x_requires_grad", False)):
        return f"your function switched on {name}.requires_grad of the caller's tensor; work on a copy instead."
    return None


def _verify_saliency(index: slice):
    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        X, s, r = ctx.X[index].numpy(), student.get("saliency"), reference["saliency"]
        problem = shape_problem(s, r.shape, "compute_saliency_maps returned") or _input_problem(student, X)
        if problem:
            return Verdict(False, problem)
        shown = list(range(*index.indices(len(ctx.X))))[:2]
        figures = tuple(Figure(f"saliency map of image {i}", s[k], r[k], "heatmap") for k, i in enumerate(shown))
        # Relative L2 error: a float rounding difference can flip one max-pool tie or ReLU and move single
        # pixels (different BLAS threads, CPU vs GPU), but every conceptual mistake moves the whole map.
        err = norm_relative_error(s, r)
        if err <= tol.rtol:
            return Verdict(True, f"matches the reference (relative difference {err:.1e}).", figures)
        hint = ("it has negative values: take the absolute value of the gradient." if (s < 0).any() else
                "it is the reference divided by the batch size: sum the correct-class scores over the batch, "
                "do not average them." if len(r) > 1 and norm_relative_error(s * len(r), r) < 0.01 else
                "use the correct-class score (logit; not softmax or a loss), take |gradient| and its maximum "
                "over the 3 colour channels.")
        return Verdict(False, f"differs from the reference by {100 * min(err, 99.99):.1f}% (relative L2 "
                              f"difference): {hint}", figures)
    return verify


def _fooled(student, ctx: Context, tie: float = FOOLING_TIE) -> tuple[str | None, np.ndarray | None]:
    """(problem, fooling image): problem is None when the image is usable and classified as the target (a target
    score within ``tie`` of the top score counts)."""
    X = ctx.X[FOOLING_IMAGE:FOOLING_IMAGE + 1].numpy()
    f = student.get("fooling")
    problem = shape_problem(f, X.shape, "make_fooling_image returned") or _input_problem(student, X)
    if problem:
        return problem, None
    scores, target = ctx.scores(f)[0], ctx.fooling_target
    best = int(scores.argmax())
    if scores[target] < scores[best] - tie:
        names = ctx.class_names
        return (f"the model classifies your image as {names[best]!r} (score {scores[best]:.2f}), not as the target "
                f"{names[target]!r} (score {scores[target]:.2f}): keep taking gradient-ascent steps on the target "
                "score until the prediction is the target (at most 100)."), f
    return None, f


def _fooling_figures(f: np.ndarray, ref: np.ndarray, X: np.ndarray) -> tuple[Figure, ...]:
    from .. import images

    return (Figure("fooling image", images.deprocess(f), images.deprocess(ref)),
            Figure("change |X_fooling - X| (max over channels)", np.abs(f - X)[0].max(0),
                   np.abs(ref - X)[0].max(0), "heatmap"))


def _verify_fooled(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    problem, f = _fooled(student, ctx, tol.atol)
    X = ctx.X[FOOLING_IMAGE:FOOLING_IMAGE + 1].numpy()
    figures = _fooling_figures(f, reference["fooling"], X) if f is not None else ()
    if problem:
        return Verdict(False, problem, figures)
    return Verdict(True, f"the model classifies your image as the target {ctx.class_names[ctx.fooling_target]!r}.",
                   figures)


def _verify_close(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    problem, f = _fooled(student, ctx)
    if problem:
        return Verdict(False, "not checked until the image is classified as the target (see the check above).")
    X = ctx.X[FOOLING_IMAGE:FOOLING_IMAGE + 1].numpy().astype(np.float64)
    dist = float(np.linalg.norm(f - X))
    ref_dist = float(np.linalg.norm(reference["fooling"] - X))
    limit = ref_dist * (1 + tol.rtol) + tol.atol
    if dist <= limit:
        return Verdict(True, f"your image moved ||X_fooling - X||_2 = {dist:.2f} (the reference moved {ref_dist:.2f}).")
    return Verdict(False, f"your image moved ||X_fooling - X||_2 = {dist:.2f}, more than {limit:.2f} (the reference "
                          f"moved {ref_dist:.2f}): step by learning_rate * g / ||g||_2 with learning_rate = 1, and stop "
                          "as soon as the model predicts the target.")


def _verify_step(key: str, previous: str | None):
    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        start = ctx.step_start().numpy()
        before_s = start if previous is None else student.get(previous)
        before_r = start if previous is None else reference[previous]
        s, r = student.get(key), reference[key]
        what = "img after one call" if previous is None else "img after two calls"
        step = "first step" if previous is None else "second step"
        problem = shape_problem(s, r.shape, what) or (None if before_s is not None else f"{previous}: missing.")
        if problem:
            return Verdict(False, problem)
        step_s, step_r = s - before_s, r - before_r
        figures = (Figure(f"{step} |Δimg| (max over channels)",
                          np.abs(step_s)[0].max(0), np.abs(step_r)[0].max(0), "heatmap"),)
        err = norm_relative_error(step_s, step_r)
        if err <= tol.rtol:
            return Verdict(True, f"the {step} matches the reference (difference {err:.1e}).", figures)
        l2_part = 2 * ctx.step_l2_reg * STEP_LEARNING_RATE * before_r      # what the penalty subtracts from the step
        hint = ("img did not change: update it in place (`img += ...` inside `torch.no_grad()`); a returned tensor "
                "is ignored." if not step_s.any() else
                "the L2 penalty is missing: the objective is s_y(img) - l2_reg * ||img||_2^2."
                if norm_relative_error(step_s, step_r + l2_part) < 0.01 else
                "the L2 penalty has the wrong sign: the objective is s_y(img) - l2_reg * ||img||_2^2."
                if norm_relative_error(step_s, step_r + 2 * l2_part) < 0.01 else
                "your step goes downhill: gradient ASCENT adds learning_rate * gradient." if cosine(step_s, step_r) < -0.99
                else
                "the first step is right but the second is not: img.grad accumulates between calls (use "
                "torch.autograd.grad, or zero img.grad after the step)." if previous is not None else
                "take one step img += learning_rate * (gradient of s_y(img) - l2_reg * ||img||_2^2), with the raw "
                "(unnormalized) gradient.")
        return Verdict(False, f"the {step} differs from the reference by {100 * min(err, 99.99):.1f}%: {hint}", figures)
    return verify


CHECKS = (
    Check("saliency_batch", SALIENCY_BATCH_PROBE, 2, "saliency maps of a batch of 4 images match the reference",
          _verify_saliency(SALIENCY_BATCH), Tolerance(rtol=2e-2)),
    Check("saliency_single", SALIENCY_SINGLE_PROBE, 1, "the saliency map of a single image matches the reference",
          _verify_saliency(SALIENCY_SINGLE), Tolerance(rtol=2e-2)),
    Check("fooling_target", FOOLING_PROBE, 2, "the fooling image is classified as the target class",
          _verify_fooled, Tolerance(atol=FOOLING_TIE)),
    Check("fooling_close", FOOLING_PROBE, 1, "the fooling image stays close to the original",
          _verify_close, Tolerance(rtol=1.0, atol=2.0)),
    Check("update_step_one", STEP_PROBE, 2, "one update step matches the reference step",
          _verify_step("after_one", None), Tolerance(rtol=1e-2)),
    Check("update_step_two", STEP_PROBE, 1, "a second call takes a fresh step (nothing accumulates)",
          _verify_step("after_two", "after_one"), Tolerance(rtol=1e-2)),
)

WRONG = {
    "compute_saliency_maps": "saliency = torch.zeros(X.shape[0], X.shape[2], X.shape[3], device=X.device)  # no gradient",
    "make_fooling_image": "X_fooling = X.detach().clone()  # the image is not changed at all",
    "class_visualization_update_step": "pass  # img is not updated",
}

ONE_BUG = {
    "compute_saliency_maps": """\
X = X.detach().clone().requires_grad_(True)
scores = model(X)
correct = scores.gather(1, y.view(-1, 1)).sum()
(grad,) = torch.autograd.grad(correct, X)
saliency = grad.abs().sum(dim=1)  # BUG: sums over the colour channels instead of taking the maximum""",
}

ASSIGNMENT = Assignment(ASSIGNMENT_ID, NOTEBOOK, FUNCTIONS, CHECKS, make_context, wrong=WRONG, one_bug=ONE_BUG)
