"""Alias: the runner is :mod:`autograder.runner` (not sandbox code: the nbgrader kernel and the reference process
use it too). This name stays for code that imports it; it is the very same module object."""
import sys

from .. import runner

sys.modules[__name__] = runner
