"""Grade a class: every submission in its own limited process, results merged.

Process model
-------------
1. One nbgrader process builds a *template* gradebook holding the assignments
   (generate_assignment from source/) and brings the course gradebook's copy
   of the assignments up to date.
2. Each submission (one student, one assignment) is graded by its own
   ``python -m autograder.worker autograde`` process, in a private temporary
   course folder that holds that submission only, with a private copy of the
   template gradebook. The process and the kernel it starts are capped in
   address space (RLIMIT_AS) and the whole submission in wall-clock time; on
   timeout every process of that job is killed. Before nbgrader sees the
   notebook its graded cells are put back in their released form
   (:mod:`autograder.structure`); the kernel runs in a sandbox that hides the
   course, the gradebooks and the other submissions (:mod:`autograder.sandbox`);
   after it exits, the worker re-checks the graded cells in its own clean
   interpreter (:mod:`autograder.audit`).
3. ``workers`` submissions run at once (a thread pool that waits on the
   processes). The parent alone writes the course gradebook (a SQLite file or
   any database URL), merging one finished submission at a time and waiting
   while another program holds it, then writes grades.csv.

A submission that cannot be graded (no notebook, damaged or empty file, dead
kernel, time or memory exhausted) scores 0 with a note saying why; no
submission can stop the batch or touch another student's grade.
"""
from __future__ import annotations

import fcntl
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from autograder import gradebook
from autograder.settings import (CELL_TIMEOUT_S, IGNORED, MEMORY_LIMIT_MB, PACKAGE, SUBMISSION_TIMEOUT_S,
                                 GradingError, assignments_in, notebooks_of, subprocess_env)

NOTES_FILE = "grading-notes.json"
JOB_MARK = "AUTOGRADER_JOB"


@dataclass
class Job:
    """One student's submission of one assignment."""
    student: str
    assignment: str
    folder: Path


@dataclass
class Outcome:
    """What grading one :class:`Job` produced."""
    job: Job
    status: str  # graded | unreadable | failed | timeout | crashed
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Limits:
    """Resource limits for one submission."""
    cell_timeout_s: int = CELL_TIMEOUT_S
    memory_mb: int = MEMORY_LIMIT_MB
    submission_timeout_s: int = SUBMISSION_TIMEOUT_S


def find_jobs(submissions: Path, known: list[str], students=None, assignments=None):
    """Jobs in nbgrader's ``SUBMISSIONS/<student>/<assignment>/`` layout.

    Returns (jobs, warnings): folders that name no known assignment are not
    graded and are reported instead.
    """
    jobs, warnings = [], []
    if not submissions.is_dir():
        raise GradingError(f"no submissions folder at {submissions} "
                           "(expected SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb)")
    for student_dir in sorted(submissions.iterdir()):
        if student_dir.name.startswith("."):
            continue
        if not student_dir.is_dir():
            warnings.append(f"{student_dir.name}: a file where a student folder belongs: ignored")
            continue
        if students and student_dir.name not in students:
            continue
        for folder in sorted(student_dir.iterdir()):
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            if folder.name not in known:
                warnings.append(f"{student_dir.name}/{folder.name}: no assignment of that name in source/: ignored")
            elif not assignments or folder.name in assignments:
                jobs.append(Job(student_dir.name, folder.name, folder))
    return jobs, warnings


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


def _kill_job(mark: str) -> None:
    """Kill every process that carries this job's mark (the worker, its kernel, strays)."""
    import psutil
    procs = _job_processes(mark)
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)


def run_worker(command: str, spec: dict, workdir: Path, timeout_s: float, threads: int | None = None):
    """Run ``python -m autograder.worker COMMAND`` on ``spec`` in ``workdir``.

    Returns (result dict or None, exit code or None, timed_out). Any process
    the job leaves behind (a kernel that outlived its worker) is killed.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    spec = dict(spec, result=str(workdir / "result.json"), workdir=str(workdir))
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=1))
    mark = uuid.uuid4().hex
    env = subprocess_env(threads)
    env[JOB_MARK] = mark
    timed_out, code = False, None
    with open(workdir / "worker.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "autograder.worker", command, str(spec_path)],
                                cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_job(mark)
            proc.wait()
    _kill_job(mark)
    result_path = workdir / "result.json"
    result = json.loads(result_path.read_text()) if result_path.is_file() and not timed_out else None
    return result, code, timed_out


def prepare(source: Path, assignments: list[str], course_db, tmp: Path) -> Path:
    """Build the template gradebook for ``assignments`` and update the course one.

    ``course_db`` is the course gradebook: a SQLite path or a database URL.
    Returns the template's path; the released notebooks are left in
    ``tmp/prepare/release/<a>/``. Raises GradingError when nbgrader rejects a
    source notebook or the course gradebook.
    """
    root = tmp / "prepare"
    for a in assignments:
        shutil.copytree(source / a, root / "source" / a, ignore=shutil.ignore_patterns(*IGNORED))
    template = tmp / "template.db"
    local = gradebook.is_sqlite_file(course_db)
    if local:
        course_db = gradebook.sqlite_path(course_db)
        course_db.parent.mkdir(parents=True, exist_ok=True)
    fresh = local and not course_db.exists()
    dbs = [template] if fresh else [template, course_db]
    spec = {"root": str(root), "dbs": [str(db) for db in dbs], "assignments": assignments}
    result, code, timed_out = run_worker("generate", spec, tmp / "prepare-job", timeout_s=600)
    deadline = time.monotonic() + gradebook.LOCK_WAIT_S
    while (result is not None and not result["ok"] and not fresh and time.monotonic() < deadline
           and any("database is locked" in log for log in result.get("errors", {}).values())):
        # Another program (a formgrader, an nbgrader command) holds the course gradebook; the
        # template is done, so only the course gradebook is tried again.
        time.sleep(2)
        spec["dbs"] = [str(course_db)]
        result, code, timed_out = run_worker("generate", spec, tmp / "prepare-job", timeout_s=600)
    if result is None or not result["ok"]:
        detail = "\n".join(f"--- {a}\n{log}" for a, log in (result or {}).get("errors", {}).items())
        if result is None:
            detail = (tmp / "prepare-job" / "worker.log").read_text(errors="replace")[-3000:]
        hint = ""
        if "Cannot add or remove cells" in detail:
            hint = (f"\nThe source notebook's cells changed since {course_db} was made. "
                    "That gradebook is runtime state: delete it and grade again.")
        raise GradingError(f"nbgrader could not set up the assignments {assignments}:\n{detail}{hint}")
    if fresh:
        shutil.copyfile(template, course_db)
    else:
        gradebook.copy_duedates(course_db, template)
    return template


def _replace_tree(src: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    if src.is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dest)


def _note_page(student: str, assignment: str, notebook: str, notes: list[str], score: str) -> str:
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes) or "<li>No notebook was graded.</li>"
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(assignment)}: "
            f"{html.escape(notebook)}</title></head><body>\n<h1>{html.escape(assignment)} / "
            f"{html.escape(notebook)}.ipynb</h1>\n<p>Student: {html.escape(student)}. Score for the "
            f"assignment: {html.escape(score)}.</p>\n<p>This notebook could not be graded:</p>\n<ul>"
            f"{items}</ul>\n</body></html>\n")


def _read_notes(course: Path) -> dict:
    path = course / NOTES_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def grade(submissions: Path, course: Path, source: Path, workers: int = 1, limits: Limits | None = None,
          students=None, assignments=None, strict_names: bool = False, progress: bool = True,
          keep_temp: bool = False, db=None, sandbox: str = "auto"):
    """Grade every submission in ``submissions`` into the course folder ``course``.

    Writes ``course/submitted`` (a copy, when ``submissions`` is elsewhere),
    ``autograded/``, ``feedback/<student>/<assignment>/<notebook>.html``,
    the gradebook (``db``: a path or a database URL, default
    ``course/gradebook.db``), ``grades.csv``, ``grading-notes.json`` and
    ``logs/<assignment>/<student>.log``. ``sandbox`` is a mode of
    :mod:`autograder.sandbox` ("auto", "root", "user" or "off"). Returns
    (outcomes, csv rows, warnings).
    """
    limits = limits or Limits()
    course = course.resolve()
    submissions = submissions.resolve()
    known = assignments_in(source)
    if not known:
        raise GradingError(f"no assignments in {source} (expected source/<assignment>/<assignment>.ipynb)")
    unknown = sorted(set(assignments or []) - set(known))
    if unknown:
        raise GradingError(f"no source for assignment(s) {unknown}; known: {known}")
    jobs, warnings = find_jobs(submissions, known, students, assignments)
    course.mkdir(parents=True, exist_ok=True)
    with _exclusive(course):
        submitted = course / "submitted"
        if submissions != submitted.resolve():
            for job in jobs:
                _replace_tree(job.folder, submitted / job.student / job.assignment)
                job.folder = submitted / job.student / job.assignment
        course_db = db if db is not None and "://" in str(db) else Path(db or course / "gradebook.db").resolve()
        context = {"submissions": submissions, "sandbox": sandbox}
        return _grade_locked(jobs, warnings, course, source, course_db, workers, limits,
                             strict_names, progress, keep_temp, context)


@contextmanager
def _exclusive(course: Path):
    """Hold ``course/.grading.lock``: two batches writing one gradebook would corrupt it."""
    with open(course / ".grading.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GradingError(f"another `python -m autograder grade` is writing to {course}; "
                               "wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def sandbox_spec(mode: str, hidden: list, uid: int) -> dict | None:
    """The :mod:`autograder.sandbox` spec of one job (without its ledger), or None when off.

    Hidden: the course repository (but for ``efficientnn/`` and the Python environment), the
    given folders (course, submissions, temporary folders), the grader's home and Jupyter
    runtime folder (other kernels' keys), ``/tmp``, ``/var/tmp`` and ``/dev/shm``.
    """
    if mode not in ("root", "user"):
        return None
    from jupyter_core.paths import jupyter_runtime_dir

    repo = PACKAGE.parent
    home = os.path.expanduser("~")
    hide = [repo, *hidden, jupyter_runtime_dir(), "/tmp", "/var/tmp", "/dev/shm"]
    if home not in ("/", ""):
        hide.append(home)
    import site

    keep = [repo / "efficientnn", sys.prefix, sys.base_prefix, sys.exec_prefix, site.getusersitepackages()]
    real = lambda paths: sorted({os.path.realpath(str(p)) for p in paths})  # noqa: E731
    return {"mode": mode, "uid": uid, "hide": real(hide), "keep": {"/": real(keep)},
            "tmp_mb": 256, "file_mb": 256, "nproc": 256}


def _grade_locked(jobs, warnings, course, source, course_db, workers, limits, strict_names, progress,
                  keep_temp, context):
    from tqdm.auto import tqdm

    from autograder import sandbox

    tmp = Path(tempfile.mkdtemp(prefix="autograder-"))
    outcomes: list[Outcome] = []
    notes = _read_notes(course)
    try:
        mode, warning = sandbox.probe(context["sandbox"])
        if warning:
            warnings.append(warning)
        used = sorted({j.assignment for j in jobs})
        template = prepare(source, used, course_db, tmp) if used else None
        threads = max(1, (os.cpu_count() or 1) // max(1, workers))
        hidden = [source.parent, course, context["submissions"], tmp, tempfile.gettempdir()]
        if gradebook.is_sqlite_file(course_db):
            hidden.append(gradebook.sqlite_path(course_db).parent)
        index = {id(job): i for i, job in enumerate(jobs)}

        def run(job: Job, workdir: Path) -> Outcome:
            spec = {"student": job.student, "assignment": job.assignment,
                    "notebooks": notebooks_of(source, job.assignment),
                    "submission_dir": str(job.folder), "source_dir": str(source / job.assignment),
                    "release_dir": str(tmp / "prepare" / "release" / job.assignment),
                    "template_db": str(template), "timeout": limits.cell_timeout_s,
                    "memory_mb": limits.memory_mb, "strict_names": strict_names,
                    "sandbox": sandbox_spec(mode, hidden, sandbox.UID_BASE + index[id(job)] % 100_000)}
            start = time.monotonic()
            result, code, timed_out = run_worker("autograde", spec, workdir, limits.submission_timeout_s, threads)
            seconds = time.monotonic() - start
            if timed_out:
                return Outcome(job, "timeout", [f"grading stopped after {limits.submission_timeout_s} s, "
                                                "the time limit for a whole submission: scored 0"], seconds)
            if result is None:
                return Outcome(job, "crashed", [f"the grading process died (exit code {code}, e.g. killed "
                                                f"at the {limits.memory_mb} MB memory limit): scored 0"], seconds)
            return Outcome(job, result["status"], result["notes"], seconds)

        bar = tqdm(total=len(jobs), desc="grading", unit="submission", disable=not progress)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(run, job, tmp / "jobs" / f"{i:04d}"): (job, tmp / "jobs" / f"{i:04d}")
                       for i, job in enumerate(jobs)}
            for future in as_completed(futures):
                job, workdir = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # the parent's own bug must not lose other grades
                    outcome = Outcome(job, "crashed", [f"grader error ({type(exc).__name__}: {exc}): scored 0"])
                try:
                    _collect(outcome, workdir, course, source, course_db)
                except Exception as exc:  # e.g. a locked or damaged course gradebook
                    outcome.notes.append(f"grade NOT recorded ({type(exc).__name__}: {exc})")
                    warnings.append(f"{job.student}/{job.assignment}: grade not recorded: {exc}")
                notes.setdefault(job.assignment, {})[job.student] = "; ".join(outcome.notes)
                outcomes.append(outcome)
                bar.set_postfix_str(f"{job.student}/{job.assignment}: {outcome.status}")
                bar.update(1)
        bar.close()
    finally:
        (course / NOTES_FILE).write_text(json.dumps(notes, indent=1, sort_keys=True))
        if keep_temp:
            print(f"temporary grading folders kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    table = []
    if not gradebook.is_sqlite_file(course_db) or gradebook.sqlite_path(course_db).exists():
        flat = {(a, s): n for a, by_student in notes.items() for s, n in by_student.items()}
        table = gradebook.rows(course_db, flat)
        gradebook.write_csv(course / "grades.csv", table)
    outcomes.sort(key=lambda o: (o.job.assignment, o.job.student))
    return outcomes, table, warnings


def _collect(outcome: Outcome, workdir: Path, course: Path, source: Path, course_db) -> None:
    """Move one finished job's files into the course folder and merge its scores."""
    job = outcome.job
    private = workdir / "course"
    graded = outcome.status == "graded"
    for step in ("autograded", "feedback"):
        dest = course / step / job.student / job.assignment
        if graded:
            _replace_tree(private / step / job.student / job.assignment, dest)
        elif dest.exists():
            shutil.rmtree(dest)  # an older run's pages would contradict the new score
    logs = course / "logs" / job.assignment
    logs.mkdir(parents=True, exist_ok=True)
    result = workdir / "result.json"
    text = json.loads(result.read_text()).get("log", "") if result.is_file() else ""
    worker_log = workdir / "worker.log"
    text += "\n--- worker output\n" + (worker_log.read_text(errors="replace") if worker_log.is_file() else "")
    text = (f"{job.student}/{job.assignment}: {outcome.status} in {outcome.seconds:.1f} s\n"
            f"notes: {'; '.join(outcome.notes) or '-'}\n--- nbgrader log\n{text}")
    (logs / f"{job.student}.log").write_text(text)

    stamp = job.folder / "timestamp.txt"
    gradebook.merge(course_db, job.assignment, job.student,
                    workdir / "gradebook.db" if graded else None,
                    timestamp=stamp.read_text().strip() if stamp.is_file() and not graded else None)

    # Every notebook gets a feedback page, even one nbgrader could not run.
    feedback = course / "feedback" / job.student / job.assignment
    missing = [nb for nb in notebooks_of(source, job.assignment) if not (feedback / f"{nb}.html").is_file()]
    if missing:
        score = _score_text(course_db, job)
        feedback.mkdir(parents=True, exist_ok=True)
        for nb in missing:
            (feedback / f"{nb}.html").write_text(_note_page(job.student, job.assignment, nb, outcome.notes, score))


def _score_text(course_db, job: Job) -> str:
    for row in gradebook.rows(course_db, {}):
        if row["assignment"] == job.assignment and row["student_id"] == job.student:
            return f"{float(row['score']):g} / {float(row['max_score']):g}"
    return "0"


def format_table(table: list[dict]) -> str:
    """Students by assignment, ``score/max``, a star where there is a note, notes below."""
    assignments = sorted({r["assignment"] for r in table})
    students = sorted({r["student_id"] for r in table})
    cell = {(r["student_id"], r["assignment"]): r for r in table}
    width = max([len("student")] + [len(s) for s in students])
    cols = [max(len(a), 11) for a in assignments]
    lines = ["  ".join(["student".ljust(width)] + [a.rjust(w) for a, w in zip(assignments, cols)])]
    for s in students:
        parts = [s.ljust(width)]
        for a, w in zip(assignments, cols):
            r = cell.get((s, a))
            text = "-" if r is None else f"{float(r['score']):g}/{float(r['max_score']):g}" + ("*" if r["note"] else " ")
            parts.append(text.rjust(w))
        lines.append("  ".join(parts))
    noted = [r for r in table if r["note"]]
    if noted:
        lines += ["", "* notes:"]
        lines += [f"  {r['student_id']}/{r['assignment']}: {r['note']}" for r in sorted(
            noted, key=lambda r: (r["student_id"], r["assignment"]))]
    return "\n".join(lines)
