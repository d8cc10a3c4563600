"""Train the offline food classifier: HW9's FoodClassifier at width 1/16 on the synthetic Food-11.

    python -m hwlib_training.food --out data --seed 0

writes ``food_classifier_synthetic.pt`` (HW9's checkpoint format: ``{"model_state_dict": float16 tensors, "width",
"class_names"}``, loaded back as float32) and ``food_classifier_synthetic.json`` (how it was made and how well it
does) into ``--out``. CPU only, deterministic for a given seed, under ten minutes of CPU time (2 cores).

The training images are drawn by :mod:`hwlib.datasets.food_render` with seeds that the on-disk synthetic Food-11
(:data:`~hwlib.datasets.food.SYNTHETIC_SEEDS`) never uses, and pass through the same JPEG encoding as the files on
disk. Augmentation: horizontal and vertical flips (every dish is a dish upside down). Label smoothing keeps the
logits moderate, so that the loss gradients the notebook explains do not vanish on confident images.
"""
from __future__ import annotations

import argparse
import datetime
import json
import resource
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from hwlib.datasets.food import (FOOD11_CLASSES, SYNTHETIC_SEEDS, jpeg_roundtrip, load_food11, load_food_samples,
                             synthetic_food11_root)
from hwlib.datasets.food_render import render_dish
from hwlib.models.food import OFFLINE_PROVENANCE, OFFLINE_WEIGHTS, OFFLINE_WIDTH, FoodClassifier, load_checkpoint

TRAIN_SEED = 21_000       # pool images: render_dish(label, TRAIN_SEED + seed, n)
HELDOUT_SEED = 31_000     # held-out images: render_dish(label, HELDOUT_SEED + seed, n)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m hwlib_training.food", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("data"), help="folder for the weights and the JSON (default data)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, the batches and the images (default 0)")
    p.add_argument("--per-class", type=int, default=150, help="training images per class (default 150)")
    p.add_argument("--heldout-per-class", type=int, default=40, help="held-out images per class (default 40)")
    p.add_argument("--epochs", type=int, default=4, help="epochs over the training images (default 4)")
    p.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule (default 3e-3)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay (default 1e-4)")
    p.add_argument("--label-smoothing", type=float, default=0.1, help="cross-entropy label smoothing (default 0.1)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    args = p.parse_args(argv)
    for name in ("per_class", "heldout_per_class", "epochs", "batch_size", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.seed < 0:
        p.error("--seed must be >= 0")
    return args


def draw(per_class: int, seed: int, desc: str) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` JPEG-encoded images of every class: uint8 ``(N, 128, 128, 3)``, labels ``(N,)`` int64."""
    if seed in SYNTHETIC_SEEDS.values():
        raise ValueError(f"seed {seed} is one of the on-disk dataset's seeds {SYNTHETIC_SEEDS}")
    images, labels = [], []
    for label in tqdm(range(len(FOOD11_CLASSES)), desc=desc, leave=False):
        for n in range(per_class):
            images.append(jpeg_roundtrip(render_dish(label, seed, n)))
            labels.append(label)
    return np.stack(images), np.array(labels, dtype=np.int64)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, H, W, 3)`` -> float ``(N, 3, H, W)`` in [0, 1] (HW9's ``ToTensor``)."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255)


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, batch_size: int = 64) -> float:
    model.eval()
    hits = sum(int((model(to_tensor(images[i:i + batch_size])).argmax(1).numpy() == labels[i:i + batch_size]).sum())
               for i in range(0, len(images), batch_size))
    return hits / len(images)


@torch.no_grad()
def recalibrate_batchnorm(model: torch.nn.Module, images: np.ndarray, batch_size: int) -> None:
    """Exact BatchNorm statistics over ``images`` with the final weights (instead of the running average)."""
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    for start in range(0, len(images), batch_size):
        model(to_tensor(images[start:start + batch_size]))
    model.eval()


def train(args: argparse.Namespace, images: np.ndarray, labels: np.ndarray) -> tuple[FoodClassifier, list]:
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    model = FoodClassifier(width=OFFLINE_WIDTH)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = -(-len(images) // args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs,
                                                   steps_per_epoch=steps, pct_start=0.2)
    log = []
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(images), generator=generator).numpy()
        losses, hits = [], 0
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{args.epochs}", leave=False)
        for step in bar:
            idx = order[step * args.batch_size:(step + 1) * args.batch_size]
            x, y = to_tensor(images[idx]), torch.from_numpy(labels[idx])
            flips = torch.rand(len(x), 2, generator=generator) < 0.5
            x = torch.where(flips[:, 0].view(-1, 1, 1, 1), x.flip(-1), x)
            x = torch.where(flips[:, 1].view(-1, 1, 1, 1), x.flip(-2), x)
            scores = model(x)
            loss = F.cross_entropy(scores, y, label_smoothing=args.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            hits += int((scores.argmax(1) == y).sum())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        log.append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "train_accuracy": hits / len(images)})
        tqdm.write(f"epoch {epoch + 1}: loss {log[-1]['train_loss']:.4f}, accuracy {log[-1]['train_accuracy']:.3f}")
    recalibrate_batchnorm(model, images[:2000], 64)
    return model, log


def save(model: FoodClassifier, path: Path) -> FoodClassifier:
    """Save in HW9's checkpoint format with float16 tensors; return the model as users load it."""
    state = {k: v.detach().half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save({"model_state_dict": state, "width": model.width, "class_names": list(FOOD11_CLASSES)}, path)
    return load_checkpoint(path).eval()


def _cpu_seconds() -> float:
    """CPU time (user + system) this process has used so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    command = "python -m hwlib_training.food " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    start = time.perf_counter()
    images, labels = draw(args.per_class, TRAIN_SEED + args.seed, "drawing training images")
    heldout, heldout_labels = draw(args.heldout_per_class, HELDOUT_SEED + args.seed, "drawing held-out images")
    draw_seconds = time.perf_counter() - start
    model, log = train(args, images, labels)
    train_seconds = time.perf_counter() - start - draw_seconds
    args.out.mkdir(parents=True, exist_ok=True)
    float32_heldout = accuracy(model, heldout, heldout_labels)
    loaded = save(model, args.out / OFFLINE_WEIGHTS)
    disk = load_food11(synthetic_food11_root(), "evaluation")
    samples = load_food_samples(10, source="offline")
    with torch.no_grad():
        probs = loaded(to_tensor(samples.images)).softmax(1)
    record = {
        "command": command, "seed": args.seed, "architecture": f"hwlib.models.food.FoodClassifier(width={OFFLINE_WIDTH})",
        "parameters": sum(p.numel() for p in loaded.parameters()), "weights_dtype": "float16 (load as float32)",
        "data": f"hwlib.datasets.food_render.render_dish, {args.per_class} per class with seed "
                f"{TRAIN_SEED + args.seed}, JPEG quality 95 round trip; flips",
        "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "weight_decay": args.weight_decay,
        "label_smoothing": args.label_smoothing, "optimizer": "AdamW + OneCycleLR",
        "batchnorm": "statistics recomputed exactly over 2000 training images after training",
        "heldout": f"{args.heldout_per_class} per class with seed {HELDOUT_SEED + args.seed}",
        "heldout_accuracy_before_float16": float32_heldout,
        "heldout_accuracy": accuracy(loaded, heldout, heldout_labels),
        "disk_evaluation_accuracy": accuracy(loaded, disk.images, disk.labels),
        "sample_labels": samples.labels.tolist(),
        "sample_predictions": probs.argmax(1).tolist(),
        "sample_true_class_probability": [round(float(p), 4) for p in probs[torch.arange(10), samples.labels]],
        "class_names": list(FOOD11_CLASSES),
        "torch_version": torch.__version__, "numpy_version": np.__version__, "threads": args.threads,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "draw_wall_seconds": round(draw_seconds, 1), "train_wall_seconds": round(train_seconds, 1),
        "total_wall_seconds": round(time.perf_counter() - start, 1),
        "total_cpu_seconds": round(_cpu_seconds(), 1),
        "training_log": log,
    }
    (args.out / OFFLINE_PROVENANCE).write_text(json.dumps(record, indent=2) + "\n")
    for key in ("heldout_accuracy_before_float16", "heldout_accuracy", "disk_evaluation_accuracy",
                "sample_predictions", "sample_true_class_probability", "train_wall_seconds", "total_wall_seconds",
                "total_cpu_seconds"):
        print(f"{key}: {record[key]}")
    print(f"wrote {args.out / OFFLINE_WEIGHTS} ({(args.out / OFFLINE_WEIGHTS).stat().st_size / 1e6:.2f} MB) and "
          f"{args.out / OFFLINE_PROVENANCE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
