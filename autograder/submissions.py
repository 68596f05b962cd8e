"""Reading a SUBMISSIONS folder as data: every entry accounted for, no link ever followed.

A class hands in ``SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb``. Whatever else is in
there is the students' doing, so this module looks at each entry with ``lstat`` and never
follows a symbolic link: a link (to the instructor's ``source/``, say), a device, a FIFO, a
socket, or a hard link to a file outside the submission gets the submission *refused* (scored 0
with a note); an entry that is not a submission at all (a stray file, an unknown assignment, an
editor's cache folder) is *skipped* with its reason. :func:`find` returns all three lists, so a
run can end by counting every entry: graded, refused (why), skipped (why).

Notes name an entry only by :func:`shown`, an escaped, length-capped file name: no byte of any
file but the notebook reaches a note or a report.

Example
-------
>>> shown("notes\\n.txt")
"'notes\\\\n.txt'"
>>> len(shown("x" * 1000))
53
"""
from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from autograder.job import Submission
from autograder.settings import GradingError, is_debris

#: Characters of a file name a note shows.
NAME_CHARS = 48


def shown(name: str) -> str:
    """A file name as a note may show it: escaped (repr) and at most :data:`NAME_CHARS` characters."""
    text = str(name)
    return repr(text[:NAME_CHARS] + "...") if len(text) > NAME_CHARS else repr(text)


def _kind(mode: int) -> str | None:
    """What is wrong with an entry of this mode, or None for a plain file or folder."""
    if stat.S_ISLNK(mode):
        return "is a symbolic link (not followed)"
    if stat.S_ISFIFO(mode):
        return "is a FIFO"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device"
    return None


def problems(folder: Path) -> list[tuple[str, str]]:
    """Why ``folder`` (one submission) must be refused: (entry as :func:`shown`, what it is) for each
    entry that is not a plain file or folder, or is a hard link to a file outside the submission.
    Empty when it is fine."""
    found, inodes, files = [], {}, []
    kind = _kind(os.lstat(folder).st_mode)
    if kind:
        return [(f"the folder {shown(folder.name)}", kind)]
    for top, dirs, names in os.walk(folder, followlinks=False):
        for name in dirs + names:
            path = Path(top) / name
            info = os.lstat(path)
            rel = path.relative_to(folder).as_posix()
            kind = _kind(info.st_mode)
            if kind:
                found.append((shown(rel), kind))
            elif stat.S_ISREG(info.st_mode):
                key = (info.st_dev, info.st_ino)
                inodes[key] = inodes.get(key, 0) + 1
                files.append((rel, key, info.st_nlink))
    for rel, key, links in files:
        if links > inodes[key]:
            found.append((shown(rel), "is a hard link to a file outside the submission"))
    return found


def copy(src: Path, dest: Path) -> None:
    """Copy a submission that :func:`problems` found clean, still never following a link."""
    if dest.exists() or dest.is_symlink():
        shutil.rmtree(dest) if dest.is_dir() and not dest.is_symlink() else dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dest, symlinks=True)


@dataclass
class Found:
    """What :func:`find` made of a SUBMISSIONS folder."""
    jobs: list[Submission] = field(default_factory=list)
    refused: list[tuple[Submission, list[tuple[str, str]]]] = field(default_factory=list)  # (entry, why) each
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entry, why)


def find(submissions: Path, known: list[str], students=None, assignments=None) -> Found:
    """Every entry of ``submissions`` (nbgrader's ``SUBMISSIONS/<student>/<assignment>/``), sorted
    into submissions to grade, submissions refused (with why) and entries skipped (with why)."""
    if not submissions.is_dir():
        raise GradingError(f"no submissions folder at {submissions} "
                           "(expected SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb)")
    found = Found()
    for student_dir in sorted(submissions.iterdir()):
        name = student_dir.name
        mode = os.lstat(student_dir).st_mode
        if is_debris(name):
            found.skipped.append((shown(name), "editor or cache files, not a student"))
        elif _kind(mode):
            found.skipped.append((shown(name), f"{_kind(mode)}, where a student folder belongs"))
        elif not stat.S_ISDIR(mode):
            found.skipped.append((shown(name), "a file where a student folder belongs"))
        elif students and name not in students:
            found.skipped.append((shown(name), "not asked for (--student)"))
        else:
            _student(found, student_dir, known, assignments)
    return found


def _student(found: Found, student_dir: Path, known: list[str], assignments) -> None:
    entries = sorted(student_dir.iterdir())
    if not entries:
        found.skipped.append((shown(student_dir.name), "an empty student folder"))
    for folder in entries:
        where = f"{shown(student_dir.name)}/{shown(folder.name)}"
        mode = os.lstat(folder).st_mode
        if is_debris(folder.name):
            found.skipped.append((where, "editor or cache files"))
        elif folder.name not in known:
            found.skipped.append((where, "no assignment of that name in source/"))
        elif assignments and folder.name not in assignments:
            found.skipped.append((where, "not asked for (--assignment)"))
        elif not stat.S_ISDIR(mode) and not _kind(mode):
            found.skipped.append((where, "a file where an assignment folder belongs"))
        else:
            submission = Submission(student_dir.name, folder.name, folder)
            why = problems(folder)
            if why:
                found.refused.append((submission, why))
            else:
                found.jobs.append(submission)
