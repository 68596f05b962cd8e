"""Tests for the scale exercises of efficientnn.quiz.a07_quantization and the helpers they share.

``symmetric_scale`` and ``per_channel_scales``: what the messages show and name (the call, the
returned value, the slip), the tolerance on a scale, the visible form checks, and the helpers
that build cases and recognise slips. Right answers are written here from the definition
(``max|w| / (2 ** (bits - 1) - 1)``, with Python numbers), never taken from efficientnn.quantization.
"""
import re

import numpy as np
import pytest
from quiz_support import assert_prose, fails

from efficientnn.quiz import a07_quantization as qx


def scale_by_hand(w, bits):
    """The symmetric scale from its definition, in Python floats."""
    return max(abs(float(v)) for v in np.asarray(w).ravel()) / (2 ** (bits - 1) - 1)


def channel_scales_by_hand(w, bits):
    flat = np.asarray(w).reshape(-1, w.shape[-1])
    return np.array([scale_by_hand(flat[:, c], bits) for c in range(w.shape[-1])])


def _teaching(message):
    """The sentence after the call and its recipe: from " returned " on."""
    return message[message.index("returned "):]


# --------------------------------------------------------------------------- what a message shows
def test_a_wrong_scale_message_shows_the_returned_number():
    message = fails(qx.check_symmetric_scale, lambda w, bits: 0.123)
    assert re.match(r"symmetric_scale\(w, 8\) .*, returned 0\.123, which is not right\. The symmetric scale", message)


def test_a_wrong_per_channel_message_shows_the_returned_array_and_its_dtype():
    def one_scale(w, bits):  # the per-tensor scale, repeated: one of the named slips
        return np.full(w.shape[-1], scale_by_hand(w, bits), dtype=np.float64)

    message = fails(qx.check_per_channel_scales, one_scale)
    assert " returned an array of shape (4,) and dtype float64, which is not right. " in message
    assert_prose(message.split("which is not right. ")[1], r"same scale", r"per-tensor", r"own largest magnitude")


def test_an_array_for_one_scale_is_shown_with_its_shape_and_dtype():
    # Reducing over axis 0 only gives per-column values where one number is asked for.
    per_column = lambda w, bits: np.abs(w).max(axis=0) / (2 ** (bits - 1) - 1)  # noqa: E731
    message = fails(qx.check_symmetric_scale, per_column)
    assert message.startswith("symmetric_scale(w, 8) ")
    assert "returned ndarray an array of shape (6,) and dtype float32; return a number." in message
    message = fails(qx.check_symmetric_scale_form, per_column)
    assert "returned ndarray an array of shape (4,) and dtype float32; return a number." in message


def test_problems_found_by_the_checkers_name_the_call():
    message = fails(qx.check_symmetric_scale, lambda w, bits: "0.01")
    assert message.startswith("symmetric_scale(w, 8) ") and "returned str '0.01'; return a number" in message
    message = fails(qx.check_per_channel_scales, lambda w, bits: channel_scales_by_hand(w, bits).tolist())
    assert message.startswith("per_channel_scales(w, 8) ") and "returned a list, not a numpy array" in message

    def crashes(w, bits):
        raise ValueError("no weights")

    message = fails(qx.check_symmetric_scale, crashes)
    assert message.startswith("symmetric_scale(w, 8) ") and "raised ValueError: no weights" in message

    def in_place(w, bits):  # np.abs(w, out=w): the magnitudes overwrite the weights
        return np.abs(w, out=w).max(axis=tuple(range(w.ndim - 1))) / (2 ** (bits - 1) - 1)

    message = fails(qx.check_per_channel_scales, in_place)
    assert message.startswith("per_channel_scales(w, 8) ") and "changed its input" in message


@pytest.mark.parametrize("checker, name", [
    (qx.check_symmetric_scale, "symmetric_scale"), (qx.check_symmetric_scale_form, "symmetric_scale"),
    (qx.check_per_channel_scales, "per_channel_scales"), (qx.check_per_channel_scales_form, "per_channel_scales"),
])
def test_a_value_left_in_place_of_the_function_is_named(checker, name):
    assert fails(checker, 0.5).startswith(f"{name} is float, not a function")


def test_the_reference_is_refused_in_both_checkers_unless_allowed():
    from efficientnn import quantization

    def per_tensor(w, bits):
        return float(quantization.calibrate(w, quantization.Symmetric(bits)).scale)

    def per_channel(w, bits):
        return quantization.calibrate(w, quantization.Symmetric(bits), axis=-1).scale

    for checker, fn, name in [(qx.check_symmetric_scale, per_tensor, "symmetric_scale"),
                              (qx.check_per_channel_scales, per_channel, "per_channel_scales")]:
        assert_prose(fails(checker, fn), rf"^{name} uses efficientnn\.quantization's calibrate, ",
                     r"graded against", r"numpy operations\.$")
        assert checker(fn, allow_reference=True) is None


# --------------------------------------------------------------------------- tolerance
def test_a_float32_scale_passes_and_a_few_parts_per_million_off_fail():
    def float32_scale(w, bits):  # float32 rounding: about 6e-8 relative
        return np.float32(np.abs(w).max()) / np.float32(2 ** (bits - 1) - 1)

    assert qx.check_symmetric_scale(float32_scale) is None
    # 5e-9 on the first case's scale (max|w| / 127 with max|w| about 0.27) is 2.4e-6 relative: a
    # different number, though a tolerance of 1e-5, or an absolute 1e-8, would let it through.
    w, bits = qx.symmetric_scale_cases()[0].build()
    first = scale_by_hand(w, bits)
    assert 1e-6 < 5e-9 / first < 1e-5
    fails(qx.check_symmetric_scale, lambda w, bits: scale_by_hand(w, bits) + 5e-9)


# --------------------------------------------------------------------------- slips
def test_per_tensor_scales_for_convolution_kernels_are_named():
    # Right for a dense layer's (inputs, units) weights, one scale for a whole 4-D kernel.
    def flattened_kernel(w, bits):
        if w.ndim == 2:
            return channel_scales_by_hand(w, bits)
        return np.full(w.shape[-1], scale_by_hand(w, bits))

    message = fails(qx.check_per_channel_scales, flattened_kernel)
    assert message.startswith("per_channel_scales(w, 8) (a convolution's (kh, kw, Cin, Cout) kernels")
    assert_prose(message.split("which is not right. ")[1], r"^Every channel got the same scale, the per-tensor one")


def test_the_wrong_axis_is_recognised_whenever_it_gives_one_value_per_channel():
    # A 3x1 kernel with 3 output channels: reducing over all axes but the first also gives 3 values.
    w = np.random.default_rng(3).standard_normal((3, 1, 2, 3)).astype(np.float32)
    slips = dict(qx._per_channel_slips(w, 8))
    by_row = np.array([scale_by_hand(w[i], 8) for i in range(3)])
    np.testing.assert_allclose(slips["wrong_axis"], by_row, rtol=1e-6)
    for value in slips.values():  # every candidate is one value per output channel
        assert np.shape(value) == (3,)
    assert "wrong_axis" not in dict(qx._per_channel_slips(np.ones((2, 3, 2, 3), np.float32), 8))


def test_every_per_channel_candidate_has_one_value_per_output_channel():
    w = np.random.default_rng(4).standard_normal((3, 3, 2, 5)).astype(np.float32)
    slips = dict(qx._per_channel_slips(w, 8))
    assert all(np.shape(value) == (5,) for value in slips.values()), {k: np.shape(v) for k, v in slips.items()}
    np.testing.assert_allclose(slips["one_scale_for_all"], [scale_by_hand(w, 8)] * 5, rtol=1e-6)


def test_the_range_width_of_positive_weights_starts_at_zero():
    # Hand-worked: the range [0.5, 2.0] widened to hold 0 is [0, 2.0], 2.0 / 255 for 8 bits.
    w = np.array([0.5, 2.0, 1.0], np.float32)
    assert dict(qx._symmetric_slips(w, 8))["range_width"] == pytest.approx(2.0 / 255, rel=1e-12)
    w = np.array([-0.5, -2.0], np.float32)  # [-2.0, 0]
    assert dict(qx._symmetric_slips(w, 4))["range_width"] == pytest.approx(2.0 / 15, rel=1e-12)


def test_a_candidate_as_right_as_the_answer_is_never_blamed():
    # 1 + 0.9e-6 is within the tolerance (1e-6 relative) of the right 1.0, so it is not a slip,
    # even though the result, 1 + 1.8e-6, is also within the tolerance of it.
    right, result = 1.0, 1.0 + 1.8e-6
    candidates = [("as_right", 1.0 + 0.9e-6), ("slipped", 1.0 + 1.8e-6)]
    assert qx._first_slip(result, candidates, right) == "slipped"
    assert qx._first_slip(result, candidates[:1], right) is None
    assert qx._first_slip(np.array([result]), [("scalar", result)], np.array([right])) is None  # not its shape


# --------------------------------------------------------------------------- visible form checks
def test_a_zero_scale_is_refused_and_a_right_one_accepted():
    assert "returned 0.0: a scale is positive" in fails(qx.check_symmetric_scale_form, lambda w, bits: 0.0)
    assert qx.check_symmetric_scale_form(scale_by_hand) is None
    assert qx.check_per_channel_scales_form(channel_scales_by_hand) is None
    assert qx.check_per_channel_scales_form(lambda w, bits: np.ones(w.shape[-1], np.int64)) is None  # form only


@pytest.mark.parametrize("answer, concepts", [
    ([0.1] * 4, [r"^returned a list, not a numpy array"]),
    (np.ones((1, 1, 1, 4)), [r"^returned an array of shape \(1, 1, 1, 4\); return shape \(4,\)",
                             r"\(keepdims=True keeps the reduced axes: leave it out, or reshape to \(C,\)\)\.$"]),
    (np.ones(6), [r"^returned an array of shape \(6,\); return shape \(4,\)",
                  r"\(the maximum must run over every axis but the last, the output channel\)\.$"]),
    (np.array([0.1, np.inf, 0.1, 0.1]), [r"^returned an array holding nan or inf\.$"]),
    (np.array([1 + 2j] * 4), [r"^returned an array of dtype complex128; return an array of numbers\.$"]),
])
def test_per_channel_form_problems_read_as_sentences(answer, concepts):
    message = fails(qx.check_per_channel_scales_form, lambda w, bits: answer)
    assert_prose(_teaching(message), *concepts)


# --------------------------------------------------------------------------- cases
def test_a_case_shows_its_call_as_typed():
    bare = qx.Case((), (0.5, 2.0, 8))
    assert bare.where("f") == "f(0.5, 2.0, 8)"
    one = qx.Case((("w", ("normal", (5,), 1.0, 0.0)),), (8,), seed=3, edits=(("w", 3, 2.5),))
    where = one.where("symmetric_scale")
    assert where.startswith("symmetric_scale(w, 8), with w = ") and "()" not in where.split(" with ")[0]
    assert where.endswith("; w[3] = 2.5,")
    namespace = {"np": np}
    exec(one.recipe(), namespace)  # as a student would
    w, bits = one.build()
    assert w[3] == 2.5 and bits == 8 and np.array_equal(namespace["w"], w)


def test_random_scale_cases_stay_within_8_bits_however_many():
    cases = qx.symmetric_scale_cases(n_random=40)
    bits = {case.args[0] for case in cases}
    assert bits <= set(range(2, 9)) and {8, 6, 4} <= bits
    for case in cases:
        w, n = case.build()
        assert w.dtype == np.float32 and np.abs(w).max() > 0 and 2 <= n <= 8


def test_the_scale_cases_hold_what_their_notes_promise():
    def check(note, w, bits):
        largest_is_negative = abs(float(w.min())) > float(w.max())
        promises = {"every weight positive": w.min() > 0, "every weight negative": w.max() < 0,
                    "the largest magnitude is a negative weight": largest_is_negative,
                    "one large negative weight": largest_is_negative, "4 bits": bits == 4,
                    "2 bits": bits == 2, "as many inputs as channels": w.shape[0] == w.shape[-1],
                    "(kh, kw, Cin, Cout)": w.ndim == 4, "(inputs, units)": w.ndim == 2}
        kept = [held for words, held in promises.items() if words in note]
        assert kept and all(kept), (note, w.shape, bits)

    for cases in (qx.symmetric_scale_cases(), qx.per_channel_scales_cases()):
        for case in cases:
            if case.note and "dense layer's weights" not in case.note:
                check(case.note, *case.build())
    # per_channel_scales_cases promises channels of very different sizes: some case holds a
    # channel whose scale is over ten times smaller than another's.
    ratios = []
    for case in qx.per_channel_scales_cases():
        w, bits = case.build()
        scales = channel_scales_by_hand(w, bits)
        ratios.append(scales.max() / scales.min())
    assert max(ratios) > 10, ratios
