"""Alias: moved to :mod:`hwlib.adversarial_training` (adversarial training on digits; this name held it although
the robustness curves live elsewhere); kept for released notebooks and old imports.
It is the very same module object, so every name of the old module resolves, and patching one patches the other."""
import sys

from . import adversarial_training

sys.modules[__name__] = adversarial_training
