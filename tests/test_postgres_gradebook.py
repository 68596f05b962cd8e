"""The course gradebook in a real PostgreSQL server, read back by nbgrader's own tools.

A throwaway server (Debian's ``postgresql``, installed by ``.ci/run``) is started once for the
session (:func:`services.postgres_server`). A small toy class (full marks, blank, partly
right, damaged, missing, renamed, error display switched off) is graded twice: into SQLite
(the reference) and into PostgreSQL with ``--db postgresql://...``. Then the PostgreSQL
gradebook is read by ``nbgrader export`` and by nbgrader's formgrader (a real Jupyter server
with the formgrader extension, asked through its API), and everything must agree with SQLite.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import services
from test_autograder import EXAMPLES, TOY, autograder, expected_scores

pytestmark = pytest.mark.slow

#: Toy students that grade in a few seconds each, one per way a quick submission can go.
STUDENTS = ("alice", "bob", "carol", "dave", "frank", "grace", "ivan")


@pytest.fixture(scope="session")
def postgres():
    if services.postgres_bindir() is None and not services.started_in_ci():
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; CI installs it)")
    with services.postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    e = dict(os.environ)
    e.update(HOME=str(home), IPYTHONDIR=str(home / "ipython"), JUPYTER_CONFIG_DIR=str(home / "jupyter-config"),
             JUPYTER_DATA_DIR=str(home / "jupyter-data"), JUPYTER_RUNTIME_DIR=str(home / "jupyter-runtime"),
             MPLBACKEND="Agg", PATH=os.pathsep.join([str(Path(sys.executable).parent), e.get("PATH", "")]))
    return e


@pytest.fixture(scope="module")
def handed_in(tmp_path_factory):
    import shutil
    folder = tmp_path_factory.mktemp("submitted")
    for student in STUDENTS:
        shutil.copytree(EXAMPLES / student, folder / student)
    return folder


def _grade(env, handed_in, course, *extra):
    # Default limits: none of these students loops, and a busy machine must not turn slow into 0.
    out = autograder(env, "--root", TOY, "grade", handed_in, "--course", course, "--workers", 2,
                     "--no-progress", *extra)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "NOT recorded" not in out.stdout + out.stderr
    return out


@pytest.fixture(scope="module")
def sqlite_course(env, handed_in, tmp_path_factory):
    course = tmp_path_factory.mktemp("sqlite-course")
    _grade(env, handed_in, course)
    return course


@pytest.fixture(scope="module")
def postgres_course(env, handed_in, postgres, tmp_path_factory):
    course = tmp_path_factory.mktemp("postgres-course")
    db = postgres.create_database("toy_course")
    _grade(env, handed_in, course, "--db", db)
    return course, db


def _rows(path: Path) -> list[dict]:
    """A grades.csv as rows sorted by assignment and student (the order rows come out of a
    database is its own business)."""
    with open(path, newline="") as fh:
        return sorted(csv.DictReader(fh), key=lambda r: (r["assignment"], r["student_id"]))


def test_grades_land_in_postgres_not_in_a_sqlite_file(postgres_course, postgres):
    import psycopg

    course, _ = postgres_course
    assert not (course / "gradebook.db").exists()
    with psycopg.connect(host="127.0.0.1", port=postgres.port, user="grader", dbname="toy_course") as con:
        students = {r[0] for r in con.execute("SELECT student_id FROM submitted_assignment")}
        scored = con.execute("SELECT count(*) FROM grade").fetchone()[0]
    assert students == set(STUDENTS)
    assert scored > 0


def test_grades_csv_from_postgres_is_the_one_sqlite_gives(sqlite_course, postgres_course):
    postgres_rows = _rows(postgres_course[0] / "grades.csv")
    assert postgres_rows == _rows(sqlite_course / "grades.csv")
    # And both give each student what the toy's rules say.
    assert {r["student_id"]: float(r["score"]) for r in postgres_rows} == \
        {s: v for s, v in expected_scores().items() if s in STUDENTS}, [(r["student_id"], r["note"]) for r in postgres_rows]


def _nbgrader_export(env, course: Path, db_url: str, out: Path) -> list[dict]:
    out.mkdir()
    done = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export",
                           f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url={db_url}"],
                          cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return _rows(out / "grades.csv")


def test_nbgrader_export_reads_postgres_as_it_reads_sqlite(env, sqlite_course, postgres_course, tmp_path):
    course, db = postgres_course
    from_postgres = _nbgrader_export(env, course, db, tmp_path / "pg")
    from_sqlite = _nbgrader_export(env, sqlite_course, f"sqlite:///{sqlite_course / 'gradebook.db'}",
                                   tmp_path / "sqlite")
    assert len(from_postgres) == len(STUDENTS)
    assert from_postgres == from_sqlite
    ours = {r["student_id"]: r for r in _rows(course / "grades.csv")}
    for row in from_postgres:  # nbgrader's columns of our grades.csv are nbgrader's own export
        assert {k: v for k, v in ours[row["student_id"]].items() if k != "note"} == row


@pytest.fixture
def formgrader(env, postgres_course, tmp_path):
    """A Jupyter server with nbgrader's formgrader on the PostgreSQL course; yields (base URL, token)."""
    course, db = postgres_course
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\nc.CourseDirectory.db_url = {db!r}\n")
    port, token = services.free_port(), "formgrader-test"
    proc = subprocess.Popen([str(Path(sys.executable).parent / "jupyter"), "server", "--no-browser", "--allow-root",
                             "--ServerApp.ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={course}"],
                            cwd=course, env=env, stdout=open(tmp_path / "server.log", "wb"), stderr=subprocess.STDOUT)
    try:
        services.wait_for_port(port, proc, "jupyter server")
        yield f"http://127.0.0.1:{port}", token
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        (course / "nbgrader_config.py").unlink()


def _api(base: str, token: str, path: str):
    request = urllib.request.Request(base + path, headers={"Authorization": f"token {token}"})
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_formgrader_shows_the_postgres_grades(formgrader, postgres_course):
    base, token = formgrader
    expected_max = {r["max_score"] for r in _rows(postgres_course[0] / "grades.csv")}
    students = {s["id"]: s for s in _api(base, token, "/formgrader/api/students")}
    assert set(students) == set(STUDENTS)
    assert {str(float(s["max_score"])) for s in students.values()} == expected_max
    submissions = {s["student"]: s for s in _api(base, token, "/formgrader/api/submissions/toy")}
    expected = {r["student_id"]: float(r["raw_score"]) for r in _rows(postgres_course[0] / "grades.csv")}
    assert set(submissions) == set(expected) == set(STUDENTS)
    # The formgrader shows scores for what has an autograded copy; a notebook nbgrader could not
    # read (dave's damaged file, frank's missing one) it lists as submitted, not autograded.
    autograded = {s: float(v["score"]) for s, v in submissions.items() if v["autograded"]}
    assert set(autograded) == {s for s in STUDENTS if s not in ("dave", "frank")}
    assert autograded == {s: expected[s] for s in autograded}
    assert sorted(set(autograded.values())) == [0.0, 1.0, 3.0]
