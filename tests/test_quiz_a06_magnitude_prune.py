"""Tests for the magnitude_prune checker of assignment 06 (efficientnn/quiz/a06_pruning/magnitude.py, slips.py).

The right answer here is a brute force written from the exercise's rule (a weight goes when fewer
than ``round(sparsity * w.size)`` weights come before it in the order (|w|, position)), and each
wrong student function makes one typical slip on purpose. The diagnosis is run on arrays chosen by
hand so that only one slip explains each wrong result; messages are checked for the concept they
teach and for reading as prose (a garbled or shouted text fails), not against the message table.
"""
import math
import re
from fractions import Fraction

import numpy as np
import pytest
from quiz_support import ACRONYMS, fails, fingerprint, recording

from efficientnn.quiz import a06_pruning as px
from efficientnn.quiz.a06_pruning import magnitude
from efficientnn.quiz.a06_pruning.slips import WeightCase, _slip


# --------------------------------------------------------------------------- right and wrong students
def right(w, sparsity):
    """Brute force: weight i goes when fewer than k weights precede it in (|w|, position) order."""
    flat, k = w.ravel(), round(sparsity * w.size)
    a = [abs(float(v)) for v in flat]
    before = [sum(1 for j in range(flat.size) if (a[j], j) < (a[i], i)) for i in range(flat.size)]
    return np.array([0 if before[i] < k else flat[i] for i in range(flat.size)], dtype=w.dtype).reshape(w.shape)


def removing(count, key=lambda flat: np.abs(flat)):
    """A student who zeroes ``count(s, n)`` weights, the first ones in the stable order of ``key``."""
    def student(w, s):
        flat = w.ravel()
        out = flat.copy()
        out[np.argsort(key(flat), kind="stable")[:count(s, flat.size)]] = 0
        return out.reshape(w.shape)
    return student


k_of = lambda s, n: round(s * n)  # noqa: E731  (the exercise's count)


def threshold_removing_ties(w, s):  # "|w| <= the k-th smallest magnitude": every tie at the threshold goes
    return np.where(np.abs(w) <= np.sort(np.abs(w).ravel())[round(s * w.size) - 1], 0, w)


def threshold_keeping_ties(w, s):  # "|w| < the smallest magnitude kept": every tie at the threshold stays
    return np.where(np.abs(w) < np.sort(np.abs(w).ravel())[round(s * w.size)], 0, w)


def diagnosis(case, student) -> str:
    """What the checker says of ``student``'s wrong result on ``case`` (any case, not only the graded ones)."""
    w = case.build()
    result, expected = student(w, case.sparsity), right(w, case.sparsity)
    assert not np.array_equal(result, expected), "the student must be wrong on this case"
    return str(magnitude._diagnose_prune(case, w, result, expected))


def assert_prose(text: str, *concepts: str) -> None:
    """``text`` ends a sentence, writes no word in capitals but an acronym (so a garbled or shouted text
    fails) and says each of ``concepts`` (regexes). Sentences may start with code, e.g. ``int()``."""
    assert text.rstrip()[-1] in ".?)", text
    for word in re.findall(r"[A-Za-z][A-Za-z0-9_]*", text):
        assert sum(c.isupper() for c in word) < 2 or word in ACRONYMS, (word, text)
    for concept in concepts:
        assert re.search(concept, text), (concept, text)


def teaching_text(message: str) -> str:
    """The part of a diagnosis after "... which is not right. ": the slip's explanation."""
    return message.split("not right. ", 1)[1]


def problem(message: str) -> str:
    """The part of a form message after the input's recipe: "returned ...". """
    return message[message.index(" returned ") + 1:]


TIES = WeightCase((8, 8), "integers", seed=3, sparsity=0.37)  # 64 whole numbers, k = 24, many ties at the cut


def test_the_brute_force_follows_the_rule_on_a_hand_worked_array():
    w = np.float32([[0.5, -0.1, 0.0], [-0.5, 0.1, 2.0]])
    # round(0.5 * 6) = 3 go: 0.0 first, then -0.1 (position 1) before 0.1 (position 4).
    np.testing.assert_array_equal(right(w, 0.5), np.float32([[0.5, 0, 0], [-0.5, 0, 2.0]]))
    # round(0.75 * 6) = round(4.5) = 4 (to even): 0.5 (position 0) goes before -0.5 (position 3).
    np.testing.assert_array_equal(right(w, 0.75), np.float32([[0, 0, 0], [-0.5, 0, 2.0]]))


def test_a_right_student_passes_and_the_checker_agrees_with_the_brute_force():
    for cases in px.MAGNITUDE_PRUNE_CASE_SETS:
        assert px.check_magnitude_prune(right, cases) is None
    assert px.check_magnitude_prune_form(right) is None
    assert px.check_magnitude_prune(lambda w, s: right(w, s).astype(np.float64)) is None  # any numeric dtype


# --------------------------------------------------------------------------- each slip is named
@pytest.mark.parametrize("case, student, concept", [
    # 0.33 * 10 = 3.3: ceil gives 4, round 3
    (WeightCase((10,), sparsity=0.33), removing(lambda s, n: math.ceil(s * n)), r"rounded up"),
    # 0.6 * 1 = 0.6: int() keeps nothing, round removes the one weight
    (WeightCase((1,), sparsity=0.6), removing(lambda s, n: int(s * n)), r"rounded down.*round\(sparsity \* w\.size\)"),
    (TIES, removing(lambda s, n: int(s * n)), r"rounded down"),  # 23.68: 23 of 64, ties at the cut
    (WeightCase((10,), sparsity=0.5), removing(lambda s, n: k_of(s, n) - 1), r"Off by one"),
    (WeightCase((2,), sparsity=0.5), removing(lambda s, n: k_of(s, n) + 1), r"Off by one"),  # all 2 of 2 removed
    # 0.3 * 5 = 1.5 rounds to 2; the kept share 0.7 * 5 = 3.5 rounds to 4, while 5 - 2 = 3
    (WeightCase((5,), sparsity=0.3), removing(lambda s, n: round((1 - s) * n)), r"\*kept\*.*\*removed\*"),
    (WeightCase((5,), sparsity=0.3), removing(lambda s, n: n - k_of(s, n)), r"\*kept\*.*\*removed\*"),
    (WeightCase((5,), sparsity=0.5), removing(lambda s, n: math.floor(s * n + 0.5)), r"half up.*round\(2\.5\) == 2"),
    (TIES, removing(k_of, key=lambda f: -np.abs(f)), r"largest weights were removed.*smallest magnitude"),
    (TIES, removing(k_of, key=lambda f: f), r"most negative.*np\.abs\(w\)"),
    (WeightCase((3, 4), "integers", seed=1615, sparsity=0.5), threshold_removing_ties, r"ties\) too many went"),
    (WeightCase((3, 4), "integers", seed=1615, sparsity=0.5), threshold_keeping_ties, r"ties\) too few went"),
    (WeightCase((6,), sparsity=0.0), lambda w, s: np.zeros_like(w), r"k - 1 when k is 0"),
    (WeightCase((7,), "alternating", sparsity=0.4), removing(k_of, key=lambda f: -np.arange(f.size)),
     r"equal magnitudes.*kind='stable'"),
    (WeightCase((10,), sparsity=0.5), lambda w, s: np.round(right(w, s), 1), r"kept weights changed value"),
    (WeightCase((10,), sparsity=0.5), lambda w, s: right(w, s) * 2, r"no scaling"),
])
def test_each_typical_slip_is_named_where_only_it_explains_the_result(case, student, concept):
    message = diagnosis(case, student)
    assert message.startswith(f"magnitude_prune(w, {case.sparsity!r}), with w = "), message
    assert f"returned an array of the right shape, {case.shape}, with values that are not right." in message
    assert_prose(teaching_text(message), concept)


def test_threshold_ties_are_diagnosed_on_a_case_with_weights_below_and_at_the_threshold():
    # The hand-picked tie case above really has both: nonzero weights below the cut and ties at it.
    w = WeightCase((3, 4), "integers", seed=1615).build()
    cut = np.sort(np.abs(w).ravel())[round(0.5 * w.size) - 1]
    assert np.sum((np.abs(w) < cut) & (w != 0)) > 0 and np.sum(np.abs(w) == cut) > 1
    assert np.sort(np.abs(w).ravel())[round(0.5 * w.size) - 1] != np.sort(np.abs(w).ravel())[round(0.5 * w.size) + 1]


def test_a_count_no_slip_explains_states_the_rule():
    # Sparsity 0 with all but one weight removed: not "off by one", not a threshold; the rule is stated.
    message = diagnosis(WeightCase((6,), sparsity=0.0), removing(lambda s, n: n - 1))
    assert message.startswith("magnitude_prune(w, 0.0), with w = ") and "right shape, (6,), with values" in message
    assert "Off by one" not in message
    assert_prose(teaching_text(message), r"^It holds 5 zeros among 6 weights\.", r"round\(0\.0 \* 6\)",
                 r"already 0 has the smallest magnitude")


def test_the_right_count_of_wrong_weights_is_a_tie_order_or_not_smallest_slip():
    ties_reversed = removing(k_of, key=lambda f: np.abs(f) - 1e-3 * np.arange(f.size))  # later ties first
    assert_prose(teaching_text(diagnosis(TIES, ties_reversed)), r"right magnitudes.*C-order")

    def skips_the_smallest(w, s):  # k weights, but the smallest survives
        order = np.argsort(np.abs(w).ravel(), kind="stable")
        out = w.ravel().copy()
        out[order[1:round(s * w.size) + 1]] = 0
        return out.reshape(w.shape)

    message = diagnosis(WeightCase((10,), sparsity=0.5), skips_the_smallest)
    assert message.startswith("magnitude_prune(w, 0.5), with") and "right shape, (10,)" in message
    assert_prose(teaching_text(message), r"smaller \|w\| was kept")


def test_no_slip_candidate_is_the_right_answer():
    # A candidate equal to the right result would name a slip for a right function.
    for case in px.magnitude_prune_cases("all") + [TIES, WeightCase((5,), sparsity=0.3)]:
        w = case.build()
        expected = right(w, case.sparsity)
        for slip, candidate in magnitude._prune_slips(w, case.sparsity, expected):
            assert not np.array_equal(candidate, expected), (case, slip)


# --------------------------------------------------------------------------- results of the wrong form
@pytest.mark.parametrize("bad, concept", [
    (lambda w, s: None, r"^returned None \(is a `return` missing\?\)\.$"),
    (lambda w, s: right(w, s).tolist(), r"^returned a list, not a numpy array"),
    (lambda w, s: right(w, s) != 0, r"^returned a bool array \(a mask\?\).*set to 0\.$"),
    (lambda w, s: right(w, s).astype(np.complex64), r"^returned an array of dtype complex64.*numbers"),
    (lambda w, s: right(w, s).astype(str), r"^returned an array of dtype <U.*numbers"),
    (lambda w, s: right(w, s).ravel()[:-1], r"^returned an array of shape \(\d+,\) for w of shape .*keep w's shape"),
    (lambda w, s: np.where(right(w, s) == 0, 0, np.inf), r"^returned an array holding nan or inf\.$"),
    (lambda w, s: w, r"^returned w itself.*Return a copy\.$"),
    (lambda w, s: w.reshape(w.shape), r"^returned w itself.*view"),
])
def test_a_result_of_the_wrong_form_is_named_with_the_call(bad, concept):
    for checker in (px.check_magnitude_prune, px.check_magnitude_prune_form):
        message = fails(checker, bad)
        assert re.match(r"magnitude_prune\(w, 0\.\d+\)( \([^)]*\))?, with w = np\.random", message), message
        assert ".." not in message
        assert_prose(problem(message), concept)


def test_a_crash_an_unwritten_stub_or_a_changed_input_is_named_with_the_call():
    def in_place(w, s):
        w[np.abs(w) < np.median(np.abs(w))] = 0
        return w.copy()

    for checker in (px.check_magnitude_prune, px.check_magnitude_prune_form):
        crash = fails(checker, lambda w, s: w[100])
        assert re.match(r"magnitude_prune\(w, 0\.5\).*, with w = .* raised IndexError: index 100", crash), crash
        changed = fails(checker, in_place)
        assert re.match(r"magnitude_prune\(w, 0\.5\).*, with w = .* changed its input w", changed), changed
        assert fails(checker, 3) == "magnitude_prune is int, not a function: define it with `def`."


# --------------------------------------------------------------------------- the cases
def test_the_edge_cases_hold_what_the_docstring_promises():
    edge = [(c, c.build()) for c in px.magnitude_prune_cases("edge")]
    assert any(c.sparsity == 0 for c, _ in edge), "sparsity 0"
    assert {w.size for _, w in edge} >= {1, 2}, "arrays of one and of two weights"
    assert any(Fraction(c.sparsity).limit_denominator(100) * w.size % 1 == Fraction(1, 2) for c, w in edge)
    assert any(len(set(np.abs(w).ravel().tolist())) == 1 and w.size > 2 for _, w in edge), "all magnitudes equal"
    ties_at_cut = [w for c, w in edge if w.size > round(c.sparsity * w.size) > 0 and
                   np.sort(np.abs(w).ravel())[round(c.sparsity * w.size) - 1] ==
                   np.sort(np.abs(w).ravel())[round(c.sparsity * w.size)]]
    assert ties_at_cut, "ties at the threshold"
    assert all(np.count_nonzero(w == 0) > 0 for c, w in edge if c.fill == "sparse") and \
        any(c.fill == "sparse" for c, _ in edge), "an array that already holds zeros"
    assert all(isinstance(c.note, str) and c.note for c, _ in edge), "each edge case says what it is about"


def test_the_basic_cases_have_no_ties_no_exact_halves_and_several_layer_shapes():
    basic = px.magnitude_prune_cases("basic")
    assert {len(c.shape) for c in basic} >= {1, 2, 4}
    assert all(isinstance(c.note, str) for c in basic)
    # A count that is whole in exact arithmetic (hundredths) but not in floating point, and says so.
    assert any("floating point" in c.note and c.sparsity * math.prod(c.shape) % 1 != 0 and
               Fraction(round(c.sparsity * 100), 100) * math.prod(c.shape) % 1 == 0 for c in basic)
    for case in basic:
        assert 0 < case.sparsity < 1
        w = case.build()
        assert len(set(np.abs(w).ravel().tolist())) == w.size, case


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_sparsities_never_land_on_an_exact_half(seed):
    # Exact halves belong to the edge cases; a sparsity has two decimals, so count in hundredths.
    cases = px.magnitude_prune_cases("basic", n_random=200, seed=seed)[6:]
    halves = [c for c in cases if Fraction(round(c.sparsity * 100), 100) * math.prod(c.shape) % 1 == Fraction(1, 2)]
    assert not halves
    assert all(0.05 <= c.sparsity <= 0.99 for c in cases)
    assert len({c.sparsity for c in cases}) > 20 and len({c.shape for c in cases}) == 5


def test_case_sets_the_default_and_an_unknown_name():
    cases = lambda s: fingerprint([(c.build(), c.sparsity, c.where("f")) for c in s])  # noqa: E731
    assert cases(px.magnitude_prune_cases()) == cases(px.magnitude_prune_cases("all"))
    assert len(px.magnitude_prune_cases("all")) == len(px.magnitude_prune_cases("basic")) + len(
        px.magnitude_prune_cases("edge"))
    with pytest.raises(ValueError, match=r"^cases must be one of basic, edge, all, got 'everything'\.$"):
        px.magnitude_prune_cases("everything")


def test_graded_and_visible_inputs_are_the_ones_students_were_graded_on():
    # See quiz_support.fingerprint: a change to these inputs must be deliberate.
    pin = lambda cs: fingerprint([(c.build(), c.sparsity, c.where("magnitude_prune")) for c in cs])  # noqa: E731
    assert {s: pin(px.magnitude_prune_cases(s)) for s in px.MAGNITUDE_PRUNE_CASE_SETS} == {
        "basic": "70282491eea4487b", "edge": "84e54fb6faa03956", "all": "28c9eb63e04892f7"}
    fn = recording(right)
    px.check_magnitude_prune_form(fn)
    assert fingerprint(fn.calls) == "0f6949b50b9575d1"
    [(w, s)] = fn.calls  # one call: a dense layer's matrix without ties or zeros, a count that is no half
    assert w.ndim == 2 and w.dtype == np.float32 and np.all(w != 0)
    assert len(set(np.abs(w).ravel().tolist())) == w.size and 0 < s < 1 and (s * w.size) % 1 == 0


# --------------------------------------------------------------------------- WeightCase and _slip
def test_a_case_writes_its_call_and_where_it_comes_from():
    plain, noted = WeightCase((3,), seed=5), WeightCase((2, 2), seed=5, sparsity=0.5, note="two by two")
    assert plain.call("csr_bytes") == "csr_bytes(w)"
    assert noted.call("magnitude_prune") == "magnitude_prune(w, 0.5)"
    assert plain.where("csr_bytes") == "csr_bytes(w), with w = np.random.default_rng(5).standard_normal((3,))" \
                                       ".astype(np.float32),"
    assert noted.where("magnitude_prune").startswith("magnitude_prune(w, 0.5) (two by two), with w = ")
    with pytest.raises(ValueError, match=r"unknown fill 'uniform'"):
        WeightCase((3,), "uniform").build()


def test_a_wrong_number_is_shown_and_a_wrong_array_only_by_its_shape():
    case = WeightCase((4,), seed=1)
    assert str(_slip(case, "weight_sparsity", 0.75, None, "Count the zeros.")) == (
        f"{case.where('weight_sparsity')} returned 0.75, which is not right. Count the zeros.")
    message = str(_slip(case, "f", np.zeros(3), None, "Look again."))
    assert message.endswith("returned an array of shape (3,), which is not right. Look again.")


def test_calling_the_reference_is_refused_with_the_name_and_what_to_do_instead():
    from efficientnn import pruning

    def uses_the_mask(w, s):
        return w * pruning.magnitude_mask(w, s)

    message = fails(px.check_magnitude_prune, uses_the_mask)
    assert message.startswith("magnitude_prune uses efficientnn.pruning's magnitude_mask, "), message
    assert_prose(message, r"graded against: write it with numpy operations\.$")
    assert fails(px.check_magnitude_prune, "not yet") == "magnitude_prune is str, not a function: define it with `def`."
    assert px.check_magnitude_prune(uses_the_mask, allow_reference=True) is None
