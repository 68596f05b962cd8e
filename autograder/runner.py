"""Running grading jobs: each in its own worker process, several at once, results as they finish.

:func:`run_local` takes a list of :class:`autograder.job.GradingJob` and yields one
:class:`autograder.job.Result` per job, in the order they finish, running ``workers`` at once on
this machine. Each job is :func:`run_job`: a ``python -m autograder.worker autograde`` process
with a wall-clock limit; on timeout or exit every process of the job is killed, and a job whose
worker died still yields a result (``timeout`` or ``crashed``), so a runner never loses a job.
Another runner (say, one that sends jobs to other machines) yields the same results for the
same jobs.

:func:`run_worker` is the process helper under both, also used to run nbgrader's
generate_assignment (:mod:`autograder.release`, :func:`autograder.grade.prepare`). Its processes
are forked from a *fork server* (:mod:`multiprocessing`'s ``forkserver``) that has imported
nbgrader, nbconvert, jupyter_client and efficientnn once: each job is still a fresh process of
its own, with its own limits, but does not spend seconds importing them again (the largest
cost a job had over plain nbgrader, which imports them once per batch).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Iterable, Iterator

from autograder.job import GradingJob, Result
from autograder.settings import subprocess_env

#: Environment variable marking every process of one job (the worker, its kernel, strays).
JOB_MARK = "AUTOGRADER_JOB"


def _job_processes(mark: str):
    import psutil
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get(JOB_MARK) == mark:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def kill_job(mark: str) -> None:
    """Kill every process that carries this job's mark (the worker, its kernel, strays)."""
    import psutil
    procs = _job_processes(mark)
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)


#: What every worker imports, imported once by the fork server (the list is in that module).
PRELOAD = ["autograder.preload"]
_server = {"context": None}
_server_lock = threading.Lock()


def _fork_server():
    with _server_lock:
        if _server["context"] is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _start_without_our_output(context)
            _server["context"] = context
        return _server["context"]


def warm_up() -> None:
    """Start the fork server now, without waiting for it.

    Its imports take about 2 s of one core; started when a batch begins, they run while the
    parent reads the submissions and restores the template, instead of delaying the first jobs.
    """
    _fork_server()


def _start_without_our_output(context) -> None:
    """Start the fork server with /dev/null for its stdout and stderr.

    It outlives this process by the seconds its interpreter takes to shut down; holding this
    process's output, it would keep a caller that reads that output (a pipe) waiting as long.
    """
    from multiprocessing import forkserver

    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        forkserver.ensure_running()
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _worker_process(command: str, spec_path: str, workdir: str, env: dict) -> None:
    """The body of a worker process, forked from the fork server: a session, environment, output
    and folder of its own, then ``autograder.worker``'s main."""
    os.setsid()
    os.environ.clear()
    os.environ.update(env)
    log = os.open(os.path.join(workdir, "worker.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.chdir(workdir)
    from autograder import worker
    try:
        code = worker.main([command, spec_path])
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    os._exit(code)


def run_worker(command: str, spec_path: Path, workdir: Path, timeout_s: float, threads: int | None = None):
    """Run ``autograder.worker``'s ``COMMAND SPEC`` in its own process in ``workdir``; return (exit code
    or None, timed_out).

    The worker's output goes to ``workdir/worker.log``. Any process the job leaves behind (a
    kernel that outlived its worker) is killed.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    mark = uuid.uuid4().hex
    env = subprocess_env(threads)
    env[JOB_MARK] = mark
    proc = _fork_server().Process(target=_worker_process, args=(command, str(spec_path), str(workdir), env),
                                  daemon=False)
    proc.start()
    proc.join(timeout_s)
    timed_out = proc.is_alive()
    if timed_out:
        _kill_session(proc.pid)
        kill_job(mark)
        proc.join()
    code = proc.exitcode
    _kill_session(proc.pid)
    if timed_out or code != 0:
        kill_job(mark)  # (a clean exit leaves nothing: the sandbox's namespaces end with the kernel)
    return (None if timed_out else code), timed_out


def _kill_session(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_generate(spec: dict, workdir: Path, timeout_s: float = 600):
    """nbgrader generate_assignment in a worker (see ``autograder.worker.generate``); returns its result or None."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec = dict(spec, result=str(workdir / "result.json"))
    (workdir / "spec.json").write_text(json.dumps(spec, indent=1))
    code, timed_out = run_worker("generate", workdir / "spec.json", workdir, timeout_s)
    path = workdir / "result.json"
    return json.loads(path.read_text()) if path.is_file() and not timed_out else None


def run_job(job: GradingJob, timeout_s: float, threads: int | None = None) -> Result:
    """Grade one job in its own worker process; always returns a :class:`Result`."""
    workdir = Path(job.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    job.write(workdir / "job.json")
    code, timed_out = run_worker("autograde", workdir / "job.json", workdir, timeout_s, threads)
    if timed_out:
        return Result("timeout", [f"grading stopped after {timeout_s:g} s, the time limit for a whole "
                                  "submission: scored 0"])
    if not job.result_path.is_file():
        return Result("crashed", [f"the grading process died (exit code {code}, e.g. killed at the "
                                  f"{job.memory_mb} MB memory limit): scored 0"])
    return Result.read(job.result_path)


def run_local(jobs: Iterable[GradingJob], workers: int, timeout_s: float,
              threads: int | None = None) -> Iterator[tuple[GradingJob, Result, float]]:
    """Run ``jobs`` ``workers`` at a time on this machine; yield (job, result, seconds) as each finishes."""
    def timed(job):
        start = time.monotonic()
        try:
            result = run_job(job, timeout_s, threads)
        except Exception as exc:  # the runner's own failure must not lose the job
            result = Result("crashed", [f"grader error ({type(exc).__name__}): scored 0"], log=repr(exc))
        return result, time.monotonic() - start

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(timed, job): job for job in jobs}
        for future in as_completed(futures):
            result, seconds = future.result()
            yield futures[future], result, seconds
