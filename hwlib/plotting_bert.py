"""Alias: moved to :mod:`hwlib.plotting.embeddings`;
kept for released notebooks (``hwlib.plotting_bert.<figure>(...)``).
It is the very same module object, so every name of the old module resolves, and patching one patches the other."""
import sys

from .plotting import embeddings

sys.modules[__name__] = embeddings
