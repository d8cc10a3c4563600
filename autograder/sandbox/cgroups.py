"""One control group per submission: its memory (shared memory and tmpfs included), CPU share and process count.

Per-process resource limits cannot bound a submission: ``RLIMIT_DATA`` does not count shared anonymous memory
(``mmap(MAP_SHARED)``) nor files in a tmpfs, and CPU time and process counts are per process, so fifty busy
children take every core from the submission graded next to them. A control group counts all of it for the whole
process tree.

The grader makes its groups *below its own* (``/proc/self/cgroup``), so whatever limits the grader itself runs
under still apply, and removes them after each submission:

- cgroup v1 (a hierarchy per controller): ``memory.limit_in_bytes`` (+ ``memory.memsw.limit_in_bytes``: no swap
  either), ``cpu.cfs_quota_us`` = CPUs x ``cpu.cfs_period_us``, ``pids.max``; and a ``cpuacct`` group, whose
  ``cpuacct.usage`` is the submission's CPU time (its deadline, see ``parent``);
- cgroup v2: ``memory.max`` + ``memory.swap.max``, ``cpu.max``, ``pids.max``; only where the grader's own group
  already delegates those controllers to its children (``cgroup.subtree_control``), as systemd does for a
  service with ``Delegate=yes``; every v2 group reports its CPU time in ``cpu.stat``.

:func:`probe` says which controllers this machine lets the grader use and why not the others; where one is
missing the grader falls back to resource limits per process and warns once. The child joins the group itself,
before it forks anything (``join``), so nothing it starts is outside.
"""
from __future__ import annotations

import functools
import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CONTROLLERS = ("memory", "cpu", "pids")
ACCOUNTING = "cpuacct"   # cgroup v1 only: the group's CPU time (v2 reports it in every group's cpu.stat)
_counter = itertools.count()


@dataclass(frozen=True)
class Hierarchy:
    """Where one controller's groups live for this process: ``base`` is our own group's folder."""
    controller: str
    version: int
    base: Path


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _mounts(mountinfo: str) -> list[tuple[str, str, set[str]]]:
    """(mount point, fs type, super options) of every cgroup file system mounted at its root."""
    found = []
    for line in mountinfo.splitlines():
        pre, _, post = line.partition(" - ")
        fstype, _, options = (post.split() + ["", "", ""])[:3]
        fields = pre.split()
        if fstype in ("cgroup", "cgroup2") and len(fields) > 4 and fields[3] == "/":
            found.append((fields[4], fstype, set(options.split(","))))
    return found


def _own_groups(cgroup: str) -> dict[str, str]:
    """{controller or "" (v2): our group's path} from the text of /proc/self/cgroup."""
    groups = {}
    for line in cgroup.splitlines():
        try:
            _, controllers, path = line.split(":", 2)
        except ValueError:
            continue
        for c in controllers.split(",") if controllers else [""]:
            groups[c] = path
    return groups


def _writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


@functools.lru_cache(maxsize=None)
def probe() -> tuple[dict[str, Hierarchy], tuple[str, ...]]:
    """({controller: hierarchy} the grader can use, reasons for each one it cannot), for this process. Cached."""
    return hierarchies(_read("/proc/self/mountinfo"), _read("/proc/self/cgroup"))


def hierarchies(mountinfo: str, cgroup: str) -> tuple[dict[str, Hierarchy], tuple[str, ...]]:
    """``probe`` for the given texts of /proc/self/mountinfo and /proc/self/cgroup."""
    usable, missing = {}, []
    mounts, own = _mounts(mountinfo), _own_groups(cgroup)
    for controller in CONTROLLERS:
        v1 = next((m for m in mounts if m[1] == "cgroup" and controller in m[2]), None)
        if v1 is not None and controller in own:
            base = Path(v1[0] + own[controller])
            if _writable_dir(base):
                usable[controller] = Hierarchy(controller, 1, base)
            else:
                missing.append(f"{controller}: cgroup v1 folder {base} is not writable")
            continue
        v2 = next((m for m in mounts if m[1] == "cgroup2"), None)
        if v2 is None or "" not in own:
            missing.append(f"{controller}: no cgroup hierarchy has this controller")
            continue
        base = Path(v2[0] + own[""])
        delegated = controller in _read(str(base / "cgroup.subtree_control")).split()
        if delegated and _writable_dir(base):
            usable[controller] = Hierarchy(controller, 2, base)
        else:
            missing.append(f"{controller}: cgroup v2 group {base} does not delegate it to its children")
    v1 = next((m for m in mounts if m[1] == "cgroup" and ACCOUNTING in m[2]), None)
    if v1 is not None and ACCOUNTING in own and usable:   # where it is missing: CPU time from /proc
        base = Path(v1[0] + own[ACCOUNTING])
        if _writable_dir(base):
            usable[ACCOUNTING] = Hierarchy(ACCOUNTING, 1, base)
    return usable, tuple(missing)


LIMIT_FILES = ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.max", "memory.swap.max",
               "memory.high", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.max", "cpu.shares", "cpu.weight",
               "pids.max", "memory.soft_limit_in_bytes", "memory.oom_control")
NOBODY = 65534


def _hand_limits_away(folders) -> None:
    """As root: the limit files of a submission's groups belong to ``nobody`` from now on, so a student process
    that runs as uid 0 without capabilities (isolation ``none`` as root) cannot raise them; the grader (root with
    its capabilities) still can. Elsewhere the jail mounts every cgroup file system read-only."""
    if os.geteuid() != 0:
        return
    for folder in folders:
        for name in LIMIT_FILES:
            try:
                os.chown(folder / name, NOBODY, NOBODY)
            except OSError:
                pass


def _write(path: Path, value) -> None:
    with open(path, "w") as f:
        f.write(str(value))


class Cgroup:
    """The groups of one submission (one folder per v1 hierarchy, one for v2). Create with :meth:`create`."""

    def __init__(self, folders: dict[str, Path]):
        self.folders = folders                     # controller -> folder
        self.paths = sorted({str(p) for p in folders.values()})

    @classmethod
    def create(cls, tag: str, memory_mb: int, cpus: float, pids: int) -> "Cgroup | None":
        """New groups for one submission with these limits; ``None`` when no controller is usable.

        Raises:
            OSError: a usable controller refused the new group or its limits.
        """
        usable, _ = probe()
        if not usable:
            return None
        name = f"autograder-{os.getpid()}-{tag}-{next(_counter)}"
        folders: dict[str, Path] = {}
        group = cls(folders)
        try:
            for controller, where in usable.items():
                folder = where.base / name
                if folder not in folders.values():
                    folder.mkdir()
                folders[controller] = folder
                group.paths = sorted({str(p) for p in folders.values()})
                memory, period = memory_mb * 2**20, 100_000
                if controller == "memory" and where.version == 1:
                    _write(folder / "memory.limit_in_bytes", memory)
                    if (folder / "memory.memsw.limit_in_bytes").exists():
                        _write(folder / "memory.memsw.limit_in_bytes", memory)
                elif controller == "memory":
                    _write(folder / "memory.max", memory)
                    if (folder / "memory.swap.max").exists():
                        _write(folder / "memory.swap.max", 0)
                elif controller == "cpu" and where.version == 1:
                    _write(folder / "cpu.cfs_period_us", period)
                    _write(folder / "cpu.cfs_quota_us", max(1000, int(cpus * period)))
                elif controller == "cpu":
                    _write(folder / "cpu.max", f"{max(1000, int(cpus * period))} {period}")
                elif controller == "pids":
                    _write(folder / "pids.max", pids)
            _hand_limits_away(folders.values())
        except OSError:
            group.remove()
            raise
        return group

    def cpu_seconds(self) -> float | None:
        """The CPU time every process of the groups has used so far, those already ended included (v1
        ``cpuacct.usage``, v2 ``cpu.stat`` usage_usec); ``None`` where the groups do not account it."""
        folder = self.folders.get(ACCOUNTING)
        if folder is not None:
            try:
                return int((folder / "cpuacct.usage").read_text()) / 1e9
            except (OSError, ValueError):
                return None
        for path in self.paths:
            try:
                for line in Path(path, "cpu.stat").read_text().splitlines():
                    field, _, value = line.partition(" ")
                    if field == "usage_usec":
                        return int(value) / 1e6
            except (OSError, ValueError):
                continue
        return None

    def threads(self) -> set[int]:
        """Every thread of every process in the groups (v1 ``tasks``, v2 ``cgroup.threads``)."""
        found = set()
        for path in self.paths:
            for name in ("tasks", "cgroup.threads"):
                try:
                    found |= {int(p) for p in Path(path, name).read_text().split()}
                except (OSError, ValueError):
                    pass
        return found

    def release_cpu(self) -> None:
        """No CPU quota any more (for the teardown of killed processes, which runs on the group's quota)."""
        folder = self.folders.get("cpu")
        if folder is None:
            return
        try:
            if (folder / "cpu.cfs_quota_us").exists():
                _write(folder / "cpu.cfs_quota_us", -1)
            elif (folder / "cpu.max").exists():
                _write(folder / "cpu.max", "max")
        except OSError:
            pass

    def processes(self) -> set[int]:
        found = set()
        for path in self.paths:
            try:
                found |= {int(p) for p in Path(path, "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return found

    def kill(self, wait_s: float = 5.0) -> int:
        """SIGKILL every process still in the groups (again until none is left or ``wait_s`` passed); returns
        how many were found."""
        self.release_cpu()
        seen: set[int] = set()
        end = time.monotonic() + wait_s
        while True:
            left = self.processes()
            if not left or time.monotonic() > end:
                return len(seen | left)
            seen |= left
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)

    def out_of_memory(self) -> bool:
        """Whether the memory limit was hit (the kernel then kills the biggest process of the group)."""
        folder = self.folders.get("memory")
        if folder is None:
            return False
        for name, key in (("memory.events", "oom_kill"), ("memory.oom_control", "oom_kill")):
            try:
                for line in (folder / name).read_text().splitlines():
                    field, _, value = line.partition(" ")
                    if field == key and int(value) > 0:
                        return True
            except (OSError, ValueError):
                continue
        try:
            return int((folder / "memory.failcnt").read_text()) > 0 and \
                int((folder / "memory.max_usage_in_bytes").read_text()) >= \
                int((folder / "memory.limit_in_bytes").read_text()) - 2**20
        except (OSError, ValueError):
            return False

    def remove(self) -> None:
        """Kill what is left and delete the folders (never raises)."""
        self.kill()
        for path in self.paths:
            for _ in range(50):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def join(paths: list[str]) -> None:
    """Move the calling process into these groups (the child, before it forks anything). Raises OSError."""
    for path in paths:
        _write(Path(path, "cgroup.procs"), os.getpid())


def remove_stale() -> None:
    """Delete empty groups left below ours by graders that died (``autograder-<pid>-*`` of a dead pid)."""
    usable, _ = probe()
    for where in usable.values():
        try:
            folders = list(where.base.glob("autograder-*-*"))
        except OSError:
            continue
        for folder in folders:
            try:
                pid = int(folder.name.split("-")[1])
                if pid != os.getpid() and not Path(f"/proc/{pid}").exists():
                    os.rmdir(folder)
            except (ValueError, OSError):
                pass
