"""The function checkers of assignment 01 (efficientnn.quiz.a01_measuring_cost)."""
import re

import numpy as np
import pytest
from quiz_support import assert_prose, fails, side

from efficientnn import cost, shapes
from efficientnn.quiz import SLIP_MESSAGES, LayerSpec
from efficientnn.quiz.questions import expected
from efficientnn.quiz.a01_measuring_cost import (CONV_CASE_SETS, check_conv_flops, check_conv_macs, check_dense_macs,
                                                 check_output_shape, conv_cases, dense_cases)


# --------------------------------------------------------------------------- reference functions
def ref_output_shape(input_shape, kernel_size, filters, stride=1, padding=0):
    return shapes.conv_output_shape(input_shape, kernel_size, filters, stride, padding)


def ref_conv_macs(input_shape, kernel_size, filters, stride=1, padding=0):
    return cost.conv2d_macs(input_shape, kernel_size, filters, stride, padding)


def ref_conv_flops(input_shape, kernel_size, filters, stride=1, padding=0):
    return cost.flops_from_macs(ref_conv_macs(input_shape, kernel_size, filters, stride, padding))


def _side(n, k, s, p):
    return (n + 2 * p - k) // s + 1


# --------------------------------------------------------------------------- slipped functions
def shape_no_plus_one(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, _ = input_shape
    return ((h + 2 * padding - kernel_size) // stride, (w + 2 * padding - kernel_size) // stride, filters)


def shape_depth_subtracted(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, c = input_shape
    return (h - c + 1, w - c + 1, filters)


def shape_stride_ignored(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, _ = input_shape
    return (_side(h, kernel_size, 1, padding), _side(w, kernel_size, 1, padding), filters)


def shape_padding_ignored(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, _ = input_shape
    return (_side(h, kernel_size, stride, 0), _side(w, kernel_size, stride, 0), filters)


def shape_depth_from_input(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, c = input_shape
    return (_side(h, kernel_size, stride, padding), _side(w, kernel_size, stride, padding), c)


def shape_channels_first(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, _ = ref_output_shape(input_shape, kernel_size, filters, stride, padding)
    return (filters, h, w)


def macs_as_flops(*args, **kwargs):
    return ref_conv_flops(*args, **kwargs)


def macs_depth_left_out(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, _ = ref_output_shape(input_shape, kernel_size, filters, stride, padding)
    return h * w * filters * kernel_size * kernel_size


def macs_one_filter(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, _ = ref_output_shape(input_shape, kernel_size, filters, stride, padding)
    return h * w * kernel_size * kernel_size * input_shape[2]


def macs_padding_ignored(input_shape, kernel_size, filters, stride=1, padding=0):
    return ref_conv_macs(input_shape, kernel_size, filters, stride, 0)


def macs_bias_counted(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, f = ref_output_shape(input_shape, kernel_size, filters, stride, padding)
    return ref_conv_macs(input_shape, kernel_size, filters, stride, padding) + h * w * f


def flops_as_macs(*args, **kwargs):
    return ref_conv_macs(*args, **kwargs)


def flops_no_plus_one(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, f = shape_no_plus_one(input_shape, kernel_size, filters, stride, padding)
    return 2 * h * w * f * kernel_size * kernel_size * input_shape[2]


SLIPS = [
    (check_output_shape, shape_no_plus_one, "plus_one_missing"),
    (check_output_shape, shape_depth_subtracted, "depth_subtracted"),
    (check_output_shape, shape_stride_ignored, "stride_ignored"),
    (check_output_shape, shape_padding_ignored, "padding_ignored"),
    (check_output_shape, shape_depth_from_input, "depth_from_input"),
    (check_output_shape, shape_channels_first, "channels_first"),
    (check_conv_macs, macs_as_flops, "flops_for_macs"),
    (check_conv_macs, macs_depth_left_out, "input_depth_left_out"),
    (check_conv_macs, macs_one_filter, "filters_left_out"),
    (check_conv_macs, macs_padding_ignored, "padding_ignored"),
    (check_conv_macs, macs_bias_counted, "bias_counted"),
    (check_conv_flops, flops_as_macs, "macs_for_flops"),
    (check_conv_flops, flops_no_plus_one, "plus_one_missing"),
    (check_dense_macs, lambda i, o: 2 * i * o, "flops_for_macs"),
    (check_dense_macs, lambda i, o: i * o + o, "bias_counted"),
]

CASES_OF = {
    check_output_shape: lambda: conv_cases("output_shape"),
    check_conv_macs: lambda: conv_cases("macs"),
    check_conv_flops: lambda: conv_cases("flops"),
    check_dense_macs: dense_cases,
}


def _first_mismatch(checker, fn):
    """The first case on which ``fn`` disagrees with the reference answer, and what fn returned."""
    for case in CASES_OF[checker]():
        got = fn(*case.args, **case.kwargs)
        if tuple(np.atleast_1d(got)) != tuple(np.atleast_1d(expected(case.question))):
            return case, got
    raise AssertionError("the slipped function agrees with the reference on every case")


def _written(value) -> list[str]:
    """Ways the expected value could appear in a message."""
    if isinstance(value, tuple):
        return [repr(value), "x".join(map(str, value)), str(list(value))]
    return [rf"(?<![\d,]){value}(?!\d)", rf"(?<![\d,]){value:,}(?!\d)"]


# --------------------------------------------------------------------------- right functions pass
@pytest.mark.parametrize("checker, fn", [
    (check_output_shape, ref_output_shape),
    (check_conv_macs, ref_conv_macs),
    (check_conv_flops, ref_conv_flops),
    (check_dense_macs, cost.dense_macs),
])
def test_reference_functions_pass(checker, fn):
    assert checker(fn) is None  # None: a hidden-test cell ending with it is all-or-nothing


def test_returns_as_numpy_values_or_lists_are_accepted():
    check_output_shape(lambda *a, **k: np.array(ref_output_shape(*a, **k)))
    check_output_shape(lambda *a, **k: list(ref_output_shape(*a, **k)))
    check_conv_macs(lambda *a, **k: np.int64(ref_conv_macs(*a, **k)))
    check_dense_macs(lambda i, o: float(i * o))  # a whole float, e.g. from a `/` that divides evenly


@pytest.mark.parametrize("cases", ["basic", "stride_padding"])
def test_case_sets_check_only_their_part(cases):
    # Ignoring stride and padding passes the basic set and fails the other.
    if cases == "basic":
        check_output_shape(shape_stride_ignored, cases="basic")
        check_conv_macs(macs_padding_ignored, cases="basic")
    else:
        with pytest.raises(AssertionError):
            check_output_shape(shape_stride_ignored, cases=cases)
        with pytest.raises(AssertionError):
            check_conv_macs(macs_padding_ignored, cases=cases)


# --------------------------------------------------------------------------- slips are named
@pytest.mark.parametrize("checker, fn, slip", SLIPS, ids=[f"{c.__name__}-{s}" for c, _, s in SLIPS])
def test_slip_is_diagnosed_on_the_first_mismatch(checker, fn, slip):
    case, got = _first_mismatch(checker, fn)
    with pytest.raises(AssertionError) as err:
        checker(fn)
    message = str(err.value)
    assert SLIP_MESSAGES[slip] in message
    assert message.startswith(checker.__name__.removeprefix("check_") + "(")
    for arg in case.args:  # the message names the call's inputs...
        assert repr(arg) in message
    assert f"returned {got!r}" in message or f"returned {tuple(got)!r}" in message


@pytest.mark.parametrize("checker, fn, slip", SLIPS, ids=[f"{c.__name__}-{s}" for c, _, s in SLIPS])
def test_message_never_holds_the_expected_value(checker, fn, slip):
    case, _ = _first_mismatch(checker, fn)
    with pytest.raises(AssertionError) as err:
        checker(fn)
    # Before " returned " the message shows the call's inputs; after it, the student's value and
    # the teaching text, where the right answer must not appear.
    after_call = str(err.value).split(" returned ", 1)[1]
    right = expected(case.question)
    for form in _written(right):
        if isinstance(right, tuple):
            assert form not in after_call
        else:
            assert not re.search(form, after_call), (form, after_call)


# --------------------------------------------------------------------------- broken functions
@pytest.mark.parametrize("fn, words", [
    (lambda *a, **k: 1 / 0, "raised ZeroDivisionError"),
    (lambda *a, **k: None, "returned None"),
    (lambda *a, **k: "26x26x5", "returned a string"),
    (lambda *a, **k: (1, 2), "return three"),
    (lambda *a, **k: (1.5, 2, 3), "whole numbers"),
    (lambda *a, **k: 7, "return a tuple"),
    (lambda input_shape, kernel_size, filters: ref_output_shape(input_shape, kernel_size, filters),
     "unexpected keyword argument 'stride'"),
])
def test_broken_output_shape_gets_a_clear_message(fn, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_output_shape(fn)


@pytest.mark.parametrize("fn, words", [
    (lambda *a, **k: None, "is a `return` missing"),
    (lambda *a, **k: "123", "return a number"),
    (lambda *a, **k: True, "return a number"),
    (lambda *a, **k: 12.5, "not a whole number"),
    (lambda *a, **k: float("nan"), "whole number"),
    (lambda *a, **k: [1], "return a number"),
])
def test_broken_count_gets_a_clear_message(fn, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_conv_macs(fn)


def test_stub_gets_told_to_replace_the_raise():
    def dense_macs(in_units, out_units):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match=r"replace the `raise NotImplementedError\(\)` line"):
        check_dense_macs(dense_macs)


def test_not_a_function_is_named():
    with pytest.raises(AssertionError, match="not a function"):
        check_dense_macs(42)


# --------------------------------------------------------------------------- the cases themselves
@pytest.mark.parametrize("cases", CONV_CASE_SETS)
def test_conv_cases_are_valid_layers_and_reproducible(cases):
    first, again = conv_cases("macs", cases), conv_cases("macs", cases)
    assert [(c.args, c.kwargs) for c in first] == [(c.args, c.kwargs) for c in again]
    for case in first:
        shape, k, f = case.args
        stride, padding = case.kwargs.get("stride", 1), case.kwargs.get("padding", 0)
        assert case.question.layer == LayerSpec("conv", shape, kernel_size=k, filters=f, stride=stride, padding=padding)
        assert expected(case.question) == ref_conv_macs(shape, k, f, stride, padding)


def test_case_sets_cover_what_they_say():
    basic, strided = conv_cases("output_shape", "basic"), conv_cases("output_shape", "stride_padding")
    assert all(not c.kwargs for c in basic)
    assert any(c.kwargs["stride"] > 1 for c in strided) and any(c.kwargs["padding"] > 0 for c in strided)
    assert any(c.args[0][0] != c.args[0][1] for c in basic), "a non-square input catches swapped axes"
    assert any(expected(c.question)[:2] == (1, 1) for c in basic), "a kernel as large as the input"
    assert len(conv_cases("output_shape", "all")) == len(basic) + len(strided)


def test_unknown_case_set_is_refused():
    with pytest.raises(ValueError, match="cases must be one of"):
        conv_cases("macs", "everything")


# --------------------------------------------------------------------------- Question 3: FLOPs / FLOPS
from pathlib import Path  # noqa: E402

import nbformat  # noqa: E402

from efficientnn.quiz import check, grade  # noqa: E402
from efficientnn.quiz.a01_measuring_cost import InferenceTimeQuestion, inference_time_question  # noqa: E402

# The question's numbers, written here to compute the expected values independently of efficientnn.
_MACS, _GFLOPS = 60e6, 25.0
_RIGHT_MS = 2 * _MACS / (_GFLOPS * 1e9) * 1000  # FLOPs / FLOPS, seconds to ms


def test_inference_time_question_has_the_stated_numbers_and_the_formula():
    q = inference_time_question()
    assert (q.macs, q.flops_per_second, q.unit) == (_MACS, _GFLOPS * 1e9, "ms")
    assert q.expected() == pytest.approx(_RIGHT_MS, rel=1e-12)
    assert InferenceTimeQuestion(1_000, 1e6, "µs").expected() == pytest.approx(2 * 1_000 / 1e6 * 1e6)


def test_notebook_states_the_question_the_checker_grades():
    nb = nbformat.read(Path(__file__).resolve().parents[1] / "source/01-measuring-cost/01-measuring-cost.ipynb",
                       as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert inference_time_question().prompt() in text


@pytest.mark.parametrize("answer", [_RIGHT_MS, f"{_RIGHT_MS:g}", f"{_RIGHT_MS:g} ms", f"{_RIGHT_MS * 1000:g} µs",
                                    f"{_RIGHT_MS * 1000:g} us", f"{_RIGHT_MS / 1000:g} s", f"~{_RIGHT_MS:.3g}",
                                    _RIGHT_MS * 1.009])
def test_right_inference_time_is_accepted(answer):
    verdict = check(inference_time_question(), answer)
    assert verdict.correct and verdict.points == 1.0, (answer, verdict.message)


_TIME_SLIPS = {
    "time_from_macs": _MACS / (_GFLOPS * 1e9) * 1000,
    "rate_inverted": (_GFLOPS * 1e9) / (2 * _MACS),                       # images per second, read as ms
    "time_units": 2 * _MACS / (_GFLOPS * 1e9),                            # left in seconds
    "time_units+µs": 2 * _MACS / (_GFLOPS * 1e9) * 1e6,                   # given in µs
    "time_units+mega": 2 * _MACS / (_GFLOPS * 1e6) * 1000,                # giga read as mega
    "time_from_macs+time_units": _MACS / (_GFLOPS * 1e9),                 # MACs, and seconds
}


def test_inference_time_slips_are_distinct_from_each_other_and_the_answer():
    values = {"answer": _RIGHT_MS, **_TIME_SLIPS}
    close = {(a, b) for a in values for b in values
             if a < b and abs(values[a] - values[b]) <= 0.05 * max(values[a], values[b])}
    # only giga read as mega and the answer in µs coincide: both a factor of 1000, with the same advice
    assert close == {("time_units+mega", "time_units+µs")}
    candidates = [v for _, v in inference_time_question().slip_candidates()]
    assert len(candidates) >= 10 and all(abs(v - _RIGHT_MS) > 0.05 * _RIGHT_MS for v in candidates)


@pytest.mark.parametrize("label, value", _TIME_SLIPS.items())
def test_inference_time_slip_is_named_without_the_answer(label, value):
    verdict = check(inference_time_question(), value)
    assert not verdict.correct and verdict.points == 0.0
    assert verdict.slip == label.split("+µs")[0].split("+mega")[0], verdict.message
    assert f"{_RIGHT_MS:g}" not in verdict.message and f"{_RIGHT_MS:.3g}" not in verdict.message
    assert all(part in SLIP_MESSAGES for part in verdict.slip.split("+"))


def test_inference_time_rounding_follows_the_ratio_rule():
    q = inference_time_question()
    assert check(q, _RIGHT_MS * 1.02).slip == "close_time"  # 2 % off: not a rounding
    assert not check(q, _RIGHT_MS * 1.3).correct and check(q, _RIGHT_MS * 1.3).slip is None


@pytest.mark.parametrize("answer, slip", [("4.8 hours", "format"), ("fast", "format"), (None, "no_answer"),
                                         ("", "no_answer")])
def test_unreadable_inference_time_gets_a_clear_message(answer, slip):
    verdict = check(inference_time_question(), answer)
    assert verdict.slip == slip and not verdict.correct
    if slip == "format":
        assert "ms" in verdict.message


def test_inference_time_grade_scales_and_reveals_only_on_request():
    q = inference_time_question()
    assert grade(q, _RIGHT_MS, points=2).points == 2.0
    assert check(q, 1.0).expected is None
    assert check(q, 1.0, reveal=True).expected == pytest.approx(_RIGHT_MS)
    with pytest.raises(ValueError, match="unit"):
        InferenceTimeQuestion(1_000, 1e9, "hours")


# --------------------------------------------------------------------------- Question 3: every reading and message
def test_inference_time_messages_say_their_concept():
    q = inference_time_question()
    assert check(q, _RIGHT_MS).message == "Correct."
    fmt = check(q, "4.8 hours")
    assert_prose(fmt.message, r"Give the time in ms, e\.g\. 12\.5 or \"12\.5 ms\"\.$")
    unknown = check(q, _RIGHT_MS * 1.3)
    assert_prose(unknown.message, r"^Not yet\. Work out the FLOPs first \(2 per MAC\)", r"divide them by the FLOPS",
                 r"seconds\.$")
    assert_prose(check(q, _RIGHT_MS * 1.02).message, r"^Not yet\. Close", r"1%")
    both = check(q, _TIME_SLIPS["time_from_macs+time_units"])
    assert_prose(both.message, r"^Not yet\. ", r"MACs were divided by the FLOPS", r"factor of a thousand")
    assert check(q, _RIGHT_MS * 1.3, reveal=True).points == 0.0


@pytest.mark.parametrize("factor, slip", [(1.0, "rate_inverted"), (1e3, "rate_inverted"), (1e-3, "rate_inverted")])
def test_images_per_second_read_as_a_time_in_any_unit_is_named(factor, slip):
    images_per_second = (_GFLOPS * 1e9) / (2 * _MACS)
    assert check(inference_time_question(), images_per_second * factor).slip == slip


@pytest.mark.parametrize("factor", [1.0, 1e3, 1e-3])
def test_inverted_formula_with_macs_is_named(factor):
    per_mac = (_GFLOPS * 1e9) / _MACS
    assert check(inference_time_question(), per_mac * factor).slip == "time_from_macs+rate_inverted"


@pytest.mark.parametrize("factor", [1e3, 1e-3, 1e6, 1e-6])
def test_unit_slips_of_the_time_and_of_the_macs_time_are_named(factor):
    q = inference_time_question()
    assert check(q, _RIGHT_MS * factor).slip == "time_units"
    assert check(q, _MACS / (_GFLOPS * 1e9) * 1000 * factor).slip == "time_from_macs+time_units"


def test_a_microsecond_question_reads_every_unit():
    q = InferenceTimeQuestion(3_000_000, 2e9, "µs", name="tiny")
    right_us = 2 * 3_000_000 / 2e9 * 1e6  # 3000 µs
    assert q.expected() == pytest.approx(right_us)
    for answer in [right_us, f"{right_us:g} µs", f"{right_us:g} us", f"{right_us / 1000:g} ms",
                   f"{right_us / 1e6:g} s", f"{right_us * 1000:g} ns", f"{right_us:g}μs"]:
        assert check(q, answer).correct, answer
    assert check(q, "3 ms").correct and not check(q, "3 s").correct
    assert check(q, "ms").slip == "format"
    assert_prose(check(q, "ms").message, r"Give the time in µs")
    assert "million MACs" in q.prompt() and "in µs." in q.prompt()
    assert q.prompt().startswith("A model performs 3 million MACs for one image, on a machine that runs 2 GFLOPS.")


def test_inference_time_question_refuses_bad_numbers():
    with pytest.raises(ValueError):
        InferenceTimeQuestion(1_000, 0.0)
    with pytest.raises(ValueError):
        InferenceTimeQuestion(-5, 1e9)


def test_conv_cases_say_stride_and_padding_only_when_used():
    for case in conv_cases("output_shape", "all"):
        shape, k, f = case.args
        s, p = case.question.layer.stride, case.question.layer.padding
        s = s[0] if isinstance(s, tuple) else s
        p = p[0] if isinstance(p, tuple) else p
        assert case.kwargs == ({} if (s, p) == (1, 0) else {"stride": s, "padding": p})
        assert side(shape[0], k, s, p) >= 1 and side(shape[1], k, s, p) >= 1, "every case is a valid layer"
        assert min(shape) >= 1 and f >= 1 and k >= 1


def test_random_conv_cases_cover_what_the_fixed_ones_do_not():
    random_basic = conv_cases("macs", "basic")[7:]
    random_strided = conv_cases("macs", "stride_padding")[8:]
    assert len(random_basic) == len(random_strided) == 6
    assert all(not c.kwargs for c in random_basic)
    assert len({c.args for c in random_basic + random_strided}) == 12, "drawn, not repeated"
    assert conv_cases("macs", "all", n_random=0) == conv_cases("macs", "basic", n_random=0) + conv_cases(
        "macs", "stride_padding", n_random=0)
    other = conv_cases("macs", "all", seed=1)
    assert [c.args for c in other] != [c.args for c in conv_cases("macs", "all")]
    assert len(dense_cases(n_random=3)) == 6 + 3
    assert dense_cases(seed=5)[6:] != dense_cases()[6:]
    for case in dense_cases():
        i, o = case.args
        assert i >= 1 and o >= 1 and case.question.layer.units == o and case.question.layer.input_shape == (i,)


def test_graded_inputs_are_the_ones_students_were_graded_on():
    # See quiz_support.fingerprint: a change to these inputs must be deliberate.
    from quiz_support import fingerprint

    calls = lambda cases: [(c.args, c.kwargs, c.note) for c in cases]  # noqa: E731
    assert {s: fingerprint(calls(conv_cases("macs", s))) for s in CONV_CASE_SETS} == {
        "basic": "e74a7a83b17c6adb", "stride_padding": "1186e816e2f52002", "all": "72ccff4c8ecb8219"}
    assert fingerprint(calls(dense_cases())) == "6854cf7b21672ef4"


def test_messages_name_each_call_by_its_arguments():
    def plus_one(fn):
        return lambda *a, **k: fn(*a, **k) + 1

    assert fails(check_conv_macs, plus_one(ref_conv_macs)).startswith(
        "conv_macs(input_shape=(9, 9, 2), kernel_size=3, filters=4) returned ")
    assert fails(check_conv_flops, plus_one(ref_conv_flops)).startswith(
        "conv_flops(input_shape=(9, 9, 2), kernel_size=3, filters=4) returned ")
    assert fails(check_dense_macs, plus_one(cost.dense_macs)).startswith(
        "dense_macs(in_units=784, out_units=10) returned ")
    assert fails(check_output_shape, lambda *a, **k: (1, 1, 1)).startswith(
        "output_shape(input_shape=(9, 9, 2), kernel_size=3, filters=4) returned ")


def test_messages_carry_the_case_note():
    def wrong_when_not_square(input_shape, kernel_size, filters, stride=1, padding=0):
        right = ref_conv_macs(input_shape, kernel_size, filters, stride, padding)
        return right + (input_shape[0] != input_shape[1])

    assert re.search(r"^conv_macs\(input_shape=\(12, 10, 2\), kernel_size=3, filters=4\) \(height and width differ\)",
                     fails(check_conv_macs, wrong_when_not_square))
    with pytest.raises(ValueError, match=r"^cases must be one of basic, stride_padding, all, got 'everything'\.$"):
        conv_cases("macs", "everything")


def test_flops_checker_checks_only_the_set_asked_for():
    def flops_padding_ignored(input_shape, kernel_size, filters, stride=1, padding=0):
        return ref_conv_flops(input_shape, kernel_size, filters, stride, 0)

    assert check_conv_flops(flops_padding_ignored, cases="basic") is None
    assert check_conv_macs(macs_padding_ignored, cases="basic") is None
    assert check_output_shape(shape_padding_ignored, cases="basic") is None


def test_inference_time_question_name_says_its_numbers():
    q = inference_time_question()
    assert q.name == f"inference_time_{_MACS / 1e6:g}m_macs_{_GFLOPS:g}_gflops"


def test_inference_time_verdicts_are_zero_and_keep_the_points():
    q = inference_time_question()
    for answer in ("4.8 hours", _RIGHT_MS * 1.3, _TIME_SLIPS["time_from_macs"]):
        verdict = q.check_answer(answer, 2.0)
        assert verdict.correct is False and verdict.points == 0.0 and verdict.max_points == 2.0, answer
    right = q.check_answer(_RIGHT_MS, 2.0)
    assert right.correct is True and right.points == 2.0


def test_rounded_slips_are_recognised():
    q = inference_time_question()
    assert check(q, "0.005").slip == "time_units"   # 0.0048 s, written to one digit
    assert check(q, "208").slip == "rate_inverted"  # 208.3 images per second


def test_macs_for_flops_in_a_microsecond_question():
    q = InferenceTimeQuestion(3_000_000, 2e9, "µs")
    assert check(q, 3_000_000 / 2e9 * 1e6).slip == "time_from_macs"  # 1500 µs, MACs divided by FLOPS
