"""The course gradebook: merging per-submission results into it, exporting it.

Each submission is graded into a private copy of a template gradebook (see
:mod:`autograder.worker`); only the parent process writes the course
gradebook, one submission at a time, so parallel grading never has two
writers on one SQLite file. Another program holding the file (a formgrader,
an ``nbgrader`` command) only delays a write: a locked database is retried
for up to :data:`LOCK_WAIT_S` seconds.

The course gradebook is a path (SQLite) or any SQLAlchemy URL nbgrader takes as
``db_url``, e.g. ``postgresql://grader@dbhost/course`` (see :func:`url`).
"""
from __future__ import annotations

import csv
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

#: Seconds a write waits for a gradebook another program has locked.
LOCK_WAIT_S = 120.0


def url(db) -> str:
    """The SQLAlchemy URL of a gradebook given as a path or as a URL."""
    text = str(db)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


def is_sqlite_file(db) -> bool:
    """True for a gradebook that is a local SQLite file (a path or a sqlite:/// URL)."""
    return "://" not in str(db) or str(db).startswith("sqlite:///")


@contextmanager
def setting_up(db):
    """Hold the right to add assignments to a shared database gradebook; ready it for nbgrader.

    Several grading processes (one per machine, or per share of a class) may start at once
    against one PostgreSQL (or other server) gradebook. Each adds the assignments to it, and
    two doing that at once would both insert them (a duplicate-key error) or both create the
    tables, so they take turns on a server-side advisory lock. The database also gets the
    course row nbgrader's assignments point to: nbgrader's default course id is ``""``, for
    which it never creates one, and unlike SQLite a server enforces the foreign key.
    For a SQLite file (one writer, locked by the file system) this does nothing.
    """
    if is_sqlite_file(db):
        yield
        return
    from sqlalchemy import text

    with connected(db) as con:
        locking = con.dialect.name == "postgresql"
        if locking:
            con.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _SETUP_LOCK})
            con.commit()
        try:
            with open_gradebook(db) as gb:
                _ensure_course(gb)
            yield
        finally:
            if locking:
                con.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _SETUP_LOCK})
                con.commit()


#: Key of the PostgreSQL advisory lock held while a grading run adds its assignments.
_SETUP_LOCK = 0x656E6E5F6772  # "enn_gr"


def _ensure_course(gb) -> None:
    from nbgrader.api import Course

    if gb.db.get(Course, "") is None:
        gb.db.add(Course(id=""))
        gb.db.commit()


def warm_up() -> None:
    """Import nbgrader's gradebook model and set up its mappers (about 1-2 s of one core).

    Grading calls it in a thread when a batch begins, while the other core starts the fork
    server, so the first merge does not take that second from the jobs running beside it.
    """
    import nbgrader.api  # noqa: F401  (defines the mapped classes)
    from sqlalchemy.orm import configure_mappers

    configure_mappers()


def sqlite_path(db) -> Path:
    text = str(db)
    return Path(text[len("sqlite:///"):] if text.startswith("sqlite:///") else text)


def _locked(exc: Exception) -> bool:
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


def retrying(action, wait_s: float | None = None):
    """Run ``action()``; while it fails because the database is locked, wait and try again."""
    wait_s = LOCK_WAIT_S if wait_s is None else wait_s
    from sqlalchemy.exc import OperationalError

    deadline, pause = time.monotonic() + wait_s, 0.05
    while True:
        try:
            return action()
        except OperationalError as exc:
            if not _locked(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 2.0)

#: nbgrader export's columns, in its order, then the grader's explanation.
COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
           "email", "raw_score", "late_submission_penalty", "score", "max_score", "note"]


@contextmanager
def open_gradebook(db):
    """nbgrader's Gradebook on ``db`` (a path or a URL), without SQLAlchemy's harmless warnings."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy's autoflush warnings; harmless.
        warnings.simplefilter("ignore", SAWarning)
        with Gradebook(url(db), "") as gb:
            yield gb


_open = open_gradebook


def merge(course_db, assignment: str, student: str, job_db: Path | None,
          timestamp: str | None = None) -> None:
    """Copy one student's automatic scores for ``assignment`` into the course gradebook.

    With ``job_db`` None (or holding no submission) every grade becomes 0: the
    submission could not be run. Manual scores and flags already in the course
    gradebook are kept, as nbgrader's own autograde keeps them. A locked
    gradebook is waited for (:func:`retrying`).
    """
    retrying(lambda: _merge(course_db, assignment, student, job_db, timestamp))


def _merge(course_db, assignment, student, job_db, timestamp) -> None:
    from nbgrader.api import MissingEntry

    source = None
    with _open(course_db) as gb:
        if job_db is not None:
            with _open(job_db) as jb:
                try:
                    sub = jb.find_submission(assignment, student)
                except MissingEntry:
                    pass
                else:
                    source = {
                        "timestamp": sub.timestamp,
                        "grades": {(g.notebook.name, g.name): (g.auto_score, g.needs_manual_grade)
                                   for nb in sub.notebooks for g in nb.grades},
                        "comments": {(c.notebook.name, c.name): c.auto_comment
                                     for nb in sub.notebooks for c in nb.comments},
                        "penalty": {nb.name: nb.late_submission_penalty for nb in sub.notebooks},
                    }
        gb.update_or_create_student(student)
        stamp = source["timestamp"] if source and source["timestamp"] else _parse_time(timestamp)
        sub = gb.update_or_create_submission(assignment, student, **({"timestamp": stamp} if stamp else {}))
        for nb in sub.notebooks:
            for grade in nb.grades:
                auto, manual = (source or {}).get("grades", {}).get((nb.name, grade.name), (0.0, False))
                grade.auto_score = 0.0 if source is None else auto
                grade.needs_manual_grade = False if source is None else manual
            for comment in nb.comments:
                comment.auto_comment = (source or {}).get("comments", {}).get((nb.name, comment.name))
            nb.late_submission_penalty = (source or {}).get("penalty", {}).get(nb.name)
        gb.db.commit()


def _parse_time(text: str | None):
    """A timestamp.txt value as nbgrader reads it, or None if it cannot be read."""
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text) if text else None
    except (ValueError, OverflowError):
        return None


def copy_duedates(course_db, template: Path) -> None:
    """Give the template the due dates set in the course gradebook.

    The template is rebuilt from source/ on every run, so a due date an
    instructor set (``nbgrader db assignment add A --duedate=...``) lives only
    in the course gradebook; nbgrader's late-penalty step reads it from the
    gradebook a submission is graded in.
    """
    if not retrying(lambda: _any_duedate(course_db)):
        return  # the usual case, settled without importing nbgrader (a second, before any job starts)
    from nbgrader.api import MissingEntry

    def read():
        with _open(course_db) as gb:
            return {a.name: a.duedate for a in gb.assignments if a.duedate is not None}

    dates = retrying(read)
    if not dates:
        return
    with _open(template) as gb:
        for name, date in dates.items():
            try:
                gb.find_assignment(name).duedate = date
            except MissingEntry:
                continue
        gb.db.commit()


@contextmanager
def connected(db):
    """A plain SQLAlchemy connection to a gradebook (a path or URL), without importing nbgrader."""
    from sqlalchemy import create_engine

    engine = create_engine(url(db), future=True)
    try:
        with engine.connect() as con:
            yield con
    finally:
        engine.dispose()


def _any_duedate(db) -> bool:
    """Whether any assignment in the gradebook has a due date (plain SQL on nbgrader's table)."""
    from sqlalchemy import text

    with connected(db) as con:
        return con.execute(text("SELECT COUNT(*) FROM assignment WHERE duedate IS NOT NULL")).scalar() > 0


def rows(course_db, notes: dict[tuple[str, str], str]) -> list[dict]:
    """One row per assignment and student, as nbgrader export writes them, plus ``note``.

    ``notes`` maps (assignment, student) to the explanation shown in ``note``.
    A student without a submission scores 0, as in nbgrader export.
    """
    return retrying(lambda: _rows(course_db, notes))


def _rows(course_db, notes):
    from nbgrader.api import MissingEntry

    out = []
    with _open(course_db) as gb:
        for assignment in gb.assignments:
            for student in gb.students:
                row = {
                    "assignment": assignment.name, "duedate": assignment.duedate,
                    "student_id": student.id, "last_name": student.last_name,
                    "first_name": student.first_name, "email": student.email,
                    "max_score": assignment.max_score,
                    "note": notes.get((assignment.name, student.id), ""),
                }
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.update(timestamp=None, raw_score=0.0, late_submission_penalty=0.0, score=0.0)
                    row["note"] = row["note"] or "no submission"
                else:
                    penalty = sub.late_submission_penalty
                    row.update(timestamp=sub.timestamp, raw_score=sub.score,
                               late_submission_penalty=penalty,
                               score=max(0.0, sub.score - penalty))
                    late = sub.total_seconds_late or 0
                    if late > 0:
                        row["note"] = "; ".join(filter(None, [row["note"], f"late by {late / 3600:.1f} h"]))
                    if sub.needs_manual_grade and "manual" not in row["note"]:
                        row["note"] = "; ".join(filter(None, [row["note"], "needs manual grading"]))
                out.append({k: ("" if v is None else str(v)) for k, v in row.items()})
    return out


def write_csv(path: Path, table: list[dict]) -> None:
    """Write rows from :func:`rows` as CSV with nbgrader's columns plus ``note``."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(table)
