"""Everything that starts, jails, talks to and watches the student's process.

Grading uses only what is exported here: :class:`Sandbox` (one per worker slot; a warm launcher that forks a jailed
child per run; given a :class:`Host`: the paths it binds and the registry lookup, so that the sandbox imports
neither the registry nor the student package; :class:`Turn`: one submission's fresh uid, HOME and control
groups), :class:`Limits`,
:func:`isolation` (the strongest isolation this machine allows), :func:`enforcement` (what this machine cannot
limit per submission) and :func:`observe` (run one submission's cells and probes until every probe has an outcome,
within one deadline). The modules:

- ``parent``   starting the launcher, the jail specification, collecting what a child reports (parent side);
- ``launcher`` the warm, trusted process per slot that forks one child per run;
- ``child``    the forked child: locks itself in, runs the student's cells and the probes, reports arrays;
- ``jail``     namespaces, a fresh read-only root, the supervising init, privilege drop (before student code);
- ``cgroups``  one control group per submission: memory (shared memory included), CPU share, process count;
- ``wire``     the data-only message format from child to parent (JSON headers, ``.npz``, never pickle);
- ``runner``   an alias of :mod:`autograder.runner` (not sandbox code; kept for old imports);
- ``observe``  one submission until every probe has an outcome, restarting after hangs and crashes;
- ``device_shim`` Colab code (``.cuda()``) on a CPU-only grader.
"""
from .observe import GraderError, Observation, observe, size_problem
from .parent import (
                     SANDBOX_UIDS,
                     ChildRun,
                     Host,
                     Limits,
                     Sandbox,
                     Turn,
                     enforcement,
                     given_uids,
                     isolation,
                     processes_of,
)

__all__ = ["ChildRun", "GraderError", "Host", "Limits", "Observation", "SANDBOX_UIDS", "Sandbox", "Turn", "enforcement",
           "given_uids", "isolation", "observe", "processes_of", "size_problem"]
