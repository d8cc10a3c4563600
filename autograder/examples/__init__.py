"""Example submissions for every registered assignment (generated), their generator and the generic attacks.

``python -m autograder.examples`` regenerates ``autograder/examples/<assignment>/*.ipynb`` (see :mod:`.generate`);
:mod:`.attacks` is the attack library applied to every assignment. None of this is visible to the sandbox.
"""
