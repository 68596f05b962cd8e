"""The hostile battery, graded in one batch: every case gets its score and its note, nothing leaks.

tests/fixtures/hostile/make_battery.py builds one submission per way a class can break a
grader (kernels that loop, eat memory or die; test cells deleted, edited, stripped, reordered or
duplicated; files that are not notebooks; code that patches efficientnn, numpy or IPython, reads
the solutions or the gradebook, writes into other students' folders, leaves a process behind or
floods its output). This module

1. grades two bystanders into a course (their grades must survive what follows);
2. grades the whole battery, fresh from the released notebooks, into the same course with two
   workers, while a listener on 127.0.0.1 waits for the "network" case, and prints a table
   (case, expected, got, note);
3. checks each case's score (derived from the points in the source notebooks) and note, that
   every attack made in a kernel really ran there (from the report its notebook prints), that
   the attacks found and changed nothing, reached no one and left no process behind, and that
   the run accounted for every entry of SUBMISSIONS;
4. grades the attacks the sandbox stops once more *without* it, to show they are real, and in
   the weaker user-namespace mode, to show it stops them too;
5. scans release/, the feedback pages and the executed notebooks for answers, solutions and
   hidden tests, and checks that a self-check widget's state never holds its answer.
"""
from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
HOSTILE = REPO / "tests" / "fixtures" / "hostile"
TOY = REPO / "tests" / "fixtures" / "toy-assignment"
sys.path.insert(0, str(HOSTILE))
import make_battery as battery  # noqa: E402
from notebook_text import between, meaningful  # noqa: E402
from test_notebooks import written_forms  # noqa: E402

from autograder import cells  # noqa: E402

CELL_TIMEOUT = 30  # the real notebooks' slowest cells (03 trains 10 epochs, 06 scans sensitivities) take 5-10 s on a quiet machine
SUBMISSION_TIMEOUT = 120
BYSTANDERS = {"by_alice": "alice", "by_carol": "carol"}  # toy example students graded before the battery

pytestmark = pytest.mark.slow


# --------------------------------------------------------------------------- running the grader
@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    e = dict(os.environ)
    e.update(HOME=str(home), IPYTHONDIR=str(home / "ipython"), MPLBACKEND="Agg", CI="true",
             JUPYTER_CONFIG_DIR=str(home / "jupyter-config"), JUPYTER_DATA_DIR=str(home / "jupyter-data"),
             JUPYTER_RUNTIME_DIR=str(home / "jupyter-runtime"), MPLCONFIGDIR=str(home / "matplotlib"),
             PATH=os.pathsep.join([str(Path(sys.executable).parent), e.get("PATH", "")]))
    return e


def grade(env, root, submissions, course, *extra, workers=2):
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), "grade", str(submissions),
                          "--course", str(course), "--workers", str(workers), "--timeout", str(CELL_TIMEOUT),
                          "--submission-timeout", str(SUBMISSION_TIMEOUT), "--no-progress", *map(str, extra)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    out.seconds = time.monotonic() - start
    return out


def read_grades(course: Path) -> dict[tuple[str, str], dict]:
    with open(course / "grades.csv", newline="") as fh:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(fh)}


def points(assignment: str) -> dict[str, float]:
    nb = nbformat.read(battery._source(assignment), as_version=4)
    return {cells.grade_id(c): cells.points(c) for c in nb.cells if cells.is_grade(c)}


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def report(course: Path, student: str, assignment: str = "toy") -> dict:
    """What a hostile notebook printed about what it managed to do: its reports, merged."""
    path = course / "autograded" / student / assignment / f"{assignment}.ipynb"
    if not path.is_file():
        raise AssertionError(f"{student}: no graded notebook, so no report")
    merged = {}
    for cell in nbformat.read(path, as_version=4).cells:
        for out in cell.get("outputs", []):
            for line in out.get("text", "").splitlines():
                if line.startswith(battery.REPORT):
                    merged.update(json.loads(line[len(battery.REPORT):]))
    if not merged:
        raise AssertionError(f"{student} printed no report")
    return merged


#: What a process a hostile notebook left behind has in its command line.
LEFT_BEHIND = (battery.DAEMON_MARK, battery.STUBBORN_MARK, battery.FORK_SLEEP)


def daemons():
    import psutil
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(mark in part for part in proc.info["cmdline"] or [] for mark in LEFT_BEHIND):
            found.append(proc)
    return found


@contextmanager
def listener():
    """A TCP listener on 127.0.0.1 at the "network" case's port; yields the list of what it received."""
    received = []
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", battery.NET_PORT))
    server.listen()
    server.settimeout(0.5)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    received.append(conn.recv(1000))
                except OSError:
                    received.append(b"")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        stop.set()
        thread.join()
        server.close()


def kill_daemons():
    for proc in daemons():
        proc.kill()


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return battery.course_root(tmp_path_factory.mktemp("course-repo"))


@pytest.fixture(scope="module")
def bystanders(env, root, tmp_path_factory):
    """A course where two students were graded before the battery arrives."""
    course = tmp_path_factory.mktemp("course")
    handed_in = tmp_path_factory.mktemp("bystanders")
    for name, example in BYSTANDERS.items():
        shutil.copytree(TOY / "course" / "examples" / "submitted" / example, handed_in / name)
    out = grade(env, root, handed_in, course)
    assert out.returncode == 0, out.stdout + out.stderr
    before = {k: v for k, v in read_grades(course).items() if k[0] in BYSTANDERS}
    files = {name: digest(course / "submitted" / name) for name in BYSTANDERS}
    return course, before, files


@pytest.fixture(scope="module")
def graded(env, root, bystanders, tmp_path_factory):
    """The battery, written fresh from the released notebooks and graded in one batch."""
    course = bystanders[0]
    handed_in = tmp_path_factory.mktemp("battery")
    battery.write(handed_in, root)
    kill_daemons()
    with listener() as received:
        out = grade(env, root, handed_in, course)
    left = daemons()
    kill_daemons()
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    grades = read_grades(course)
    rows = []
    for student, case in battery.CASES.items():
        row = grades[(student, case.assignment)]
        rows.append((student, case, case.expect(points(case.assignment)), float(row["score"]), row["note"]))
    table = ["", f"hostile battery: {len(rows)} submissions in {out.seconds:.0f} s, 2 workers",
             f"{'case':<24} {'assignment':<18} {'expected':>8} {'got':>6}  note"]
    for student, case, want, got, note in rows:
        mark = "" if abs(want - got) < 1e-9 else "   <-- WRONG"
        table.append(f"{student:<24} {case.assignment:<18} {want:>8g} {got:>6g}  {note[:110]}{mark}")
    print("\n".join(table))
    return {"course": course, "out": out, "rows": rows, "grades": grades, "daemons": left,
            "handed_in": handed_in, "received": received}


# --------------------------------------------------------------------------- the battery
def test_battery_fixtures_are_current():
    stale = battery.stale()
    assert not stale, "run `python tests/fixtures/hostile/make_battery.py`; stale: " + ", ".join(stale)


def test_every_case_gets_its_score(graded):
    wrong = [(s, want, got, note) for s, _, want, got, note in graded["rows"] if abs(want - got) > 1e-9]
    assert not wrong, wrong


def test_every_case_gets_its_note(graded):
    for student, case, _, _, note in graded["rows"]:
        if case.note:
            assert case.note in note, (student, note)
        else:
            assert note == "", (student, note)


def test_the_batch_finishes_with_every_student(graded):
    out = graded["out"]
    for student, case in battery.CASES.items():
        assert (student, case.assignment) in graded["grades"], student
        assert (graded["course"] / "feedback" / student / case.assignment).is_dir(), student
    assert "grade NOT recorded" not in out.stdout + out.stderr
    assert "sandbox" not in out.stderr, out.stderr  # root here and in CI: the full sandbox, no warning


def test_every_entry_of_submissions_is_accounted_for(graded):
    """The run ends by counting every entry: graded, refused (why), skipped (why); none is left out."""
    line = next(x for x in graded["out"].stdout.splitlines() if x.startswith("submissions: "))
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (graded|refused|skipped)", line.split("|")[0])}
    assert counts == {"graded": len(battery.CASES) - len(battery.LINKS), "refused": len(battery.LINKS),
                      "skipped": 0}, line
    assert "symbolic link" in line, line


def test_every_attack_ran_in_its_kernel(graded):
    """Each attack made by code in a kernel printed a report showing it happened before it was caught."""
    did_not_run = []
    for student, case in battery.CASES.items():
        if case.ran is None:
            continue
        try:
            if not case.ran(report(graded["course"], student, case.assignment)):
                did_not_run.append(student)
        except (AssertionError, KeyError) as exc:
            did_not_run.append(f"{student} ({exc})")
    assert not did_not_run, did_not_run


def test_links_are_refused_and_never_followed(graded):
    """A notebook, folder or timestamp.txt that links into source/: 0, a note, nothing of the target quoted."""
    for student in battery.LINKS:
        handed = graded["handed_in"] / student / "toy"
        assert handed.is_symlink() or any(p.is_symlink() for p in handed.iterdir()), student  # the attack is set
        row = graded["grades"][(student, "toy")]
        assert float(row["score"]) == 0.0 and "symbolic link (not followed)" in row["note"], (student, row)
        assert "cells" not in row["note"] and "{" not in row["note"], row["note"]
        assert not (graded["course"] / "autograded" / student).exists(), student


def test_the_network_is_out_of_reach(graded):
    """A kernel that connects to a listener on 127.0.0.1: refused, and the listener hears nothing."""
    said = report(graded["course"], "network")
    assert not said["connected"] and said["error"] in ("ECONNREFUSED", "ENETUNREACH"), said
    assert graded["received"] == []


def test_fork_storms_are_bounded(graded):
    said = report(graded["course"], "fork_storm")
    assert said["refused"] and said["forked"] < battery.FORK_TRIES, said


def test_earlier_grades_and_files_are_intact(graded, bystanders):
    course, before, files = bystanders
    after = read_grades(course)
    for key, row in before.items():
        assert after[key] == row, key
    for name, hashes in files.items():
        assert digest(course / "submitted" / name) == hashes, name


def test_attacks_found_nothing_and_changed_nothing(graded):
    course = graded["course"]
    assert report(course, "reads_secrets")["read"] == []
    assert report(course, "writes_others")["wrote"] == []
    assert report(course, "kills_grader")["killed"] == []
    # every other student's hand-in is what they handed in
    for student, case in battery.CASES.items():
        if student in battery.LINKS:
            continue  # refused, never copied
        mine = graded["handed_in"] / student / case.assignment
        theirs = course / "submitted" / student / case.assignment
        assert digest(theirs) == digest(mine), student


def test_no_process_outlives_its_kernel(graded):
    assert graded["daemons"] == []


def test_output_floods_are_cut(graded):
    course = graded["course"]
    for path in (course / "feedback" / "output_flood" / "toy" / "toy.html",
                 course / "autograded" / "output_flood" / "toy" / "toy.ipynb"):
        assert path.stat().st_size < 400_000, (path, path.stat().st_size)
    page = (course / "feedback" / "output_flood" / "toy" / "toy.html").read_text()
    assert "output cut" in page


def test_feedback_says_which_cells_were_rechecked(graded):
    page = (graded["course"] / "feedback" / "real_patch_efficientnn" / battery.REAL / f"{battery.REAL}.html")
    text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
    assert "passed in your kernel, but the checks were tampered with" in text


# --------------------------------------------------------------------------- without the sandbox
def test_without_the_sandbox_the_attacks_work(env, root, tmp_path):
    """The same attacks, graded with --sandbox off: they succeed, so the sandbox is what stops them."""
    handed_in = tmp_path / "handed-in"
    students = ["ctl_full", "network", "reads_secrets", "writes_others", "daemon", "zz_last_full"]
    fresh = tmp_path / "fresh"
    battery.write(fresh, root)
    for s in students:
        shutil.copytree(fresh / s, handed_in / s)
    course = tmp_path / "course"
    kill_daemons()
    try:  # one worker: students in name order, so writes_others runs after four and before one
        with listener() as received:
            out = grade(env, root, handed_in, course, "--sandbox", "off", workers=1)
        left = daemons()
    finally:
        kill_daemons()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "NOT sandboxed" in out.stderr
    grades = read_grades(course)
    full = sum(points("toy").values())
    # reads_secrets found the solution and passed with it (writes_others then zeroed its grade)
    assert report(course, "reads_secrets")["read"], "the attack found nothing even without the sandbox"
    graded_nb = nbformat.read(course / "autograded" / "reads_secrets" / "toy" / "toy.ipynb", as_version=4)
    assert not [o for c in graded_nb.cells if cells.is_grade(c)
                for o in c.get("outputs", []) if o.get("output_type") == "error"]
    # writes_others zeroed the grades already in the gradebook and spoiled the next hand-in
    assert report(course, "writes_others")["wrote"]
    for earlier in ("ctl_full", "daemon", "network", "reads_secrets"):
        assert float(grades[(earlier, "toy")]["score"]) == 0.0, earlier
    assert float(grades[("zz_last_full", "toy")]["score"]) < full
    assert left, "the daemon did not survive its kernel even without the sandbox"
    # and the network case reached the listener
    assert report(course, "network")["connected"] and received == [b"hostile notebook was here"]


def test_user_namespace_mode_also_hides_the_course(env, root, tmp_path):
    """--sandbox user (what an unprivileged grader gets): the same hiding, with a warning saying what is weaker."""
    fresh = tmp_path / "fresh"
    battery.write(fresh, root)
    handed_in = tmp_path / "handed-in"
    for s in ("ctl_full", "reads_secrets", "writes_others", "network"):
        shutil.copytree(fresh / s, handed_in / s)
    course = tmp_path / "course"
    out = grade(env, root, handed_in, course, "--sandbox", "user")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "user namespace" in out.stderr
    assert report(course, "reads_secrets")["read"] == []
    assert report(course, "writes_others")["wrote"] == []
    assert not report(course, "network")["connected"]
    grades = read_grades(course)
    assert float(grades[("ctl_full", "toy")]["score"]) == sum(points("toy").values())
    assert float(grades[("reads_secrets", "toy")]["score"]) == battery.visible(points("toy"))


# --------------------------------------------------------------------------- secrets
_NAMED = re.compile(r"""(?:get_question\(\s*|(\w+_questions)\(\s*\)\s*\[\s*)["']([A-Za-z0-9_]+)["']""")


def _question_sets():
    from efficientnn import quiz
    from efficientnn.quiz import a03_pooling, a04_separable_convolutions, a06_pruning

    sets = {"get_question": None}
    for module in (quiz, a03_pooling, a04_separable_convolutions, a06_pruning):
        for name in dir(module):
            # a06_pruning is a package: its submodule filter_questions is not a set of questions
            if name.endswith("_questions") and callable(getattr(module, name)):
                sets[name] = getattr(module, name)
    return sets


def named_answers(source: str) -> list:
    """Expected answers of the registry questions a notebook names.

    ``get_question("x")`` and ``pooling_questions()["x"]`` (any ``*_questions()`` of efficientnn.quiz).
    """
    from efficientnn.quiz import Question, get_question
    from efficientnn.quiz.questions import expected

    sets, out = _question_sets(), []
    for func, name in set(_NAMED.findall(source)):
        try:
            question = get_question(name) if not func else sets[func]()[name]
        except (KeyError, ValueError):
            continue
        if isinstance(question, Question):
            out.append((name, expected(question)))
    return out


def _secret_lines(text: str):
    """(hidden test lines, solution lines) of a notebook's source that appear nowhere else in it.

    An import a hidden test shares with a visible cell, or code the lesson's text quotes, is no secret.
    """
    hidden = meaningful(between(text, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"))
    solution = meaningful(between(text, "BEGIN SOLUTION", "END SOLUTION"))
    elsewhere, inside = set(), False
    for line in text.splitlines():
        if line.strip() in ("### BEGIN HIDDEN TESTS", "### BEGIN SOLUTION"):
            inside = True
        elif line.strip() in ("### END HIDDEN TESTS", "### END SOLUTION"):
            inside = False
        elif not inside:
            elsewhere.add(line.strip())
    def secret(line):
        return not any(line in other for other in elsewhere)
    return [x for x in hidden if secret(x)], [x for x in solution if secret(x)]


def secrets_of(assignment: str):
    """(hidden test lines, solution lines, [(question, answer)]) of an assignment's source notebook."""
    nb = nbformat.read(battery._source(assignment), as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    return (*_secret_lines(text), named_answers(text))


def page_text(path: Path) -> str:
    """What a browser shows of an HTML page: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(errors="replace")))


def leaks(text: str, handed_in: str, assignment: str, earned: frozenset = frozenset()) -> list[str]:
    """Secrets of ``assignment`` in ``text``; ``earned``: questions whose test cell the student passed in full.

    A page may show the student's own right answer (02's profile rows appear once an answer is
    right), whether the notebook wrote it as a number or as a formula that computes it.
    """
    hidden, solution, answers = secrets_of(assignment)
    found = [f"hidden test line {line!r}" for line in hidden if line in text]
    found += [f"solution line {line!r}" for line in solution if line in text and line not in handed_in]
    for name, value in answers:
        if name in earned:
            continue
        for what, pattern in written_forms(value):
            if pattern.search(text) and not pattern.search(handed_in):
                found.append(f"{what} (the answer to {name})")
    return found


def test_release_holds_no_secret_anywhere_in_its_json():
    """Solutions, hidden tests and graded answers: not in a release notebook, metadata included."""
    problems = []
    for source in sorted(REPO.glob("source/*/*.ipynb")):
        a = source.parent.name
        release = REPO / "release" / a / f"{a}.ipynb"
        if not release.is_file():
            continue
        text = release.read_text()
        nb = nbformat.read(source, as_version=4)
        all_source = "\n".join(c.source for c in nb.cells)
        hidden, solution = _secret_lines(all_source)
        raw = json.loads(text)
        flat = json.dumps(raw)  # lines as JSON strings, so a line is searched for in its escaped form
        problems += [f"{a}: hidden test line {line!r}" for line in hidden if json.dumps(line)[1:-1] in flat]
        problems += [f"{a}: solution line {line!r}" for line in solution if json.dumps(line)[1:-1] in flat]
        for name, value in named_answers(all_source):
            for what, pattern in written_forms(value):
                if pattern.search(flat):
                    problems.append(f"{a}: {what} (the answer to {name})")
    assert not problems, "\n".join(problems)


def test_feedback_pages_hold_no_secret(graded):
    course, problems = graded["course"], []
    for student, case in battery.CASES.items():
        a = case.assignment
        handed = graded["handed_in"] / student / a
        handed_text = "\n".join(p.read_text(errors="replace") for p in handed.glob("*.ipynb"))
        try:
            handed_text = "\n".join(c.source for c in nbformat.reads(handed_text, as_version=4).cells)
        except Exception:
            pass
        earned = _earned(course, a, student)
        for page in sorted((course / "feedback" / student / a).glob("*.html")):
            problems += [f"{student}/{a}: {leak}" for leak in leaks(page_text(page), handed_text, a, earned)]
    assert not problems, "\n".join(problems)


def _earned(course: Path, assignment: str, student: str) -> frozenset:
    """Questions whose test cell earned its full points (the course gradebook), by the names the cell grades.

    A test cell names its question as ``base_cnn_questions()["conv1_output_shape"]`` or
    ``get_question("...")``; its grade id need not match (``test_conv1_shape``).
    """
    from autograder.gradebook import open_gradebook

    with open_gradebook(course / "gradebook.db") as gb:
        sub = gb.find_submission(assignment, student)
        full = {g.name for nb in sub.notebooks for g in nb.grades if g.max_score and g.score == g.max_score}
    names = set()
    for cell in nbformat.read(battery._source(assignment), as_version=4).cells:
        if cells.grade_id(cell) in full:
            names.update(a or b for a, b in _GRADED_NAME.findall(cell.source))
    return frozenset(names)


_GRADED_NAME = re.compile(r"""\[\s*["']([A-Za-z0-9_]+)["']\s*\]|get_question\(\s*["']([A-Za-z0-9_]+)["']""")


def test_executed_notebooks_do_not_hold_self_check_answers(graded):
    """A blank notebook, run by the grader with every self-check widget and drill in it: no answer in its JSON."""
    problems = []
    for student, a in (("real_blank", battery.REAL), ("pool_full", battery.POOL)):
        text = (graded["course"] / "autograded" / student / a / f"{a}.ipynb").read_text()
        source = "\n".join(c.source for c in nbformat.read(battery._source(a), as_version=4).cells)
        handed = "\n".join(c.source for c in nbformat.read(graded["handed_in"] / student / a / f"{a}.ipynb",
                                                            as_version=4).cells)
        for name, value in named_answers(source):
            for what, pattern in written_forms(value):
                if pattern.search(text) and not pattern.search(handed):
                    problems.append(f"{student}/{a}: {what} (the answer to {name})")
    assert not problems, "\n".join(problems)


def _states(widget) -> list:
    out = [widget.get_state()]
    for child in getattr(widget, "children", ()):
        out += _states(child)
    return out


def _state_text(widget) -> str:
    return json.dumps(_states(widget), default=str)


def test_self_check_widgets_never_hold_their_answer():
    """Every course question's widget, and 40 drill questions: the answer is in no widget's state."""
    from efficientnn.quiz import ChoiceQuestion, Question, drill, quiz_widget
    from efficientnn.quiz.questions import expected

    sets = _question_sets()
    questions = []
    for name, make in sets.items():
        if make is not None:
            questions += [q for q in make().values() if isinstance(q, Question)]
    def forms(q):
        """The answer's written forms, except those the question itself states ("same" padding keeps 30x30x16)."""
        return [(what, p) for what, p in written_forms(expected(q)) if not p.search(q.prompt())]

    leaked = []
    for q in questions:
        text = _state_text(quiz_widget(q))
        leaked += [f"{q.name}: {what}" for what, p in forms(q) if p.search(text)]
    for seed in range(40):
        w = drill(seed=seed)
        text = _state_text(w)
        leaked += [f"drill {seed}: {what}" for what, p in forms(w.question) if p.search(text)]
    assert questions and not leaked, leaked

    # A choice widget looks the same whichever choice is right.
    def state(correct):
        q = ChoiceQuestion("Which?", ("first", "second", "third"), lambda: correct, name="which")
        return re.sub(r'"IPY_MODEL_[0-9a-f]+"', '"ID"', _state_text(quiz_widget(q)))
    assert state(0) == state(1) == state(2)
