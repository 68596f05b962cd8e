"""The feedback names the slip it sees: every wrong answer of tests/slip_corpus.py, through the real checker.

Each answer is judged by the code of its graded cell in the source notebook (the form check and
the hidden test nbgrader runs), after the notebook's first cell (its imports); the message is what
the student would read: the AssertionError, or the message of the Verdict a ``grade(...)`` line
returns. A message names the slip when it matches the slip's concept words (``CONCEPTS``).

Whatever the rate, no message may contain the right answer (computed by running the solution
cell, or, for a function, the solution called on the case the message names), and no wrong answer
may be accepted. The share that names its slip must reach ``TARGET``.
"""
from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

import nbformat
import pytest

from slip_corpus import (CONCEPTS, CORPUS, MIRRORED_TESTS, UNMIRRORED_SLIPS, VARIANT_GAPS, VARIANT_IDS,
                         VARIANT_TEMPLATES, variant_case)

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.90


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _strip_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if not re.match(r"\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$", line))


@lru_cache(maxsize=None)
def _notebook(assignment: str):
    nb = nbformat.read(ROOT / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    cells = {_nbgrader(c).get("grade_id"): c for c in nb.cells if _nbgrader(c).get("grade_id")}
    setup = next(c for c in nb.cells if c.cell_type == "code")
    imports = "\n".join(line for line in setup.source.splitlines() if not line.lstrip().startswith("%"))
    return imports, cells


def _namespace(assignment: str) -> dict:
    namespace = {"__name__": "__main__"}
    exec(compile(_notebook(assignment)[0], f"<{assignment} setup>", "exec"), namespace)
    return namespace


def _run_cell(source: str, namespace: dict, label: str):
    """Run ``source`` like a notebook cell: the value of a last expression is returned."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, label, "exec"), namespace)
    if last is not None:
        return eval(compile(ast.Expression(last.value), label, "eval"), namespace)
    return None


def _answer_cell_id(assignment: str, test_id: str, answer: str) -> str:
    """The grade_id of the answer cell the entry replaces: the name its answer defines."""
    tree = ast.parse(answer)
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    names += [t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)]
    cells = _notebook(assignment)[1]
    found = [n for n in names if n in cells]
    assert found, f"{assignment}/{test_id}: the answer defines none of the answer cells ({names})"
    return found[0]


def feedback(entry) -> tuple[str | None, object]:
    """(message the student reads or None if the answer was accepted, the right value or a function).

    Judged as the grader judges: for the entry's student (a variant's id; any id for the common
    questions), whose variant the notebook's variant cells show (``my_variant``) and check.
    """
    from efficientnn.quiz.variants import graded_as

    with graded_as(entry.get("student") or VARIANT_IDS[0]):
        return _feedback(entry)


def _namespace_with_variant(assignment: str) -> dict:
    from efficientnn.quiz.variants import ASSIGNMENTS, my_variant

    namespace = _namespace(assignment)
    if assignment in ASSIGNMENTS:  # what the notebook's variant cell binds, for the grader's id
        namespace["my_variant"] = my_variant(assignment)
    return namespace


def _feedback(entry) -> tuple[str | None, object]:
    imports, cells = _notebook(entry["assignment"])
    answer_id = _answer_cell_id(entry["assignment"], entry["test"], entry["answer"])
    solution = _namespace_with_variant(entry["assignment"])
    for cell_id, cell in cells.items():  # every solution, in order: a solution function may call another
        meta = _nbgrader(cell)
        if meta.get("solution") and not meta.get("grade") and cell.cell_type == "code":
            try:
                _run_cell(_strip_markers(cell.source), solution, "<solution>")
            except NameError:
                # 05's answers about its own timings read measurements this harness does not make; the
                # solution of the answer judged here must run all the same.
                if cell_id == answer_id:
                    raise
    right = solution[answer_id]

    namespace = _namespace_with_variant(entry["assignment"])
    _run_cell(entry["answer"], namespace, "<answer>")
    try:
        result = _run_cell(_strip_markers(cells[entry["test"]].source), namespace, "<test>")
    except Exception as err:  # the grader's message: AssertionError, or a clear format error
        return str(err), right
    message = getattr(result, "message", None)
    correct = getattr(result, "correct", True)
    return (None if correct else message), right


_CALL = re.compile(r"^(\w+\(.*?\))(?: \([^()]*\))? returned ")


def right_values(message: str, right) -> list:
    """The right values the message must not contain: the answer, or the function's right result
    on the call the message names."""
    if not callable(right):
        return [right]
    match = _CALL.match(message)
    if not match:
        return []
    name = match.group(1).split("(")[0]
    try:
        value = eval(match.group(1), {name: right, "array": __import__("numpy").array})
    except Exception:
        return []
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) > 1:
        return []  # an array result: not something a message would spell out
    return [tuple(value) if isinstance(value, (list, tuple)) else value]


def contains_value(message: str, value) -> str | None:
    """The part of ``message`` that spells ``value`` (a shape, a count of 10 or more, a ratio)."""
    match = _CALL.match(message)
    text = message[match.end():] if match else message  # the call's own arguments may hold anything
    if isinstance(value, (tuple, list)):
        dims = [int(v) for v in value]
        pattern = r"\s*[x×X*,]\s*".join(map(str, dims))
        found = re.search(rf"(?<![\d.]){pattern}(?![\d]|\.\d)", text)
        return found.group(0) if found else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if float(value) == int(value):
        n = int(value)
        if n < 10:
            return None
        forms = {str(n), f"{n:,}", f"{n / 1e3:.1f}K", f"{n / 1e3:.2f}K"} if n > 999 else {str(n)}
        for form in forms:
            found = re.search(rf"(?<![\w.,]){re.escape(form)}(?![\d]|[.,]\d)", text)
            if found:
                return found.group(0)
        return None
    for digits in (3, 4):
        form = f"{value:.{digits}g}"
        found = re.search(rf"(?<![\d.]){re.escape(form)}(?!\d)", text)
        if found:
            return found.group(0)
    return None


def names_slip(message: str, slip: str) -> bool:
    must, must_not = CONCEPTS[slip]
    return bool(re.search(must, message, re.I)) and not (must_not and re.search(must_not, message, re.I))


@pytest.fixture(scope="module")
def judged():
    return [(entry, *feedback(entry)) for entry in CORPUS]


def test_corpus_is_large_and_labelled():
    assert len(CORPUS) >= 60, f"the corpus has {len(CORPUS)} wrong answers; it needs at least 60"
    unknown = {e["slip"] for e in CORPUS} - set(CONCEPTS)
    assert not unknown, f"slips without a concept: {unknown}"
    for entry in CORPUS:
        cells = _notebook(entry["assignment"])[1]
        assert entry["test"] in cells, f"{entry['assignment']} has no graded cell {entry['test']}"


def test_contains_value_finds_the_usual_spellings():
    assert contains_value("It is 24x24x5.", (24, 24, 5)) == "24x24x5"
    assert contains_value("f((24, 24, 5)) returned (1, 2, 3), which is not right.", (24, 24, 5)) is None
    assert contains_value("about 737,280 FLOPs", 737280) == "737,280"
    assert contains_value("about 737.28K", 737280) == "737.28K"
    assert contains_value("a ratio of 0.127", 1 / 64 + 1 / 9) == "0.127"
    assert contains_value("the +1 is missing", 1) is None


def test_no_wrong_answer_is_accepted(judged):
    accepted = [f"{e['assignment']}/{e['test']}: {e['answer'].strip()}" for e, message, _ in judged if message is None]
    assert not accepted, "wrong answers accepted:\n" + "\n".join(accepted)


def test_no_message_contains_the_right_answer(judged):
    leaks = []
    for entry, message, right in judged:
        for value in right_values(message or "", right):
            spelled = contains_value(message or "", value)
            if spelled:
                leaks.append(f"{entry['assignment']}/{entry['test']} ({entry['slip']}): {spelled!r} in {message!r}")
    assert not leaks, "messages that give the answer away:\n" + "\n".join(leaks)


def test_messages_name_the_slip(judged):
    missed = [e for e, message, _ in judged if message is None or not names_slip(message, e["slip"])]
    rate = 1 - len(missed) / len(judged)
    report = "\n".join(f"- {e['assignment']}/{e['test']} [{e['slip']}] {e['answer'].strip()[:70]!r}: "
                       f"{(m or 'ACCEPTED')[:300]}" for e in missed for _, m, _ in
                       [next(j for j in judged if j[0] is e)])
    print(f"\n{len(judged) - len(missed)} of {len(judged)} wrong answers ({rate:.0%}) get a message naming "
          f"their slip; missed:\n{report}")
    assert rate >= TARGET, f"{rate:.0%} of the corpus names its slip (target {TARGET:.0%}); missed:\n{report}"


def test_the_variant_templates_mirror_entries_of_the_common_corpus():
    """With the common sizes, every variant template gives the value of a common entry with the same slip."""
    from efficientnn.quiz.variants import _TEMPLATES

    common = {}
    for entry in CORPUS:
        if not entry.get("student"):
            namespace = {}
            exec(entry["answer"], namespace)
            common.setdefault((entry["assignment"], entry["slip"]), []).extend(
                v for k, v in namespace.items() if k.startswith("answer_"))
    # 06's conv2 question is practice in the common notebook (no corpus entry), graded only as a variant
    practice_only = {("06-pruning", "conv2_macs_after_conv1_pruning")}
    mirrored = set()
    for assignment, templates in VARIANT_TEMPLATES.items():
        for question, slip, expression in templates:
            if (assignment, question) in practice_only:
                continue
            namespace = {}
            exec(variant_case(assignment, question, slip, expression, _TEMPLATES[assignment].common)["answer"], namespace)
            value = namespace[f"answer_variant_{question}"]
            assert value in common.get((assignment, slip), []), (assignment, question, slip, value)
            mirrored.add(assignment)
    assert mirrored == set(_TEMPLATES), f"assignments with variants but no template checked: {set(_TEMPLATES) - mirrored}"


def test_every_common_entry_of_a_varied_question_is_mirrored_or_a_known_gap():
    """The templates leave out no common entry of a question that has a variant, but the listed gaps."""
    from collections import Counter

    for assignment, tests in MIRRORED_TESTS.items():
        for test, question in tests.items():
            entries = Counter(e["slip"] for e in CORPUS if not e.get("student") and e["assignment"] == assignment
                              and e["test"] == test and e["slip"] not in UNMIRRORED_SLIPS)
            templates = Counter(slip for q, slip, _ in VARIANT_TEMPLATES[assignment] if q == question)
            gaps = Counter(slip for a, q, slip, _, _ in VARIANT_GAPS if (a, q) == (assignment, question))
            assert entries, f"{assignment}/{test}: no common entry to mirror"
            assert templates + gaps == entries, (assignment, question, templates + gaps, entries)


def test_the_known_gaps_are_real():
    """Each listed gap: its wrong answer is never accepted, its value is also another known slip's on every
    variant, and on some variant the message names that other slip instead of this one."""
    from efficientnn.quiz.variants import draw, known_slips

    for assignment, question, slip, expression, _ in VARIANT_GAPS:
        named = []
        for student in VARIANT_IDS:
            variant = draw(student, assignment)
            case = variant_case(assignment, question, slip, expression, variant.params, student)
            namespace = {}
            exec(case["answer"], namespace)
            value = namespace[f"answer_variant_{question}"]
            others = {other for other, v in known_slips(variant, f"variant_{question}") if v == value and other != slip}
            assert others, f"{student}: {case['answer']} is no other slip's value: not a gap on this variant"
            message, _ = feedback(case)
            assert message is not None, f"{student}: {case['answer']} is accepted"
            named.append(names_slip(message, slip))
        assert not all(named), f"{assignment}/{question} [{slip}] is named on every variant: no longer a gap"


def test_the_corpus_is_rebuilt_on_several_variants():
    for student in VARIANT_IDS:
        entries = [e for e in CORPUS if e.get("student") == student]
        assert len(entries) == sum(map(len, VARIANT_TEMPLATES.values())), student
        assert all(e["test"].startswith("test_variant_") for e in entries)
    answers = {e["answer"] for e in CORPUS if e.get("student")}
    assert len(answers) > 0.9 * sum(1 for e in CORPUS if e.get("student"))  # each variant its own numbers
