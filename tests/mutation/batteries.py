"""The oracle's battery per notebook: wider than the checks' contexts (see :mod:`.oracle`)."""
from __future__ import annotations

import torch
from torch import nn

from .oracle import Case, images, net


def _t(*v):
    return torch.tensor(v)


def gradient_ascent() -> list[Case]:
    cases = []
    for ch, k, n, size, grads in ((1, 10, 3, 8, False), (3, 5, 1, 6, True), (3, 4, 4, 8, True), (1, 3, 2, 10, False)):
        cases.append(Case(f"logit_gradient C={ch} K={k} N={n}", "logit_gradient",
                          lambda ch=ch, k=k, n=n, size=size, grads=grads: (
                              [net(ch, k, size, grads=grads), images(n, ch, size), torch.arange(n) % k], {})))
    for bad in ("target too large", "negative target", "3-d images", "targets shape", "integer images"):
        def build(bad=bad):
            x, t = images(2, 1, 8), _t(1, 2)
            if bad == "target too large":
                t = _t(1, 10)
            elif bad == "negative target":
                t = _t(-1, 2)
            elif bad == "3-d images":
                x, t = x[0], _t(1)
            elif bad == "targets shape":
                t = _t(1, 2, 3)
            else:
                x = (x * 255).long()
            return [net(1, 10, 8), x, t], {}
        cases.append(Case(f"logit_gradient {bad}", "logit_gradient", build))
    for ch, k, steps, size, grads in ((1, 10, 4, 8, False), (3, 5, 3, 6, True), (1, 3, 0, 8, False),
                                      (3, 4, 1, 8, True)):
        cases.append(Case(f"gradient_ascent C={ch} K={k} steps={steps}", "gradient_ascent",
                          lambda ch=ch, k=k, steps=steps, size=size, grads=grads: (
                              [net(ch, k, size, grads=grads), images(1, ch, size), k - 1, steps, 0.7], {})))
    cases.append(Case("gradient_ascent huge step (clipping)", "gradient_ascent",
                      lambda: ([net(1, 10, 8), images(1, 1, 8), 3, 2, 50.0], {})))
    cases.append(Case("gradient_ascent 3-d image", "gradient_ascent", lambda: (
        [net(1, 10, 8), images(1, 1, 8)[0], 1, 2, 0.5], {})))
    for bad in ("target", "negative target", "batch of 2"):
        cases.append(Case(f"gradient_ascent bad {bad}", "gradient_ascent", lambda bad=bad: (
            [net(1, 10, 8), images(2 if bad == "batch of 2" else 1, 1, 8),
             10 if bad == "target" else -1 if bad == "negative target" else 1, 2, 0.5], {})))
    return cases


# CS231n's notebook states nothing about .grad or train/eval mode (its model is frozen and in eval mode; the
# canonical solutions call .backward()): only results and the caller's tensors count there.
_CS231N = dict(no_history=False, mode_matters=False, grads_matter=False)


def network_visualization() -> list[Case]:
    cases = []
    for n, k, size, grads, train in ((3, 5, 8, False, True), (1, 10, 6, True, False), (4, 3, 8, True, True)):
        cases.append(Case(f"saliency N={n} K={k}", "compute_saliency_maps",
                          lambda n=n, k=k, size=size, grads=grads, train=train: (
                              [images(n, 3, size) * 2 - 1, torch.arange(n) % k,
                               net(3, k, size, grads=grads, train=train)], {}), **_CS231N))
    for k, size, target, seed in ((5, 8, 2, 0), (10, 6, 7, 1), (3, 8, 0, 2)):
        cases.append(Case(f"fooling K={k} target={target}", "make_fooling_image",
                          lambda k=k, size=size, target=target, seed=seed: (
                              [images(1, 3, size, seed) * 2 - 1, target, net(3, k, size, seed, grads=True)], {}),
                          **_CS231N))
    cases.append(Case("fooling already the target", "make_fooling_image", lambda: (
        [images(1, 3, 8, 5), int(net(3, 5, 8)(images(1, 3, 8, 5)).argmax()), net(3, 5, 8)], {}), **_CS231N))

    def update(k, size, reg, lr, seed, steps=1):
        def build():
            img = (images(1, 3, size, seed) * 2 - 1).requires_grad_(True)
            return [img, net(3, k, size, seed), 1, reg, lr], {}

        def invoke(fn, args, kwargs):
            for _ in range(steps):
                fn(*args, **kwargs)
            return args[0].detach().clone()
        return Case(f"update step K={k} reg={reg} lr={lr} x{steps}", "class_visualization_update_step", build,
                    invoke, **_CS231N)
    cases += [update(5, 8, 1e-3, 0.5, 0), update(10, 6, 0.5, 0.1, 1), update(3, 8, 0.0, 2.0, 2, steps=3)]
    return cases


# Notebook 03 states that its classifier is frozen (eval mode, every weight's requires_grad off) and allows
# .backward() on a copy of the image: the battery's models are frozen the same way (a trainable model is not an
# input the notebook admits), so .backward() + .grad is as good as torch.autograd.grad there.
def _frozen(*args, **kwargs):
    return net(*args, frozen=True, **kwargs)


def adversarial_examples() -> list[Case]:
    cases = []
    for ch, k, n, grads in ((1, 10, 3, False), (3, 5, 1, True), (3, 4, 4, True)):
        cases.append(Case(f"compute_gradient C={ch} K={k} N={n}", "compute_gradient",
                          lambda ch=ch, k=k, n=n, grads=grads: (
                              [images(n, ch), k - 1, _frozen(ch, k, grads=grads)], {})))
    for ch, k, n, steps, classes in ((1, 10, 2, 3, None), (3, 5, 1, 2, [0, 4]), (3, 4, 3, 0, [1]),
                                     (1, 3, 2, 4, None)):
        cases.append(Case(f"trick C={ch} K={k} steps={steps}", "trick",
                          lambda ch=ch, k=k, n=n, steps=steps, classes=classes: (
                              [images(n, ch, low=0.0, high=1.0), 1, _frozen(ch, k, grads=True)],
                              dict(n_steps=steps, step_size=0.05, classes=classes))))
    for ch, k, n, eps in ((1, 10, 3, 0.1), (3, 5, 1, 0.03), (3, 4, 4, 0.0), (1, 3, 2, 0.5)):
        cases.append(Case(f"fgsm C={ch} K={k} eps={eps}", "fgsm",
                          lambda ch=ch, k=k, n=n, eps=eps: (
                              [images(n, ch, low=0.0, high=1.0), torch.arange(n) % k, _frozen(ch, k, grads=True), eps],
                              {})))
    for ch, k, n, eps, target, steps in ((1, 10, 3, 0.1, 3, 4), (3, 5, 1, 0.05, "tensor", 3),
                                         (3, 4, 2, 0.0, 1, 2), (1, 3, 2, 0.3, 2, 6)):
        cases.append(Case(f"targeted C={ch} K={k} eps={eps} steps={steps}", "targeted_attack",
                          lambda ch=ch, k=k, n=n, eps=eps, target=target, steps=steps: (
                              [images(n, ch, low=0.0, high=1.0),
                               (torch.arange(n) + 1) % k if target == "tensor" else target, _frozen(ch, k, grads=True),
                               eps], dict(step_size=0.02, num_steps=steps))))
    def edges():
        x = images(2, 1, low=0.0, high=1.0)
        x[0, 0, 0, 0], x[1, 0, -1, -1] = 0.0, 1.0
        return [x, 0, _frozen(1, 10), 0.1], dict(num_steps=2, step_size=0.02)
    cases.append(Case("targeted pixels exactly 0 and 1, target 0", "targeted_attack", edges))
    for bad in ("eps", "low", "high", "target", "negative target"):
        def build(bad=bad):
            x = images(2, 1, low=0.0, high=1.0)
            if bad == "low":
                x[0, 0, 0, 0] = -0.01
            if bad == "high":
                x[1, 0, 0, 0] = 1.01
            target = 10 if bad == "target" else -1 if bad == "negative target" else 1
            return [x, target, _frozen(1, 10), -0.1 if bad == "eps" else 0.1], dict(num_steps=1)
        cases.append(Case(f"targeted bad {bad}", "targeted_attack", build))
    for n, k, size, eps, target in ((3, 10, 8, 0.1, 3), (1, 4, 5, 0.2, 0), (5, 3, 6, 0.0, 2)):
        def build(n=n, k=k, size=size, eps=eps, target=target):
            g = torch.Generator().manual_seed(size)
            return [images(n, 1, size, low=0.0, high=1.0), torch.arange(n) % k, target,
                    torch.randn(k, size * size, generator=g), eps], {}
        cases.append(Case(f"linear N={n} K={k} eps={eps}", "fool_linear_classifier", build))
    return cases


# HW9 itself calls loss.backward() (the model's .grad fills up); notebook 04 states nothing about it.
_HW9 = dict(no_history=False, grads_matter=False)


def cnn_explanation() -> list[Case]:
    cases = []
    for n, k, size, grads, train in ((3, 5, 8, False, True), (1, 11, 6, True, False), (4, 3, 8, True, True)):
        cases.append(Case(f"saliency N={n} K={k}", "compute_saliency_maps",
                          lambda n=n, k=k, size=size, grads=grads, train=train: (
                              [images(n, 3, size), torch.arange(n) % k, net(3, k, size, grads=grads, train=train)],
                              {}), **_HW9))
    for k, epoch, sigma, size, low, high in ((5, 6, 0.2, 8, 0.05, 0.95), (11, 40, 0.1, 6, 0.05, 0.95),
                                             (3, 3, 0.0, 8, 0.05, 0.95), (4, 1, 0.3, 6, 0.05, 0.95),
                                             (5, 8, 0.5, 6, 0.4, 0.6)):     # a dim image: sigma follows the range
        cases.append(Case(f"smooth_grad K={k} epoch={epoch} sigma={sigma} range=[{low}, {high}]", "smooth_grad",
                          lambda k=k, epoch=epoch, sigma=sigma, size=size, low=low, high=high: (
                              [images(1, 3, size, low=low, high=high)[0], torch.tensor(1),
                               net(3, k, size, grads=True, train=True), epoch, sigma], {}),
                          stochastic=sigma > 0, **_HW9))

    # "epoch: number of noisy copies n": how many images the model sees in all (one call, deterministic)
    for epoch in (1, 33, 40, 64):
        def count_build(epoch=epoch):
            return [images(1, 3, 6)[0], 2, net(3, 4, 6), epoch, 0.2], {}

        def count_invoke(fn, args, kwargs):
            x, y, model, epoch, sigma = args
            seen = []

            class Counter(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.inner = model

                def forward(self, z):
                    seen.append(z.reshape(-1, *x.shape).shape[0])
                    return self.inner(z)
            fn(x, y, Counter(), epoch, sigma, **kwargs)
            return torch.tensor(float(sum(seen)))
        cases.append(Case(f"smooth_grad copies epoch={epoch}", "smooth_grad", count_build, count_invoke, **_HW9))

    def filt(n, cnnid, filterid, iteration, lr, raise_at=None, grads=True, size=6):
        def build():
            return [images(n, 3, size), net(3, 5, size, grads=grads, raise_at=raise_at, batchnorm=True, train=True),
                    cnnid, filterid], dict(iteration=iteration, lr=lr)

        def invoke(fn, args, kwargs):
            return fn(*args, **kwargs)
        return Case(f"filter N={n} layer={cnnid} filter={filterid} it={iteration} lr={lr} raise_at={raise_at}",
                    "filter_explanation", build, invoke, norm_rtol=1e-2, **_HW9)
    cases += [filt(2, 0, 1, 3, 0.1), filt(1, 1, 2, 2, 0.5), filt(3, 3, 0, 0, 1.0), filt(2, 4, 3, 1, 0.05),
              filt(2, 0, 1, 3, 0.1, raise_at=3), filt(1, 2, 0, 4, 0.2, raise_at=1)]

    def ig(k, steps, batch, size=6, target=1):
        def build():
            return [net(3, k, size, grads=True, train=True, empty_raises=True), images(1, 3, size), target, steps], \
                dict(batch_size=batch)

        def invoke(fn, args, kwargs):
            model, x, t, m = args
            return fn(model).generate_integrated_gradients(x, t, m, **kwargs)
        return Case(f"IG K={k} steps={steps} batch={batch}", "IntegratedGradients", build, invoke, **_HW9)
    cases += [ig(5, 4, 32), ig(11, 7, 3), ig(3, 1, 32), ig(4, 10, 4, target=3), ig(5, 6, 3)]   # 3 divides 6
    return cases


class _Tok:
    def __init__(self, ids):
        self.ids = ids

    def word_ids(self):
        return list(self.ids)


class _Out:
    def __init__(self, states):
        self.hidden_states = states


def bert_embeddings() -> list[Case]:
    cases = []
    for h, seed in ((3, 0), (16, 1), (1, 2)):
        def build(h=h, seed=seed):
            g = torch.Generator().manual_seed(seed)
            return [torch.randn(h, generator=g), torch.randn(h, generator=g)], {}
        cases.append(Case(f"euclidean H={h}", "euclidean_distance", build))
        cases.append(Case(f"cosine H={h}", "cosine_similarity", build))
    cases.append(Case("euclidean same", "euclidean_distance", lambda: ([_t(1.0, 2.0), _t(1.0, 2.0)], {})))
    cases.append(Case("cosine scaled", "cosine_similarity", lambda: ([_t(1.0, -2.0), _t(3.0, -6.0)], {})))
    for f in ("euclidean_distance", "cosine_similarity"):
        cases.append(Case(f"{f} shapes differ", f, lambda: ([torch.ones(3), torch.ones(4)], {})))
        cases.append(Case(f"{f} 2-d vs 1-d", f, lambda: ([torch.ones(1, 3), torch.ones(3)], {})))

    def select(ids, layers, h, word, layer=None):
        def build():
            g = torch.Generator().manual_seed(len(ids) * 7 + h)
            states = tuple(torch.randn(1, len(ids), h, generator=g) for _ in range(layers))
            return [_Out(states), _Tok(ids), word], ({} if layer is None else {"layer": layer})
        return Case(f"select T={len(ids)} L={layers} word={word} layer={layer}", "get_select_embedding", build)
    ids = [None, 0, 1, 1, 1, 2, None]
    cases += [select(ids, 4, 5, 0), select(ids, 4, 5, 1), select(ids, 4, 5, 2, 0), select(ids, 4, 5, 1, -3),
              select(ids, 3, 2, 1, 2), select(ids, 3, 2, 3), select(ids, 3, 2, 0, 3), select(ids, 3, 2, 0, -4),
              select(ids, 6, 4, 2, -6), select([None, 0, 0, None], 2, 3, 0, 1)]
    return cases


BATTERIES = {"01_gradient_ascent": gradient_ascent, "02_network_visualization": network_visualization,
             "03_adversarial_examples": adversarial_examples, "04_cnn_explanation": cnn_explanation,
             "05_bert_embeddings": bert_embeddings}
