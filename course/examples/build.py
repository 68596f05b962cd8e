"""Build the example class: one submitted notebook per student and assignment, generated.

Each assignment has a file ``course/examples/answers/<assignment>.py`` that defines::

    STUDENTS = {
        "alice": "solution",             # the source notebook's solutions: full marks
        "bob": "blank",                  # the released notebook, untouched: zero
        "carol": {"<grade_id>": "<cell source>", ...},   # these answer cells replaced
        "dave": {"__base__": "solution", "<grade_id>": "..."},
    }

A dict starts from the released notebook (every answer cell still a stub) and replaces the source
of the answer cells it names by ``grade_id``; with ``"__base__": "solution"`` it starts from the
solutions instead, and ``"__student_id__": "ana"`` writes ``STUDENT_ID = "ana"`` in the notebook's
marked id cell (an assignment with per-student variants; the grader still grades the variant of
the student's folder). An optional ``DESCRIPTIONS = {"carol": "the lesson's slips", ...}`` documents
what each student shows. Wrong answers may be typed there; right ones are written as formulas,
like the solutions, since no answer key is ever typed.

Writes ``course/examples/submitted/<student>/<assignment>/<assignment>.ipynb`` and a
``timestamp.txt`` next to it; the same inputs always give the same bytes.

Usage (from the repository root; release/ must be up to date)::

    python course/examples/build.py                  # every assignment with an answers file
    python course/examples/build.py 01-measuring-cost
    python course/examples/build.py --check          # exit 1 if submitted/ is out of date

Importable too: ``build(root, assignments=None) -> list[Path]``.
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import re
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
#: The submission time written to every example's timestamp.txt (fixed: reproducible output).
TIMESTAMP = "2025-01-15 12:00:00.000000 UTC"
BASES = ("solution", "blank")
#: The cell id of the marked cell where a student writes STUDENT_ID (notebooks with variants).
STUDENT_ID_CELL = "variant-student-id"
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


class BuildError(ValueError):
    """An answers file or notebook does not fit together (unknown grade_id, missing release, ...)."""


def answer_files(root: Path = ROOT) -> dict[str, Path]:
    """Assignment name -> its answers file, for every ``answers/<assignment>.py``."""
    folder = root / "course" / "examples" / "answers"
    return {p.stem: p for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")}


def load_students(path: Path) -> dict:
    """The ``STUDENTS`` dict of an answers file, validated."""
    spec = importlib.util.spec_from_file_location(f"_answers_{path.stem.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    students = getattr(module, "STUDENTS", None)
    if not isinstance(students, dict) or not students:
        raise BuildError(f"{path} must define a non-empty dict STUDENTS.")
    for student, plan in students.items():
        if not re.fullmatch(r"[a-z0-9_]+", student):
            raise BuildError(f"{path}: student name {student!r} must be lower-case letters, digits or _.")
        if isinstance(plan, str) and plan not in BASES:
            raise BuildError(f"{path}: {student} is {plan!r}; expected 'solution', 'blank' or a dict.")
        if isinstance(plan, dict) and plan.get("__base__", "blank") not in BASES:
            raise BuildError(f"{path}: {student}'s __base__ must be 'solution' or 'blank'.")
        if not isinstance(plan, (str, dict)):
            raise BuildError(f"{path}: {student} must be 'solution', 'blank' or a dict of grade_id -> source.")
    return students


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_answer(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("solution")) and not meta.get("grade")


def strip_markers(source: str) -> str:
    """A solution cell's source without its ``### BEGIN/END SOLUTION`` lines, as a student would type it."""
    return "\n".join(line for line in source.splitlines() if not _MARKER.match(line))


def submission(release, source, plan):
    """The notebook a student following ``plan`` hands in (a new notebook; inputs are not changed)."""
    nb = copy.deepcopy(release)
    answers = {_grade_id(c): c for c in nb.cells if _is_answer(c)}
    solutions = {_grade_id(c): c.source for c in source.cells if _is_answer(c)}
    if set(answers) != set(solutions):
        raise BuildError("the release and source notebooks have different answer cells: "
                         f"{sorted(set(answers) ^ set(solutions))}; regenerate release/.")
    base = plan if isinstance(plan, str) else plan.get("__base__", "blank")
    if base == "solution":
        for gid, cell in answers.items():
            cell.source = strip_markers(solutions[gid])
    if isinstance(plan, dict):
        for gid, text in plan.items():
            if gid in ("__base__", "__student_id__"):
                continue
            if gid not in answers:
                raise BuildError(f"no answer cell with grade_id {gid!r}; the answer cells are {sorted(answers)}.")
            answers[gid].source = text.strip("\n")
    if isinstance(plan, dict) and "__student_id__" in plan:
        marked = [c for c in nb.cells if c.get("id") == STUDENT_ID_CELL]
        if not marked:
            raise BuildError(f"__student_id__ given, but the notebook has no cell with id {STUDENT_ID_CELL!r}.")
        marked[0].source = f"STUDENT_ID = {plan['__student_id__']!r}"
    for cell in nb.cells:  # a fresh hand-in: nothing run yet
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def build(root: Path = ROOT, assignments=None, out: Path | None = None, check: bool = False) -> list:
    """Write (or, with ``check``, compare) the example submissions.

    Parameters
    ----------
    root : the repository (holding release/, source/ and course/examples/answers/)
    assignments : names, default every assignment with an answers file
    out : folder of student folders, default ``root/course/examples/submitted``
    check : write nothing; return the paths that are missing or differ

    Returns
    -------
    list of Path, the files written (or, with ``check``, the stale ones)
    """
    root = Path(root)
    out = Path(out) if out else root / "course" / "examples" / "submitted"
    files = answer_files(root)
    names = list(assignments) if assignments else list(files)
    unknown = [a for a in names if a not in files]
    if unknown:
        raise BuildError(f"no answers file for {unknown} in {root / 'course/examples/answers'}.")
    result = []
    for a in names:
        release_path = root / "release" / a / f"{a}.ipynb"
        source_path = root / "source" / a / f"{a}.ipynb"
        for path, what in ((release_path, "python -m autograder release"), (source_path, "the source notebook")):
            if not path.is_file():
                raise BuildError(f"{path} is missing ({what}).")
        release = nbformat.read(release_path, as_version=4)
        source = nbformat.read(source_path, as_version=4)
        for student, plan in load_students(files[a]).items():
            folder = out / student / a
            text = nbformat.writes(submission(release, source, plan))
            wanted = {folder / f"{a}.ipynb": text if text.endswith("\n") else text + "\n",
                      folder / "timestamp.txt": TIMESTAMP + "\n"}
            for path, text in wanted.items():
                if check:
                    if not path.is_file() or path.read_text() != text:
                        result.append(path)
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                result.append(path)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate the example class from course/examples/answers/.")
    parser.add_argument("assignments", nargs="*", help="default: every assignment with an answers file")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if submitted/ is stale")
    args = parser.parse_args(argv)
    try:
        paths = build(args.root, args.assignments or None, check=args.check)
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.check:
        if paths:
            print("out of date (run python course/examples/build.py):\n" + "\n".join(f"  {p}" for p in paths))
            return 1
        print("course/examples/submitted matches the answers files")
        return 0
    print("\n".join(f"wrote {p.relative_to(args.root) if p.is_relative_to(args.root) else p}" for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
