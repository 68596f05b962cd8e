"""The process that runs nbgrader: one call, one job, results in a JSON file.

``python -m autograder.worker generate SPEC.json``
    Run nbgrader's generate_assignment for some assignments into one or more
    gradebooks (used by ``release`` and to set up a grading batch).
``python -m autograder.worker autograde JOB.json``
    Grade one student's submission of one assignment (a :class:`autograder.job.GradingJob`)
    in a private course folder, under resource limits, and write its feedback.

A runner (:mod:`autograder.runner`) starts one autograde process per submission, so whatever
a submission does (crash the kernel, exhaust memory, loop forever) ends with this process and
never reaches the batch. What it writes back is an :class:`autograder.job.Result`.
"""
from __future__ import annotations

import json
import os
import re
import resource
import shutil
import stat
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from autograder import cells
from autograder.job import GradingJob, Result
from autograder.settings import IGNORED, load_config, use_local_path
from autograder.submissions import shown

CUT_MARK = "[grader] output cut:"  # autograder.preprocessors.CUT_MARK, without importing nbgrader here

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space; the kernel it starts inherits the cap."""
    if megabytes and megabytes > 0:
        limit = int(megabytes) * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A crashing kernel must not leave gigabytes of core dump behind.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def limit_resources(job: GradingJob) -> None:
    """The limits this process and the kernel it starts inherit: memory, file size, CPU seconds and,
    for a kernel with a uid of its own (the root-mode sandbox), processes.

    Root ignores RLIMIT_NPROC, so the cap binds the kernel's uid only, once it has dropped to it.
    """
    limit_memory(job.memory_mb)
    if job.file_mb:
        size = job.file_mb * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    if job.cpu_s:
        resource.setrlimit(resource.RLIMIT_CPU, (job.cpu_s, job.cpu_s + 5))
    if job.nproc and job.sandbox is not None and job.sandbox.mode == "root" and os.geteuid() == 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (job.nproc, job.nproc))


@contextmanager
def timed(steps: dict, name: str):
    """Add the seconds the block takes to ``steps[name]`` (the benchmark's breakdown)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        steps[name] = steps.get(name, 0.0) + time.perf_counter() - start


def _run(app) -> dict:
    """Start an nbgrader converter; return nbgrader's {success, log, error} dict."""
    from nbgrader.utils import capture_log
    return capture_log(app)


def generate(spec: dict) -> dict:
    """generate_assignment for ``spec["assignments"]`` into each of ``spec["dbs"]``.

    Spec keys: ``root`` (a course folder with ``source/<a>/``), ``dbs`` (paths
    of SQLite gradebooks, created if missing, or database URLs), ``assignments``. The student
    version lands in ``root/release/<a>/``. Result: ``{"ok": bool,
    "errors": {assignment: log}}``.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    from autograder.gradebook import url as gradebook_url

    errors = {}
    for db in spec["dbs"]:
        for assignment in spec["assignments"]:
            cfg = load_config(**{
                "CourseDirectory.root": spec["root"],
                "CourseDirectory.db_url": gradebook_url(db),
                "CourseDirectory.assignment_id": assignment,
            })
            app = GenerateAssignment(coursedir=CourseDirectory(config=cfg), config=cfg)
            app.force = True
            app.create_assignment = True
            result = _run(app)
            if not result["success"]:
                errors[assignment] = (result.get("log", "") + "\n" + result.get("error", "")).strip()
    return {"ok": not errors, "errors": errors}


def notebook_problem(path: Path) -> str | None:
    """Why ``path`` cannot be graded as a notebook, or None if it can."""
    return load_notebook(path)[1]


def load_notebook(path: Path):
    """(the notebook, None) or (None, why it cannot be graded as a notebook)."""
    from nbformat.reader import NotJSONError

    try:
        nb = read_notebook(path)
    except NotJSONError:
        return None, "is not valid JSON (a damaged file, or not a notebook)"
    except _NotAFile as exc:
        return None, str(exc)
    except Exception as exc:  # any reader failure means: not a notebook we can run (its words are not quoted)
        return None, f"is not a readable notebook ({type(exc).__name__})"
    if not isinstance(nb.get("cells"), list):
        return None, "has no cells"
    return nb, None


class _NotAFile(ValueError):
    pass


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """A submitted file's bytes, read without following a link; raises when it is no plain file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise _NotAFile("is a symbolic link (not followed)" if os.path.islink(path) else "cannot be opened") from exc
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
            raise _NotAFile("is not a plain file")
        return fh.read() if limit is None else fh.read(limit)


def read_notebook(path: Path):
    """A submitted notebook, parsed; raises nbformat's errors, or when it is empty or not a plain file."""
    import nbformat

    data = read_bytes(path)
    if not data:
        raise _NotAFile("is an empty file")
    return nbformat.reads(data.decode("utf-8", errors="replace"), as_version=4)


def collect_submission(job: GradingJob, dest: Path, released: dict) -> tuple[list[str], list[str]]:
    """Copy the gradable notebooks of a submission into ``dest``, their structure restored.

    Only notebooks and ``timestamp.txt`` are copied: a file a student hands in
    next to the notebook (say ``efficientnn.py``) would otherwise be
    importable by the grading kernel and could stand in for the checker. No
    link is followed. ``released`` maps notebook names to the released
    notebooks (parsed once by the caller). Returns (names of notebooks
    copied, notes for the grade report).
    """
    import nbformat

    from autograder.structure import restore

    expected = list(job.notebooks)
    sub = Path(job.submission_dir) if job.submission_dir else None
    dest.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    if sub is None or not sub.is_dir() or sub.is_symlink():
        return [], ["no submission folder: scored 0"]

    present = {p.stem: p for p in sorted(sub.glob("*.ipynb")) if not p.is_dir()}
    chosen = {n: present[n] for n in expected if n in present}
    missing = [n for n in expected if n not in present]
    unknown = [n for n in present if n not in expected]
    if len(missing) == 1 and len(unknown) == 1 and not job.strict_names:
        # One notebook, one odd name: a renamed or duplicated copy ("toy (1)").
        chosen[missing[0]] = present[unknown[0]]
        notes.append(f"{shown(unknown[0] + '.ipynb')} graded as '{missing[0]}.ipynb' (please keep the released name)")
        missing, unknown = [], []
    for name in missing:
        found = ", ".join(shown(f"{n}.ipynb") for n in unknown) or "no notebook"
        notes.append(f"'{name}.ipynb' missing (found {found}): scored 0")
    if not missing:  # with a notebook missing, the note above already names the others
        notes += [f"{shown(name + '.ipynb')} is not part of the assignment: ignored" for name in unknown]

    copied = []
    for name, path in sorted(chosen.items()):
        nb, problem = load_notebook(path)
        if problem:
            notes.append(f"{shown(path.name)} {problem}: scored 0")
            continue
        if name in released:
            notes += [f"{name}.ipynb: {n}" for n in restore(nb, released[name])]
        nbformat.write(nb, str(dest / f"{name}.ipynb"))
        copied.append(name)

    stamp = sub / "timestamp.txt"
    if copied and (stamp.exists() or stamp.is_symlink()):  # nbgrader (slow to import) only reads it when graded
        from nbgrader.utils import parse_utc
        try:
            text = read_bytes(stamp, 200).decode(errors="replace").strip()
            parse_utc(text)
        except _NotAFile as exc:
            notes.append(f"timestamp.txt {exc}: ignored")
        except (ValueError, OverflowError):
            notes.append("timestamp.txt is not a date and time: ignored")  # (its text is not quoted)
        else:
            (dest / "timestamp.txt").write_text(text + "\n")
    return copied, notes


def copy_support_files(source: Path, dest: Path) -> None:
    """The assignment's non-notebook files (data, helper modules) without its notebooks."""
    dest.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, dest, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.ipynb", *IGNORED))


def diagnose(autograded: Path, log: str, timeout: int, memory_mb: int) -> list[str]:
    """Notes on what went wrong while the notebooks ran, read from their outputs."""
    import nbformat

    notes = []
    for path in sorted(autograded.glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            where = cells.grade_id(cell) or f"cell {index + 1}"
            for out in cell.get("outputs", []):
                if out.get("output_type") != "error":
                    continue
                if out.get("ename") == "CellTimeoutError":
                    notes.append(f"{path.stem}/{where} ran longer than {timeout} s and was stopped")
                elif out.get("ename") == "MemoryError":
                    notes.append(f"{path.stem}/{where} ran out of memory (limit {memory_mb} MB)")
                elif any("showtraceback was disabled" in ANSI.sub("", t) for t in out.get("traceback", [])):
                    notes.append(f"{path.stem}/{where}: the notebook switched off error display; failures still count")
            cut = [o for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and CUT_MARK in o.get("text", "")]
            if cut:
                amount = re.search(re.escape(CUT_MARK) + r" ([\d,]+)", cut[-1]["text"])
                notes.append(f"{path.stem}/{where}: output cut ({amount.group(1) if amount else 'some'} characters "
                             "not kept)")
    if "DeadKernelError" in log:
        notes.append("the Python kernel died while running the notebook "
                     f"(a crash, an exit call, or more than {memory_mb} MB): scored 0")
    elif "UnresponsiveKernelError" in log or "kernel became unresponsive" in log:
        notes.append("the kernel stopped responding and could not be interrupted: scored 0")
    return list(dict.fromkeys(notes))


@contextmanager
def recording(job: GradingJob, names: list[str]):
    """Within the block, kernels started by this process record their checks to the job's ledger."""
    from efficientnn.quiz.ledger import NAMES_VARIABLE, PATH_VARIABLE

    os.environ[PATH_VARIABLE] = str(job.ledger)
    os.environ[NAMES_VARIABLE] = ",".join(names)
    try:
        yield
    finally:
        for var in (PATH_VARIABLE, NAMES_VARIABLE):
            os.environ.pop(var, None)


def recheck(job: GradingJob, course: Path, db: Path, plans: dict) -> list[str]:
    """Re-check the graded cells in this (clean) process and lower the scores the kernel inflated.

    See :mod:`autograder.audit`; ``plans`` maps each graded notebook's name to its
    :class:`autograder.audit.Plan`. Updates the job's gradebook, adds a line to each changed cell
    of the autograded notebook (it shows in the feedback), and returns notes.
    """
    import nbformat
    from nbformat.notebooknode import NotebookNode

    from autograder import audit
    from autograder.gradebook import open_gradebook

    student, assignment = job.student, job.assignment
    notes = []
    records = audit.read_ledger(job.ledger)
    for nb, plan in plans.items():
        graded_path = course / "autograded" / student / assignment / f"{nb}.ipynb"
        if not graded_path.is_file():
            continue
        with open_gradebook(f"sqlite:///{db}") as gb:
            grades = gb.find_submission_notebook(nb, assignment, student).grades
            scores = {g.name: (g.auto_score, g.max_score) for g in grades}
        graded = nbformat.read(str(graded_path), as_version=4)
        measured = audit.Measurements(plan)  # measured truths: the grader's own, never the kernel's
        changes = audit.audit_notebook(plan, graded, records, scores, measured)
        if measured.errors:
            notes.append(f"{nb}: the grader could not take its own measurement ({measured.errors[0][:160]}); the "
                         "cells checked against it score 0")
        if not changes:
            continue
        with open_gradebook(f"sqlite:///{db}") as gb:
            for change in changes:
                gb.find_grade(change.grade_id, nb, assignment, student).auto_score = change.clean_score
            gb.db.commit()
        by_id = {cells.grade_id(c): c for c in graded.cells}
        for change in changes:
            said = f" It said: {change.detail}" if change.detail else ""
            line = (f"[grader] This cell passed in your kernel, but {change.reason}; "
                    f"it scores {change.clean_score:g} of its points.{said}")
            if change.grade_id in by_id:
                by_id[change.grade_id].setdefault("outputs", []).append(
                    NotebookNode(output_type="stream", name="stdout", text="\n" + line + "\n"))
            notes.append(f"{nb}/{change.grade_id}: {change.reason}: scored {change.clean_score:g} "
                         f"instead of {change.kernel_score:g}")
        mode = graded_path.stat().st_mode
        graded_path.chmod(mode | 0o200)  # nbgrader leaves autograded notebooks read-only
        nbformat.write(graded, str(graded_path))
        graded_path.chmod(mode)
    return notes


def _parsed(folder: Path, names) -> dict:
    """{name: notebook} for the notebooks ``folder/<name>.ipynb`` that exist, each parsed once."""
    import nbformat
    return {n: nbformat.read(str(folder / f"{n}.ipynb"), as_version=4) for n in names
            if (folder / f"{n}.ipynb").is_file()}


def autograde(job: GradingJob) -> Result:
    """Grade one submission in ``job.workdir`` and write its feedback.

    The workdir ends up as ``course/`` (nbgrader's submitted/, autograded/,
    feedback/ for this one student) and ``gradebook.db`` beside it. The kernel
    writes its checkers' records to ``ledger.jsonl``; after it has gone, this
    process re-checks the graded cells (:func:`recheck`). On "graded" and
    "failed" the gradebook holds the submission's scores; ``steps`` says where
    the time went.
    """
    from autograder import audit
    from autograder.variants import write_variant_answers
    from efficientnn.quiz.variants import graded_as

    steps: dict[str, float] = {}
    with timed(steps, "imports"):  # nothing, when forked from the runner's fork server
        import nbformat  # noqa: F401
        from nbgrader.converters import Autograde, GenerateFeedback
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.utils import parse_utc  # noqa: F401

        from autograder.preprocessors import GradingExecute
    work = Path(job.workdir)
    student, assignment = job.student, job.assignment
    course = work / "course"
    db = work / "gradebook.db"
    with timed(steps, "gradebook copy"):
        shutil.copyfile(job.template_db, db)
    with timed(steps, "structure restore"):
        copy_support_files(Path(job.source_dir), course / "source" / assignment)
        copied, notes = collect_submission(job, course / "submitted" / student / assignment,
                                           _parsed(Path(job.release_dir), job.notebooks))
    if not copied:
        return Result("unreadable", notes, "", steps)
    with timed(steps, "clean re-check"):  # the source notebooks are parsed here, once
        plans = {n: audit.Plan(nb) for n, nb in _parsed(Path(job.source_dir), copied).items()}

    overrides = {
        "CourseDirectory.root": str(course),
        "CourseDirectory.db_url": f"sqlite:///{db}",
        "CourseDirectory.assignment_id": assignment,
        "CourseDirectory.student_id": student,
        "ExecutePreprocessor.timeout": int(job.cell_timeout_s),
        # After the last cell nothing of the kernel is needed (the ledger is written, and closed,
        # record by record). A graceful shutdown waited 2.5 s for a sandboxed kernel that did not
        # exit in about one job in three (then sent SIGTERM); killed at once, the job ends 0.3 s
        # after its last cell.
        "ExecutePreprocessor.shutdown_kernel": "immediate",
        "SandboxedKernelManager.sandbox": job.sandbox.to_dict() if job.sandbox else {},
    }
    job.ledger.write_text("")
    cfg = load_config(**overrides)
    app = Autograde(coursedir=CourseDirectory(config=cfg), config=cfg)
    app.force = True
    app.create_student = True
    GradingExecute.kernel_start_s = 0.0
    # The grader's id decides every variant, in the kernel and in the clean re-check (efficientnn.quiz.variants).
    with timed(steps, "autograde"), recording(job, sorted(set().union(*(p.student for p in plans.values())))), \
            graded_as(student):
        result = _run(app)
    steps["kernel start"] = GradingExecute.kernel_start_s
    steps["autograde"] -= GradingExecute.kernel_start_s
    log = (result.get("log", "") + "\n" + result.get("error", "")).strip()
    autograded = course / "autograded" / student / assignment
    notes += diagnose(autograded, log, int(job.cell_timeout_s), int(job.memory_mb))
    if not result["success"]:
        if not any("kernel" in n for n in notes):
            notes.append("nbgrader could not grade it (see the log): scored 0")
        return Result("failed", notes, log, steps)

    with timed(steps, "clean re-check"), graded_as(student):
        notes += recheck(job, course, db, plans)
        write_variant_answers(job)
    with timed(steps, "feedback"):
        cfg = load_config(**overrides)
        cfg.HTMLExporter.template_name = "feedback"
        feedback = GenerateFeedback(coursedir=CourseDirectory(config=cfg), config=cfg)
        feedback.force = True
        fb = _run(feedback)
    log += "\n" + (fb.get("log", "") + "\n" + fb.get("error", "")).strip()
    if not fb["success"]:
        notes.append("graded, but the feedback page could not be written")
    return Result("graded", notes, log, steps)


def run_autograde(job: GradingJob) -> Result:
    """:func:`autograde` under the job's resource limits; a failure of the grader becomes a result."""
    limit_resources(job)
    try:
        return autograde(job)
    except MemoryError:
        return Result("failed", [f"grading ran out of memory (limit {job.memory_mb} MB): scored 0"],
                      traceback.format_exc())
    except Exception as exc:  # reported as this submission's problem, not the batch's
        return Result("failed", [f"the grader failed on it ({type(exc).__name__}): scored 0"], traceback.format_exc())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in ("generate", "autograde"):
        print("usage: python -m autograder.worker {generate,autograde} SPEC.json", file=sys.stderr)
        return 2
    command, spec_path = argv
    use_local_path()
    if command == "autograde":
        job = GradingJob.read(Path(spec_path))
        run_autograde(job).write(job.result_path)
    else:
        spec = json.loads(Path(spec_path).read_text())
        Path(spec["result"]).write_text(json.dumps(generate(spec), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
