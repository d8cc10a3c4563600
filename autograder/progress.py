"""A progress bar for long batches: graded / failed / remaining and an ETA, for the local pool and the cluster.

    bar = Progress(len(todo), desc=assignment.id, already=len(done))
    log = bar.wrap(log)              # log lines print above the bar instead of through it
    ...  bar.update(ok=True)  # one per finished submission (ok=False: the grader failed, graded next run)
    bar.close()

The bar goes to stderr and is hidden where stderr is not a terminal (logs, CI, tests) unless ``enabled=True``;
``$AUTOGRADER_PROGRESS=0`` or ``1`` forces it off or on.
"""
from __future__ import annotations

import os
import sys
import threading

from tqdm.auto import tqdm


def _enabled(enabled: bool | None) -> bool | None:
    """tqdm's ``disable`` from ``enabled`` and the environment (``None``: only on a terminal)."""
    env = os.environ.get("AUTOGRADER_PROGRESS", "")
    if env in ("0", "1"):
        enabled = env == "1"
    return None if enabled is None else not enabled


class Progress:
    """A tqdm bar over the submissions still to grade, with ``graded``, ``failed`` and ``left`` counts.

    Thread-safe: the local pool calls :meth:`update` from its worker threads. ``already`` (submissions whose
    results were kept from an earlier run) is shown, not counted in the ETA.
    """

    def __init__(self, total: int, desc: str = "grading", already: int = 0, enabled: bool | None = None,
                 file=None):
        self.total, self.already, self.graded, self.failed = total, already, 0, 0
        self._lock = threading.Lock()
        self._bar = tqdm(total=total, desc=desc, unit="sub", file=file or sys.stderr, disable=_enabled(enabled),
                         dynamic_ncols=True, smoothing=0.1)
        self._postfix()

    @property
    def left(self) -> int:
        return self.total - self.graded - self.failed

    def _postfix(self) -> None:
        counts = {"graded": self.graded, "failed": self.failed, "left": self.left}
        if self.already:
            counts["kept"] = self.already
        self._bar.set_postfix(counts, refresh=False)

    def update(self, ok: bool = True) -> None:
        """One more submission finished: graded (``ok``) or not graded because the grader failed."""
        with self._lock:
            if ok:
                self.graded += 1
            else:
                self.failed += 1
            self._postfix()
            self._bar.update(1)

    def write(self, message: str) -> None:
        """Print ``message`` above the bar."""
        with self._lock:
            self._bar.write(message, file=sys.stdout)

    def wrap(self, log):
        """``log`` (e.g. ``print``), called with the bar cleared first and redrawn after."""
        def wrapped(*args, **kwargs):
            with self._lock, self._bar.external_write_mode():
                log(*args, **kwargs)
        return wrapped

    def close(self) -> None:
        with self._lock:
            self._bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
