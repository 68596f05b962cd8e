"""Canvas and Moodle: their "download all submissions" zips in, a gradebook CSV and feedback out.

An LMS names every file of its zip after the student who uploaded it:

=======  ==========================================================================
Canvas   ``doejohn_1234_567890_02-base-cnn.ipynb``: name (last then first, lower
         case, letters only), Canvas user ID, submission ID, the uploaded name;
         ``doejohn_LATE_1234_...`` for a late one, ``...-1.ipynb`` for a clash.
Moodle   ``John Doe_4321_assignsubmission_file_02-base-cnn.ipynb``: full name,
         participant ID, the submission plugin, the uploaded name; with
         "download submissions in folders" the part after the plugin is a folder.
=======  ==========================================================================

:func:`import_zip` tells the two apart by these names, maps each student to a
course student id (a roster CSV, else a name derived from the LMS name), and
places ``SUBMISSIONS/<student>/<A>/<A>.ipynb`` for ``python -m autograder grade``.
It never extracts a path the zip names: it reads each member (at most
:data:`LIMITS` bytes) and writes it under a name it built itself, so ``../``,
absolute paths and links in the zip cannot reach outside the course folder;
they, duplicates, non-notebooks, unknown names and oversized members each get a
note, and every student the zip or the roster names gets a line.

:func:`export_grades` turns ``COURSE/grades.csv`` into the file the LMS imports
(:class:`Canvas`: its gradebook CSV; :class:`Moodle`: its grading worksheet)
and copies each student's feedback page under a name the LMS's "upload
feedback files" matches to the student, zipped for upload.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from autograder.settings import GradingError

#: Student ids this module writes as folder names: letters, digits, ``._-``; no leading dot.
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class LmsError(GradingError):
    """The zip, roster or grades file cannot be used at all (the message says why)."""


@dataclass(frozen=True)
class Limits:
    """How much of a zip is read: larger members are skipped with a note (zip bombs).

    Sizes in bytes; ``ratio`` is the largest uncompressed/compressed size accepted
    for members above 1 MiB (a notebook with repeated output compresses about 10x).
    """
    member_bytes: int = 20 * 2**20
    total_bytes: int = 1 * 2**30
    members: int = 10_000
    ratio: int = 200


LIMITS = Limits()


@dataclass
class Entry:
    """One member of an LMS zip, as the LMS named it.

    ``person`` is the LMS's id of the student (Canvas user ID, Moodle participant
    ID), ``name`` the name the LMS wrote, ``prefix`` the part of the member name
    that identifies the student (the LMS matches feedback files by it).
    """
    member: str
    person: str
    name: str
    filename: str
    prefix: str
    late: bool = False
    order: tuple = ()


# --------------------------------------------------------------------------- naming conventions
class Lms:
    """A learning management system's file-name and gradebook conventions."""
    key = ""
    title = ""
    pattern = re.compile(r"(?!)")
    convention = ""

    def parse(self, member: str) -> Entry | None:
        """The :class:`Entry` a member name describes, or None if it follows other rules."""
        raise NotImplementedError

    def default_student_id(self, entry: Entry) -> str:
        """A course student id for someone not in a roster: the LMS name, made folder-safe."""
        slug = re.sub(r"[^a-z0-9]+", "-", entry.name.lower()).strip("-") or "student"
        return f"{slug}-{entry.person}"[:64]

    def name_keys(self, name: str) -> set[str]:
        """Forms of a roster name this LMS may write, for matching by name."""
        words = re.findall(r"[a-z0-9]+", name.lower())
        return {"".join(words[i:] + words[:i]) for i in range(len(words))}

    def feedback_name(self, person: dict, assignment: str, notebook: str) -> str:
        """The file name under which the LMS hands a feedback page back to ``person``."""
        raise NotImplementedError

    def gradebook(self, rows: list[dict], assignment: str, column: str | None, max_score: float) -> str:
        """The CSV text the LMS's grade import reads; ``rows`` hold person and score."""
        raise NotImplementedError


class Canvas(Lms):
    """Canvas: ``lastfirst_[LATE_]userid_submissionid_filename``.

    Examples
    --------
    >>> e = Canvas().parse("doejohn_LATE_1234_567890_02-base-cnn-1.ipynb")
    >>> (e.person, e.name, e.filename, e.late)
    ('1234', 'doejohn', '02-base-cnn-1.ipynb', True)
    """
    key = "canvas"
    title = "Canvas"
    pattern = re.compile(r"(?P<name>[a-z0-9]+)_(?P<late>LATE_)?(?P<person>\d+)_(?P<sub>\d+)_(?P<file>[^/]+)")
    convention = "lastfirst_USERID_SUBMISSIONID_file (Canvas)"

    def parse(self, member):
        m = self.pattern.fullmatch(member)
        if m is None:
            return None
        prefix = member[:m.start("file")]
        return Entry(member, m["person"], m["name"], m["file"], prefix, bool(m["late"]), (int(m["sub"]),))

    def default_student_id(self, entry):
        return f"{entry.name}-{entry.person}"[:64]

    def feedback_name(self, person, assignment, notebook):
        # Canvas's bulk "upload submission comments" finds the student by the user ID in the
        # downloaded name, so the feedback keeps the download's prefix.
        prefix = person.get("prefix") or f"{re.sub(r'[^a-z0-9]', '', person.get('name', '').lower()) or 'student'}_{person['lms_id']}_0_"
        return f"{prefix}{notebook}-feedback.html"

    def gradebook(self, rows, assignment, column, max_score):
        # The columns Canvas's gradebook import needs to find a student (Student, ID, SIS
        # User ID, SIS Login ID, Section) and one column per assignment; a header that names
        # no existing assignment creates one, so the instructor may pass Canvas's own header.
        out = io.StringIO()
        w = csv.writer(out)
        header = column or assignment
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", header])
        w.writerow(["Points Possible", "", "", "", "", _number(max_score)])
        for r in rows:
            w.writerow([r["name"], r["lms_id"], r.get("sis_user_id", ""), r.get("sis_login_id", ""),
                        r.get("section", ""), _number(r["score"])])
        return out.getvalue()


class Moodle(Lms):
    """Moodle: ``Full Name_participantid_assignsubmission_file_[/]filename``.

    Examples
    --------
    >>> e = Moodle().parse("John Doe_4321_assignsubmission_file_/02-base-cnn.ipynb")
    >>> (e.person, e.name, e.filename, e.prefix)
    ('4321', 'John Doe', '02-base-cnn.ipynb', 'John Doe_4321_assignsubmission_file_')
    """
    key = "moodle"
    title = "Moodle"
    pattern = re.compile(r"(?P<name>[^/_][^/]*?)_(?P<person>\d+)_assignsubmission_(?P<plugin>[a-z]+)_/?(?P<file>[^/]+)")
    convention = "Full Name_PARTICIPANTID_assignsubmission_file_file (Moodle)"

    def parse(self, member):
        m = self.pattern.fullmatch(member)
        if m is None:
            return None
        prefix = f"{m['name']}_{m['person']}_assignsubmission_{m['plugin']}_"
        return Entry(member, m["person"], m["name"], m["file"], prefix)

    def feedback_name(self, person, assignment, notebook):
        # Moodle's "upload multiple feedback files in a zip" matches a file to a participant
        # by the download's "Full Name_participantid_assignsubmission_file_" prefix.
        prefix = person.get("prefix") or f"{person.get('name') or 'student'}_{person['lms_id']}_assignsubmission_file_"
        return f"{prefix}{notebook}-feedback.html"

    def gradebook(self, rows, assignment, column, max_score):
        # Moodle's offline grading worksheet: it matches rows by "Identifier" (Participant N).
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["Identifier", "Full name", "Email address", "Grade", "Maximum Grade", "Feedback comments"])
        for r in rows:
            w.writerow([f"Participant {r['lms_id']}", r["name"], r.get("email", ""), _number(r["score"]),
                        _number(max_score), r.get("note", "")])
        return out.getvalue()


SYSTEMS = {lms.key: lms for lms in (Canvas(), Moodle())}


def _number(value) -> str:
    return f"{float(value):g}"


# --------------------------------------------------------------------------- roster
@dataclass
class Roster:
    """Course student ids and how each LMS knows them (rows of a roster CSV).

    Columns: ``student_id`` (required), ``lms_id`` (Canvas user ID or Moodle
    participant ID), ``name``, and optionally ``sis_user_id``, ``sis_login_id``,
    ``section``, ``email``.
    """
    rows: list[dict] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path | None) -> "Roster":
        if path is None:
            return cls()
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise LmsError(f"cannot read the roster {path}: {exc.strerror}") from None
        reader = csv.DictReader(io.StringIO(text))
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "student_id" not in fields or not ({"lms_id", "name"} & set(fields)):
            raise LmsError(f"roster {path}: expected a header with student_id and lms_id and/or name "
                           f"(found {reader.fieldnames})")
        rows = []
        for n, raw in enumerate(reader, start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
            if not STUDENT_ID.fullmatch(row["student_id"]):
                raise LmsError(f"roster {path}, line {n}: student_id {row['student_id']!r} is not a usable "
                               "student id (letters, digits, '.', '_', '-'; not starting with '.')")
            rows.append(row)
        return cls(rows)

    def find(self, lms: Lms, entry: Entry) -> dict | None:
        """The roster row of ``entry``'s student: by LMS id first, then by name."""
        for row in self.rows:
            if row.get("lms_id") and row["lms_id"] == entry.person:
                return row
        wanted = lms.name_keys(entry.name)
        matches = [row for row in self.rows if row.get("name") and lms.name_keys(row["name"]) & wanted]
        return matches[0] if len(matches) == 1 else None

    def by_student(self) -> dict[str, dict]:
        return {row["student_id"]: row for row in self.rows}


# --------------------------------------------------------------------------- import
@dataclass
class ImportReport:
    """What :func:`import_zip` did: the LMS, the files placed and one line per problem."""
    lms: str
    placed: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    record: Path | None = None

    def lines(self) -> list[str]:
        return ([f"{self.lms}: placed {len(self.placed)} notebook(s)"]
                + [f"  {s}: {p}" for s, p in sorted(self.placed.items())] + [f"note: {n}" for n in self.notes])


def _unsafe_path(info: zipfile.ZipInfo) -> str | None:
    """Why a member's own path must not be trusted, or None."""
    name = info.filename.replace("\\", "/")
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "has an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "climbs out of the zip's folder (..)"
    return None


def _members(zf: zipfile.ZipFile, limits: Limits, notes: list[str]):
    """The zip's file members that may be read, with a note for each that may not."""
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > limits.members:
        notes.append(f"the zip holds {len(infos)} files, more than the {limits.members} read: the rest are skipped")
        infos = infos[:limits.members]
    declared = 0
    for info in infos:
        why = _unsafe_path(info)
        if why is None and info.file_size > limits.member_bytes:
            why = f"is {info.file_size} bytes unpacked, more than the {limits.member_bytes} a notebook may be"
        if why is None and info.file_size > 2**20 and info.file_size > limits.ratio * max(info.compress_size, 1):
            why = f"unpacks {info.file_size // max(info.compress_size, 1)}x (a zip bomb?)"
        if why is None and declared + info.file_size > limits.total_bytes:
            why = f"would bring the zip past {limits.total_bytes} bytes unpacked"
        if why:
            notes.append(f"{info.filename!r} {why}: skipped")
            continue
        declared += info.file_size
        yield info


def detect(names: list[str]) -> Lms:
    """The LMS whose naming most of ``names`` follow.

    Raises LmsError when none follows either convention.

    Examples
    --------
    >>> detect(["doejohn_12_34_a.ipynb", "roeann_13_35_a.ipynb"]).title
    'Canvas'
    """
    counts = {lms.key: sum(lms.parse(n.replace("\\", "/").lstrip("/")) is not None for n in names)
              for lms in SYSTEMS.values()}
    best = max(counts, key=counts.get)
    if counts[best] == 0:
        shown = ", ".join(repr(n) for n in names[:3]) or "no files"
        raise LmsError("the zip's file names follow neither "
                       + " nor ".join(lms.convention for lms in SYSTEMS.values()) + f" (first: {shown})")
    return SYSTEMS[best]


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """A member's bytes, never more than the limit, whatever its header claims."""
    with zf.open(info) as fh:
        data = fh.read(limits.member_bytes + 1)
    if len(data) > limits.member_bytes:
        raise LmsError(f"unpacks to more than {limits.member_bytes} bytes although its header says "
                       f"{info.file_size} (a zip bomb?)")
    return data


def _is_notebook(data: bytes) -> str | None:
    """Why ``data`` is not a Jupyter notebook, or None if it is one."""
    import nbformat
    try:
        nbformat.reads(data.decode("utf-8"), as_version=4)
    except UnicodeDecodeError:
        return "is not text (not a Jupyter notebook)"
    except Exception as exc:  # nbformat raises several kinds for bad JSON and bad schema
        return f"is not a readable Jupyter notebook ({type(exc).__name__})"
    return None


def _safe_folder(base: Path, *parts: str) -> Path:
    """``base/parts...``, created, refusing links and anything that resolves outside ``base``."""
    folder = base
    for part in parts:
        folder = folder / part
        if folder.is_symlink():
            raise LmsError(f"{folder} is a symbolic link; refusing to write through it")
    folder.mkdir(parents=True, exist_ok=True)
    if not folder.resolve().is_relative_to(base.resolve()):
        raise LmsError(f"{folder} resolves outside {base}")
    return folder


def _write_atomic(path: Path, data: bytes) -> None:
    # os.replace swaps the name: a link planted at ``path`` is replaced, never followed.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".import-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _entry_time(info: zipfile.ZipInfo) -> str:
    return datetime(*info.date_time).isoformat(sep=" ")


def import_zip(zip_path: Path, assignment: str, submissions: Path, notebooks: list[str],
               roster: Roster | None = None, record_dir: Path | None = None,
               limits: Limits = LIMITS) -> ImportReport:
    """Place the notebooks of an LMS zip as ``submissions/<student>/<assignment>/<nb>.ipynb``.

    ``notebooks`` are the assignment's notebook names (``['02-base-cnn']``): with
    one, whatever a student uploaded is placed under it; with several, an upload
    is matched by its name. A student with several notebooks in the zip keeps
    the newest (zip time, then the LMS's submission order), with a note.
    ``record_dir`` receives ``import-<lms>.json`` (who is who in the LMS, for
    :func:`export_grades`) and ``import-notes.txt``.
    Raises LmsError for a file that is not a zip or names nothing either LMS writes.
    """
    roster = roster or Roster()
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise LmsError(f"{zip_path} is not a readable zip file ({exc}); expected the LMS's "
                       "'download all submissions' zip") from None
    notes: list[str] = []
    with zf:
        infos = list(_members(zf, limits, notes))
        lms = detect([i.filename for i in zf.infolist() if not i.is_dir()])
        report = ImportReport(lms.title, notes=notes)
        chosen: dict[str, tuple[Entry, zipfile.ZipInfo, dict]] = {}
        people: dict[str, dict] = {}
        for info in infos:
            entry = lms.parse(info.filename)
            if entry is None:
                notes.append(f"{info.filename!r} does not follow {lms.convention}: skipped")
                continue
            row = roster.find(lms, entry) if roster.rows else None
            if roster.rows and row is None:
                notes.append(f"{entry.name} ({lms.title} ID {entry.person}, {info.filename!r}) is not in the "
                             "roster: skipped; add them to the roster and import again")
                continue
            student = row["student_id"] if row else lms.default_student_id(entry)
            people.setdefault(student, {"student_id": student, "lms": lms.key, "lms_id": entry.person,
                                        "name": (row or {}).get("name") or entry.name, "prefix": entry.prefix,
                                        **{k: v for k, v in (row or {}).items() if v and k != "student_id"}})
            if not entry.filename.lower().endswith(".ipynb"):
                notes.append(f"{student}: {entry.filename!r} is not a notebook (.ipynb): skipped")
                continue
            entry.order = (info.date_time, *entry.order, info.filename)
            if student in chosen:
                old = chosen[student][0]
                newer, older = (entry, old) if entry.order > old.order else (old, entry)
                notes.append(f"{student}: two submissions, {older.member!r} and {newer.member!r}; "
                             f"the later one ({newer.member!r}) is used")
                if newer is old:
                    continue
            chosen[student] = (entry, info, row or {})

        for student, (entry, info, _row) in sorted(chosen.items()):
            try:
                data = _read(zf, info, limits)
            except (LmsError, zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
                notes.append(f"{student}: {info.filename!r} could not be read ({exc}): skipped; "
                             "no submission placed")
                continue
            why = _is_notebook(data)
            if why:
                notes.append(f"{student}: {info.filename!r} {why}: skipped; no submission placed")
                continue
            target_name = _target_notebook(entry.filename, notebooks)
            if target_name is None:
                notes.append(f"{student}: {entry.filename!r} matches none of the assignment's notebooks "
                             f"{notebooks}: skipped")
                continue
            folder = _safe_folder(submissions, student, assignment)
            _write_atomic(folder / f"{target_name}.ipynb", data)
            people[student]["prefix"] = entry.prefix  # the chosen file's, for the feedback's name
            people[student]["submitted"] = _entry_time(info)
            people[student]["late"] = entry.late
            if entry.late:
                notes.append(f"{student}: {lms.title} marked this submission late")
            report.placed[student] = folder / f"{target_name}.ipynb"

    for student in sorted(set(people) - set(report.placed)):
        if not any(n.startswith(f"{student}:") for n in notes):
            notes.append(f"{student}: nothing in the zip could be placed")
    for row in roster.rows:
        if row["student_id"] not in people:
            notes.append(f"{row['student_id']}: in the roster but not in the zip (no submission)")
    if record_dir is not None:
        report.record = _write_record(record_dir, lms, assignment, people, notes)
    return report


def _target_notebook(filename: str, notebooks: list[str]) -> str | None:
    if len(notebooks) == 1:
        return notebooks[0]
    stem = re.sub(r"-\d+$", "", PurePosixPath(filename).stem)  # Canvas's "-1" for a clashing name
    return stem if stem in notebooks else None


def _write_record(record_dir: Path, lms: Lms, assignment: str, people: dict, notes: list[str]) -> Path:
    record_dir.mkdir(parents=True, exist_ok=True)
    path = record_dir / f"import-{lms.key}.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    old.update(people)
    path.write_text(json.dumps(old, indent=1, sort_keys=True))
    (record_dir / "import-notes.txt").write_text("\n".join(notes) + "\n")
    return path


# --------------------------------------------------------------------------- export
@dataclass
class ExportReport:
    """What :func:`export_grades` wrote and one line per student it could not export."""
    gradebook: Path
    feedback_zip: Path
    rows: int = 0
    feedback_files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return ([f"gradebook ({self.rows} student(s)): {self.gradebook}",
                 f"feedback ({len(self.feedback_files)} file(s)): {self.feedback_zip}"]
                + [f"note: {n}" for n in self.notes])


def read_grades(grades_csv: Path, assignment: str) -> dict[str, dict]:
    """Rows of ``grades.csv`` (written by ``python -m autograder grade``) for one assignment."""
    if not grades_csv.is_file():
        raise LmsError(f"no {grades_csv}: grade the assignment first (python -m autograder grade)")
    with open(grades_csv, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("assignment") == assignment]
    if not rows:
        raise LmsError(f"{grades_csv} has no grades for {assignment!r}: grade it first")
    return {r["student_id"]: r for r in rows}


def export_grades(lms_key: str, assignment: str, course: Path, out_dir: Path, roster: Roster | None = None,
                  column: str | None = None) -> ExportReport:
    """Write the LMS's gradebook CSV and one feedback page per student into ``out_dir``.

    Scores come from ``course/grades.csv``; who each student is in the LMS from
    ``roster`` and the records :func:`import_zip` left in ``course/lms/<A>/``.
    A student with a grade but no LMS identity is left out with a note.
    """
    if lms_key not in SYSTEMS:
        raise LmsError(f"unknown LMS {lms_key!r}; expected one of {sorted(SYSTEMS)}")
    lms = SYSTEMS[lms_key]
    grades = read_grades(course / "grades.csv", assignment)
    people = {}
    record = course / "lms" / assignment / f"import-{lms.key}.json"
    if record.is_file():
        people.update(json.loads(record.read_text()))
    for student, row in (roster or Roster()).by_student().items():
        people[student] = {**people.get(student, {}), **{k: v for k, v in row.items() if v}}

    report = ExportReport(out_dir / f"{lms.key}-grades.csv", out_dir / f"{lms.key}-feedback.zip")
    feedback_dir = out_dir / f"{lms.key}-feedback"
    if feedback_dir.exists():
        shutil.rmtree(feedback_dir)
    feedback_dir.mkdir(parents=True)
    rows, max_score = [], 0.0
    for student, grade in sorted(grades.items()):
        max_score = max(max_score, float(grade["max_score"] or 0))
        person = people.get(student)
        if not person or not person.get("lms_id"):
            report.notes.append(f"{student}: scored {grade['score']} but has no {lms.title} ID (not in the "
                                "roster or an imported zip): left out of the gradebook file")
            continue
        rows.append({**person, "score": grade["score"], "note": grade.get("note", "")})
        if grade.get("note"):
            report.notes.append(f"{student}: {grade['score']} ({grade['note']})")
        pages = sorted((course / "feedback" / student / assignment).glob("*.html"))
        if not pages:
            report.notes.append(f"{student}: no feedback page in {course / 'feedback'} (not graded?)")
        for page in pages:
            dest = feedback_dir / lms.feedback_name(person, assignment, page.stem)
            shutil.copyfile(page, dest)
            report.feedback_files.append(dest)
    for student in sorted(set(people) - set(grades)):
        report.notes.append(f"{student}: known to {lms.title} but has no grade for {assignment} "
                            "(nothing was graded for them): left out of the gradebook file")
    out_dir.mkdir(parents=True, exist_ok=True)
    report.gradebook.write_text(lms.gradebook(rows, assignment, column, max_score))
    report.rows = len(rows)
    with zipfile.ZipFile(report.feedback_zip, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in report.feedback_files:
            zf.write(path, path.name)
    return report


__all__ = ["Canvas", "Moodle", "Lms", "LmsError", "Limits", "Roster", "ImportReport", "ExportReport",
           "detect", "import_zip", "export_grades", "read_grades", "SYSTEMS"]


# --------------------------------------------------------------------------- command line
def add_commands(sub) -> None:
    """Add ``import-zip`` and ``export-grades`` to ``python -m autograder``'s subcommands."""
    i = sub.add_parser("import-zip", help="place the notebooks of a Canvas or Moodle 'download all' zip for grading",
                       description="Read a Canvas or Moodle 'download all submissions' zip (told apart by their "
                                   "file names), map each student to a course student id (--roster, else a "
                                   "name from the LMS) and place SUBMISSIONS/<student>/<A>/<notebook>.ipynb. "
                                   "Every skipped file and every student without a notebook gets a note.")
    i.add_argument("zip", type=Path, metavar="ZIP")
    i.add_argument("--assignment", required=True, metavar="A", help="the assignment the zip holds")
    i.add_argument("--roster", type=Path, metavar="CSV",
                   help="CSV with student_id and lms_id and/or name (optional: sis_user_id, sis_login_id, "
                        "section, email); students not in it are skipped with a note")
    i.add_argument("--submissions", type=Path, metavar="DIR", help="where to place them (default: COURSE/submitted)")
    i.add_argument("--course", type=Path, help="runtime course folder (default: ROOT/course)")
    i.set_defaults(run=_import_command)

    e = sub.add_parser("export-grades", help="write the LMS's gradebook CSV and per-student feedback files",
                       description="From COURSE/grades.csv and COURSE/feedback, write "
                                   "COURSE/lms/<A>/<lms>-grades.csv (Canvas: the gradebook import; Moodle: the "
                                   "grading worksheet) and <lms>-feedback.zip, one page per student named so "
                                   "the LMS's feedback upload finds the student.")
    e.add_argument("--lms", choices=sorted(SYSTEMS), default="canvas")
    e.add_argument("--assignment", required=True, metavar="A")
    e.add_argument("--roster", type=Path, metavar="CSV", help="as for import-zip (default: who import-zip saw)")
    e.add_argument("--column", metavar="HEADER",
                   help="gradebook column header, e.g. Canvas's '02-base-cnn (123456)' (default: A)")
    e.add_argument("--course", type=Path, help="runtime course folder (default: ROOT/course)")
    e.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: COURSE/lms/<A>)")
    e.set_defaults(run=_export_command)


def _import_command(root: Path, args) -> int:
    from autograder.settings import assignments_in, notebooks_of
    source = root / "source"
    if args.assignment not in assignments_in(source):
        raise LmsError(f"no assignment {args.assignment!r} in {source}; known: {assignments_in(source)}")
    course = (args.course or root / "course").resolve()
    submissions = (args.submissions or course / "submitted").resolve()
    report = import_zip(args.zip, args.assignment, submissions, notebooks_of(source, args.assignment),
                        Roster.read(args.roster), record_dir=course / "lms" / args.assignment)
    print("\n".join(report.lines()))
    print(f"next: python -m autograder grade {submissions} --assignment {args.assignment}")
    return 0 if report.placed else 1


def _export_command(root: Path, args) -> int:
    course = (args.course or root / "course").resolve()
    report = export_grades(args.lms, args.assignment, course, args.out or course / "lms" / args.assignment,
                           Roster.read(args.roster), column=args.column)
    print("\n".join(report.lines()))
    return 0
