"""Tests for efficientnn.quiz.a07_quantization: the checkers of assignment 07.

The right implementations below are written from the definitions with Python numbers (loops,
``round``, ``min``/``max``), independently of efficientnn.quantization; every slipped one makes one
of the slips the assignment names, and its message must name that slip and not give the answer.
"""
import math
import re

import numpy as np
import pytest
from quiz_support import assert_message_rebuilds_last_call, assert_prose, fails, recording

from efficientnn.quiz import a07_quantization as qx
from efficientnn.quiz.a07_quantization import QUANTIZATION_SLIP_MESSAGES as MSG
from efficientnn.quiz.harness import self_check


# --------------------------------------------------------------------------- right implementations
def symmetric_scale(w, bits):
    largest = max(abs(float(v)) for v in np.asarray(w).ravel())
    return largest / (2 ** (bits - 1) - 1)


def per_channel_scales(w, bits):
    channels = w.shape[-1]
    flat = np.asarray(w).reshape(-1, channels)
    return np.array([max(abs(float(v)) for v in flat[:, c]) / (2 ** (bits - 1) - 1) for c in range(channels)])


def asymmetric_params(x_min, x_max, bits):
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = (hi - lo) / (2**bits - 1)
    return scale, round(-lo / scale)


def quantize(x, scale, zero_point, bits):
    flat = [min(2**bits - 1, max(0, round(float(v) / scale) + zero_point)) for v in np.asarray(x).ravel()]
    return np.array(flat, dtype=np.int64).reshape(x.shape)


def int_matmul(qx_, qw, zero_point):
    m, k = qx_.shape
    f = qw.shape[1]
    a, b = qx_.tolist(), qw.tolist()
    return np.array([[sum((a[i][t] - zero_point) * b[t][j] for t in range(k)) for j in range(f)] for i in range(m)],
                    dtype=np.int64)


def test_right_implementations_pass_every_checker():
    assert qx.check_symmetric_scale(symmetric_scale) is None
    assert qx.check_per_channel_scales(per_channel_scales) is None
    assert qx.check_asymmetric_params(asymmetric_params) is None
    assert qx.check_quantize(quantize) is None
    assert qx.check_int_matmul(int_matmul) is None
    for form, fn in [(qx.check_symmetric_scale_form, symmetric_scale), (qx.check_per_channel_scales_form,
                     per_channel_scales), (qx.check_asymmetric_params_form, asymmetric_params),
                     (qx.check_quantize_form, quantize), (qx.check_int_matmul_form, int_matmul)]:
        assert form(fn) is None
    assert self_check(qx.check_quantize, quantize).correct


def test_numpy_solutions_as_students_write_them_pass():
    assert qx.check_symmetric_scale(lambda w, bits: np.abs(w).max() / (2 ** (bits - 1) - 1)) is None
    assert qx.check_per_channel_scales(
        lambda w, bits: np.max(np.abs(w.reshape(-1, w.shape[-1])), axis=0) / (2 ** (bits - 1) - 1)) is None
    assert qx.check_quantize(
        lambda x, s, z, bits: np.clip(np.round(x / s) + z, 0, 2**bits - 1).astype(np.uint8)) is None
    assert qx.check_int_matmul(lambda a, b, z: (a.astype(np.int32) - z) @ b.astype(np.int32)) is None


def test_cases_hold_what_the_slips_need():
    sym = [c.build() for c in qx.symmetric_scale_cases()]
    assert any(abs(w.min()) > abs(w.max()) for w, _ in sym), "a largest magnitude that is negative"
    assert {bits for _, bits in sym} >= {8, 4, 2}
    quant = [c.build() for c in qx.quantize_cases()]
    assert any(np.any(x / s + z > 2**b - 1) and np.any(x / s + z < 0) for x, s, z, b in quant), "clipping at both ends"
    assert any(np.any(x < 0) for x, *_ in quant)
    for x, s, _, _ in quant:  # no value near a rounding tie: every rounding rule agrees
        steps = x.astype(np.float64) / s
        assert np.all(np.abs(steps - np.floor(steps) - 0.5) >= 5e-4)
    mats = [c.build() for c in qx.int_matmul_cases()]
    exact = [int_matmul(a, b, z) for a, b, z in mats]
    assert any(np.abs(e).max() > 2**15 for e in exact), "some sums overflow int16"
    assert all(np.abs(e).max() < 2**31 for e in exact)
    assert any(np.any(a < z) for a, _, z in mats), "qx below the zero point: uint8 subtraction wraps"
    params = [c.build() for c in qx.asymmetric_params_cases()]
    assert any(lo > 0 for lo, _, _ in params) and any(hi < 0 for _, hi, _ in params)


# --------------------------------------------------------------------------- slips
def _named(message, slip):
    assert MSG[slip] in message, message


def test_symmetric_scale_slips_are_named():
    qmax = lambda bits: 2 ** (bits - 1) - 1  # noqa: E731
    _named(fails(qx.check_symmetric_scale, lambda w, bits: float(w.max()) / qmax(bits)), "max_not_max_abs")
    _named(fails(qx.check_symmetric_scale, lambda w, bits: float(np.abs(w).max()) / 2 ** (bits - 1)),
           "full_signed_range")
    _named(fails(qx.check_symmetric_scale, lambda w, bits: float(np.abs(w).max()) / (2**bits - 1)), "unsigned_range")
    _named(fails(qx.check_symmetric_scale, lambda w, bits: qmax(bits) / float(np.abs(w).max())), "inverse_scale")
    _named(fails(qx.check_symmetric_scale, lambda w, bits: float(np.abs(w).max()) / 127), "bits_ignored")


def test_per_channel_slips_are_named():
    qmax = 127
    message = fails(qx.check_per_channel_scales, lambda w, bits: np.full(w.shape[-1], np.abs(w).max() / qmax))
    _named(message, "one_scale_for_all")
    message = fails(qx.check_per_channel_scales,
                    lambda w, bits: np.abs(w).max(axis=tuple(range(w.ndim - 1)), keepdims=True) / qmax)
    assert "keepdims" in message
    message = fails(qx.check_per_channel_scales, lambda w, bits: w.max(axis=tuple(range(w.ndim - 1))) / qmax)
    _named(message, "max_not_max_abs")
    message = fails(qx.check_per_channel_scales, lambda w, bits: np.abs(w).max(axis=0) / qmax)
    assert "shape" in message  # a (6, 4) dense weight: max over axis 0 gives 4 values, right shape, wrong values
    # With as many inputs as channels the wrong axis gives the right shape: named by value.
    square = qx.Case((("w", ("normal", (4, 4), 1.0, 0.0)),), (8,), 5)
    w, bits = square.build()
    wrong = np.abs(w).max(axis=1) / qmax
    assert np.allclose(dict(qx._per_channel_slips(w, bits))["wrong_axis"], wrong, rtol=1e-6)


def test_asymmetric_params_slips_are_named():
    def sign(x_min, x_max, bits):
        scale, zp = asymmetric_params(x_min, x_max, bits)
        return scale, -zp

    def not_widened(x_min, x_max, bits):
        scale = (x_max - x_min) / (2**bits - 1)
        return scale, round(-x_min / scale)

    def truncated(x_min, x_max, bits):
        lo, hi = min(x_min, 0.0), max(x_max, 0.0)
        scale = (hi - lo) / (2**bits - 1)
        return scale, int(-lo / scale)

    def signed(x_min, x_max, bits):
        lo, hi = min(x_min, 0.0), max(x_max, 0.0)
        scale = (hi - lo) / (2 ** (bits - 1) - 1)
        return scale, round(-lo / scale)

    _named(fails(qx.check_asymmetric_params, sign), "zero_point_sign")
    _named(fails(qx.check_asymmetric_params, not_widened), "zero_not_included")
    _named(fails(qx.check_asymmetric_params, truncated), "zero_point_truncated")
    _named(fails(qx.check_asymmetric_params, signed), "signed_steps")
    message = fails(qx.check_asymmetric_params, lambda lo, hi, bits: ((hi - lo) / 255, (-lo) / ((hi - lo) / 255)))
    assert "not a whole number" in message


def test_quantize_slips_are_named():
    top = lambda bits: 2**bits - 1  # noqa: E731
    _named(fails(qx.check_quantize, lambda x, s, z, b: np.clip((x / s).astype(np.int64) + z, 0, top(b))),
           "truncation")
    _named(fails(qx.check_quantize, lambda x, s, z, b: (np.rint(x / s) + z).astype(np.int64)), "no_clip")
    _named(fails(qx.check_quantize, lambda x, s, z, b: (np.rint(x / s) + z).astype(np.int64) % 2**b), "wrapped")
    _named(fails(qx.check_quantize, lambda x, s, z, b: np.clip(np.rint(x / s) - z, 0, top(b)).astype(np.int64)),
           "quantize_zero_point_sign")
    _named(fails(qx.check_quantize, lambda x, s, z, b: np.clip(np.rint(x / s) + z, -128, 127).astype(np.int64)),
           "signed_clip")
    message = fails(qx.check_quantize, lambda x, s, z, b: np.clip(np.rint(x / s) + z, 0, top(b)))
    assert "dtype float" in message and "astype" in message


def test_int_matmul_slips_are_named():
    _named(fails(qx.check_int_matmul, lambda a, b, z: (a - z).astype(np.int64) @ b.astype(np.int64)), "uint8_wrap")
    _named(fails(qx.check_int_matmul, lambda a, b, z: (a.astype(np.int16) - z) @ b.astype(np.int16)),
           "int16_overflow")
    _named(fails(qx.check_int_matmul, lambda a, b, z: (a.astype(np.int64) + z) @ b.astype(np.int64)),
           "matmul_zero_point_sign")
    _named(fails(qx.check_int_matmul, lambda a, b, z: a.astype(np.int64) @ b.astype(np.int64)),
           "zero_point_forgotten")
    message = fails(qx.check_int_matmul, lambda a, b, z: (a.astype(np.float64) - z) @ b)
    assert "dtype float64" in message


def test_the_naive_numpy_product_overflows_and_is_named():
    # What most students write first: uint8 minus an int stays uint8, and uint8 @ int8 is int16.
    message = fails(qx.check_int_matmul, lambda a, b, z: (a - z) @ b)
    assert MSG["uint8_wrap"] in message or MSG["int16_overflow"] in message


def test_messages_never_hold_the_right_answer():
    case = qx.symmetric_scale_cases()[1]
    w, bits = case.build()
    right = symmetric_scale(w, bits)
    message = fails(qx.check_symmetric_scale, lambda w, bits: float(w.max()) / (2 ** (bits - 1) - 1))
    assert f"{right:.4g}" not in message and repr(right) not in message
    lo, hi, bits = qx.asymmetric_params_cases()[0].build()
    scale, zp = asymmetric_params(lo, hi, bits)
    message = fails(qx.check_asymmetric_params, lambda a, b, n: (1.0, 0))
    assert repr(scale) not in message and f"{scale:.4g}" not in message


def test_a_function_calling_the_reference_is_refused():
    from efficientnn import quantization

    def lazy(w, bits):
        return float(quantization.calibrate(w, quantization.Symmetric(bits)).scale)

    assert "graded against" in fails(qx.check_symmetric_scale, lazy)
    assert qx.check_symmetric_scale(lazy, allow_reference=True) is None


def test_inputs_changed_in_place_are_reported():
    def in_place(x, s, z, b):
        x /= s
        return np.clip(np.rint(x) + z, 0, 2**b - 1).astype(np.int64)

    assert "changed its input" in fails(qx.check_quantize, in_place)


def test_failures_of_form_are_explained():
    assert "None" in fails(qx.check_symmetric_scale_form, lambda w, bits: None)
    assert "NotImplementedError" in fails(qx.check_quantize_form, _not_implemented)
    assert "not a function" in fails(qx.check_int_matmul_form, 42)
    assert "pair" in fails(qx.check_asymmetric_params_form, lambda a, b, n: 0.1)


def _not_implemented(*args):
    raise NotImplementedError()


@pytest.mark.parametrize("bits", [8, 4])
def test_reference_math_agrees_with_the_right_implementations_directly(bits):
    # The checkers compare against efficientnn.quantization; the same numbers from Python's own
    # arithmetic (independent of both) on one more input.
    w = np.random.default_rng(99).standard_normal((5, 3))
    assert math.isclose(symmetric_scale(w, bits), np.abs(w).max() / (2 ** (bits - 1) - 1), rel_tol=1e-12)


def test_the_recipe_in_a_message_rebuilds_the_inputs():
    cases = (qx.symmetric_scale_cases() + qx.per_channel_scales_cases() + qx.quantize_cases()
             + qx.int_matmul_cases())
    for case in cases:
        namespace = {"np": np}
        exec(case.recipe(), namespace)  # the code the message shows, run as a student would
        built = case.build()
        for (name, _), value in zip(case.arrays, built):
            assert np.array_equal(namespace[name], value) and namespace[name].dtype == value.dtype, case.recipe()


# --------------------------------------------------------------------------- what the messages say
def _after(message):
    """The teaching text after the call and the returned value."""
    return message.split("which is not right. ", 1)[1]


RIGHT = {"symmetric_scale": symmetric_scale, "per_channel_scales": per_channel_scales,
         "asymmetric_params": asymmetric_params, "quantize": quantize, "int_matmul": int_matmul}
ARRAYS = {"symmetric_scale": ["w"], "per_channel_scales": ["w"], "asymmetric_params": [], "quantize": ["x"],
          "int_matmul": ["qx", "qw"]}


def _off(name):
    right = RIGHT[name]
    if name == "asymmetric_params":
        return lambda *a: (right(*a)[0] * 1.5, right(*a)[1])
    if name in ("quantize", "int_matmul"):
        return lambda *a: right(*a) + 3
    return lambda *a: right(*a) * 1.37


@pytest.mark.parametrize("name", list(RIGHT))
def test_every_failure_names_the_call_and_rebuilds_its_inputs(name):
    wrong = recording(_off(name))
    message = fails(getattr(qx, f"check_{name}"), wrong)
    assert_message_rebuilds_last_call(message, name, wrong.calls[-1], ARRAYS[name])
    # The plain numbers of the call are shown as typed.
    plain = wrong.calls[-1][len(ARRAYS[name]):]
    assert message.startswith(f"{name}({', '.join(ARRAYS[name] + [repr(a) for a in plain])})")
    broken = recording(lambda *a: None)
    message = fails(getattr(qx, f"check_{name}_form"), broken)
    assert_message_rebuilds_last_call(message, name, broken.calls[-1], ARRAYS[name])
    assert re.search(r"returned None \(is a `return` missing\?\)\.$", message)


def test_the_form_checks_use_the_documented_inputs():
    seen = {}
    for name in RIGHT:
        fn = recording(RIGHT[name])
        getattr(qx, f"check_{name}_form")(fn)
        seen[name] = fn.calls[-1]
    w, bits = seen["per_channel_scales"]
    assert w.ndim == 4 and bits == 8, "a convolution's kernels"
    x_min, x_max, bits = seen["asymmetric_params"]
    assert x_min < 0 < x_max and bits == 8
    qx_, qw, zero_point = seen["int_matmul"]
    assert qx_.dtype == np.uint8 and qw.dtype == np.int8 and qx_.shape[1] == qw.shape[0] and 0 <= zero_point <= 255


@pytest.mark.parametrize("name, answer, concepts", [
    ("symmetric_scale", -0.5, [r"a scale is positive"]),
    ("symmetric_scale", "0.1", [r"returned str '0\.1'; return a number"]),
    ("per_channel_scales", [0.1] * 4, [r"returned a list, not a numpy array; return one scale per output channel"]),
    ("per_channel_scales", np.array(["a"] * 4), [r"dtype <U1; return an array of numbers"]),
    ("per_channel_scales", np.ones((1, 1, 1, 4)), [r"shape \(1, 1, 1, 4\); return shape \(4,\)", r"keepdims=True"]),
    ("per_channel_scales", np.ones(5), [r"shape \(5,\); return shape \(4,\)", r"every axis but the last"]),
    ("per_channel_scales", np.array([0.1, np.nan, 0.1, 0.1]), [r"nan or inf"]),
    ("asymmetric_params", 0.1, [r"return a pair \(scale, zero_point\)"]),
    ("asymmetric_params", (0.1, 2, 3), [r"return a pair \(scale, zero_point\)"]),
    ("asymmetric_params", ("s", 3), [r"returned a scale that is not a number: str 's'; return a number"]),
    ("asymmetric_params", (0.1, None), [r"returned a zero_point that is not a number"]),
    ("asymmetric_params", (0.1, 3.5), [r"zero point 3\.5, which is not a whole number", r"round it"]),
    ("quantize", [[1]], [r"returned a list, not a numpy array"]),
    ("quantize", np.zeros((3, 4)), [r"dtype float64: quantized values are integers", r"convert with "
                                    r"\.astype\(np\.uint8\) after clipping"]),
    ("quantize", np.full((3, 4), 0.5), [r"round to whole numbers, clip, then convert"]),
    ("quantize", np.zeros((4, 3), np.int64), [r"shape \(4, 3\) for x of shape \(3, 4\); keep the shape"]),
    ("int_matmul", np.zeros((4, 2), np.int32), [r"shape \(4, 2\) for the product of shape \(2, 4\)"]),
])
def test_form_problems_are_explained(name, answer, concepts):
    message = fails(getattr(qx, f"check_{name}_form"), lambda *a: answer)
    assert all(re.search(c, message) for c in concepts), message
    assert message.endswith(".")


@pytest.mark.parametrize("name, fn, concepts", [
    ("symmetric_scale", lambda w, bits: 0.123, [r"^The symmetric scale maps the largest magnitude",
                                                r"max\|w\| / \(2 \*\* \(bits - 1\) - 1\)\.$"]),
    ("per_channel_scales", lambda w, bits: np.full(w.shape[-1], 0.123), [r"^Each channel c gets the symmetric scale of "
                                                                         r"w\[\.\.\., c\] alone"]),
    ("asymmetric_params", lambda a, b, n: (1.0, 0), [r"^The scale is off\.", r"lo = min\(x_min, 0\)"]),
    ("asymmetric_params", lambda a, b, n: (asymmetric_params(a, b, n)[0], asymmetric_params(a, b, n)[1] + 7),
     [r"^The zero point is off\."]),
    ("quantize", lambda x, s, z, b: quantize(x, s, z, b) * (np.arange(x.size).reshape(x.shape) != 5),
     [r"^1 of 12 values differ, the first at index \(5,\) \(x = -?[0-9.]+\), where it returned 0\.",
      r"clip\(round\(x / scale\) \+ zero_point, 0, 2 \*\* bits - 1\)\.$"]),
    ("int_matmul", lambda a, b, z: int_matmul(a, b, z) + 1, [r"^Each output is sum over k", r"at least 32 bits\.$"]),
])
def test_unrecognised_wrong_answers_get_the_rule(name, fn, concepts):
    assert_prose(_after(fails(getattr(qx, f"check_{name}"), fn)), *concepts)


def test_the_first_differing_value_is_the_student_s_own():
    def one_wrong(x, s, z, b):
        q = quantize(x, s, z, b)
        q.ravel()[5] = (q.ravel()[5] + 2) % 256
        return q

    message = fails(qx.check_quantize, one_wrong)
    x = qx.quantize_cases()[0].build()[0]
    right = quantize(*qx.quantize_cases()[0].build())
    assert f"(x = {float(x.ravel()[5]):.6g})" in message
    assert f"where it returned {(int(right.ravel()[5]) + 2) % 256}." in message


def test_more_slips_are_named():
    rng_w = lambda w, bits: (max(float(w.max()), 0) - min(float(w.min()), 0)) / (2**bits - 1)  # noqa: E731
    _named(fails(qx.check_symmetric_scale, rng_w), "range_width")
    top = lambda bits: 2**bits - 1  # noqa: E731
    _named(fails(qx.check_quantize, lambda x, s, z, b: np.clip(np.floor(x / s) + z, 0, top(b)).astype(np.int64)),
           "truncation")
    _named(fails(qx.check_quantize, lambda x, s, z, b: np.clip(np.rint(x * s) + z, 0, top(b)).astype(np.int64)),
           "multiplied_by_scale")
    _named(fails(qx.check_quantize, lambda x, s, z, b: (np.rint(x / s) + z).astype(np.int64) + 1000 * (x > 2.5)),
           "no_clip")

    def from_max(x_min, x_max, bits):
        lo, hi = min(x_min, 0.0), max(x_max, 0.0)
        scale = hi / (2**bits - 1)
        return scale, round(-lo / scale)

    _named(fails(qx.check_asymmetric_params, from_max), "scale_from_max")

    def floor_zero_point(x_min, x_max, bits):
        scale, _ = asymmetric_params(x_min, x_max, bits)
        return scale, math.floor(-min(x_min, 0.0) / scale)

    _named(fails(qx.check_asymmetric_params, floor_zero_point), "zero_point_truncated")

    def negative_zero_point(x_min, x_max, bits):
        scale, _ = asymmetric_params(x_min, x_max, bits)
        return scale, -3

    _named(fails(qx.check_asymmetric_params, negative_zero_point), "zero_point_sign")
    _named(fails(qx.check_int_matmul, lambda a, b, z: ((a.astype(np.int64) - z) @ b.astype(np.int64) + 128) % 256
                 - 128), "int8_overflow")
    _named(fails(qx.check_int_matmul, lambda a, b, z: ((a - z).astype(np.int64) @ b + 2**15) % 2**16 - 2**15),
           "uint8_wrap")
    _named(fails(qx.check_int_matmul, lambda a, b, z: (a.astype(np.int64) @ b.astype(np.int64) + 2**15) % 2**16
                 - 2**15), "zero_point_forgotten")
    # An int8 result that is wrong in another way still points at the accumulator's width.
    _named(fails(qx.check_int_matmul, lambda a, b, z: np.ones((a.shape[0], b.shape[1]), np.int8)), "int8_overflow")
    _named(fails(qx.check_int_matmul, lambda a, b, z: np.ones((a.shape[0], b.shape[1]), np.int16)), "int16_overflow")


def test_per_channel_wrong_axis_is_named_through_the_checker():
    shapes = [c.arrays[0][1][1] for c in qx.per_channel_scales_cases()]
    assert any(s[0] == s[-1] for s in shapes), "a case with as many inputs as channels"

    def wrong_axis_where_it_fits(w, bits):  # elsewhere the shape already tells
        if w.shape[0] != w.shape[-1]:
            return per_channel_scales(w, bits)
        return np.abs(w).max(axis=tuple(range(1, w.ndim))) / (2 ** (bits - 1) - 1)

    _named(fails(qx.check_per_channel_scales, wrong_axis_where_it_fits), "wrong_axis")
    _named(fails(qx.check_per_channel_scales, lambda w, bits: np.abs(w).max(axis=tuple(range(w.ndim - 1))) / 127),
           "bits_ignored")
    _named(fails(qx.check_per_channel_scales, lambda w, bits: np.abs(w).max(axis=tuple(range(w.ndim - 1))) / 128),
           "full_signed_range")
    _named(fails(qx.check_per_channel_scales, lambda w, bits: np.abs(w).max(axis=tuple(range(w.ndim - 1))) / 255),
           "unsigned_range")


def test_case_recipes_show_edits_as_typed():
    case = qx.symmetric_scale_cases()[1]
    assert "w[1, 1, 0, 2] = -3.0" in case.recipe()
    case = qx.per_channel_scales_cases()[0]
    assert "w[:, 0] = 0.01" in case.recipe()
    w, _ = case.build()
    assert np.all(w[:, 0] == np.float32(0.01))
    assert case.where("per_channel_scales").startswith("per_channel_scales(w, 8) (a dense layer's (inputs, units) "
                                                       "weights), with w = ")
    first = qx.asymmetric_params_cases()[0]
    assert first.where("asymmetric_params") == "asymmetric_params(-1.0, 3.0, 8) (a range around 0)"


def test_graded_and_visible_inputs_are_the_ones_students_were_graded_on():
    # See quiz_support.fingerprint: a change to these inputs must be deliberate.
    from quiz_support import fingerprint

    graded = {"symmetric_scale": "0fd978d87f083ffd", "per_channel_scales": "19534278cd428faa",
              "asymmetric_params": "8aa5fd86f448a042", "quantize": "9ae427e513d0d892", "int_matmul": "7b43db188a34dea3"}
    visible = {"symmetric_scale": "6583dff1ae3ccd5d", "per_channel_scales": "47278c425fc32e68",
               "asymmetric_params": "f1ea90c2d62434d1", "quantize": "1993ca78d1763d0a",
               "int_matmul": "6f26a5b940696614"}
    for name in graded:
        cases = getattr(qx, f"{name}_cases")()
        assert fingerprint([(c.arrays, c.args, c.seed, c.note, c.edits) for c in cases]) == graded[name], name
        fn = recording(lambda *a: None)
        with pytest.raises(AssertionError):
            getattr(qx, f"check_{name}_form")(fn)
        assert fingerprint(fn.calls) == visible[name], name
