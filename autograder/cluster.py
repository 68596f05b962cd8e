"""Grading on a Dask distributed cluster: one task per submission, graded exactly as at home.

``python -m autograder grade ... --scheduler tcp://HOST:8786`` hands each submission to
:class:`DaskRunner` instead of starting its grading process locally. The runner packs what
the grading process reads (the submission's notebooks and ``timestamp.txt``, the assignment's
``source/`` and released notebooks, the batch's template gradebook) into one task; a Dask
worker unpacks it into a temporary folder and runs :func:`autograder.grade.run_worker`, the
same function local grading calls, with the same sandbox, memory limit and time limits; the
task returns the job folder (autograded notebook, feedback page, the job's gradebook, logs),
which the parent unpacks where a local job would have left it. The parent then merges the
result into the course gradebook one submission at a time, as it does for local grading.

What Dask adds: a worker (a machine) that dies mid-batch loses nothing; the scheduler gives
its unfinished tasks to the other workers (up to ``distributed.scheduler.allowed-failures``
deaths of the same task, 3 by default, before the task is reported as not graded).

Every worker machine needs the course checkout and its ``.venv`` (``make setup``) at the
same version as the parent: when the batch starts, :func:`checkout_fingerprint` compares
the ``efficientnn`` and ``autograder`` sources of every worker with the parent's, and the
batch stops before grading anything if one differs, since it could grade differently (a
worker that joins later is not checked). Example::

    dask scheduler --port 8786                         # one machine
    dask worker tcp://HOST:8786 --nthreads 2           # each grading machine, from the checkout
    python -m autograder grade SUBMISSIONS --scheduler tcp://HOST:8786
"""
from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import shutil
import socket
import tarfile
import tempfile
import time
import uuid
from functools import lru_cache
from pathlib import Path

from autograder.settings import IGNORED, PACKAGE, GradingError

#: Spec entries that name files on the parent, and the name each gets in the task's bundle.
SHIPPED = {"submission_dir": "submission", "source_dir": "source", "release_dir": "release",
           "template_db": "template.db"}
#: What the grading process reads from a submission folder (see autograder.worker.collect_submission).
SUBMISSION_FILES = ("*.ipynb", "timestamp.txt")
#: Spec entries that name the job's own folder: the worker makes its own.
LOCAL = ("workdir", "result")
#: Job-folder entries not sent back: inputs the parent already has.
NOT_RETURNED = ("course/source", "course/submitted")


def checkout_fingerprint() -> str:
    """sha256 (hex) of the ``efficientnn`` and ``autograder`` sources of this checkout.

    Two machines grade alike only when these agree.

    >>> len(checkout_fingerprint())
    64
    """
    digest = hashlib.sha256()
    for package in ("efficientnn", "autograder"):
        for path in sorted((PACKAGE.parent / package).rglob("*.py")):
            digest.update(str(path.relative_to(PACKAGE.parent)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


# ---------------------------------------------------------------- bundles

def _add_folder(tar: tarfile.TarFile, folder: Path, name: str, patterns=None) -> None:
    tar.addfile(_dir_info(name))
    if patterns is not None:
        for pattern in patterns:
            for path in sorted(folder.glob(pattern)):
                # Links never get here (autograder.submissions refuses them); never follow one.
                if path.is_file() and not path.is_symlink():
                    tar.add(path, arcname=f"{name}/{path.name}", recursive=False)
        return
    ignore = shutil.ignore_patterns(*IGNORED)
    for dirpath, dirnames, filenames in os.walk(folder):
        skipped = ignore(dirpath, dirnames + filenames)
        dirnames[:] = [d for d in dirnames if d not in skipped]
        rel = Path(dirpath).relative_to(folder)
        for f in sorted(set(filenames) - skipped):
            tar.add(Path(dirpath) / f, arcname=f"{name}/{rel / f}", recursive=False)


def _dir_info(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info


def bundle(spec: dict) -> tuple[bytes, dict]:
    """(tar bytes, spec with the shipped paths made relative to the bundle) for one job.

    Raises GradingError when the spec names a parent's path this module does not know how to
    ship: the job would fail on another machine.
    """
    out = dict(spec)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for key, value in spec.items():
            if key in SHIPPED:
                if value is None or not Path(value).exists():
                    continue
                path, name = Path(value), SHIPPED[key]
                if path.is_dir():
                    _add_folder(tar, path, name, SUBMISSION_FILES if key == "submission_dir" else None)
                else:
                    tar.add(path, arcname=name)
                out[key] = name
            elif key in LOCAL:
                out.pop(key)
            elif isinstance(value, str) and os.path.isabs(value) and os.path.exists(value):
                raise GradingError(f"cannot send job entry {key}={value!r} to a Dask worker: "
                                   "autograder.cluster.SHIPPED does not say how")
    return buffer.getvalue(), out


def unpack(data: bytes, dest: Path) -> None:
    """Extract a bundle made by :func:`bundle` or :func:`pack` into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")  # no absolute paths, no links out of dest
        else:  # Python < 3.10.12 / 3.11.4
            tar.extractall(dest)


def pack(folder: Path, leave_out=NOT_RETURNED) -> bytes:
    """A job folder as tar bytes, without the ``leave_out`` subfolders."""
    buffer = io.BytesIO()
    skip = {folder / p for p in leave_out}
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for dirpath, dirnames, filenames in os.walk(folder):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if here / d not in skip)
            for d in dirnames:
                tar.addfile(_dir_info(str((here / d).relative_to(folder))))
            for f in sorted(filenames):
                if (here / f).is_file() and not (here / f).is_symlink():
                    tar.add(here / f, arcname=str((here / f).relative_to(folder)), recursive=False)
    return buffer.getvalue()


# ---------------------------------------------------------------- the task, on a worker

@lru_cache(maxsize=None)
def _sandbox_here(mode: str) -> tuple[str, str | None]:
    from autograder import sandbox
    return sandbox.probe(mode)


def grade_task(command: str, spec: dict, data: bytes, timeout_s: float) -> dict:
    """Run one grading job on this Dask worker; the task :class:`DaskRunner` submits.

    ``spec`` and ``data`` come from :func:`bundle`. Returns the job's result, exit code and
    whether it timed out (as :func:`autograder.grade.run_worker` returns them), the job folder
    packed by :func:`pack`, and where it ran.
    """
    from distributed import get_worker

    from autograder.grade import run_worker, sandbox_spec

    worker = get_worker()
    where = f"Dask worker {worker.name} ({worker.address} on {socket.gethostname()})"
    if multiprocessing.current_process().daemon:
        # Dask's nanny starts its worker as a daemonic process, and multiprocessing refuses
        # daemonic processes children (they would be left behind at a clean interpreter exit);
        # the grading processes run_worker starts are waited for, or killed, by run_worker itself.
        multiprocessing.current_process().daemon = False
    root = Path(tempfile.mkdtemp(prefix="autograder-dask-"))
    try:
        unpack(data, root / "in")
        spec = {k: (str(root / "in" / v) if k in SHIPPED and v is not None else v) for k, v in spec.items()}
        box = spec.get("sandbox")
        if box:
            mode, _ = _sandbox_here(box["mode"])
            if mode != box["mode"]:
                raise GradingError(f"{where} cannot run the '{box['mode']}' grading sandbox the batch uses "
                                   f"(it can run '{mode}')")
            # The parent's spec names the parent's paths (its Python environment, its efficientnn/):
            # the kernel here sees this machine's own.
            spec["sandbox"] = sandbox_spec(box["mode"], None, box["uid"])
        # Kernels share this machine's cores with the worker's other task slots.
        threads = max(1, (os.cpu_count() or 1) // max(1, worker.state.nthreads))
        start = time.monotonic()
        result, code, timed_out = run_worker(command, spec, root / "job", timeout_s, threads)
        return {"result": result, "code": code, "timed_out": timed_out, "files": pack(root / "job"),
                "where": where, "seconds": time.monotonic() - start}
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- the parent's side

def _not_graded(why: str) -> dict:
    """A job's result when the cluster, not the submission, failed: said plainly in the note."""
    return {"status": "crashed", "notes": [f"NOT graded: {why}; grade this submission again (0 until then)"],
            "log": why}


class DaskRunner:
    """Grading jobs sent to the Dask scheduler at ``address``; called like ``grade.run_worker``.

    Raises GradingError when no scheduler answers within ``connect_s``, it has no worker
    within ``wait_s``, or a worker's checkout differs from this one.
    """

    def __init__(self, address: str, wait_s: float = 120, connect_s: float = 20):
        from distributed import Client

        self.address = address
        try:
            self.client = Client(address, timeout=f"{connect_s}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise GradingError(f"no Dask scheduler answers at {address} ({exc}); start one with "
                               "`dask scheduler` and workers with `dask worker ADDRESS`") from None
        try:
            self.client.wait_for_workers(1, timeout=wait_s)
        except TimeoutError:
            self.close()
            raise GradingError(f"the Dask scheduler at {address} has no worker after {wait_s:.0f} s; start "
                               f"them with `dask worker {address}` on each grading machine") from None
        fingerprint = checkout_fingerprint()
        stale = sorted(w for w, f in self.client.run(checkout_fingerprint).items() if f != fingerprint)
        if stale:
            self.close()
            raise GradingError(f"Dask worker(s) {', '.join(stale)} have a different efficientnn/autograder "
                               "checkout than this machine: update them (git pull, make setup) and restart them")

    @property
    def slots(self) -> int:
        """Tasks the cluster runs at once (its workers' threads, now)."""
        return max(1, sum(self.client.nthreads().values()))

    def __call__(self, command: str, spec: dict, workdir: Path, timeout_s: float, threads: int | None = None):
        """Grade one job on the cluster; unpack its folder into ``workdir``.

        Returns (result dict or None, exit code or None, timed_out), like ``run_worker``.
        ``threads`` is ignored: each worker sizes its kernels' thread pools for its machine.
        """
        from concurrent.futures import CancelledError

        from distributed.scheduler import KilledWorker

        data, shipped = bundle(spec)
        key = f"grade-{spec.get('assignment')}-{spec.get('student')}-{uuid.uuid4().hex[:8]}"
        future = self.client.submit(grade_task, command, shipped, data, timeout_s, key=key, pure=False)
        try:
            out = future.result()
        except KilledWorker as exc:
            return _not_graded(f"every Dask worker that took it died before finishing it ({exc})"), None, False
        except CancelledError:
            return _not_graded(f"the Dask scheduler at {self.address} dropped it (restarted or gone)"), None, False
        except GradingError as exc:  # a worker that cannot grade as this batch grades
            return _not_graded(str(exc)), None, False
        finally:
            future.release()
        unpack(out["files"], workdir)
        log = workdir / "worker.log"
        before = log.read_bytes() if log.is_file() else b""
        log.write_bytes(f"graded by {out['where']} in {out['seconds']:.1f} s\n".encode() + before)
        return out["result"], out["code"], out["timed_out"]

    def close(self) -> None:
        self.client.close()
