"""Tests for the second half of efficientnn.quiz.a07_quantization: ``asymmetric_params``,
``quantize`` and ``int_matmul`` (their cases, the slips they name, their form checks).

Every expected number comes from the lesson's formulas written here with Python numbers
(``min``/``max``, ``round``, loops over Python ints), never from efficientnn.quantization or the
module's own tables; every message is checked for the concept it teaches ("zero point", "clip",
"round", "overflow", "int32"), not against QUANTIZATION_SLIP_MESSAGES.
"""
import math
import re

import numpy as np
import pytest
from quiz_support import fails, recording

from efficientnn.quiz import a07_quantization as qx


# --------------------------------------------------------------------------- the lesson's formulas
def asymmetric(x_min, x_max, bits):
    """(scale, zero_point): the range widened to hold 0, split into 2^bits - 1 steps."""
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = (hi - lo) / (2**bits - 1)
    return scale, round(-lo / scale)


def quantized(x, scale, zero_point, bits):
    """clip(round(x / scale) + zero_point, 0, 2^bits - 1), one Python number at a time."""
    top = 2**bits - 1
    flat = [min(top, max(0, round(float(v) / scale) + zero_point)) for v in np.asarray(x).ravel()]
    return np.array(flat, np.int64).reshape(np.shape(x))


def product(a, b, zero_point):
    """sum over k of (a[m, k] - zero_point) * b[k, f], in Python ints (no overflow possible)."""
    a_, b_ = a.tolist(), b.tolist()
    inner = range(a.shape[1])
    return np.array([[sum((a_[m][k] - zero_point) * b_[k][f] for k in inner) for f in range(b.shape[1])]
                     for m in range(a.shape[0])], np.int64)


def _after(message):
    """The teaching text after the call and the returned value."""
    return message.split("which is not right. ", 1)[1]


def _says(message, *concepts):
    text = _after(message)
    for concept in concepts:
        assert re.search(concept, text, re.IGNORECASE), (concept, text)


def only_on(case, slipped, right):
    """A student function right on every call but ``case``'s, where it makes the slip ``slipped``."""
    target = case.build()

    def student(*args):
        same = all(np.array_equal(a, t) if isinstance(a, np.ndarray) else a == t for a, t in zip(args, target))
        return (slipped if same else right)(*args)

    return student


# --------------------------------------------------------------------------- asymmetric_params: cases
def test_asymmetric_cases_cover_the_ranges_the_docstring_names():
    cases = qx.asymmetric_params_cases()
    calls = [c.build() for c in cases]
    assert all(c.arrays == () for c in cases), "plain numbers only"
    assert all(lo <= hi for lo, hi, _ in calls)
    assert any(lo < 0 < hi for lo, hi, _ in calls), "a range around 0"
    assert any(lo == 0 < hi for lo, hi, _ in calls), "a ReLU's output: lo is exactly 0"
    assert any(hi < 0 for _, hi, _ in calls), "every value negative"
    assert any(lo > 0 for lo, _, _ in calls), "every value positive"
    assert any(hi - lo < 0.1 for lo, hi, _ in calls), "a small range"
    assert {bits for *_, bits in calls} >= {8, 4}
    one_signed = [c for c in cases[:7] if c.args[1] < 0 or c.args[0] > 0]
    assert len(one_signed) == 2 and all("widen" in c.note and "hold 0" in c.note for c in one_signed)


def test_asymmetric_random_cases_follow_their_parameters():
    fixed = len(qx.asymmetric_params_cases(n_random=0))
    assert fixed >= 7
    for n in (0, 1, 4, 6):
        assert len(qx.asymmetric_params_cases(n_random=n)) == fixed + n
    drawn = qx.asymmetric_params_cases(n_random=30)[fixed:]
    for case in drawn:
        lo, hi, bits = case.build()
        assert -5 <= lo <= hi <= 5 and bits in (8, 6)
        assert lo == round(lo, 3) and hi == round(hi, 3), "typed as a student would, 3 decimals"
        assert case.note == ""
    assert {c.args[2] for c in drawn} == {8, 6}
    assert len({c.args[:2] for c in drawn}) == 30, "each range drawn afresh"
    other = qx.asymmetric_params_cases(n_random=3, seed=5)
    assert [c.args for c in other[fixed:]] != [c.args for c in drawn[:3]]
    assert all(c.seed == 5 for c in other), "the seed given is the seed used"
    assert qx.asymmetric_params_cases()[0].seed == qx.SEED + 2000


# --------------------------------------------------------------------------- asymmetric_params: checker
def test_right_asymmetric_params_pass_in_every_numeric_type():
    assert qx.check_asymmetric_params(asymmetric) is None
    assert qx.check_asymmetric_params(lambda a, b, n: [np.float32(asymmetric(a, b, n)[0]),
                                                       np.int32(asymmetric(a, b, n)[1])]) is None
    assert qx.check_asymmetric_params(lambda a, b, n: (asymmetric(a, b, n)[0], float(asymmetric(a, b, n)[1]))) is None
    # Within the 1e-6 relative tolerance: float32 arithmetic is right.
    assert qx.check_asymmetric_params(lambda a, b, n: (asymmetric(a, b, n)[0] * (1 + 5e-7),
                                                       asymmetric(a, b, n)[1])) is None
    assert qx.check_asymmetric_params_form(asymmetric) is None


def _sign(x_min, x_max, bits):
    scale, zp = asymmetric(x_min, x_max, bits)
    return scale, round(min(x_min, 0.0) / scale)


def _not_widened(x_min, x_max, bits):
    scale = (x_max - x_min) / (2**bits - 1)
    return scale, round(-x_min / scale)


def _top_widened_zero_point_clamped(x_min, x_max, bits):
    # Widened only the top of the range, then clamped a negative zero point to 0.
    lo, hi = x_min, max(x_max, 0.0)
    scale = (hi - lo) / (2**bits - 1)
    return scale, max(0, round(-lo / scale))


def _from_max(x_min, x_max, bits):
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = hi / (2**bits - 1)
    return scale, (round(-lo / scale) if scale > 0 else 0)


def _signed_steps(x_min, x_max, bits):
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = (hi - lo) / (2 ** (bits - 1) - 1)
    return scale, round(-lo / scale)


def _truncated(x_min, x_max, bits):
    scale, _ = asymmetric(x_min, x_max, bits)
    return scale, int(-min(x_min, 0.0) / scale)


ASYMMETRIC_SLIPS = [
    (_sign, [r"zero point has the wrong sign", r"round\(-lo / scale\)"]),
    (_not_widened, [r"not widened to hold 0", r"min\(x_min, 0\)"]),
    (_top_widened_zero_point_clamped, [r"not widened to hold 0"]),
    (_from_max, [r"x_max alone", r"\(hi - lo\)"]),
    (_signed_steps, [r"signed range", r"2 \*\* bits - 1 steps"]),
    (_truncated, [r"truncated", r"rounded to the nearest"]),
]


@pytest.mark.parametrize("slipped, concepts", ASYMMETRIC_SLIPS, ids=lambda v: getattr(v, "__name__", ""))
def test_each_asymmetric_slip_is_named_on_every_range_it_shows_on(slipped, concepts):
    named = 0
    for case in qx.asymmetric_params_cases():
        x_min, x_max, bits = case.build()
        wrong, right = slipped(x_min, x_max, bits), asymmetric(x_min, x_max, bits)
        student = only_on(case, slipped, asymmetric)
        if math.isclose(wrong[0], right[0], rel_tol=1e-9) and wrong[1] == right[1]:
            assert qx.check_asymmetric_params(student) is None  # the slip does not show on this range
            continue
        message = fails(qx.check_asymmetric_params, student)
        assert message.startswith(f"asymmetric_params({x_min!r}, {x_max!r}, {bits!r})"), message
        _says(message, *concepts)
        named += 1
    assert named >= 1


def test_a_zero_point_of_zero_is_off_not_of_the_wrong_sign():
    # 0 is not negative: the rule is restated, no sign is blamed (x_min < 0 here, so 0 is wrong).
    message = fails(qx.check_asymmetric_params, lambda a, b, n: (asymmetric(a, b, n)[0], 0))
    _says(message, r"^The zero point is off\.", r"zero_point = round\(-lo / scale\)")
    assert "sign" not in _after(message)
    message = fails(qx.check_asymmetric_params, lambda a, b, n: (asymmetric(a, b, n)[0], -1))
    _says(message, r"wrong sign")


def test_a_right_scale_with_a_wrong_zero_point_fails():
    for offset in (1, -1, 100):
        message = fails(qx.check_asymmetric_params,
                        lambda a, b, n, d=offset: (asymmetric(a, b, n)[0], asymmetric(a, b, n)[1] + d))
        assert "zero point" in _after(message).lower()
    message = fails(qx.check_asymmetric_params, lambda a, b, n: (asymmetric(a, b, n)[0] * 1.01, asymmetric(a, b, n)[1]))
    _says(message, r"^The scale is off\.", r"\(hi - lo\) / \(2 \*\* bits - 1\)")


def test_a_failure_shows_what_was_returned_and_not_the_answer():
    message = fails(qx.check_asymmetric_params, lambda a, b, n: (0.5, 3))
    assert message.startswith("asymmetric_params(-1.0, 3.0, 8) (a range around 0) returned (0.5, 3), which is not "
                              "right. "), message
    scale, zp = asymmetric(-1.0, 3.0, 8)
    assert f"{scale:.4g}" not in message and str(zp) not in message.replace("(0.5, 3)", "")


# --------------------------------------------------------------------------- asymmetric_params: form
@pytest.mark.parametrize("answer, concepts", [
    (None, [r"returned None \(is a `return` missing\?\)\.$"]),
    (0.1, [r"returned 0\.1; return a pair \(scale, zero_point\)\.$"]),
    ((0.1,), [r"returned \(0\.1,\); return a pair"]),
    ((0.1, 2, 3), [r"returned \(0\.1, 2, 3\); return a pair"]),
    ("ab", [r"returned 'ab'; return a pair"]),
    (np.array([0.1, 2.0]), [r"returned an array of shape \(2,\) and dtype float64; return a pair"]),
    (("s", 3), [r"returned a scale that is not a number: str 's'; return a number\.$"]),
    ((0.1, "3"), [r"returned a zero_point that is not a number: str '3'; return a number\.$"]),
    ((0.1, None), [r"returned a zero_point that is not a number: None \(is a `return` missing\?\)\.$"]),
    ((np.array([0.1, 0.2]), 3), [r"a scale that is not a number: ndarray an array of shape \(2,\) and dtype float64"]),
    ((float("nan"), 3), [r"a scale that is not a number: nan; return a finite number"]),
    ((0.1, 3.5), [r"returned the zero point 3\.5, which is not a whole number; the zero point is the integer "
                  r"that stands for 0\.0: round it\.$"]),
    ((0.1, np.float32(2.25)), [r"zero point \S*2\.25\)?, which is not a whole number"]),
])
def test_pair_form_problems_are_explained(answer, concepts):
    message = fails(qx.check_asymmetric_params_form, lambda *a: answer)
    assert message.startswith("asymmetric_params(-0.5, 1.5, 8) returned "), message
    for concept in concepts:
        assert re.search(concept, message), (concept, message)


@pytest.mark.parametrize("answer", [(0.1, 3), [0.1, 3], (0.1, 3.0), (np.float32(0.1), np.int64(3)), (1, 0),
                                    (0.1, -2)])
def test_pair_form_accepts_any_pair_of_numbers_with_a_whole_zero_point(answer):
    # The form check does not judge the values: a wrong but well-formed pair passes it.
    assert qx.check_asymmetric_params_form(lambda *a: answer) is None
    assert qx._pair_form((-0.5, 1.5, 8), answer) is None


def test_the_graded_checker_applies_the_pair_form_too():
    message = fails(qx.check_asymmetric_params, lambda *a: 0.1)
    assert message.startswith("asymmetric_params(-1.0, 3.0, 8) (a range around 0) returned 0.1; return a pair "
                              "(scale, zero_point)."), message
    assert "not a whole number" in fails(qx.check_asymmetric_params, lambda *a: (asymmetric(*a)[0], 2.5))


# --------------------------------------------------------------------------- quantize: cases
def test_quantize_cases_hold_what_the_docstring_promises():
    cases = qx.quantize_cases()
    calls = [c.build() for c in cases]
    for case, (x, scale, zero_point, bits) in zip(cases, calls):
        assert [name for name, _ in case.arrays] == ["x"] and x.dtype == np.float32
        assert scale > 0 and 0 <= zero_point <= 2**bits - 1
    steps = [(x.astype(np.float64) / s + z, bits) for x, s, z, bits in calls]
    assert any(np.all((v >= 0) & (v <= 2**b - 1)) for v, b in steps), "a case with every value inside the range"
    assert any(np.any(v < -1) and np.any(v > 2**b) for v, b in steps), "values beyond both ends"
    assert any(np.any(x < 0) and np.any(np.trunc(x / s) != np.floor(x / s)) for x, s, _, _ in calls), "negatives"
    assert {bits for *_, bits in calls} >= {8, 4}
    assert any(z == 0 for _, _, z, _ in calls), "zero point 0"
    for x, s, _, _ in calls:  # no value within 0.001 of a step's half: every rounding rule agrees
        frac = x.astype(np.float64) / s % 1
        assert np.all(np.abs(frac - 0.5) >= 1e-3 * 0.9), "a value on a rounding tie"


def test_quantize_random_cases_follow_their_parameters():
    fixed = len(qx.quantize_cases(n_random=0))
    assert fixed >= 5
    for n in (0, 2, 5):
        assert len(qx.quantize_cases(n_random=n)) == fixed + n
    drawn = qx.quantize_cases(n_random=12)[fixed:]
    for case in drawn:
        x, scale, zero_point, bits = case.build()
        assert x.shape == (6, 7) and bits == 8 and 0 <= zero_point <= 255
        assert 0.005 <= scale <= 0.03 and scale == round(scale, 4)
    assert len({c.seed for c in drawn}) == 12
    assert len({c.args[1] for c in drawn}) > 6, "zero points drawn over 0..255"
    assert max(c.args[1] for c in drawn) > 128 > min(c.args[1] for c in drawn)
    assert [c.args for c in qx.quantize_cases(2, seed=11)[fixed:]] != [c.args for c in drawn[:2]]
    assert qx.quantize_cases()[0].seed == qx.SEED + 3000


def _tie_case(values, scale=0.5, zero_point=10, edits=()):
    n = len(values)
    edits = tuple(edits) + tuple(("x", (i,), v) for i, v in enumerate(values))
    return qx.Case((("x", ("uniform", (n,), -1.0, 1.0)),), (scale, zero_point, 8), 3, "a note", edits)


def test_values_on_a_rounding_tie_are_moved_a_hundredth_of_a_step_up():
    scale = 0.5
    values = [1.25, -0.75, 0.1, 0.2500004, 0.2506, 0.75 - 0.0004]  # 2.5 and -1.5 steps are ties
    case = _tie_case(values, scale)
    moved = qx._away_from_ties(case)
    x = moved.build()[0].astype(np.float64)
    before = np.array(values, np.float32).astype(np.float64)
    shift = (x - before) / scale
    # On a tie or within 0.001 of a step of one (indices 0, 1, 3, 5): moved by 0.01 of a step.
    assert np.allclose(shift[[0, 1, 3, 5]], 0.01, atol=1e-6), shift
    # 0.2 steps, and 0.5012 steps (0.0012 from the tie): kept.
    assert np.all(shift[[2, 4]] == 0), shift
    steps = x / scale
    assert np.all(np.abs(steps - np.floor(steps) - 0.5)[[0, 1, 3, 5]] > 8e-3)
    # The case is the same call with the moves added after its own edits.
    assert (moved.arrays, moved.args, moved.seed, moved.note) == (case.arrays, case.args, case.seed, case.note)
    assert moved.edits[:len(case.edits)] == case.edits
    assert [(name, index) for name, index, _ in moved.edits[len(case.edits):]] == [("x", (0,)), ("x", (1,)),
                                                                                     ("x", (3,)), ("x", (5,))]
    assert all(type(i) is int for _, index, _ in moved.edits for i in index)
    assert all(type(v) is float for _, _, v in moved.edits)


def test_a_case_with_no_ties_is_kept_as_it_is():
    case = _tie_case([0.1, 0.2, -0.3], scale=0.5)
    assert qx._away_from_ties(case) is case


def test_ties_are_found_in_the_steps_of_the_case_s_own_scale():
    # 0.3 is a tie for the scale 0.2 (1.5 steps), not for 0.25 (1.2 steps); 0.05 is a tie for neither.
    assert qx._away_from_ties(_tie_case([0.3, 0.05], scale=0.25)).edits == _tie_case([0.3, 0.05], scale=0.25).edits
    moved = qx._away_from_ties(_tie_case([0.3, 0.05], scale=0.2))
    assert moved.edits[-1][:2] == ("x", (0,))
    assert math.isclose(moved.edits[-1][2], 0.3 + 0.002, rel_tol=1e-6)


def test_ties_in_a_two_dimensional_case_are_moved_at_their_index():
    edits = (("x", (1, 2), 0.75), ("x", (0, 0), -0.25))  # 1.5 and -0.5 steps of 0.5
    case = qx.Case((("x", ("uniform", (2, 3), 0.1, 0.2)),), (0.5, 10, 8), 3, "", edits)
    moved = qx._away_from_ties(case)
    assert sorted(index for _, index, _ in moved.edits[2:]) == [(0, 0), (1, 2)]
    x = moved.build()[0]
    assert math.isclose(float(x[1, 2]), 0.755, rel_tol=1e-6) and math.isclose(float(x[0, 0]), -0.245, rel_tol=1e-6)


# --------------------------------------------------------------------------- quantize: checker
def test_right_quantize_passes_in_any_integer_dtype():
    assert qx.check_quantize(quantized) is None
    for dtype in (np.uint8, np.int16, np.int32, np.uint16):
        assert qx.check_quantize(lambda x, s, z, b, d=dtype: quantized(x, s, z, b).astype(d)) is None
    assert qx.check_quantize_form(quantized) is None


def _trunc(x, s, z, b):
    return np.clip(np.trunc(x / s).astype(np.int64) + z, 0, 2**b - 1)


def _floor(x, s, z, b):
    return np.clip(np.floor(x / s).astype(np.int64) + z, 0, 2**b - 1)


def _trunc_after_adding(x, s, z, b):
    return np.clip((x / s + z).astype(np.int64), 0, 2**b - 1)


def _wrapped(x, s, z, b):
    return (np.rint(x / s).astype(np.int64) + z) % 2**b


def _unclipped(x, s, z, b):
    return np.rint(x / s).astype(np.int64) + z


def _signed_clip(x, s, z, b):
    return np.clip(np.rint(x / s).astype(np.int64) + z, -(2 ** (b - 1)), 2 ** (b - 1) - 1)


def _zero_point_subtracted(x, s, z, b):
    return np.clip(np.rint(x / s).astype(np.int64) - z, 0, 2**b - 1)


def _times_scale(x, s, z, b):
    return np.clip(np.rint(x * s).astype(np.int64) + z, 0, 2**b - 1)


QUANTIZE_SLIPS = [
    (_trunc, [r"truncated", r"instead of rounded", r"np\.rint"]),
    (_floor, [r"truncated", r"floor", r"instead of rounded"]),
    (_trunc_after_adding, [r"truncated", r"instead of rounded"]),
    (_wrapped, [r"wrapped around", r"np\.clip\(\.\.\., 0, 2 \*\* bits - 1\)"]),
    (_unclipped, [r"outside 0\.\.2\^bits - 1", r"clipped"]),
    (_signed_clip, [r"signed range", r"clip to 0\.\.2 \*\* bits - 1"]),
    (_zero_point_subtracted, [r"zero point was subtracted", r"adds it"]),
    (_times_scale, [r"multiplied by the scale", r"divide"]),
]


@pytest.mark.parametrize("slipped, concepts", QUANTIZE_SLIPS, ids=lambda v: getattr(v, "__name__", ""))
def test_each_quantize_slip_is_named_on_every_case_it_shows_on(slipped, concepts):
    named = 0
    for case in qx.quantize_cases():
        args = case.build()
        student = only_on(case, slipped, quantized)
        if np.array_equal(slipped(*args), quantized(*args)):
            assert qx.check_quantize(student) is None
            continue
        message = fails(qx.check_quantize, student)
        assert message.startswith(f"quantize(x, {args[1]!r}, {args[2]!r}, {args[3]!r})"), message
        _says(message, *concepts)
        named += 1
    assert named >= 2


def test_a_clip_one_past_the_top_is_named_as_values_outside_the_range():
    # 2 ** bits instead of 2 ** bits - 1: one value too many, no other slip matches.
    message = fails(qx.check_quantize, lambda x, s, z, b: np.clip(np.rint(x / s).astype(np.int64) + z, 0, 2**b))
    _says(message, r"outside 0\.\.2\^bits - 1", r"clip")
    message = fails(qx.check_quantize, lambda x, s, z, b: np.clip(np.rint(x / s).astype(np.int64) + z, -1, 2**b - 1))
    _says(message, r"outside 0\.\.2\^bits - 1")


def test_a_wrong_value_among_clipped_ones_is_not_blamed_on_the_clip():
    # The answer holds 0 and 255 (clipped values, both right) and one wrong value in between.
    def one_off(x, s, z, b):
        q = quantized(x, s, z, b)
        inside = np.argwhere((q > 0) & (q < 2**b - 2))
        if q.min() == 0 and q.max() == 2**b - 1:
            q[tuple(inside[0])] += 1
        return q

    message = fails(qx.check_quantize, one_off)
    assert re.search(r"^1 of \d+ values differ", _after(message)), message
    assert "outside" not in message and "wrapped" not in message


def test_an_unrecognised_wrong_quantize_gets_the_rule_and_the_first_wrong_value():
    def two_off(x, s, z, b):
        q = quantized(x, s, z, b)
        q.ravel()[[3, 7]] = (q.ravel()[[3, 7]] + 1) % 2**b
        return q

    message = fails(qx.check_quantize, two_off)
    x, s, z, b = qx.quantize_cases()[0].build()
    want = quantized(x, s, z, b)
    text = _after(message)
    assert text.startswith(f"2 of {x.size} values differ, the first at index (3,) (x = {float(x[3]):.6g}), where it "
                           f"returned {(int(want[3]) + 1) % 256}. "), text
    assert text.endswith("Compute clip(round(x / scale) + zero_point, 0, 2 ** bits - 1).")
    # A two-dimensional case gives the index in both dimensions.
    message = fails(qx.check_quantize, only_on(qx.quantize_cases()[1], two_off, quantized))
    assert "the first at index (0, 3)" in message


def test_quantize_failures_show_the_dtype_returned():
    message = fails(qx.check_quantize, lambda x, s, z, b: quantized(x, s, z, b).astype(np.uint8) // 2)
    assert "returned an array of shape (12,) and dtype uint8, which is not right." in message


# --------------------------------------------------------------------------- quantize and int_matmul: form
@pytest.mark.parametrize("answer, concepts", [
    (None, [r"returned None \(is a `return` missing\?\)\.$"]),
    ([[1] * 4] * 3, [r"returned a list, not a numpy array\.$"]),
    (7, [r"returned a int, not a numpy array"]),
    (np.full((3, 4), 2.0), [r"dtype float64: quantized values are integers; convert with \.astype\(np\.uint8\) "
                            r"after clipping\.$"]),
    (np.full((3, 4), 2.0, np.float32), [r"dtype float32", r"convert with \.astype"]),
    (np.full((3, 4), 2.5), [r"dtype float64", r"round to whole numbers, clip, then convert"]),
    (np.full((3, 4), np.inf), [r"round to whole numbers, clip, then convert"]),
    (np.full((3, 4), True), [r"dtype bool: quantized values are integers; round to whole numbers"]),
    (np.full((3, 4), 2 + 0j), [r"dtype complex128", r"round to whole numbers"]),
    (np.zeros((4, 3), np.uint8), [r"shape \(4, 3\) for x of shape \(3, 4\); keep the shape\.$"]),
    (np.zeros(12, np.int64), [r"shape \(12,\) for x of shape \(3, 4\)"]),
])
def test_quantize_form_problems_are_explained(answer, concepts):
    message = fails(qx.check_quantize_form, lambda *a: answer)
    assert message.startswith("quantize(x, 0.01, 100, 8), with x = "), message
    for concept in concepts:
        assert re.search(concept, message), (concept, message)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32, np.int64, np.uint64])
def test_quantize_form_accepts_any_integer_array_shaped_like_x(dtype):
    assert qx.check_quantize_form(lambda x, *a: np.zeros(x.shape, dtype)) is None


@pytest.mark.parametrize("answer, concepts", [
    (None, [r"returned None"]),
    (np.zeros((2, 4)), [r"dtype float64: quantized values are integers"]),
    (np.zeros((2, 3), np.int32), [r"shape \(2, 3\) for the product of shape \(2, 4\); keep the shape\.$"]),
    (np.zeros((3, 4), np.int32), [r"shape \(3, 4\) for the product of shape \(2, 4\)"]),
    (np.zeros((4, 2), np.int32), [r"for the product of shape \(2, 4\)"]),
    ([[0] * 4] * 2, [r"returned a list, not a numpy array"]),
])
def test_int_matmul_form_problems_are_explained(answer, concepts):
    message = fails(qx.check_int_matmul_form, lambda *a: answer)
    assert message.startswith("int_matmul(qx, qw, 128), with qx = "), message
    for concept in concepts:
        assert re.search(concept, message), (concept, message)


def test_int_matmul_form_accepts_an_m_by_f_integer_array():
    assert qx.check_int_matmul_form(lambda a, b, z: np.zeros((a.shape[0], b.shape[1]), np.int32)) is None
    assert qx.check_int_matmul_form(product) is None
    # Its qx and qw differ in shape, so M and F cannot be confused.
    fn = recording(product)
    qx.check_int_matmul_form(fn)
    a, b, _ = fn.calls[0]
    assert len({a.shape[0], a.shape[1], b.shape[1]}) == 3


def test_the_graded_checkers_apply_their_form_checks():
    message = fails(qx.check_quantize, lambda x, *a: np.zeros((1, x.size), np.int64))
    assert message.startswith("quantize(x, 0.0157, 64, 8) (every value inside the range), with x = "), message
    assert message.endswith("returned an array of shape (1, 12) for x of shape (12,); keep the shape.")
    assert "quantized values are integers" in fails(qx.check_quantize, lambda x, *a: quantized(x, *a) * 1.0)
    message = fails(qx.check_int_matmul, lambda a, b, z: product(a, b, z).T)
    assert message.startswith("int_matmul(qx, qw, 128) (small), with qx = "), message
    assert message.endswith("returned an array of shape (2, 3) for the product of shape (3, 2); keep the shape.")
    assert "quantized values are integers" in fails(qx.check_int_matmul, lambda a, b, z: product(a, b, z) * 1.0)


def _calls_the_reference(name):
    from efficientnn import quantization

    def params(x_min, x_max, bits):
        p = quantization.params_from_range(x_min, x_max, quantization.Asymmetric(bits))
        return float(p.scale), int(p.zero_point)

    def quantize(x, scale, zero_point, bits):
        p = quantization.QuantParams(np.asarray(scale), np.asarray(zero_point), quantization.Asymmetric(bits))
        return quantization.quantize(x, p)

    def int_matmul(a, b, z):
        x_p = quantization.QuantParams(np.asarray(1.0), np.asarray(z), quantization.Asymmetric(8))
        w_p = quantization.QuantParams(np.asarray(1.0), np.asarray(0), quantization.Symmetric(8))
        return quantization.int_matmul(a, x_p, b, w_p)

    return {"asymmetric_params": params, "quantize": quantize, "int_matmul": int_matmul}[name]


@pytest.mark.parametrize("name", ["asymmetric_params", "quantize", "int_matmul"])
def test_graded_checkers_refuse_the_reference_unless_allowed(name):
    check = getattr(qx, f"check_{name}")
    lazy = _calls_the_reference(name)
    message = fails(check, lazy)
    assert message.startswith(f"{name} uses efficientnn.quantization's "), message
    assert "graded against" in message
    assert check(lazy, allow_reference=True) is None  # the reference itself passes: the checker is consistent
    assert fails(check, 42) == f"{name} is int, not a function: define it with `def`."


# --------------------------------------------------------------------------- int_matmul: cases
def test_int_matmul_cases_hold_what_the_slips_need():
    cases = qx.int_matmul_cases()
    calls = [c.build() for c in cases]
    for a, b, z in calls:
        assert a.dtype == np.uint8 and b.dtype == np.int8 and a.ndim == b.ndim == 2 and a.shape[1] == b.shape[0]
        assert 0 <= z <= 255 and b.min() >= -127, "int8 weights of the symmetric range"
    exact = [product(a, b, z) for a, b, z in calls]
    assert np.abs(exact[0]).max() < 2**15, "the first case fits 16 bits: the slips show on the values"
    assert sum(np.abs(e).max() >= 2**15 for e in exact) >= 3, "later cases overflow 16 bits"
    assert all(np.abs(e).max() < 2**31 for e in exact), "every product fits the int32 accumulator"
    assert any(z == 0 for _, _, z in calls) and any(np.all(a < z) for a, _, z in calls)
    assert any(a.shape[1] == 2880 for a, _, _ in calls), "fc1 of base_cnn"


def test_int_matmul_random_cases_follow_their_parameters():
    fixed = len(qx.int_matmul_cases(n_random=0))
    assert fixed >= 5
    assert len(qx.int_matmul_cases(n_random=4)) == fixed + 4
    drawn = qx.int_matmul_cases(n_random=8)[fixed:]
    for case in drawn:
        a, b, z = case.build()
        assert a.shape[0] == 4 and b.shape[1] == 5 and 50 <= a.shape[1] < 500 and 0 <= z <= 255
        assert a.max() > 200 and b.min() < -100 < 100 < b.max(), "the full ranges of uint8 and int8"
    assert len({c.arrays[0][1][1] for c in drawn}) == 8 and len({c.seed for c in drawn}) == 8
    assert [c.args for c in qx.int_matmul_cases(2, seed=1)[fixed:]] != [c.args for c in drawn[:2]]


# --------------------------------------------------------------------------- int_matmul: checker
def test_right_int_matmul_passes_in_wide_integer_dtypes():
    assert qx.check_int_matmul(product) is None
    for dtype in (np.int32, np.int64):
        assert qx.check_int_matmul(lambda a, b, z, d=dtype: (a.astype(d) - z) @ b.astype(d)) is None


def _int64(a):
    return a.astype(np.int64)


def _uint8_subtraction(a, b, z):
    return _int64(a - np.uint8(z)) @ _int64(b)


def _naive(a, b, z):
    return (a - np.uint8(z)) @ b


def _int16(a, b, z):
    return (a.astype(np.int16) - z) @ b.astype(np.int16)


def _int8_result(a, b, z):
    return ((_int64(a) - z) @ _int64(b)).astype(np.int8)


def _int16_then_int32(a, b, z):
    return _int16(a, b, z).astype(np.int32)  # widened after the sum: too late


def _naive_then_int64(a, b, z):
    return _int64(_naive(a, b, z))


def _zero_point_added(a, b, z):
    return (_int64(a) + z) @ _int64(b)


def _zero_point_forgotten(a, b, z):
    return _int64(a) @ _int64(b)


def _zero_point_forgotten_int16(a, b, z):
    return a @ b  # uint8 @ int8 is int16 in numpy


MATMUL_SLIPS = [
    (_uint8_subtraction, [r"qx - zero_point wrapped around", r"astype\(np\.int32\)"]),
    (_naive, [r"qx - zero_point wrapped around"]),
    (_naive_then_int64, [r"qx - zero_point wrapped around"]),
    (_int16, [r"overflowed", r"int16", r"int32"]),
    (_int16_then_int32, [r"overflowed", r"int16", r"int32"]),
    (_int8_result, [r"wrapped around in 8 bits", r"int32"]),
    (_zero_point_added, [r"zero point was added", r"subtract"]),
    (_zero_point_forgotten, [r"zero point was left out", r"subtract"]),
    (_zero_point_forgotten_int16, [r"zero point was left out"]),
]


@pytest.mark.parametrize("slipped, concepts", MATMUL_SLIPS, ids=lambda v: getattr(v, "__name__", ""))
def test_each_int_matmul_slip_is_named_on_every_case_it_shows_on(slipped, concepts):
    named = 0
    for case in qx.int_matmul_cases():
        args = case.build()
        student = only_on(case, slipped, product)
        if np.array_equal(slipped(*args), product(*args)):
            assert qx.check_int_matmul(student) is None
            continue
        message = fails(qx.check_int_matmul, student)
        assert message.startswith(f"int_matmul(qx, qw, {args[2]!r})"), message
        # With zero point 0 nothing wraps and nothing is forgotten: an int16 overflow is all three
        # slips at once, and the message may name any slip that gives this very answer.
        alike = [c for other, c in MATMUL_SLIPS if np.array_equal(other(*args), slipped(*args))]
        assert any(all(re.search(c, _after(message), re.IGNORECASE) for c in cs) for cs in alike), message
        if len(alike) == 1:
            _says(message, *concepts)
        named += 1
    assert named >= 2


def test_an_int32_answer_wrong_for_another_reason_is_not_blamed_on_overflow():
    for dtype in (np.int32, np.int64, np.uint32):
        message = fails(qx.check_int_matmul, lambda a, b, z, d=dtype: product(a, b, z).astype(d) + 1)
        _says(message, r"^Each output is sum over k of \(qx\[m, k\] - zero_point\) \* qw\[k, f\]",
              r"at least 32 bits\.$")
        assert "overflow" not in message and "wrapped" not in message


@pytest.mark.parametrize("dtype, concepts", [
    (np.int16, [r"overflowed", r"int32"]), (np.uint16, [r"overflowed"]),
    (np.int8, [r"wrapped around in 8 bits"]), (np.uint8, [r"wrapped around in 8 bits"]),
])
def test_a_narrow_answer_wrong_for_another_reason_points_at_the_accumulator(dtype, concepts):
    message = fails(qx.check_int_matmul, lambda a, b, z: np.full((a.shape[0], b.shape[1]), 3, dtype))
    _says(message, *concepts)


def test_int_matmul_failures_show_the_dtype_returned():
    message = fails(qx.check_int_matmul, _int16)
    assert "returned an array of shape (4, 2) and dtype int16, which is not right." in message
