"""``python -m autograder variant STUDENT ASSIGNMENT [--json]``: a student's variant questions and answers.

For instructors only: it prints the expected answers, computed now by
:mod:`efficientnn.quiz.variants` from the student id and the assignment (nothing is stored).

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

__all__ = ["INTEGRITY_COLUMNS", "variant_rows", "format_rows", "integrity_rows", "write_integrity_report",
           "add_commands"]

#: Columns of the integrity report (a CSV beside grades.csv, never shown to students).
INTEGRITY_COLUMNS = ("student", "assignment", "question", "matched_variant_of")


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
