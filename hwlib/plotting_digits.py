"""Alias: moved to :mod:`hwlib.plotting.digits`;
kept for released notebooks (``hwlib.plotting_digits.<figure>(...)``).
It is the very same module object, so every name of the old module resolves, and patching one patches the other."""
import sys

from .plotting import digits

sys.modules[__name__] = digits
