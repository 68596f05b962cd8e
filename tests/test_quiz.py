"""Tests for efficientnn.quiz: parsing, tolerance, slip diagnosis, verdicts, widgets and the drill.

Every expected value and every wrong answer is computed here from the textbook formulas
(out = floor((n + 2p - k) / s) + 1, MACs = outputs x weights per output, FLOPs = 2 x MACs),
independently of efficientnn.shapes / efficientnn.cost, so a formula slip there would show.
"""
import math

import ipywidgets
import numpy as np
import pytest
from ipywidgets.embed import dependency_state
from quiz_support import side

from efficientnn import quiz
from efficientnn.models import base_cnn
from efficientnn.quiz import (APPROX_MAX_REL_ERROR, APPROX_REL_TOL, PARTIAL_SHAPE_CREDIT, SLIP_MESSAGES,
                              AnswerFormatError, ChoiceQuestion, LayerSpec, ParsedNumber, Question,
                              assert_correct, base_cnn_questions, check, choice_widget, drill, grade,
                              lesson_choice_questions, lesson_questions, matches, parse_number, parse_shape,
                              quantity_or_rate, quiz_widget, random_layer_question, slip_candidates)
from efficientnn.quiz.questions import expected


# --------------------------------------------------------------------------- reference formulas
def conv_macs(h, w, c, k, f, s=1, p=0):
    return side(h, k, s, p) * side(w, k, s, p) * f * k * k * c


def conv(h, w, c, k, f, s=1, p=0):
    return LayerSpec("conv", (h, w, c), kernel_size=k, filters=f, stride=s, padding=p)


def K(value, digits=1):
    """The value written in thousands with a K suffix, as a student would round it."""
    return f"{value / 1000:.{digits}f}K"


def renderings(value):
    """Ways the expected value could be written inside a message or a widget."""
    if isinstance(value, tuple):
        return {"x".join(map(str, value)), ", ".join(map(str, value)), str(value), "×".join(map(str, value))}
    if isinstance(value, float) and not float(value).is_integer():
        return {f"{value:.3f}", f"{value:.4f}", f"{value * 100:.1f}%"}
    value = int(value)
    out = {str(value), f"{value:,}", f"{value:_}"}
    if value >= 1000:
        out |= {K(value, 1), K(value, 2), f"{value / 1000:.0f}K"}
    return out


# --------------------------------------------------------------------------- parsing shapes
@pytest.mark.parametrize("answer", ["26x26x5", "26 X 26 X 5", "26×26×5", "(26, 26, 5)", "[26,26,5]",
                                    " 26 x 26 x 5 ", "26*26*5", "26, 26, 5", (26, 26, 5), [26, 26, 5],
                                    np.array([26, 26, 5]), (np.int64(26), 26, 5.0)])
def test_parse_shape_accepts_every_form(answer):
    got = parse_shape(answer)
    assert got == (26, 26, 5)
    assert all(type(d) is int for d in got)


@pytest.mark.parametrize("answer", ["(128,)", "128", 128, np.int64(128), [128]])
def test_parse_shape_reads_flat_shapes(answer):
    assert parse_shape(answer) == (128,)


@pytest.mark.parametrize("answer, words", [
    ("26 by 26", ['"26 by 26"', "HxWxD", "(H, W, D)"]),
    ("26x26xfive", ['"26x26xfive"', "HxWxD"]),
    ("(None, 26, 26, 5)", ["batch dimension"]),
    ((None, 26, 26, 5), ["batch dimension"]),
    ((26.5, 26, 5), ["not a whole number"]),
    ((26, -1, 5), ["negative"]),
    ((True, 26, 5), ["truth value"]),
    (np.zeros((2, 3)), ["flat list"]),
    ([], ["empty"]),
    ("", ["no answer yet"]),
    ("   ", ["no answer yet"]),
    (None, ["no answer yet"]),
    (..., ["no answer yet"]),
    (True, ["HxWxD"]),
    (object(), ["HxWxD"]),
])
def test_parse_shape_rejects_malformed_answers_with_a_helpful_message(answer, words):
    with pytest.raises(AnswerFormatError) as err:
        parse_shape(answer)
    assert isinstance(err.value, ValueError)
    for word in words:
        assert word.lower() in str(err.value).lower()


# --------------------------------------------------------------------------- parsing numbers
@pytest.mark.parametrize("answer, value, approximate", [
    (60840, 60840, False), (60840.0, 60840, False), (np.int64(60840), 60840, False),
    (np.float32(60840), 60840, False), (np.array(60840), 60840, False),
    ("60840", 60840, False), ("60,840", 60840, False), ("60 840", 60840, False), ("60_840", 60840, False),
    ("60\u202f840", 60840, False), ("1,234,567.5", 1234567.5, False),
    ("60.8K", 60.8e3, True), ("~61K", 61e3, True), ("61k", 61e3, True), ("≈ 61 K", 61e3, True),
    ("1.06M", 1.06e6, True), ("0.5 G", 0.5e9, True), (".5G", 0.5e9, True), ("2 billion", 2e9, True),
    ("6.08e4", 6.08e4, True), ("6.08E+4", 6.08e4, True), ("6.08 x 10^4", 6.08e4, True),
    ("~61000", 61000, True), ("60.8K FLOPs", 60.8e3, True), ("30 MMACs", 30e6, True),
    ("12.5%", 0.125, False), ("1/8", 1 / 8, False), ("7.9x", 7.9, False), ("-3", -3, False),
])
def test_parse_number_reads_every_form(answer, value, approximate):
    parsed = parse_number(answer)
    assert isinstance(parsed, ParsedNumber)
    assert parsed.value == pytest.approx(value, rel=1e-12)
    assert parsed.approximate is approximate
    assert parsed.text == str(answer)


def test_parse_number_records_the_place_of_the_last_digit_and_the_unit():
    assert parse_number("61K").resolution == pytest.approx(1e3)
    assert parse_number("60.8K").resolution == pytest.approx(1e2)
    assert parse_number("6.08e4").resolution == pytest.approx(1e2)
    assert parse_number("1.06M").resolution == pytest.approx(1e4)
    assert parse_number(60840).resolution is None
    assert parse_number("60.8K FLOPs").unit == "FLOPs"
    assert parse_number("3 GFLOPS").unit == "FLOPS"


@pytest.mark.parametrize("answer, words", [
    (True, ["truth value"]), (False, ["truth value"]), (np.bool_(True), ["truth value"]),
    ("", ["no answer yet"]), (None, ["no answer yet"]), (..., ["no answer yet"]),
    ("abc", ['"abc"', "12,345", "K, M or G"]), ("26x26x5", ['"26x26x5"']), ("1.2.3", ['"1.2.3"']),
    ("60,84K", ["use a dot for decimals"]), ("K", ['"K"']), ("~", ['"~"']), ("1/0", ["divides by zero"]),
    (float("nan"), ["not a finite number"]), (float("inf"), ["not a finite number"]),
    ([60840], ["list"]), ("6,08,40", ['"6,08,40"']),
])
def test_parse_number_rejects_malformed_answers_with_a_helpful_message(answer, words):
    with pytest.raises(AnswerFormatError) as err:
        parse_number(answer)
    for word in words:
        assert word.lower() in str(err.value).lower()


def test_format_error_examples_can_never_be_an_answer():
    # The example in every "write a number such as ..." message must not be a right answer: it is
    # odd (never a FLOP count, 2 x MACs) and has a prime factor above any layer size (never a MAC
    # count or a parameter count, products of small sizes). Read the examples out of real messages.
    import re
    messages = []
    for bad in ["sixty", "60,8", None, [1]]:
        with pytest.raises(AnswerFormatError) as err:
            parse_number(bad)
        messages.append(str(err.value))
    examples = {int(n.replace(",", "")) for m in messages for n in re.findall(r"\b\d{1,3}(?:,\d{3})+\b|\b\d{4,}\b", m)}
    assert examples, messages
    for n in examples:
        assert n % 2 == 1
        largest = max(p for p in range(2, n + 1) if n % p == 0 and all(p % d for d in range(2, int(p ** 0.5) + 1)))
        assert largest > 512, (n, largest)  # beyond any kernel, channel or unit count in the course
    numbers = [expected(q) for q in lesson_questions().values() if not isinstance(expected(q), tuple)]
    assert numbers and not any(math.isclose(value, n) for value in numbers for n in examples)


# --------------------------------------------------------------------------- tolerance
@pytest.fixture
def conv1():
    model = base_cnn()
    layer = model.layer("conv1")
    h, w, c = model.input_shape
    k, f = layer.kernel_size[0], layer.filters
    macs = conv_macs(h, w, c, k, f)
    return {"q": base_cnn_questions()["conv1_flops"], "macs": macs, "flops": 2 * macs, "h": h, "c": c,
            "k": k, "f": f, "out": (side(h, k), side(w, k), f)}


def test_rounded_answers_within_the_rule_are_accepted(conv1):
    q, flops = conv1["q"], conv1["flops"]
    for answer in [K(flops, 0), K(flops, 1), K(flops, 2), "~" + K(flops, 0), K(flops, 0).lower(),
                   f"{flops:.2e}", f"{flops:,}", str(flops), flops, float(flops), np.int64(flops),
                   f"~{round(flops, -3)}"]:
        verdict = check(q, answer)
        assert verdict.correct, (answer, verdict.message)
        assert verdict.points == verdict.max_points == q.points


def test_conv2_rounded_to_thousands_is_accepted():
    q = base_cnn_questions()["conv2_flops"]
    exact = expected(q)
    assert check(q, K(exact, 0)).correct


def test_macs_in_thousands_are_not_accepted_for_flops(conv1):
    verdict = check(conv1["q"], K(conv1["macs"], 0))
    assert not verdict.correct and verdict.points == 0
    assert verdict.slip == "macs_for_flops"


def test_plain_integers_must_be_exact(conv1):
    q, flops = conv1["q"], conv1["flops"]
    for wrong in (flops + 1, flops - 1, round(flops, -3), float(flops) + 0.5):
        assert not check(q, wrong).correct
    assert check(q, round(flops, -3)).slip == "close"


def test_truncated_rounding_and_coarse_answers_are_rejected(conv1):
    q, flops = conv1["q"], conv1["flops"]
    truncated = f"{math.floor(flops / 1000)}K"
    assert abs(math.floor(flops / 1000) * 1000 - flops) > max(500, APPROX_REL_TOL * flops)
    assert not check(q, truncated).correct
    coarse = f"{flops / 1e6:.1f}M"  # a correct rounding to one digit, but too far off to credit
    assert abs(float(coarse[:-1]) * 1e6 - flops) > APPROX_MAX_REL_ERROR * flops
    assert not check(q, coarse).correct


@pytest.mark.parametrize("text, target, ok", [
    ("1.1K", 1050, True),      # exactly half a unit (50) off
    ("1.1K", 1049, False),     # 51 off: more than half a unit and more than 1%
    ("~1010", 1000, True),     # 1% off, trailing digits count as written
    ("~1011", 1000, False),
    ("0.1M", 104_000, True),   # within half a unit and within 5%
    ("0.1M", 106_000, False),  # within half a unit but 6% off
    ("1000", 1000, True),
    ("1001", 1000, False),
])
def test_tolerance_edges(text, target, ok):
    assert matches(parse_number(text), target) is ok


def test_ratio_tolerance_is_one_percent_for_unwritten_digits():
    q = lesson_questions()["separable_56x56x64_ratio"]
    h, w, c = q.layer.input_shape
    k, f = q.layer.kernel_size[0], q.layer.filters
    ratio = (h * w * c * k * k + h * w * c * f) / (h * w * c * k * k * f)
    assert check(q, ratio * 1.009).correct
    assert not check(q, ratio * 1.02).correct
    assert check(q, f"{ratio:.3f}").correct
    assert check(q, f"{ratio * 100:.1f}%").correct
    assert check(q, f"1/{1 / ratio:.2f}").correct
    assert check(q, f"{ratio * 1.02:.4f}").slip == "close_ratio"


# --------------------------------------------------------------------------- slips
def slip_of(question, answer):
    verdict = check(question, answer)
    assert not verdict.correct, answer
    return verdict.slip


def test_slips_in_flops_questions(conv1):
    q, macs, h, c, k, f = conv1["q"], conv1["macs"], conv1["h"], conv1["c"], conv1["k"], conv1["f"]
    flops = 2 * macs
    ho = side(h, k)
    assert slip_of(q, macs) == "macs_for_flops"
    assert slip_of(q, flops * 1000) == "units_confused"
    assert slip_of(q, f"{flops / 1000:.2f}M") == "units_confused"
    assert slip_of(q, flops + ho * ho * f) == "bias_counted"
    assert slip_of(q, 2 * (ho - 1) ** 2 * f * k * k * c) == "plus_one_missing"
    assert slip_of(q, (ho - 1) ** 2 * f * k * k * c) == "macs_for_flops+plus_one_missing"
    assert slip_of(q, 2 * ho * ho * k * k * c) == "filters_left_out"


def test_slips_in_macs_questions():
    q = lesson_questions()["rgb_10x10_128_filters_macs"]
    h, w, c = q.layer.input_shape
    k, f = q.layer.kernel_size[0], q.layer.filters
    macs = conv_macs(h, w, c, k, f)
    outputs = side(h, k) * side(w, k) * f
    assert check(q, macs).correct
    assert slip_of(q, 2 * macs) == "flops_for_macs"
    assert slip_of(q, macs // c) == "input_depth_left_out"
    assert slip_of(q, macs + outputs) == "bias_counted"
    assert slip_of(q, macs // f) == "filters_left_out"
    assert slip_of(q, macs / 1000) == "units_confused"
    assert slip_of(q, h * w * f * k * k * c) == "padding_assumed"


def test_lesson_16x16_slip_is_the_depth_subtracted():
    q = lesson_questions()["kernel_7x7x9_one_filter"]
    h, w, c = q.layer.input_shape
    k = q.layer.kernel_size[0]
    assert expected(q) == (side(h, k), side(w, k), 1)
    verdict = check(q, f"{h - c}x{w - c}x1")  # the outline's printed 16x16x1
    assert verdict.slip == "depth_subtracted" and verdict.points == 0
    assert "kernel" in verdict.message and "depth" in verdict.message
    assert slip_of(q, (h - k, w - k, 1)) == "plus_one_missing"
    assert slip_of(q, (h, w, 1)) == "padding_assumed"
    assert slip_of(q, (1, side(h, k), side(w, k))) == "channels_first"


def test_input_depth_as_output_depth_gets_partial_credit():
    q = lesson_questions()["kernel_7x7x9_one_filter"]
    h, w, c = q.layer.input_shape
    k = q.layer.kernel_size[0]
    verdict = check(q, (side(h, k), side(w, k), c))
    assert verdict.slip == "depth_from_input"
    assert verdict.points == PARTIAL_SHAPE_CREDIT * q.points and not verdict.correct
    missing = check(q, f"{side(h, k)}x{side(w, k)}")
    assert missing.slip == "depth_missing" and missing.points == PARTIAL_SHAPE_CREDIT * q.points
    other = check(q, (side(h, k), side(w, k), c + 100))
    # a convolution's wrong depth is named by its rule: the depth is the number of filters
    assert other.slip == "depth_is_filters" and other.points == PARTIAL_SHAPE_CREDIT * q.points


def test_stride_and_padding_slips():
    h, c, k, f = 17, 3, 3, 8
    strided = Question("output_shape", conv(h, h, c, k, f, s=2))
    assert expected(strided) == (side(h, k, 2), side(h, k, 2), f)
    assert slip_of(strided, (side(h, k), side(h, k), f)) == "stride_ignored"
    padded = Question("output_shape", conv(h, h, c, k, f, p=2))
    assert slip_of(padded, (side(h, k), side(h, k), f)) == "padding_ignored"
    padded_macs = Question("macs", conv(h, h, c, k, f, p=2))
    assert slip_of(padded_macs, conv_macs(h, h, c, k, f)) == "padding_ignored"


def test_depthwise_and_separable_slips():
    h, c, k, f = 12, 8, 3, 16
    ho = side(h, k)
    dw = Question("macs", LayerSpec("depthwise", (h, h, c), kernel_size=k))
    assert check(dw, ho * ho * c * k * k).correct
    assert slip_of(dw, conv_macs(h, h, c, k, c)) == "standard_conv_counted"
    sep = Question("macs", LayerSpec("separable", (h, h, c), kernel_size=k, filters=f))
    depthwise, pointwise = ho * ho * c * k * k, ho * ho * c * f
    assert check(sep, depthwise + pointwise).correct
    assert slip_of(sep, depthwise) == "pointwise_left_out"
    assert slip_of(sep, pointwise) == "depthwise_left_out"
    assert slip_of(sep, conv_macs(h, h, c, k, f)) == "standard_conv_counted"
    mult = Question("output_shape", LayerSpec("depthwise", (h, h, c), kernel_size=k, depth_multiplier=2))
    assert expected(mult) == (ho, ho, 2 * c)
    assert slip_of(mult, (ho, ho, c)) == "depth_multiplier_ignored"


def test_pool_and_params_and_ratio_slips():
    h, c, p = 26, 5, 2
    pool = Question("flops", LayerSpec("maxpool", (h, h, c), kernel_size=p))
    outputs = (h // p) ** 2 * c
    assert check(pool, outputs * (p * p - 1)).correct
    assert slip_of(pool, outputs * p * p) == "pool_count_off_by_one"
    pool_shape = Question("output_shape", LayerSpec("maxpool", (h, h, c), kernel_size=p))
    assert slip_of(pool_shape, (side(h, p), side(h, p), c)) == "stride_ignored"
    params = Question("params", conv(28, 28, 3, 3, 16))
    assert check(params, 3 * 3 * 3 * 16 + 16).correct
    assert slip_of(params, 3 * 3 * 3 * 16) == "bias_forgotten"
    ratio_q = lesson_questions()["separable_56x56x64_ratio"]
    k, f = ratio_q.layer.kernel_size[0], ratio_q.layer.filters
    ratio = 1 / f + 1 / (k * k)
    assert slip_of(ratio_q, 1 / ratio) == "ratio_inverted"
    assert slip_of(ratio_q, f"{ratio * 100:.2f}") == "percent_as_number"
    assert slip_of(ratio_q, 1 / k ** 2) == "depthwise_left_out"


def test_every_slip_has_a_message_and_candidates_never_equal_the_answer():
    rng = np.random.default_rng(5)
    for _ in range(200):
        q = random_layer_question(rng, kinds=quiz.QUESTION_KINDS)
        for slip, value in slip_candidates(q):
            assert all(part in SLIP_MESSAGES for part in slip.split("+"))
            assert value != expected(q)


# --------------------------------------------------------------------------- verdicts never reveal
def wrong_answers(q):
    e = expected(q)
    out = [value for _, value in slip_candidates(q)]
    if q.kind == "output_shape":
        out += [tuple(d + 1 for d in e), (e[0],)]
    else:
        out += [e * 3, e * 0.97, "nonsense", ""]
        if q.kind != "ratio":
            out += [f"{e / 1000 * 1.2:.1f}K", e + 1]
    return out


def test_wrong_verdicts_never_contain_the_expected_value():
    rng = np.random.default_rng(11)
    questions = [*lesson_questions().values(), *base_cnn_questions().values()]
    questions += [random_layer_question(rng, kinds=quiz.QUESTION_KINDS) for _ in range(150)]
    checked = 0
    for q in questions:
        e = expected(q)
        if not isinstance(e, tuple) and not isinstance(e, float) and e < 100:
            continue  # a two-digit count could collide with the digits of a formula in a hint
        for answer in wrong_answers(q):
            verdict = check(q, answer)
            if verdict.correct:
                continue
            checked += 1
            assert verdict.expected is None
            for text in (verdict.message, repr(verdict), str(verdict), verdict._repr_html_()):
                for shown in renderings(e):
                    assert shown not in text, (q.prompt(), answer, text)
    assert checked > 500


def test_reveal_is_only_on_request():
    q = base_cnn_questions()["fc1_flops"]
    assert check(q, "1").expected is None
    assert check(q, "1", reveal=True).expected == expected(q)
    assert "expected" not in repr(check(q, "1", reveal=True))


# --------------------------------------------------------------------------- grading
def test_grade_scales_points_and_prints_them_for_nbgrader():
    from IPython.lib.pretty import pretty

    q = lesson_questions()["kernel_7x7x9_64_filters"]
    h, w, c = q.layer.input_shape
    k = q.layer.kernel_size[0]
    right = (side(h, k), side(w, k), q.layer.filters)
    full = grade(q, right, points=3)
    assert full.correct and full.points == 3 and full.max_points == 3
    half = grade(q, (right[0], right[1], c), points=3)
    assert half.points == PARTIAL_SHAPE_CREDIT * 3
    assert pretty(half) == repr(float(half.points))  # nbgrader reads text/plain as the partial score
    assert grade(q, "19 by 19", points=3).points == 0
    with pytest.raises(ValueError):
        grade(q, right, points=0)


def test_nbgrader_reads_a_grade_cell_result_as_the_partial_score():
    from IPython.core.formatters import DisplayFormatter
    from nbformat.v4 import new_output
    from nbgrader.utils import get_partial_grade

    q = base_cnn_questions()["conv2_output_shape"]
    model = base_cnn()
    h, w, c = model.layer("conv2").input_shape
    right = (side(h, 3), side(w, 3), model.layer("conv2").filters)
    for answer, share in [(right, 1.0), ((right[0], right[1], c + 1), PARTIAL_SHAPE_CREDIT), ("1x1x1", 0.0)]:
        data, _ = DisplayFormatter().format(grade(q, answer, points=2))
        assert "text/html" in data
        output = new_output("execute_result", data=data, execution_count=1)
        assert get_partial_grade(output, 2.0) == pytest.approx(2.0 * share)


def test_check_refuses_what_is_not_a_question():
    with pytest.raises(ValueError, match="Question"):
        check("conv1_flops", "60K")


def test_assert_correct_raises_with_the_teaching_message():
    q = base_cnn_questions()["conv1_flops"]
    model = base_cnn()
    h, w, c = model.input_shape
    layer = model.layer("conv1")
    macs = conv_macs(h, w, c, layer.kernel_size[0], layer.filters)
    assert assert_correct(q, 2 * macs) is None
    with pytest.raises(AssertionError) as err:
        assert_correct(q, macs)
    assert SLIP_MESSAGES["macs_for_flops"] in str(err.value)
    for shown in renderings(2 * macs):
        assert shown not in str(err.value)
    with pytest.raises(AssertionError, match="no answer yet"):
        assert_correct(q, None)


# --------------------------------------------------------------------------- questions
def test_base_cnn_questions_come_from_the_model():
    qs = base_cnn_questions()
    assert list(qs) == ["conv1_output_shape", "conv1_flops", "conv2_output_shape", "conv2_flops",
                        "fc1_flops", "fc2_flops"]
    model = base_cnn()
    h, w, c = model.input_shape
    c1, c2 = model.layer("conv1"), model.layer("conv2")
    o1 = (side(h, c1.kernel_size[0]), side(w, c1.kernel_size[1]), c1.filters)
    o2 = (side(o1[0], c2.kernel_size[0]), side(o1[1], c2.kernel_size[1]), c2.filters)
    fc1, fc2 = model.layer("fc1"), model.layer("fc2")
    assert expected(qs["conv1_output_shape"]) == o1
    assert expected(qs["conv2_output_shape"]) == o2
    assert expected(qs["conv1_flops"]) == 2 * conv_macs(h, w, c, 3, c1.filters)
    assert expected(qs["conv2_flops"]) == 2 * conv_macs(*o1, 3, c2.filters)
    assert expected(qs["fc1_flops"]) == 2 * math.prod(o2) * fc1.units
    assert expected(qs["fc2_flops"]) == 2 * fc1.units * fc2.units
    for q in qs.values():  # no prompt gives away any answer of the quiz (e.g. conv2's input shape)
        for e in map(expected, qs.values()):
            for shown in renderings(e):
                assert shown not in q.prompt(), (q.name, shown)


def test_lesson_questions_and_prompts():
    qs = lesson_questions()
    assert {"kernel_7x7x9_one_filter", "kernel_7x7x9_64_filters", "rgb_10x10_128_filters_macs",
            "rgb_10x10_128_filters_flops"} <= set(qs)
    assert expected(qs["rgb_10x10_128_filters_macs"]) == conv_macs(10, 10, 3, 3, 128)
    assert expected(qs["rgb_10x10_128_filters_flops"]) == 2 * conv_macs(10, 10, 3, 3, 128)
    assert "7x7x9" in qs["kernel_7x7x9_one_filter"].prompt() and "25x25x9" in qs["kernel_7x7x9_one_filter"].prompt()
    assert quiz.get_question("fc2_flops").name == "fc2_flops"
    with pytest.raises(ValueError, match="no question named"):
        quiz.get_question("nope")


@pytest.mark.parametrize("phrase, kind", [
    ("100 MACs", "quantity"), ("100 FLOPS", "rate"), ("100 FLOPs", "quantity"), ("3.2 GFLOPS", "rate"),
    ("60.8K FLOPs", "quantity"), ("5 TOPS", "rate"), ("10 FLOP/s", "rate"), ("7 MAC/s", "rate"),
    ("12 MFLOPs", "quantity"), ("100 operations per second", "rate"),
])
def test_quantity_or_rate(phrase, kind):
    assert quantity_or_rate(phrase) == kind


@pytest.mark.parametrize("phrase", ["100 flops", "100 apples", "", None])
def test_quantity_or_rate_refuses_unclear_phrases(phrase):
    with pytest.raises(ValueError):
        quantity_or_rate(phrase)


def test_choice_questions_follow_the_rule():
    for q in lesson_choice_questions().values():
        phrase = q.prompt().split('"')[1]
        right = quantity_or_rate(phrase)
        assert expected(q) == right
        assert check(q, right).correct and check(q, q.choices.index(right)).correct
        wrong = check(q, next(c for c in q.choices if c != right))
        assert not wrong.correct and "capital S" in wrong.message
        assert check(q, "maybe").slip == "format"
    custom = ChoiceQuestion("Which is largest?", ("a", "b"), lambda: 1)
    assert expected(custom) == "b"


@pytest.mark.parametrize("kwargs, words", [
    (dict(kind="conv2d", input_shape=(8, 8, 1), kernel_size=3, filters=1), ["kind"]),
    (dict(kind="conv", input_shape=(8, 8, 1), kernel_size=3), ["filters"]),
    (dict(kind="conv", input_shape=(2, 2, 1), kernel_size=3, filters=1), ["larger"]),
    (dict(kind="dense", input_shape=(8,)), ["units"]),
    (dict(kind="maxpool", input_shape=(8, 8, 1)), ["kernel_size"]),
])
def test_layer_spec_validates(kwargs, words):
    with pytest.raises(ValueError) as err:
        LayerSpec(**kwargs)
    for word in words:
        assert word in str(err.value)


def test_question_validates():
    with pytest.raises(ValueError, match="kind"):
        Question("latency", conv(8, 8, 1, 3, 1))
    with pytest.raises(ValueError, match="ratio"):
        Question("ratio", conv(8, 8, 1, 3, 1))


# --------------------------------------------------------------------------- drill
def test_drill_questions_are_reproducible_with_a_seed():
    a = [random_layer_question(np.random.default_rng(42)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    d1, d2 = drill(seed=3), drill(seed=3)
    prompts1 = [d1.question.prompt()] + [d1.new_question().prompt() for _ in range(8)]
    prompts2 = [d2.question.prompt()]
    for _ in range(8):
        d2.new_button.click()
        prompts2.append(d2.question.prompt())
    assert prompts1 == prompts2
    assert len(set(prompts1)) > 1
    d3 = drill(seed=4)
    assert [d3.question.prompt()] + [d3.new_question().prompt() for _ in range(8)] != prompts1


def test_500_random_questions_are_valid_and_answerable():
    rng = np.random.default_rng(2024)
    seen_layers, seen_kinds = set(), set()
    for _ in range(500):
        q = random_layer_question(rng, kinds=quiz.QUESTION_KINDS)
        seen_layers.add(q.layer.kind)
        seen_kinds.add(q.kind)
        layer = q.layer
        e = expected(q)
        if layer.kind != "dense":
            h, w, _ = layer.input_shape
            ph, pw = layer.pads
            assert layer.kernel_size[0] <= h + 2 * ph and layer.kernel_size[1] <= w + 2 * pw
            ho, wo = layer.output_shape()[:2]
            assert ho == side(h, layer.kernel_size[0], layer.effective_stride, ph)
            assert wo == side(w, layer.kernel_size[1], layer.effective_stride, pw)
        if q.kind == "output_shape":
            assert min(e) > 0
            answer = "x".join(map(str, e))
        elif q.kind == "ratio":
            answer = f"{e:.4f}"
        else:
            assert e >= 0
            answer = f"{e:,}"
        assert check(q, answer).correct, (q.prompt(), answer)
        assert q.prompt().endswith(("?", ".", ")"))
    assert seen_layers == set(quiz.LAYER_KINDS)
    assert seen_kinds == set(quiz.QUESTION_KINDS)


def test_drill_rejects_unknown_kinds():
    with pytest.raises(ValueError, match="unknown question kinds"):
        random_layer_question(np.random.default_rng(0), kinds=("latency",))
    with pytest.raises(ValueError, match="no layer"):
        drill(kinds=("ratio",), layer_kinds=("dense",))


# --------------------------------------------------------------------------- widgets
def test_quiz_widget_click_updates_feedback(conv1):
    w = quiz_widget(conv1["q"], title="Question 2 of 6")
    assert isinstance(w, ipywidgets.VBox)
    assert "enn-quiz" in w._dom_classes and "enn-quiz-feedback" in w.feedback._dom_classes
    assert isinstance(w.feedback, ipywidgets.HTML) and w.feedback.value == ""
    w.check_button.click()
    assert "no answer yet" in w.feedback.value.lower()
    w.answer_box.value = str(conv1["macs"])
    w.check_button.click()
    assert "enn-wrong" in w.feedback.value and "MACs" in w.feedback.value
    w.answer_box.value = K(conv1["flops"])
    w.check_button.click()
    assert "enn-correct" in w.feedback.value and w.last_verdict.correct


def test_quiz_widget_of_a_choice_question_is_a_choice_widget():
    assert isinstance(quiz_widget(lesson_choice_questions()["phrase_100_MACs"]), quiz.ChoiceWidget)


def test_quiz_widget_shows_partial_credit():
    q = lesson_questions()["kernel_7x7x9_64_filters"]
    h, w_, c = q.layer.input_shape
    w = quiz_widget(q)
    w.answer_box.value = f"{side(h, 7)}x{side(w_, 7)}x{c}"
    w.check_button.click()
    assert "enn-partial" in w.feedback.value


def test_choice_widget_click_updates_feedback():
    q = lesson_choice_questions()["phrase_100_FLOPS"]
    w = choice_widget(q)
    assert "enn-quiz" in w._dom_classes and "enn-quiz-feedback" in w.feedback._dom_classes
    w.check_button.click()
    assert "no answer yet" in w.feedback.value.lower()
    w.options.value = quantity_or_rate("100 FLOPS")
    w.check_button.click()
    assert "enn-correct" in w.feedback.value
    w.options.value = next(c for c in q.choices if c != quantity_or_rate("100 FLOPS"))
    w.check_button.click()
    assert "enn-wrong" in w.feedback.value


def test_drill_widget_keeps_score_of_first_tries():
    d = drill(seed=8, kinds=("output_shape",))
    assert "enn-drill" in d._dom_classes and "enn-quiz-feedback" in d.feedback._dom_classes
    d.answer_box.value = "1x1x1"
    d.check_button.click()
    right = "x".join(map(str, expected(d.question)))
    d.check_answer(right)  # right at the second try: not counted as a first-try success
    assert "enn-correct" in d.feedback.value
    assert (d.right_first_try, d.asked) == (0, 1)
    d.new_button.click()
    assert d.answer_box.value == "" and d.feedback.value == ""
    d.check_answer("x".join(map(str, expected(d.question))))
    assert (d.right_first_try, d.asked) == (1, 2)
    assert "1 of 2" in d.score_label.value


# --------------------------------------------------------------------------- no answer in widget state
def state_strings(widget, seen=None):
    """Every string and number in the state of a widget and of all widgets it refers to."""
    seen = set() if seen is None else seen
    if id(widget) in seen:
        return []
    seen.add(id(widget))
    out = []

    def walk(value):
        if isinstance(value, ipywidgets.Widget):
            out.extend(state_strings(value, seen))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif value is not None:
            out.append(str(value))

    for key, value in widget.get_state().items():
        walk(getattr(widget, key, value))
    return out


def assert_state_hides(widget, answer):
    texts = state_strings(widget)
    texts += [str(v) for v in dependency_state(widget).values()]  # what a saved notebook embeds
    for shown in renderings(answer):
        for text in texts:
            assert shown not in text, (shown, text[:200])


def test_widget_state_never_holds_the_expected_value():
    questions = [*lesson_questions().values(), *base_cnn_questions().values()]
    for q in questions:
        w = quiz_widget(q)
        assert_state_hides(w, expected(q))
        typed = [str(a) for a in wrong_answers(q) if not any(r in str(a) for r in renderings(expected(q)))]
        for answer in typed[:4]:  # answers that themselves contain the digits would show up as typed
            w.answer_box.value = answer
            w.check_button.click()
            assert_state_hides(w, expected(q))


def test_drill_state_never_holds_the_expected_value():
    d = drill(seed=99, kinds=quiz.QUESTION_KINDS)
    checked = 0
    for _ in range(40):
        e = expected(d.question)
        shown_in_prompt = any(s in d.question.prompt() for s in renderings(e))
        if not shown_in_prompt and (isinstance(e, (tuple, float)) or e >= 1000):
            assert_state_hides(d, e)
            typed = [str(a) for a in wrong_answers(d.question) if not any(r in str(a) for r in renderings(e))]
            d.check_answer(typed[0])
            assert_state_hides(d, e)
            checked += 1
        d.new_button.click()
    assert checked > 20
