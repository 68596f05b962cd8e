"""A notebook cell's grading metadata, read the way nbgrader reads it (``nbgrader.utils``).

nbgrader keeps a cell's role in ``cell.metadata.nbgrader``: ``grade`` (it is scored),
``solution`` (the student writes it), ``locked`` (read-only), ``grade_id`` and ``points``.
A cell from a damaged or hand-edited notebook may lack any of these, so every reader goes
through :func:`nbgrader_meta`, which never raises.

Example
-------
>>> cell = {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "solution": False,
...         "grade_id": "test_a", "points": 2}}}
>>> is_test(cell), grade_id(cell), points(cell)
(True, 'test_a', 2.0)
>>> nbgrader_meta({"metadata": {"nbgrader": None}})
{}
"""
from __future__ import annotations


def nbgrader_meta(cell) -> dict:
    """``cell.metadata.nbgrader`` as a dict; {} when missing or not a dict."""
    meta = (cell.get("metadata") or {}).get("nbgrader") if isinstance(cell, dict) else None
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    """The cell's ``grade_id``, or None."""
    return nbgrader_meta(cell).get("grade_id")


def is_solution(cell) -> bool:
    """A cell the student answers in (nbgrader's ``is_solution``)."""
    return bool(nbgrader_meta(cell).get("solution"))


def is_grade(cell) -> bool:
    """A cell that is scored (nbgrader's ``is_grade``): a test cell, or a manually graded answer."""
    return bool(nbgrader_meta(cell).get("grade"))


def is_locked(cell) -> bool:
    """A read-only cell (nbgrader's ``is_locked``)."""
    return bool(nbgrader_meta(cell).get("locked"))


def is_test(cell) -> bool:
    """An autograded test cell: scored code that is not the student's answer."""
    return cell.get("cell_type") == "code" and is_grade(cell) and not is_solution(cell)


def points(cell) -> float:
    """Points the cell is worth (0 when it is not scored)."""
    return float(nbgrader_meta(cell).get("points") or 0) if is_grade(cell) else 0.0
