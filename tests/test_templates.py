"""autograder.templates: what nbgrader generated from source/ is reused while source/ is unchanged.

Real nbgrader generate runs over the toy assignment (tests/fixtures/toy-assignment); whether a
run generated is read off what generating leaves behind (its job folder), not from a mock.
"""
import doctest
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import gradebook, templates
from autograder.grade import prepare

TOY = Path(__file__).resolve().parent / "fixtures" / "toy-assignment" / "source"


def _copy_source(tmp_path) -> Path:
    source = tmp_path / "source"
    shutil.copytree(TOY, source, ignore=shutil.ignore_patterns("__pycache__"))
    return source


def _points(db, assignment="toy") -> dict:
    with gradebook.open_gradebook(db) as gb:
        return {c.name: c.max_score for nb in gb.find_assignment(assignment).notebooks for c in nb.grade_cells}


def _source_points(source: Path) -> dict:
    nb = nbformat.read(source / "toy" / "toy.ipynb", as_version=4)
    return {c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"])
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def _run(source, db, tmp_path, cache, n):
    tmp = tmp_path / f"run{n}"
    tmp.mkdir()
    template = prepare(source, ["toy"], db, tmp, cache)
    generated = (tmp / "prepare-job").exists()  # run_generate's working folder: nbgrader ran
    return template, generated


def test_doc_example_runs():
    assert doctest.testmod(templates).failed == 0


def test_the_key_follows_the_source_files_and_ignores_editor_debris(tmp_path):
    source = _copy_source(tmp_path)
    first = templates.key(source, ["toy"])
    (source / "toy" / ".ipynb_checkpoints").mkdir()
    (source / "toy" / ".ipynb_checkpoints" / "toy-checkpoint.ipynb").write_text("{}")
    assert templates.key(source, ["toy"]) == first
    (source / "toy" / "data.txt").write_text("a support file the students get")
    assert templates.key(source, ["toy"]) != first


@pytest.mark.slow
def test_a_second_run_reuses_what_the_first_generated_and_a_changed_source_regenerates(tmp_path):
    source = _copy_source(tmp_path)
    db, cache = tmp_path / "course" / "gradebook.db", tmp_path / "cache"
    template, generated = _run(source, db, tmp_path, cache, 1)
    assert generated and _points(template) == _source_points(source) == _points(db)

    template, generated = _run(source, db, tmp_path, cache, 2)
    assert not generated, "same source, up-to-date course gradebook: nbgrader must not run again"
    assert _points(template) == _source_points(source)
    assert (tmp_path / "run2" / "prepare" / "release" / "toy" / "toy.ipynb").is_file()

    # An instructor changes a graded cell's points: the template and the course gradebook follow.
    old_key = templates.key(source, ["toy"])
    path = source / "toy" / "toy.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    cell.metadata.nbgrader["points"] = float(cell.metadata.nbgrader["points"]) + 3
    nbformat.write(nb, path)
    assert templates.key(source, ["toy"]) != old_key
    template, generated = _run(source, db, tmp_path, cache, 3)
    assert generated
    assert _points(template) == _source_points(source) == _points(db)
    assert templates.course_matches(db, template, ["toy"])
    assert not templates.course_matches(db, tmp_path / "run2" / "template.db", ["toy"])


@pytest.mark.slow
def test_a_deleted_course_gradebook_is_rebuilt_and_a_half_written_entry_is_not_used(tmp_path):
    source = _copy_source(tmp_path)
    db, cache = tmp_path / "course" / "gradebook.db", tmp_path / "cache"
    _run(source, db, tmp_path, cache, 1)
    db.unlink()
    _, generated = _run(source, db, tmp_path, cache, 2)
    assert not generated and _points(db) == _source_points(source)

    entry = cache / templates.key(source, ["toy"])
    (entry / "complete").unlink()  # as if a run stopped while storing it
    _, generated = _run(source, db, tmp_path, cache, 3)
    assert generated and (entry / "complete").is_file()


def test_only_the_newest_entries_are_kept(tmp_path):
    template = tmp_path / "template.db"
    template.write_bytes(b"not read here")
    release = tmp_path / "release"
    (release / "a").mkdir(parents=True)
    cache = tmp_path / "cache"
    for i in range(templates.KEEP + 3):
        templates.store(cache / f"entry{i:02d}", template, release)
    kept = sorted(p.name for p in cache.iterdir())
    assert len(kept) == templates.KEEP
    assert f"entry{templates.KEEP + 2:02d}" in kept and "entry00" not in kept


def test_a_missing_entry_restores_nothing(tmp_path):
    assert templates.restore(tmp_path / "nothing", tmp_path / "t.db", tmp_path / "release") is False
    assert not (tmp_path / "t.db").exists()


def test_a_file_that_is_no_gradebook_has_no_shape_and_a_missing_one_is_not_created(tmp_path):
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE notes (text TEXT)")
    assert templates.shape(other, ["toy"]) is None
    assert templates.shape(tmp_path / "missing.db", ["toy"]) is None
    assert not (tmp_path / "missing.db").exists()
