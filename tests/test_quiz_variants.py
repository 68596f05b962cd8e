"""Tests for efficientnn.quiz.variants: per-student variants of the graded questions.

Over 500 generated ids for every assignment with variants: no invalid variant, at least 95% of
pairs of students with answers the checker tells apart on every question, every slip the common
question tells apart told apart in every variant, the same variant for the same id in another
process, and a classmate's copied answer recognised as the answer of the classmate's variant.
"""
import itertools
import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from efficientnn.models import base_cnn
from efficientnn.quiz import APPROX_REL_TOL, check, lesson_questions
from efficientnn.quiz.questions import expected
from efficientnn.quiz import variants as V
from efficientnn.quiz.a03_pooling import pooling_questions
from efficientnn.quiz.a04_separable_convolutions import separable_questions
from efficientnn.quiz.a05_openvino_timing import depthwise_intensity_question
from efficientnn.quiz.a06_pruning import pruning_questions
from efficientnn.quiz.questions import base_cnn_questions

N_IDS = 500
IDS = [f"s{i:03d}-{w}" for i, w in zip(range(N_IDS), itertools.cycle(("ana", "ben", "chen", "dua")))]
MIN_PAIRS_DIFFERENT = 0.95


@pytest.fixture(scope="module", params=V.ASSIGNMENTS)
def cohort(request):
    """(assignment, the 500 variants), drawn once per assignment."""
    return request.param, [V.draw(i, request.param) for i in IDS]


def _answers_told_apart(kind, values) -> float:
    """Share of pairs of students whose right answers the checker tells apart."""
    n = len(values)
    pairs = n * (n - 1) / 2
    if kind in ("ratio", "intensity"):  # accepted within 1 % of the target, so near values count as equal
        a = np.array(values, dtype=float)
        same = np.abs(a[:, None] - a[None, :]) <= APPROX_REL_TOL * np.abs(a[:, None])
        same = same | same.T
        return 1 - (same.sum() - n) / 2 / pairs
    counts = Counter(values)
    return 1 - sum(c * (c - 1) / 2 for c in counts.values()) / pairs


# --------------------------------------------------------------------------- the constraints
@pytest.mark.slow
def test_no_invalid_variant(cohort):
    """The cheap constraints, re-checked here; the slips are re-checked by the test after the next."""
    assignment, variants = cohort
    invalid = []
    for v in variants:
        assert [V._bare(n) for n in v.questions] == list(v.common)
        for name, question in v.questions.items():
            for spec in (*getattr(question, "upstream", ()), question.layer):
                if spec.is_spatial and (spec.kernel_size[0] > spec.input_shape[0]
                                        or spec.kernel_size[1] > spec.input_shape[1]):
                    invalid.append((v.student, name, "window larger than its input"))
            if V.steps(question) != V.steps(v.common[V._bare(name)]):
                invalid.append((v.student, name, "steps"))
            if question.kind in ("macs", "flops", "params") and not 0 < expected(question) < V.MAX_PAPER_COUNT:
                invalid.append((v.student, name, "not a paper-sized count"))
    assert invalid == [], f"{len(invalid)} invalid variant questions of {assignment}: {invalid[:3]}"


@pytest.mark.slow
def test_pairs_of_students_have_different_answers(cohort):
    assignment, variants = cohort
    rates = {}
    for name, question in variants[0].questions.items():
        rates[name] = _answers_told_apart(question.kind, [expected(v.questions[name]) for v in variants])
    low = {n: round(r, 4) for n, r in rates.items() if r < MIN_PAIRS_DIFFERENT}
    assert low == {}, f"{assignment}: questions where under 95% of pairs differ: {low}"


@pytest.mark.slow
def test_every_slip_told_apart_in_the_common_question_is_told_apart_in_every_variant(cohort):
    assignment, variants = cohort
    for name in variants[0].questions:
        must = V._common_told_apart(assignment, V._bare(name))
        assert must, f"{assignment} {name}: the common question tells no slip apart"
        for v in variants:
            question = v.questions[name]
            answer = expected(question)
            slips = V.known_slips(v, name)
            for slip, value in slips:
                if slip in must:
                    assert not V._same(question.kind, value, answer), (v.student, name, slip)
                    others = [s for s, x in slips if s != slip and V._same(question.kind, value, x)]
                    assert others == [], (v.student, name, slip, others)


def test_the_checker_names_each_slip_of_a_variant():
    """The diagnosis works on variants through the variant's checker, the assignment's own slips
    included (a sample: check() is slow)."""
    from efficientnn.quiz import slip_candidates

    for assignment in V.ASSIGNMENTS:
        for student in IDS[:3]:
            v = V.draw(student, assignment)
            for name, question in v.questions.items():
                assert check(question, expected(question)).correct and v.check(name, expected(question)).correct
                must = V._common_told_apart(assignment, V._bare(name))
                named = set(dict(slip_candidates(question))) | {slip for slip, _ in v.extra_slips(name)}
                for slip, value in V.known_slips(v, name):
                    if slip in must and slip in named:
                        verdict = v.check(name, value)
                        assert not verdict.correct and verdict.slip == slip, (assignment, student, name, slip)


# --------------------------------------------------------------------------- same structure as the common questions
def _values(questions):
    return [expected(q) for q in questions.values()]


@pytest.mark.parametrize("assignment, common", [
    ("01-measuring-cost", lesson_questions), ("02-base-cnn", base_cnn_questions), ("03-pooling", pooling_questions),
    ("04-separable-convolutions", separable_questions),
    ("05-openvino-timing", lambda: {"depthwise_intensity": depthwise_intensity_question()}),
    ("06-pruning", pruning_questions),
])
def test_the_common_parameters_rebuild_the_common_questions(assignment, common):
    v = V.draw("anyone", assignment)
    rebuilt = v.common
    assert _values(rebuilt) == _values(common())
    assert [q.kind for q in rebuilt.values()] == [q.kind for q in common().values()]
    assert [V._bare(n) for n in v.questions] == list(rebuilt)
    for name, question in v.questions.items():
        assert V.steps(question) == V.steps(rebuilt[V._bare(name)])


def test_a_variant_of_base_cnn_is_a_different_network_of_the_same_shape():
    v = V.variant("ana", "02-base-cnn")
    assert [q.kind for q in v.values()] == [q.kind for q in base_cnn_questions().values()]
    assert _values(v) != _values(base_cnn_questions(base_cnn()))


# --------------------------------------------------------------------------- determinism and self-learners
def test_the_same_id_gives_the_same_variant_in_another_process():
    code = ("import json; from efficientnn.quiz import variants as V; from efficientnn.quiz.questions import expected; "
            "print(json.dumps({a: [V.draw('dua', a).params, [repr(expected(q)) for q in V.variant('dua', a).values()]] "
            "for a in V.ASSIGNMENTS}))")
    other = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    here = {a: [V.draw("dua", a).params, [repr(expected(q)) for q in V.variant("dua", a).values()]]
            for a in V.ASSIGNMENTS}
    assert other == json.loads(json.dumps(here))


def test_ids_are_read_as_written_around_spaces_only():
    assert V.draw(" ana ", "02-base-cnn").params == V.draw("ana", "02-base-cnn").params
    assert V.draw("Ana", "02-base-cnn").params != V.draw("ana", "02-base-cnn").params


def test_self_learners_get_a_new_random_variant_each_call():
    drawn = [V.draw(None, "02-base-cnn") for _ in range(6)]
    assert all(d.student is None and not V.problems(d) for d in drawn)
    assert len({tuple(sorted(d.params.items())) for d in drawn}) > 1


def test_bad_input_is_refused_with_what_was_expected():
    with pytest.raises(ValueError, match="02-base-cnn"):
        V.variant("ana", "02-base-cnm")
    with pytest.raises(ValueError, match="non-empty string"):
        V.variant("  ", "02-base-cnn")
    with pytest.raises(ValueError, match="variant_conv1_flops"):
        V.answer_sources("02-base-cnn", "conv1_flops", 1, "ana", ["ben"])


# --------------------------------------------------------------------------- copied answers
@pytest.mark.parametrize("assignment", V.ASSIGNMENTS)
def test_a_copied_answer_is_recognised_as_the_answer_of_the_source_variant(assignment):
    roster = IDS[:24]
    copied = 0
    for a, b in zip(roster[::2], roster[1::2]):
        own, source = V.variant(a, assignment), V.variant(b, assignment)
        for name in own:
            answer = expected(source[name])
            if check(own[name], answer).correct:
                continue  # the two variants share this answer: nothing to tell
            assert b in V.answer_sources(assignment, name, answer, a, roster), (a, b, name)
            assert V.answer_sources(assignment, name, expected(own[name]), a, roster) == []
            copied += 1
    assert copied >= 0.9 * 12 * len(own)


# --------------------------------------------------------------------------- which student am I
def test_whoami_prefers_the_cell_then_jupyterhub_then_nbgrader(monkeypatch):
    import os
    import pwd

    monkeypatch.setenv("JUPYTERHUB_USER", "hub-ana")
    assert V.whoami(" ben ") == ("ben", "cell")
    assert V.whoami("") == ("hub-ana", "jupyterhub")  # the release notebook's unset cell
    assert V.whoami("your id") == ("hub-ana", "jupyterhub")
    monkeypatch.delenv("JUPYTERHUB_USER")
    assert V.whoami(None) == (None, "none")
    assert V.whoami(None, nbgrader_user=True) == (pwd.getpwuid(os.getuid()).pw_name, "nbgrader")
    with pytest.raises(ValueError, match="STUDENT_ID must be text"):
        V.whoami(42)


def test_the_graders_id_wins_over_the_cell_and_jupyterhub(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "hub-ana")
    with V.graded_as("folder-ben"):
        assert V.whoami("cell-cy") == ("folder-ben", "grader")
        assert V.my_variant("02-base-cnn", "cell-cy").params == V.draw("folder-ben", "02-base-cnn").params
    assert V.GRADER_VARIABLE not in __import__("os").environ  # the block leaves the environment as it was
    assert V.whoami("cell-cy") == ("cell-cy", "cell")
    with pytest.raises(ValueError, match="non-empty string"):
        with V.graded_as(" "):
            pass


def test_a_check_uses_the_graders_variant_and_says_when_the_notebook_named_another_id():
    own, other = V.variant("ben", "02-base-cnn"), V.variant("ana", "02-base-cnn")
    name = "variant_fc1_flops"
    assert expected(own[name]) != expected(other[name])
    with V.graded_as("ben"):
        right = V.check_variant("02-base-cnn", name, expected(own[name]), student_id="ana")
        copied = V.grade_variant("02-base-cnn", name, expected(other[name]), points=2, student_id="ana")
        plain = V.check_variant("02-base-cnn", name, expected(own[name]), student_id="ben")
    assert right.correct and "answered for 'ana'" in right.message and "'ben'" in right.message
    assert (copied.points, copied.max_points) == (0.0, 2.0) and "answered for 'ana'" in copied.message
    assert plain.correct and "answered for" not in plain.message
    for verdict in (right, copied):  # the note never gives a value away
        assert str(expected(own[name])) not in verdict.message and str(expected(other[name])) not in verdict.message
    with pytest.raises(ValueError, match="no variant question 'variant_nope'"):
        V.check_variant("02-base-cnn", "variant_nope", 1, student_id="ana")


def test_show_variant_prints_prompts_and_answer_names_never_answers(capsys, monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    for assignment in V.ASSIGNMENTS:
        shown = V.show_variant(assignment, "ana")
        text = capsys.readouterr().out
        assert "'ana' (from your STUDENT_ID cell)" in text
        for name, question in shown.questions.items():
            assert V.answer_variable(name) in text
            answer = expected(question)
            forms = ["x".join(map(str, answer))] if isinstance(answer, tuple) else [str(answer), f"{answer:,}",
                                                                                     f"{answer:.3g}"]
            assert not any(form in text for form in forms), (assignment, name, answer)
    with V.graded_as("ben"):
        V.show_variant("02-base-cnn", "ana")
    assert "answered for 'ana': it is graded for 'ben'" in capsys.readouterr().out


def test_a_self_learner_keeps_one_random_variant_per_session_until_asking_for_a_new_one(monkeypatch, capsys):
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    monkeypatch.setattr(V, "_session", {})
    monkeypatch.setattr(V, "_claims", {})
    first = V.show_variant("03-pooling", "")
    assert "No student id" in capsys.readouterr().out
    assert V.show_variant("03-pooling", "").params == first.params  # the same while the kernel runs
    fresh = [V.new_variant("03-pooling").params for _ in range(6)]
    assert any(p != first.params for p in fresh)
    assert V.my_variant("03-pooling").params == fresh[-1]
    name = "variant_pooled_fc1_flops"
    assert V.check_variant("03-pooling", name, expected(V.my_variant("03-pooling").questions[name])).correct
    V.show_variant("03-pooling", "ana")
    with pytest.raises(ValueError, match="fixed by your student id 'ana'"):
        V.new_variant("03-pooling")
