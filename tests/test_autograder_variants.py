"""Tests for ``python -m autograder variant STUDENT ASSIGNMENT [--json]`` (autograder/variants.py)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from efficientnn.quiz.questions import expected
from efficientnn.quiz.variants import ASSIGNMENTS, variant

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "autograder", "variant", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def test_json_gives_the_students_own_questions_and_answers():
    for assignment in ("02-base-cnn", "04-separable-convolutions"):
        run = _cli("ben", assignment, "--json")
        assert run.returncode == 0, run.stderr
        out = json.loads(run.stdout)
        mine = variant("ben", assignment)
        assert (out["student"], out["assignment"]) == ("ben", assignment)
        assert [q["question"] for q in out["questions"]] == list(mine)
        assert [q["answer"] for q in out["questions"]] == [_plain(expected(q)) for q in mine.values()]
        assert [q["prompt"] for q in out["questions"]] == [q.prompt() for q in mine.values()]
        other = json.loads(_cli("chen", assignment, "--json").stdout)
        assert [q["answer"] for q in other["questions"]] != [q["answer"] for q in out["questions"]]


def test_text_shows_each_prompt_and_expected_answer():
    run = _cli("ana", "01-measuring-cost")
    assert run.returncode == 0, run.stderr
    for name, question in variant("ana", "01-measuring-cost").items():
        answer = expected(question)
        shown = ("x".join(map(str, answer)) if isinstance(answer, tuple)
                 else f"{answer:.6g}" if isinstance(answer, float) else str(answer))
        assert f"{name} ({question.kind}" in run.stdout
        assert f"expected: {shown}" in run.stdout
        assert question.prompt() in run.stdout


def test_an_unknown_assignment_is_an_error_naming_the_known_ones():
    run = _cli("ana", "07-quantization")
    assert run.returncode == 2
    assert "no variants for assignment '07-quantization'" in run.stderr
    assert all(a in run.stderr for a in ASSIGNMENTS)
    assert run.stdout == ""


# --------------------------------------------------------------------------- the integrity report
def test_a_class_with_copiers_gives_one_row_per_copied_answer(tmp_path):
    import csv

    from autograder.variants import INTEGRITY_COLUMNS, integrity_rows, write_integrity_report

    assignment = "02-base-cnn"
    roster = [f"stu{i}" for i in range(8)]
    answers = {s: {n: expected(q) for n, q in variant(s, assignment).items()} for s in roster}
    copiers = {"stu1": "stu5", "stu6": "stu2"}  # copier -> source
    for copier, source in copiers.items():
        answers[copier] = {n: expected(q) for n, q in variant(source, assignment).items()}
    answers["stu3"]["variant_fc2_flops"] = 1  # an honest mistake matches nobody
    rows = integrity_rows(assignment, answers, roster)
    own = {s: variant(s, assignment) for s in roster}
    wanted = [(c, assignment, n, other) for c, src in copiers.items() for n in own[c]
              if expected(own[c][n]) != expected(own[src][n])
              for other in roster if other != c and expected(own[other][n]) == expected(own[src][n])]
    got = [tuple(r.values()) for r in rows]
    assert sorted(got) == sorted(wanted)
    for copier, source in copiers.items():  # every copier appears, with the right source
        assert sum(1 for r in rows if (r["student"], r["matched_variant_of"]) == (copier, source)) >= 5
    assert {r["student"] for r in rows} == set(copiers)
    path = write_integrity_report(tmp_path / "course" / "integrity.csv", rows)
    with path.open() as f:
        read = list(csv.DictReader(f))
    assert tuple(read[0]) == INTEGRITY_COLUMNS and read == rows


# --------------------------------------------------------------------------- answers the kernel recorded
def test_the_answers_come_from_the_ledger_names_and_disagreeing_cells_are_skipped(tmp_path):
    from autograder.variants import answers_from_ledger
    from efficientnn.quiz import ledger

    def names(cell, values):
        return json.dumps({"cell": cell, "event": "names", "values": {k: ledger.encode(v) for k, v in values.items()}})

    path = tmp_path / "ledger.jsonl"
    path.write_text("\n".join([
        names("a", {"answer_variant_fc1_flops": "12.3K", "answer_conv1_flops": 5, "STUDENT_ID": "ana"}),
        names("b", {"answer_variant_conv1_output_shape": (3, 3, 1)}),
        names("b", {"answer_variant_conv1_output_shape": (9, 9, 9)}),  # written ahead: cell b disagrees
        names("c", {"answer_variant_fc2_flops": 640}),
        "not json",
    ]) + "\n")
    assert answers_from_ledger(path, "02-base-cnn") == {"variant_fc1_flops": "12.3K", "variant_fc2_flops": 640}
    assert answers_from_ledger(path, "07-quantization") == {}  # no variants there
    assert answers_from_ledger(tmp_path / "missing.jsonl", "02-base-cnn") == {}


def test_the_report_keeps_the_rows_of_students_not_graded_again(tmp_path):
    import csv

    from autograder.variants import INTEGRITY_FILE, roster, update_integrity_report

    a = "06-pruning"
    for student in ("ana", "ben", "cy"):
        (tmp_path / "submitted" / student / a).mkdir(parents=True)
    assert roster(tmp_path, a) == ["ana", "ben", "cy"]
    own = {s: {n: expected(q) for n, q in variant(s, a).items()} for s in roster(tmp_path, a)}
    update_integrity_report(tmp_path, {a: {"ana": own["ben"], "cy": own["cy"]}}, {a: roster(tmp_path, a)})
    update_integrity_report(tmp_path, {a: {"cy": own["ana"]}}, {a: roster(tmp_path, a)})  # cy regraded
    with (tmp_path / INTEGRITY_FILE).open() as f:
        rows = list(csv.DictReader(f))
    assert {(r["student"], r["matched_variant_of"]) for r in rows} == {("ana", "ben"), ("cy", "ana")}
    assert {r["question"] for r in rows if r["student"] == "ana"} == set(own["ana"])


# --------------------------------------------------------------------------- a class of 20, really graded
CLASS_ASSIGNMENT = "04-separable-convolutions"  # the fewest variant questions: the cheapest real run
COPIERS = {"s02": "s11", "s05": "s16", "s08": "s03", "s13": "s20", "s17": "s09"}  # copier -> whose answers


def _variant_notebook():
    """The real source notebook's variant section only (its id cell, questions, answers and hidden tests)."""
    import nbformat

    nb = nbformat.read(ROOT / "source" / CLASS_ASSIGNMENT / f"{CLASS_ASSIGNMENT}.ipynb", as_version=4)
    def ours(cell):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        return cell.get("id") == "variant-student-id" or gid.startswith(("variant_", "answer_variant_", "test_variant_"))
    nb.cells = [c for c in nb.cells if ours(c)]
    return nb


def _handed_in(source_nb, answers: dict, student_id: str):
    """What a student hands in: the released form (hidden tests removed) with these answer cells."""
    import copy
    import re

    nb = copy.deepcopy(source_nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.get("id") == "variant-student-id":
            cell.source = f"STUDENT_ID = {student_id!r}"
        elif meta.get("solution"):
            cell.source = answers[meta["grade_id"]]
        elif meta.get("grade"):
            cell.source = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", "", cell.source, flags=re.S)
    return nb


@pytest.mark.slow
def test_a_class_of_20_with_5_copiers_graded_by_the_real_grader(tmp_path):
    import csv
    import os
    import re

    import nbformat

    from efficientnn.quiz import check
    from autograder.variants import INTEGRITY_FILE, variant_rows

    source_nb = _variant_notebook()
    (tmp_path / "source" / CLASS_ASSIGNMENT).mkdir(parents=True)
    nbformat.write(source_nb, tmp_path / "source" / CLASS_ASSIGNMENT / f"{CLASS_ASSIGNMENT}.ipynb")
    solutions = {c.metadata["nbgrader"]["grade_id"]: re.sub(r"### (BEGIN|END) SOLUTION\n?", "", c.source)
                 for c in source_nb.cells if c.metadata.get("nbgrader", {}).get("solution")}
    roster = [f"s{i:02d}" for i in range(1, 21)]
    points = {row["question"]: row["points"] for row in variant_rows("s01", CLASS_ASSIGNMENT)}
    expected_score = {}
    for student in roster:
        source = COPIERS.get(student)
        if source is None:  # honest: works the formulas out on the variant the notebook shows
            answers = solutions
            expected_score[student] = sum(points.values())
        else:  # pastes the classmate's values (and, like a copied notebook, the classmate's id)
            rows = variant_rows(source, CLASS_ASSIGNMENT)
            answers = {f"answer_{r['question']}": f"answer_{r['question']} = {r['answer']!r}" for r in rows}
            own = variant(student, CLASS_ASSIGNMENT)
            expected_score[student] = sum(points[r["question"]] for r in rows
                                          if check(own[r["question"]], r["answer"]).correct)
        folder = tmp_path / "submissions" / student / CLASS_ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(_handed_in(source_nb, answers, source or student), folder / f"{CLASS_ASSIGNMENT}.ipynb")
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    env.pop("EFFICIENTNN_STUDENT", None)
    proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(tmp_path), "grade",
                           str(tmp_path / "submissions"), "--course", str(tmp_path / "course"), "--workers", "2",
                           "--no-progress"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(proc.stdout[-400:])

    with (tmp_path / "course" / "grades.csv").open() as f:
        scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    assert scores == {s: float(expected_score[s]) for s in roster}
    assert all(scores[s] == sum(points.values()) for s in roster if s not in COPIERS)  # honest: nothing lost
    assert all(scores[s] < sum(points.values()) for s in COPIERS)  # copied parts score 0

    with (tmp_path / "course" / INTEGRITY_FILE).open() as f:
        report = list(csv.DictReader(f))
    assert {r["student"] for r in report} == set(COPIERS)
    for copier, source in COPIERS.items():  # every copied answer that is wrong for the copier names its source
        wrong = {q for q in points if not check(variant(copier, CLASS_ASSIGNMENT)[q],
                                                next(r["answer"] for r in variant_rows(source, CLASS_ASSIGNMENT)
                                                     if r["question"] == q)).correct}
        assert wrong and {r["question"] for r in report
                          if (r["student"], r["matched_variant_of"]) == (copier, source)} == wrong
    # the note about the id is in the copier's feedback; the integrity report never is
    feedback = (tmp_path / "course" / "feedback" / "s02" / CLASS_ASSIGNMENT / f"{CLASS_ASSIGNMENT}.html").read_text()
    assert "answered for &#x27;s11&#x27;" in feedback or "answered for 's11'" in feedback
    assert "matched_variant_of" not in feedback and "integrity" not in feedback.lower()
