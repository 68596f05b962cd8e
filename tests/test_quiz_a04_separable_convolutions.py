"""Tests for efficientnn.quiz.a04_separable_convolutions: the checkers and questions of assignment 04.

The right implementations below are written from the definitions with plain numpy loops
(independently of efficientnn.layers), and every expected number is derived here from the
textbook formulas, so a slip in the package or in a checker would show.
"""
import re

import numpy as np
import pytest
from quiz_support import assert_message_rebuilds_last_call, assert_prose, fails, recording, side

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


# --------------------------------------------------------------------------- what the messages say
def _plus_one(fn):
    return lambda *args: fn(*args) + 1.0


@pytest.mark.parametrize("checker, right, name, arrays", [
    (lx.check_depthwise_conv, depthwise_conv, "depthwise_conv", ["x", "w"]),
    (lx.check_pointwise_conv, pointwise_conv, "pointwise_conv", ["x", "w"]),
    (lx.check_depthwise_conv_form, None, "depthwise_conv", ["x", "w"]),
    (lx.check_pointwise_conv_form, None, "pointwise_conv", ["x", "w"]),
])
def test_failure_messages_name_the_call_and_rebuild_its_inputs(checker, right, name, arrays):
    wrong = recording(_plus_one(right) if right else (lambda x, w: None))
    text = fails(checker, wrong)
    assert_message_rebuilds_last_call(text, name, wrong.calls[-1], arrays)


def test_form_checks_pass_matching_arrays():
    # The visible tests call with a kernel whose channels are x's (depthwise) and a (C, F) matrix (pointwise).
    seen = []

    def strict_depthwise(x, w):
        assert w.ndim == 3 and w.shape[2] == x.shape[3] and w.shape[0] <= x.shape[1] and w.shape[1] <= x.shape[2]
        seen.append((x.shape, w.shape))
        return depthwise_conv(x, w)

    lx.check_depthwise_conv_form(strict_depthwise)
    (x_shape, w_shape), = seen
    assert x_shape[0] > 1, "a batch of more than one shows a dropped batch axis"


def test_separable_pair_messages_name_the_composition_and_rebuild_the_inputs():
    calls = []

    def depthwise(x, w):
        calls.append((x.copy(), w.copy()))
        return depthwise_conv(x, w)

    text = fails(lx.check_separable, depthwise, lambda x, w: pointwise_conv(x, w) + 1.0)
    assert text.startswith("pointwise_conv(depthwise_conv(x, w_dw), w_pw)")
    x, w_dw = calls[-1]
    from quiz_support import rebuilt
    namespace = rebuilt(text)
    np.testing.assert_array_equal(namespace["x"], x)
    np.testing.assert_array_equal(namespace["w_dw"], w_dw)
    assert namespace["w_pw"].shape[0] == x.shape[3]
    assert re.search(r"depthwise_conv is", fails(lx.check_separable, 3, pointwise_conv))
    assert re.search(r"pointwise_conv is", fails(lx.check_separable, depthwise_conv, 3))


def test_separable_pair_that_borrows_the_layers_is_refused():
    from efficientnn.layers import DepthwiseConv2D

    def borrowed(x, w):
        layer = DepthwiseConv2D(w.shape[:2], use_bias=False)
        layer.build(x.shape[1:])
        layer.params["W"] = w[..., None]
        return layer.forward(x)

    assert re.search(r"depthwise_conv .*DepthwiseConv2D", fails(lx.check_separable, borrowed, pointwise_conv))
    assert lx.check_separable(borrowed, pointwise_conv, allow_reference=True) is None


def test_pointwise_on_input_message_names_the_call():
    def on_input(s, k, f):
        return side(s[0], k) * side(s[1], k) * s[2] * k * k + s[0] * s[1] * s[2] * f

    text = fails(lx.check_separable_macs, on_input)
    assert text.startswith("separable_macs(input_shape=(10, 10, 3), kernel_size=3, filters=8) returned")
    assert re.search(r"depthwise output", text)


def test_separable_macs_cases_are_valid_layers():
    for case in lx.separable_macs_cases():
        (h, w, c), k, f = case.args
        assert h >= k and w >= k and c >= 1 and f >= 1
        assert case.question.layer.kind == "separable"


def test_random_cases_are_valid_inputs():
    for case in lx._depthwise_cases():
        (_, x_shape, _), (_, w_shape, _) = case.arrays
        assert x_shape[0] >= 1 and x_shape[1] >= w_shape[0] >= 1 and x_shape[2] >= w_shape[1] >= 1
        assert w_shape[2] == x_shape[3] >= 1
    for case in lx._pointwise_cases():
        (_, x_shape, _), (_, w_shape, _) = case.arrays
        assert min(x_shape) >= 1 and w_shape[0] == x_shape[3] and w_shape[1] >= 1


def test_separable_questions_are_named_and_worded():
    qs = lx.separable_questions()
    for key, q in qs.items():
        assert q.name == key
    from efficientnn.models import base_cnn_separable
    from efficientnn.quiz.questions import describe_model

    head = f"base_cnn_separable: {describe_model(base_cnn_separable())}. "
    prompt = qs["sepconv2_params"].prompt()
    assert prompt.startswith(head)
    assert_prose(prompt[len(head):], r"depthwise convolution without bias", r"one bias per filter",
                 r"trainable parameters", r"sepconv2")


def test_pointwise_form_check_passes_a_matrix_that_fits_x():
    seen = []

    def strict_pointwise(x, w):
        assert w.ndim == 2 and w.shape[0] == x.shape[3], "w is (C, F)"
        seen.append((x.shape, w.shape))
        return pointwise_conv(x, w)

    lx.check_pointwise_conv_form(strict_pointwise)
    (x_shape, w_shape), = seen
    assert x_shape[0] > 1 and w_shape[1] != w_shape[0], "a batch of several; F differs from C, so C and F tell apart"


# --------------------------------------------------------------------------- the graded inputs are pinned
from quiz_support import fingerprint  # noqa: E402


def _recorded(check, fn, *more):
    fn = recording(fn)
    try:
        check(fn, *more)
    except AssertionError:
        pass
    return fn.calls


def test_graded_and_visible_inputs_are_the_ones_students_were_graded_on():
    # See quiz_support.fingerprint: a change to these inputs must be deliberate.
    cases = lambda cs: [(c.arrays, c.kwargs, c.seed, c.note, c.positional) for c in cs]  # noqa: E731
    assert fingerprint(cases(lx._depthwise_cases())) == "8a47fa9a257c7c6a"
    assert fingerprint(cases(lx._pointwise_cases())) == "5588ce56643d6580"
    assert fingerprint([(c.args, c.kwargs, c.note) for c in lx.separable_macs_cases()]) == "3e710e384fe56484"
    assert fingerprint(_recorded(lx.check_depthwise_conv_form, lambda x, w: None)) == "afa21ed1fa1d5ad5"
    assert fingerprint(_recorded(lx.check_pointwise_conv_form, lambda x, w: None)) == "518cecea0b14e0e1"
    pair = _recorded(lambda fn: lx.check_separable(fn, pointwise_conv), depthwise_conv)
    assert len(pair) == 3 and fingerprint(pair) == SEPARABLE_PAIR_INPUTS


SEPARABLE_PAIR_INPUTS = "b06d9ce5f56e8bd7"


def test_the_layers_are_refused_by_default():
    from efficientnn.layers import Conv2D, DepthwiseConv2D

    def depthwise_borrowed(x, w):
        layer = DepthwiseConv2D(w.shape[:2], use_bias=False)
        layer.build(x.shape[1:])
        layer.params["W"] = w[..., None]
        return layer.forward(x)

    def pointwise_borrowed(x, w):
        layer = Conv2D(w.shape[1], 1, use_bias=False)
        layer.build(x.shape[1:])
        layer.params["W"] = w[None, None]
        return layer.forward(x)

    assert re.search(r"DepthwiseConv2D", fails(lx.check_depthwise_conv, depthwise_borrowed))
    assert lx.check_depthwise_conv(depthwise_borrowed, allow_reference=True) is None
    assert re.search(r"Conv2D", fails(lx.check_pointwise_conv, pointwise_borrowed))
    assert lx.check_pointwise_conv(pointwise_borrowed, allow_reference=True) is None


def test_one_kernel_for_all_is_named_on_two_channels():
    def first_kernel_on_two_channels(x, w):
        if w.shape[2] != 2:
            return depthwise_conv(x, w)
        return depthwise_conv(x, np.repeat(w[:, :, :1], 2, axis=2))

    assert re.search(r"first channel's kernel", fails(lx.check_depthwise_conv, first_kernel_on_two_channels))


def test_pointwise_messages_name_pointwise_conv():
    text = fails(lx.check_pointwise_conv, lambda x, w: x @ w + 1.0)
    assert text.startswith("pointwise_conv(x, w)")
    assert re.search(r"shifted by a constant", text)


def test_separable_ratio_question_is_the_documented_layer():
    # Documented (module docstring and the notebook): 3x3, 56x56x32 in, 64 filters, "same" padding.
    prompt = lx.separable_questions()["separable_ratio"].prompt()
    assert_prose(prompt, r"a 3x3 depthwise convolution", r"with 64 filters", r'"same" padding',
                 r"a 56x56x32 input \(HxWxD\)", r"a number below 1\)\.$")


def test_separable_pair_refusal_and_failure_messages():
    from efficientnn.layers import DepthwiseConv2D

    def borrowed(x, w):
        layer = DepthwiseConv2D(w.shape[:2], use_bias=False)
        layer.build(x.shape[1:])
        layer.params["W"] = w[..., None]
        return layer.forward(x)

    assert fails(lx.check_separable, borrowed, pointwise_conv) == (
        "depthwise_conv uses efficientnn's DepthwiseConv2D, the layer it is graded against: write it with numpy "
        "operations.")
    text = fails(lx.check_separable, depthwise_conv, lambda x, w: pointwise_conv(x, w) + 1.0)
    assert text.startswith("pointwise_conv(depthwise_conv(x, w_dw), w_pw) (two channels in, four out), with x = ")


def test_separable_macs_messages_name_the_call_on_every_path():
    def one_more(s, k, f):
        return separable_macs(s, k, f) + 1

    assert fails(lx.check_separable_macs, one_more).startswith(
        "separable_macs(input_shape=(10, 10, 3), kernel_size=3, filters=8) returned ")

    def raises(s, k, f):
        raise KeyError("oops")

    assert fails(lx.check_separable_macs, raises).startswith(
        "separable_macs(input_shape=(10, 10, 3), kernel_size=3, filters=8) raised KeyError")


def test_pointwise_on_input_is_named_after_a_1x1_case_too():
    # A 1x1 kernel keeps the height and width, so the slip equals the answer there; later cases still count.
    def on_input_for_5x5(s, k, f):
        if k != 5:
            return separable_macs(s, k, f)
        return side(s[0], k) * side(s[1], k) * s[2] * k * k + s[0] * s[1] * s[2] * f

    assert re.search(r"depthwise output", fails(lx.check_separable_macs, on_input_for_5x5))
