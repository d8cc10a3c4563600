"""An independent differential oracle: is a mutant of a solution function wrong by the notebook's specification?

It shares no code with ``autograder/checks``: its own small models (RGB and grayscale, other class counts and
sizes), its own inputs, a model that raises mid-loop, parameter gradients present before the call, the argument
edge cases each docstring states, several seeds. For every battery case it runs the solution and the mutant on
fresh copies of the same inputs and compares what came out (values, shapes, gradient history where the docstring
forbids it), the side effects (the caller's tensors, their ``requires_grad`` and ``.grad``, the parameters'
``.grad``, hooks left registered, train/eval mode) and the errors raised. Stochastic functions (SmoothGrad) are
compared in distribution over seeds.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn


# ------------------------------------------------------------------------------------------------------ models
class Net(nn.Module):
    """A small smooth CNN for (N, C, H, W) images; ``cnn`` is a Sequential (for the filter notebook)."""

    def __init__(self, channels=3, classes=5, size=8, seed=0, batchnorm=False):
        super().__init__()
        torch.manual_seed(1000 + seed)
        layers = [nn.Conv2d(channels, 4, 3, padding=1)]
        if batchnorm:
            layers += [nn.BatchNorm2d(4), nn.ReLU(inplace=True), nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4),
                       nn.ReLU(inplace=True)]
        else:
            layers += [nn.Tanh()]
        self.cnn = nn.Sequential(*layers)
        self.fc = nn.Linear(4 * size * size, classes)
        if batchnorm:
            for m in self.cnn:
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.2, 0.2)
                    m.running_var.uniform_(0.5, 1.5)
        with torch.no_grad():
            self.fc.weight.mul_(3.0)
        self.calls = 0
        self.raise_at = None
        self.empty_raises = False

    def forward(self, x):
        if self.empty_raises and x.shape[0] == 0:     # like the course's classifiers (x.view(len(x), -1) ...)
            raise RuntimeError("oracle: the model cannot take an empty batch")
        self.calls += 1
        if self.raise_at is not None and self.calls >= self.raise_at:
            raise RuntimeError("oracle: the model failed mid-loop")
        return self.fc(self.cnn(x).flatten(1))


def net(channels=3, classes=5, size=8, seed=0, grads=False, raise_at=None, train=False, batchnorm=False,
        frozen=False, empty_raises=False):
    model = Net(channels, classes, size, seed, batchnorm)
    model.empty_raises = empty_raises
    model.train(train)
    if frozen:                      # as notebook 03 hands its classifier over: every weight's requires_grad off
        for p in model.parameters():
            p.requires_grad_(False)
        grads = False
    if grads:                       # gradients left over from earlier work: the function must not change them
        for p in model.parameters():
            p.grad = torch.full_like(p, 0.25)
    model.raise_at = raise_at
    return model


def images(n=2, channels=3, size=8, seed=0, low=0.05, high=0.95):
    g = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(n, channels, size, size, generator=g)


# ---------------------------------------------------------------------------------------------------- the cases
@dataclass
class Case:
    """One call: ``build()`` returns (args, kwargs); ``invoke(fn, args, kwargs)`` calls the function."""
    name: str
    function: str
    build: Callable[[], tuple[list, dict]]
    invoke: Callable | None = None
    stochastic: bool = False
    no_history: bool = True      # the docstring says: no gradient history / detached
    mode_matters: bool = True    # the function must leave the model's train/eval mode alone
    grads_matter: bool = True    # the function must leave .grad of the parameters and the caller's tensors alone
    seeds: tuple[int, ...] = (0,)
    rtol: float = 1e-4           # results: relative tolerance per value
    norm_rtol: float | None = None   # or: relative L2 distance per result (Adam's visualizations: its eps makes the
                                     # objective's scale matter where a pixel's gradient is ~1e-8, so the mean and
                                     # the sum of the activation, which the notebook both allows, differ there)


def _call(fn, args, kwargs):
    return fn(*args, **kwargs)


# ------------------------------------------------------------------------------------------------ observations
def _arrays(value) -> list:
    if isinstance(value, torch.Tensor):
        return [value.detach().double().cpu().numpy()]
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _arrays(v)]
    if isinstance(value, (int, float, bool, np.floating, np.integer)):
        return [np.asarray(float(value))]
    if value is None:
        return []
    return [np.asarray(np.nan)]


def _history(value) -> bool:
    if isinstance(value, torch.Tensor):
        return value.requires_grad
    if isinstance(value, (tuple, list)):
        return any(_history(v) for v in value)
    return False


def _tensors_and_models(args, kwargs):
    values = [*args, *kwargs.values()]
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    models = [v for v in values if isinstance(v, nn.Module)]
    return tensors, models


def observe(fn, case: Case, seed: int) -> dict:
    args, kwargs = case.build()
    tensors, models = _tensors_and_models(args, kwargs)
    rg_before = [t.requires_grad for t in tensors]
    torch.manual_seed(seed)
    obs: dict = {}
    try:
        out = (case.invoke or _call)(fn, args, kwargs)
        obs["error"] = None
        obs["out"] = _arrays(out)
        obs["history"] = _history(out)
    except Exception as err:   # noqa: BLE001 - the error's class is part of the behaviour
        obs["error"] = "ValueError/TypeError" if isinstance(err, (ValueError, TypeError)) else type(err).__name__
        obs["out"], obs["history"] = [], False
    obs["tensors"] = [t.detach().double().numpy().copy() for t in tensors]
    obs["requires_grad"] = [t.requires_grad != before for t, before in zip(tensors, rg_before)]
    obs["tensor_grad"] = [None if t.grad is None else t.grad.double().numpy().copy() for t in tensors]
    obs["param_grad"] = [None if p.grad is None else p.grad.double().numpy().copy()
                         for m in models for p in m.parameters()]
    obs["training"] = [m.training for m in models for m in m.modules()]
    obs["hooks"] = [len(m._forward_hooks) + len(m._backward_hooks) + len(getattr(m, "_forward_pre_hooks", {}))
                    for m in models for m in m.modules()]
    return obs


def _close(a, b, rtol=1e-4, atol=1e-6) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if not np.isfinite(a).all():
        return bool(np.array_equal(np.isfinite(a), np.isfinite(b)) and np.allclose(a[np.isfinite(a)], b[np.isfinite(a)]))
    scale = max(1.0, float(np.abs(b).max())) if b.size else 1.0
    return bool(np.allclose(a, b, rtol=rtol, atol=atol * scale))


def _lists_close(a, b, **kw) -> bool:
    return len(a) == len(b) and all(_close(x, y, **kw) for x, y in zip(a, b))


def difference(solution: dict, mutant: dict, case: Case) -> str | None:
    """The first difference that the specification cares about, or None."""
    if solution["error"] != mutant["error"]:
        return f"raises {mutant['error']} where the solution raises {solution['error']}"
    if case.norm_rtol is not None:
        same = len(mutant["out"]) == len(solution["out"]) and all(
            np.shape(a) == np.shape(b) and np.isfinite(a).all() and
            np.linalg.norm(np.asarray(a) - b) <= case.norm_rtol * max(np.linalg.norm(b), 1e-12)
            for a, b in zip(mutant["out"], solution["out"]))
        if not same:
            return "another result"
    elif not _lists_close(mutant["out"], solution["out"], rtol=case.rtol):
        return "another result"
    if case.no_history and mutant["history"] and not solution["history"]:
        return "the result keeps gradient history"
    if not _lists_close(mutant["tensors"], solution["tensors"]):
        return "the caller's tensors end differently"
    if mutant["requires_grad"] != solution["requires_grad"]:
        return "requires_grad of the caller's tensor changed"
    if case.grads_matter and not _lists_close(mutant["tensor_grad"], solution["tensor_grad"]):
        return ".grad of the caller's tensor differs"
    if case.grads_matter and not _lists_close(mutant["param_grad"], solution["param_grad"]):
        return "the parameters' .grad changed"
    if case.mode_matters and mutant["training"] != solution["training"]:
        return "train/eval mode differs"
    if mutant["hooks"] != solution["hooks"]:
        return "a hook was left registered"
    return None


SEEDS = 256        # draws per side when a stochastic function's result differs


def _distribution(fn, case: Case, seeds=range(SEEDS)) -> tuple[np.ndarray, np.ndarray] | str:
    outs = []
    for s in seeds:
        o = observe(fn, case, s)
        if o["error"] is not None:
            return o["error"]
        if len(o["out"]) != 1:
            return "no single tensor"
        outs.append(o["out"][0])
    try:
        stacked = np.stack(outs)
    except ValueError:
        return "shapes vary"
    return stacked.mean(0), stacked.std(0)


def judge(solution_ns: dict, mutant_ns: dict, cases: list[Case]) -> str | None:
    """None when the mutant behaves like the solution on every case, else the first reason it is wrong."""
    for case in cases:
        for seed in case.seeds:
            s = observe(solution_ns[case.function], case, seed)
            m = observe(mutant_ns[case.function], case, seed)
            why = difference(s, m, case)
            if why is None:
                continue
            if case.stochastic and why == "another result":
                ds, dm = _distribution(solution_ns[case.function], case), _distribution(mutant_ns[case.function], case)
                if isinstance(dm, str) or isinstance(ds, str):
                    return f"{case.name}: {dm if isinstance(dm, str) else ds}"
                (ms, ss), (mm, sm) = ds, dm
                if ms.shape != mm.shape:
                    return f"{case.name}: another shape"
                k = SEEDS
                # the means' distance in units of its standard error: about 1 when both draw from one distribution
                # (correlated pixels make it heavy-tailed: x - sigma * noise reached 1.8 with 64 draws)
                shift = np.linalg.norm(mm - ms) / max(np.sqrt(((ss ** 2 + sm ** 2) / k).sum()), 1e-12)
                spread = (sm.mean() + 1e-9) / (ss.mean() + 1e-9)
                if shift < 2.5 and 0.85 < spread < 1.18:
                    continue
                return f"{case.name}: another distribution (mean shift {shift:.2f}, spread ratio {spread:.2f})"
            return f"{case.name}: {why}"
    return None
