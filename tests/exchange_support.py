"""Helpers for the exchange and JupyterHub tests: real student accounts and their environment.

nbgrader's exchange knows a student by the OS account that runs nbgrader, so these tests
create accounts (``useradd``, as root) and run the students' commands with ``runuser``.
Each test folder lives in a world-traversable folder under /tmp: the students must reach
their own homes and the exchange, which pytest's private tmp folders (mode 0700) forbid.
"""
from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def started_in_ci() -> bool:
    return os.environ.get("ENN_STARTED_IN_CI") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip outside CI; in CI (CI=true) fail, so a missing tool cannot pass silently."""
    if started_in_ci():
        pytest.fail(f"{reason}; CI=true, so this fails instead of skipping")
    pytest.skip(reason)


def require_root() -> None:
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser"):
        skip_or_fail("the exchange tests create student accounts: they need root, useradd and runuser")


def _reachable_by_others(path: Path) -> bool:
    """Whether an account other than the owner can run ``path`` (every folder above it searchable)."""
    real = Path(os.path.realpath(path))
    if not real.stat().st_mode & 0o001:
        return False
    return all(parent.stat().st_mode & 0o001 for parent in real.parents)


def student_python() -> tuple[str, dict[str, str]]:
    """An interpreter a student account may run, with this project's packages, and its env additions.

    Normally this venv's own python. When the venv was made from an interpreter inside a
    private folder (pyenv under /root), the system python of the same version is used with
    the venv's site-packages on PYTHONPATH and its Jupyter folders on JUPYTER_PATH and
    JUPYTER_CONFIG_PATH (Jupyter looks for them under ``sys.prefix``, which is then /usr).
    """
    if _reachable_by_others(Path(sys.executable)):
        return sys.executable, {}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if system is None or not _reachable_by_others(Path(system)):
        skip_or_fail(f"no {version} a student account may run (the venv's is under a private folder)")
    return system, {"PYTHONPATH": os.pathsep.join([sysconfig.get_paths()["purelib"], str(REPO)]),
                    "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),
                    "JUPYTER_CONFIG_PATH": str(Path(sys.prefix) / "etc" / "jupyter")}


@contextmanager
def reachable_checkout():
    """Let student accounts reach this checkout and its venv while the block runs.

    Folders above them that others may not search (a clone under /root, mode 0700) get the
    search bit (x, not r: nothing can be listed) for the duration, and their modes back after.
    """
    changed = []
    try:
        for path in {REPO.resolve(), Path(sys.prefix).resolve()}:
            for folder in [*reversed(path.parents), path]:
                mode = folder.stat().st_mode
                if not mode & 0o001:
                    folder.chmod(stat.S_IMODE(mode) | 0o001)
                    changed.append((folder, stat.S_IMODE(mode)))
        yield
    finally:
        for folder, mode in reversed(changed):
            folder.chmod(mode)


def shared_folder(prefix: str) -> Path:
    """A fresh folder under /tmp that every account may traverse (mode 0755)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


class Account:
    """A real OS account with its own home folder, for one student."""

    def __init__(self, name: str, home: Path, password: str | None = None):
        self.name, self.home = name, home
        if _exists(name):  # left by a test that was killed: its processes first, then the account
            self.uid = pwd.getpwnam(name).pw_uid
            self.remove()
        subprocess.run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh", name],
                       check=True, capture_output=True)
        if password is not None:
            subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True, capture_output=True)
        home.mkdir(parents=True, exist_ok=True)
        entry = pwd.getpwnam(name)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        for path in [home, *home.rglob("*")]:
            os.chown(path, self.uid, self.gid)
        home.chmod(0o700)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """A clean environment for this student: everything Jupyter writes lands in their home."""
        python, py_env = student_python()
        h = self.home
        env = {"HOME": str(h), "USER": self.name, "LOGNAME": self.name, "LANG": "C.UTF-8",
               "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
               "JUPYTER_CONFIG_DIR": str(h / ".jupyter"), "JUPYTER_DATA_DIR": str(h / ".local/share/jupyter"),
               "JUPYTER_RUNTIME_DIR": str(h / ".local/share/jupyter/runtime"), "IPYTHONDIR": str(h / ".ipython"),
               "JUPYTER_PLATFORM_DIRS": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(h / ".matplotlib"),
               "CI": "true", **py_env}
        env.update(extra or {})
        return env

    def write(self, relative: str, text: str) -> Path:
        path = self.home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        for p in [path, *path.relative_to(self.home).parents]:
            os.chown(self.home / p, self.uid, self.gid)
        return path

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run ``args`` as this student (``runuser``), in their home unless told otherwise."""
        return subprocess.run(["runuser", "-u", self.name, "--", "env", "-i",
                               *[f"{k}={v}" for k, v in self.env().items()], *args],
                              cwd=cwd or self.home, capture_output=True, text=True, timeout=timeout)

    def nbgrader(self, *args: str) -> subprocess.CompletedProcess:
        python, _ = student_python()
        return self.run(python, "-m", "nbgrader", *args)

    def stop_processes(self) -> None:
        """End every process this account runs (e.g. a server its spawner left behind), by PID."""
        import psutil
        mine = [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == self.uid]
        for proc in mine:
            try:
                proc.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(mine, timeout=10)
        for proc in alive:
            try:
                proc.kill()
            except psutil.Error:
                pass

    def remove(self) -> None:
        self.stop_processes()
        subprocess.run(["userdel", self.name], check=False, capture_output=True)


def feedback_score(page: str) -> tuple[float, float]:
    """(score, max score) of the whole notebook, as nbgrader's feedback page shows it first."""
    import re
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", "", page, flags=re.S))
    m = re.search(r"\(Score:\s*([\d.]+)\s*/\s*([\d.]+)\)", text)
    assert m, f"no score on the feedback page: {' '.join(text.split())[:500]}"
    return float(m[1]), float(m[2])


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
