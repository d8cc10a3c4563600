"""Train the offline model: torchvision's SqueezeNet 1.1 (random init) on hwlib's synthetic shapes.

    python -m hwlib_training.squeezenet --out data --seed 0

writes ``squeezenet1_1_synthetic.pt`` (a float16 state_dict, loaded back as float32) and
``squeezenet1_1_synthetic.json`` (how it was made and how well it does) into ``--out``. CPU only, deterministic for
a given seed, about ten minutes on 2 cores. Images are preprocessed exactly as the notebooks do
(``hwlib.preprocess(images, size=None)``); the only augmentation is the 8 flips/rotations by 90 degrees, under which
every class is closed. Each epoch draws fresh images (seed ``seed + epoch``), so the model never sees one twice.

Trained plainly from scratch, SqueezeNet sat at chance on this data in our trials (AdamW or SGD, lr 1e-4..2e-3,
with or without warm-up, 300-1200 steps): its last conv + ReLU dies (all scores 0), and with a positive bias
keeping it alive the trunk still collapses to an input-independent output. So we train a *reparametrized* copy:
a BatchNorm after every conv of the trunk and a positive initial bias on the classifier conv; at the end each
BatchNorm (in eval mode, an affine map per channel) is folded exactly into the conv before it. The shipped
state_dict is plain ``torchvision.models.squeezenet1_1(num_classes=K)``: same modules, same keys, no BatchNorm.
"""
from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from tqdm.auto import tqdm

from . import squeezenet_quality as offline_quality
from hwlib.image import preprocess
from hwlib.models.squeezenet import OFFLINE_PROVENANCE, OFFLINE_WEIGHTS
from hwlib.datasets.shapes import CLASS_NAMES, IMAGE_SIZE, SAMPLE_SEED, make_synthetic_dataset, sample_images

TRAIN_SEED_OFFSET = 0  # epoch e trains on make_synthetic_dataset(train_size, seed + e)
HELDOUT_SEED_OFFSET = 1_000_000  # the held-out set: make_synthetic_dataset(val_size, seed + 1_000_000)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m hwlib_training.squeezenet", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("data"), help="folder for the weights and the JSON (default data)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, the batches and the images (default 0)")
    p.add_argument("--epochs", type=int, default=10, help="epochs, each on freshly generated images (default 10)")
    p.add_argument("--train-size", type=int, default=6000, help="images per epoch (default 6000)")
    p.add_argument("--val-size", type=int, default=1000, help="held-out images (default 1000)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the one-cycle schedule (default 2e-3)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay (default 1e-4)")
    p.add_argument("--classifier-bias", type=float, default=2.0,
                   help="initial bias of the classifier conv, keeps its ReLU alive (default 2.0)")
    p.add_argument("--calibration-size", type=int, default=2000,
                   help="last-epoch images used to recompute the BatchNorm statistics before folding (default 2000)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    args = p.parse_args(argv)
    for name in ("epochs", "train_size", "val_size", "batch_size", "threads", "calibration_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    seeds = {args.seed + e for e in range(args.epochs)} | {args.seed + HELDOUT_SEED_OFFSET}
    if args.seed < 0 or SAMPLE_SEED in seeds or args.seed + HELDOUT_SEED_OFFSET < args.seed + args.epochs:
        p.error(f"--seed {args.seed} overlaps the sample images' seed ({SAMPLE_SEED}) or the held-out seed")
    return args


def dihedral(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Apply one of the 8 flips/rotations by 90 degrees, drawn per image, to a square batch ``(N, C, H, W)``."""
    flips = torch.rand(len(x), 3, generator=generator) < 0.5
    x = torch.where(flips[:, 0].view(-1, 1, 1, 1), x.flip(-1), x)
    x = torch.where(flips[:, 1].view(-1, 1, 1, 1), x.flip(-2), x)
    return torch.where(flips[:, 2].view(-1, 1, 1, 1), x.transpose(-1, -2), x)


def insert_batchnorm(module: torch.nn.Module, skip: torch.nn.Module) -> torch.nn.Module:
    """Replace every ``Conv2d`` under ``module`` except ``skip`` by ``Sequential(conv, BatchNorm2d)``, in place."""
    for name, child in module.named_children():
        if isinstance(child, torch.nn.Conv2d) and child is not skip:
            setattr(module, name, torch.nn.Sequential(child, torch.nn.BatchNorm2d(child.out_channels)))
        else:
            insert_batchnorm(child, skip)
    return module


@torch.no_grad()
def fold_batchnorm(module: torch.nn.Module) -> torch.nn.Module:
    """Undo :func:`insert_batchnorm`: fold each eval-mode ``BatchNorm2d`` into its conv
    (``w * g / s``, ``(b - mean) * g / s + beta`` with ``s = sqrt(var + eps)``), in place."""
    for name, child in module.named_children():
        if (isinstance(child, torch.nn.Sequential) and len(child) == 2 and isinstance(child[0], torch.nn.Conv2d)
                and isinstance(child[1], torch.nn.BatchNorm2d)):
            conv, bn = child
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
            conv.bias.copy_((conv.bias - bn.running_mean) * scale + bn.bias)
            setattr(module, name, conv)
        else:
            fold_batchnorm(child)
    return module


@torch.no_grad()
def recalibrate_batchnorm(model: torch.nn.Module, images: np.ndarray, batch_size: int) -> None:
    """Replace the BatchNorm running statistics (an exponential average over training) by exact averages over
    ``images`` ``(N, H, W, 3)`` uint8, with the final weights."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    model.train()
    for start in range(0, len(images), batch_size):
        model(preprocess(images[start:start + batch_size], size=None).contiguous(memory_format=torch.channels_last))
    model.eval()


def train(args: argparse.Namespace) -> tuple[torch.nn.Module, dict]:
    """Train SqueezeNet 1.1 on fresh synthetic images every epoch; returns the model (BatchNorm folded, plain
    squeezenet1_1, eval mode) and a training log."""
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    generator = torch.Generator().manual_seed(args.seed)
    model = torchvision.models.squeezenet1_1(weights=None, num_classes=len(CLASS_NAMES))
    torch.nn.init.constant_(model.classifier[1].bias, args.classifier_bias)  # keeps the last ReLU alive
    model = insert_batchnorm(model, skip=model.classifier[1]).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = -(-args.train_size // args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs,
                                                   steps_per_epoch=steps_per_epoch, pct_start=0.15)
    log = []
    for epoch in range(args.epochs):
        data = make_synthetic_dataset(args.train_size, args.seed + TRAIN_SEED_OFFSET + epoch)
        model.train()
        order = torch.randperm(args.train_size, generator=generator).numpy()
        losses, hits = [], 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{args.epochs}", leave=False)
        for step in bar:
            idx = order[step * args.batch_size:(step + 1) * args.batch_size]
            x = dihedral(preprocess(data.images[idx], size=None), generator)
            y = torch.as_tensor(data.labels[idx])
            scores = model(x.contiguous(memory_format=torch.channels_last))
            loss = F.cross_entropy(scores, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            hits += int((scores.argmax(1) == y).sum())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        log.append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "train_accuracy": hits / len(order)})
        tqdm.write(f"epoch {epoch + 1}: loss {log[-1]['train_loss']:.4f}, train accuracy {log[-1]['train_accuracy']:.3f}")
    recalibrate_batchnorm(model, data.images[:args.calibration_size], args.batch_size)
    model = fold_batchnorm(model.eval()).to(memory_format=torch.contiguous_format)
    return model, {"epochs": log}


def save_and_reload(model: torch.nn.Module, path: Path) -> torch.nn.Module:
    """Save ``model``'s state_dict as float16 and load it back into a fresh float32 SqueezeNet (what users get)."""
    torch.save({k: v.detach().half().contiguous() for k, v in model.state_dict().items()}, path)
    fresh = torchvision.models.squeezenet1_1(weights=None, num_classes=len(CLASS_NAMES))
    state = torch.load(path, map_location="cpu", weights_only=True)
    fresh.load_state_dict({k: v.float() for k, v in state.items()})
    return fresh.eval()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    command = "python -m hwlib_training.squeezenet " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    start = time.perf_counter()
    model, log = train(args)
    train_seconds = time.perf_counter() - start
    heldout = make_synthetic_dataset(args.val_size, args.seed + HELDOUT_SEED_OFFSET)
    samples = sample_images()
    float32_accuracy = offline_quality.accuracy(model, heldout.images, heldout.labels)
    args.out.mkdir(parents=True, exist_ok=True)
    loaded = save_and_reload(model, args.out / OFFLINE_WEIGHTS)
    quality = offline_quality.measure(loaded, heldout, samples)
    record = {
        "command": command, "seed": args.seed, "epochs": args.epochs, "batch_size": args.batch_size,
        "lr": args.lr, "weight_decay": args.weight_decay, "optimizer": "AdamW + OneCycleLR",
        "augmentation": "random flips and 90-degree rotations; fresh images every epoch",
        "reparametrization": "BatchNorm after every trunk conv during training, folded into the convs at the end; "
                             f"classifier conv bias initialized to {args.classifier_bias}",
        "calibration_size": args.calibration_size,
        "train_size_per_epoch": args.train_size,
        "train_seeds": [args.seed + TRAIN_SEED_OFFSET + e for e in range(args.epochs)],
        "val_size": args.val_size, "val_seed": args.seed + HELDOUT_SEED_OFFSET, "sample_seed": SAMPLE_SEED,
        "image_size": IMAGE_SIZE, "preprocess": "hwlib.preprocess(images, size=None)",
        "class_names": list(CLASS_NAMES),
        "architecture": f"torchvision.models.squeezenet1_1(weights=None, num_classes={len(CLASS_NAMES)})",
        "weights_dtype": "float16 (load as float32)",
        "heldout_accuracy_before_float16": float32_accuracy,
        **quality,
        "torch_version": torch.__version__, "torchvision_version": torchvision.__version__,
        "numpy_version": np.__version__, "threads": args.threads,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "train_wall_seconds": round(train_seconds, 1),
        "total_wall_seconds": round(time.perf_counter() - start, 1),
        "training_log": log["epochs"],
    }
    (args.out / OFFLINE_PROVENANCE).write_text(json.dumps(record, indent=2) + "\n")
    for key in ("heldout_accuracy_before_float16", "heldout_accuracy", "sample_accuracy",
                "saliency_inside_outside_ratio_mean", "saliency_fraction_ratio_at_least_2",
                "fooling_succeeded", "fooling_max_iterations", "train_wall_seconds"):
        print(f"{key}: {record[key]}")
    print(f"wrote {args.out / OFFLINE_WEIGHTS} ({(args.out / OFFLINE_WEIGHTS).stat().st_size / 1e6:.2f} MB) and "
          f"{args.out / OFFLINE_PROVENANCE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
