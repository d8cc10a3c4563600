"""Multiple-choice quizzes ("choose all that apply"): one probe reads the student's answers, one check per question.

The key lives only in the solution notebook: its answers cell holds ``ANSWERS = {...}`` inside a solution region
(the student release gets an empty dict), and the checks compare the student's choices with the reference choices
that the same probe read from the solution. Nothing here knows the key.

In a checks module::

    QUESTIONS = {1: 4, 2: 5, 3: 4}          # question number -> number of options (a, b, c, ...)
    CHECKS = (*code_checks, *quiz_checks(QUESTIONS, variable="ANSWERS", points=0.5))

    # the assignment's ``functions`` include "ANSWERS"; ``wrong`` may use {"ANSWERS": "ANSWERS = {}"}

What students write (any of these forms, letters in any order and case)::

    ANSWERS = {1: "ac", 2: "b", 3: {"a", "d"}, "q4": ["b", "c"], 5: "a, c"}

A question is right when the chosen set of options equals the reference set exactly (one check per question, so
the quiz gives partial credit question by question). An unanswered question, a letter that is not an option, or a
value of another type fails that question only. ANSWERS that is not a dict fails every question with one message.

nbgrader scores a grade cell all or nothing, so the solution notebook has **one hidden cell per question**, each
with that question's points, running only that question's check; ``python -m autograder sync`` writes them from the
registry (:func:`autograder.course.hidden_cell_source`), like every other hidden cell.
"""
from __future__ import annotations

import re
import string
from typing import Mapping, Sequence

import numpy as np

from ..check import Check, Probe, SubmissionError, Verdict

UNANSWERED, INVALID = -1, -2          # 0-d codes the probe sends instead of a choice vector
_SPLIT = re.compile(r"[\s,;/+&]+")


def question_key(number: int) -> str:
    """The name of question ``number``'s output array (``q01``, ``q02``...)."""
    return f"q{number:02d}"


def _normalize_questions(questions: Mapping[int, int] | Sequence[int]) -> dict[int, int]:
    """``{number: options}`` from a mapping, or from a sequence of option counts (questions numbered from 1)."""
    items = questions.items() if isinstance(questions, Mapping) else enumerate(questions, start=1)
    out = {int(n): int(k) for n, k in items}
    if not out or any(n < 1 or not 2 <= k <= 26 for n, k in out.items()):
        raise ValueError(f"questions: expected question numbers >= 1 with 2..26 options each, got {out}.")
    return out


def _question_number(key) -> int | None:
    """1 for ``1``, ``"1"``, ``"q1"``, ``"Q01"``; None for anything else."""
    if isinstance(key, bool):
        return None
    if isinstance(key, (int, np.integer)):
        return int(key)
    if isinstance(key, str):
        match = re.fullmatch(r"\s*(?:q(?:uestion)?\s*)?0*(\d{1,3})\s*", key, re.IGNORECASE)
        return int(match.group(1)) if match else None
    return None


def parse_choices(value, options: int) -> np.ndarray:
    """The student's answer to one question as an int8 vector ``(options,)`` of 0/1 (1 = chosen), or a 0-d code:
    ``UNANSWERED`` (None, empty) or ``INVALID`` (a letter that is not an option, or a value of another type)."""
    if value is None:
        return np.asarray(UNANSWERED, dtype=np.int8)
    if isinstance(value, str):
        letters = [part for part in _SPLIT.split(value.strip()) if part]
        letters = [c for part in letters for c in (part if part.isalpha() else [part])]
    elif isinstance(value, (list, tuple, set, frozenset)):
        letters = list(value)
    else:
        return np.asarray(INVALID, dtype=np.int8)
    if not letters:
        return np.asarray(UNANSWERED, dtype=np.int8)
    valid = string.ascii_lowercase[:options]
    chosen = np.zeros(options, dtype=np.int8)
    for letter in letters:
        if not isinstance(letter, str) or len(letter.strip()) != 1 or letter.strip().lower() not in valid:
            return np.asarray(INVALID, dtype=np.int8)
        chosen[valid.index(letter.strip().lower())] = 1
    return chosen


def _quiz_probe(questions: dict[int, int], variable: str):
    def run(answers, context) -> dict[str, np.ndarray]:
        if not isinstance(answers, dict):
            raise SubmissionError(f"`{variable}` must be a dict {{question number: letters}}, e.g. "
                                  f"{{1: \"ac\", 2: \"b\"}}; got a {type(answers).__name__}.")
        by_number: dict[int, object] = {}
        for key, value in list(answers.items())[:1000]:
            number = _question_number(key)
            if number in questions:
                by_number[number] = value
        return {question_key(n): parse_choices(by_number.get(n), k) for n, k in questions.items()}
    return run


def _letters(choice: np.ndarray) -> str:
    return ", ".join(string.ascii_lowercase[i] for i in np.flatnonzero(choice)) or "nothing"


def _verify_question(number: int, options: int, variable: str):
    key = question_key(number)

    def verify(student, reference, context, tolerance) -> Verdict:
        ref = np.asarray(reference[key])
        if ref.shape != (options,) or not ref.any():
            raise ValueError(f"the solution's {variable}[{number}] is not a valid answer (reference {key}).")
        got = student.get(key)
        got = None if got is None else np.asarray(got)
        if got is None or got.shape == () and int(got) == UNANSWERED:
            return Verdict(False, f"question {number} is not answered: set {variable}[{number}] to the letters of "
                                  "every option that applies, e.g. \"ac\".")
        if got.shape != (options,) or not np.isin(got, (0, 1)).all():
            valid = string.ascii_lowercase[:options]
            return Verdict(False, f"question {number}: the answer is not a set of letters from {valid[0]} to "
                                  f"{valid[-1]} (write e.g. \"{valid[0]}{valid[-1]}\").")
        if np.array_equal(got.astype(np.int8), ref.astype(np.int8)):
            return Verdict(True, f"question {number}: correct.")
        return Verdict(False, f"question {number}: you chose {_letters(got)}, which is not exactly the set of "
                              "options that apply (every true statement, and only those).")
    return verify


def quiz_checks(questions: Mapping[int, int] | Sequence[int], variable: str = "ANSWERS", points: float = 1.0,
                probe_name: str = "quiz") -> tuple[Check, ...]:
    """One :class:`Check` per question (named ``quiz_q01``...), all reading the plain value ``variable``.

    Args:
        questions: ``{question number: number of options}``, or a sequence of option counts for questions 1, 2...
        variable: the name the answers dict has in the notebook.
        points: points of each question.
        probe_name: the probe's name (unique within the assignment).
    """
    questions = _normalize_questions(questions)
    probe = Probe(probe_name, variable, _quiz_probe(questions, variable), callable=False)
    return tuple(Check(f"quiz_{question_key(n)}", probe, points, f"question {n} of the quiz",
                       _verify_question(n, k, variable)) for n, k in questions.items())
