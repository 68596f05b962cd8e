"""The instructor's loop through nbgrader's exchange, on one machine, with real student accounts.

publish -> two students (their own accounts and homes) fetch, answer and submit -> collect ->
grade -> return -> each student fetches their own feedback. The instructor has a home of their
own too. Runs the real nbgrader, the real grader and the toy assignment (tests/fixtures).
"""
from __future__ import annotations

import csv
import doctest
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import exchange_support as xs
from autograder import exchange
from autograder.exchange import Exchange, student_config

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "fixtures" / "toy-assignment"
SOLVED = TOY / "course" / "examples" / "submitted" / "alice" / "toy" / "toy.ipynb"


def test_docstring_examples_run():
    result = doctest.testmod(exchange)
    assert result.attempted > 0 and result.failed == 0


def test_the_commands_are_listed():
    out = subprocess.run([sys.executable, "-m", "autograder", "--help"], cwd=REPO, capture_output=True, text=True)
    for command in ("publish", "collect", "return"):
        assert re.search(rf"^\s+{command}\s", out.stdout, re.MULTILINE), out.stdout


def test_an_unknown_assignment_is_a_clear_error(tmp_path):
    out = subprocess.run([sys.executable, "-m", "autograder", "--root", TOY, "publish", "nope",
                          "--exchange", tmp_path / "x", "--course", tmp_path / "c"],
                         cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 2 and "no assignment 'nope'" in out.stderr and "Traceback" not in out.stderr


def full_points() -> float:
    nb = nbformat.read(TOY / "source" / "toy" / "toy.ipynb", as_version=4)
    return sum(float(c.metadata.nbgrader["points"]) for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))


@pytest.fixture(scope="module")
def loop():
    """Two student accounts, an instructor home, an exchange folder; torn down afterwards."""
    xs.require_root()
    with xs.reachable_checkout():
        yield from _loop()


def _loop():
    base = xs.shared_folder("enn-exchange-")
    students = [xs.Account(name, base / f"home-{name}") for name in ("ennstu1", "ennstu2")]
    instructor_home = base / "home-instructor"
    instructor_home.mkdir()
    env = dict(os.environ, HOME=str(instructor_home), JUPYTER_CONFIG_DIR=str(instructor_home / ".jupyter"),
               JUPYTER_DATA_DIR=str(instructor_home / ".local/share/jupyter"),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    for s in students:
        s.write(".jupyter/nbgrader_config.py", student_config(base / "exchange"))
    try:
        yield base, students, env
    finally:
        for s in students:
            s.remove()
        shutil.rmtree(base, ignore_errors=True)


def instructor(env, base, *args):
    out = subprocess.run([sys.executable, "-m", "autograder", "--root", str(TOY), *map(str, args),
                          *(["--exchange", str(base / "exchange")] if args[0] != "grade" else []),
                          "--course", str(base / "course")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, f"{args}: {out.stdout}\n{out.stderr}"
    return out


@pytest.mark.slow
def test_publish_fetch_submit_collect_grade_return(loop):
    base, (stu1, stu2), env = loop
    instructor(env, base, "publish", "toy")

    for s in (stu1, stu2):
        out = s.nbgrader("fetch_assignment", "toy")
        assert out.returncode == 0, out.stdout + out.stderr
        assert (s.home / "toy" / "toy.ipynb").is_file()
    # stu1 answers every task; stu2 hands in the notebook as fetched
    stu1.write("toy/toy.ipynb", SOLVED.read_text())
    for s in (stu1, stu2):
        out = s.nbgrader("submit", "toy")
        assert out.returncode == 0, out.stdout + out.stderr
    # the inbound folder is write-only for students: stu2 cannot list stu1's submission
    peek = stu2.run("ls", str(base / "exchange" / "efficientnn" / "inbound"))
    assert peek.returncode != 0 and "Permission denied" in peek.stderr

    out = instructor(env, base, "collect", "toy")
    assert "collected toy" in out.stdout and "ennstu1, ennstu2" in out.stdout
    for s in (stu1, stu2):
        # nbgrader recorded the submitting account as the student
        assert (base / "course" / "submitted" / s.name / "toy" / "toy.ipynb").is_file()

    instructor(env, base, "grade", "--assignment", "toy", "--no-progress", "--timeout", "10",
               "--submission-timeout", "60")
    with open(base / "course" / "grades.csv", newline="") as fh:
        scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
    assert scores == {"ennstu1": full_points(), "ennstu2": 0.0}

    out = instructor(env, base, "return", "toy")
    assert "returned feedback on toy: 2 student(s)" in out.stdout

    for s in (stu1, stu2):
        out = s.nbgrader("fetch_feedback", "toy")
        assert out.returncode == 0, out.stdout + out.stderr
        pages = list((s.home / "toy" / "feedback").glob("*/toy.html"))
        assert len(pages) == 1, out.stdout + out.stderr
        text = pages[0].read_text()
        assert xs.feedback_score(text) == (scores[s.name], full_points())
        assert "hidden-test-marker" not in text
    # the feedback files in the exchange carry hashed names: one student cannot guess another's
    names = [p.name for p in (base / "exchange" / "efficientnn" / "feedback").iterdir()]
    assert len(names) == 2 and not any("ennstu" in n for n in names)


@pytest.mark.slow
def test_collect_names_who_has_not_submitted(loop, tmp_path):
    base, students, env = loop
    roster = base / "roster.txt"
    roster.write_text("ennstu1\nennstu2\nabsentee\n")
    out = instructor(env, base, "collect", "toy", "--roster", roster)
    assert "absentee: no submission in the exchange" in out.stdout


def test_return_before_grading_says_so(tmp_path):
    ex = Exchange(TOY, tmp_path / "course", tmp_path / "exchange")
    sub = tmp_path / "course" / "submitted" / "someone" / "toy"
    sub.mkdir(parents=True)
    (sub / "toy.ipynb").write_text("{}")
    report = exchange.return_feedback(ex, "toy")
    assert report.students == []
    assert any("someone: submitted but has no feedback yet" in n for n in report.notes)


@pytest.mark.slow
def test_return_skips_feedback_it_cannot_return_and_says_why(tmp_path):
    """A graded student whose submission did not come through the exchange (no secret) is
    named, and the others' feedback is still returned (nbgrader alone would stop at it)."""
    ex = Exchange(TOY, tmp_path / "course", tmp_path / "exchange")
    ex.folder.mkdir()
    for student, secret in (("via-exchange", "s3cret"), ("via-lms", None)):
        sub = ex.course / "submitted" / student / "toy"
        sub.mkdir(parents=True)
        (sub / "toy.ipynb").write_text("{}")
        (sub / "timestamp.txt").write_text("2026-11-01 12:00:00.000000 UTC")
        if secret:
            (sub / "submission_secret.txt").write_text(secret)
        fb = ex.course / "feedback" / student / "toy"
        fb.mkdir(parents=True)
        (fb / "toy.html").write_text(f"<html>{student}</html>")
    report = exchange.return_feedback(ex, "toy")
    assert report.students == ["via-exchange"]
    assert any(n.startswith("via-lms:") and "submission_secret.txt" in n for n in report.notes)
    from nbgrader.utils import notebook_hash
    returned = ex.folder / "efficientnn" / "feedback" / f"{notebook_hash(secret='s3cret', notebook_id='toy')}.html"
    assert returned.read_text() == "<html>via-exchange</html>"
