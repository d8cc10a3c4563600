"""Mutation testing of the grader (issue 17): :mod:`.operators` makes mutants of the solution functions,
:mod:`.oracle` (with :mod:`.batteries`) decides independently whether each is wrong, :mod:`.engine` scores them
with the hidden checks and writes the table. Instructor-side only (it needs the solution notebooks)."""
