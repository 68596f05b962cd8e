"""The syllabus in course/README.md lists every assignment with the points its notebook grades."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SYLLABUS = (ROOT / "course" / "README.md").read_text()
ASSIGNMENTS = sorted(p.name for p in (ROOT / "source").iterdir() if (p / f"{p.name}.ipynb").exists())


def _points(assignment):
    nb = json.loads((ROOT / "source" / assignment / f"{assignment}.ipynb").read_text())
    meta = [c["metadata"].get("nbgrader", {}) for c in nb["cells"]]
    return sum(m.get("points", 0) for m in meta if m.get("grade"))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_overview_row_has_the_notebook_points(assignment):
    row = re.search(rf"^\|[^|]*\| `{re.escape(assignment)}` \|[^|]*\| (\d+(?:\.\d+)?) \|$", SYLLABUS, re.M)
    assert row, f"{assignment} has no row in the syllabus table of course/README.md"
    assert float(row.group(1)) == _points(assignment)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_section_heading_has_the_notebook_points(assignment):
    heading = re.search(rf"^### .*\(`{re.escape(assignment)}`, (\d+(?:\.\d+)?) points\)$", SYLLABUS, re.M)
    assert heading, f"{assignment} has no section in course/README.md"
    assert float(heading.group(1)) == _points(assignment)


def test_total_is_the_sum():
    total = re.search(r"\| \*\*total\*\* \|  \| \*\*(\d+(?:\.\d+)?)\*\* \|", SYLLABUS)
    assert total and float(total.group(1)) == sum(_points(a) for a in ASSIGNMENTS)
