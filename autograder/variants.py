"""Per-student variants for instructors: the ``variant`` command and the integrity report.

``python -m autograder variant STUDENT ASSIGNMENT [--json]`` prints a student's variant questions
and their expected answers, computed now by :mod:`efficientnn.quiz.variants` from the student id
and the assignment (nothing is stored).

While grading, each worker writes the variant answers its kernel's checkers recorded
(:func:`write_variant_answers`, from the ledger); the grading parent compares them with every
classmate's variant and writes ``integrity.csv`` beside ``grades.csv``
(:func:`update_integrity_report`): the answers that are wrong for the student's own variant and
right for someone else's. The report is for the instructor; it never reaches a feedback page.

Example
-------
>>> rows = variant_rows("ana", "02-base-cnn")
>>> rows[0]["question"], rows[0]["kind"]
('variant_conv1_output_shape', 'output_shape')
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

__all__ = ["INTEGRITY_COLUMNS", "INTEGRITY_FILE", "ANSWERS_FILE", "variant_rows", "format_rows", "integrity_rows",
           "write_integrity_report", "answers_from_ledger", "write_variant_answers", "read_variant_answers",
           "roster", "update_integrity_report", "add_commands"]

#: Columns of the integrity report (a CSV beside grades.csv, never shown to students).
INTEGRITY_COLUMNS = ("student", "assignment", "question", "matched_variant_of")
#: The integrity report's name, in the course folder beside grades.csv.
INTEGRITY_FILE = "integrity.csv"
#: What a grading worker leaves in its job folder: the variant answers the kernel's checkers recorded.
ANSWERS_FILE = "variant-answers.json"


def variant_rows(student: str, assignment: str) -> list[dict]:
    """One row per variant question: question, kind, points, prompt, answer (a shape as a list).

    Raises
    ------
    ValueError
        If the assignment has no variants or the student id is empty.
    """
    from efficientnn.quiz.questions import expected
    from efficientnn.quiz.variants import variant

    rows = []
    for name, question in variant(student, assignment).items():
        answer = expected(question)
        rows.append({"question": name, "kind": question.kind, "points": question.points,
                     "prompt": question.prompt(), "answer": list(answer) if isinstance(answer, tuple) else answer})
    return rows


def _shown(answer) -> str:
    if isinstance(answer, list):
        return "x".join(str(d) for d in answer)
    return f"{answer:.6g}" if isinstance(answer, float) else str(answer)


def format_rows(student: str, assignment: str, rows: list[dict]) -> str:
    """The rows as text: each question's prompt, then its expected answer."""
    lines = [f"variant of {assignment} for student {student}:"]
    for row in rows:
        lines += ["", f"{row['question']} ({row['kind']}, {row['points']:g} point(s))", f"  {row['prompt']}",
                  f"  expected: {_shown(row['answer'])}"]
    return "\n".join(lines)


def integrity_rows(assignment: str, answers: dict, roster) -> list[dict]:
    """The answers that are right for another student's variant and not for the student's own.

    Parameters
    ----------
    assignment : str, e.g. "02-base-cnn"
    answers : dict of student id -> {variant question name -> the answer handed in}
    roster : iterable of str, the class (whose variants an answer is compared with)

    Returns
    -------
    list of dict with :data:`INTEGRITY_COLUMNS`, one per (student, question, source), sorted

    Example
    -------
    >>> from efficientnn.quiz.questions import expected
    >>> from efficientnn.quiz.variants import variant
    >>> copied = expected(variant("ben", "02-base-cnn")["variant_fc1_flops"])
    >>> integrity_rows("02-base-cnn", {"ana": {"variant_fc1_flops": copied}}, ["ana", "ben"])
    [{'student': 'ana', 'assignment': '02-base-cnn', 'question': 'variant_fc1_flops', 'matched_variant_of': 'ben'}]
    """
    from efficientnn.quiz.variants import answer_sources

    roster = list(roster)
    rows = []
    for student, handed_in in answers.items():
        for question, answer in handed_in.items():
            rows += [{"student": student, "assignment": assignment, "question": question,
                      "matched_variant_of": source}
                     for source in answer_sources(assignment, question, answer, student, roster)]
    return sorted(rows, key=lambda r: tuple(r.values()))


def write_integrity_report(path, rows) -> Path:
    """Write ``rows`` (from :func:`integrity_rows`) as a CSV with a header; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=INTEGRITY_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def answers_from_ledger(path, assignment: str) -> dict:
    """{variant question: the answer handed in} from a kernel's ledger (what its checkers recorded).

    The answer to ``variant_x`` is the recorded value of the notebook variable ``answer_variant_x``
    (:func:`efficientnn.quiz.variants.answer_variable`); cells whose records disagree are skipped.
    """
    from autograder.audit import read_ledger
    from efficientnn.quiz import ledger
    from efficientnn.quiz.variants import ASSIGNMENTS, answer_variable, draw

    if assignment not in ASSIGNMENTS:
        return {}
    wanted = {answer_variable(name): name for name in draw("instructor", assignment).questions}
    answers = {}
    for entry in read_ledger(Path(path)).values():
        if entry["conflict"] or not entry["names"]:
            continue
        for variable, encoded in entry["names"].items():
            if variable in wanted and wanted[variable] not in answers and encoded[:1] != ["fn"]:
                try:
                    answers[wanted[variable]] = ledger.decode(encoded)
                except Exception:  # an unreadable record: that answer cannot be compared
                    continue
    return answers


def write_variant_answers(job) -> Path | None:
    """Write :data:`ANSWERS_FILE` in a grading job's folder from its ledger (None when it has no variants)."""
    from efficientnn.quiz import ledger

    answers = answers_from_ledger(job.ledger, job.assignment)
    if not answers:
        return None
    path = Path(job.workdir) / ANSWERS_FILE
    path.write_text(json.dumps({name: ledger.encode(value) for name, value in answers.items()}))
    return path


def read_variant_answers(workdir) -> dict:
    """The answers :func:`write_variant_answers` left in ``workdir`` ({} when none or unreadable)."""
    from efficientnn.quiz import ledger

    path = Path(workdir) / ANSWERS_FILE
    try:
        return {str(k): ledger.decode(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def roster(course, assignment: str) -> list[str]:
    """The students with a submission of ``assignment`` in ``course/submitted`` (whose variants answers are compared with)."""
    folder = Path(course) / "submitted"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / assignment).is_dir() and not (p / assignment).is_symlink())


def update_integrity_report(course, answers: dict, rosters: dict) -> Path:
    """Rewrite ``course/integrity.csv`` with the rows of the students graded now.

    Parameters
    ----------
    course : the course folder (the report goes beside its grades.csv)
    answers : {assignment: {student: {variant question: answer}}}, the students graded in this run
    rosters : {assignment: iterable of student ids}, the class an answer is compared with

    Rows of students not graded in this run are kept; a regraded student's rows are replaced.
    """
    path = Path(course) / INTEGRITY_FILE
    kept = []
    if path.is_file():
        with path.open(newline="") as f:
            kept = [row for row in csv.DictReader(f)
                    if row.get("student") not in answers.get(row.get("assignment"), {})]
    rows = [{k: row.get(k, "") for k in INTEGRITY_COLUMNS} for row in kept]
    for assignment, by_student in answers.items():
        rows += integrity_rows(assignment, by_student, rosters.get(assignment, by_student))
    return write_integrity_report(path, sorted(rows, key=lambda r: tuple(r.values())))


def _run(root, args) -> int:
    import sys

    try:
        rows = variant_rows(args.student, args.assignment)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"student": args.student, "assignment": args.assignment, "questions": rows}, indent=1))
    else:
        print(format_rows(args.student, args.assignment, rows))
    return 0


def add_commands(sub) -> None:
    """Add ``variant`` to ``python -m autograder``'s subcommands."""
    v = sub.add_parser("variant", help="print a student's variant questions and their expected answers",
                       description="Print STUDENT's variant of ASSIGNMENT's graded questions (derived from the "
                                   "student id) with the expected answers. For instructors: never share the output.")
    v.add_argument("student", metavar="STUDENT", help="the student id (the submission folder's name)")
    v.add_argument("assignment", metavar="ASSIGNMENT", help="e.g. 02-base-cnn")
    v.add_argument("--json", action="store_true", help="print JSON instead of text")
    v.set_defaults(run=_run)
