"""A submission tries to raise every limit the grader set on it (memory, process count, CPU quota; its control
groups and its resource limits), in every isolation mode; and every mount of the jail is read-only but its own
scratch."""
import json

import pytest

from autograder.extract import Cell
from autograder.sandbox import Sandbox, isolation, observe
from autograder.sandbox_host import grader_host
from autograder.sandbox.cgroups import probe

from autograder_helpers import TEST_LIMITS

RAISE_EVERYTHING = r'''
import json, os, resource
report = {"written": [], "refused": [], "rlimits": [], "writable_mounts": []}
groups = {}
for line in open("/proc/self/cgroup"):
    _, controllers, path = line.rstrip("\n").split(":", 2)
    for c in (controllers.split(",") if controllers else [""]):
        groups[c] = path
mounts = [l.split() for l in open("/proc/self/mountinfo")]
for fields in mounts:
    point, options = fields[4], fields[5]
    fstype = fields[fields.index("-") + 1]
    if "rw" in options.split(",") and point not in ("/tmp", "/dev/shm") and not point.startswith("/dev/"):
        report["writable_mounts"].append(point)
    if fstype not in ("cgroup", "cgroup2") or fields[3] != "/":
        continue
    supers = set(fields[-1].split(","))
    own = next((groups[c] for c in groups if c in supers), groups.get("") if fstype == "cgroup2" else None)
    if own is None:
        continue
    for name, value in (("memory.limit_in_bytes", 2**44), ("memory.memsw.limit_in_bytes", 2**44),
                        ("memory.max", "max"), ("pids.max", "max"), ("cpu.cfs_quota_us", -1), ("cpu.max", "max")):
        path = point + own + "/" + name
        if not os.path.exists(path):
            continue
        try:
            with open(path, "w") as f:
                f.write(str(value))
            report["written"].append(path)
        except OSError as err:
            report["refused"].append(path + ": " + type(err).__name__)
for which in ("RLIMIT_DATA", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_AS", "RLIMIT_FSIZE"):
    soft, hard = resource.getrlimit(getattr(resource, which))
    if hard == resource.RLIM_INFINITY:
        continue
    try:
        resource.setrlimit(getattr(resource, which), (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        report["rlimits"].append(which)
    except (OSError, ValueError):
        pass
print("LIMITS" + json.dumps(report))
'''


def levels():
    here = isolation()
    return [level for level in ("namespaces", "user-namespaces", "none")
            if level == "none" or (here == "namespaces") or (here == "user-namespaces" == level)]


@pytest.mark.parametrize("level", levels())
def test_no_limit_can_be_raised_from_inside(assignment, level):
    with Sandbox(level=level, host=grader_host()) as sandbox:
        obs = observe([Cell("compute_saliency_maps", RAISE_EVERYTHING, 0)], assignment, TEST_LIMITS, "cpu", sandbox)
    line = next((l for l in obs.output_tail.splitlines() if l.startswith("LIMITS")), None)
    assert line is not None, obs.output_tail[-3000:]
    report = json.loads(line[len("LIMITS"):])
    assert report["written"] == [], report
    assert report["rlimits"] == [], report
    if level != "none":
        assert report["writable_mounts"] == [], report
        usable, _ = probe()
        if usable:   # the groups are visible inside the jail (through /sys): each attempt was refused
            assert report["refused"], report
