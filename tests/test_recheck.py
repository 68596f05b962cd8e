"""The clean re-check of graded cells (autograder.audit), on a real assignment's graded cells, fast.

A student's kernel runs the real notebook 01 (solutions swapped for the student's code, the
instructor's hidden tests in place) in an IPython shell in a subprocess, with the ledger on, as
the grading worker sets it up. Its records then go through :func:`autograder.audit.audit_notebook`
with the scores a kernel reported. What must hold:

- an honest kernel's scores stand, full or partial (an answer cell records the student's names
  but no calls; a function cell records calls): nothing to lower;
- a kernel that reports more than its checks support (a checker patched to pass) is lowered to
  what the clean re-check computes, never kept at the higher score;
- a cell that scored although no checker ran in it scores 0.

Kernel scores follow nbgrader's rule, written here: a cell that raised scores 0, a cell whose last
value reads as a number scores that number (capped at the cell's points), any other cell its points.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

import efficientnn
from autograder import audit
from efficientnn.quiz import ledger
from efficientnn.quiz.variants import GRADER_VARIABLE, graded_as

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "source" / "01-measuring-cost" / "01-measuring-cost.ipynb"
GRADED_ID = "recheck-student"  # the submission folder's name, whose per-student variant is graded

# Runs in the subprocess: every code cell of the notebook in order, student cells replaced.
KERNEL = textwrap.dedent("""
    import json, sys
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.lib.pretty import pretty

    notebook, replacements, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    shell = InteractiveShell.instance()
    scores = {}
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        source = replacements.get(meta.get("grade_id"), cell.source)
        result = shell.run_cell(source, store_history=True, silent=False)
        if meta.get("grade") and not meta.get("solution"):
            points = float(meta["points"])
            if not result.success:
                score = 0.0
            else:
                try:
                    score = min(float(pretty(result.result)), points) if result.result is not None else points
                except (TypeError, ValueError):
                    score = points
            scores[meta["grade_id"]] = [score, points]
    with open(out, "w") as fh:
        json.dump(scores, fh)
""")

WRONG_DEPTH = "answer_one_filter = (19, 19, 9)\n"  # right height and width, input depth: half credit
WRONG_SHAPE = "answer_64_filters = (25, 25, 64)\n"  # the padding assumed: no credit
WRONG_MACS = ("def conv_macs(input_shape, kernel_size, filters, stride=1, padding=0):\n"
              "    h_out, w_out, c_out = output_shape(input_shape, kernel_size, filters, stride, padding)\n"
              "    return h_out * w_out * c_out * kernel_size * kernel_size\n")  # input depth left out


def run_kernel(tmp_path: Path, replacements: dict) -> tuple[dict, Path]:
    """Grade the notebook with the student's cells in a recorded kernel: (scores, ledger path)."""
    ledger_path, scores_path = tmp_path / "ledger.jsonl", tmp_path / "scores.json"
    # The kernel imports the efficientnn under test; a mutation tool's marker must not reach it.
    env = {k: v for k, v in os.environ.items() if k != "MUTANT_UNDER_TEST"}
    env["PYTHONPATH"] = str(Path(efficientnn.__file__).resolve().parents[1])
    env[ledger.PATH_VARIABLE] = str(ledger_path)
    env[ledger.NAMES_VARIABLE] = ",".join(audit.Plan(nbformat.read(str(NOTEBOOK), as_version=4)).student)
    env[GRADER_VARIABLE] = GRADED_ID  # as the grader does: the variant graded is the submission's (issue 14)
    proc = subprocess.run([sys.executable, "-c", KERNEL, str(NOTEBOOK), json.dumps(replacements), str(scores_path)],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    scores = {gid: tuple(v) for gid, v in json.loads(scores_path.read_text()).items()}
    return scores, ledger_path


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    """A student who got one question half right, one wrong and one function wrong; the rest right."""
    tmp = tmp_path_factory.mktemp("honest")
    scores, ledger_path = run_kernel(tmp, {"answer_one_filter": WRONG_DEPTH, "answer_64_filters": WRONG_SHAPE,
                                           "conv_macs": WRONG_MACS})
    return scores, ledger_path


def audit_with(ledger_path: Path, scores: dict):
    """The re-check's changes, by grade_id; the source notebook stands in for the autograded one
    (autograding puts the instructor's test cells back, so their sources are the same)."""
    notebook = nbformat.read(str(NOTEBOOK), as_version=4)
    with graded_as(GRADED_ID):  # the worker re-checks under the submission's id too
        changes = audit.audit_notebook(audit.Plan(notebook), notebook, audit.read_ledger(ledger_path), scores)
    return {c.grade_id: c for c in changes}


def test_the_kernel_scored_what_the_student_wrote(honest):
    scores, _ = honest
    # The lesson's numbers: a 25x25 input, a 7x7 kernel: 19x19; depth 9 in place of 1 is half right.
    assert scores["test_answer_one_filter"] == (0.5, 1.0)
    assert scores["test_answer_64_filters"] == (0.0, 1.0)
    assert scores["test_conv_macs_basic"] == (0.0, 1.0)
    assert scores["test_output_shape_basic"] == scores["test_dense_macs"] == (1.0, 1.0)
    assert 0 < sum(s for s, _ in scores.values()) < sum(p for _, p in scores.values())


def test_honest_scores_stand_full_and_partial(honest):
    scores, ledger_path = honest
    records = [json.loads(line) for line in ledger_path.read_text().splitlines()]
    events = {r["event"] for r in records}
    assert events == {"names", "call"}  # both kinds of cell were recorded
    assert audit_with(ledger_path, scores) == {}


def test_an_inflated_score_is_lowered_to_the_clean_one(honest):
    scores, ledger_path = honest
    inflated = dict(scores)
    for gid in ("test_answer_one_filter", "test_answer_64_filters", "test_conv_macs_basic"):
        inflated[gid] = (1.0, 1.0)  # what a kernel with a patched checker reports
    changes = audit_with(ledger_path, inflated)
    assert set(changes) == {"test_answer_one_filter", "test_answer_64_filters", "test_conv_macs_basic"}
    assert changes["test_answer_one_filter"].clean_score == 0.5  # half right stays half right
    assert changes["test_answer_64_filters"].clean_score == 0.0
    assert changes["test_conv_macs_basic"].clean_score == 0.0
    for change in changes.values():
        assert change.kernel_score == 1.0 and "clean" in change.reason


def test_a_cell_that_scored_without_its_checker_running_scores_zero(honest, tmp_path):
    scores, ledger_path = honest
    cells = {c.metadata.nbgrader["grade_id"]: c.source for c in nbformat.read(str(NOTEBOOK), as_version=4).cells
             if c.metadata.get("nbgrader", {}).get("grade")}
    dropped = {ledger.cell_key(cells[g]) for g in ("test_answer_one_filter", "test_dense_macs")}
    kept = [line for line in ledger_path.read_text().splitlines() if json.loads(line)["cell"] not in dropped]
    assert len(kept) < len(ledger_path.read_text().splitlines())
    trimmed = tmp_path / "trimmed.jsonl"
    trimmed.write_text("\n".join(kept) + "\n")
    changes = audit_with(trimmed, scores)
    assert set(changes) == {"test_answer_one_filter", "test_dense_macs"}
    assert all(c.clean_score == 0.0 and "without" in c.reason for c in changes.values())
    assert changes["test_dense_macs"].kernel_score == 1.0

