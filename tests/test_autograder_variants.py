"""Tests for ``python -m autograder variant STUDENT ASSIGNMENT [--json]`` (autograder/variants.py)."""
import json
import subprocess
import sys
from pathlib import Path

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
    run = _cli("ana", "05-openvino-timing")
    assert run.returncode == 2
    assert "no variants for assignment '05-openvino-timing'" in run.stderr
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
