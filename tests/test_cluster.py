"""Grading on a real Dask cluster (:mod:`autograder.cluster`).

The slow test starts a real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1
(two machines, as far as Dask can tell), grades 40 toy submissions with ``python -m autograder
grade --scheduler ...``, and kills one worker, with everything it had started, in the middle
of the batch. Every submission must still be graded exactly once, with the score and note the
toy's rules give (the same as local grading), and the ones the dead worker was grading must
have been finished by the other. The quick tests check how a job travels (what is packed,
what is refused) and that a missing scheduler is a clear error.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

import services
from autograder import cluster
from autograder.settings import GradingError
from test_autograder import EXAMPLES, TOY, expected_scores

#: Toy students that grade quickly (no time or memory limit to wait for), copied round-robin.
QUICK = ("alice", "bob", "carol", "grace", "ivan")
N_SUBMISSIONS = 40
#: Notes the toy's rules give these students when graded locally (test_autograder.EXPECTED_NOTES).
EXPECTED_NOTE = {"grace": "graded as", "ivan": "switched off error display"}


# ---------------------------------------------------------------- how a job travels

def _job_folders(tmp_path: Path) -> dict:
    sub = tmp_path / "submitted" / "alice" / "toy"
    sub.mkdir(parents=True)
    shutil.copyfile(EXAMPLES / "alice" / "toy" / "toy.ipynb", sub / "toy.ipynb")
    (sub / "timestamp.txt").write_text("2025-01-15 12:00:00")
    (sub / "efficientnn.py").write_text("# a student's stand-in for the checker\n")
    (sub / "big.bin").write_bytes(b"\0" * 1000)
    source = tmp_path / "source" / "toy"
    shutil.copytree(TOY / "source" / "toy", source)
    (source / "__pycache__").mkdir(exist_ok=True)
    (source / "__pycache__" / "toycheck.cpython-311.pyc").write_bytes(b"cache")
    template = tmp_path / "template.db"
    template.write_bytes(b"SQLite format 3\0")
    return {"student": "alice", "assignment": "toy", "notebooks": ["toy"], "submission_dir": str(sub),
            "source_dir": str(source), "release_dir": str(TOY / "release" / "toy"),
            "template_db": str(template), "timeout": 60, "sandbox": None}


def test_a_job_carries_what_its_grading_process_reads_and_no_more(tmp_path):
    spec = _job_folders(tmp_path)
    data, shipped = cluster.bundle(spec)
    dest = tmp_path / "worker"
    cluster.unpack(data, dest)
    assert {k: shipped[k] for k in cluster.SHIPPED} == cluster.SHIPPED
    assert sorted(p.name for p in (dest / "submission").iterdir()) == ["timestamp.txt", "toy.ipynb"]
    assert (dest / "submission" / "toy.ipynb").read_bytes() == Path(spec["submission_dir"], "toy.ipynb").read_bytes()
    assert sorted(p.name for p in (dest / "source").iterdir()) == ["toy.ipynb", "toycheck.py"]
    assert sorted(p.name for p in (dest / "release").iterdir()) == ["toy.ipynb", "toycheck.py"]
    assert (dest / "template.db").read_bytes() == Path(spec["template_db"]).read_bytes()
    assert {k: v for k, v in shipped.items() if k not in cluster.SHIPPED} == \
        {k: v for k, v in spec.items() if k not in cluster.SHIPPED}


def test_a_job_naming_a_folder_it_cannot_ship_is_refused(tmp_path):
    spec = dict(_job_folders(tmp_path), course_dir=str(tmp_path))
    with pytest.raises(GradingError, match="course_dir"):
        cluster.bundle(spec)


def test_a_returned_folder_cannot_write_outside_the_job(tmp_path):
    """A worker's answer that tries to climb out of the job folder is stopped."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        payload = b"overwritten"
        info = tarfile.TarInfo("../escaped.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with tarfile.open(fileobj=io.BytesIO(buffer.getvalue())) as tar:
        assert tar.getnames() == ["../escaped.txt"]  # the attack is really in the bundle
    (tmp_path / "job").mkdir()
    with pytest.raises(tarfile.TarError):
        cluster.unpack(buffer.getvalue(), tmp_path / "job")
    assert not (tmp_path / "escaped.txt").exists()


def test_a_job_folder_comes_back_without_its_inputs(tmp_path):
    job = tmp_path / "job"
    for name in ("course/autograded/alice/toy/toy.ipynb", "course/submitted/alice/toy/toy.ipynb",
                 "course/source/toy/toy.ipynb", "result.json", "gradebook.db"):
        (job / name).parent.mkdir(parents=True, exist_ok=True)
        (job / name).write_text(name)
    back = tmp_path / "back"
    cluster.unpack(cluster.pack(job), back)
    files = sorted(str(p.relative_to(back)) for p in back.rglob("*") if p.is_file())
    assert files == ["course/autograded/alice/toy/toy.ipynb", "gradebook.db", "result.json"]


def test_no_scheduler_is_a_clear_error():
    address = f"tcp://127.0.0.1:{services.free_port()}"
    with pytest.raises(GradingError, match=f"no Dask scheduler answers at {address}"):
        cluster.DaskRunner(address, connect_s=2)


# ---------------------------------------------------------------- a real cluster

@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    e = dict(os.environ)
    e.update(HOME=str(home), IPYTHONDIR=str(home / "ipython"), JUPYTER_CONFIG_DIR=str(home / "jupyter-config"),
             JUPYTER_DATA_DIR=str(home / "jupyter-data"), JUPYTER_RUNTIME_DIR=str(home / "jupyter-runtime"),
             MPLBACKEND="Agg", PATH=os.pathsep.join([str(Path(sys.executable).parent), e.get("PATH", "")]))
    return e


def _class(folder: Path, n: int) -> dict[str, str]:
    """``n`` submissions copied from the quick toy students; returns {student id: whose copy}."""
    whose = {}
    for i in range(n):
        student, original = f"s{i:02d}", QUICK[i % len(QUICK)]
        shutil.copytree(EXAMPLES / original, folder / student)
        whose[student] = original
    return whose


def _graded_by(course: Path, student: str) -> str:
    first = (course / "logs" / "toy" / f"{student}.log").read_text().split("--- worker output\n", 1)[1]
    return first.split(" (", 1)[0].removeprefix("graded by Dask worker ")


@pytest.mark.slow
def test_a_killed_worker_loses_no_grade(env, tmp_path):
    from distributed import Client

    whose = _class(tmp_path / "submitted", N_SUBMISSIONS)
    course = tmp_path / "course"
    with services.dask_cluster(n_workers=2, threads=1, env=env) as dask:
        start = time.monotonic()
        batch = subprocess.Popen([sys.executable, "-m", "autograder", "--root", str(TOY), "grade",
                                  str(tmp_path / "submitted"), "--course", str(course), "--scheduler", dask.address,
                                  "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with Client(dask.address, timeout="30s") as client:
            names = {addr: w["name"] for addr, w in client.scheduler_info()["workers"].items()}
            victim = next(addr for addr, name in names.items() if name == "w1")
            while True:  # mid-batch: some grades recorded, and w1 busy with a submission
                assert batch.poll() is None, "the batch ended before a worker could be killed"
                done = len(list((course / "logs" / "toy").glob("*.log"))) if (course / "logs").is_dir() else 0
                running = client.processing().get(victim, [])
                if done >= 6 and running:
                    break
                time.sleep(0.2)
            killed = dask.kill_worker("w1")
            interrupted = {key.split("-")[2] for key in running}
            deadline = time.monotonic() + 30
            while victim in client.scheduler_info()["workers"] and time.monotonic() < deadline:
                time.sleep(0.2)
            assert victim not in client.scheduler_info()["workers"], "the scheduler still lists the killed worker"
        stdout, stderr = batch.communicate(timeout=1800)
        wall = time.monotonic() - start
    assert batch.returncode == 0, stdout + stderr
    assert len(killed) >= 2 and interrupted <= set(whose)  # the nanny, the worker (and its grading processes)

    with open(course / "grades.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["student_id"] for r in rows) == sorted(whose)  # every grade, once
    con = sqlite3.connect(course / "gradebook.db")
    assert con.execute("SELECT count(*), count(DISTINCT student_id) FROM submitted_assignment").fetchone() == \
        (N_SUBMISSIONS, N_SUBMISSIONS)
    con.close()
    rules = expected_scores()
    notes_of = {}
    for row in rows:
        original = whose[row["student_id"]]
        assert float(row["score"]) == rules[original], row
        if original in EXPECTED_NOTE:
            assert EXPECTED_NOTE[original] in row["note"], row
        else:
            assert row["note"] == "", row
        for word in ("worker", "Dask", "NOT", "died", "crash", "grader error", "again"):
            assert word not in row["note"], row  # nothing about the dead machine in a student's note
        notes_of.setdefault(original, set()).add(row["note"])
    # Every copy of a submission has the same note, whether its worker died under it or not.
    assert all(len(notes) == 1 for notes in notes_of.values()), notes_of

    graders = {s: _graded_by(course, s) for s in whose}
    assert set(graders.values()) == {"w0", "w1"}, graders  # both machines graded before one died
    for student in interrupted:  # what w1 was grading when it died was finished by w0
        assert graders[student] == "w0", (student, graders[student])
    print(f"\n40 submissions on 2 Dask workers, one killed mid-batch: {wall:.1f} s; "
          f"re-graded after the kill: {sorted(interrupted)}")
