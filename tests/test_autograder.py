"""End-to-end tests of ``python -m autograder`` on the toy assignment.

Everything here runs the real nbgrader and real kernels on real notebooks
(tests/fixtures/toy-assignment): the toy class has one student per way a
submission can go wrong, described in that folder's make_fixtures.py.
Expected scores are derived from the points in the toy's source notebook.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "fixtures" / "toy-assignment"
EXAMPLES = TOY / "course" / "examples" / "submitted"
NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
                    "email", "raw_score", "late_submission_penalty", "score", "max_score"]
HIDDEN_MARKER = "hidden-test-marker"  # appears only inside the toy's hidden test block
CELL_TIMEOUT = 5
SUBMISSION_TIMEOUT = 20

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Jupyter, IPython and nbgrader state in a temporary home, this venv first on PATH."""
    home = tmp_path_factory.mktemp("home")
    e = dict(os.environ)
    e.update(HOME=str(home), IPYTHONDIR=str(home / "ipython"),
             JUPYTER_CONFIG_DIR=str(home / "jupyter-config"), JUPYTER_DATA_DIR=str(home / "jupyter-data"),
             JUPYTER_RUNTIME_DIR=str(home / "jupyter-runtime"), MPLBACKEND="Agg",
             PATH=os.pathsep.join([str(Path(sys.executable).parent), e.get("PATH", "")]))
    return e


def autograder(env, *args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


def points() -> dict[str, float]:
    """Points of each graded cell of the toy, read from its source notebook."""
    nb = nbformat.read(TOY / "source" / "toy" / "toy.ipynb", as_version=4)
    meta = [c.metadata.nbgrader for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    return {m.grade_id: float(m.points) for m in meta}


def expected_scores() -> dict[str, float]:
    """What each toy student should score, from the rules the toy class tests."""
    full = sum(points().values())
    visible = points()["test_square_visible"]  # x + x passes square(2) == 4, not the hidden test
    return {
        "alice": full, "bob": 0.0, "carol": visible, "dave": 0.0, "erin": 0.0, "frank": 0.0,
        "grace": full,        # renamed notebook, graded under the released name
        "heidi": 0.0,         # a dead kernel never counts as a pass
        "ivan": visible,      # hiding tracebacks does not hide failures
        "judy": full,         # answer defined before the loop; the loop is cut by the cell timeout
        "mallory": full,      # answer defined before the allocation that hits the memory cap
        "adam": 0.0,          # the whole-submission time limit stops it
    }


EXPECTED_NOTES = {
    "dave": "not valid JSON", "erin": "empty file", "frank": "missing", "grace": "graded as",
    "heidi": "kernel died", "ivan": "switched off error display",
    "judy": f"ran longer than {CELL_TIMEOUT} s", "mallory": "out of memory",
    "adam": f"stopped after {SUBMISSION_TIMEOUT} s",
}


def read_grades(course: Path) -> dict[str, dict]:
    with open(course / "grades.csv", newline="") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh)}


# ---------------------------------------------------------------- command line

def test_help_lists_the_commands(env):
    out = autograder(env, "--help")
    assert out.returncode == 0
    for command in ("release", "grade", "validate"):
        assert command in out.stdout
    grade_help = autograder(env, "grade", "--help")
    assert grade_help.returncode == 0
    for option in ("--workers", "--course", "--example", "--timeout", "--memory-limit"):
        assert option in grade_help.stdout


# ---------------------------------------------------------------- release

def test_release_strips_solutions_and_hidden_tests():
    source = nbformat.read(TOY / "source" / "toy" / "toy.ipynb", as_version=4)
    release = nbformat.read(TOY / "release" / "toy" / "toy.ipynb", as_version=4)
    solution = "\n".join(c.source for c in source.cells)
    released = "\n".join(c.source for c in release.cells)
    assert "return x * x" in solution and "return x * x" not in released
    assert HIDDEN_MARKER in solution and HIDDEN_MARKER not in released
    assert "BEGIN SOLUTION" not in released and "raise NotImplementedError()" in released
    assert [c.id for c in release.cells] == [c.id for c in source.cells]
    # Only the student's files: the notebook and the assignment's helper module.
    assert sorted(p.name for p in (TOY / "release" / "toy").iterdir()) == ["toy.ipynb", "toycheck.py"]


def test_release_check_catches_drift_and_release_repairs_it(env, tmp_path):
    root = tmp_path / "toy"
    shutil.copytree(TOY / "source", root / "source")
    shutil.copytree(TOY / "release", root / "release")
    notebook = root / "release" / "toy" / "toy.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[1].source += "\n# edited by hand"
    nbformat.write(nb, notebook)
    (root / "release" / "stray").mkdir()

    out = autograder(env, "--root", root, "release", "--check")
    assert out.returncode == 1
    assert "release/toy/toy.ipynb differs" in out.stdout and "release/stray" in out.stdout

    fixed = autograder(env, "--root", root, "release")
    assert fixed.returncode == 0, fixed.stderr
    # Regenerating gives the committed bytes: the build is deterministic and
    # the committed toy release is current.
    assert notebook.read_bytes() == (TOY / "release" / "toy" / "toy.ipynb").read_bytes()
    assert sorted(p.name for p in (root / "release").iterdir()) == ["toy"]
    again = autograder(env, "--root", root, "release", "--check")
    assert again.returncode == 0, again.stdout + again.stderr


def test_course_release_is_current(env):
    if not any((REPO / "source").glob("*/*.ipynb")):
        pytest.skip("no assignments in source/ yet")
    out = autograder(env, "release", "--check")
    assert out.returncode == 0, out.stdout + out.stderr


# ---------------------------------------------------------------- grading the toy class

@pytest.fixture(scope="module")
def graded(env, tmp_path_factory):
    """The toy class graded once, two submissions at a time."""
    course = tmp_path_factory.mktemp("course")
    out = autograder(env, "--root", TOY, "grade", "--example", "--course", course, "--workers", 2,
                     "--timeout", CELL_TIMEOUT, "--submission-timeout", SUBMISSION_TIMEOUT, "--no-progress")
    assert out.returncode == 0, out.stdout + out.stderr
    return course, out


def test_every_student_gets_the_score_the_rules_give(graded):
    course, _ = graded
    grades = read_grades(course)
    full = sum(points().values())
    assert set(grades) == set(expected_scores())
    for student, score in expected_scores().items():
        row = grades[student]
        assert float(row["score"]) == score, (student, row)
        assert float(row["max_score"]) == full
        assert row["assignment"] == "toy"


def test_grades_csv_has_nbgraders_columns_and_a_note(graded):
    course, _ = graded
    with open(course / "grades.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == NBGRADER_COLUMNS + ["note"]


def test_notes_say_what_went_wrong(graded):
    course, _ = graded
    grades = read_grades(course)
    for student in expected_scores():
        if student in EXPECTED_NOTES:
            assert EXPECTED_NOTES[student] in grades[student]["note"], (student, grades[student]["note"])
        else:
            assert grades[student]["note"] == "", (student, grades[student]["note"])


def test_table_lists_every_student(graded):
    _, out = graded
    for student, score in expected_scores().items():
        line = next(l for l in out.stdout.splitlines() if l.startswith(student + " "))
        assert f"{score:g}/{sum(points().values()):g}" in line


def test_feedback_for_everyone_without_hidden_tests(graded):
    course, _ = graded
    for student in expected_scores():
        page = (course / "feedback" / student / "toy" / "toy.html").read_text()
        assert HIDDEN_MARKER not in page and "BEGIN HIDDEN TESTS" not in page, student
        assert "check_square(square)" not in page, student
    # A failed hidden test still tells the student what the checker said.
    carol = (course / "feedback" / "carol" / "toy" / "toy.html").read_text()
    assert "square() is wrong" in carol and "Traceback removed" in carol


def test_runtime_files_stay_in_the_course_folder(graded):
    course, _ = graded
    for name in ("submitted", "autograded", "feedback", "gradebook.db", "grades.csv"):
        assert (course / name).exists(), name
    assert sorted(p.name for p in (course / "submitted").iterdir()) == sorted(expected_scores())
    assert not (TOY / "course" / "grades.csv").exists()


def test_regrading_one_student_keeps_the_others(env, graded, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(graded[0], course)
    before = read_grades(course)
    resubmitted = tmp_path / "submitted"
    shutil.copytree(EXAMPLES / "alice", resubmitted / "bob")  # bob hands in a right answer
    out = autograder(env, "--root", TOY, "grade", resubmitted, "--course", course, "--no-progress")
    assert out.returncode == 0, out.stdout + out.stderr
    after = read_grades(course)
    assert float(after["bob"]["score"]) == sum(points().values())
    for student in set(before) - {"bob"}:
        assert after[student] == before[student], student


# ---------------------------------------------------------------- validate

def test_validate_passes_a_finished_notebook(env, tmp_path):
    folder = tmp_path / "toy"
    shutil.copytree(TOY / "release" / "toy", folder)
    shutil.copyfile(EXAMPLES / "alice" / "toy" / "toy.ipynb", folder / "toy.ipynb")
    out = autograder(env, "validate", folder / "toy.ipynb")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PASSED" in out.stdout


def test_validate_fails_an_unfinished_notebook(env):
    out = autograder(env, "validate", TOY / "release" / "toy" / "toy.ipynb")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAILED" in out.stdout and "NotImplementedError" in out.stdout


def test_validate_rejects_a_file_that_is_not_a_notebook(env):
    out = autograder(env, "validate", EXAMPLES / "dave" / "toy" / "toy.ipynb")
    assert out.returncode == 2
    assert "not valid JSON" in out.stdout
