"""Tests for efficientnn.quiz.a07_quantization: the checkers of assignment 07.

The right implementations below are written from the definitions with Python numbers (loops,
``round``, ``min``/``max``), independently of efficientnn.quantization; every slipped one makes one
of the slips the assignment names, and its message must name that slip and not give the answer.
"""
import math

import numpy as np
import pytest
from quiz_support import fails

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
