"""Real servers for tests and benchmarks: a PostgreSQL server and a Dask cluster on 127.0.0.1.

Nothing here installs anything: CI (``.ci/run``) installs Debian's ``postgresql``; ``dask`` and
``distributed`` come with the project's dependencies. Both start as separate processes, the way
they run for a course: the PostgreSQL server from a fresh ``initdb`` in a temporary folder (as
the ``postgres`` user when we are root, since the server refuses to run as root), and Dask as
one ``dask scheduler`` and one ``dask worker`` process per "machine".
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]


def started_in_ci() -> bool:
    """Whether the run was started with CI=true (recorded by tests/conftest.py)."""
    if "ENN_STARTED_IN_CI" in os.environ:
        return os.environ["ENN_STARTED_IN_CI"] == "1"
    return os.environ.get("CI", "").lower() == "true"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before it listened on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout_s:.0f} s")



def wait_for_http(url: str, proc: subprocess.Popen, what: str, log_tail, timeout_s: float = 60,
                  poll_s: float = 0.25, grace_s: float = 10) -> None:
    """Wait until ``url`` answers HTTP 200; raise if ``proc`` exits, or stop it and raise after ``timeout_s``.

    ``log_tail()`` returns the end of the server's log, quoted in the error; ``grace_s`` is
    :func:`stop_process`'s.
    """
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}:\n{log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            stop_process(proc, grace_s)
            raise RuntimeError(f"{what} did not answer within {timeout_s} s:\n{log_tail()}")
        time.sleep(poll_s)


def stop_process(proc: subprocess.Popen, grace_s: float = 10) -> None:
    """Stop one process by its PID: terminate, wait ``grace_s`` seconds, then kill."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace_s)


# ---------------------------------------------------------------- PostgreSQL

def postgres_bindir() -> Path | None:
    """Folder of Debian's PostgreSQL server programs (newest version), or None if not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Postgres:
    """A running server: ``url(database)`` gives the SQLAlchemy URL nbgrader's ``--db`` takes."""

    def __init__(self, folder: Path, port: int, user: str = "grader"):
        self.folder, self.port, self.user = folder, port, user

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database; return its URL."""
        import psycopg

        # autocommit: CREATE DATABASE cannot run inside a transaction.
        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def postgres_server():
    """Start a throwaway PostgreSQL server on 127.0.0.1 (trust auth, user ``grader``); stop it after."""
    bindir = postgres_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL's server programs (initdb, pg_ctl) are not installed: "
                                "`apt-get install postgresql` (CI's .ci/run does)")
    # Not under pytest's tmp_path: its parents are mode 0700, which the postgres user cannot enter.
    folder = Path(tempfile.mkdtemp(prefix="enn-postgres-"))
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    data = folder / "data"
    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "grader",
                    "-E", "UTF8"], check=True, capture_output=True, env=env, cwd=folder)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "server.log"),
                    "-w", "start"], check=True, capture_output=True, env=env, cwd=folder)
    try:
        wait_for_port(port, None, "postgres")
        yield Postgres(folder, port)
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, env=env, cwd=folder)
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- Dask

class DaskCluster:
    """A scheduler and worker processes; ``workers`` maps a worker's name to its process."""

    def __init__(self, address: str, scheduler: subprocess.Popen, workers: dict, logs: Path):
        self.address, self.scheduler, self.workers, self.logs = address, scheduler, workers, logs

    def kill_worker(self, name: str) -> list[int]:
        """Kill a worker "machine": its nanny, its worker process and everything they started.

        Returns the pids killed.
        """
        import psutil

        top = psutil.Process(self.workers[name].pid)
        tree = [top, *top.children(recursive=True)]
        for proc in tree:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(tree, timeout=10)
        return [p.pid for p in tree]


def _stop(proc: subprocess.Popen) -> None:
    import psutil

    try:
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for p in tree:
        try:
            p.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(tree, timeout=10)
    for p in alive:
        p.kill()


@contextmanager
def dask_cluster(n_workers: int = 2, threads: int = 1, env: dict | None = None):
    """``dask scheduler`` and ``n_workers`` separate ``dask worker`` processes on 127.0.0.1.

    Each worker runs ``threads`` tasks at once and is named ``w0``, ``w1``, ...
    """
    from distributed import Client

    logs = Path(tempfile.mkdtemp(prefix="enn-dask-"))
    env = dict(env or os.environ)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    # Workers import the autograder of this checkout, as a grading machine imports its own.
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    try:
        scheduler = subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                      "--no-dashboard"], stdout=open(logs / "scheduler.log", "wb"),
                                     stderr=subprocess.STDOUT, env=env, cwd=logs, start_new_session=True)
        procs.append(scheduler)
        wait_for_port(port, scheduler, "dask scheduler")
        workers = {}
        for i in range(n_workers):
            name = f"w{i}"
            workers[name] = subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--name", name, "--nthreads", str(threads),
                 "--host", "127.0.0.1", "--no-dashboard", "--local-directory", str(logs / name)],
                stdout=open(logs / f"{name}.log", "wb"), stderr=subprocess.STDOUT, env=env, cwd=logs,
                start_new_session=True)
            procs.append(workers[name])
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(n_workers, timeout=120)
        yield DaskCluster(address, scheduler, workers, logs)
    finally:
        for proc in reversed(procs):
            _stop(proc)
        shutil.rmtree(logs, ignore_errors=True)
