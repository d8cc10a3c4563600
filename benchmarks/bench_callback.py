"""ConfusedLogitCallback overhead: training time per epoch of notebook 01's CNN on the offline digits, without the
callback and with it (TensorBoard logger), measured side by side in one run.

    python benchmarks/bench_callback.py [--epochs 8] [--repeats 2] [--intervals 20 5] [--threads 1]

Each configuration trains the same seeded CNN from scratch (Adam, one-cycle, batch 32, as the notebook does); the
runs are interleaved (none, 20, 5, none, 20, 5, ...) so a busy machine slows all of them alike. An epoch is timed
from ``on_train_epoch_start`` to ``on_train_epoch_end`` (the callback's work happens inside it), in wall time and in
this process's CPU time (less disturbed by other processes on a shared machine); the median epoch of each
configuration is compared with the median epoch without the callback. The last column is measured inside the same
runs: the callback's own CPU time per epoch over the rest of the epoch's CPU time (the least noisy estimate). One
figure is drawn before timing, so pyplot's import and the font cache (once per process) are not counted.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--intervals", type=int, nargs="+", default=[20, 5],
                        help="logging_batch_interval values to time (20 is the default)")
    parser.add_argument("--top-k", type=int, default=1, help="figures per logged batch (1 is the default)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import logging

    import pytorch_lightning as pl
    import torch
    import torch.nn.functional as F
    from pytorch_lightning.loggers import TensorBoardLogger

    import hwlib

    torch.set_num_threads(args.threads)
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")

    class Classifier(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = hwlib.digit_cnn(seed=0)

        def forward(self, x):
            return self.model(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = F.cross_entropy(self(x), y)
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            optimizer = torch.optim.Adam(self.parameters(), lr=5e-3)
            schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=5e-3,
                                                           total_steps=self.trainer.estimated_stepping_batches)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    class EpochTimer(pl.Callback):
        def __init__(self):
            self.seconds: list[tuple[float, float]] = []       # (wall, cpu) per epoch

        def on_train_epoch_start(self, trainer, pl_module):
            self._start = (time.perf_counter(), time.process_time())

        def on_train_epoch_end(self, trainer, pl_module):
            self.seconds.append((time.perf_counter() - self._start[0], time.process_time() - self._start[1]))

    class TimedConfusedLogitCallback(hwlib.ConfusedLogitCallback):
        """Adds up the CPU time spent in the callback's training hook."""
        cpu = 0.0

        def on_train_batch_end(self, *args, **kwargs):
            start = time.process_time()
            super().on_train_batch_end(*args, **kwargs)
            self.cpu += time.process_time() - start

    train = hwlib.load_digits("offline", "train")
    # Steady state: pyplot, fonts and TensorBoard's image encoder are loaded once per process, not per epoch.
    from torch.utils.tensorboard.summary import image as _encode

    from hwlib.plotting_digits import confused_logit_figure

    warm = confused_logit_figure(train.images[0], torch.zeros(2, 1, 28, 28), [0, 1], [0.0, 0.0], 0)
    import matplotlib.pyplot  # noqa: F401  (add_figure imports it)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(warm).draw()
    _encode("warm-up", torch.zeros(3, 8, 8), dataformats="CHW")
    configs = {"without callback": None, **{f"interval {k}": k for k in args.intervals}}
    epochs = {name: [] for name in configs}
    figures = {name: 0 for name in configs}
    inside = {name: 0.0 for name in configs}
    with tempfile.TemporaryDirectory(prefix="bench_callback_") as logs:
        for repeat in range(args.repeats):
            for name, interval in configs.items():
                timer = EpochTimer()
                callbacks = [timer]
                if interval is not None:
                    confused = TimedConfusedLogitCallback(top_k=args.top_k, logging_batch_interval=interval,
                                                           class_names=train.class_names)
                    callbacks.append(confused)
                trainer = pl.Trainer(max_epochs=args.epochs, accelerator="cpu", devices=1, callbacks=callbacks,
                                     logger=TensorBoardLogger(logs, name=f"{name}-{repeat}"),
                                     enable_checkpointing=False, enable_model_summary=False,
                                     enable_progress_bar=False, log_every_n_steps=10)
                loader = torch.utils.data.DataLoader(train, batch_size=32, shuffle=True,
                                                     generator=torch.Generator().manual_seed(repeat))
                trainer.fit(Classifier(), loader)
                epochs[name] += timer.seconds
                if interval is not None:
                    figures[name] += len(confused.logged)
                    inside[name] += confused.cpu

    runs = args.epochs * args.repeats
    base_wall = statistics.median(w for w, _ in epochs["without callback"])
    base_cpu = statistics.median(c for _, c in epochs["without callback"])
    batches = -(-len(train) // 32)
    print(f"CNN on the offline digits: {len(train)} images, {batches} batches of 32 per epoch, {args.epochs} epochs x "
          f"{args.repeats} repeats, {args.threads} thread(s), top_k={args.top_k}")
    print(f"{'configuration':<18} {'epoch wall':>11} {'ratio':>6} {'epoch CPU':>10} {'ratio':>6} {'figures/epoch':>14} "
          f"{'in-run ratio':>13}")
    for name in configs:
        wall = statistics.median(w for w, _ in epochs[name])
        cpu = statistics.median(c for _, c in epochs[name])
        total_cpu = sum(c for _, c in epochs[name])
        in_run = total_cpu / (total_cpu - inside[name])
        print(f"{name:<18} {wall:>9.3f} s {wall / base_wall:>5.2f}x {cpu:>8.3f} s {cpu / base_cpu:>5.2f}x "
              f"{figures[name] / runs:>14.2f} {in_run:>12.3f}x")

if __name__ == "__main__":
    main()
