"""Run a grading kernel in a bubblewrap sandbox: no course, no gradebook, no network, no way out.

nbgrader runs a student's notebook with the rights of whoever grades. Without more, that code
can open ``source/`` (the solutions), read or rewrite the gradebook, overwrite another
student's submission, talk to the network, or leave a process behind that edits grades after
its kernel has gone. Each grading kernel is therefore started by
``autograder.preprocessors.SandboxedKernelManager`` through :func:`command`, which wraps the
kernel's command line in `bubblewrap <https://github.com/containers/bubblewrap>`_ (``bwrap``,
Debian's ``bubblewrap``, the sandbox Flatpak uses). Inside:

- a file system of read-only binds only: ``/usr`` (and ``/etc``'s few files a process needs),
  the Python environment and the package the notebooks import (``efficientnn/``); the course,
  the submissions, the gradebooks, the grader's home and temporary folders do not exist;
- writable places of its own: a private ``/tmp`` (in memory, capped), a private copy of the
  notebook's folder, and the ledger file its checkers append to (:mod:`efficientnn.quiz.ledger`);
- new PID, IPC, UTS, cgroup and **network** namespaces: the kernel sees only its own processes
  (all of which die with it, ``--die-with-parent``) and has no network at all, not even the
  host's loopback. It talks to the grader over Unix sockets in a folder bound for that
  (Jupyter's ``ipc`` transport);
- in ``root`` mode a uid of its own (``UID_BASE`` + the job's number), no capabilities (the
  bounding set emptied), ``no_new_privs``; limits on processes, file size and CPU seconds come
  from the grading worker (RLIMIT, inherited), and on memory from its address-space cap.

Modes: ``root`` (the grader runs as root: all of the above), ``user`` (bwrap unprivileged, in a
user namespace: the same file system and namespaces, but the kernel keeps the grader's uid and
there is no per-kernel process limit), ``off`` (no sandbox). ``auto`` picks the first of root
and user that works here (:func:`probe`).

The sandbox stops a kernel from reading or writing grading state and from reaching the network.
It does not stop CPU hogging within the time limits, or a student's code from lying about its
own results: that is the clean re-check's job (``autograder.audit``).
"""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

MODES = ("auto", "root", "user", "off")
#: First uid given to sandboxed kernels (root mode); the job's number is added.
UID_BASE = 200_000
#: Where a sandboxed kernel's home and ledger are, inside the sandbox.
HOME = "/tmp/home"
LEDGER = "/tmp/.grading-ledger.jsonl"
#: Files of /etc a Python process needs (the dynamic loader's cache, time zone, fonts).
ETC = ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group")
#: Variables the kernel keeps from the grader's environment (everything else is cleared).
KEPT_ENV = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "LC_CTYPE", "MPLBACKEND", "CI", "OPENBLAS_CORETYPE",
            "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PYDEVD_DISABLE_FILE_VALIDATION",
            "AUTOGRADER_JOB")


@dataclass(frozen=True)
class SandboxSpec:
    """How one job's kernels are sandboxed.

    mode : "root" or "user" (see the module's docstring)
    uid : the kernel's uid in root mode
    workdir : a folder private to the job, outside the sandbox, where the kernel's sockets,
        home and copy of its folder are made
    read_only : host folders visible inside, read-only, at the same path
    ledger : host path of the ledger file the kernel's checkers append to ("" for none)
    tmp_mb : size of the kernel's private /tmp
    """
    mode: str
    uid: int
    workdir: str
    read_only: tuple[str, ...] = ()
    ledger: str = ""
    tmp_mb: int = 256

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SandboxSpec":
        return cls(**dict(data, read_only=tuple(data.get("read_only", ()))))

    @property
    def socket_prefix(self) -> str:
        """The ``ip`` of Jupyter's ipc transport: sockets are ``<prefix>-<port>`` files."""
        return str(Path(self.workdir) / "ipc" / "kernel")


def python_paths() -> list[str]:
    """This interpreter's environment: the venv, the base Python, user site-packages."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, site.getusersitepackages()}
    out = set()
    for p in paths:
        if p and os.path.isdir(p):
            out |= {os.path.abspath(p), os.path.realpath(p)}
    return sorted(out)


def spec_for(mode: str, job_number: int, workdir: Path, package: Path, ledger: Path | None) -> SandboxSpec | None:
    """The sandbox of one job (None when ``mode`` is off): the Python environment and ``package`` visible."""
    if mode not in ("root", "user"):
        return None
    keep = python_paths() + sorted({str(package), os.path.realpath(package)})
    return SandboxSpec(mode=mode, uid=UID_BASE + job_number % 100_000, workdir=str(workdir),
                       read_only=tuple(keep), ledger=str(ledger or ""))


# --------------------------------------------------------------------------- the command line
def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _dirs(path: str, made: set) -> list[str]:
    """bwrap options making the folders above ``path`` world-searchable (bwrap would copy a
    parent's mode, say /root's 700 or a temporary folder's, and the kernel's uid could not pass)."""
    args = []
    for above in _ancestors(path):
        if above not in made:
            args += ["--perms", "0755", "--dir", above]
            made.add(above)
    return args


def _file_system(spec: SandboxSpec, made: set) -> list[str]:
    """bwrap options for the read-only view: /usr, a few files of /etc, the kept folders."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in ETC:
        args += ["--ro-bind-try", path, path]
    args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]  # OpenVINO reads the CPU's layout
    made |= {"/usr", "/etc", "/sys", "/sys/devices", "/sys/devices/system"}
    for path in spec.read_only:
        args += _dirs(path, made) + ["--ro-bind", path, path]
    return args + ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm"]


def _identity(spec: SandboxSpec) -> tuple[list[str], list[str]]:
    """(bwrap options, command prefix) that make the kernel unprivileged."""
    if spec.mode == "user":
        return ["--unshare-all", "--cap-drop", "ALL"], []
    # As root, bwrap's own user namespace would map the kernel's uid back to root outside, so
    # the kernel drops to its own uid with setpriv instead (bwrap keeps only what that needs).
    namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    caps = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    drop = [shutil.which("setpriv") or "/usr/bin/setpriv", "--reuid", str(spec.uid), "--regid", str(spec.uid),
            "--clear-groups", "--bounding-set", "-all", "--inh-caps", "-all", "--no-new-privs", "--"]
    return namespaces + caps, drop


def _environment(env: dict) -> list[str]:
    from efficientnn.quiz.ledger import NAMES_VARIABLE, PATH_VARIABLE
    from efficientnn.quiz.variants import GRADER_VARIABLE

    args = ["--clearenv"]
    for name in (*KEPT_ENV, NAMES_VARIABLE, GRADER_VARIABLE):
        if name in env:
            args += ["--setenv", name, env[name]]
    # ipykernel exits when its parent pid changes; inside, its parent is bwrap's init, so no
    # JPY_PARENT_PID: the kernel dies with the grader through --die-with-parent instead.
    for name, value in {"HOME": HOME, "IPYTHONDIR": f"{HOME}/ipython", "MPLCONFIGDIR": f"{HOME}/matplotlib",
                        "XDG_CACHE_HOME": f"{HOME}/cache", "JUPYTER_CONFIG_DIR": f"{HOME}/jupyter",
                        "JUPYTER_DATA_DIR": f"{HOME}/jupyter", "JUPYTER_RUNTIME_DIR": f"{HOME}/jupyter",
                        "TMPDIR": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", PATH_VARIABLE: LEDGER}.items():
        args += ["--setenv", name, value]
    return args


def command(spec: SandboxSpec, kernel_cmd: list[str], cwd: str, env: dict, connection_file: str) -> list[str]:
    """The command line that runs ``kernel_cmd`` in the sandbox, in a private copy of ``cwd``.

    Makes the job's private folders first (a fresh one per kernel start): the copy of ``cwd``,
    the kernel's home holding its connection file, the socket folder.
    """
    base = Path(spec.workdir)
    n = sum(1 for _ in base.glob("kernel-*")) if base.is_dir() else 0
    private = base / f"kernel-{n}"
    home, folder, sockets = private / "home", private / "cwd", Path(spec.socket_prefix).parent
    for sub in ("ipython", "matplotlib", "cache", "jupyter"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    shutil.copytree(cwd, folder, symlinks=True)
    shutil.copyfile(connection_file, home / "kernel.json")
    for cache in _matplotlib_cache():
        shutil.copyfile(cache, home / "matplotlib" / cache.name)
    sockets.mkdir(parents=True, exist_ok=True)
    if spec.mode == "root":
        for path in (private, sockets, *(p for p in private.rglob("*"))):
            os.lchown(path, spec.uid, spec.uid)
        if spec.ledger:
            os.chown(spec.ledger, spec.uid, spec.uid)
    options, prefix = _identity(spec)
    # The private /tmp comes first, so that kept folders under /tmp (a checkout and its .venv
    # cloned into /tmp, say) are bound on top of it instead of being hidden by it.
    made = {"/tmp"}
    args = [shutil.which("bwrap") or "bwrap", *options, "--die-with-parent", "--new-session",
            "--hostname", "grading", "--size", str(spec.tmp_mb * 2**20), "--perms", "1777", "--tmpfs", "/tmp",
            *_file_system(spec, made)]
    for source, dest in ((home, HOME), (folder, cwd), (sockets, str(sockets))):
        args += _dirs(dest, made) + ["--bind", str(source), dest]
    if spec.ledger:
        args += ["--bind", spec.ledger, LEDGER]
    inner = f"{HOME}/kernel.json"
    kernel = [inner if a == connection_file else a for a in kernel_cmd]
    return [*args, *_environment(env), "--chdir", cwd, "--", *prefix, *kernel]


def _matplotlib_cache() -> list[Path]:
    """The grader's matplotlib font list, so each kernel need not rebuild it (0.3 s)."""
    places = [os.environ.get("MPLCONFIGDIR"), os.path.expanduser("~/.cache/matplotlib"),
              os.path.expanduser("~/.matplotlib")]
    for place in filter(None, places):
        found = sorted(Path(place).glob("fontlist-*.json")) if os.path.isdir(place) else []
        if found:
            return found[:2]
    return []


# --------------------------------------------------------------------------- which mode works here
WEAKER = {
    "user": ("the grading kernels run in a user namespace as the grader's own user (not root): the course, "
             "the gradebook and the network are out of reach, but there is no per-kernel process limit"),
    "off": ("the grading kernels are NOT sandboxed (--sandbox off): a submission can read source/ and the "
            "gradebook, write to other students' folders and use the network"),
}


def probe(mode: str = "auto") -> tuple[str, str | None]:
    """The sandbox mode that works here and a warning when it is weaker than root mode.

    ``auto`` tries root, then user, then falls back to off (with a warning). Each try runs
    ``true`` in a throwaway sandbox of that mode.
    """
    if mode == "off":
        return "off", WEAKER["off"]
    tries = ["root", "user"] if mode == "auto" else [mode]
    for candidate in tries:
        if candidate == "root" and os.geteuid() != 0:
            continue
        if _works(candidate):
            return candidate, WEAKER.get(candidate)
    if mode != "auto":
        raise RuntimeError(f"sandbox mode {mode!r} does not work on this machine (it needs bubblewrap, `bwrap`; "
                           "root mode needs root, user mode unprivileged user namespaces)")
    return "off", ("no sandbox available (bubblewrap missing, or neither root nor unprivileged user namespaces): "
                   + WEAKER["off"] + ". Install Debian's bubblewrap and grade as root.")


def _works(mode: str) -> bool:
    if shutil.which("bwrap") is None:
        return False
    spec = SandboxSpec(mode=mode, uid=UID_BASE, workdir="/nonexistent", read_only=())
    options, prefix = _identity(spec)
    cmd = [shutil.which("bwrap"), *options, "--die-with-parent", *_file_system(spec, set()), "--tmpfs", "/tmp",
           "--", *prefix, "/usr/bin/true"]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
