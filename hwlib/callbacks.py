"""ConfusedLogitCallback: during training, show what the model would need to see to change its mind.

For the samples of a batch on which the model hesitates most (the smallest margin between its two top logits), it
computes the gradient of each of those two logits with respect to the input and logs one figure per sample: the
input, both gradients, and the input moved along each of them (after W. Falcon, "Peering inside the blackbox").

Written for Lightning 2 (``lightning.pytorch`` or ``pytorch_lightning``: the Trainer calls hooks by name, so one
class serves both). Unlike the Lightning 1 version in pl_bolts it uses one logit per sample (each sample's gradient
is its own), keeps images, classes and logits of a sample together, works for any channel count and image size on
any device, differentiates with ``torch.autograd.grad`` (no parameter ``.grad`` is touched; every submodule's
train/eval mode is restored as it was), runs on validation batches too (they run under ``torch.inference_mode``),
needs nothing stashed on the LightningModule, and logs each figure under its own tag (TensorBoard) or as a PNG file
(any other logger, or none).
"""
from __future__ import annotations

import os
import sys
import warnings
from typing import Callable, NamedTuple, Sequence

import torch


def _callback_base():
    """Lightning's ``Callback`` class: from the namespace already imported, else ``pytorch_lightning``."""
    if "pytorch_lightning" not in sys.modules and "lightning.pytorch" in sys.modules:
        from lightning.pytorch import Callback
        return Callback
    try:
        from pytorch_lightning import Callback
    except ImportError:
        try:
            from lightning.pytorch import Callback
        except ImportError:
            raise ImportError("ConfusedLogitCallback needs Lightning 2: pip install pytorch-lightning "
                              "(or lightning).") from None
    return Callback


class ConfusedSamples(NamedTuple):
    """The confused samples of one batch (K of them), most confused first.

    index ``(K,)`` int64 positions in the batch; classes ``(K, 2)`` their top-2 classes; logits ``(K, 2)`` the two
    logits; grads ``(K, 2, C, H, W)``: ``grads[k, j]`` = d logits[index[k], classes[k, j]] / d images[index[k]]."""
    index: torch.Tensor
    classes: torch.Tensor
    logits: torch.Tensor
    grads: torch.Tensor


def _modes(model: torch.nn.Module) -> list[tuple[torch.nn.Module, bool]]:
    return [(m, m.training) for m in model.modules()]


def find_confused(model: torch.nn.Module, images: torch.Tensor, top_k: int = 1, max_logit_difference: float = 0.1,
                  min_logit_value: float | None = None) -> ConfusedSamples | None:
    """The ``top_k`` samples with the smallest top-2 logit margin (at most ``max_logit_difference``), with the
    input gradients of both top logits, computed in eval mode. ``None`` when no sample qualifies.

    Args:
        model: maps ``(N, C, H, W)`` to ``(N, num_classes)`` logits; its parameters' ``.grad`` and every
            submodule's train/eval mode are left exactly as they were.
        images: ``(N, C, H, W)`` float, on the model's device; may be an inference tensor (validation).
        min_logit_value: if given, a sample also needs its top logit >= this (the model "has an opinion").
    """
    if not isinstance(images, torch.Tensor) or not torch.is_floating_point(images) or images.dim() != 4:
        what = (f"{tuple(images.shape)} {images.dtype}" if isinstance(images, torch.Tensor)
                else type(images).__name__)
        raise ValueError(f"ConfusedLogitCallback: expected the batch's inputs as a float tensor (N, C, H, W), "
                         f"got {what}; pass unpack_batch=... to say where the images are.")
    modes = _modes(model)
    try:
        with torch.inference_mode(False), torch.enable_grad():
            x = images.detach().clone()                    # a normal tensor even if images is an inference tensor
            model.eval()
            with torch.no_grad():
                logits = model(x)                          # N, num_classes
            if logits.dim() != 2 or logits.shape[0] != x.shape[0] or logits.shape[1] < 2:
                raise ValueError(f"ConfusedLogitCallback: expected the model to return logits (N, num_classes >= 2)"
                                 f" for N = {x.shape[0]} inputs, got shape {tuple(logits.shape)}.")
            top, top_classes = logits.topk(2, dim=1)      # N, 2
            margin = top[:, 0] - top[:, 1]                 # per sample, >= 0
            ok = margin <= max_logit_difference
            if min_logit_value is not None:
                ok &= top[:, 0] >= min_logit_value
            candidates = ok.nonzero().squeeze(1)
            if candidates.numel() == 0:
                return None
            index = candidates[margin[candidates].argsort()[:top_k]]        # K, most confused first
            classes = top_classes[index]                                      # K, 2
            xs = x[index].clone().requires_grad_(True)                       # K, C, H, W
            chosen = model(xs).gather(1, classes)                            # K, 2: one logit per sample and slot
            # Samples are independent in eval mode, so the gradient of a sum over samples is each sample's own.
            g_first, = torch.autograd.grad(chosen[:, 0].sum(), xs, retain_graph=True)
            g_second, = torch.autograd.grad(chosen[:, 1].sum(), xs)
            return ConfusedSamples(index, classes, chosen.detach(), torch.stack([g_first, g_second], dim=1))
    finally:
        for module, training in modes:
            module.training = training


def _default_unpack(batch):
    if isinstance(batch, torch.Tensor):
        return batch, None
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], torch.Tensor):
        return batch[0], (batch[1] if len(batch) > 1 and isinstance(batch[1], torch.Tensor) else None)
    raise TypeError(f"ConfusedLogitCallback: expected a batch (images, labels, ...) or a tensor of images, got "
                    f"{type(batch).__name__}; pass unpack_batch=lambda batch: (images, labels).")


def _is_tensorboard(logger) -> bool:
    if not any("TensorBoard" in cls.__name__ for cls in type(logger).__mro__):
        return False
    return callable(getattr(getattr(logger, "experiment", None), "add_figure", None))


class ConfusedLogitCallback(_callback_base()):
    """Log, every ``logging_batch_interval`` training batches, the ``top_k`` samples whose two top logits are
    within ``max_logit_difference`` of each other, with the input gradients of both logits.

    Args:
        top_k: at most this many figures per logged batch (the most confused samples).
        max_logit_difference: a sample is confused when ``logit_top1 - logit_top2 <= max_logit_difference``.
        min_logit_value: optionally also require ``logit_top1 >= min_logit_value`` (per sample).
        logging_batch_interval: training batches ``interval - 1, 2 * interval - 1, ...`` of every epoch are
            examined; with ``log_validation`` also validation batches ``0, interval, 2 * interval, ...``.
        projection_factor: how far the "moved" panels go along each gradient (see
            :func:`hwlib.plotting.digits.confused_logit_figure`).
        log_validation: also examine validation batches (not during the sanity check).
        class_names: names for the figure titles (default: class indices).
        output_dir: where PNG files go when no TensorBoard logger is attached (default
            ``<trainer.log_dir>/confused_logits``).
        unpack_batch: ``batch -> (images, labels or None)``; default takes ``batch[0], batch[1]``.
        tag: prefix of the TensorBoard tags / file names.

    Each figure gets its own tag ``<tag>/<stage>/step<global_step>_batch<batch_idx>_sample<k>``. ``logged`` lists
    the tags (or file paths) written so far.

    Example:
        >>> trainer = pl.Trainer(max_epochs=3, logger=TensorBoardLogger("logs"),
        ...                      callbacks=[ConfusedLogitCallback(top_k=2, class_names=list("0123456789"))])
    """

    def __init__(self, top_k: int = 1, max_logit_difference: float = 0.1, min_logit_value: float | None = None,
                 logging_batch_interval: int = 20, projection_factor: float = 0.5, log_validation: bool = False,
                 class_names: Sequence[str] | None = None, output_dir: str | os.PathLike | None = None,
                 unpack_batch: Callable | None = None, tag: str = "confused_logits"):
        super().__init__()
        for name, value in (("top_k", top_k), ("logging_batch_interval", logging_batch_interval)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {value!r}.")
        if not max_logit_difference >= 0:
            raise ValueError(f"max_logit_difference: expected a number >= 0, got {max_logit_difference!r}.")
        self.top_k, self.max_logit_difference, self.min_logit_value = top_k, float(max_logit_difference), min_logit_value
        self.logging_batch_interval, self.projection_factor = logging_batch_interval, float(projection_factor)
        self.log_validation, self.output_dir, self.tag = bool(log_validation), output_dir, tag
        self.class_names = None if class_names is None else tuple(class_names)
        self.unpack_batch = unpack_batch or _default_unpack
        self.logged: list[str] = []
        self._warned = False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if (batch_idx + 1) % self.logging_batch_interval == 0:
            self._log_batch(trainer, pl_module, batch, batch_idx, "train")

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if self.log_validation and not trainer.sanity_checking and batch_idx % self.logging_batch_interval == 0:
            self._log_batch(trainer, pl_module, batch, batch_idx, "val" if not dataloader_idx else f"val{dataloader_idx}")

    def _log_batch(self, trainer, pl_module, batch, batch_idx: int, stage: str) -> None:
        if not trainer.is_global_zero:
            return
        images, labels = self.unpack_batch(batch)
        device = getattr(pl_module, "device", None)
        found = find_confused(pl_module, images if device is None else images.to(device), self.top_k,
                              self.max_logit_difference, self.min_logit_value)
        if found is None:
            return
        from .plotting.digits import confused_logit_figure

        writers = [lg.experiment for lg in trainer.loggers if _is_tensorboard(lg)]
        images, grads = images.detach()[found.index.to(images.device)].cpu(), found.grads.cpu()
        for k in range(len(found.index)):
            label = None if labels is None else int(labels[int(found.index[k])])
            fig = confused_logit_figure(images[k], grads[k], found.classes[k].tolist(), found.logits[k].tolist(),
                                        label, self.class_names, self.projection_factor)
            tag = f"{self.tag}/{stage}/step{trainer.global_step}_batch{batch_idx}_sample{k}"
            if writers:
                for writer in writers:
                    writer.add_figure(tag, fig, global_step=trainer.global_step, close=True)
                self.logged.append(tag)
            else:
                self.logged.append(self._save_png(trainer, fig, tag))

    def _save_png(self, trainer, fig, tag: str) -> str:
        folder = self.output_dir or os.path.join(trainer.log_dir or trainer.default_root_dir, self.tag)
        os.makedirs(folder, exist_ok=True)
        if not self._warned:
            self._warned = True
            warnings.warn(f"ConfusedLogitCallback: no TensorBoard logger attached; saving the figures as PNG files "
                          f"in {folder}.", UserWarning, stacklevel=2)
        path = os.path.join(folder, tag.split("/", 1)[-1].replace("/", "_") + ".png")
        fig.savefig(path)
        return path
