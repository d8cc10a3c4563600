"""Alias: moved to :mod:`hwlib.robustness_curves` (robustness curves, per-class difficulty, the checks of an
attack's inputs; this name held them although it holds no attack); kept for released notebooks and old imports.
It is the very same module object, so every name of the old module resolves, and patching one patches the other."""
import sys

from . import robustness_curves

sys.modules[__name__] = robustness_curves
