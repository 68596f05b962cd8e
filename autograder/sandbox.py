"""Run a grading kernel where it cannot reach the solutions, the gradebook or other students.

nbgrader runs a student's notebook with the rights of whoever grades. Without more, that code
can open ``source/`` (the solutions), read or rewrite the gradebook, overwrite another
student's submission, or leave a process behind that edits grades after its kernel has gone.
Here each kernel is started through :func:`command` (by
``autograder.preprocessors.SandboxedKernelManager``), which
wraps the kernel's command line in ``unshare`` and this module's :func:`main`:

- a new **mount namespace** where the course repository is replaced by an empty folder except
  for the package the notebooks import (``efficientnn/``, read-only) and the Python
  environment; the course folder, the submissions, the grader's temporary folders, ``/tmp``
  and the Jupyter runtime folder (other kernels' connection keys) are empty too;
- a new **PID namespace**: the kernel sees only its own processes, and all of them die with it;
- an **unprivileged user** (root mode): a uid of its own, no capabilities, ``no_new_privs``,
  limits on processes and file size; its only writable places are a private ``/tmp`` and a
  private copy of the notebook's folder, both in memory and gone when it exits.

Modes: ``root`` (the grader runs as root: all of the above), ``user`` (an unprivileged user
namespace: the same namespaces, but the kernel keeps the grader's own uid), ``off`` (no
sandbox). ``auto`` picks the first of root and user that works on this machine (:func:`probe`).

The sandbox stops a kernel from *reading or writing* grading state. It does not stop network
access, CPU hogging within the time limits, or a student's code from lying about its own
results: that is the clean re-check's job (``autograder.audit``).
"""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

MODES = ("auto", "root", "user", "off")
#: Environment variable holding the path of the sandbox spec (set by the grading worker).
SPEC_VARIABLE = "AUTOGRADER_SANDBOX"
#: Where a sandboxed kernel lives inside its namespace.
HOME = "/tmp/.grading-home"
LEDGER = "/tmp/.grading-ledger.jsonl"
#: First uid given to sandboxed kernels (root mode); the job number is added.
UID_BASE = 200_000

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC = 32, 4096, 16384
_MS_NOATIME, _MS_NODIRATIME, _MS_RELATIME = 1024, 2048, 1 << 21
_PR_SET_NO_NEW_PRIVS, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP = 38, 4, 24


def unshare_flags(mode: str) -> list[str]:
    """The ``unshare`` options of a mode ("root" or "user")."""
    flags = ["--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private"]
    return (["--user", "--map-root-user"] if mode == "user" else []) + flags


def command(spec_path: str, mode: str, connection_file: str, kernel_cmd: list[str]) -> list[str]:
    """The command line that starts ``kernel_cmd`` inside the sandbox described by ``spec_path``."""
    unshare = shutil.which("unshare") or "unshare"
    return [unshare, *unshare_flags(mode), sys.executable, "-m", "autograder.sandbox", spec_path,
            connection_file, "--", *kernel_cmd]


def probe(mode: str = "auto") -> tuple[str, str | None]:
    """The sandbox mode that works here and a warning when it is weaker than root mode.

    ``auto`` tries root, then user, then falls back to off. Each try starts a throwaway
    sandboxed process that mounts a tmpfs (and, for root, drops to an unprivileged uid).
    """
    if mode == "off":
        return "off", ("the grading kernels are NOT sandboxed (--sandbox off): a submission can read "
                       "source/ and the gradebook and write to other students' folders")
    tries = ["root", "user"] if mode == "auto" else [mode]
    for candidate in tries:
        if candidate == "root" and os.geteuid() != 0:
            continue
        if shutil.which("unshare") is None:
            break
        cmd = ["unshare", *unshare_flags(candidate), sys.executable, "-m", "autograder.sandbox", "--probe", candidate]
        try:
            ok = subprocess.run(cmd, capture_output=True, timeout=60, env=_probe_env()).returncode == 0
        except (OSError, subprocess.SubprocessError):
            ok = False
        if ok:
            if candidate == "user":
                return "user", ("the grading kernels run in a user namespace as the grader's own user (not "
                                "root): source/, the gradebook and other students' folders are hidden, but "
                                "files elsewhere that this user may write stay writable")
            return "root", None
    if mode != "auto":
        raise RuntimeError(f"sandbox mode {mode!r} does not work on this machine "
                           "(root mode needs root; user mode needs unprivileged user namespaces)")
    return "off", ("no sandbox available (not root, and `unshare --user` failed): the grading kernels are "
                   "NOT isolated; a submission can read source/ and the gradebook and write to other "
                   "students' folders. Grade as root, or enable unprivileged user namespaces.")


def _probe_env() -> dict:
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


# --------------------------------------------------------------------------- inside the namespaces
_libc = None


def _mount(source, target, fstype, flags, data=None) -> None:
    global _libc
    _libc = _libc or ctypes.CDLL(None, use_errno=True)
    enc = (lambda s: s.encode() if s is not None else None)
    if _libc.mount(enc(source), enc(str(target)), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _prctl(option, value) -> None:
    global _libc
    _libc = _libc or ctypes.CDLL(None, use_errno=True)
    _libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0)


def _under(path: str, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _remount_readonly(path: str) -> None:
    """Make a bind mount read-only, keeping the flags a user namespace may not drop."""
    st = os.statvfs(path).f_flag
    keep = st & (_MS_NOSUID | _MS_NODEV | _MS_NOEXEC | _MS_NOATIME | _MS_NODIRATIME)
    if st & 4096:  # ST_RELATIME
        keep |= _MS_RELATIME
    _mount(None, path, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | keep)


def _snapshot(folder: str, limit: int) -> list[tuple[str, bytes | None]]:
    """(relative path, bytes or None for a folder) of everything under ``folder``, symlinks skipped."""
    out, total = [], 0
    for root, dirs, files in os.walk(folder):
        rel = os.path.relpath(root, folder)
        if rel != ".":
            out.append((rel, None))
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            size = os.path.getsize(path)
            if total + size > limit:
                continue
            total += size
            with open(path, "rb") as fh:
                out.append((os.path.normpath(os.path.join(rel, name)), fh.read()))
    return out


def _matplotlib_cache() -> list[tuple[str, bytes]]:
    """The grader's matplotlib font cache, so each kernel need not rebuild it (0.3 s)."""
    places = [os.environ.get("MPLCONFIGDIR"), os.path.expanduser("~/.cache/matplotlib"),
              os.path.expanduser("~/.matplotlib")]
    for place in filter(None, places):
        found = sorted(Path(place).glob("fontlist-*.json")) if os.path.isdir(place) else []
        if found:
            return [(p.name, p.read_bytes()) for p in found[:2]]
    return []


def _own(path: str, uid, gid) -> None:
    if uid is not None:
        os.chown(path, uid, gid)


def enter(spec: dict, connection_file: str, kernel_cmd: list[str]) -> int:
    """Set up the namespaces' view of the machine, then run the kernel as an unprivileged child.

    Runs as PID 1 of the new PID namespace: it waits for the kernel and exits with its status,
    which ends every other process of the namespace too.
    """
    mode = spec["mode"]
    uid, gid = (spec["uid"], spec["uid"]) if mode == "root" else (None, None)
    cwd = os.getcwd()
    tmp_mb = int(spec.get("tmp_mb", 256))

    # 1. Read what the kernel needs from places about to be hidden.
    connection = Path(connection_file).read_bytes()
    snapshot = _snapshot(cwd, tmp_mb * 2**20 // 2)
    fonts = _matplotlib_cache()
    ledger_fd = os.open(spec["ledger"], os.O_RDWR | os.O_APPEND) if spec.get("ledger") else None
    keep = {}
    for root, names in spec.get("keep", {}).items():
        for name in names:
            path = os.path.join(root, name)
            if os.path.exists(path) and not os.path.islink(path):
                keep[os.path.normpath(path)] = (os.open(path, os.O_PATH), os.path.isdir(path))

    # 2. Hide: an empty tmpfs over each folder, outermost first. A folder the unprivileged user
    # could not pass through on the way to a kept one (say /root, mode 700, above a pyenv
    # Python) is replaced too, so the kept folder can be reached.
    hidden = [os.path.normpath(p) for p in spec["hide"] + ["/tmp"]]
    for path in keep if uid is not None else ():
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):
            above = "/" + "/".join(parts[:depth])
            if not os.stat(above).st_mode & 0o001:
                hidden.append(above)
                break
    covered = []
    hide = sorted(set(hidden), key=lambda p: (p.count("/"), p))
    for path in hide:
        if _under(path, covered) or not os.path.isdir(path) or os.path.islink(path):
            continue
        writable = path in ("/tmp", "/var/tmp", "/dev/shm")
        size = f"{tmp_mb}m" if path == "/tmp" else "64m" if writable else "1m"
        _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV,
               f"size={size},mode={'1777' if writable else '755'}")
        covered.append(path)

    # 3. Put back, read-only, what the notebooks need from the hidden places.
    for path, (fd, is_dir) in keep.items():
        if _under(path, covered):
            if is_dir:
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "a").close()
            _mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)
        else:
            _mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)  # bind onto itself, to make it read-only
        _remount_readonly(path)
        os.close(fd)

    # 4. The kernel's own writable places, in memory: its folder, a home, the ledger.
    os.makedirs(cwd, exist_ok=True)
    owner = f",uid={uid},gid={gid}" if uid is not None else ""
    _mount("tmpfs", cwd, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={tmp_mb}m,mode=700{owner}")
    for rel, data in snapshot:
        path = os.path.join(cwd, rel)
        if data is None:
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
        _own(path, uid, gid)
    for sub in ("", "ipython", "jupyter", "matplotlib", "cache"):
        os.makedirs(os.path.join(HOME, sub), exist_ok=True)
        _own(os.path.join(HOME, sub), uid, gid)
    for name, data in fonts:
        Path(HOME, "matplotlib", name).write_bytes(data)
        _own(os.path.join(HOME, "matplotlib", name), uid, gid)
    inner_connection = os.path.join(HOME, "kernel.json")
    with open(os.open(inner_connection, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as fh:
        fh.write(connection)
    _own(inner_connection, uid, gid)
    env = dict(os.environ)
    env.pop(SPEC_VARIABLE, None)
    # ipykernel exits when its parent pid changes; in here the parent is this process, pid 1.
    # The kernel still dies with the grader: the namespace ends when the launcher does.
    env.pop("JPY_PARENT_PID", None)
    env.update(HOME=HOME, IPYTHONDIR=f"{HOME}/ipython", MPLCONFIGDIR=f"{HOME}/matplotlib",
               XDG_CACHE_HOME=f"{HOME}/cache", JUPYTER_CONFIG_DIR=f"{HOME}/jupyter",
               JUPYTER_DATA_DIR=f"{HOME}/jupyter", JUPYTER_RUNTIME_DIR=f"{HOME}/jupyter", TMPDIR="/tmp",
               PYTHONDONTWRITEBYTECODE="1")
    if ledger_fd is not None:
        open(LEDGER, "a").close()
        _mount(f"/proc/self/fd/{ledger_fd}", LEDGER, None, _MS_BIND)
        if uid is not None:
            os.fchown(ledger_fd, uid, gid)
        os.close(ledger_fd)
        env["EFFICIENTNN_LEDGER"] = LEDGER
    argv = [inner_connection if a == connection_file else a for a in kernel_cmd]

    # 5. Become the unprivileged user, start the kernel, and wait for it as the namespace's init.
    import resource

    # No capability survives the exec: in user mode the kernel is "root" of its user namespace,
    # which could otherwise unmount the folders hiding the course.
    for cap in range(64):
        _prctl(_PR_CAPBSET_DROP, cap)
    if uid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    _prctl(_PR_SET_DUMPABLE, 0)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)
    pid = os.fork()
    if pid == 0:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_DFL)
        file_limit = int(spec.get("file_mb", 256)) * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))
        if uid is not None:
            nproc = int(spec.get("nproc", 256))
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        try:
            os.chdir(cwd)
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            print(f"autograder.sandbox: could not start the kernel {argv[0]}: {exc}", file=sys.stderr, flush=True)
        finally:
            os._exit(127)
    while True:
        try:
            done, status = os.wait()
        except ChildProcessError:
            return 1
        if done == pid:
            return os.waitstatus_to_exitcode(status) & 0xFF if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _probe(mode: str) -> int:
    """Inside a throwaway sandbox: can we mount, and (root mode) drop to an unprivileged uid?"""
    _mount("tmpfs", "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=755")
    if mode == "root":
        os.setgroups([])
        os.setgid(UID_BASE)
        os.setuid(UID_BASE)
        try:
            open("/tmp/denied", "w").close()
        except PermissionError:
            return 0
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--probe"]:
        try:
            return _probe(argv[1])
        except OSError:
            return 1
    if len(argv) < 4 or argv[2] != "--":
        print("usage: python -m autograder.sandbox SPEC.json CONNECTION_FILE -- KERNEL_COMMAND...", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text())
    try:
        return enter(spec, argv[1], argv[3:])
    except OSError as exc:
        print(f"autograder.sandbox: could not set up the sandbox: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
