"""autograder.lms: Canvas and Moodle zips in, a gradebook CSV and feedback files out.

Every zip is built here in the LMS's own naming; the hostile ones (``../``, absolute paths,
links, a zip bomb, a corrupt file) are checked to hold their attack before the import runs,
and the import is checked to have written nothing outside the course folder.
"""
from __future__ import annotations

import csv
import doctest
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import lms
from autograder.lms import Canvas, LmsError, Moodle, Roster, detect, export_grades, import_zip

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "fixtures" / "toy-assignment"
A = "02-base-cnn"
RELEASED = (REPO / "release" / A / f"{A}.ipynb").read_bytes()


def notebook_bytes(marker: str) -> bytes:
    """A valid notebook whose first cell says ``marker`` (to tell placed files apart)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"# {marker}")])
    return nbformat.writes(nb).encode()


def marker_of(path: Path) -> str:
    return nbformat.read(path, as_version=4).cells[0].source


def build_zip(path: Path, members: list[tuple], compression=zipfile.ZIP_DEFLATED) -> Path:
    """``members``: (name, bytes) or (name, bytes, date_time) or a ready ZipInfo with bytes."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for m in members:
            if isinstance(m[0], zipfile.ZipInfo):
                zf.writestr(m[0], m[1])
            else:
                info = zipfile.ZipInfo(m[0], date_time=m[2] if len(m) > 2 else (2026, 11, 1, 12, 0, 0))
                info.compress_type = compression
                zf.writestr(info, m[1])
    return path


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def course(tmp_path):
    """A course folder inside a sandbox folder; anything written beside it is an escape."""
    sandbox = tmp_path / "sandbox"
    (sandbox / "course").mkdir(parents=True)
    return sandbox / "course"


def run_import(zip_path, course, roster=None, notebooks=(A,)):
    return import_zip(zip_path, A, course / "submitted", list(notebooks), roster,
                      record_dir=course / "lms" / A)


# --------------------------------------------------------------------------- the two conventions
def test_docstring_examples_run():
    result = doctest.testmod(lms)
    assert result.attempted > 0 and result.failed == 0


def test_canvas_zip_is_recognised_and_placed(course, tmp_path):
    z = build_zip(tmp_path / "canvas.zip", [
        ("doejohn_1234_567890_02-base-cnn.ipynb", notebook_bytes("john")),
        ("roeann_LATE_1235_567891_my copy.ipynb", notebook_bytes("ann")),
    ])
    report = run_import(z, course)
    assert report.lms == "Canvas"
    assert set(report.placed) == {"doejohn-1234", "roeann-1235"}
    assert marker_of(course / "submitted" / "doejohn-1234" / A / f"{A}.ipynb") == "# john"
    # whatever the student called the upload, it is placed under the released name
    assert marker_of(course / "submitted" / "roeann-1235" / A / f"{A}.ipynb") == "# ann"
    assert any("roeann-1235" in n and "late" in n for n in report.notes)


@pytest.mark.parametrize("folders", [False, True], ids=["flat", "in-folders"])
def test_moodle_zip_is_recognised_and_placed(course, tmp_path, folders):
    sep = "/" if folders else ""
    z = build_zip(tmp_path / "moodle.zip", [
        (f"John Doe_4321_assignsubmission_file_{sep}02-base-cnn.ipynb", notebook_bytes("john")),
        (f"Ann Roe_4322_assignsubmission_file_{sep}02-base-cnn.ipynb", notebook_bytes("ann")),
    ])
    report = run_import(z, course)
    assert report.lms == "Moodle"
    assert set(report.placed) == {"john-doe-4321", "ann-roe-4322"}
    assert marker_of(report.placed["ann-roe-4322"]) == "# ann"


def test_roster_maps_lms_ids_and_names_to_student_ids(course, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,lms_id,name,sis_login_id,section\n"
                      "jdoe,1234,John Doe,jdoe@uni,A\n"
                      "aroe,,Ann Roe,aroe@uni,B\n"
                      "zed,999,Zed Zee,zed@uni,A\n")
    z = build_zip(tmp_path / "canvas.zip", [
        ("doejohn_1234_1_02-base-cnn.ipynb", notebook_bytes("john")),   # by Canvas ID
        ("roeann_1235_2_02-base-cnn.ipynb", notebook_bytes("ann")),     # by name (lastfirst)
        ("strangerx_7777_3_02-base-cnn.ipynb", notebook_bytes("x")),    # in neither
    ])
    report = run_import(z, course, Roster.read(roster))
    assert set(report.placed) == {"jdoe", "aroe"}
    assert marker_of(course / "submitted" / "aroe" / A / f"{A}.ipynb") == "# ann"
    assert any("strangerx" in n and "not in the roster" in n for n in report.notes)
    assert any(n.startswith("zed:") and "no submission" in n for n in report.notes)
    # matched by name, Ann keeps the Canvas ID the zip gave her (the roster had none)
    assert json.loads(report.record.read_text())["aroe"]["lms_id"] == "1235"


def test_the_import_record_keeps_who_is_who(course, tmp_path):
    z = build_zip(tmp_path / "canvas.zip", [("doejohn_1234_1_02-base-cnn.ipynb", notebook_bytes("john"))])
    report = run_import(z, course)
    record = json.loads(report.record.read_text())
    assert record["doejohn-1234"]["lms_id"] == "1234"
    assert record["doejohn-1234"]["prefix"] == "doejohn_1234_1_"


# --------------------------------------------------------------------------- bad input
def test_unknown_names_get_a_note_and_an_unknown_zip_an_error(course, tmp_path):
    z = build_zip(tmp_path / "mixed.zip", [
        ("doejohn_1234_1_02-base-cnn.ipynb", notebook_bytes("john")),
        ("homework final (2).ipynb", notebook_bytes("who")),
    ])
    report = run_import(z, course)
    assert set(report.placed) == {"doejohn-1234"}
    assert any("homework final (2).ipynb" in n and "does not follow" in n for n in report.notes)

    unknown = build_zip(tmp_path / "unknown.zip", [("homework.ipynb", notebook_bytes("who"))])
    with pytest.raises(LmsError, match="follow neither"):
        run_import(unknown, course)


def test_two_submissions_from_one_student_latest_wins_with_a_note(course, tmp_path):
    z = build_zip(tmp_path / "canvas.zip", [
        ("doejohn_1234_10_02-base-cnn-1.ipynb", notebook_bytes("newer"), (2026, 11, 2, 9, 0, 0)),
        ("doejohn_1234_10_02-base-cnn.ipynb", notebook_bytes("older"), (2026, 11, 1, 9, 0, 0)),
    ])
    report = run_import(z, course)
    assert marker_of(report.placed["doejohn-1234"]) == "# newer"
    assert any(n.startswith("doejohn-1234: two submissions")
               and "the later one ('doejohn_1234_10_02-base-cnn-1.ipynb') is used" in n for n in report.notes)


def test_files_that_are_not_notebooks_are_skipped_with_a_note(course, tmp_path):
    z = build_zip(tmp_path / "canvas.zip", [
        ("doejohn_1234_1_report.pdf", b"%PDF-1.4 ..."),
        ("roeann_1235_2_02-base-cnn.ipynb", b"{ this is not json"),
        ("kimlee_1236_3_02-base-cnn.ipynb", notebook_bytes("lee")),
    ])
    report = run_import(z, course)
    assert set(report.placed) == {"kimlee-1236"}
    assert any(n.startswith("doejohn-1234:") and "not a notebook" in n for n in report.notes)
    assert any(n.startswith("roeann-1235:") and "not a readable Jupyter notebook" in n for n in report.notes)
    # neither student is dropped silently: each has a line, and nothing was placed for them
    assert not (course / "submitted" / "doejohn-1234" / A).exists()
    assert not (course / "submitted" / "roeann-1235" / A).exists()


def test_paths_that_climb_out_are_never_followed(course, tmp_path):
    link = zipfile.ZipInfo("kimlee_1236_3_02-base-cnn.ipynb")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    z = build_zip(tmp_path / "evil.zip", [
        ("../../doejohn_1234_1_02-base-cnn.ipynb", notebook_bytes("climb")),
        ("/tmp/roeann_1235_2_02-base-cnn.ipynb", notebook_bytes("absolute")),
        (link, "../../../../etc/passwd"),
        ("Ann Roe_4322_assignsubmission_file_/../../../escaped.ipynb", notebook_bytes("moodle-climb")),
        ("okayok_1237_4_02-base-cnn.ipynb", notebook_bytes("fine")),
    ])
    # the attack is in the zip: a naive extractall would follow these names
    names = zipfile.ZipFile(z).namelist()
    assert any(n.startswith("../") for n in names) and any(n.startswith("/") for n in names)
    assert stat.S_ISLNK(zipfile.ZipFile(z).getinfo(link.filename).external_attr >> 16)

    before = files_under(tmp_path)
    report = run_import(z, course)
    assert set(report.placed) == {"okayok-1237"}
    assert any("climbs out" in n and "../../doejohn" in n for n in report.notes)
    assert any("absolute path" in n for n in report.notes)
    assert any("symbolic link" in n for n in report.notes)
    assert any("escaped.ipynb" in n and "climbs out" in n for n in report.notes)
    new = files_under(tmp_path) - before
    assert new and all(n.startswith("sandbox/course/") for n in new), new
    assert not Path("/tmp/roeann_1235_2_02-base-cnn.ipynb").exists()


def test_a_link_planted_in_the_submissions_folder_is_not_written_through(course, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (course / "submitted").mkdir()
    os.symlink(outside, course / "submitted" / "doejohn-1234")
    z = build_zip(tmp_path / "canvas.zip", [("doejohn_1234_1_02-base-cnn.ipynb", notebook_bytes("john"))])
    with pytest.raises(LmsError, match="symbolic link"):
        run_import(z, course)
    assert list(outside.iterdir()) == []


def test_a_corrupt_zip_is_a_clear_error(course, tmp_path):
    good = build_zip(tmp_path / "good.zip", [("doejohn_1234_1_02-base-cnn.ipynb", notebook_bytes("john"))])
    broken = tmp_path / "broken.zip"
    broken.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(LmsError, match="not a readable zip file"):
        run_import(broken, course)
    text = tmp_path / "notes.zip"
    text.write_text("these are not the submissions you are looking for")
    with pytest.raises(LmsError, match="not a readable zip file"):
        run_import(text, course)


def test_a_damaged_member_is_skipped_with_a_note(course, tmp_path):
    data = notebook_bytes("john") * 1
    z = build_zip(tmp_path / "crc.zip", [("doejohn_1234_1_02-base-cnn.ipynb", data),
                                        ("roeann_1235_2_02-base-cnn.ipynb", notebook_bytes("ann"))],
                  compression=zipfile.ZIP_STORED)
    raw = bytearray(z.read_bytes())
    at = raw.find(data)
    raw[at + 10] ^= 0xFF  # flip a byte of john's notebook: the CRC no longer matches
    z.write_bytes(bytes(raw))
    report = run_import(z, course)
    assert set(report.placed) == {"roeann-1235"}
    assert any(n.startswith("doejohn-1234:") and "could not be read" in n for n in report.notes)


def test_a_zip_bomb_is_not_unpacked(course, tmp_path):
    size = lms.LIMITS.member_bytes * 3
    z = build_zip(tmp_path / "bomb.zip", [("doejohn_1234_1_02-base-cnn.ipynb", b"\0" * size),
                                         ("roeann_1235_2_02-base-cnn.ipynb", notebook_bytes("ann"))])
    # the attack: a small file that unpacks to three times what a notebook may be
    assert z.stat().st_size < size / 100
    report = run_import(z, course)
    assert set(report.placed) == {"roeann-1235"}
    assert any("doejohn_1234_1" in n and "more than" in n for n in report.notes)


def test_a_bomb_that_lies_about_its_size_is_cut_off(course, tmp_path):
    """A header claiming a small size does not make the import read the whole member."""
    size = lms.LIMITS.member_bytes * 2
    z = build_zip(tmp_path / "liar.zip", [("doejohn_1234_1_02-base-cnn.ipynb", b"\0" * size)])
    raw = bytearray(z.read_bytes())
    info = zipfile.ZipFile(z).getinfo("doejohn_1234_1_02-base-cnn.ipynb")
    # rewrite the uncompressed size in the central directory (and local header) to 1000 bytes
    for sig, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        at = raw.find(sig)
        assert at >= 0
        raw[at + offset:at + offset + 4] = (1000).to_bytes(4, "little")
    z.write_bytes(bytes(raw))
    assert zipfile.ZipFile(z).getinfo(info.filename).file_size == 1000  # the lie is in place
    report = run_import(z, course)
    assert report.placed == {}
    assert any("doejohn-1234" in n and "could not be read" in n for n in report.notes)


def test_student_ids_from_the_lms_cannot_name_other_folders(course, tmp_path):
    # Moodle names may hold anything; the student id made from them is folder-safe
    z = build_zip(tmp_path / "moodle.zip", [("..._4321_assignsubmission_file_02-base-cnn.ipynb", notebook_bytes("dots"))])
    report = run_import(z, course)
    (student, path), = report.placed.items()
    assert lms.STUDENT_ID.fullmatch(student) and path.resolve().is_relative_to(course.resolve())


def test_a_roster_with_an_unusable_student_id_is_rejected(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,lms_id\n../../etc,1234\n")
    with pytest.raises(LmsError, match="not a usable student id"):
        Roster.read(roster)
    roster.write_text("who,what\nx,y\n")
    with pytest.raises(LmsError, match="expected a header with student_id"):
        Roster.read(roster)


def test_detect_prefers_the_convention_most_names_follow():
    names = ["John Doe_1_assignsubmission_file_a.ipynb", "Ann Roe_2_assignsubmission_file_a.ipynb",
             "doejohn_1_2_a.ipynb"]
    assert detect(names).title == "Moodle"


# --------------------------------------------------------------------------- export
def write_grades(course: Path, rows: list[tuple]) -> None:
    from autograder.gradebook import COLUMNS
    with open(course / "grades.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for student, score, note in rows:
            w.writerow({"assignment": A, "student_id": student, "score": score, "raw_score": score,
                        "max_score": 50, "note": note})
    for student, _, _ in rows:
        page = course / "feedback" / student / A / f"{A}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<html>feedback for {student}</html>")


def test_canvas_export_names_every_student(course, tmp_path):
    z = build_zip(tmp_path / "canvas.zip", [("doejohn_1234_1_02-base-cnn.ipynb", notebook_bytes("john")),
                                           ("roeann_1235_2_02-base-cnn.ipynb", notebook_bytes("ann"))])
    run_import(z, course)
    write_grades(course, [("doejohn-1234", 42, ""), ("roeann-1235", 0, "not valid JSON"),
                          ("walkin", 10, "")])
    report = export_grades("canvas", A, course, course / "lms" / A)
    rows = list(csv.reader(io.StringIO(report.gradebook.read_text())))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A]
    assert rows[1][0] == "Points Possible" and rows[1][-1] == "50"
    assert {r[1]: r[-1] for r in rows[2:]} == {"1234": "42", "1235": "0"}
    assert any(n.startswith("walkin:") and "no Canvas ID" in n for n in report.notes)
    names = set(zipfile.ZipFile(report.feedback_zip).namelist())
    assert names == {"doejohn_1234_1_02-base-cnn-feedback.html", "roeann_1235_2_02-base-cnn-feedback.html"}
    assert b"feedback for roeann-1235" in zipfile.ZipFile(report.feedback_zip).read(
        "roeann_1235_2_02-base-cnn-feedback.html")


def test_moodle_export_is_a_grading_worksheet(course, tmp_path):
    z = build_zip(tmp_path / "moodle.zip", [("John Doe_4321_assignsubmission_file_02-base-cnn.ipynb",
                                             notebook_bytes("john"))])
    run_import(z, course)
    write_grades(course, [("john-doe-4321", 37.5, "")])
    report = export_grades("moodle", A, course, course / "lms" / A)
    rows = list(csv.DictReader(io.StringIO(report.gradebook.read_text())))
    assert rows == [{"Identifier": "Participant 4321", "Full name": "John Doe", "Email address": "",
                     "Grade": "37.5", "Maximum Grade": "50", "Feedback comments": ""}]
    assert zipfile.ZipFile(report.feedback_zip).namelist() == [
        "John Doe_4321_assignsubmission_file_02-base-cnn-feedback.html"]


def test_export_without_grades_is_a_clear_error(course):
    with pytest.raises(LmsError, match="grade the assignment first"):
        export_grades("canvas", A, course, course / "lms" / A)


# --------------------------------------------------------------------------- the whole channel
def autograder(*args, env=None):
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)


def test_the_commands_are_listed():
    out = autograder("--help")
    assert "import-zip" in out.stdout and "export-grades" in out.stdout
    bad = autograder("import-zip", "/nonexistent.zip", "--assignment", A)
    assert bad.returncode == 2 and "not a readable zip file" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_a_class_through_canvas_ends_with_grades_and_feedback(tmp_path):
    """Canvas zip -> import-zip -> grade -> export-grades, on the toy assignment, real nbgrader."""
    toy_release = TOY / "release" / "toy" / "toy.ipynb"
    solved = TOY / "course" / "examples" / "submitted" / "alice" / "toy" / "toy.ipynb"
    z = build_zip(tmp_path / "canvas.zip", [
        ("doejohn_1234_1_toy.ipynb", solved.read_bytes()),
        ("roeann_1235_2_toy.ipynb", toy_release.read_bytes()),
        ("kimlee_1236_3_notes.txt", b"I forgot to upload the notebook"),
    ])
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,lms_id,name\njdoe,1234,John Doe\naroe,1235,Ann Roe\nklee,1236,Lee Kim\n")
    course = tmp_path / "course"
    out = autograder("--root", TOY, "import-zip", z, "--assignment", "toy", "--roster", roster, "--course", course)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "klee: 'notes.txt' is not a notebook" in out.stdout
    out = autograder("--root", TOY, "grade", "--course", course, "--assignment", "toy", "--no-progress",
                     "--timeout", 10, "--submission-timeout", 60)
    assert out.returncode == 0, out.stdout + out.stderr
    out = autograder("--root", TOY, "export-grades", "--lms", "canvas", "--assignment", "toy",
                     "--roster", roster, "--course", course)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "klee: known to Canvas but has no grade" in out.stdout

    with open(course / "grades.csv", newline="") as fh:
        graded = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
    full = sum(float(c.metadata.nbgrader["points"]) for c in nbformat.read(TOY / "source" / "toy" / "toy.ipynb", 4).cells
               if c.metadata.get("nbgrader", {}).get("grade"))
    assert graded == {"jdoe": full, "aroe": 0.0}
    rows = list(csv.reader((course / "lms" / "toy" / "canvas-grades.csv").open()))
    assert {r[1]: float(r[-1]) for r in rows[2:]} == {"1234": full, "1235": 0.0}
    feedback = zipfile.ZipFile(course / "lms" / "toy" / "canvas-feedback.zip")
    assert sorted(feedback.namelist()) == ["doejohn_1234_1_toy-feedback.html", "roeann_1235_2_toy-feedback.html"]
    assert b"hidden-test-marker" not in feedback.read("doejohn_1234_1_toy-feedback.html")
