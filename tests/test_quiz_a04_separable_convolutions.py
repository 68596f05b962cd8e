"""Tests for efficientnn.quiz.a04_separable_convolutions: the checkers and questions of assignment 04.

The right implementations below are written from the definitions with plain numpy loops
(independently of efficientnn.layers), and every expected number is derived here from the
textbook formulas, so a slip in the package or in a checker would show.
"""
import numpy as np
import pytest
from quiz_support import fails, side

from efficientnn.quiz import SLIP_MESSAGES, check
from efficientnn.quiz import a04_separable_convolutions as lx
from efficientnn.quiz.a04_separable_convolutions import SEPARABLE_SLIP_MESSAGES
from efficientnn.quiz.harness import ARRAY_SLIP_MESSAGES

MSG = {**ARRAY_SLIP_MESSAGES, **SEPARABLE_SLIP_MESSAGES}


# --------------------------------------------------------------------------- right implementations
def depthwise_conv(x, w):
    kh, kw, c = w.shape
    n, h, wd, _ = x.shape
    ho, wo = h - kh + 1, wd - kw + 1
    out = np.zeros((n, ho, wo, c), dtype=np.float32)
    for i in range(ho):
        for j in range(wo):
            out[:, i, j, :] = np.einsum("nabc,abc->nc", x[:, i : i + kh, j : j + kw, :], w)
    return out



def pointwise_conv(x, w):
    n, h, wd, c = x.shape
    out = np.zeros((n, h, wd, w.shape[1]), dtype=np.float32)
    for f in range(w.shape[1]):
        for ch in range(c):
            out[..., f] += x[..., ch] * w[ch, f]
    return out



def separable_macs(input_shape, kernel_size, filters):
    h, w, c = input_shape
    ho, wo = side(h, kernel_size), side(w, kernel_size)
    return ho * wo * c * kernel_size * kernel_size + ho * wo * c * filters



# --------------------------------------------------------------------------- depthwise and pointwise
def test_right_depthwise_and_pointwise_pass():
    assert lx.check_depthwise_conv(depthwise_conv) is None
    assert lx.check_pointwise_conv(pointwise_conv) is None
    assert lx.check_separable(depthwise_conv, pointwise_conv) is None


@pytest.mark.parametrize("slipped, message", [
    (lambda x, w: depthwise_conv(x, w[::-1, ::-1]), MSG["kernel_flipped"]),
    (lambda x, w: depthwise_conv(x, w.transpose(1, 0, 2)), MSG["kernel_transposed"]),
    (lambda x, w: depthwise_conv(x, np.repeat(w[:, :, :1], w.shape[2], axis=2)), MSG["one_kernel_for_all"]),
    (lambda x, w: depthwise_conv(x, w).sum(axis=-1, keepdims=True), MSG["summed_over_channels"]),
    (lambda x, w: depthwise_conv(x, w)[:, :-1, :-1, :], SLIP_MESSAGES["plus_one_missing"]),
    (lambda x, w: depthwise_conv(x, w) + 0.5, MSG["bias_like_shift"]),
])
def test_depthwise_slips_are_named(slipped, message):
    assert message in fails(lx.check_depthwise_conv, slipped)


def test_depthwise_summed_over_channels_without_a_channel_axis():
    text = fails(lx.check_depthwise_conv, lambda x, w: depthwise_conv(x, w).sum(axis=-1))
    assert "3 axes" in text or MSG["summed_over_channels"] in text


def test_depthwise_cases_include_non_square_kernels_and_many_channels():
    cases = lx._depthwise_cases()
    kernels = [c.arrays[1][1] for c in cases]
    assert any(kh != kw for kh, kw, _ in kernels) and any(ch > 1 for *_, ch in kernels)


@pytest.mark.parametrize("slipped, message", [
    (lambda x, w: x @ w.T if w.shape[0] == w.shape[1] else x @ w, MSG["weights_transposed"]),
    (lambda x, w: x, SLIP_MESSAGES["depth_from_input"]),
])
def test_pointwise_slips_are_named(slipped, message):
    assert message in fails(lx.check_pointwise_conv, slipped)


def test_pointwise_that_cannot_multiply_reports_the_error():
    assert "raised ValueError" in fails(lx.check_pointwise_conv, lambda x, w: x @ w.T)


def test_separable_pair_must_give_the_standard_conv_shape():
    text = fails(lx.check_separable, lambda x, w: x, pointwise_conv)
    assert "pointwise_conv(depthwise_conv(x, w_dw), w_pw)" in text
    assert SLIP_MESSAGES["padding_assumed"] in text
    assert "not a function" in fails(lx.check_separable, None, pointwise_conv)


def test_form_checks_of_depthwise_and_pointwise():
    assert lx.check_depthwise_conv_form(depthwise_conv) is None
    assert lx.check_pointwise_conv_form(pointwise_conv) is None
    assert lx.check_pointwise_conv_form(lambda x, w: x) is None  # wrong but well formed
    assert "returned a tuple" in fails(lx.check_depthwise_conv_form, lambda x, w: (x, w))


# --------------------------------------------------------------------------- separable_macs
def test_right_separable_macs_passes():
    assert lx.check_separable_macs(separable_macs) is None


def test_separable_macs_cases_match_the_formula():
    for case in lx.separable_macs_cases():
        from efficientnn.quiz.questions import expected

        assert expected(case.question) == separable_macs(*case.args)


@pytest.mark.parametrize("slipped, message", [
    (lambda s, k, f: side(s[0], k) * side(s[1], k) * s[2] * k * k, SLIP_MESSAGES["pointwise_left_out"]),
    (lambda s, k, f: side(s[0], k) * side(s[1], k) * s[2] * f, SLIP_MESSAGES["depthwise_left_out"]),
    (lambda s, k, f: side(s[0], k) * side(s[1], k) * f * k * k * s[2], SLIP_MESSAGES["standard_conv_counted"]),
    (lambda s, k, f: 2 * separable_macs(s, k, f), SLIP_MESSAGES["flops_for_macs"]),
    (lambda s, k, f: side(s[0], k) * side(s[1], k) * s[2] * k * k + s[0] * s[1] * s[2] * f,
     MSG["pointwise_on_input"]),
])
def test_separable_macs_slips_are_named(slipped, message):
    text = fails(lx.check_separable_macs, slipped)
    assert message in text
    shape, k, f = (10, 10, 3), 3, 8  # the first case
    right = separable_macs(shape, k, f)
    assert f"{right:,}" not in text and f" {right} " not in text and f"{right}," not in text


def test_separable_macs_garbage():
    assert "returned None" in fails(lx.check_separable_macs, lambda s, k, f: None)
    assert "returned str" in fails(lx.check_separable_macs, lambda s, k, f: "many")


# --------------------------------------------------------------------------- questions
def test_separable_questions():
    qs = lx.separable_questions()
    ratio = 1 / 64 + 1 / 9
    assert check(qs["separable_ratio"], round(ratio, 4)).correct
    assert check(qs["separable_ratio"], 1 / ratio).slip == "ratio_inverted"
    params = 3 * 3 * 5 + 5 * 5 + 5  # depthwise (no bias) + pointwise + one bias per filter
    assert check(qs["sepconv2_params"], params).correct
    assert check(qs["sepconv2_params"], params - 5).slip == "bias_forgotten"
    assert str(params) not in qs["sepconv2_params"].prompt()
