"""Mutation testing of the grader: mutants of each solution function, judged by the independent oracle
(:mod:`.oracle`), scored by the hidden checks in process (no sandbox) and by the notebook's visible checks.

    python -m autograder mutants ID [--limit N] [--function F] [--write-docs]

Instructor-side only: it needs the solution notebook, so nothing of the grader runtime imports it.
"""
from __future__ import annotations

import copy
import json
import signal
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from autograder.assignments import load_assignment, solution_namespace, solution_notebook

from .batteries import BATTERIES
from .operators import Mutant, mutants_of
from .oracle import judge

QUIZ = "ANSWERS"


@dataclass
class Outcome:
    mutant: Mutant
    wrong: str | None                  # the oracle's reason, None = equivalent
    lost: tuple[str, ...] = ()         # hidden checks that lost points
    visible: str | None = None         # the first visible check that failed (None = all passed / not measured)
    seconds: float = 0.0


@dataclass
class Table:
    assignment: str
    outcomes: list[Outcome] = field(default_factory=list)
    visible_measured: bool = False

    @property
    def generated(self):
        return len(self.outcomes)

    @property
    def wrong(self):
        return [o for o in self.outcomes if o.wrong]

    @property
    def equivalent(self):
        return [o for o in self.outcomes if not o.wrong]

    @property
    def killed(self):
        return [o for o in self.wrong if o.lost]

    @property
    def survivors(self):
        return [o for o in self.wrong if not o.lost]

    @property
    def equivalent_penalised(self):
        return [o for o in self.equivalent if o.lost]

    @property
    def killed_visible(self):
        return [o for o in self.wrong if o.visible]

    @property
    def equivalent_visible_flagged(self):
        """Equivalent mutants that a visible check rejects: a correct answer the student would be told is wrong."""
        return [o for o in self.equivalent if o.visible]

    def row(self) -> str:
        w = len(self.wrong)
        pct = f"{100 * len(self.killed) / w:.0f}%" if w else "-"
        vis = f"{len(self.killed_visible)} ({100 * len(self.killed_visible) / w:.0f}%)" if (
            w and self.visible_measured) else "not measured"
        kept = f"{len(self.equivalent) - len(self.equivalent_penalised)} / {len(self.equivalent)}"
        if self.visible_measured:
            kept += f" (visible: {len(self.equivalent) - len(self.equivalent_visible_flagged)} pass)"
        return f"| {self.assignment} | {self.generated} | {w} | {len(self.killed)} ({pct}) | {vis} | {kept} |"


HEADER = ("| notebook | mutants | oracle-wrong | killed by hidden checks | killed by visible checks | "
          "equivalent kept full |\n|---|---|---|---|---|---|")


class _Timeout(Exception):
    pass


@contextmanager
def deadline(seconds: float):
    """At most ``seconds`` of this process's CPU time (not wall time: a busy machine gives the same verdicts)."""
    def handler(signum, frame):
        raise _Timeout(f"took more than {seconds:g} s of CPU time")
    old = signal.signal(signal.SIGPROF, handler)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


def solution_cells(assignment) -> dict[str, str]:
    nb = json.loads(solution_notebook(assignment).read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]
            if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("solution")}


def namespace(assignment, cells: dict[str, str], replace: dict[str, str] | None = None) -> dict:
    """The solution's namespace (autograder.assignments.solution_namespace) with the cells named in ``replace``
    (a mutant's function) running their replacement; ``cells`` (the solution's sources by grade_id) must be the
    solution notebook's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return solution_namespace(assignment, replace)


def dependents(assignment, cells, function) -> set[str]:
    return {function} | {f for f in assignment.functions if f != function and f != QUIZ and function in cells[f]}


def all_mutants(assignment, cells, functions=None) -> list[Mutant]:
    found = []
    for fn in assignment.functions:
        if fn == QUIZ or (functions and fn not in functions):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found += list(mutants_of(fn, cells[fn]))
    return found


class Scorer:
    """The hidden checks of one assignment, run in process on a mutant's namespace."""

    def __init__(self, assignment, functions=None):
        self.assignment = assignment
        self.context = assignment.make_context("cpu")
        self.cells = solution_cells(assignment)
        wanted = set(functions) if functions else {p.function for p in assignment.probes}
        wanted = set().union(*(dependents(assignment, self.cells, f) for f in wanted if f != QUIZ)) | (wanted & {QUIZ})
        self.reference = self.probe(namespace(assignment, self.cells), wanted)
        bad = [k for k, v in self.reference.items() if isinstance(v, Exception)]
        if bad:
            raise RuntimeError(f"the solution fails probes {bad}: {[self.reference[k] for k in bad]}")

    def probe(self, ns, functions) -> dict:
        out = {}
        for probe in self.assignment.probes:
            if probe.function not in functions:
                continue
            try:
                ctx = copy.deepcopy(self.context)
            except Exception:   # noqa: BLE001 - a context that cannot be copied is rebuilt
                ctx = self.assignment.make_context("cpu")
            try:
                with deadline(60), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out[probe.name] = (probe.run(ns[probe.function], ctx) if probe.callable
                                       else probe.run(ns[probe.function], ctx), ctx)
            except BaseException as err:   # noqa: BLE001 - a failed probe fails its checks, as in the grader
                if isinstance(err, KeyboardInterrupt):
                    raise
                out[probe.name] = err
        return out

    def lost(self, ns, functions) -> tuple[str, ...]:
        student = self.probe(ns, functions)
        lost = []
        for check in self.assignment.checks:
            if check.function not in functions:
                continue
            got, ref = student[check.probe.name], self.reference[check.probe.name]
            if isinstance(got, BaseException):
                lost.append(check.name)
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    verdict = check.verify(got[0], ref[0], got[1], check.tolerance)
                if not verdict.passed:
                    lost.append(check.name)
            except Exception:   # noqa: BLE001
                lost.append(check.name)
        return tuple(lost)


def run(assignment_id: str, limit: int | None = None, functions=None, sample: int | None = None,
        visible: bool = False, progress=print) -> Table:
    """Generate, judge and score the mutants of one assignment. ``sample`` keeps every ``len // sample``-th
    mutant (a fixed spread over all functions and operators); ``limit`` the first N."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(assignment_id, limit, functions, sample, visible, progress)
    finally:
        torch.set_num_threads(threads)


def _run(assignment_id, limit, functions, sample, visible, progress) -> Table:
    assignment = load_assignment(assignment_id)
    scorer = Scorer(assignment, functions)
    cells = scorer.cells
    battery = BATTERIES[assignment_id]()
    reference_ns = namespace(assignment, cells)
    with deadline(120):
        assert judge(reference_ns, namespace(assignment, cells), battery) is None, "the oracle is not deterministic"
    mutants = all_mutants(assignment, cells, functions)
    if sample:
        step = max(1, len(mutants) // sample)
        mutants = mutants[::step][:sample]
    if limit:
        mutants = mutants[:limit]
    visible_runner = None
    if visible:
        from .visible import VisibleChecks

        visible_runner = VisibleChecks(assignment, cells)
    table = Table(assignment_id, visible_measured=visible_runner is not None)
    for i, m in enumerate(mutants):
        start = time.perf_counter()
        ns = namespace(assignment, cells, {m.function: m.source})
        affected = dependents(assignment, cells, m.function)
        cases = [c for c in battery if c.function in affected]
        try:
            with deadline(120):
                wrong = judge(reference_ns, ns, cases)
        except _Timeout as err:
            wrong = f"timeout: {err}"
        lost = scorer.lost(ns, affected)
        seen = visible_runner.first_failure(ns, affected) if visible_runner else None
        table.outcomes.append(Outcome(m, wrong, lost, seen, time.perf_counter() - start))
        if progress:
            verdict = "EQUIV" if not wrong else ("killed" if lost else "SURVIVED")
            progress(f"[{i + 1}/{len(mutants)}] {verdict:<8} {m.id}  ({wrong or ''}) lost={','.join(lost)}"
                     + (f" visible={seen}" if seen else ""))
    return table


def report(tables: list[Table]) -> str:
    lines = [HEADER, *(t.row() for t in tables), ""]
    for t in tables:
        section = [f"- survives: `{o.mutant.id}` (`{o.mutant.original.strip()[:80]}`): oracle says {o.wrong}"
                   for o in t.survivors]
        section += [f"- equivalent but loses {', '.join(o.lost)}: `{o.mutant.id}`" for o in t.equivalent_penalised]
        section += [f"- equivalent but a visible check fails: `{o.mutant.id}` ({o.visible})"
                    for o in t.equivalent_visible_flagged]
        if t.visible_measured:
            missed: dict[str, int] = {}
            for o in t.wrong:
                if not o.visible:
                    missed[o.mutant.function] = missed.get(o.mutant.function, 0) + 1
            if missed:
                section.append("- not seen by the visible checks (wrong mutants per function): "
                               + ", ".join(f"{f} {n}" for f, n in missed.items()))
        if section:
            lines += [f"### {t.assignment}\n", *section, ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m autograder mutants")
    p.add_argument("assignment", nargs="*", help="assignment ids (default: every registered one)")
    p.add_argument("--limit", type=int)
    p.add_argument("--sample", type=int)
    p.add_argument("--function", action="append")
    p.add_argument("--visible", action="store_true", help="also run the notebook's visible checks (slow)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--write-docs", action="store_true", help="write the table into docs/grading.md")
    args = p.parse_args(argv)
    from autograder.assignments import CHECK_MODULES

    tables = []
    for a in args.assignment or CHECK_MODULES:
        tables.append(run(a, args.limit, args.function, args.sample, args.visible, None if args.quiet else print))
        text = report(tables)
        print(text, flush=True)
        if args.write_docs:   # after every notebook: a long run leaves what it has measured
            from .docs import write

            write(tables, text)
    return 0 if all(not t.equivalent_penalised and not t.equivalent_visible_flagged for t in tables) else 1
