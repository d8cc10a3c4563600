"""Alias: moved to :mod:`hwlib.plotting.explanations`;
kept for released notebooks (``hwlib.plotting_explanations.<figure>(...)``).
It is the very same module object, so every name of the old module resolves, and patching one patches the other."""
import sys

from .plotting import explanations

sys.modules[__name__] = explanations
