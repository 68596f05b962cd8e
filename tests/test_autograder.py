"""End-to-end tests of ``python -m autograder`` on the toy assignment.

Everything here runs the real nbgrader and real kernels on real notebooks
(tests/fixtures/toy-assignment): the toy class has one student per way a
submission can go wrong, described in that folder's make_fixtures.py.
Expected scores are derived from the points in the toy's source notebook.
"""
from __future__ import annotations

import csv
import json
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


def test_grade_help_lists_the_new_options(env):
    out = autograder(env, "grade", "--help")
    for option in ("--db", "--sandbox"):
        assert option in out.stdout


# ---------------------------------------------------------------- the gradebook under load

def test_a_locked_gradebook_is_waited_for(env, graded, tmp_path):
    """Another program holds the course gradebook (longer than SQLite's own 5 s wait): grades still land."""
    import sqlite3
    import threading

    course = tmp_path / "course"
    shutil.copytree(graded[0], course)
    resubmitted = tmp_path / "submitted"
    shutil.copytree(EXAMPLES / "alice", resubmitted / "bob")
    locked, release = threading.Event(), threading.Event()

    def hold():
        con = sqlite3.connect(course / "gradebook.db", isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(8)
        con.execute("COMMIT")
        con.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(10)
    try:
        out = autograder(env, "--root", TOY, "grade", resubmitted, "--course", course, "--no-progress")
    finally:
        release.set()
        holder.join()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "NOT recorded" not in out.stdout + out.stderr
    assert float(read_grades(course)["bob"]["score"]) == sum(points().values())


def test_the_gradebook_can_be_any_database_url(env, tmp_path):
    course, db = tmp_path / "course", tmp_path / "elsewhere" / "class.db"
    db.parent.mkdir()
    handed_in = tmp_path / "submitted"
    shutil.copytree(EXAMPLES / "alice", handed_in / "alice")
    out = autograder(env, "--root", TOY, "grade", handed_in, "--course", course, "--db", f"sqlite:///{db}",
                     "--no-progress")
    assert out.returncode == 0, out.stdout + out.stderr
    assert db.is_file() and not (course / "gradebook.db").exists()
    assert float(read_grades(course)["alice"]["score"]) == sum(points().values())


# ---------------------------------------------------------------- restoring a notebook's structure

def _toy_release():
    return nbformat.read(TOY / "release" / "toy" / "toy.ipynb", as_version=4)


def _ids(nb):
    return [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells]


def test_restore_leaves_an_intact_notebook_alone():
    from autograder.structure import restore
    nb = _toy_release()
    assert restore(nb, _toy_release()) == []
    assert nb == _toy_release()


def test_restore_puts_back_deleted_and_reorders_moved_cells():
    from autograder.structure import restore
    released = _toy_release()
    nb = _toy_release()
    del nb.cells[_ids(nb).index("test_square_visible")]
    hidden = nb.cells.pop(_ids(nb).index("test_square_hidden"))
    nb.cells.insert(0, hidden)
    notes = restore(nb, released)
    assert _ids(nb) == _ids(released)
    assert any("missing: put back" in n for n in notes) and any("released order" in n for n in notes)


def test_restore_recognises_cells_without_metadata_and_drops_copies():
    from autograder.structure import restore
    released = _toy_release()
    nb = _toy_release()
    for cell in nb.cells:
        cell.metadata.pop("nbgrader")
    nb.cells.append(nbformat.from_dict(json.loads(json.dumps(released.cells[-1]))))  # a pasted test cell
    fake = nbformat.v4.new_code_cell("x = 1", id="bonus")
    fake.metadata["nbgrader"] = dict(released.cells[-1].metadata.nbgrader, grade_id="bonus", points=100)
    nb.cells.append(fake)
    notes = restore(nb, released)
    assert _ids(nb) == _ids(released) + [None]
    assert [c.metadata.nbgrader for c in nb.cells[:-1]] == [c.metadata.nbgrader for c in released.cells]
    assert any("metadata was missing" in n for n in notes)
    assert any("more than once" in n for n in notes) and any("bonus" in n for n in notes)


# ---------------------------------------------------------------- the records behind the re-check

def test_ledger_values_survive_the_round_trip():
    import fractions

    import numpy as np

    from efficientnn.quiz.ledger import Unreadable, decode, encode
    values = [None, ..., True, 3, 2**70, -0.1, float("inf"), 1 + 2j, "19x19x1", (19, 19, 1), [1, (2, "3")],
              {"a": [1.5]}, {1, 2}, fractions.Fraction(1, 3), np.int64(7), np.float32(0.5),
              np.arange(12, dtype=np.float32).reshape(3, 4), np.array([True, False])]
    for value in values:
        back = decode(json.loads(json.dumps(encode(value))))
        assert type(back) is type(value), value
        if isinstance(value, np.ndarray):
            assert back.dtype == value.dtype and np.array_equal(back, value)
        elif value == value:  # not nan
            assert back == value
    assert isinstance(decode(encode(object())), Unreadable)
    assert isinstance(decode(["a", "O", [1], "AA=="]), Unreadable)  # never an object array


def test_ledger_records_calls_and_replays_them(tmp_path, monkeypatch):
    from efficientnn.quiz import ledger
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv(ledger.PATH_VARIABLE, str(path))

    def wrong(x, y=1):
        if x < 0:
            raise ValueError("negative")
        return x * y + 1

    assert ledger.call(wrong, (2,), {"y": 3}) == 7
    with pytest.raises(ValueError):
        ledger.call(wrong, (-1,))
    records = [json.loads(line) for line in path.read_text().splitlines()]
    monkeypatch.delenv(ledger.PATH_VARIABLE)
    with ledger.replaying([r for r in records if r["event"] == "call"]):
        assert ledger.call(None, (2,), {"y": 3}) == 7
        with pytest.raises(Exception, match="negative") as err:
            ledger.call(None, (-1,))
        assert type(err.value).__name__ == "ValueError"
        with pytest.raises(ledger.NotRecorded):
            ledger.call(None, (5,))


def test_recheck_plan_separates_the_students_names_from_the_notebooks_imports():
    from autograder.audit import Plan
    plan = Plan(nbformat.read(REPO / "source" / "01-measuring-cost" / "01-measuring-cost.ipynb", as_version=4))
    from efficientnn.quiz.variants import answer_variable, variant
    variants = [answer_variable(name) for name in variant("any", "01-measuring-cost")]  # issue 14's variant answers
    assert plan.student == sorted(["answer_64_filters", "answer_inference_time", "answer_one_filter", "conv_flops",
                                   "conv_macs", "dense_macs", "output_shape", *variants])
    assert plan.checked == set(plan.tests)
    toy = Plan(nbformat.read(TOY / "source" / "toy" / "toy.ipynb", as_version=4))
    assert toy.checked == set()  # plain asserts and a local checker: nothing to re-check


def test_the_sandbox_is_available_here():
    import os as _os

    from autograder.sandbox import probe
    if _os.geteuid() != 0:
        pytest.skip("root mode needs root")
    assert probe("auto") == ("root", None)


def test_the_sandbox_has_no_network_no_capabilities_and_its_own_uid(tmp_path):
    """A process run as the grader runs a kernel: a refused connection to a live listener, no caps, uid, no course."""
    import os as _os
    import socket

    from autograder import sandbox
    if _os.geteuid() != 0:
        pytest.skip("root mode needs root")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    folder = tmp_path / "notebook-folder"
    folder.mkdir()
    (tmp_path / "connection.json").write_text("{}")
    spec = sandbox.spec_for("root", 7, tmp_path / "job", REPO / "efficientnn", None)
    probe = ("import json, os, socket\n"
             f"s = socket.socket(); s.settimeout(3)\n"
             f"net = s.connect_ex(('127.0.0.1', {port}))\n"
             "caps = [l.split()[1] for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapBnd'))]\n"
             f"print(json.dumps({{'net': net, 'uid': os.getuid(), 'caps': caps, 'repo': sorted(os.listdir({str(REPO)!r})),"
             "'cwd': os.getcwd(), 'tmp': os.listdir('/tmp')}))")
    cmd = sandbox.command(spec, [sys.executable, "-c", probe, str(tmp_path / "connection.json")], str(folder),
                          dict(os.environ), str(tmp_path / "connection.json"))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    server.close()
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["net"] != 0 and seen["uid"] == sandbox.UID_BASE + 7 and set(seen["caps"]) == {"0000000000000000"}
    # the course is not there: only the package and (here, inside the checkout) the Python environment
    assert "efficientnn" in seen["repo"] and set(seen["repo"]) <= {"efficientnn", ".venv"}, seen
    # a private /tmp: its home, and the way down to its copy of the notebook's folder
    # /tmp is private: only the kernel's home, its folder, and (when the checkout itself lives
    # under /tmp, as a CI clone may) the path down to the checkout, which holds only the two above.
    under_tmp = REPO.parts[2:3] if REPO.parts[1:2] == ("tmp",) else ()
    assert seen["cwd"] == str(folder) and set(seen["tmp"]) <= {"home", *folder.parts[2:3], *under_tmp}, seen


def test_submissions_are_read_without_following_links(tmp_path):
    import os as _os

    from autograder import submissions
    subs = tmp_path / "submitted"
    (subs / "ok" / "toy").mkdir(parents=True)
    (subs / "ok" / "toy" / "toy.ipynb").write_text("{}")
    (subs / "linked" / "toy").mkdir(parents=True)
    (subs / "linked" / "toy" / "toy.ipynb").symlink_to(TOY / "source" / "toy" / "toy.ipynb")
    (subs / "folder").mkdir()
    (subs / "folder" / "toy").symlink_to(TOY / "source" / "toy")
    (subs / "fifo" / "toy").mkdir(parents=True)
    _os.mkfifo(subs / "fifo" / "toy" / "toy.ipynb")
    (subs / "hard" / "toy").mkdir(parents=True)
    outside = tmp_path / "outside.ipynb"
    outside.write_text("{}")
    _os.link(outside, subs / "hard" / "toy" / "toy.ipynb")
    (subs / ".dotted" / "toy").mkdir(parents=True)
    (subs / "stray.txt").write_text("not a student")
    (subs / "ok" / "notes.txt").write_text("")
    found = submissions.find(subs, ["toy"])
    assert [(j.student, j.assignment) for j in found.jobs] == [(".dotted", "toy"), ("ok", "toy")]
    refused = {s.student: kinds for s, kinds in found.refused}
    assert refused == {"fifo": [("'toy.ipynb'", "is a FIFO")],
                       "folder": [("the folder 'toy'", "is a symbolic link (not followed)")],
                       "hard": [("'toy.ipynb'", "is a hard link to a file outside the submission")],
                       "linked": [("'toy.ipynb'", "is a symbolic link (not followed)")]}
    assert sorted(found.skipped) == [("'ok'/'notes.txt'", "no assignment of that name in source/"),
                                     ("'stray.txt'", "a file where a student folder belongs")]


def test_a_value_too_long_to_record_fails_only_its_own_check(tmp_path, monkeypatch):
    from efficientnn.quiz import ledger
    assert ledger.decode(ledger.encode(10**5000)).__class__ is ledger.Unreadable
    monkeypatch.setenv(ledger.PATH_VARIABLE, str(tmp_path / "ledger.jsonl"))
    monkeypatch.setenv(ledger.NAMES_VARIABLE, "huge,fine")
    monkeypatch.setattr(ledger, "_running_cell", lambda: "cell-a")
    monkeypatch.setattr(ledger, "_user_namespace", lambda: {"huge": 10**5000, "fine": 3})
    ledger._state["captured"].discard("cell-a")
    ledger.touch()  # before the fix: ValueError (Python refuses str() of an int over 4,300 digits)
    record = json.loads((tmp_path / "ledger.jsonl").read_text())
    assert record["values"]["fine"] == ["i", "3"] and record["values"]["huge"][0] == "?"


def test_ledger_records_that_disagree_fail_the_cell(tmp_path):
    from autograder import audit
    from efficientnn.quiz import ledger
    path = tmp_path / "ledger.jsonl"
    forged = {"cell": "k", "event": "names", "values": {"answer": ledger.encode(42)}}
    real = {"cell": "k", "event": "names", "values": {"answer": ledger.encode(1)}}
    path.write_text(json.dumps(forged) + "\n" + json.dumps(real) + "\n" + json.dumps(forged) + "\n")
    records = audit.read_ledger(path)
    assert records["k"]["conflict"] and records["k"]["names"] == forged["values"]
    path.write_text(json.dumps(real) + "\n" + json.dumps(real) + "\n")
    assert not audit.read_ledger(path)["k"]["conflict"]


def test_05_measured_truths_come_from_the_grader():
    """05's ``this_run`` is computed by the grader (the locked measuring cells), never read from the kernel."""
    from autograder.audit import Plan
    plan = Plan(nbformat.read(REPO / "source" / "05-openvino-timing" / "05-openvino-timing.ipynb", as_version=4))
    assert plan.truths == ["this_run"] and "this_run" not in plan.student
    assert any("layer_times" in cell for cell in plan.truth_cells)
    assert any('this_run["wide_layer"]' in cell for cell in plan.truth_cells)
    assert not any("answer_" in cell for cell in plan.truth_cells)  # no student name is needed to measure
