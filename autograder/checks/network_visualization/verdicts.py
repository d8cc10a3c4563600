"""Checks for notebook 02 (network visualization): saliency maps, fooling images, class-visualization steps.

Every probe uses the offline SqueezeNet 1.1 and the first offline sample images (deterministic on every machine).
Points per function: 3 each, 9 in all; the solution notebook has one hidden-test cell per check, whose nbgrader
``points`` are that check's (so nbgrader and the fast grader give the same points for every submission).

How each function is judged (each check's docstring lists the known-correct variants that keep full marks and the
known-wrong ones that lose points; ``VARIANTS`` holds an example submission of each):

- ``compute_saliency_maps``: the maps of a batch of 4 and of a single image are compared with the reference by
  relative L2 error; leaving the caller's ``X`` modified or with ``requires_grad`` on is a separate, small
  side-effect check.
- ``make_fooling_image``: three (image, target) cases, two fooled after 2 steps, one after 14. The probe's model is
  a trusted wrapper that records every distinct image it is called with. The *returned* images prove what they
  can: classified as the target, and on the path normalized gradient ascent takes (within 15% of the reference's
  last image, or of one step beyond it). The recordings run in the student's process and are student-controlled:
  they are only evidence that lowers a score (a step that is not ``learning_rate * g / ||g||_2`` of the raw target
  score, an image the model already classified as the target before the one returned), never a reason to pass.
- ``class_visualization_update_step``: the first call's step is compared with the reference step; the second
  call's step with the correct step computed (trusted) at the image the student's first call left, so a wrong
  first step is not blamed twice for the same reason and accumulation is told apart.

Every verdict treats NaN or inf anywhere (the student's arrays, the trusted model's scores or gradients on them) as
a failure, and a tensor of another dtype than the input's, or a tensor subclass, as unusable.

Feedback pictures never give the answer away: no reference image is shown (a reference fooling image decoded from
its PNG would pass the fooling checks), only unsigned heat maps (the saliency map; the size of a change, maximum over
the colour channels), and the feedback page draws their reference side as a coarse view (``images.coarse``; no
figure here sets ``reference_safe``). A saliency map is checked at full resolution within 2%, a fooling image or a
step by its signed per-channel values, so none of these pictures can be turned back into a passing answer
(``test_checks_network_visualization`` checks it for the saliency maps and the fooling change maps).
"""
from __future__ import annotations

import copy
import functools
import hashlib
import threading

import numpy as np

from ..arrays import cosine, flag, norm_relative_error, shape_problem, to_array
from ..check import Assignment, Check, Figure, Probe, Tolerance, Verdict, follows_reference

ASSIGNMENT_ID = "02_network_visualization"
NOTEBOOK = "network_visualization.ipynb"
FUNCTIONS = ("compute_saliency_maps", "make_fooling_image", "class_visualization_update_step")

NUM_IMAGES = 9                     # offline sample images in the context
SALIENCY_BATCH = slice(0, 4)       # images of the batched saliency probe
SALIENCY_SINGLE = slice(4, 5)      # the one-image probe
# (image index, target class) of the fooling probe. Chosen so that the reference path is stable (float64 and
# float32 paths end within 1% of each other) and every decision on it has a clear margin: 2, 14 and 2 steps.
# tests/autograder/test_checks_network_visualization.py re-checks this for the shipped model.
FOOLING_CASES = ((8, 6), (4, 1), (3, 9))
FOOLING_LEARNING_RATE = 1.0        # make_fooling_image's learning_rate
FOOLING_TIE = 1e-3                 # a target score this close to the top counts (GPU and CPU round differently)
FOOLING_PATH_TOLERANCE = 0.15      # ||F - F_ref|| / ||F_ref - X|| of an image on the normalized-ascent path
FOOLING_STEP_COSINE = 0.99         # a recorded step's cosine with the trusted gradient of s_t at its start
FOOLING_STEP_LENGTH = 0.01         # ... and its length's relative deviation from learning_rate
FOOLING_RECORD_LIMIT = 48          # distinct images recorded per case (the reference needs at most 15)
FOOLING_HUGE = 1e4                 # |value| of a returned image that is absurd (normalized pixels are within +-3)
STEP_SEED, STEP_LEARNING_RATE = 0, 0.8   # not 1: a step that ignores learning_rate must not pass
STEP_L2_SHARE = 0.5                # l2_reg is chosen so the L2 term's gradient is half the score's (see Context)

# What a probe reports about a returned tensor (besides its values): usable, a tensor subclass, another dtype.
_PLAIN, _SUBCLASS, _OTHER_DTYPE = 0, 1, 2


class Context:
    """The model and inputs of notebook 02's probes. Inputs live on the CPU; probes move them to ``device``.

    X: (9, 3, 128, 128) float32 normalized sample images; y: (9,) int64 labels. The trusted helpers (``scores``,
    ``gradients``, ``class_step``) run on the CPU copy of the model, in the grading process."""

    def __init__(self, device: str = "cpu"):
        import hwlib
        import torch

        loaded = hwlib.load_squeezenet("offline", device="cpu")
        samples = hwlib.load_sample_images(NUM_IMAGES, source="offline")
        self.device = torch.device(device)
        self.base_model = loaded.model
        self.class_names = loaded.class_names
        self.X = hwlib.preprocess(samples.images, size=samples.image_size)
        self.y = torch.as_tensor(samples.labels, dtype=torch.int64)
        self.step_l2_reg = self._balanced_l2_reg()
        self._memo: dict = {}
        self._memo_lock = threading.Lock()

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

    def step_start(self):
        """The class-visualization start image ``(1, 3, H, W)`` (seeded noise, CPU)."""
        import torch

        gen = torch.Generator().manual_seed(STEP_SEED)
        return torch.randn(1, 3, *self.X.shape[2:], generator=gen)

    def memo(self, key, compute):
        """``compute()``, remembered under ``key`` (a few entries: analyses shared by the checks of one probe; the
        grader may verify several submissions in threads at once)."""
        value = self._memo.get(key)
        if value is None:
            value = compute()
            with self._memo_lock:
                if len(self._memo) > 16:
                    self._memo.clear()
                self._memo[key] = value
        return value

    # ------------------------------------------------------------------------------------- trusted computations
    def scores(self, images: np.ndarray) -> np.ndarray:
        """Trusted class scores ``(N, C)`` float64 of float32 images ``(N, 3, H, W)`` (may hold NaN/inf)."""
        import torch

        with torch.no_grad(), _OneThread():
            return self.base_model(torch.from_numpy(np.ascontiguousarray(images, np.float32))).double().numpy()

    def gradients(self, images: np.ndarray, targets, objective: str = "score") -> tuple[np.ndarray, np.ndarray]:
        """``(scores (N, C), gradients (N, 3, H, W))`` float64 of each image's ``objective`` for its target:
        ``"score"`` is the raw score s_t, ``"log_softmax"`` is s_t - logsumexp(s) (minus the cross-entropy loss;
        the softmax probability has the same direction). Batched, 8 images per backward pass."""
        images = np.ascontiguousarray(images, np.float32)
        targets = np.broadcast_to(np.asarray(targets, dtype=np.int64), (len(images),))
        scores, grads = [], []
        with _OneThread():
            for start in range(0, len(images), 8):              # 8 images at a time: bounded memory
                out, grad = self._gradients(images[start:start + 8], targets[start:start + 8], objective)
                scores.append(out)
                grads.append(grad)
        return np.concatenate(scores), np.concatenate(grads)

    def _gradients(self, images: np.ndarray, targets: np.ndarray, objective: str) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.enable_grad():
            x = torch.from_numpy(images).requires_grad_(True)
            out = self.base_model(x)
            chosen = out.gather(1, torch.from_numpy(targets.copy()).view(-1, 1))[:, 0]
            if objective == "log_softmax":
                chosen = chosen - torch.logsumexp(out, dim=1)
            (grad,) = torch.autograd.grad(chosen.sum(), x)
        return out.detach().double().numpy(), grad.double().numpy()

    def class_step(self, img: np.ndarray) -> np.ndarray:
        """The correct class-visualization step at ``img`` ``(1, 3, H, W)``: ``learning_rate * grad(s_y(I) -
        l2_reg ||I||^2)`` float64 (may hold NaN/inf when ``img`` is absurd)."""
        _, grad = self.gradients(img, int(self.y[0]))
        return STEP_LEARNING_RATE * (grad - 2 * self.step_l2_reg * img.astype(np.float64))


class _OneThread:
    """Trusted computations on one CPU thread, restored when the last one ends (the grader verifies several
    submissions in threads at once): the grading process shares the machine with the sandboxed students, and
    busy-waiting thread pools slow everyone down far more than one thread is slower."""
    _lock = threading.Lock()
    _depth = 0
    _saved = 1

    def __enter__(self):
        import torch

        with _OneThread._lock:
            if _OneThread._depth == 0:
                _OneThread._saved = torch.get_num_threads()
                torch.set_num_threads(1)
            _OneThread._depth += 1

    def __exit__(self, *exc):
        import torch

        with _OneThread._lock:
            _OneThread._depth -= 1
            if _OneThread._depth == 0:
                torch.set_num_threads(_OneThread._saved)


@functools.lru_cache(maxsize=4)
def make_context(device: str = "cpu") -> Context:
    """The Context for ``device``, built once per process (nbgrader runs one hidden cell per check, each asking for
    it). Probes hand the student's code only copies of its model and inputs; nothing writes to it but the memo of
    trusted analyses (keyed by a digest of what they analyse)."""
    return Context(device)


# ----------------------------------------------------------------------------------------------- probes (untrusted side)

def _kind(value, like) -> np.ndarray:
    """How usable a returned tensor is, as a 0-d array: plain, a tensor subclass, or another dtype than ``like``."""
    import torch

    if type(value) not in (torch.Tensor, torch.nn.Parameter):
        return np.asarray(_SUBCLASS)
    return np.asarray(_PLAIN if value.dtype == like.dtype else _OTHER_DTYPE)


def _saliency_probe(index: slice):
    def run(fn, ctx: Context) -> dict[str, np.ndarray]:
        X, y = ctx.on_device(ctx.X[index]), ctx.on_device(ctx.y[index])
        like = X.detach().clone()
        out = fn(X, y, ctx.fresh_model())
        return {"saliency": to_array(out, "compute_saliency_maps returned"), "saliency_kind": _kind(out, like),
                "x_after": to_array(X, "X"), "x_requires_grad": flag(X.requires_grad)}
    return run


def _recorder(model, shape, limit: int = FOOLING_RECORD_LIMIT):
    """``model`` wrapped so that it records every distinct image ``(3, H, W)`` it is called with (consecutive
    repeats once, at most ``limit``, non-finite ones skipped) in ``.images``; attributes pass through to ``model``.
    It runs in the student's process: what it records is evidence that can lower a score, never raise one."""
    import torch

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model
            self.images: list = []
            self.truncated = False

        def forward(self, x, *args, **kwargs):
            if isinstance(x, torch.Tensor) and x.dim() == 4 and tuple(x.shape[1:]) == tuple(shape):
                with torch.no_grad():
                    for sample in x.detach().to("cpu", torch.float32):
                        if not bool(torch.isfinite(sample).all()) or (
                                self.images and torch.equal(self.images[-1], sample)):
                            continue
                        if len(self.images) >= limit:
                            self.truncated = True
                            break
                        self.images.append(sample.clone())
            return self.inner(x, *args, **kwargs)

        def __getattr__(self, name):
            try:
                return super().__getattr__(name)
            except AttributeError:
                return getattr(self._modules["inner"], name)

    return Recorder()


def _fooling_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k, (i, target) in enumerate(FOOLING_CASES):
        X = ctx.on_device(ctx.X[i:i + 1])
        like = X.detach().clone()
        model = _recorder(ctx.fresh_model(), X.shape[1:])
        result = fn(X, target, model)
        out[f"fooling_{k}"] = to_array(result, "make_fooling_image returned")
        out[f"fooling_{k}_kind"] = _kind(result, like)
        images = model.images
        out[f"inputs_{k}"] = (np.stack([im.numpy() for im in images]) if images else
                              np.zeros((0, *X.shape[1:]), np.float32))
        out[f"inputs_{k}_truncated"] = flag(model.truncated)
        out[f"x_after_{k}"] = to_array(X, "X")
        out[f"x_requires_grad_{k}"] = flag(X.requires_grad)
    return out


def _step_probe(fn, ctx: Context) -> dict[str, np.ndarray]:
    img = ctx.on_device(ctx.step_start()).requires_grad_(True)
    like = img.detach().clone()
    model, target = ctx.fresh_model(), int(ctx.y[0])
    fn(img, model, target, ctx.step_l2_reg, STEP_LEARNING_RATE)
    after_one, kind_one = to_array(img, "img after one call"), _kind(img, like)
    fn(img, model, target, ctx.step_l2_reg, STEP_LEARNING_RATE)
    return {"after_one": after_one, "after_one_kind": kind_one,
            "after_two": to_array(img, "img after two calls"), "after_two_kind": _kind(img, like)}


SALIENCY_BATCH_PROBE = Probe("saliency_batch", "compute_saliency_maps", _saliency_probe(SALIENCY_BATCH),
                              engaged=follows_reference("saliency"))
SALIENCY_SINGLE_PROBE = Probe("saliency_single", "compute_saliency_maps", _saliency_probe(SALIENCY_SINGLE),
                               engaged=follows_reference("saliency"))
FOOLING_PROBE = Probe("fooling", "make_fooling_image", _fooling_probe)
STEP_PROBE = Probe("update_step", "class_visualization_update_step", _step_probe)


# ------------------------------------------------------------------------------------------------ checks (trusted side)

def _output_problem(student, key: str, shape: tuple[int, ...], what: str) -> str | None:
    """A message when output ``key`` is missing, a tensor subclass or of another dtype than the input, of the
    wrong shape, or holds NaN/inf; ``None`` when it is usable."""
    kind = student.get(f"{key}_kind")
    if kind is not None and np.ndim(kind) == 0 and int(kind) == _SUBCLASS:
        return f"{what}: expected a plain torch.Tensor, got a subclass of it."
    if kind is not None and np.ndim(kind) == 0 and int(kind) == _OTHER_DTYPE:
        return f"{what}: expected the dtype of the input (float32), got another one."
    return shape_problem(student.get(key), shape, what)


def _input_problem(student, X: np.ndarray, suffix: str = "", name: str = "X") -> str | None:
    """A message when the student's function modified its input or switched on its requires_grad."""
    after = student.get(f"x_after{suffix}")
    if after is None:
        return f"the input {name} did not come back from your code after the call."
    if after.shape != X.shape or not np.array_equal(after, X):
        return (f"your function modified its input {name}; work on a copy (`{name}.detach().clone()`) or use "
                "`torch.autograd.grad`, never change the caller's tensor.")
    if bool(student.get(f"x_requires_grad{suffix}", False)):
        return (f"your function switched on {name}.requires_grad of the caller's tensor (e.g. `{name}.requires_grad_()`"
                f"); work on a copy instead: `{name} = {name}.detach().clone().requires_grad_(True)`.")
    return None


def _heatmap(title: str, student: np.ndarray, reference: np.ndarray) -> Figure:
    """A heat-map figure. The feedback page draws the reference side only as its coarse view (block means at a few
    levels, ``Figure.reference_safe`` left False): where the reference is bright, not values that would pass."""
    return Figure(title, np.nan_to_num(student, nan=0.0, posinf=0.0, neginf=0.0), reference, "heatmap")


def _finite(array) -> bool:
    return bool(np.isfinite(np.asarray(array, dtype=np.float64)).all())


# ------------------------------------------------------------------------------------------------------- saliency

def _saliency_candidates(ctx: Context, index: slice) -> dict[str, np.ndarray]:
    """Maps that known mistakes produce on the probe's images (trusted gradients), name -> (N, H, W)."""
    def compute():
        X = ctx.X[index].numpy()
        y = ctx.y[index].numpy()
        scores, g = ctx.gradients(X, y)
        _, g_loss = ctx.gradients(X, y, "log_softmax")
        prob = np.exp(scores - scores.max(1, keepdims=True))
        prob = (prob / prob.sum(1, keepdims=True))[np.arange(len(y)), y]
        return {
            "it is the sum of |gradient| over the 3 colour channels: take their maximum instead.":
                np.abs(g).sum(1),
            "it is the mean of |gradient| over the 3 colour channels: take their maximum instead.":
                np.abs(g).mean(1),
            "it is the absolute value of the largest signed gradient over the channels: take the absolute value "
            "first, then the maximum over the channels.": np.abs(g.max(1)),
            "it is the gradient of the cross-entropy loss: use the correct-class score (the logit) itself.":
                np.abs(g_loss).max(1),
            "it is the gradient of the softmax probability: use the correct-class score (the logit) itself.":
                np.abs(g_loss).max(1) * prob[:, None, None],
            "it looks at colour channel 0 only: take the maximum of |gradient| over the 3 channels.":
                np.abs(g[:, 0]),
        }
    return ctx.memo(("saliency candidates", index.start, index.stop), compute)


def _saliency_hint(s: np.ndarray, r: np.ndarray, ctx: Context, index: slice) -> str:
    for hint, candidate in _saliency_candidates(ctx, index).items():
        if _finite(candidate) and norm_relative_error(s, candidate) < 0.02:
            return hint
    if len(r) > 1 and norm_relative_error(s * len(r), r) < 0.02:
        return ("it is the reference divided by the batch size: sum the correct-class scores over the batch, do "
                "not average them.")
    if (s < 0).any():
        return "it has negative values: take the absolute value of the gradient."
    if not s.any():
        return "it is all zeros: differentiate the correct-class scores with respect to the input images."
    return ("use the correct-class score (logit; not softmax or a loss) of each image, take |gradient| and its "
            "maximum over the 3 colour channels.")


def _verify_saliency(index: slice):
    def verify(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
        """The map matches the reference within ``tol.rtol`` relative L2 error (a float rounding difference can
        flip one max-pool tie or ReLU and move single pixels, every conceptual mistake moves the whole map).
        Known correct, full marks: ``torch.autograd.grad`` or ``.backward()`` on a copy, CS231n's starter line
        ``X.requires_grad_()`` on the caller's tensor (judged by the side-effect check only), ``scores.gather``
        or fancy indexing, ``amax`` or ``max(...)[0]``. Known wrong, lose points: the batch mean of the scores
        (batch only), sum or mean over the channels, no absolute value, a loss or a probability instead of the
        score. Pictures: the student's map next to the reference map's coarse view only (the full map would pass;
        its coarse view fails the check, see the tests)."""
        s, r = student.get("saliency"), reference["saliency"]
        problem = _output_problem(student, "saliency", r.shape, "compute_saliency_maps returned")
        if problem:
            if s is not None and s.ndim == 4 and s.shape[:1] + s.shape[2:] == r.shape:
                problem += " Take the maximum of |gradient| over the colour channels (dim=1)."
            return Verdict(False, problem)
        shown = list(range(*index.indices(len(ctx.X))))[:2]
        figures = tuple(_heatmap(f"saliency map of image {i}", s[k], r[k]) for k, i in enumerate(shown))
        err = norm_relative_error(s, r)
        if err <= tol.rtol:
            return Verdict(True, f"matches the reference (relative difference {err:.1e}).", figures)
        return Verdict(False, f"your saliency map differs from the reference by {100 * min(err, 99.99):.1f}% "
                              f"(relative L2 difference): {_saliency_hint(s, r, ctx, index)}", figures)
    return verify


def _verify_saliency_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's ``X`` keeps its values and ``requires_grad`` stays off. Known correct, full
    marks: ``X.detach().clone()``, ``X.clone().requires_grad_()``, ``torch.autograd.grad`` on a copy. Known wrong,
    lose these points only: CS231n's starter line ``X.requires_grad_()`` on the caller's tensor, normalizing X in
    place."""
    problem = _input_problem(student, ctx.X[SALIENCY_BATCH].numpy())
    if problem:
        return Verdict(False, problem)
    return Verdict(True, "the caller's X is unchanged and does not require a gradient.")


# ------------------------------------------------------------------------------------------------ fooling images

def _digest(arrays) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        value = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}{value.dtype}{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _case_name(ctx: Context, k: int) -> str:
    i, target = FOOLING_CASES[k]
    return (f"case {k + 1} of {len(FOOLING_CASES)} (image {i}, a {ctx.class_names[int(ctx.y[i])]!r}, target "
            f"{ctx.class_names[target]!r})")


def _margin(scores: np.ndarray, target: int) -> np.ndarray:
    """Target score minus the best other score, per row of ``scores`` (N, C)."""
    others = np.delete(scores, target, axis=1)
    return scores[:, target] - others.max(1)


def _reference_ends(reference, ctx: Context) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per case: the reference's last image, and the image one normalized step beyond it (trusted)."""
    def compute():
        ends = []
        for k, (_, target) in enumerate(FOOLING_CASES):
            last = reference[f"fooling_{k}"].astype(np.float64)
            _, g = ctx.gradients(last.astype(np.float32), target)
            ends.append((last, last + FOOLING_LEARNING_RATE * g / np.linalg.norm(g)))
        return ends
    return ctx.memo(("fooling reference ends", _digest({k: reference[f"fooling_{k}"]
                                                       for k in range(len(FOOLING_CASES))})), compute)


def _path(recorded: np.ndarray, truncated: bool, x0: np.ndarray, last: np.ndarray) -> tuple[list, int | None]:
    """(the images the student stepped through, from the original to the returned one, as recorded; the index in
    ``recorded`` of the first image equal to the returned one, or None). Calls on the original image in between
    (e.g. to compare predictions) are left out."""
    same = [k for k, r in enumerate(recorded) if np.array_equal(r, last)]
    end = same[0] if same else None
    body = [r for r in recorded[:end] if not np.array_equal(r, x0)]
    path = [x0] + body + ([last] if end is not None or not truncated else [])
    deduped = [path[0]]
    for image in path[1:]:
        if not np.array_equal(image, deduped[-1]):
            deduped.append(image)
    return deduped, end


def _bad_step(path: list, target: int, ctx: Context) -> str | None:
    """A message for the first step of ``path`` that is not ``learning_rate * g / ||g||_2`` of the raw target
    score at its start (trusted gradients), naming the mistake it looks like; None when every step is right."""
    if len(path) < 2:
        return None
    starts = np.stack(path[:-1]).astype(np.float32)
    _, grads = ctx.gradients(starts, target)
    lr = FOOLING_LEARNING_RATE
    total = np.zeros_like(grads[0])
    for j in range(len(path) - 1):
        step = path[j + 1].astype(np.float64) - path[j].astype(np.float64)
        g = grads[j]
        total = total + g
        length, gnorm = float(np.linalg.norm(step)), float(np.linalg.norm(g))
        if not (np.isfinite(gnorm) and gnorm > 0):
            return (f"at step {j + 1} the model's gradient is {'zero' if gnorm == 0 else 'not finite'}: your image "
                    "left the range where the target score can be followed.")
        c = cosine(step, g)
        if c >= FOOLING_STEP_COSINE and abs(length - lr) <= FOOLING_STEP_LENGTH * lr:
            continue
        where = f"step {j + 1} has length {length:.3g} and cosine {c:.3f} with the target score's gradient"
        if c >= FOOLING_STEP_COSINE:
            if abs(length - lr / gnorm) <= 0.02 * lr / gnorm:
                return (f"{where}: its length is learning_rate / ||g||, so you divided the gradient by ||g||^2; "
                        "divide by the L2 norm ||g||_2 itself (every step then has length learning_rate = 1).")
            return (f"{where}: every step must have length learning_rate = 1, i.e. X += learning_rate * g / "
                    "||g||_2.")
        if c <= -FOOLING_STEP_COSINE:
            return f"{where}: your step goes downhill; gradient ASCENT on the target score adds the gradient."
        if cosine(step, total) >= FOOLING_STEP_COSINE:
            return (f"{where}, but it follows the sum of the gradients of all steps so far: X.grad accumulates. "
                    "Clear it after each step (`X_fooling.grad.zero_()`, with the parentheses) or use "
                    "torch.autograd.grad.")
        _, g_loss = ctx.gradients(path[j][None].astype(np.float32), target, "log_softmax")
        if cosine(step, g_loss[0]) >= FOOLING_STEP_COSINE:
            return (f"{where}: it follows the cross-entropy loss (or the softmax probability); ascend the raw "
                    "target score s_t (the logit) instead.")
        return (f"{where}: each step must be learning_rate * g / ||g||_2 with g the gradient of the raw target "
                "score s_t (the logit) at the current image.")
    return None


def _fooling_analysis(student, reference, ctx: Context) -> list[dict]:
    """Per case: ``problem`` (the returned image is unusable), ``fooled``, ``predicted``, ``d_ref``/``d_past``
    (distance to the reference's last image / one step beyond it, relative to how far the reference moved),
    ``bad_step`` and ``went_past`` (messages from the recordings, or None), ``change`` (|F - X| max over
    channels) and ``ref_change``."""
    keys = {k: v for k, v in student.items() if isinstance(v, np.ndarray)}
    return ctx.memo(("fooling analysis", _digest(keys)), lambda: _analyse_fooling(student, reference, ctx))


def _analyse_fooling(student, reference, ctx: Context) -> list[dict]:
    cases = []
    ends = None
    for k, (i, target) in enumerate(FOOLING_CASES):
        x0 = ctx.X[i:i + 1].numpy()
        case: dict = {"name": _case_name(ctx, k), "problem": None, "fooled": False, "bad_step": None,
                      "went_past": None, "d_ref": np.inf, "d_past": np.inf}
        cases.append(case)
        problem = _output_problem(student, f"fooling_{k}", x0.shape, "make_fooling_image returned")
        if problem:
            case["problem"] = f"{case['name']}: {problem}"
            continue
        f = student[f"fooling_{k}"]
        if np.abs(f).max() > FOOLING_HUGE:
            case["problem"] = (f"{case['name']}: your image has values up to {np.abs(f).max():.1e}, far outside the "
                               "range of normalized images: a fooling image stays close to X.")
            continue
        scores = ctx.scores(f)
        if not _finite(scores):
            case["problem"] = (f"{case['name']}: the model's scores on your image are not finite (NaN or inf): its "
                               "values are far too large.")
            continue
        best = int(scores[0].argmax())
        case["predicted"], case["scores"] = best, scores[0]
        case["fooled"] = bool(scores[0, target] >= scores[0, best] - FOOLING_TIE)
        ends = ends or _reference_ends(reference, ctx)
        last, past = ends[k]
        moved = float(np.linalg.norm(last - x0))
        case["d_ref"] = float(np.linalg.norm(f - last)) / moved
        case["d_past"] = float(np.linalg.norm(f - past)) / moved
        case["change"], case["ref_change"] = np.abs(f - x0)[0].max(0), np.abs(last - x0)[0].max(0)
        recorded = student.get(f"inputs_{k}")
        if (recorded is None or recorded.ndim != 4 or recorded.shape[1:] != x0.shape[1:] or not len(recorded)
                or not _finite(recorded)):
            continue                                       # no usable recordings: no evidence either way
        recorded = recorded[:FOOLING_RECORD_LIMIT]
        path, end = _path(list(recorded), bool(student.get(f"inputs_{k}_truncated", False)), x0[0], f[0])
        bad = _bad_step(path, target, ctx)
        if bad:
            case["bad_step"] = f"{case['name']}: {bad}"
        before = recorded[:end] if end is not None else recorded
        if len(before):
            fooled_before = np.flatnonzero(_margin(ctx.scores(before), target) > FOOLING_TIE)
            if len(fooled_before):
                case["went_past"] = (
                    f"{case['name']}: the model already classified an earlier image as the target (the "
                    f"{_ordinal(int(fooled_before[0]) + 1)} distinct image your code gave it), yet your function "
                    "went on and returned " + ("a later one" if end is not None else "an image after it") +
                    ": return the first image the model classifies as the target.")
    return cases


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _fooling_figures(cases: list[dict]) -> tuple[Figure, ...]:
    for case in cases:
        if "change" in case:
            return (_heatmap(f"{case['name']}: change |X_fooling - X| (max over channels)", case["change"],
                                 case["ref_change"]),)
    return ()


def _verify_fooled(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every case's returned image is classified as its target by the trusted model (a target score within
    ``tol.atol`` of the top counts; non-finite scores fail). Known correct, full marks: every correct variant of
    ``fooling_steps``. Known wrong, lose points: returning X unchanged, too few steps; (``||g||^2``, accumulated
    or loss gradients still reach the target here and lose ``fooling_steps`` instead). Picture: the size of the
    change |X_fooling - X| (max over channels), the reference's as a coarse view, never the reference image
    (decoded from its PNG it passed every fooling check)."""
    cases = _fooling_analysis(student, reference, ctx)
    figures = _fooling_figures(cases)
    for (_, target), case in zip(FOOLING_CASES, cases):
        if case["problem"]:
            return Verdict(False, case["problem"], figures)
        if not case["fooled"]:
            names, scores = ctx.class_names, case["scores"]
            return Verdict(False, f"{case['name']}: the model classifies your image as {names[case['predicted']]!r} "
                                  f"(score {scores[case['predicted']]:.2f}), not as the target (score "
                                  f"{scores[target]:.2f}): keep taking gradient-ascent steps on the target score "
                                  "until the prediction is the target (at most 100).", figures)
    return Verdict(True, f"the model classifies each of your {len(cases)} images as its target.", figures)


def _verify_steps(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Every step is ``learning_rate * g / ||g||_2`` with ``g`` the gradient of the raw target score.

    Evidence from the returned images (enough to fail, and needed to pass): each lies within ``tol.rtol`` (relative
    to how far the reference moved) of the reference's last image or of one normalized step beyond it (going one
    step too far is ``fooling_first``'s business). Evidence from the recordings (can only fail): each recorded step
    has length ``learning_rate`` (1%) and cosine >= 0.99 with the trusted gradient at its start. Known correct,
    full marks: ``g.norm()`` or ``torch.sqrt(torch.sum(g * g))`` (a rounding that flips a ReLU tie; the cases are
    chosen stable), in-place (``.data +=``, ``+=`` under ``no_grad``) or out-of-place updates, ``.backward()`` with
    ``grad.zero_()`` or ``torch.autograd.grad``, checking the prediction before or after each step. Known wrong,
    lose points: dividing by ``||g||^2``, never clearing ``.grad`` (also ``grad.zero_`` without parentheses),
    descending the cross-entropy loss or ascending the softmax probability. Picture: as ``fooling_target``'s
    (unsigned, channel-maximum, coarse: it cannot be turned back into a passing image, see the tests)."""
    cases = _fooling_analysis(student, reference, ctx)
    figures = _fooling_figures(cases)
    for case in cases:
        if case["problem"]:
            return Verdict(False, case["problem"], figures)
    for case in cases:
        if case["bad_step"]:
            return Verdict(False, case["bad_step"], figures)
    for case in cases:
        off = min(case["d_ref"], case["d_past"])
        if not off <= tol.rtol:
            return Verdict(False, f"{case['name']}: your image is {100 * min(off, 99.99):.0f}% (of the distance the "
                                  "image has to move) away from where steps of learning_rate * g / ||g||_2 on the "
                                  "raw target score lead: take exactly those steps from X, nothing else.", figures)
    return Verdict(True, f"your {len(cases)} images lie on the path of normalized gradient-ascent steps.", figures)


def _verify_first(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The function returns the first image the model classifies as the target, not a later one.

    Evidence from the returned images: each is classified as the target, and none is nearer to one step beyond the
    reference's last image than to that image (within ``tol.rtol``). Evidence from the recordings (can only fail):
    no image the model saw before the returned one was already classified as the target. Known correct, full
    marks: checking the prediction before each step (and returning the image checked), or after each step (the
    cases' images are never the target at the start). Known wrong, lose points: breaking on the scores of the
    image *before* the step just taken (returns one step past the first fooled image)."""
    cases = _fooling_analysis(student, reference, ctx)
    for case in cases:
        if case["problem"]:
            return Verdict(False, case["problem"])
        if not case["fooled"]:
            return Verdict(False, f"{case['name']}: not checked, your image is not classified as the target (see "
                                  "fooling_target).")
    for case in cases:
        if case["went_past"]:
            return Verdict(False, case["went_past"])
    for case in cases:
        if case["d_past"] < case["d_ref"] and case["d_past"] <= tol.rtol:
            return Verdict(False, f"{case['name']}: your image is one step past the first image the model "
                                  "classifies as the target: check the prediction of the image you are about to "
                                  "return (before each step, or after each step on the new image) and stop there.")
    return Verdict(True, "each image is the first one on its path that the model classifies as the target.")


def _verify_fooling_input(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """Side effect only: the caller's ``X`` keeps its values and ``requires_grad`` stays off, in every case.
    Known correct, full marks: ``X.clone()`` or ``X.detach().clone()`` then updates of the copy. Known wrong, lose
    these points only: ``X_fooling = X`` updated in place, ``X.requires_grad_()`` on the caller's tensor."""
    for k, (i, _) in enumerate(FOOLING_CASES):
        problem = _input_problem(student, ctx.X[i:i + 1].numpy(), f"_{k}")
        if problem:
            return Verdict(False, f"{_case_name(ctx, k)}: {problem}")
    return Verdict(True, "the caller's X is unchanged and does not require a gradient.")


# ------------------------------------------------------------------------------------------- class visualization

def _step_hint(step_s: np.ndarray, expected: np.ndarray, before: np.ndarray, ctx: Context) -> str:
    """What a wrong step ``step_s`` looks like, given the correct one ``expected`` taken at ``before``."""
    l2_part = 2 * ctx.step_l2_reg * STEP_LEARNING_RATE * before.astype(np.float64)   # what the penalty subtracts
    if not step_s.any():
        return "img did not change: update it in place (`img += ...` inside `torch.no_grad()`); a returned tensor " \
               "is ignored."
    if norm_relative_error(step_s, expected + l2_part) < 0.01:
        return "the L2 penalty is missing: the objective is s_y(img) - l2_reg * ||img||_2^2."
    if norm_relative_error(step_s, expected + 2 * l2_part) < 0.01:
        return "the L2 penalty has the wrong sign: the objective is s_y(img) - l2_reg * ||img||_2^2."
    c = cosine(step_s, expected)
    ratio = float(np.linalg.norm(step_s) / np.linalg.norm(expected))
    if ratio > 100:
        return f"your step is {ratio:.1e} times as long as the correct one: img's values are far too large."
    if c < -0.99:
        return "your step goes downhill: gradient ASCENT adds learning_rate * gradient."
    if c > 0.99:
        return (f"it points the right way but has {ratio:.3g} times the length: use the raw (unnormalized) "
                "gradient times learning_rate.")
    return ("take one step img += learning_rate * (gradient of s_y(img) - l2_reg * ||img||_2^2), with the raw "
            "(unnormalized) gradient.")


def _step_problems(student, reference) -> str | None:
    shape = reference["after_one"].shape
    return (_output_problem(student, "after_one", shape, "img after one call")
            or _output_problem(student, "after_two", shape, "img after two calls"))


def _verify_step_one(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The first call's step equals the reference step within ``tol.rtol`` relative L2 error. Known correct, full
    marks: ``torch.autograd.grad``, or ``.backward()`` then ``img.data += learning_rate * img.grad`` (or ``+=``
    under ``no_grad``), ``img.norm() ** 2`` or ``(img ** 2).sum()``. Known wrong, lose points: a missing or flipped
    L2 term, descent, a normalized gradient, no update in place. Picture: the step's size (max over channels), the
    reference's as a coarse view: without signs and channels it cannot be turned back into the step."""
    start = ctx.step_start().numpy()
    problem = _output_problem(student, "after_one", reference["after_one"].shape, "img after one call")
    if problem:
        return Verdict(False, problem)
    step_s, step_r = student["after_one"].astype(np.float64) - start, reference["after_one"].astype(np.float64) - start
    figures = (_heatmap("first step |Δimg| (max over channels)", np.abs(step_s)[0].max(0),
                            np.abs(step_r)[0].max(0)),)
    err = norm_relative_error(step_s, step_r)
    if err <= tol.rtol:
        return Verdict(True, f"the first step matches the reference (difference {err:.1e}).", figures)
    return Verdict(False, f"the first step differs from the reference by {100 * min(err, 99.99):.1f}%: "
                          f"{_step_hint(step_s, step_r, start, ctx)}", figures)


def _verify_step_two(student, reference, ctx: Context, tol: Tolerance) -> Verdict:
    """The second call takes a fresh step: ``img after two calls - img after one call`` equals the correct step at
    the student's own ``img after one call`` (trusted gradient) within ``tol.rtol``. Known correct, full marks:
    ``torch.autograd.grad``, ``.backward()`` with ``img.grad.zero_()`` (or ``img.grad = None``) after the
    step. Known wrong, lose points: never clearing ``img.grad`` (also ``img.grad.zero_`` without parentheses), and
    any rule that is wrong on the first call too (then the message says the second step is wrong as well).
    Picture: as ``update_step_one``'s, for the second step."""
    problem = _step_problems(student, reference)
    if problem:
        return Verdict(False, problem)
    one, two = student["after_one"].astype(np.float64), student["after_two"].astype(np.float64)
    expected = ctx.class_step(one.astype(np.float32))
    if not _finite(expected):
        return Verdict(False, "the model's gradient at your img after one call is not finite (NaN or inf): its "
                              "values are far too large.")
    step_s = two - one
    figures = (_heatmap("second step |Δimg| (max over channels)", np.abs(step_s)[0].max(0),
                            np.abs(expected)[0].max(0)),)
    err = norm_relative_error(step_s, expected)
    if err <= tol.rtol:
        return Verdict(True, f"the second call takes a fresh step from where img was (difference {err:.1e}).",
                       figures)
    first_right = _verify_step_one(student, reference, ctx, CHECK_TOLERANCES["update_step_one"]).passed
    first_step = one - ctx.step_start().numpy()
    if first_right and norm_relative_error(step_s, expected + first_step) < 0.01:
        hint = ("the first step is right but the second adds the first one's gradient again: img.grad accumulates "
                "between calls (use torch.autograd.grad, or `img.grad.zero_()` with the parentheses after the step).")
    elif first_right:
        hint = f"the first step is right but the second is not: {_step_hint(step_s, expected, one, ctx)}"
    else:
        hint = f"the second step is wrong as well (see update_step_one): {_step_hint(step_s, expected, one, ctx)}"
    return Verdict(False, f"the second step differs from the correct step at your img by "
                          f"{100 * min(err, 99.99):.1f}%: {hint}", figures)


CHECK_TOLERANCES = {"update_step_one": Tolerance(rtol=1e-2)}

CHECKS = (
    Check("saliency_batch", SALIENCY_BATCH_PROBE, 1.5, "saliency maps of a batch of 4 images match the reference",
          _verify_saliency(SALIENCY_BATCH), Tolerance(rtol=2e-2)),
    Check("saliency_single", SALIENCY_SINGLE_PROBE, 1.0, "the saliency map of a single image matches the reference",
          _verify_saliency(SALIENCY_SINGLE), Tolerance(rtol=2e-2)),
    Check("saliency_input_untouched", SALIENCY_BATCH_PROBE, 0.5,
          "the caller's X is left unchanged, without requires_grad", _verify_saliency_input, side_effect=True),
    Check("fooling_target", FOOLING_PROBE, 1.0, "each fooling image is classified as its target class",
          _verify_fooled, Tolerance(atol=FOOLING_TIE)),
    Check("fooling_steps", FOOLING_PROBE, 1.0,
          "every step is learning_rate * g / ||g|| on the raw target score", _verify_steps,
          Tolerance(rtol=FOOLING_PATH_TOLERANCE)),
    Check("fooling_first", FOOLING_PROBE, 0.75, "the first image classified as the target is returned",
          _verify_first, Tolerance(rtol=FOOLING_PATH_TOLERANCE)),
    Check("fooling_input_untouched", FOOLING_PROBE, 0.25, "the caller's X is left unchanged, without requires_grad",
          _verify_fooling_input, side_effect=True),
    Check("update_step_one", STEP_PROBE, 2, "one update step matches the reference step",
          _verify_step_one, CHECK_TOLERANCES["update_step_one"]),
    Check("update_step_two", STEP_PROBE, 1, "a second call takes a fresh step (nothing accumulates)",
          _verify_step_two, Tolerance(rtol=1e-2)),
)


ASSIGNMENT = Assignment(ASSIGNMENT_ID, NOTEBOOK, FUNCTIONS, CHECKS, make_context)
