"""Restoring a submitted notebook's graded structure (autograder.structure), on small notebooks built here.

Each test damages a copy of a released notebook the way students do (metadata stripped, cells
pasted twice, deleted, dragged, edited) and checks the cells that come back, in order, and the
note that names what happened. Expected orders are written out by hand.
"""
import copy

import nbformat
import pytest

from autograder.structure import restore


def meta(gid, *, grade=False, solution=False, locked=False, points=0):
    m = {"schema_version": 3, "grade_id": gid, "grade": grade, "solution": solution, "locked": locked}
    if grade:
        m["points"] = points
    return {"nbgrader": m}


def released():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Intro", id="intro"),
        nbformat.v4.new_code_cell("def a():\n    raise NotImplementedError", id="c-sol-a", metadata=meta("sol_a", solution=True)),
        nbformat.v4.new_code_cell("assert a() == 1", id="c-test-a", metadata=meta("test_a", grade=True, locked=True, points=1)),
        nbformat.v4.new_markdown_cell("Read this.", id="c-md", metadata=meta("md_locked", locked=True)),
        nbformat.v4.new_code_cell("b = None", id="c-sol-b", metadata=meta("sol_b", solution=True)),
        nbformat.v4.new_code_cell("assert b == 2", id="c-test-b", metadata=meta("test_b", grade=True, locked=True, points=2)),
        nbformat.v4.new_code_cell("assert b > 0", id="c-test-c", metadata=meta("test_c", grade=True, locked=True, points=1)),
    ]
    return nb


def ids(nb):
    return [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells]


RELEASED_IDS = [None, "sol_a", "test_a", "md_locked", "sol_b", "test_b", "test_c"]


def answered():
    """A finished submission: the released notebook with the student's answers."""
    nb = released()
    nb.cells[1].source = "def a():\n    return 1"
    nb.cells[4].source = "b = 2"
    return nb


def one_note(notes, *words):
    hits = [n for n in notes if all(w in n for w in words)]
    assert len(hits) == 1, (words, notes)
    return hits[0]


def test_an_intact_notebook_is_left_alone():
    nb = answered()
    before = copy.deepcopy(nb)
    assert restore(nb, released()) == []
    assert nb == before


def test_stripped_metadata_comes_back_by_cell_id():
    nb = answered()
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    notes = restore(nb, released())
    assert ids(nb) == RELEASED_IDS
    assert [c.metadata.get("nbgrader") for c in nb.cells] == [c.metadata.get("nbgrader") for c in released().cells]
    assert nb.cells[1].source == "def a():\n    return 1"  # the student's answer is kept
    note = one_note(notes, "metadata was missing")
    assert note.startswith("nbgrader metadata was missing from cell(s) sol_a, test_a, md_locked, sol_b and 2 more")
    assert len(notes) == 1


def test_a_locked_cell_without_id_or_metadata_is_found_by_its_source():
    nb = answered()
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
        cell["id"] = "new-" + cell["id"]  # pasted into a fresh notebook: new ids
    nb.cells[5].source = "assert b == 2   \n\n"  # trailing spaces and blank lines do not matter
    notes = restore(nb, released())
    # test and locked cells are recognised by source; solution cells (student-written) cannot be
    assert ids(nb) == [None, None, "test_a", "md_locked", None, "test_b", "test_c"]
    assert "edited" not in " ".join(notes)
    one_note(notes, "metadata was missing", "test_a")


def test_a_markdown_cell_does_not_match_a_code_cell_with_the_same_text():
    nb = answered()
    nb.cells[3] = nbformat.v4.new_code_cell("Read this.", id="x")
    notes = restore(nb, released())
    # the code cell is the student's; the released locked markdown cell is put back after it
    assert ids(nb) == [None, "sol_a", "test_a", None, "md_locked", "sol_b", "test_b", "test_c"]
    one_note(notes, "missing", "md_locked")


def test_a_grade_id_the_assignment_does_not_have_is_not_graded():
    nb = answered()
    bonus = nbformat.v4.new_code_cell("x = 1", id="bonus", metadata=meta("bonus", grade=True, points=100))
    nb.cells.append(bonus)
    notes = restore(nb, released())
    assert ids(nb) == RELEASED_IDS + [None]
    assert "nbgrader" not in nb.cells[-1].metadata and nb.cells[-1].source == "x = 1"
    assert one_note(notes, "claim a grade_id").startswith("cell(s) 'bonus' claim")  # the student's text, quoted
    assert "not graded" in notes[0]


def test_copies_of_a_test_cell_are_dropped_and_copies_of_a_solution_run_as_plain_code():
    nb = answered()
    nb.cells.insert(3, copy.deepcopy(nb.cells[2]))  # test_a pasted twice
    sol_copy = copy.deepcopy(nb.cells[1])
    sol_copy["id"] = "copy"
    sol_copy.source = "def a():\n    return 2"
    nb.cells.append(sol_copy)
    notes = restore(nb, released())
    assert ids(nb) == RELEASED_IDS + [None]
    assert nb.cells[-1].source == "def a():\n    return 2" and "nbgrader" not in nb.cells[-1].metadata
    assert nb.cells[1].source == "def a():\n    return 1"  # the first copy is graded
    one_note(notes, "test_a", "more than once", "one copy was graded")
    one_note(notes, "sol_a", "more than once", "plain code")
    assert len(notes) == 2


def test_a_missing_test_cell_is_put_back_before_the_next_graded_cell():
    nb = answered()
    del nb.cells[5]  # test_b
    notes = restore(nb, released())
    assert ids(nb) == RELEASED_IDS
    assert nb.cells[5].source == "assert b == 2"
    assert one_note(notes, "missing") == "cell(s) test_b were missing: put back and graded"


def test_missing_cells_at_the_end_go_last_and_a_missing_solution_is_not_invented():
    nb = answered()
    del nb.cells[6]  # test_c, the last cell
    del nb.cells[4]  # sol_b: the student's work, never put back
    del nb.cells[3]  # md_locked
    notes = restore(nb, released())
    assert ids(nb) == [None, "sol_a", "test_a", "md_locked", "test_b", "test_c"]
    note = one_note(notes, "missing")
    assert "md_locked" in note and "test_c" in note and "sol_b" not in note


def test_edited_test_and_locked_cells_are_noted():
    nb = answered()
    nb.cells[2].source = "assert True"
    nb.cells[3].cell_type = "raw"
    notes = restore(nb, released())
    assert ids(nb) == RELEASED_IDS
    note = one_note(notes, "edited")
    assert "test_a" in note and "md_locked" in note and "original was graded" in note
    assert nb.cells[2].source == "assert True"  # nbgrader puts the original back itself


def test_an_edited_solution_is_not_an_edit_to_report():
    nb = answered()
    nb.cells[4].source = "b = 3"
    assert restore(nb, released()) == []


def test_moved_cells_go_back_in_the_released_order_with_the_students_cells_below_them():
    nb = answered()
    mine = nbformat.v4.new_code_cell("print(b)", id="mine")
    head = nbformat.v4.new_markdown_cell("my notes", id="head")
    test_c = nb.cells.pop(6)
    nb.cells.insert(1, test_c)
    nb.cells.insert(2, mine)  # the student's cell under the moved test cell
    nb.cells.insert(0, head)
    notes = restore(nb, released())
    assert [c.get("id") for c in nb.cells] == ["head", "intro", "c-sol-a", "c-test-a", "c-md", "c-sol-b",
                                               "c-test-b", "c-test-c", "mine"]
    note = one_note(notes, "moved")
    assert "(test_c)" in note and "released order" in note


def test_cells_in_order_are_not_reported_as_moved():
    nb = answered()
    nb.cells.insert(3, nbformat.v4.new_code_cell("scratch = 1", id="s"))
    assert restore(nb, released()) == []
    assert [c.get("id") for c in nb.cells][2:4] == ["c-test-a", "s"]


def test_long_lists_of_cells_are_shortened():
    nb = answered()
    for i in range(6):
        nb.cells.append(nbformat.v4.new_code_cell("", id=f"f{i}", metadata=meta(f"fake{i}", grade=True, points=1)))
    nb.cells.append(nbformat.v4.new_code_cell("", id="again", metadata=meta("fake0", grade=True, points=1)))
    notes = restore(nb, released())
    assert notes == ["cell(s) 'fake0', 'fake1', 'fake2', 'fake3' and 2 more claim a grade_id the assignment does "
                     "not have: not graded"]


@pytest.mark.parametrize("broken", [{"nbgrader": None}, {"nbgrader": "x"}, {}])
def test_damaged_metadata_is_treated_as_missing(broken):
    nb = answered()
    nb.cells[2].metadata = broken
    notes = restore(nb, released())
    assert ids(nb) == RELEASED_IDS
    one_note(notes, "metadata was missing", "test_a")
