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


def test_a_missing_cell_is_the_only_note_when_it_is_put_back_in_place():
    nb = answered()
    del nb.cells[5]  # test_b, between sol_b and test_c
    assert restore(nb, released()) == ["cell(s) test_b were missing: put back and graded"]
    assert [c.get("id") for c in nb.cells] == ["intro", "c-sol-a", "c-test-a", "c-md", "c-sol-b", "c-test-b",
                                               "c-test-c"]


def test_a_missing_cell_goes_before_the_next_graded_cell_in_released_order_not_on_the_page():
    nb = answered()
    del nb.cells[2]  # test_a
    nb.cells.insert(1, nb.cells.pop(-1))  # test_c dragged to the top
    notes = restore(nb, released())
    assert ids(nb) == RELEASED_IDS
    assert notes == ["cell(s) test_a were missing: put back and graded",
                     "cells were moved out of the released order (test_c): graded in the released order"]


def test_two_neighbours_swapped_name_the_one_that_moved_up():
    nb = answered()
    nb.cells[5], nb.cells[6] = nb.cells[6], nb.cells[5]  # test_c above test_b
    assert restore(nb, released()) == [
        "cells were moved out of the released order (test_c): graded in the released order"]
    assert ids(nb) == RELEASED_IDS


def test_the_put_back_cell_and_restored_metadata_are_copies_of_the_released_ones():
    rel = released()
    nb = answered()
    del nb.cells[6]
    nb.cells[2].metadata.pop("nbgrader")
    restore(nb, rel)
    nb.cells[6].metadata["nbgrader"]["points"] = 99  # nbgrader writes into the submission's cells
    nb.cells[6].metadata["tags"] = ["changed"]
    nb.cells[2].metadata["nbgrader"]["points"] = 98
    assert rel.cells[6].metadata["nbgrader"]["points"] == 1 and "tags" not in rel.cells[6].metadata
    assert rel.cells[2].metadata["nbgrader"]["points"] == 1


def test_a_cell_with_no_metadata_at_all_gets_it_back():
    nb = answered()
    del nb.cells[2]["metadata"]  # a damaged file: not even an empty metadata
    notes = restore(nb, released())
    assert ids(nb) == RELEASED_IDS
    assert notes == ["nbgrader metadata was missing from cell(s) test_a: restored from the released notebook"]


def test_an_unanswered_solution_is_not_recognised_by_its_source():
    nb = released()  # the student changed nothing, then pasted everything into a fresh notebook
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
        cell["id"] = "new-" + cell["id"]
    notes = restore(nb, released())
    assert ids(nb) == [None, None, "test_a", "md_locked", None, "test_b", "test_c"]
    assert notes == ["nbgrader metadata was missing from cell(s) test_a, md_locked, test_b, test_c: restored "
                     "from the released notebook"]


def test_a_copied_solution_above_other_cells_keeps_them():
    nb = answered()
    sol_copy = copy.deepcopy(nb.cells[4])
    sol_copy["id"] = "copy"
    nb.cells.insert(5, sol_copy)  # sol_b pasted twice, with test_b and test_c still below
    notes = restore(nb, released())
    assert ids(nb) == [None, "sol_a", "test_a", "md_locked", "sol_b", None, "test_b", "test_c"]
    assert notes == ["solution cell(s) sol_b appear more than once: the copies ran as plain code"]


def test_trailing_spaces_are_no_edit_but_indentation_is():
    rel = released()
    rel.cells[5].source = "if b:\n    assert b == 2"
    nb = answered()
    nb.cells[5].source = "if b:   \n    assert b == 2"
    assert restore(nb, rel) == []
    nb.cells[5].source = "if b:\nassert b == 2"
    assert restore(nb, rel) == ["test or read-only cell(s) test_b were edited: the original was graded"]


@pytest.mark.parametrize("count, shown", [(4, "md_locked, sol_b, test_b, test_c:"),
                                          (5, "test_a, md_locked, sol_b, test_b and 1 more:")])
def test_four_names_are_all_shown_and_a_fifth_is_counted(count, shown):
    nb = answered()
    graded = [c for c in nb.cells if "nbgrader" in c.metadata]
    for cell in graded[len(graded) - count:]:
        cell.metadata.pop("nbgrader")
    notes = restore(nb, released())
    assert notes == [f"nbgrader metadata was missing from cell(s) {shown} restored from the released notebook"]


def kinds_released():
    """Every kind of nbgrader cell: a manually graded answer (grade and solution), an autograder test
    left unlocked by hand, a solution marked read-only, and a cell with a grade_id and no role."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("Explain.", id="c-manual", metadata=meta("manual", grade=True, solution=True,
                                                                              points=2)),
        nbformat.v4.new_code_cell("assert True", id="c-open", metadata=meta("open_test", grade=True, points=1)),
        nbformat.v4.new_code_cell("y = 1", id="c-lsol", metadata=meta("locked_sol", solution=True, locked=True)),
        nbformat.v4.new_code_cell("z = 0", id="c-plain", metadata=meta("plain")),
        nbformat.v4.new_code_cell("assert y", id="c-last", metadata=meta("last", grade=True, locked=True, points=1)),
    ]
    return nb


def test_answers_are_never_dropped_nor_invented_whatever_else_their_metadata_says():
    nb = kinds_released()
    copies = []
    for cell in nb.cells[:4]:
        twin = copy.deepcopy(cell)
        twin["id"] = "copy-" + cell["id"]
        copies.append(twin)
    nb.cells += copies
    notes = restore(nb, kinds_released())
    # the unlocked test is the grader's: its copy goes; the others are the student's: their copies stay
    assert [c["id"] for c in nb.cells] == ["c-manual", "c-open", "c-lsol", "c-plain", "c-last", "copy-c-manual",
                                           "copy-c-lsol", "copy-c-plain"]
    assert ids(nb)[5:] == [None, None, None]
    assert notes == ["cell(s) open_test appear more than once: one copy was graded",
                     "solution cell(s) manual, locked_sol, plain appear more than once: the copies ran as plain code"]


def test_only_the_graders_cells_are_put_back():
    nb = kinds_released()
    del nb.cells[:4]
    notes = restore(nb, kinds_released())
    assert [c["id"] for c in nb.cells] == ["c-open", "c-last"]
    assert notes == ["cell(s) open_test were missing: put back and graded"]


def test_a_copied_read_only_cell_is_dropped_like_a_test():
    nb = answered()
    twin = copy.deepcopy(nb.cells[3])  # md_locked, the instructor's read-only text
    twin["id"] = "twin"
    nb.cells.append(twin)
    notes = restore(nb, released())
    assert [c.get("id") for c in nb.cells] == ["intro", "c-sol-a", "c-test-a", "c-md", "c-sol-b", "c-test-b",
                                               "c-test-c"]
    assert notes == ["cell(s) md_locked appear more than once: one copy was graded"]
