"""Alias: moved to :mod:`hwlib.plotting.adversarial`;
kept for released notebooks (``hwlib.plotting_adversarial.<figure>(...)``).
It is the very same module object, so every name of the old module resolves, and patching one patches the other."""
import sys

from .plotting import adversarial

sys.modules[__name__] = adversarial
