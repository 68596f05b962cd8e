"""Grade a class: every submission in its own limited process, results merged.

Process model
-------------
1. The SUBMISSIONS folder is read as data (:mod:`autograder.submissions`): no link is
   followed, and every entry is graded, refused (a link, a device, ...: scored 0 with a note) or
   skipped (not a submission), each with its reason.
2. One nbgrader process builds a *template* gradebook holding the assignments
   (generate_assignment from source/) and brings the course gradebook's copy
   of the assignments up to date. What it generated is kept in ``course/.cache/templates/``
   and reused while source/ is unchanged, so a second run skips nbgrader altogether
   (:mod:`autograder.templates`).
3. Each submission becomes a :class:`autograder.job.GradingJob`, run by a runner
   (:mod:`autograder.runner`, or a Dask cluster with ``scheduler``): its own
   ``python -m autograder.worker autograde`` process, in a private temporary
   course folder that holds that submission only, with a private copy of the
   template gradebook, capped in address space and wall-clock time. Before nbgrader sees the
   notebook its graded cells are put back in their released form
   (:mod:`autograder.structure`); the kernel runs in a bubblewrap sandbox with no network that
   sees neither the course, the gradebooks nor the other submissions (:mod:`autograder.sandbox`);
   after it exits, the worker re-checks the graded cells in its own clean
   interpreter (:mod:`autograder.audit`).
4. The parent alone writes the course gradebook (a SQLite file or
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
import stat
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path

from autograder import gradebook, submissions as intake, templates
from autograder.job import GradingJob, Limits, Outcome, Result, Submission
from autograder.runner import run_generate, run_local, warm_up as run_warm_up
from autograder.settings import IGNORED, PACKAGE, GradingError, assignments_in, notebooks_of

NOTES_FILE = "grading-notes.json"
#: Where a course keeps what nbgrader generated from source/, for the next run (see autograder.templates).
CACHE = Path(".cache") / "templates"
#: Start of the last line of a run's warnings: the count of SUBMISSIONS' entries (see :func:`summary`).
SUMMARY = "submissions: "
#: Seconds the runner gives the generate step.
GENERATE_TIMEOUT_S = 600



def run_worker(command: str, spec: dict, workdir: Path, timeout_s: float, threads: int | None = None):
    """One job given as a dict (:meth:`GradingJob.to_dict`), run in ``workdir``: (result dict or None, exit
    code or None, timed_out). For runners that send jobs elsewhere (``autograder.cluster``); the local
    runner uses :func:`autograder.runner.run_job`."""
    from autograder import runner, sandbox

    workdir = Path(workdir).resolve()
    if command == "generate":
        result = run_generate(spec, workdir, timeout_s)
        return result, 0 if result is not None else None, result is None
    spec = dict(spec, workdir=str(workdir))
    if spec.get("sandbox"):
        box = dict(spec["sandbox"], workdir=str(workdir / "sandbox"), ledger=str(workdir / "ledger.jsonl"))
        spec["sandbox"] = sandbox.SandboxSpec.from_dict(box).to_dict()
    job = GradingJob.from_dict(spec)
    result = runner.run_job(job, timeout_s, threads)
    timed_out = result.status == "timeout"
    if timed_out or result.status == "crashed":
        return None, None, timed_out
    return {"status": result.status, "notes": result.notes, "log": result.log, "steps": result.steps}, 0, False


def sandbox_spec(mode: str, hidden=None, uid: int = 0) -> dict | None:
    """A job's sandbox as a dict, to be completed with the job's folder by :func:`run_worker` (None when off).

    ``hidden`` is ignored: the bwrap sandbox shows only what it binds (see :mod:`autograder.sandbox`).
    """
    from autograder import sandbox

    spec = sandbox.spec_for(mode, 0, Path("/"), PACKAGE.parent / "efficientnn", None)
    return None if spec is None else dict(spec.to_dict(), uid=uid or spec.uid, workdir="", ledger="")


def prepare(source: Path, assignments: list[str], course_db, tmp: Path, cache: Path | None = None) -> Path:
    """Build the template gradebook for ``assignments`` and update the course one.

    ``course_db`` is the course gradebook: a SQLite path or a database URL.
    Returns the template's path; the released notebooks are left in
    ``tmp/prepare/release/<a>/``. With ``cache`` (a folder), what nbgrader generated
    is kept there and reused while the sources are unchanged, and the course gradebook
    is regenerated only when it differs from the template (:mod:`autograder.templates`).
    Raises GradingError when nbgrader rejects a source notebook or the course gradebook.
    """
    root = tmp / "prepare"
    template = tmp / "template.db"
    local = gradebook.is_sqlite_file(course_db)
    if local:
        course_db = gradebook.sqlite_path(course_db)
        course_db.parent.mkdir(parents=True, exist_ok=True)
    fresh = local and not course_db.exists()
    entry = cache / templates.key(source, assignments) if cache is not None else None
    cached = entry is not None and templates.restore(entry, template, root / "release")
    dbs = [] if cached else [template]
    if not fresh and not (cached and templates.course_matches(course_db, template, assignments)):
        dbs.append(course_db)
    if dbs:
        _generate(source, assignments, root, dbs, course_db, fresh, tmp)
    if entry is not None and not cached:
        templates.store(entry, template, root / "release")
    if fresh:
        shutil.copyfile(template, course_db)
    else:
        gradebook.copy_duedates(course_db, template)
    return template


def _generate(source: Path, assignments: list[str], root: Path, dbs: list, course_db, fresh: bool,
              tmp: Path) -> None:
    """nbgrader generate_assignment into ``dbs``, waiting out a course gradebook another program holds."""
    for a in assignments:
        shutil.copytree(source / a, root / "source" / a, ignore=shutil.ignore_patterns(*IGNORED),
                        dirs_exist_ok=True)
    spec = {"root": str(root), "dbs": [str(db) for db in dbs], "assignments": assignments}
    result = run_generate(spec, tmp / "prepare-job", GENERATE_TIMEOUT_S)
    deadline = time.monotonic() + gradebook.LOCK_WAIT_S
    while (result is not None and not result["ok"] and not fresh and time.monotonic() < deadline
           and any("database is locked" in log for log in result.get("errors", {}).values())):
        # Another program (a formgrader, an nbgrader command) holds the course gradebook; the
        # template is done, so only the course gradebook is tried again.
        time.sleep(2)
        spec["dbs"] = [str(course_db)]
        result = run_generate(spec, tmp / "prepare-job", GENERATE_TIMEOUT_S)
    if result is None or not result["ok"]:
        detail = "\n".join(f"--- {a}\n{log}" for a, log in (result or {}).get("errors", {}).items())
        if result is None:
            log = tmp / "prepare-job" / "worker.log"
            detail = (log.read_text(errors="replace")[-3000:] if log.is_file() else
                      "the nbgrader process died before it wrote its log (worker.log). From a script of "
                      "your own, guard its top level with `if __name__ == \"__main__\":`: each worker "
                      "process runs the script's top level again before it starts")
        hint = ""
        if "Cannot add or remove cells" in detail:
            hint = (f"\nThe source notebook's cells changed since {course_db} was made. "
                    "That gradebook is runtime state: delete it and grade again.")
        raise GradingError(f"nbgrader could not set up the assignments {assignments}:\n{detail}{hint}")


def _replace_tree(src: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    if src.is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dest, symlinks=True)


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
          keep_temp: bool = False, db=None, sandbox: str = "auto", scheduler: str | None = None):
    """Grade every submission in ``submissions`` into the course folder ``course``.

    Writes ``course/submitted`` (a copy, when ``submissions`` is elsewhere),
    ``autograded/``, ``feedback/<student>/<assignment>/<notebook>.html``,
    the gradebook (``db``: a path or a database URL, default
    ``course/gradebook.db``), ``grades.csv``, ``grading-notes.json`` and
    ``logs/<assignment>/<student>.log``. ``sandbox`` is a mode of
    :mod:`autograder.sandbox` ("auto", "root", "user" or "off"). With
    ``scheduler`` (a Dask scheduler's address, ``tcp://HOST:8786``) each
    submission is graded by a task on that cluster (:mod:`autograder.cluster`)
    and ``workers`` is the cluster's. Returns (outcomes, csv rows, warnings);
    the last warning counts every entry of ``submissions``: graded, refused and
    skipped, with the reasons (see :func:`summary`).
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
    if scheduler is None:
        run_warm_up()
    threading.Thread(target=gradebook.warm_up, daemon=True).start()
    found = intake.find(submissions, known, students, assignments)
    warnings = [f"{entry}: {why}: skipped" for entry, why in found.skipped]
    course.mkdir(parents=True, exist_ok=True)
    with _exclusive(course):
        submitted = course / "submitted"
        if submissions != submitted.resolve():
            for job in found.jobs:
                intake.copy(job.folder, submitted / job.student / job.assignment)
                job.folder = submitted / job.student / job.assignment
        course_db = db if db is not None and "://" in str(db) else Path(db or course / "gradebook.db").resolve()
        context = {"submissions": submissions, "sandbox": sandbox, "scheduler": scheduler}
        outcomes, table, warnings = _grade_locked(found, warnings, course, source, course_db, workers, limits,
                                                  strict_names, progress, keep_temp, context)
    warnings.append(summary(outcomes, found))
    return outcomes, table, warnings


def summary(outcomes: list[Outcome], found: intake.Found) -> str:
    """The run's last word: how many entries were graded, refused (why) and skipped (why)."""
    def why(reasons):
        counts = {}
        for reason in reasons:
            counts[reason] = counts.get(reason, 0) + 1
        return "; ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))

    graded = sum(o.status != "refused" for o in outcomes)
    text = f"{SUMMARY}{graded} graded, {len(found.refused)} refused, {len(found.skipped)} skipped"
    if found.refused:
        text += " | refused: " + why(kind for _, entries in found.refused for _, kind in entries[:1])
    if found.skipped:
        text += " | skipped: " + why(reason for _, reason in found.skipped)
    return text


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


def grading_jobs(found: list[Submission], source: Path, tmp: Path, template: Path, limits: Limits,
                 strict_names: bool, mode: str) -> list[GradingJob]:
    """One :class:`GradingJob` per submission, each with its own folder under ``tmp/jobs``."""
    from autograder import sandbox

    jobs = []
    for i, sub in enumerate(found):
        workdir = tmp / "jobs" / f"{i:04d}"
        box = sandbox.spec_for(mode, i, workdir / "sandbox", PACKAGE.parent / "efficientnn", workdir / "ledger.jsonl")
        jobs.append(GradingJob(
            student=sub.student, assignment=sub.assignment, notebooks=tuple(notebooks_of(source, sub.assignment)),
            submission_dir=str(sub.folder), source_dir=str(source / sub.assignment),
            release_dir=str(tmp / "prepare" / "release" / sub.assignment), template_db=str(template),
            workdir=str(workdir), cell_timeout_s=limits.cell_timeout_s, memory_mb=limits.memory_mb,
            cpu_s=limits.submission_timeout_s, strict_names=strict_names, sandbox=box))
    return jobs


def _per_job(runner, workers: int):
    """A runner that grades one job per call (``runner(command, spec, workdir, timeout_s, threads)``, as
    :func:`run_worker`) as one that takes a list of jobs and yields results, like :func:`run_local`."""
    def run(jobs, _workers, timeout_s, threads):
        def one(job):
            start = time.monotonic()
            try:
                raw, code, timed_out = runner("autograde", job.to_dict(), Path(job.workdir), timeout_s, threads)
            except Exception as exc:  # the runner's own failure must not lose the job
                return Result("crashed", [f"grader error ({type(exc).__name__}): scored 0"], log=repr(exc)), \
                    time.monotonic() - start
            if timed_out:
                result = Result("timeout", [f"grading stopped after {timeout_s:g} s, the time limit for a whole "
                                            "submission: scored 0"])
            elif raw is None:
                result = Result("crashed", [f"the grading process died (exit code {code}): scored 0"])
            else:
                result = Result(raw["status"], raw.get("notes", []), raw.get("log", ""), raw.get("steps", {}))
            return result, time.monotonic() - start

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(one, job): job for job in jobs}
            for future in as_completed(futures):
                yield (futures[future], *future.result())
    return run


def _grade_locked(found, warnings, course, source, course_db, workers, limits, strict_names, progress,
                  keep_temp, context):
    from tqdm.auto import tqdm

    from autograder import sandbox
    from autograder.variants import read_variant_answers, roster, update_integrity_report
    from efficientnn.quiz.variants import ASSIGNMENTS as VARIANT_ASSIGNMENTS

    tmp = Path(tempfile.mkdtemp(prefix="autograder-"))
    outcomes: list[Outcome] = []
    notes = _read_notes(course)
    runner, cluster = run_local, None
    try:
        if context.get("scheduler"):
            from autograder.cluster import DaskRunner
            cluster = DaskRunner(context["scheduler"])
            runner, workers = _per_job(cluster, cluster.slots), cluster.slots
        mode, warning = sandbox.probe(context["sandbox"])
        if warning:
            warnings.append(warning)
        used = sorted({j.assignment for j in found.jobs} | {sub.assignment for sub, _ in found.refused})
        started = time.perf_counter()
        with gradebook.setting_up(course_db):  # other machines may be adding the same assignments
            template = prepare(source, used, course_db, tmp, course / CACHE) if used else None
        batch = {"generate": time.perf_counter() - started, "merge": 0.0}
        threads = max(1, (os.cpu_count() or 1) // max(1, workers))
        jobs = grading_jobs(found.jobs, source, tmp, template, limits, strict_names, mode)
        by_job = {id(job): sub for job, sub in zip(jobs, found.jobs)}
        bar = tqdm(total=len(jobs) + len(found.refused), desc="grading", unit="submission", disable=not progress)

        variant_answers: dict = {}  # {assignment: {student: {variant question: answer}}}, for the integrity report

        def record(outcome: Outcome, workdir: Path | None) -> None:
            sub = outcome.job
            started = time.perf_counter()
            if sub.assignment in VARIANT_ASSIGNMENTS:
                variant_answers.setdefault(sub.assignment, {})[sub.student] = (
                    read_variant_answers(workdir) if workdir is not None else {})
            try:
                _collect(outcome, workdir, course, source, course_db)
            except Exception as exc:  # e.g. a locked or damaged course gradebook
                outcome.notes.append(f"grade NOT recorded ({type(exc).__name__}: {exc})")
                warnings.append(f"{sub.student}/{sub.assignment}: grade not recorded: {exc}")
            batch["merge"] += time.perf_counter() - started
            notes.setdefault(sub.assignment, {})[sub.student] = "; ".join(outcome.notes)
            outcomes.append(outcome)
            bar.set_postfix_str(f"{sub.student}/{sub.assignment}: {outcome.status}")
            bar.update(1)

        for sub, why in found.refused:
            record(Outcome(sub, "refused", [f"refused: {entry} {kind}: scored 0" for entry, kind in why]), None)
        for job, result, seconds in runner(jobs, workers, limits.submission_timeout_s, threads):
            record(Outcome(by_job[id(job)], result.status, result.notes, seconds, result.steps), Path(job.workdir))
        bar.close()
        if variant_answers:  # beside grades.csv, for the instructor only: never in a student's feedback
            update_integrity_report(course, variant_answers, {a: roster(course, a) for a in variant_answers})
        _write_timings(course, batch, outcomes)
    finally:
        if cluster is not None:
            cluster.close()
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


def _write_timings(course: Path, batch: dict, outcomes: list[Outcome]) -> None:
    """``logs/timings.json``: seconds of the batch's steps and of each job's (where grading's time goes)."""
    jobs = {f"{o.job.student}/{o.job.assignment}": dict(o.steps, total=o.seconds) for o in outcomes}
    (course / "logs").mkdir(parents=True, exist_ok=True)
    (course / "logs" / "timings.json").write_text(json.dumps({"batch": batch, "jobs": jobs}, indent=1))


def _collect(outcome: Outcome, workdir: Path | None, course: Path, source: Path, course_db) -> None:
    """Move one finished job's files into the course folder and merge its scores.

    ``workdir`` is None for a submission refused before grading.
    """
    job = outcome.job
    graded = outcome.status in ("graded", "failed") and workdir is not None and (workdir / "gradebook.db").is_file()
    private = workdir / "course" if workdir else None
    for step in ("autograded", "feedback"):
        dest = course / step / job.student / job.assignment
        if outcome.status == "graded" and private is not None:
            _replace_tree(private / step / job.student / job.assignment, dest)
        elif dest.exists():
            shutil.rmtree(dest)  # an older run's pages would contradict the new score
    logs = course / "logs" / job.assignment
    logs.mkdir(parents=True, exist_ok=True)
    text = ""
    if workdir is not None:
        result = workdir / "result.json"
        text = json.loads(result.read_text()).get("log", "") if result.is_file() else ""
        worker_log = workdir / "worker.log"
        text += "\n--- worker output\n" + (worker_log.read_text(errors="replace") if worker_log.is_file() else "")
    text = (f"{job.student}/{job.assignment}: {outcome.status} in {outcome.seconds:.1f} s\n"
            f"notes: {'; '.join(outcome.notes) or '-'}\n--- nbgrader log\n{text}")
    (logs / f"{job.student}.log").write_text(text)

    gradebook.merge(course_db, job.assignment, job.student, workdir / "gradebook.db" if graded else None,
                    timestamp=_timestamp(job.folder) if not graded else None)

    # Every notebook gets a feedback page, even one nbgrader could not run.
    feedback = course / "feedback" / job.student / job.assignment
    missing = [nb for nb in notebooks_of(source, job.assignment) if not (feedback / f"{nb}.html").is_file()]
    if missing:
        score = _score_text(course_db, job)
        feedback.mkdir(parents=True, exist_ok=True)
        for nb in missing:
            (feedback / f"{nb}.html").write_text(_note_page(job.student, job.assignment, nb, outcome.notes, score))


def _timestamp(folder: Path) -> str | None:
    """``timestamp.txt`` of a submission, read without following a link (None when absent or not a file)."""
    try:
        fd = os.open(folder / "timestamp.txt", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
            return None
        return fh.read(200).decode(errors="replace").strip()


def _score_text(course_db, job: Submission) -> str:
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
