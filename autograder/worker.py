"""The process that runs nbgrader: one call, one job, results in a JSON file.

``python -m autograder.worker generate SPEC.json``
    Run nbgrader's generate_assignment for some assignments into one or more
    gradebooks (used by ``release`` and to set up a grading batch).
``python -m autograder.worker autograde SPEC.json``
    Grade one student's submission of one assignment in a private course
    folder, under memory limits, and write its feedback.

The parent (:mod:`autograder.grade`) starts one autograde process per
submission, so whatever a submission does (crash the kernel, exhaust memory,
loop forever) ends with this process and never reaches the batch. The spec and
result formats are described in :func:`autograde`.
"""
from __future__ import annotations

import json
import os
import re
import resource
import shutil
import sys
import traceback
from pathlib import Path

from autograder.settings import IGNORED, load_config, use_local_path

CUT_MARK = "[grader] output cut:"  # autograder.preprocessors.CUT_MARK, without importing nbgrader here

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space; the kernel it starts inherits the cap."""
    if megabytes and megabytes > 0:
        limit = int(megabytes) * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A crashing kernel must not leave gigabytes of core dump behind.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


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
    import nbformat
    from nbformat.reader import NotJSONError

    if path.stat().st_size == 0:
        return "is an empty file"
    try:
        nb = nbformat.read(str(path), as_version=4)
    except NotJSONError:
        return "is not valid JSON (a damaged file, or not a notebook)"
    except Exception as exc:  # any reader failure means: not a notebook we can run
        return f"is not a readable notebook ({type(exc).__name__}: {str(exc)[:120]})"
    if not isinstance(nb.get("cells"), list):
        return "has no cells"
    return None


def collect_submission(spec: dict, dest: Path) -> tuple[list[str], list[str]]:
    """Copy the gradable notebooks of a submission into ``dest``.

    Only notebooks and ``timestamp.txt`` are copied: a file a student hands in
    next to the notebook (say ``efficientnn.py``) would otherwise be
    importable by the grading kernel and could stand in for the checker.
    Returns (names of notebooks copied, notes for the grade report).
    """
    expected = list(spec["notebooks"])
    sub = Path(spec["submission_dir"]) if spec.get("submission_dir") else None
    dest.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    if sub is None or not sub.is_dir():
        return [], ["no submission folder: scored 0"]

    present = {p.stem: p for p in sorted(sub.glob("*.ipynb")) if p.is_file()}
    chosen = {n: present[n] for n in expected if n in present}
    missing = [n for n in expected if n not in present]
    unknown = [n for n in present if n not in expected]
    if len(missing) == 1 and len(unknown) == 1 and not spec.get("strict_names"):
        # One notebook, one odd name: a renamed or duplicated copy ("toy (1)").
        chosen[missing[0]] = present[unknown[0]]
        notes.append(f"'{unknown[0]}.ipynb' graded as '{missing[0]}.ipynb' (please keep the released name)")
        missing, unknown = [], []
    for name in missing:
        found = ", ".join(f"'{n}.ipynb'" for n in unknown) or "no notebook"
        notes.append(f"'{name}.ipynb' missing (found {found}): scored 0")
    if not missing:  # with a notebook missing, the note above already names the others
        notes += [f"'{name}.ipynb' is not part of the assignment: ignored" for name in unknown]

    copied = []
    release_dir = Path(spec["release_dir"]) if spec.get("release_dir") else None
    for name, path in sorted(chosen.items()):
        problem = notebook_problem(path)
        if problem:
            notes.append(f"'{path.name}' {problem}: scored 0")
            continue
        released = release_dir / f"{name}.ipynb" if release_dir else None
        if released is not None and released.is_file():
            import nbformat
            from autograder.structure import restore

            nb = nbformat.read(str(path), as_version=4)
            notes += [f"{name}.ipynb: {n}" for n in restore(nb, nbformat.read(str(released), as_version=4))]
            nbformat.write(nb, str(dest / f"{name}.ipynb"))
        else:
            shutil.copyfile(path, dest / f"{name}.ipynb")
        copied.append(name)

    stamp = sub / "timestamp.txt"
    if copied and stamp.is_file():  # nbgrader (slow to import) only reads it for a gradable submission
        from nbgrader.utils import parse_utc
        text = stamp.read_text(errors="replace").strip()
        try:
            parse_utc(text)
        except (ValueError, OverflowError):
            notes.append(f"timestamp.txt is unreadable ({text[:40]!r}): ignored")
        else:
            shutil.copyfile(stamp, dest / "timestamp.txt")
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
            where = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
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


def _sandbox_env(spec: dict, work: Path, ledger: Path) -> None:
    """Point this process's kernels at the ledger and, if the batch uses one, the sandbox."""
    from autograder import audit, sandbox
    from efficientnn.quiz.ledger import NAMES_VARIABLE, PATH_VARIABLE

    sources = [Path(spec["source_dir"]) / f"{nb}.ipynb" for nb in spec["notebooks"]]
    os.environ[PATH_VARIABLE] = str(ledger)
    os.environ[NAMES_VARIABLE] = ",".join(audit.names_to_record([p for p in sources if p.is_file()]))
    box = spec.get("sandbox") or {}
    if box.get("mode") in ("root", "user"):
        path = work / "sandbox.json"
        path.write_text(json.dumps(dict(box, ledger=str(ledger)), indent=1))
        os.environ[sandbox.SPEC_VARIABLE] = str(path)


def _leave_sandbox_env() -> None:
    from autograder import sandbox
    from efficientnn.quiz.ledger import NAMES_VARIABLE, PATH_VARIABLE

    for var in (PATH_VARIABLE, NAMES_VARIABLE, sandbox.SPEC_VARIABLE):
        os.environ.pop(var, None)


def recheck(spec: dict, course: Path, db: Path, notebooks: list[str], ledger: Path) -> list[str]:
    """Re-check the graded cells in this (clean) process and lower the scores the kernel inflated.

    See :mod:`autograder.audit`. Updates the job's gradebook, adds a line to each changed cell
    of the autograded notebook (it shows in the feedback), and returns notes.
    """
    import nbformat
    from nbformat.notebooknode import NotebookNode

    from autograder import audit
    from autograder.gradebook import open_gradebook

    student, assignment = spec["student"], spec["assignment"]
    notes = []
    for nb in notebooks:
        source = Path(spec["source_dir"]) / f"{nb}.ipynb"
        graded_path = course / "autograded" / student / assignment / f"{nb}.ipynb"
        if not (source.is_file() and graded_path.is_file()):
            continue
        with open_gradebook(f"sqlite:///{db}") as gb:
            grades = gb.find_submission_notebook(nb, assignment, student).grades
            scores = {g.name: (g.auto_score, g.max_score) for g in grades}
        changes = audit.audit_notebook(source, graded_path, ledger, scores)
        if not changes:
            continue
        with open_gradebook(f"sqlite:///{db}") as gb:
            for change in changes:
                gb.find_grade(change.grade_id, nb, assignment, student).auto_score = change.clean_score
            gb.db.commit()
        graded = nbformat.read(str(graded_path), as_version=4)
        by_id = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c for c in graded.cells}
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


def autograde(spec: dict) -> dict:
    """Grade one submission in ``spec["workdir"]`` and write its feedback.

    Spec keys: ``student``, ``assignment``, ``notebooks`` (names expected),
    ``submission_dir`` (the student's folder, or null), ``source_dir``
    (``source/<a>``, for its non-notebook files and the clean re-check),
    ``release_dir`` (the released notebooks, to restore the submission's
    structure), ``template_db`` (a gradebook that holds the assignment),
    ``workdir`` (empty folder to work in), ``timeout`` (s per cell),
    ``memory_mb``, ``strict_names``, ``sandbox`` (the sandbox spec of
    :mod:`autograder.sandbox` without its ledger, or null).

    The workdir ends up as ``course/`` (nbgrader's submitted/, autograded/,
    feedback/ for this one student) and ``gradebook.db`` beside it. The kernel
    writes its checkers' records to ``ledger.jsonl``; after it has gone, this
    process re-checks the graded cells (:func:`recheck`). Result: ``{"status":
    "graded" | "failed" | "unreadable", "notes": [...], "log": str}``; on
    "graded" and "failed" the gradebook holds the submission's scores.
    """
    work = Path(spec["workdir"])
    student, assignment = spec["student"], spec["assignment"]
    course = work / "course"
    db = work / "gradebook.db"
    shutil.copyfile(spec["template_db"], db)
    copy_support_files(Path(spec["source_dir"]), course / "source" / assignment)
    copied, notes = collect_submission(spec, course / "submitted" / student / assignment)
    if not copied:
        return {"status": "unreadable", "notes": notes, "log": ""}

    from nbgrader.converters import Autograde, GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    overrides = {
        "CourseDirectory.root": str(course),
        "CourseDirectory.db_url": f"sqlite:///{db}",
        "CourseDirectory.assignment_id": assignment,
        "CourseDirectory.student_id": student,
        "ExecutePreprocessor.timeout": int(spec["timeout"]),
    }
    ledger = work / "ledger.jsonl"
    ledger.write_text("")
    _sandbox_env(spec, work, ledger)
    cfg = load_config(**overrides)
    app = Autograde(coursedir=CourseDirectory(config=cfg), config=cfg)
    app.force = True
    app.create_student = True
    try:
        result = _run(app)
    finally:
        _leave_sandbox_env()
    log = (result.get("log", "") + "\n" + result.get("error", "")).strip()
    autograded = course / "autograded" / student / assignment
    notes += diagnose(autograded, log, int(spec["timeout"]), int(spec["memory_mb"]))
    own_output = work / "worker.log"  # the kernel's stderr (and the sandbox launcher's) lands here
    sys.stderr.flush()
    if "autograder.sandbox: could not" in (own_output.read_text(errors="replace") if own_output.is_file() else ""):
        notes.append("the grading sandbox could not start the kernel: scored 0 (see the log)")
    if not result["success"]:
        if not any("kernel" in n or "sandbox" in n for n in notes):
            last = [line for line in log.splitlines() if line.strip()][-1:] or ["unknown error"]
            notes.append(f"nbgrader could not grade it ({last[0][:160]}): scored 0")
        return {"status": "failed", "notes": notes, "log": log}

    notes += recheck(spec, course, db, copied, ledger)
    cfg = load_config(**overrides)
    cfg.HTMLExporter.template_name = "feedback"
    feedback = GenerateFeedback(coursedir=CourseDirectory(config=cfg), config=cfg)
    feedback.force = True
    fb = _run(feedback)
    log += "\n" + (fb.get("log", "") + "\n" + fb.get("error", "")).strip()
    if not fb["success"]:
        notes.append("graded, but the feedback page could not be written")
    return {"status": "graded", "notes": notes, "log": log}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in ("generate", "autograde"):
        print("usage: python -m autograder.worker {generate,autograde} SPEC.json", file=sys.stderr)
        return 2
    command, spec_path = argv
    spec = json.loads(Path(spec_path).read_text())
    use_local_path()
    if command == "autograde":
        limit_memory(int(spec.get("memory_mb", 0)))
        try:
            result = autograde(spec)
        except MemoryError:
            result = {"status": "failed", "log": traceback.format_exc(),
                      "notes": [f"grading ran out of memory (limit {spec.get('memory_mb')} MB): scored 0"]}
        except Exception as exc:  # reported as this submission's problem, not the batch's
            result = {"status": "failed", "log": traceback.format_exc(),
                      "notes": [f"the grader failed on it ({type(exc).__name__}: {str(exc)[:160]}): scored 0"]}
    else:
        result = generate(spec)
    Path(spec["result"]).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
