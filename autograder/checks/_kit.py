"""The mechanics every notebook's checks share, written once: the model context's private copies, trusted
computations on one thread, what a probe records about a returned tensor and about the caller's input, and the
"must raise" probe.

Untrusted side (runs wherever the student's code runs): :class:`ModelContext` (``private_model``, ``on_device``),
:func:`kind`, :func:`raises`, :func:`unpack_pair`, :func:`params_touched`, :func:`has_history`,
:func:`input_state`.
Trusted side (verdicts only): :class:`OneThread`, :func:`output_problem`, :func:`input_problem`,
:func:`autograd_problem`, :func:`codes_problem`.
"""
from __future__ import annotations

import copy
import threading

import numpy as np

from ..arrays import flag, shape_problem, to_array
from ..check import SubmissionError

# What a probe reports about a returned tensor (besides its values): usable, a tensor subclass, another dtype.
PLAIN, SUBCLASS, OTHER_DTYPE = 0, 1, 2


class ModelContext:
    """Base of a notebook's Context: its models and inputs live on the CPU; probes hand the student's code private
    copies on ``self.device`` (so one probe cannot spoil the next)."""
    device: object

    def private_model(self, model, requires_grad: bool | None = None):
        """A deep copy of ``model`` on ``device`` in eval mode; with ``requires_grad`` every parameter's
        ``requires_grad`` set to it and its ``.grad`` cleared."""
        model = copy.deepcopy(model).to(self.device).eval()
        if requires_grad is not None:
            for p in model.parameters():
                p.requires_grad_(requires_grad)
                p.grad = None
        return model

    def on_device(self, tensor):
        """A copy of ``tensor`` on ``device``."""
        return tensor.clone().to(self.device)


class OneThread:
    """Trusted computations on one CPU thread, restored when the last one ends (the grader verifies several
    submissions in threads at once): the grading process shares the machine with the sandboxed students, and
    busy-waiting thread pools slow everyone down far more than one thread is slower."""
    _lock = threading.Lock()
    _depth = 0
    _saved = 1

    def __enter__(self):
        import torch

        with OneThread._lock:
            if OneThread._depth == 0:
                OneThread._saved = torch.get_num_threads()
                torch.set_num_threads(1)
            OneThread._depth += 1

    def __exit__(self, *exc):
        import torch

        with OneThread._lock:
            OneThread._depth -= 1
            if OneThread._depth == 0:
                torch.set_num_threads(OneThread._saved)


# ------------------------------------------------------------------------------------------------ probes (untrusted)

def kind(value, like) -> np.ndarray:
    """How usable a returned tensor is, as a 0-d array: plain, a tensor subclass, or another dtype than ``like``."""
    import torch

    if type(value) not in (torch.Tensor, torch.nn.Parameter):
        return np.asarray(SUBCLASS)
    return np.asarray(PLAIN if value.dtype == like.dtype else OTHER_DTYPE)


def raises(fn, *args, accept: type | tuple[type, ...] = (ValueError, TypeError), **kwargs) -> int:
    """0 when ``fn(*args, **kwargs)`` raises one of ``accept``, 1 for another exception, 2 when it returns."""
    try:
        fn(*args, **kwargs)
    except accept:
        return 0
    except Exception:   # noqa: BLE001 - any other failure is "no clear error"
        return 1
    return 2


def unpack_pair(result, what: str, names: str):
    """``result`` when it is a tuple or list of two (``names`` says what, for the student), else
    :class:`~autograder.check.SubmissionError`."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        length = f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
        raise SubmissionError(f"{what}: expected a tuple ({names}), got {type(result).__name__}{length}.")
    return result


def params_touched(model) -> np.ndarray:
    """Whether a parameter of ``model`` (handed over without any) got a ``.grad``, as a flag."""
    return flag(any(p.grad is not None for p in model.parameters()))


def has_history(value) -> bool:
    """True when a returned tensor (or one of a returned tuple or list) still carries gradient history."""
    import torch

    values = value if isinstance(value, (tuple, list)) else (value,)
    return any(isinstance(v, torch.Tensor) and v.requires_grad for v in values)


def input_state(x, prefix: str = "x", suffix: str = "", name: str | None = None) -> dict[str, np.ndarray]:
    """The caller's tensor ``x`` after the call: ``{prefix}_after{suffix}`` and ``{prefix}_requires_grad{suffix}``
    (judged by :func:`input_problem`)."""
    return {f"{prefix}_after{suffix}": to_array(x, name or prefix),
            f"{prefix}_requires_grad{suffix}": flag(x.requires_grad)}


# ------------------------------------------------------------------------------------------------ verdicts (trusted)

def output_problem(student, key: str, shape: tuple[int, ...], what: str) -> str | None:
    """A message when output ``key`` is missing, a tensor subclass or of another dtype than the input (its
    ``{key}_kind``, see :func:`kind`), of the wrong shape, or holds NaN/inf; ``None`` when it is usable."""
    k = student.get(f"{key}_kind")
    if k is not None and np.ndim(k) == 0 and int(k) == SUBCLASS:
        return f"{what}: expected a plain torch.Tensor, got a subclass of it."
    if k is not None and np.ndim(k) == 0 and int(k) == OTHER_DTYPE:
        return f"{what}: expected the dtype of the input (float32), got another one."
    return shape_problem(student.get(key), shape, what)


def input_problem(student, original: np.ndarray, name: str = "X", prefix: str = "x", suffix: str = "") -> str | None:
    """A message when the student's function modified the caller's tensor ``name`` (recorded by
    :func:`input_state` as ``{prefix}_after{suffix}``; ``original`` is its value before the call) or switched on
    its ``requires_grad``; ``None`` when it is left as it was."""
    after = student.get(f"{prefix}_after{suffix}")
    if after is None:
        return f"the input {name} did not come back from your code after the call."
    if after.shape != original.shape or not np.array_equal(after, original):
        return (f"your function modified its input {name}; work on a copy (`{name}.detach().clone()`) or use "
                "`torch.autograd.grad`, never change the caller's tensor.")
    if bool(student.get(f"{prefix}_requires_grad{suffix}", False)):
        return (f"your function switched on {name}.requires_grad of the caller's tensor (e.g. `{name}.requires_grad_()`"
                f"); work on a copy instead: `{name} = {name}.detach().clone().requires_grad_(True)`.")
    return None


def autograd_problem(student, missing_fails: bool = False) -> str | None:
    """A message when the call left autograd state behind: a ``.grad`` on the model's weights
    (``params_touched``, see :func:`params_touched`) or gradient history on the result (``history``, see
    :func:`has_history`); ``None`` otherwise. A flag the probe did not record counts as ``missing_fails``."""
    if bool(student.get("params_touched", missing_fails)):
        return ("the model's weights have a .grad after your call: `.backward()` fills every weight's .grad (during "
                "training that corrupts the next optimizer step); use `torch.autograd.grad(objective, x)`, which "
                "computes only the gradient you ask for.")
    if bool(student.get("history", missing_fails)):
        return ("your result still carries gradient history (requires_grad=True): the docstring asks for tensors "
                "without it; compute under torch.no_grad() or return `.detach()`ed tensors.")
    return None


def codes_problem(student, cases, name: str, hints, accepted: str = "ValueError") -> str | None:
    """A message unless every bad call of a :func:`raises` probe raised ``accepted`` (code 0) and the final valid call
    returned (code 2): ``student["codes"]`` has one code per case of ``cases`` (described for the student, with a
    hint each in ``hints``) and one for the valid call."""
    codes = student.get("codes")
    if codes is None or np.shape(codes) != (len(cases) + 1,):
        return f"{name}: the results of the bad-input calls are missing."
    codes = np.asarray(codes).tolist()
    for code, case, hint in zip(codes, cases, hints):
        if code != 0:
            how = (f"it returned a value for {case}" if code == 2 else
                   f"it raised another exception than {accepted} for {case}")
            return f"{name} must raise {accepted} for bad input: {how}; {hint}"
    if codes[-1] != 2:
        return f"{name} raised an exception for valid input; raise {accepted} only when the input is bad."
    return None
