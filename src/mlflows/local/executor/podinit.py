"""The first process of an isolated pod: it builds the pod's view of this machine, then runs the
pod's command, as a container runtime and Argo's emissary (``argoexec``) do for a main container.

:mod:`mlflows.local.executor.isolation` starts it as ``unshare --mount --pid --fork --kill-child
python -I -S podinit.py PLAN STATUS_FD``: PID 1 of a PID namespace of its own, in a mount
namespace of its own. It reads the plan (a dict in :mod:`marshal` form, written by the runner) and

1. mounts a private tmpfs as the pod's root, binds every directory of the host into it read-only
   (a host directory that must hold a mount point it lacks is recreated in the tmpfs, its entries
   bound read-only one by one), a new ``/proc``, ``/dev`` read-only with a private ``/dev/shm``,
   ``/sys`` read-only;
2. binds the pod's mounts at their paths (read-only where the plan says): its volumes, its
   ``/tmp`` (a directory of the node's scratch), a script's source;
3. pivots into that root and detaches the host's;
4. starts the command in its working directory with Docker's default capabilities only (without
   CAP_SYS_ADMIN it cannot undo the mounts), and writes to STATUS_FD ``started``, or why it
   could not start;
5. waits for it, reaping whatever else ends (PID 1's duty), copies the output files outside the
   volumes into the node's scratch directory (as argoexec's wait container reads them), and exits
   with the command's status — 128+N if signal N ended it. Its exit ends the namespace: the kernel
   kills whatever the command left behind.

The new root is writable (a container's own layer), but only what is not the host's: new paths
land in the tmpfs and vanish with the pod. It runs outside the pod's Python environment, with
``-I -S``, and imports next to nothing (``ctypes`` and built-in modules): every pod waits for it.
"""

from __future__ import annotations

import _signal  # signal's C half: signal itself imports enum, slow to start for every pod
import ctypes
import errno
import marshal
import os
import posixpath
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_UNBINDABLE = 32, 4096, 16384, 1 << 17
MNT_DETACH = 2
# statvfs flags -> the mount flags a read-only remount must repeat (a user namespace locks them)
KEPT_FLAGS = {
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: 1024,
    os.ST_NODIRATIME: 2048,
    os.ST_RELATIME: 1 << 21,
}
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
# CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT
# MKNOD AUDIT_WRITE SETFCAP: what Docker and containerd grant a container by default
DEFAULT_CAPABILITIES = {0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31}
HOST_SPECIAL = {"/proc", "/dev", "/sys", "/tmp"}  # never the host's inside a pod

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


class SetupError(Exception):
    """The pod's view could not be built: one line saying what and why."""


def _checked(result: int, what: str) -> None:
    if result != 0:
        raise SetupError(f"{what}: {os.strerror(ctypes.get_errno())}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    encoded = [value.encode() if value else None for value in (source, target, fstype, data)]
    _checked(libc.mount(encoded[0], encoded[1], encoded[2], flags, encoded[3]), f"mount {target}")


def _bind(source: str, target: str, read_only: bool, recursive: bool = True) -> None:
    """Bind ``source`` at ``target`` (creating the mount point), read-only with all below it."""
    _mount_point(target, os.path.isdir(source))
    _mount(source, target, None, MS_BIND | (MS_REC if recursive else 0))
    if read_only:
        points = _mount_points_under(target) if recursive else [target]
        for point in points:
            _remount_read_only(point)


def _remount_read_only(point: str) -> None:
    try:
        current = os.statvfs(point).f_flag
    except OSError:
        return  # covered by a later mount, or not reachable: nothing of it shows
    kept = sum(flag for st_flag, flag in KEPT_FLAGS.items() if current & st_flag)
    _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def _mount_points_under(top: str) -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as mountinfo:
        points = [_unescape(line.split()[4]) for line in mountinfo]
    return [point for point in points if point == top or point.startswith(top + "/")]


def _unescape(field: str) -> str:
    """A mountinfo path: each backslash starts an octal escape (of a space, a backslash, ...)."""
    first, *escaped = field.split("\\")
    return first + "".join(chr(int(part[:3], 8)) + part[3:] for part in escaped)


def _mount_point(path: str, directory: bool) -> None:
    os.makedirs(path if directory else os.path.dirname(path), exist_ok=True)
    if not directory and not os.path.exists(path):
        open(path, "a").close()


def _populate(host_dir: str, root: str, targets: list[str]) -> None:
    """Give ``root`` every entry of ``host_dir``, read-only; recreate (and descend into) a directory
    that must hold a mount point it lacks, so that point can be made without touching the host."""
    for name in sorted(os.listdir(host_dir)):
        host = os.path.join(host_dir, name)
        if host in HOST_SPECIAL or host in targets or host == root:
            continue
        inside = root + host
        below = [target for target in targets if target.startswith(host + "/")]
        if os.path.islink(host):
            os.symlink(os.readlink(host), inside)
        elif below and os.path.isdir(host) and not all(_exists_on_host(t) for t in below):
            os.mkdir(inside)
            os.chmod(inside, os.stat(host).st_mode & 0o7777)
            _populate(host, root, below)
        elif os.path.isdir(host) or os.path.isfile(host):
            _bind(host, inside, read_only=True)


def _exists_on_host(path: str) -> bool:
    return os.path.realpath(path) == path and os.path.exists(path)


def build_root(plan: dict) -> None:
    root = plan["root"]
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
    _mount(None, root, None, MS_UNBINDABLE)  # binding a host directory above it skips it
    mounts = sorted(plan["mounts"], key=lambda mount: (mount["path"].count("/"), mount["path"]))
    # an output path the host lacks gets a writable parent, as a container's own layer would
    made = [path for path in plan["outputs"] if not _exists_on_host(path)]
    _populate("/", root, [mount["path"] for mount in mounts] + made)
    os.mkdir(root + "/proc", 0o555)
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _bind("/dev", root + "/dev", read_only=True)
    _mount("tmpfs", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    _bind("/sys", root + "/sys", read_only=True)
    for mount in mounts:  # all bound first: a nested mount point may need a parent still writable
        _bind(mount["source"], root + mount["path"], read_only=False)
    for mount in mounts:
        if mount["readOnly"]:
            _remount_read_only(root + mount["path"])
    os.chdir(root)
    machine = os.uname().machine
    if machine not in SYS_PIVOT_ROOT:
        raise SetupError(f"pivot_root: its system call number on {machine} is not known here")
    _checked(libc.syscall(SYS_PIVOT_ROOT[machine], b".", b"."), "pivot_root")
    _checked(libc.umount2(b".", MNT_DETACH), "detach the host's root")
    os.chdir("/")


def _drop_capabilities() -> None:
    """In the command's process, before exec: keep only the default capabilities."""
    with open("/proc/sys/kernel/cap_last_cap") as last:
        for capability in range(int(last.read()) + 1):
            if capability not in DEFAULT_CAPABILITIES:
                libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def start(plan: dict) -> int:
    """Start the command (OSError if it cannot start, as exec said); its pid."""
    for path in set(plan["outputs"]) - set(plan["artifacts"]):  # as the rewritten paths' do
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError:
            pass  # under a read-only directory: the command's write will say so
    working_dir = plan["workingDir"]
    try:
        os.makedirs(working_dir, exist_ok=True)  # as the runtime creates a missing workingDir
    except OSError as err:
        raise SetupError(f"workingDir {working_dir}: {err.strerror}") from None
    exec_failed, exec_failure = os.pipe()  # closed by a successful exec
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(working_dir)
            # Python ignores these two, and exec would keep them ignored for the command
            for signum in (_signal.SIGPIPE, _signal.SIGXFSZ):
                _signal.signal(signum, _signal.SIG_DFL)
            _drop_capabilities()
            os.execvp(plan["argv"][0], plan["argv"])
        except OSError as err:
            os.write(exec_failure, f"{err.errno or errno.EIO} {err.strerror}".encode())
        finally:
            os._exit(127)
    os.close(exec_failure)
    with os.fdopen(exec_failed, "rb") as failure:
        said = failure.read().decode()
    if said:
        os.waitpid(pid, 0)
        number, _, text = said.partition(" ")
        raise OSError(int(number), text)
    return pid


def wait(command: int) -> int:
    """The command's exit status (128+N for signal N), reaping every orphan meanwhile."""
    while True:
        pid, status = os.wait()
        if pid == command:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code


def copy_outputs(outputs: list[str], outputs_dir: int) -> None:
    """Each output file or directory that exists, to ``<outputs dir>/<its path>``, the path the
    runner reads."""
    for path in outputs:
        # normalized as the runner reads it, so a ".." cannot climb out of the outputs directory
        parts = posixpath.normpath("/" + path).strip("/").split("/")
        if not os.path.exists(path) or parts == [""]:
            continue  # no file: the runner falls back to the default, or fails the output
        directory = os.dup(outputs_dir)
        for part in parts[:-1]:
            directory = _enter(part, directory)
        _copy(path, parts[-1], directory)
        os.close(directory)


def _enter(name: str, directory: int) -> int:
    """The directory ``name`` in ``directory`` (made if missing); ``directory`` is closed."""
    try:
        os.mkdir(name, dir_fd=directory)
    except FileExistsError:
        pass
    below = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=directory)
    os.close(directory)
    return below


def _copy(path: str, name: str, directory: int) -> None:
    """A file, or a directory with all below it (an output artifact), as ``name``."""
    if os.path.isdir(path) and not os.path.islink(path):
        below = _enter(name, os.dup(directory))
        for entry in sorted(os.listdir(path)):
            _copy(os.path.join(path, entry), entry, below)
        os.close(below)
        return
    try:
        with open(path, "rb") as source:
            data = source.read()
    except OSError:
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    target = os.open(name, flags, 0o644, dir_fd=directory)
    os.write(target, data)
    os.close(target)


def main(plan_path: str, status_fd: int) -> int:
    with open(plan_path, "rb") as plan_file:
        plan = marshal.load(plan_file)
    os.set_inheritable(status_fd, False)  # the runner's, not the command's
    status = os.fdopen(status_fd, "w", buffering=1)
    outputs_dir = os.open(plan["outputsDir"], os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            build_root(plan)
        except OSError as err:
            raise SetupError(f"{err.filename}: {err.strerror}") from None
        command = start(plan)
    except SetupError as err:
        status.write(f"setup {err}\n")
        return 125
    except OSError as err:  # the command: not found, not executable
        status.write(f"error {err.errno or errno.EIO} {err.strerror}\n")
        return 127 if isinstance(err, FileNotFoundError) else 126
    status.write("started\n")
    status.close()
    code = wait(command)
    copy_outputs(plan["outputs"], outputs_dir)
    return code


if __name__ == "__main__":
    os._exit(main(sys.argv[1], int(sys.argv[2])))  # nothing of this interpreter to clean up
