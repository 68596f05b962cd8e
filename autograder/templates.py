"""Generated templates kept between grading runs, so nbgrader's generate step runs once per source.

Every grading run needs, for the assignments it grades, a *template* gradebook (the graded
cells, their points and checksums, as ``nbgrader generate_assignment`` writes them from
``source/``) and the released notebooks (to restore a submission's locked cells). Building them
is the one step of a run that cannot run in parallel: two ``generate_assignment`` runs (the
template and the course gradebook), 1.5 to 3 s on an idle 2-core machine, before any
submission starts. Plain nbgrader has the same step, ``nbgrader generate_assignment``, and an
instructor runs it once, not once per grading run.

So the first run stores what it generated under ``course/.cache/templates/<key>/``, where the
key is a SHA-256 of everything the output depends on: the bytes and relative paths of every
file of the assignments' source folders, nbgrader's version and the grader's own nbgrader
configuration and preprocessors. A later run with the same key copies them instead of
generating. The course gradebook is brought up to date only when it differs from the template
(:func:`course_matches`: same notebooks, graded cells, points and cell checksums); a gradebook
that an instructor deleted, or one made by another ``source/``, is generated again as before.

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> root = Path(tempfile.mkdtemp())
>>> (root / "a1").mkdir(); _ = (root / "a1" / "a1.ipynb").write_text("{}")
>>> key(root, ["a1"]) == key(root, ["a1"])
True
>>> _ = (root / "a1" / "a1.ipynb").write_text('{"changed": 1}')
>>> len(key(root, ["a1"]))
64
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from autograder.settings import CONFIG_FILE, files_under

__all__ = ["KEEP", "key", "restore", "store", "shape", "course_matches"]

#: How many generated templates a course keeps (the newest; older ones are deleted).
KEEP = 8
#: The grader's files that shape what generate_assignment writes.
_GRADER_FILES = (CONFIG_FILE, Path(__file__).with_name("preprocessors.py"))


def key(source: Path, assignments: list[str]) -> str:
    """SHA-256 (hex) of the assignments' source files, nbgrader's version and the grader's configuration."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"nbgrader {version('nbgrader')}\n".encode())
    for extra in _GRADER_FILES:
        digest.update(extra.name.encode() + b"\0" + extra.read_bytes() + b"\0")
    for a in sorted(assignments):
        for rel in sorted(files_under(Path(source) / a)):
            digest.update(f"{a}/{rel}".encode() + b"\0" + (Path(source) / a / rel).read_bytes() + b"\0")
    return digest.hexdigest()


def restore(entry: Path, template: Path, release: Path) -> bool:
    """Copy a stored template gradebook and release folder; False if ``entry`` holds none."""
    db, released = entry / "template.db", entry / "release"
    if not (db.is_file() and (entry / "complete").is_file()):
        return False
    shutil.copyfile(db, template)
    shutil.copytree(released, release, dirs_exist_ok=True)
    entry.touch()  # newest use, for pruning
    return True


def store(entry: Path, template: Path, release: Path) -> None:
    """Keep ``template`` and ``release`` under ``entry``; delete all but the :data:`KEEP` newest entries."""
    partial = entry.with_name(entry.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    shutil.copyfile(template, partial / "template.db")
    shutil.copytree(release, partial / "release")
    (partial / "complete").write_text("")
    shutil.rmtree(entry, ignore_errors=True)
    partial.rename(entry)  # whole or absent: a run stopped half-way leaves no half entry
    entries = sorted((p for p in entry.parent.iterdir() if p.is_dir() and not p.name.endswith(".partial")),
                     key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)
    for old in entries[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)


# What grading reads of an assignment in a gradebook, in nbgrader's tables: its notebooks, graded
# and task cells with their points, and every source cell with its checksum. Plain SQL, so that the
# check before a batch starts does not have to import nbgrader (a second on an idle machine).
_QUERIES = {
    "notebooks": "SELECT n.name FROM assignment a JOIN notebook n ON n.assignment_id = a.id WHERE a.name = :a",
    "cells": ("SELECT n.name, b.name, b.type, g.max_score, g.cell_type, t.max_score, t.cell_type "
              "FROM assignment a JOIN notebook n ON n.assignment_id = a.id "
              "JOIN base_cell b ON b.notebook_id = n.id LEFT JOIN grade_cells g ON g.id = b.id "
              "LEFT JOIN task_cells t ON t.id = b.id WHERE a.name = :a"),
    "sources": ("SELECT n.name, s.name, s.checksum, s.locked, s.cell_type "
                "FROM assignment a JOIN notebook n ON n.assignment_id = a.id "
                "JOIN source_cell s ON s.notebook_id = n.id WHERE a.name = :a"),
}


def _normal(value):
    return bool(value) if isinstance(value, bool) else (float(value) if isinstance(value, (int, float)) else value)


def shape(db, assignments: list[str]):
    """The graded structure of ``assignments`` in a gradebook (a path or URL), comparable with ``==``.

    None when the gradebook lacks one of them (or is no nbgrader gradebook at all).
    """
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    from autograder.gradebook import _locked, connected, is_sqlite_file, sqlite_path

    if is_sqlite_file(db) and not sqlite_path(db).is_file():
        return None  # connecting would create an empty file
    try:
        with connected(db) as con:
            out = []
            for a in assignments:
                rows = {name: sorted((tuple(_normal(v) for v in row) for row in con.execute(text(sql), {"a": a})),
                                     key=repr) for name, sql in _QUERIES.items()}
                if not rows["notebooks"]:
                    return None
                out.append(rows)
            return out
    except DatabaseError as exc:  # no such table: not a gradebook nbgrader has written
        if _locked(exc):
            raise  # for retrying: another program is writing it
        return None


def course_matches(course_db, template: Path, assignments: list[str]) -> bool:
    """True if the course gradebook holds every assignment exactly as the template does."""
    from autograder.gradebook import retrying

    ours = shape(template, assignments)
    return ours is not None and retrying(lambda: shape(course_db, assignments)) == ours
