"""The clean re-check (autograder.audit), in this process, on notebooks and ledgers built here.

tests/test_recheck.py runs a whole recorded kernel; these tests are the fast ones, one behaviour
each: what a plan reads off a source notebook (test code, imports, the instructor's measuring
cells, the student's names), how a ledger file is read (damaged lines, disagreeing records),
what one clean run scores (nbgrader's rule, errors, time limit, replayed calls, calls never
made) and which kernel scores :func:`audit_notebook` lowers, and why. The real graded cells of
notebook 01 are re-checked on records written the way the kernel writes them: the answers by
hand (the lesson's numbers), the function calls by the ledger's own recording of a real checker.

Expected scores come from the lesson (a wrong depth is half right) or from nbgrader's own
partial-credit rule (:func:`nbgrader.utils.get_partial_grade`), never from audit itself.
"""
from __future__ import annotations

import ast
import json
import re
import signal
from pathlib import Path

import nbformat
import pytest
from IPython.lib.pretty import pretty
from nbgrader.utils import get_partial_grade

from autograder import audit
from efficientnn.quiz import ledger

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_01 = REPO / "source" / "01-measuring-cost" / "01-measuring-cost.ipynb"


def nbmeta(gid, *, grade=False, solution=False, locked=False, points=1):
    m = {"schema_version": 3, "grade_id": gid, "grade": grade, "solution": solution, "locked": locked}
    if grade:
        m["points"] = points
    return {"nbgrader": m}


def code(source, **kwargs):
    return nbformat.v4.new_code_cell(source, metadata=nbmeta(**kwargs) if kwargs else {})


def locked(source, gid):
    return code(source, gid=gid, locked=True)


def graded(source, gid, points=1):
    return code(source, gid=gid, grade=True, locked=True, points=points)


def solution(source, gid):
    return code(source, gid=gid, solution=True)


CALL_SQUARE = "from efficientnn.quiz import ledger\nassert ledger.call(square, (3,)) == 9\n"
USES_SHAPES = "assert shapes.conv_output_size(answer, 3) == measured['y']\n"
USES_NUMPY = "assert np.isclose(answer, scratch)\n"
IMPORTS_PACKAGE = "import efficientnn.shapes\nassert efficientnn.shapes.conv_output_size(answer, 1) == answer\n"
READS_TRUTH = "from efficientnn.quiz import ledger\nassert answer == measured['y']\n"


def source_notebook():
    """A small assignment: imports, instructor cells that measure, two solutions, five tests."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("import secrets"),  # text, not code: binds nothing
        code("x = ("),  # does not parse: skipped, not fatal
        code("import numpy as np\nfrom efficientnn import shapes, cost\nimport os.path\n"
             "def helper():\n    import json\n    return json"),
        code("from numpy import linalg as np\nfrom efficientnn.shapes import conv_output_size\n"
             "from .local import thing"),  # a relative import keeps its dot
        locked("base = 3", "base"),
        locked("unused = 7", "unused"),
        locked("log = []", "log"),
        locked("measured = {'x': base, 'n': len(log)}", "measure"),
        locked("measured['y'] = base * 2", "measure_more"),
        locked("elsewhere = unused + 1", "elsewhere"),
        solution("def conv_output_size(n, k):\n    return n", "mine"),
        solution("def square(x):\n    raise NotImplementedError", "square"),
        solution("answer = None", "answer"),
        code("scratch = 5"),  # not locked: the student's, even if a test reads it
        graded(CALL_SQUARE, "test_square", points=2),
        graded(USES_SHAPES, "test_shapes"),
        graded(USES_NUMPY, "test_numpy"),
        graded(IMPORTS_PACKAGE, "test_package"),
        graded("x = (", "test_broken"),
        graded("assert conv_output_size(answer, 3) == 1", "test_mine"),
    ]
    return nb


# ------------------------------------------------------------------------------ reading cells
def test_bound_names_are_every_kind_of_binding():
    tree = ast.parse(
        "a = 1\ndel b\ndef f(p, *q, r=1, **s):\n    pass\nasync def g():\n    pass\nclass C:\n    pass\n"
        "import os.path, numpy as np\nfrom x import y as z, w\nfor i in range(3):\n    pass\n"
        "try:\n    pass\nexcept ValueError as err:\n    pass\nexcept KeyError:\n    pass\n"
        "print(unbound)\n")
    assert audit._bound(tree) == {"a", "b", "f", "p", "q", "r", "s", "g", "C", "os", "np", "z", "w", "i", "err"}


def test_free_names_are_read_but_not_bound_nor_builtins():
    assert audit.free_names("y = x + len(z)\nprint(y)\nfor k in keys:\n    k") == {"x", "z", "keys"}
    assert audit.free_names("%time y = slow(x)") == {"get_ipython"}  # a magic's text is not read as code
    assert audit.free_names("x = (") == set()


def test_magics_are_read_as_python():
    assert "run_line_magic" in audit._python("%time f()")
    assert audit._parse("%time f()") is not None
    assert audit._parse("x = (") is None


def test_names_changed_in_place():
    tree = ast.parse("a[0] = 1\nb.c = 2\nd.update(x)\ndel e[1]\nf = g.h\nk(1)\nm.n.append(1)\nlen(p)")
    assert audit._mutated(tree) == {"a", "b", "d", "e"}


# ------------------------------------------------------------------------------ the plan
def test_a_plan_reads_tests_imports_truths_and_the_students_names():
    plan = audit.Plan(source_notebook())
    assert plan.tests == {"test_square": CALL_SQUARE, "test_shapes": USES_SHAPES, "test_numpy": USES_NUMPY,
                          "test_package": IMPORTS_PACKAGE, "test_broken": "x = (",
                          "test_mine": "assert conv_output_size(answer, 3) == 1"}
    assert plan.imports["np"] == "import numpy as np"  # the first import of a name wins
    assert plan.imports["shapes"] == "from efficientnn import shapes"
    assert plan.imports["cost"] == "from efficientnn import cost"
    assert plan.imports["os"] == "import os.path"
    assert plan.imports["thing"] == "from .local import thing"
    assert plan.imports["ledger"] == "from efficientnn.quiz import ledger"  # test cells import too
    assert "json" not in plan.imports and "secrets" not in plan.imports  # nested, and markdown
    assert plan.library == {"np", "shapes"}  # conv_output_size is redefined by a solution
    assert plan.truths == ["measured"]
    assert plan.truth_cells == ["base = 3", "log = []", "measured = {'x': base, 'n': len(log)}",
                                "measured['y'] = base * 2"]
    assert plan.student == ["answer", "conv_output_size", "scratch", "square"]
    assert plan.checked == {"test_square", "test_shapes", "test_package"}


def test_a_plan_without_test_cells_needs_nothing():
    nb = source_notebook()
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    plan = audit.Plan(nb)
    assert plan.tests == {} and plan.library == set() and plan.truths == [] and plan.student == []
    assert plan.truth_cells == [] and plan.checked == set()


def test_only_the_cells_a_truth_needs_run_and_in_notebook_order():
    instructor = [("a = 1", {"a"}, set(), set()), ("b = a", {"b"}, set(), {"a"}),
                  ("np.seterr(all='ignore')", set(), {"np"}, {"np"}), ("c = 5", {"c"}, set(), set()),
                  ("t = np.array([b])", {"t"}, {"np"}, {"np", "b"}), ("t.fill(c)", set(), {"t"}, {"t", "c"}),
                  ("a.x = 2", set(), {"a"}, {"a"})]
    # a call on a module a truth reads (np.seterr) is not one of its steps; a change to the truth is
    assert audit._needed_cells(instructor, {"t"}) == ["a = 1", "b = a", "c = 5", "t = np.array([b])", "t.fill(c)"]
    assert audit._needed_cells(instructor, {"c"}) == ["c = 5"]
    assert audit._needed_cells(instructor, set()) == []


def test_the_real_notebook_01_plan():
    plan = audit.Plan(nbformat.read(str(NOTEBOOK_01), as_version=4))
    # the student's names its test cells read, from the notebook's text (variants may add more)
    assert {"answer_64_filters", "answer_inference_time", "answer_one_filter", "conv_flops", "conv_macs",
            "dense_macs", "output_shape"} <= set(plan.student)
    assert not {"grade", "get_question", "check_form", "parse_shape", "np", "cost"} & set(plan.student)
    assert plan.student == sorted(plan.student) and plan.truths == [] and plan.truth_cells == []
    assert plan.checked == set(plan.tests) and {"test_dense_macs", "test_answer_one_filter"} <= plan.checked


# ------------------------------------------------------------------------------ the grader's measurements
def counting_plan(tmp_path, extra=""):
    """A plan whose truth ``measured['y']`` is how many times the grader measured before (0, 1, 2, ...)."""
    counter = tmp_path / "count.txt"
    counter.write_text("")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        locked(f"from pathlib import Path\nseen = Path({str(counter)!r}).read_text()\n"
               f"Path({str(counter)!r}).write_text(seen + 'x')\n{extra}", "count"),
        locked("%matplotlib inline\nimport sys\nmeasured = {'y': len(seen)} if __name__ == '__main__' else {}\n"
               "print('measured')\nsys.stdout.write('measured\\n')\nsys.stderr.write('warning\\n')\n"
               "display(measured)", "measure"),
        solution("answer = None", "answer"),
        graded(READS_TRUTH, "test_truth"),
    ]
    return audit.Plan(nb)


def test_truths_are_measured_by_running_the_instructors_cells(tmp_path, capsys):
    plan = counting_plan(tmp_path)
    before = signal.getsignal(signal.SIGALRM)
    assert audit.truths(plan) == ({"measured": {"y": 0}}, "")
    assert audit.truths(plan) == ({"measured": {"y": 1}}, "")
    assert signal.getsignal(signal.SIGALRM) == before and signal.alarm(0) == 0  # no alarm left behind
    assert capsys.readouterr() == ("", "")  # the cells' output is the grader's, not the test log's


def test_a_measurement_that_fails_says_why(tmp_path):
    plan = counting_plan(tmp_path, extra="raise ValueError('no device ' + 'x' * 500)")
    values, error = audit.truths(plan)
    assert values == {}
    assert error.startswith("ValueError: no device x") and len(error) == len("ValueError: ") + 300


def test_an_instructor_cell_that_does_not_compile_is_named(tmp_path):
    values, error = audit.truths(counting_plan(tmp_path, extra="return"))
    assert values == {} and re.fullmatch(r"SyntaxError: 'return' outside function \(<instructor cell>, line 4\)", error)


def test_a_measurement_that_hangs_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(audit, "TRUTH_SECONDS", 1)
    plan = counting_plan(tmp_path, extra="while True:\n    pass")
    values, error = audit.truths(plan)
    assert values == {} and error.startswith("_Timeout")


def test_no_truths_run_nothing():
    plan = audit.Plan(nbformat.read(str(NOTEBOOK_01), as_version=4))
    assert audit.truths(plan) == ({}, "")


def test_measurements_are_made_when_first_needed_and_kept(tmp_path):
    measured = audit.Measurements(counting_plan(tmp_path))
    assert measured.made == []
    assert measured[1] == {"measured": {"y": 1}}
    assert measured[0] == {"measured": {"y": 0}}
    assert len(measured.made) == 2 and measured.errors == []
    failing = audit.Measurements(counting_plan(tmp_path, extra="1 / 0"))
    assert failing[2] == {}
    assert len(failing.errors) == 3 and all(e.startswith("ZeroDivisionError") for e in failing.errors)


# ------------------------------------------------------------------------------ reading a ledger
def names(cell_source, **values):
    return {"cell": ledger.cell_key(cell_source), "event": "names", "values": values}


def call(cell_source, args, result=None, error=None):
    record = {"cell": ledger.cell_key(cell_source), "event": "call", "key": ledger.call_key(args, {})}
    if error:
        record["error"] = error
    else:
        record["result"] = ledger.encode(result)
    return record


def write(path: Path, records) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_a_ledger_is_read_cell_by_cell_and_damaged_lines_are_skipped(tmp_path):
    a, b = names("cell a", answer=1), call("cell b", (3,), 9)
    path = write(tmp_path / "l.jsonl", [a, "{not json", "[" * 100_000, "[1, 2]", {"cell": 5, "event": "names"},
                                        b, {"cell": "c", "event": "other"}, names("cell a", answer=1)])
    with open(path, "ab") as fh:
        fh.write(b'{"cell": "\xff\xfe", "event": "names"}\n')  # not UTF-8: a damaged line, not a crash
    records = audit.read_ledger(str(path))
    assert records == {a["cell"]: {"names": {"answer": 1}, "calls": [], "conflict": False},
                       b["cell"]: {"names": None, "calls": [b], "conflict": False},
                       "c": {"names": None, "calls": [], "conflict": False}}


def test_records_that_disagree_are_a_conflict(tmp_path):
    path = write(tmp_path / "l.jsonl", [names("a", answer=1), names("a", answer=2),
                                        {"cell": "b", "event": "names", "values": [1]}])
    records = audit.read_ledger(path)
    assert records[ledger.cell_key("a")] == {"names": {"answer": 1}, "calls": [], "conflict": True}
    assert records["b"] == {"names": None, "calls": [], "conflict": True}


def test_no_ledger_is_no_records(tmp_path):
    assert audit.read_ledger(None) == {}
    assert audit.read_ledger(tmp_path / "none.jsonl") == {}
    assert audit.read_ledger(tmp_path) == {}  # a folder is not a ledger


def test_a_ledger_is_read_only_up_to_its_size_limit(tmp_path, monkeypatch):
    first, second = json.dumps(names("a", answer=1)), json.dumps(names("b", answer=2))
    path = write(tmp_path / "l.jsonl", [first, second])
    monkeypatch.setattr(audit, "MAX_LEDGER_BYTES", len(first) + 1 + len(second) // 2)
    assert list(audit.read_ledger(path)) == [ledger.cell_key("a")]  # the cut line is damaged: skipped


# ------------------------------------------------------------------------------ one clean run
def nbgrader_points(value, max_points):
    """nbgrader's score for a cell whose last value is ``value`` (no error): its own rule."""
    if value is None:
        return max_points
    return get_partial_grade({"data": {"text/plain": pretty(value)}}, max_points)


@pytest.mark.parametrize("value", [None, 0.5, 0, -1.0, "half", [0.25]])
def test_a_cells_last_value_is_scored_by_nbgraders_rule(value):
    ns = {"value": value}
    score, error, unused = audit.clean_run("x = 1\nvalue", ns, [], 2.0)
    assert (score, error, unused) == (nbgrader_points(value, 2.0), "", 0)


def test_a_score_above_the_cells_points_is_capped():
    assert audit.clean_run("7", {}, [], 2.0) == (2.0, "", 0)
    assert audit._points(2.5, 2.0) == 2.0


def test_a_cell_without_a_last_value_scores_its_points():
    assert audit.clean_run("x = 0.25", {}, [], 3.0) == (3.0, "", 0)
    assert audit.clean_run("", {}, [], 3.0) == (3.0, "", 0)
    assert audit.clean_run("x = 0.25\nif x:\n    x", {}, [], 3.0) == (3.0, "", 0)


def test_the_cells_output_is_kept_from_the_log(capsys):
    source = "import sys\nprint('noise')\nsys.stdout.write('out')\nsys.stderr.write('err')\n0.5"
    assert audit.clean_run(source, {}, [], 1.0) == (0.5, "", 0)
    assert capsys.readouterr() == ("", "")


def test_code_that_parses_but_does_not_compile_names_the_graded_cell():
    score, error, _ = audit.clean_run("return 1", {}, [], 1.0)
    assert score == 0.0 and re.fullmatch(r"SyntaxError: 'return' outside function \(<graded cell>, line 1\)", error)
    score, error, _ = audit.clean_run("x = 1\nawait x", {}, [], 1.0)
    assert score == 0.0 and re.fullmatch(r"SyntaxError: 'await' outside function \(<graded cell>, line 2\)", error)


def test_a_failing_check_scores_zero_and_says_why(capsys):
    score, error, _ = audit.clean_run(f"print('noise')\nassert answer == 2, 'wrong ' + 'x' * 500", {"answer": 1},
                                      [], 1.0)
    assert score == 0.0 and error.startswith("AssertionError: wrong x")
    assert len(error) == len("AssertionError: ") + 300
    assert capsys.readouterr().out == ""
    assert audit.clean_run("raise SystemExit('bye')", {}, [], 1.0)[:2] == (0.0, "SystemExit: bye")


def test_test_code_that_does_not_parse_cannot_be_rechecked():
    score, error, unused = audit.clean_run("x = (", {}, [], 1.0)
    assert score is None and error == "the test code does not parse" and unused == 0


def test_a_cell_that_runs_too_long_scores_zero(monkeypatch):
    monkeypatch.setattr(audit, "CELL_SECONDS", 1)
    before = signal.getsignal(signal.SIGALRM)
    score, error, _ = audit.clean_run("while True:\n    pass", {}, [], 1.0)
    assert score == 0.0 and error == "the re-check took longer than 1 s"
    assert signal.getsignal(signal.SIGALRM) == before and signal.alarm(0) == 0


def test_a_checker_gets_the_recorded_results_of_the_students_function():
    square = audit._Replayed("square")
    assert repr(square) == "<function square (replayed from the graded kernel)>"
    assert square.__name__ == square.__qualname__ == "square"
    right = [call(CALL_SQUARE, (3,), 9)]
    assert audit.clean_run(CALL_SQUARE, {"square": square}, right, 2.0) == (2.0, "", 0)
    wrong = [call(CALL_SQUARE, (3,), 10)]
    assert audit.clean_run(CALL_SQUARE, {"square": square}, wrong, 2.0)[:2] == (0.0, "AssertionError: ")
    raised = [call(CALL_SQUARE, (3,), error=["NotImplementedError", "not yet"])]
    assert audit.clean_run(CALL_SQUARE, {"square": square}, raised, 2.0)[:2] == (0.0, "NotImplementedError: not yet")


def test_calls_the_checker_never_made_are_counted():
    square = audit._Replayed("square")
    records = [call(CALL_SQUARE, (3,), 9), call(CALL_SQUARE, (3,), 9), call(CALL_SQUARE, (4,), 16),
               dict(call(CALL_SQUARE, (5,), 25), key=None)]  # a call whose arguments could not be keyed
    assert audit.clean_run(CALL_SQUARE, {"square": square}, records, 2.0) == (2.0, "", 2)
    twice = CALL_SQUARE + "assert ledger.call(square, (3,)) == 9\nassert ledger.call(square, (3,)) == 9\n"
    assert audit.clean_run(twice, {"square": square}, records[:1], 2.0) == (2.0, "", 0)


def test_a_direct_call_that_the_kernel_recorded_is_replayed():
    square = audit._Replayed("square")
    record = dict(call("x", (3,), 9), key=ledger.call_key((3,), {"power": 2}))
    assert audit.clean_run("square(3, power=2)", {"square": square}, [record], 1.0) == (1.0, "", 0)
    assert audit.clean_run("square(3, power=2) / 18", {"square": square}, [record], 1.0) == (0.5, "", 0)


def test_a_direct_call_to_a_students_function_cannot_be_rechecked():
    square = audit._Replayed("square")
    score, error, _ = audit.clean_run("assert square(3) == 9", {"square": square}, [call("x", (3,), 9)][:0], 1.0)
    assert score is None and re.fullmatch(r"calls a student function outside a checker: cannot be re-checked", error)


# ------------------------------------------------------------------------------ the clean namespace
def test_the_clean_namespace_holds_fresh_imports_recorded_answers_and_the_graders_truths():
    plan = audit.Plan(source_notebook())
    recorded = {"intruder": ledger.encode(1), "answer": ledger.encode((19, 19, 1)), "square": ["fn", "square"],
                "measured": ledger.encode(1), "np": ledger.encode(0)}
    ns = audit._namespace(plan, recorded, {"measured": {"y": 6}})
    assert ns["answer"] == (19, 19, 1) and isinstance(ns["square"], audit._Replayed)
    assert ns["square"].__name__ == "square"
    assert ns["measured"] == {"y": 6}  # the grader's measurement, never the kernel's
    assert ns["np"].__name__ == "numpy" and ns["shapes"].__name__ == "efficientnn.shapes"
    assert "intruder" not in ns and "conv_output_size" not in ns
    assert ns["__name__"] == "__main__" and ns["display"]("anything") is None
    assert audit._namespace(plan, None, {})["shapes"].__name__ == "efficientnn.shapes"


def test_an_import_that_fails_leaves_the_others():
    plan = audit.Plan(source_notebook())
    plan.library = {"aaa", "shapes"}
    plan.imports["aaa"] = "import no_such_module_anywhere"
    ns = audit._namespace(plan, {}, {})
    assert "aaa" not in ns and ns["shapes"].__name__ == "efficientnn.shapes"


# ------------------------------------------------------------------------------ auditing a notebook
def graded_notebook():
    """The autograded notebook: the source's test cells (nbgrader puts the originals back)."""
    return source_notebook()


def audit_changes(plan, records, scores, measured=None):
    return {c.grade_id: c for c in audit.audit_notebook(plan, graded_notebook(), records, scores, measured)}


def entry(*records):
    return {"names": next((r["values"] for r in records if r["event"] == "names"), None),
            "calls": [r for r in records if r["event"] == "call"], "conflict": False}


def test_honest_scores_stand():
    plan = audit.Plan(source_notebook())
    records = {ledger.cell_key(CALL_SQUARE): entry(names(CALL_SQUARE, square=["fn", "square"]),
                                                   call(CALL_SQUARE, (3,), 9))}
    assert audit_changes(plan, records, {"test_square": (2.0, 2.0)}) == {}


def test_a_higher_kernel_score_is_lowered_to_the_clean_one():
    plan = audit.Plan(source_notebook())
    records = {ledger.cell_key(CALL_SQUARE): entry(names(CALL_SQUARE, square=["fn", "square"]),
                                                   call(CALL_SQUARE, (3,), 10))}
    change = audit_changes(plan, records, {"test_square": (2.0, 2.0)})["test_square"]
    assert (change.kernel_score, change.clean_score) == (2.0, 0.0)
    assert re.fullmatch(r"the checks were tampered with: a re-check in a clean interpreter disagrees", change.reason)
    assert change.detail.startswith("AssertionError")


def test_a_cell_scored_without_its_checker_or_with_disagreeing_records_scores_zero():
    plan = audit.Plan(source_notebook())
    key = ledger.cell_key(CALL_SQUARE)
    changes = audit_changes(plan, {}, {"test_square": (2.0, 2.0)})
    change = changes["test_square"]
    assert (change.kernel_score, change.clean_score) == (2.0, 0.0)
    assert re.fullmatch(r"the checks were tampered with: it scored without its checker running", change.reason)
    conflict = dict(entry(names(CALL_SQUARE, square=["fn", "square"]), call(CALL_SQUARE, (3,), 9)), conflict=True)
    change = audit_changes(plan, {key: conflict}, {"test_square": (1.5, 2.0)})["test_square"]
    assert (change.kernel_score, change.clean_score) == (1.5, 0.0)
    assert re.fullmatch(r"the checks were tampered with: the kernel's records for it disagree \(some were not "
                        r"the checker's\)", change.reason)


def test_calls_recorded_but_never_made_by_the_checker_score_zero():
    plan = audit.Plan(source_notebook())
    records = {ledger.cell_key(CALL_SQUARE): entry(names(CALL_SQUARE, square=["fn", "square"]),
                                                   call(CALL_SQUARE, (3,), 9), call(CALL_SQUARE, (2,), 4))}
    change = audit_changes(plan, records, {"test_square": (2.0, 2.0)})["test_square"]
    assert (change.grade_id, change.kernel_score, change.clean_score) == ("test_square", 2.0, 0.0)
    assert re.fullmatch(r"the checks were tampered with: the kernel recorded calls its checker never made",
                        change.reason)


def test_calls_without_a_names_record_are_still_rechecked():
    plan = audit.Plan(source_notebook())
    records = {ledger.cell_key(CALL_SQUARE): entry(call(CALL_SQUARE, (3,), 9))}
    # no names record: square is not in the clean namespace, so the check cannot pass
    change = audit_changes(plan, records, {"test_square": (2.0, 2.0)})["test_square"]
    assert change.clean_score == 0.0 and "NameError" in change.detail


def test_cells_that_stand_as_the_kernel_scored_them():
    plan = audit.Plan(source_notebook())
    # not re-checkable (numpy only), already 0, unknown to the kernel, a direct call: never changed
    direct = "from efficientnn.quiz import ledger\nassert square(3) == 9\n"
    nb = graded_notebook()
    nb.cells.append(graded(direct, "test_direct"))
    nb.cells.append(graded("assert False", "test_extra"))  # not in the source: nothing to re-check it with
    nb.cells.append(nbformat.v4.new_markdown_cell("text", metadata=nbmeta("md", grade=True, points=1)))
    plan.tests["test_direct"], plan.checked = direct, plan.checked | {"test_direct"}
    records = {ledger.cell_key(direct): entry(names(direct, square=["fn", "square"]))}
    scores = {"test_numpy": (1.0, 1.0), "test_square": (0.0, 2.0), "test_direct": (1.0, 1.0),
              "test_extra": (1.0, 1.0), "md": (1.0, 1.0)}
    assert audit.audit_notebook(plan, nb, records, scores) == []


def test_an_equal_partial_score_stands():
    plan = audit.Plan(source_notebook())
    half = "from efficientnn.quiz import ledger\nledger.call(square, (3,)) / 18\n"
    plan.tests["test_square"] = half
    nb = graded_notebook()
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_square").source = half
    records = {ledger.cell_key(half): entry(names(half, square=["fn", "square"]), call(half, (3,), 9))}
    assert audit.audit_notebook(plan, nb, records, {"test_square": (0.5, 2.0)}) == []
    lowered = audit.audit_notebook(plan, nb, records, {"test_square": (0.5 + 2e-9, 2.0)})
    assert [c.clean_score for c in lowered] == [0.5]


def truth_notebook(tmp_path):
    plan = counting_plan(tmp_path)
    nb = nbformat.v4.new_notebook()
    nb.cells = [graded(READS_TRUTH, "test_truth")]
    return plan, nb


@pytest.mark.parametrize("answer, measurements", [(0, 1), (2, 3)])
def test_a_measured_answer_is_checked_against_fresh_measurements_before_it_loses(tmp_path, answer, measurements):
    plan, nb = truth_notebook(tmp_path)
    records = {ledger.cell_key(READS_TRUTH): entry(names(READS_TRUTH, answer=ledger.encode(answer)))}
    measured = audit.Measurements(plan)
    assert audit.audit_notebook(plan, nb, records, {"test_truth": (1.0, 1.0)}, measured) == []
    assert len(measured.made) == measurements  # the answer matched the measurement made then


def test_a_measured_answer_that_matches_no_measurement_loses_its_points(tmp_path):
    plan, nb = truth_notebook(tmp_path)
    records = {ledger.cell_key(READS_TRUTH): entry(names(READS_TRUTH, answer=ledger.encode(7)))}
    changes = audit.audit_notebook(plan, nb, records, {"test_truth": (1.0, 1.0)})
    assert [(c.grade_id, c.kernel_score, c.clean_score) for c in changes] == [("test_truth", 1.0, 0.0)]
    assert re.fullmatch(r"the answer does not match the grader's own measurements \(3, taken outside the kernel, "
                        r"with the tie rule\)", changes[0].reason)
    assert changes[0].detail.startswith("AssertionError")


def test_the_best_of_several_measured_rechecks_counts(tmp_path):
    plan = counting_plan(tmp_path)
    partial = "from efficientnn.quiz import ledger\n[0.25, 1.0, 0.5][measured['y']]\n"
    plan.tests = {"test_truth": partial}
    plan.checked = {"test_truth"}
    nb = nbformat.v4.new_notebook()
    nb.cells = [graded(partial, "test_truth")]
    records = {ledger.cell_key(partial): entry(names(partial, answer=ledger.encode(0)))}
    # three measurements score 0.25, 1.0 then 0.5 against a kernel's 1.0: the second one stands
    assert audit.audit_notebook(plan, nb, records, {"test_truth": (1.0, 1.0)}) == []
    (tmp_path / "again").mkdir()
    plan2 = counting_plan(tmp_path / "again")
    plan2.tests, plan2.checked = {"test_truth": partial}, {"test_truth"}
    changes = audit.audit_notebook(plan2, nb, records, {"test_truth": (1.5, 1.5)})
    assert [c.clean_score for c in changes] == [1.0]


# ------------------------------------------------------------------------------ the real notebook 01
def real_cells():
    nb = nbformat.read(str(NOTEBOOK_01), as_version=4)
    return nb, {c.metadata.nbgrader["grade_id"]: c.source for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata.nbgrader.get("solution")}


def test_real_answer_cells_are_rechecked_with_the_lessons_credit():
    nb, tests = real_cells()
    one, many = tests["test_answer_one_filter"], tests["test_answer_64_filters"]
    # the lesson: 7x7x9 kernels on a 25x25x9 input give 19x19 maps, one per filter
    records = {ledger.cell_key(one): entry(names(one, answer_one_filter=ledger.encode((19, 19, 9)))),
               ledger.cell_key(many): entry(names(many, answer_64_filters=ledger.encode("19x19x64")))}
    changes = audit.audit_notebook(audit.Plan(nb), nb, records, {"test_answer_one_filter": (1.0, 1.0),
                                                                 "test_answer_64_filters": (1.0, 1.0)})
    # the input's depth in place of one map is half right; the 64-filter answer is right
    assert [(c.grade_id, c.clean_score) for c in changes] == [("test_answer_one_filter", 0.5)]


def record_kernel(tmp_path, monkeypatch, source, student, run):
    """Run a real graded cell with the ledger recording the checker's calls, as a kernel does.

    Outside IPython the ledger cannot tell which cell runs, so each record gets the cell's key
    here; the names record (the kernel's capture of the student's names) is written by hand.
    """
    path = tmp_path / f"{run}-raw.jsonl"
    monkeypatch.setenv(ledger.PATH_VARIABLE, str(path))
    try:
        exec(compile(source, "<kernel>", "exec"), dict(student))
        score = 1.0
    except Exception:
        score = 0.0
    monkeypatch.delenv(ledger.PATH_VARIABLE)
    key = ledger.cell_key(source)
    calls = [dict(json.loads(line), cell=key) for line in path.read_text().splitlines()]
    assert calls and all(r["event"] == "call" for r in calls)  # the checker's calls were recorded
    recorded = [names(source, **{n: ["fn", n] for n in student})] + calls
    return score, write(tmp_path / f"{run}.jsonl", recorded)


def right_dense_macs(in_units, out_units):
    return in_units * out_units


def wrong_dense_macs(in_units, out_units):
    return in_units * out_units + out_units  # the bias counted as a MAC


def test_a_real_function_cell_is_rechecked_on_the_calls_its_checker_made(tmp_path, monkeypatch):
    nb, tests = real_cells()
    plan = audit.Plan(nb)
    score, path = record_kernel(tmp_path, monkeypatch, tests["test_dense_macs"], {"dense_macs": right_dense_macs},
                                "right")
    assert score == 1.0
    assert audit.audit_notebook(plan, nb, audit.read_ledger(path), {"test_dense_macs": (1.0, 1.0)}) == []
    score, path = record_kernel(tmp_path, monkeypatch, tests["test_dense_macs"], {"dense_macs": wrong_dense_macs},
                                "wrong")
    assert score == 0.0
    changes = audit.audit_notebook(plan, nb, audit.read_ledger(path), {"test_dense_macs": (1.0, 1.0)})
    assert [(c.grade_id, c.clean_score) for c in changes] == [("test_dense_macs", 0.0)]
    assert "bias" in changes[0].detail.lower() or "dense_macs" in changes[0].detail


def test_every_cell_is_audited_after_one_that_stands_or_was_tampered_with():
    plan = audit.Plan(source_notebook())
    conflict = dict(entry(names(USES_SHAPES, answer=1)), conflict=True)
    # test_square (no records), test_shapes (records disagree), test_numpy (not re-checkable), test_package
    scores = {"test_square": (2.0, 2.0), "test_shapes": (1.0, 1.0), "test_numpy": (1.0, 1.0),
              "test_package": (1.0, 1.0)}
    changes = audit_changes(plan, {ledger.cell_key(USES_SHAPES): conflict}, scores)
    assert sorted(changes) == ["test_package", "test_shapes", "test_square"]
    assert "without" in changes["test_package"].reason and "disagree" in changes["test_shapes"].reason
    scores["test_square"] = (0.0, 2.0)  # a cell that already scores 0 is not re-checked either
    assert sorted(audit_changes(plan, {ledger.cell_key(USES_SHAPES): conflict}, scores)) == ["test_package",
                                                                                            "test_shapes"]


def test_a_cell_that_cannot_be_rechecked_does_not_end_the_audit():
    direct = "from efficientnn.quiz import ledger\nassert square(3) == 9\n"
    nb = source_notebook()
    plan = audit.Plan(nb)
    nb.cells.insert(0, graded(direct, "test_direct"))
    plan.tests["test_direct"], plan.checked = direct, plan.checked | {"test_direct"}
    records = {ledger.cell_key(direct): entry(names(direct, square=["fn", "square"]))}
    changes = audit.audit_notebook(plan, nb, records, {"test_direct": (1.0, 1.0), "test_square": (2.0, 2.0)})
    assert [c.grade_id for c in changes] == ["test_square"]


def test_nothing_is_measured_for_a_cell_that_does_not_read_a_measurement(tmp_path):
    plan = counting_plan(tmp_path)
    plan.tests["test_square"], plan.checked = CALL_SQUARE, plan.checked | {"test_square"}
    plan.student = sorted(set(plan.student) | {"square"})
    nb = nbformat.v4.new_notebook()
    nb.cells = [graded(CALL_SQUARE, "test_square", points=2)]
    records = {ledger.cell_key(CALL_SQUARE): entry(names(CALL_SQUARE, square=["fn", "square"]),
                                                   call(CALL_SQUARE, (3,), 10))}
    measured = audit.Measurements(plan)
    changes = audit.audit_notebook(plan, nb, records, {"test_square": (2.0, 2.0)}, measured)
    assert [c.clean_score for c in changes] == [0.0]
    assert measured.made == []  # measuring (05: OpenVINO timings) is slow: only for cells that need it


def test_a_test_cell_is_never_run_as_an_instructors_measuring_cell():
    nb = nbformat.v4.new_notebook()
    nb.cells = [locked("base = 3", "base"), solution("answer = None", "answer"),
                graded("from efficientnn.quiz import ledger\nshared = 2\nassert answer", "t1"),
                graded("assert shared == 2", "t2")]
    plan = audit.Plan(nb)
    # a name only a test cell binds is the kernel's (the student's), never computed by the grader
    assert plan.truths == [] and plan.truth_cells == [] and plan.student == ["answer", "shared"]
