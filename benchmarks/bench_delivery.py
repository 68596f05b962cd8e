"""Delivery: how long each step of the two channels takes for a class (default 40 students).

nbgrader's exchange (one machine, a temporary exchange folder):
  publish (with its check that release/ matches source/), the students' fetch_assignment and
  submit, collect, return (release_feedback), the students' fetch_feedback. The students'
  commands are run for a sample of them (``ENN_BENCH_DELIVERY_SAMPLE``, default 8), 4 at a
  time, each with its own nbgrader cache (home), told apart with nbgrader's ``--student``
  option instead of OS accounts (tests/test_exchange.py runs the loop with real accounts); the
  rest of the class's submissions are copies of a sampled one under their own names, laid out
  as ``nbgrader submit`` lays them out, so that collect and return handle the whole class.
LMS (Canvas naming, and Moodle's):
  import-zip of a "download all" zip of every student's notebook, export-grades to Canvas.

Grading sits between collect/import and return/export and is measured by the ``grading``
benchmark (``python -m benchmarks --only grading``); here each student gets a feedback page
copied from a real one so that return and export have their real input. Set
``ENN_BENCH_DELIVERY_N`` to change the class size. Run with ``python -m benchmarks --only delivery``.
"""
from __future__ import annotations

import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "02-base-cnn"
N_STUDENTS = int(os.environ.get("ENN_BENCH_DELIVERY_N", 40))
SAMPLE = int(os.environ.get("ENN_BENCH_DELIVERY_SAMPLE", 8))
AT_ONCE = 4


def _students(n: int) -> list[str]:
    return [f"student{i:03d}" for i in range(1, n + 1)]


def _student_call(tmp: Path, exchange: Path, student: str, *args: str) -> float:
    home = tmp / "homes" / student
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HOME=str(home), JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_CONFIG_DIR=str(home / "cfg"))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "nbgrader", *args, ASSIGNMENT, "--CourseDirectory.course_id=efficientnn",
                          f"--Exchange.root={exchange}", f"--CourseDirectory.student_id={student}"],
                         cwd=home, env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"nbgrader {args} for {student} failed:\n{out.stdout}{out.stderr}")
    return time.perf_counter() - start


def _cpu_s() -> float:
    """CPU seconds used so far by this process and its finished children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _every_student(tmp, exchange, students, *args) -> tuple[float, float, float]:
    """(wall seconds for ``students``, CPU seconds per student, mean seconds one student waits)."""
    start, cpu = time.perf_counter(), _cpu_s()
    with ThreadPoolExecutor(AT_ONCE) as pool:
        waits = list(pool.map(lambda s: _student_call(tmp, exchange, s, *args), students))
    return time.perf_counter() - start, (_cpu_s() - cpu) / len(students), sum(waits) / len(waits)


def _copy_submissions(inbound: Path, model: str, others: list[str]) -> None:
    """Submissions for ``others``: ``model``'s inbound folder under each one's name, with its own secret."""
    import secrets
    [folder] = inbound.glob(f"{model}+{ASSIGNMENT}+*")
    for student in others:
        copy = inbound / folder.name.replace(model, student, 1)
        shutil.copytree(folder, copy)
        (copy / "submission_secret.txt").write_text(secrets.token_hex(64))


def _timed(action):
    """(wall seconds, CPU seconds, result) of ``action()``."""
    start, cpu = time.perf_counter(), _cpu_s()
    result = action()
    return (time.perf_counter() - start, _cpu_s() - cpu), result


def _feedback_page() -> str:
    pages = sorted((REPO / "course" / "feedback").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.html"))
    return pages[0].read_text() if pages else f"<html><body>{ASSIGNMENT} (Score: 0.0 / 0.0)</body></html>"


def exchange_channel(tmp: Path, students: list[str]) -> list[tuple]:
    from autograder.exchange import Exchange, collect, publish, return_feedback
    ex = Exchange(REPO, tmp / "course", tmp / "exchange")
    rows = []
    seconds, _ = _timed(lambda: publish(ex, ASSIGNMENT))
    rows.append(("publish (check release/, release_assignment)", *seconds, None))
    sample = students[:SAMPLE]
    rows.append(("fetch_assignment (per student)", *_every_student(tmp, ex.folder, sample, "fetch_assignment")))
    rows.append(("submit (per student)", *_every_student(tmp, ex.folder, sample, "submit")))
    _copy_submissions(ex.inbound(), sample[0], students[SAMPLE:])
    seconds, report = _timed(lambda: collect(ex, ASSIGNMENT))
    assert len(report.students) == len(students), report.notes
    rows.append(("collect", *seconds, None))
    page = _feedback_page()
    for s in students:  # what `python -m autograder grade` leaves for each student
        folder = ex.course / "feedback" / s / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.html").write_text(page)
    seconds, report = _timed(lambda: return_feedback(ex, ASSIGNMENT))
    assert len(report.students) == len(students), report.notes
    rows.append(("return (release_feedback)", *seconds, None))
    rows.append(("fetch_feedback (per student)", *_every_student(tmp, ex.folder, sample, "fetch_feedback")))
    return rows


def lms_channel(tmp: Path, students: list[str]) -> list[tuple]:
    from autograder.gradebook import COLUMNS
    from autograder.lms import Roster, export_grades, import_zip
    notebook = (REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes()
    rows = []
    for lms, name in [("Canvas", "{s}_{i}_{j}_{a}.ipynb"), ("Moodle", "Student {s}_{i}_assignsubmission_file_/{a}.ipynb")]:
        course = tmp / f"course-{lms}"
        course.mkdir()
        zip_path = tmp / f"{lms}.zip"
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
            for i, s in enumerate(students, start=1000):
                zf.writestr(name.format(s=s, i=i, j=i + 5000, a=ASSIGNMENT), notebook)
        seconds, report = _timed(lambda: import_zip(zip_path, ASSIGNMENT, course / "submitted", [ASSIGNMENT],
                                                    Roster(), record_dir=course / "lms" / ASSIGNMENT))
        assert len(report.placed) == len(students), report.notes
        rows.append((f"import-zip ({lms})", *seconds, None))
        if lms != "Canvas":
            continue
        with open(course / "grades.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            for student in report.placed:
                writer.writerow({"assignment": ASSIGNMENT, "student_id": student, "score": 10, "max_score": 20})
                folder = course / "feedback" / student / ASSIGNMENT
                folder.mkdir(parents=True)
                (folder / f"{ASSIGNMENT}.html").write_text(_feedback_page())
        seconds, out = _timed(lambda: export_grades("canvas", ASSIGNMENT, course, course / "lms" / ASSIGNMENT))
        assert out.rows == len(students) and len(out.feedback_files) == len(students), out.notes
        rows.append(("export-grades (Canvas CSV + feedback zip)", *seconds, None))
    return rows


def main() -> dict:
    students = _students(N_STUDENTS)
    tmp = Path(tempfile.mkdtemp(prefix="enn-bench-delivery-"))
    try:
        from autograder.settings import use_local_path
        use_local_path()
        rows = exchange_channel(tmp, students) + lms_channel(tmp, students)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"{N_STUDENTS} students, 02-base-cnn; students' commands for {min(SAMPLE, N_STUDENTS)} of them, "
          f"{AT_ONCE} at a time (per-student rows: wall = wall for the sample, CPU = per student); load average {load:.1f}"
          + (" (busy machine: times are inflated)" if load > (os.cpu_count() or 1) else ""))
    print(f"{'step':48} {'wall, s':>8} {'CPU, s':>7} {'one student waits, s':>21}")
    for step, seconds, cpu, wait in rows:
        print(f"{step:48} {seconds:8.1f} {cpu:7.1f} {'' if wait is None else f'{wait:.1f}':>21}")
    cores = os.cpu_count() or 1
    for step, _, cpu, wait in rows:
        if wait is not None:
            print(f"  {step}: the whole class on this {cores}-core server, all at once: about "
                  f"{N_STUDENTS * cpu / cores:.0f} s of CPU")
    print("CPU seconds do not depend on what else the machine runs; wall seconds do.")
    return {"students": N_STUDENTS, "load_average": load,
            "steps": {step: {"seconds": seconds, "cpu_s": cpu, "per_student_wait_s": wait}
                      for step, seconds, cpu, wait in rows}}


if __name__ == "__main__":
    main()
