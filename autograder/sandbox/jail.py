"""Inside the sandboxed child, before any student code: new namespaces, a fresh root file system, no privileges.

``unshare_namespaces`` puts the process in new mount, network, IPC and UTS namespaces and makes its next child
PID 1 of a new pid namespace (as root directly, otherwise inside a new user namespace). That child calls
``enter(spec)``, which

1. mounts a small tmpfs and binds into it, read-only and recursively (every mount below a bind too, e.g. the
   cgroup hierarchies under /sys), only what Python, torch and hwlib need (``spec["binds"]``: /usr, /etc, the
   Python installation, the hwlib package and its data, the autograder's own .py files) plus a few device nodes;
   a fresh read-only /proc; private tmpfs /tmp and /dev/shm (the submission's own scratch: with the device nodes,
   the only writable mounts). Not there: the course repository (solutions, examples, git history), reference
   outputs, other submissions, grades, feedback, home folders;
2. ``pivot_root``s into it and detaches the old root, so nothing else is reachable;
3. makes the calling process a *supervisor* (``become_init``): PID 1 of the namespace, still privileged, never
   dumpable, default signal dispositions (so nothing inside the namespace can signal, trace or stop it), killed
   when its own supervisor outside dies. It forks the process that runs student code and does nothing but reap.

That student process then ``drop_privileges``: as root, to a fresh unprivileged uid/gid with no groups; in a user
namespace, every capability; ``no_new_privs``, a new anonymous session keyring (nothing of the launcher's) and a
parent-death signal either way. Killing PID 1 from outside kills every process of the namespace, whatever the
student's processes did to their own parent-death signal.

Linux only. Every step raises ``OSError`` on failure: the child then stops before running any student code.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import signal

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
_KEEP_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC | 1024 | 2048 | 4096   # + noatime, nodiratime, relatime
MNT_DETACH = 2
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}
KEYCTL_JOIN_SESSION_KEYRING = 1

_libc = ctypes.CDLL(None, use_errno=True)


def _call(fn, *args, what: str) -> None:
    if fn(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(value: str | None):
    return None if value is None else os.fsencode(value)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _call(_libc.mount, _b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data), what=f"mount {target}")


def bind(source: str, target: str, readonly: bool = True) -> None:
    """Bind ``source`` (file or folder) at ``target`` (created), read-only unless told otherwise."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "wb").close()
    mount(source, target, None, MS_BIND | MS_REC)
    if readonly:
        readonly_tree(target)


SYS_MOUNT_SETATTR = 442          # the same number on every architecture (Linux >= 5.12)
AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID = -100, 0x8000, 0x1, 0x2


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


def _submounts(target: str) -> list[str]:
    """Mount points at or below ``target`` (from /proc/self/mountinfo), outermost first."""
    found = []
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            point = line.split()[4].decode("utf-8", "surrogateescape")
            point = point.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
            if point == target or point.startswith(target.rstrip("/") + "/"):
                found.append(point)
    return sorted(set(found), key=len)


def readonly_tree(target: str) -> None:
    """Make the mount at ``target`` and EVERY mount below it read-only and nosuid (a recursive bind of /sys
    brings /sys/fs/cgroup and its hierarchies along, and a remount of the top one alone leaves them writable).
    ``mount_setattr(AT_RECURSIVE)`` where the kernel has it, else one remount per mount below ``target``. Raises
    OSError when any of them stays writable."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0, 0)
    done = _libc.syscall(ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD), _b(target),
                         ctypes.c_uint(AT_RECURSIVE), ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr))) == 0
    for point in _submounts(target):
        if done and os.statvfs(point).f_flag & MS_RDONLY:
            continue
        kept = os.statvfs(point).f_flag & _KEEP_FLAGS   # a user namespace may not clear the flags it has
        mount(None, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | kept)
    for point in _submounts(target):
        if not os.statvfs(point).f_flag & MS_RDONLY:
            raise OSError(errno.EPERM, f"{point} stays writable inside the jail")


def _pivot_root(new_root: str) -> None:
    os.chdir(new_root)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(0, f"pivot_root: unsupported machine {platform.machine()}")
    _call(_libc.syscall, ctypes.c_long(number), b".", b".", what="pivot_root")
    _call(_libc.umount2, b".", ctypes.c_int(MNT_DETACH), what="detach the old root")
    os.chdir("/")


def unshare_namespaces(user_namespace: bool) -> None:
    """New mount/net/IPC/UTS namespaces now and a new pid namespace for the next child; first a user namespace
    (mapping this uid and gid to 0) when ``user_namespace``."""
    if user_namespace:
        uid, gid = os.getuid(), os.getgid()
        _call(_libc.unshare, CLONE_NEWUSER, what="unshare(user)")
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID
    _call(_libc.unshare, flags, what="unshare(mount, net, ipc, uts, pid)")


def build_root(spec: dict) -> None:
    """Steps 1 and 2 of the module docstring."""
    root = spec["root"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID, "size=1m,mode=0755")
    for path, target in spec.get("symlinks", {}).items():
        os.makedirs(os.path.dirname(root + path), exist_ok=True)
        os.symlink(target, root + path)
    for path, size_mb in (("/tmp", spec["tmp_mb"]), ("/dev/shm", 64)):   # first: binds may lie under /tmp
        os.makedirs(root + path, exist_ok=True)
        mount("tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size_mb}m,mode=1777")
    for path in spec["binds"]:
        bind(path, root + path)
    for path in spec.get("devices", []):
        bind(path, root + path, readonly=False)
    os.makedirs(root + "/proc", exist_ok=True)
    try:
        mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
    except OSError:
        pass  # a user namespace inside a container may not mount proc; Python and torch run without it
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        if not os.path.lexists(f"{root}/dev/{name}"):
            os.symlink(target, f"{root}/dev/{name}")
    mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    _pivot_root(root)


def set_parent_death_signal() -> None:
    """SIGKILL this process when the thread that forked it ends."""
    _call(_libc.prctl, PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0, what="pdeathsig")


def become_init() -> None:
    """Step 3: this process (PID 1 of the new pid namespace) only supervises: it dies with its parent, cannot be
    traced or dumped, and ignores every signal sent from inside the namespace (the kernel drops signals to a
    namespace's init that has no handler for them, and SIGKILL/SIGSTOP from inside altogether)."""
    for sig in range(1, signal.NSIG):
        if sig not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD):
            try:
                signal.signal(sig, signal.SIG_DFL)
            except (OSError, ValueError, RuntimeError):
                pass
    _call(_libc.prctl, PR_SET_DUMPABLE, 0, 0, 0, 0, what="not dumpable")
    set_parent_death_signal()


def new_session_keyring() -> None:
    """Join a new anonymous session keyring, so no key passes from one run to the next through the keyring this
    process inherited (the user keyrings are fresh anyway: a fresh uid or a fresh user namespace per run)."""
    number = SYS_KEYCTL.get(platform.machine())
    if number is not None and _libc.syscall(ctypes.c_long(number), KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        if ctypes.get_errno() not in (errno.ENOSYS, errno.EPERM, errno.EACCES):  # keyrings unusable: fine
            raise OSError(ctypes.get_errno(), "join a new session keyring")


def drop_privileges(uid: int | None) -> None:
    """To ``uid``/``uid`` with no groups (as root), or no capabilities at all (``uid is None``)."""
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    else:
        for cap in range(64):
            _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)

        class Header(ctypes.Structure):
            _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

        class Data(ctypes.Structure):
            _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                        ("inheritable", ctypes.c_uint32)]

        _call(_libc.capset, ctypes.byref(Header(0x20080522, 0)), ctypes.byref((Data * 2)()), what="capset")
    new_session_keyring()
    _call(_libc.prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, what="no_new_privs")
    set_parent_death_signal()  # setuid reset it


def enter(spec: dict) -> None:
    """Build the root and pivot into it (steps 1 and 2), then become the namespace's supervisor (step 3)."""
    build_root(spec)
    become_init()
