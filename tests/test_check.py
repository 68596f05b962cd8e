"""The checker's verdicts (efficientnn.quiz.check): points and the concept each slip message teaches.

Wrong answers are computed here from the lesson's formulas (side = floor((n + 2p - k) / s) + 1,
MACs = outputs x kernel height x width x input depth, FLOPs = 2 x MACs), and every message is
checked for the concept it must teach (a word or a phrase), never compared with the dictionary of
messages the checker itself uses: a message that taught the wrong thing would fail here.
"""
import math
import re

import pytest

from efficientnn.quiz import LayerSpec, Question, check, grade

# The lesson's layer: a 25x25x9 input, 7x7 kernels, 64 filters, stride 1, no padding.
LESSON = LayerSpec("conv", (25, 25, 9), kernel_size=7, filters=64)
SIDE = 25 - 7 + 1                       # 19
MACS = SIDE * SIDE * 64 * 7 * 7 * 9     # 10,188,864: one MAC per weight per output value
FLOPS = 2 * MACS
#: The lesson's rule for a shape with the right height and width but not the depth: half the points.
HALF = 0.5


def test_the_lesson_numbers():
    assert (SIDE, MACS, FLOPS) == (19, 10_188_864, 20_377_728)
    assert check(Question("flops", LESSON), FLOPS).correct and check(Question("macs", LESSON), MACS).correct


def concepts(message, *, present=(), absent=()):
    for pattern in present:
        assert re.search(pattern, message), f"{pattern!r} missing from {message!r}"
    for pattern in absent:
        assert not re.search(pattern, message), f"{pattern!r} should not be in {message!r}"


def test_macs_given_for_flops_says_a_mac_is_two_flops():
    verdict = check(Question("flops", LESSON), MACS)
    assert not verdict.correct and verdict.points == 0
    concepts(verdict.message, present=[r"\bMACs\b", r"asks for FLOPs", r"\btwo\b.*\bFLOPs\b"],
             absent=[r"\bhalf\b", r"asks for MACs"])


def test_flops_given_for_macs_says_there_are_half_as_many_macs():
    verdict = check(Question("macs", LESSON), FLOPS)
    assert not verdict.correct and verdict.points == 0
    concepts(verdict.message, present=[r"\bFLOPs\b", r"asks for MACs", r"\bhalf as many MACs\b"],
             absent=[r"asks for FLOPs"])


def conv(**changes):
    fields = dict(input_shape=(25, 25, 9), kernel_size=7, filters=64)
    fields.update(changes)
    return LayerSpec("conv", **fields)


def side(n, k, s=1, p=0):
    return (n + 2 * p - k) // s + 1


# (question, a wrong answer computed from a slipped formula, patterns its message must hold, must not hold)
SLIPS = [
    ("plus one", Question("output_shape", LESSON), (SIDE - 1, SIDE - 1, 64), [r"\+1", r"n - k \+ 1"], []),
    ("bias", Question("macs", LESSON), MACS + SIDE * SIDE * 64, [r"\bbias\b", r"\bnot the bias adds\b"], []),
    ("bias in flops", Question("flops", LESSON), FLOPS + SIDE * SIDE * 64, [r"\bbias\b"], [r"asks for MACs"]),
    ("stride", Question("output_shape", conv(stride=2)), (SIDE, SIDE, 64), [r"\bstride\b", r"\bs pixels\b"], []),
    ("padding", Question("output_shape", conv(padding=2)), (SIDE, SIDE, 64), [r"\bpadding\b", r"n \+ 2p"], []),
    ("no padding assumed", Question("output_shape", LESSON), (25, 25, 64), [r"\bpadding\b", r"smaller"], []),
    ("input depth", Question("macs", LESSON), SIDE * SIDE * 64 * 7 * 7, [r"input depth", r"\bleft out\b"], []),
    ("one filter", Question("macs", LESSON), SIDE * SIDE * 7 * 7 * 9, [r"\bfilter\b", r"number of filters"], []),
    ("units", Question("macs", LESSON), MACS * 1000, [r"thousand", r"\bK\b"], []),
    ("channels first", Question("output_shape", LESSON), (64, SIDE, SIDE), [r"\border\b", r"height x width x depth"],
     []),
    ("depth subtracted", Question("output_shape", conv(input_shape=(25, 25, 5), kernel_size=3, filters=8)),
     (25 - 5, 25 - 5, 8), [r"\bdepth\b", r"does not slide"], [r"\+1"]),
    ("pool macs", Question("macs", LayerSpec("maxpool", (8, 8, 3), kernel_size=2)), 4 * 4 * 3 * 3,
     [r"Pooling", r"no MACs"], []),
    ("pool count", Question("flops", LayerSpec("maxpool", (8, 8, 3), kernel_size=2)), 4 * 4 * 3 * 4,
     [r"k\*k - 1 comparisons", r"division"], []),
    ("bias forgotten", Question("params", LESSON), 7 * 7 * 9 * 64, [r"\bbias", r"one bias parameter"], []),
    ("depthwise counted as standard", Question("macs", LayerSpec("depthwise", (10, 10, 4), kernel_size=3)),
     8 * 8 * 4 * 3 * 3 * 4, [r"standard convolution", r"its own kernel"], []),
    ("depth multiplier", Question("output_shape", LayerSpec("depthwise", (10, 10, 4), kernel_size=3,
                                                             depth_multiplier=2)),
     (8, 8, 4), [r"depth multiplier", r"\bM output channels\b"], []),
    ("pointwise left out", Question("macs", LayerSpec("separable", (10, 10, 4), kernel_size=3, filters=6)),
     8 * 8 * 4 * 3 * 3, [r"only the depthwise part", r"1x1 pointwise"], []),
    ("depthwise left out", Question("macs", LayerSpec("separable", (10, 10, 4), kernel_size=3, filters=6)),
     8 * 8 * 4 * 6, [r"only the 1x1 pointwise part", r"depthwise part"], []),
]


@pytest.mark.parametrize("name, question, answer, present, absent", SLIPS, ids=[s[0] for s in SLIPS])
def test_each_slip_message_teaches_its_concept(name, question, answer, present, absent):
    verdict = check(question, answer)
    assert not verdict.correct
    concepts(verdict.message, present=present, absent=absent)
    assert verdict.slip is not None


def test_right_height_and_width_earn_half_the_points():
    question = Question("output_shape", LESSON)
    for points in (1, 2, 5):
        depth_from_input = grade(question, (SIDE, SIDE, 9), points=points)
        assert depth_from_input.points == HALF * points and depth_from_input.max_points == points
        assert not depth_from_input.correct and depth_from_input.message.startswith("Partly right")
        concepts(depth_from_input.message, present=[r"number of filters"])
        no_depth = grade(question, (SIDE, SIDE), points=points)
        assert no_depth.points == HALF * points and re.search(r"\bdepth\b", no_depth.message)
        odd_depth = grade(question, (SIDE, SIDE, 7), points=points)
        assert odd_depth.points == HALF * points
        assert grade(question, (SIDE, SIDE, 64), points=points).points == points
        assert grade(question, (SIDE - 1, SIDE, 64), points=points).points == 0
        assert grade(question, (SIDE, SIDE + 1, 9), points=points).points == 0


def test_a_combined_slip_names_both_concepts():
    # MACs given for FLOPs, and the input depth left out as well
    verdict = check(Question("flops", LESSON), SIDE * SIDE * 64 * 7 * 7)
    concepts(verdict.message, present=[r"^Not yet\. This looks like the number of MACs", r"asks for FLOPs",
                                       r"two FLOPs\. Looks like the input depth was left out"])  # one after the other
    assert verdict.slip == "macs_for_flops+input_depth_left_out" and verdict.points == 0


# --------------------------------------------------------------------------- units written after a number
@pytest.mark.parametrize("unit, note", [
    ("", None),
    (" MACs", None),
    (" params", None),          # not a unit of operations: nothing to say about FLOPs
    ("x", None),
    (" weights", None),
    (" flops", r'Note: write FLOPs \(small s\) for a count; "flops" in lower case is ambiguous\.$'),
    (" FLOPS", r'Note: "FLOPS" with a capital S is a rate \(per second\); a count of operations is FLOPs\.$'),
    (" FLOPs", r'Note: the question asks for MACs, but the answer is labelled "FLOPs"\.$'),
    (" Flops", r'Note: the question asks for MACs, but the answer is labelled "Flops"\.$'),
])
def test_a_unit_after_a_right_count_gets_a_note_only_when_it_misleads(unit, note):
    verdict = check(Question("macs", LESSON), f"{MACS}{unit}")
    assert verdict.correct
    if note is None:
        assert verdict.message == "Correct."
    else:
        assert verdict.message.startswith("Correct. Note: ") and re.search(note, verdict.message)


def test_unit_notes_follow_the_question_asked():
    flops = check(Question("flops", LESSON), f"{FLOPS} MACs")
    assert flops.correct and re.search(r'Note: the question asks for FLOPs, but the answer is labelled "MACs"\.$',
                                           flops.message)
    assert check(Question("flops", LESSON), f"{FLOPS} FLOPs").message == "Correct."
    assert check(Question("flops", LESSON), f"{FLOPS} macs").message.endswith('labelled "macs".')
    params = 7 * 7 * 9 * 64 + 64
    assert check(Question("params", LESSON), f"{params} FLOPS").message == "Correct."  # notes are for counts only
    wrong = check(Question("macs", LESSON), f"{MACS + 1} FLOPS")
    assert wrong.message.startswith("Not yet. ") and "capital S is a rate" in wrong.message


# --------------------------------------------------------------------------- choices
def test_a_choice_is_read_by_its_index_or_its_text():
    from efficientnn.quiz import ChoiceQuestion
    question = ChoiceQuestion("Which is the rate?", ("quantity", "rate", "neither"), lambda: "rate", points=2)
    for answer in (1, "rate", " RATE ", "Rate"):
        assert check(question, answer) == check(question, 1)
        verdict = check(question, answer)
        assert (verdict.correct, verdict.points, verdict.max_points, verdict.message, verdict.slip) == \
            (True, 2.0, 2.0, "Correct.", None)
    wrong = check(question, 0)
    assert (wrong.correct, wrong.points, wrong.max_points, wrong.slip) == (False, 0.0, 2.0, "choice")
    assert wrong.message == "Not yet. Not this one."  # no explanation given: a hint that names no choice
    taught = ChoiceQuestion("Which is the rate?", ("quantity", "rate"), lambda: 1, explanation="A capital S.")
    assert check(taught, "quantity").message == "Not yet. A capital S."
    for unreadable in (3, -1, True, "maybe", 1.0):  # out of range, negative, a bool, a word, a float
        verdict = check(question, unreadable)
        assert (verdict.correct, verdict.points, verdict.max_points, verdict.slip) == (False, 0.0, 2.0, "format")
        assert verdict.message == (f'Could not read "{unreadable}" as a choice: pick one of "quantity", "rate", '
                                   '"neither".')
    assert check(question, None).message == "There is no answer yet: pick one of the choices."


# --------------------------------------------------------------------------- what a verdict shows
def rgb(html_text):
    colour = re.search(r'style="color: #([0-9a-fA-F]{6})"', html_text).group(1)
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def test_a_verdict_shows_nbgrader_its_points_and_the_student_a_coloured_message():
    from IPython.lib.pretty import pretty
    question = Question("output_shape", LESSON)
    right, partial, wrong = (grade(question, answer, points=2) for answer in ((SIDE, SIDE, 64), (SIDE, SIDE, 9),
                                                                              (1, 1, 1)))
    assert [pretty(v) for v in (right, partial, wrong)] == ["2.0", repr(2 * HALF), "0.0"]
    assert str(wrong) == wrong.message and str(right) == "Correct."
    (r1, g1, b1), (r2, g2, b2), (r3, g3, b3) = (rgb(v._repr_html_()) for v in (right, partial, wrong))
    assert g1 > max(r1, b1)                  # right: green
    assert min(r2, g2) > b2 and r2 > g2      # partly right: amber (red and green, little blue)
    assert r3 > max(g3, b3)                  # wrong: red
    assert len({(r1, g1, b1), (r2, g2, b2), (r3, g3, b3)}) == 3
    assert wrong._repr_html_().startswith('<div class="enn-verdict" ') and wrong._repr_html_().endswith("</div>")


def test_the_html_message_is_escaped():
    from efficientnn.quiz import ChoiceQuestion
    question = ChoiceQuestion("Which?", ("a", "b"), lambda: 0)
    shown = check(question, "<b>x</b>")._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in shown and "<b>" not in shown


def test_check_refuses_what_is_not_a_question_and_names_it():
    with pytest.raises(ValueError, match=r"^question must be a Question, a ChoiceQuestion or have a check_answer "
                                         r"method, got str\.$"):
        check("conv1_flops", "60K")


class Timed:
    """A question of its own kind: its own expected value and check."""

    points = 3

    def expected(self):
        return 0.25

    def check_answer(self, answer, max_points):
        from efficientnn.quiz.check import Verdict
        return Verdict(answer == 0.25, max_points if answer == 0.25 else 0.0, max_points, f"own {answer}", "own")


def test_a_question_of_its_own_kind_checks_itself():
    verdict = check(Timed(), 0.5)
    assert (verdict.correct, verdict.points, verdict.max_points, verdict.message, verdict.slip) == \
        (False, 0.0, 3.0, "own 0.5", "own")
    assert type(verdict.max_points) is float and verdict.expected is None
    assert check(Timed(), 0.25, reveal=True).expected == 0.25 and check(Timed(), 0.25, reveal=True).correct
    blank = check(Timed(), None)
    assert (blank.correct, blank.points, blank.max_points, blank.message, blank.slip) == \
        (False, 0.0, 3.0, "There is no answer yet: write a number.", "no_answer")


def test_no_answer_yet_says_what_to_write():
    shape = check(Question("output_shape", LESSON, points=2), "")
    assert (shape.correct, shape.points, shape.max_points, shape.slip) == (False, 0.0, 2.0, "no_answer")
    assert shape.message == "There is no answer yet: write a shape as HxWxD."
    assert check(Question("macs", LESSON), ...).message == "There is no answer yet: write a number."


def test_reveal_gives_the_right_answer_to_instructors_only():
    for kind, right in (("output_shape", (SIDE, SIDE, 64)), ("macs", MACS), ("flops", FLOPS)):
        question = Question(kind, LESSON)
        assert check(question, 1, reveal=True).expected == right and check(question, 1).expected is None


def test_grade_scales_to_the_cells_points():
    question = Question("output_shape", LESSON, points=4)
    partial = grade(question, (SIDE, SIDE, 9))
    assert (partial.points, partial.max_points) == (HALF * 4, 4.0)
    scaled = grade(question, (SIDE, SIDE, 9), points=1.5)
    assert (scaled.points, scaled.max_points) == (HALF * 1.5, 1.5)
    for bad in (0, -2):
        with pytest.raises(ValueError, match=rf"^points must be positive, got {bad}\.$"):
            grade(question, (SIDE, SIDE, 9), points=bad)


# --------------------------------------------------------------------------- the typical wrong answers, in full
# Every candidate below is computed from the lesson's formulas: a side is floor((n + 2p - k) / s) + 1, a
# convolution's MACs are output positions x filters x kernel height x width x input depth, FLOPs twice that.
BATCHES = (8, 10, 16, 32, 64, 100, 128, 256)  # the batch sizes the lesson's notebooks use


def ceil_side(n, k, s=1, p=0):
    return -(-(n + 2 * p - k) // s) + 1


def with_unit(structural, unit, factor):
    """The structural slips, each also combined with giving the other unit."""
    return structural + [(f"{unit}+{name}", value * factor) for name, value in structural]


def counts_tail(exact, batch=True):
    return ([("batch", exact * b) for b in BATCHES] if batch else []) + [("units_confused", exact * 1000),
                                                                          ("units_confused", exact / 1000)]


def candidates(question):
    from efficientnn.quiz import slip_candidates
    return slip_candidates(question)


def first_of_each(pairs):
    """The documented rule: a value a slip before it already gave is not listed again."""
    out, seen = [], set()
    for name, value in pairs:
        if value not in seen:
            seen.add(value)
            out.append((name, value))
    return out


def test_the_lessons_layer_candidates():
    h, k, c, f, o = 25, 7, 9, 64, SIDE
    assert candidates(Question("output_shape", LESSON)) == [
        ("plus_one_missing", (o - 1, o - 1, f)),
        ("depth_subtracted", (h - c, h - c, f)), ("depth_subtracted", (h - c + 1, h - c + 1, f)),
        ("shrink_by_one", (h - 1, h - 1, f)),
        ("padding_assumed", (h, h, f)),
        ("depth_from_input", (o, o, c)),
        ("channels_first", (f, o, o))]
    per = f * k * k * c  # MACs per output position
    spatial = [("plus_one_missing", per * (o - 1) ** 2), ("depth_subtracted", per * (h - c) ** 2),
               ("depth_subtracted", per * (h - c + 1) ** 2), ("shrink_by_one", per * (h - 1) ** 2),
               ("padding_assumed", per * h * h)]
    structural = spatial + [("input_depth_left_out", o * o * f * k * k), ("filters_left_out", o * o * k * k * c),
                            ("bias_counted", MACS + o * o * f)]
    assert candidates(Question("macs", LESSON)) == ([("flops_for_macs", 2 * MACS)]
                                                   + with_unit(structural, "flops_for_macs", 2) + counts_tail(MACS))
    structural = [(name, 2 * value) for name, value in spatial] + [
        ("input_depth_left_out", 2 * o * o * f * k * k), ("filters_left_out", 2 * o * o * k * k * c),
        ("bias_counted", FLOPS + o * o * f)]  # one addition per output value
    assert candidates(Question("flops", LESSON)) == ([("macs_for_flops", MACS)]
                                                    + with_unit(structural, "macs_for_flops", 0.5) + counts_tail(FLOPS))
    params = k * k * c * f + f
    assert candidates(Question("params", LESSON)) == [("bias_forgotten", params - f), ("input_depth_left_out",
                                                                                         k * k * f + f)] + \
        counts_tail(params, batch=False)


def test_stride_and_padding_candidates_when_every_rule_gives_another_number():
    # 13x11x3, 3x3 kernels, stride 3, padding 2: the stride leaves a remainder along the height
    layer = LayerSpec("conv", (13, 11, 3), kernel_size=3, filters=4, stride=3, padding=2)
    ho, wo = side(13, 3, 3, 2), side(11, 3, 3, 2)
    assert (ho, wo) == (5, 5)
    assert candidates(Question("output_shape", layer)) == [
        ("plus_one_missing", (ho - 1, wo - 1, 4)),
        ("stride_ignored", (side(13, 3, 1, 2), side(11, 3, 1, 2), 4)),
        ("stride_not_floored", (ceil_side(13, 3, 3, 2), ceil_side(11, 3, 3, 2), 4)),
        ("padding_one_side", (side(13 - 2, 3, 3, 2), side(11 - 2, 3, 3, 2), 4)),
        ("padding_ignored", (side(13, 3, 3), side(11, 3, 3), 4)),
        ("depth_from_input", (ho, wo, 3)),
        ("channels_first", (4, ho, wo))]


def test_a_non_square_kernel_and_padding_pair_are_read_per_side():
    layer = LayerSpec("conv", (11, 9, 3), kernel_size=(3, 5), filters=4, padding=(2, 1))
    ho, wo = side(11, 3, 1, 2), side(9, 5, 1, 1)
    assert candidates(Question("output_shape", layer)) == [
        ("plus_one_missing", (ho - 1, wo - 1, 4)),
        ("shrink_by_one", (11 + 4 - 1, 9 + 2 - 1, 4)),
        ("padding_one_side", (side(11 - 2, 3, 1, 2), side(9 - 1, 5, 1, 1), 4)),
        ("padding_ignored", (side(11, 3), side(9, 5), 4)),
        ("depth_from_input", (ho, wo, 3)),
        ("channels_first", (4, ho, wo))]


def test_depthwise_candidates():
    layer = LayerSpec("depthwise", (10, 10, 4), kernel_size=3, depth_multiplier=2)
    o, c, m, k = side(10, 3), 4, 2, 3
    assert candidates(Question("output_shape", layer)) == [
        ("plus_one_missing", (o - 1, o - 1, c * m)), ("depth_subtracted", (10 - c, 10 - c, c * m)),
        ("shrink_by_one", (9, 9, c * m)), ("padding_assumed", (10, 10, c * m)),
        ("depth_multiplier_ignored", (o, o, c))]
    macs = o * o * c * m * k * k  # each output channel reads one input channel
    per = c * m * k * k
    structural = [("plus_one_missing", per * (o - 1) ** 2), ("depth_subtracted", per * (10 - c) ** 2),
                  ("shrink_by_one", per * 81), ("padding_assumed", per * 100),
                  ("standard_conv_counted", o * o * c * m * k * k * c), ("input_depth_left_out", o * o * m * k * k),
                  ("bias_counted", macs + o * o * c * m)]
    assert candidates(Question("macs", layer)) == first_of_each([("flops_for_macs", 2 * macs)]  # 8 x macs is
                                                                + with_unit(structural, "flops_for_macs", 2)  # the
                                                                + counts_tail(macs))  # doubled standard count
    assert ("batch", 8 * macs) not in candidates(Question("macs", layer))
    params = k * k * c * m + c * m
    assert candidates(Question("params", layer)) == [("bias_forgotten", params - c * m)] + \
        counts_tail(params, batch=False)


def test_separable_candidates():
    layer = LayerSpec("separable", (10, 10, 4), kernel_size=3, filters=6)
    o, c, k, f = side(10, 3), 4, 3, 6
    depthwise, pointwise, standard = o * o * c * k * k, o * o * c * f, o * o * f * k * k * c
    params = k * k * c + c * f + f
    assert candidates(Question("params", layer)) == [
        ("standard_conv_counted", k * k * c * f + f), ("depthwise_left_out", c * f + f),
        ("pointwise_left_out", k * k * c), ("depthwise_bias", params + c), ("bias_forgotten", params - f)] + \
        counts_tail(params, batch=False)
    ratio = (depthwise + pointwise) / standard
    got = candidates(Question("ratio", layer))
    assert [name for name, _ in got] == ["ratio_inverted", "pointwise_left_out", "depthwise_left_out",
                                         "percent_as_number"]
    assert [value for _, value in got] == pytest.approx([1 / ratio, depthwise / standard, pointwise / standard,
                                                         100 * ratio], rel=1e-12)
    macs = depthwise + pointwise
    assert candidates(Question("macs", layer))[5:9] == [
        ("standard_conv_counted", standard), ("pointwise_left_out", depthwise), ("depthwise_left_out", pointwise),
        ("bias_counted", macs + o * o * f)]
    assert candidates(Question("output_shape", layer))[-2:] == [("depth_from_input", (o, o, c)),
                                                                ("channels_first", (f, o, o))]


def test_pooling_candidates():
    layer = LayerSpec("maxpool", (9, 9, 3), kernel_size=2)  # stride 2 by default, 1 pixel left over
    o = side(9, 2, 2)
    assert candidates(Question("output_shape", layer)) == [
        ("plus_one_missing", (o - 1, o - 1, 3)), ("stride_ignored", (side(9, 2), side(9, 2), 3)),
        ("stride_not_floored", (ceil_side(9, 2, 2), ceil_side(9, 2, 2), 3)), ("channels_first", (3, o, o))]
    flops = o * o * 3 * (2 * 2 - 1)  # k*k - 1 comparisons per output value
    assert candidates(Question("flops", layer)) == [
        ("plus_one_missing", (o - 1) ** 2 * 3 * 3), ("stride_ignored", side(9, 2) ** 2 * 3 * 3),
        ("stride_not_floored", ceil_side(9, 2, 2) ** 2 * 3 * 3),
        ("pool_count_off_by_one", o * o * 3 * 2 * 2)] + counts_tail(flops)  # average pooling: k*k - 1 adds, 1 divide
    assert candidates(Question("macs", layer)) == [("pool_has_macs", flops)]
    assert candidates(Question("params", layer)) == []


def test_dense_candidates():
    layer = LayerSpec("dense", (100,), units=10)
    assert candidates(Question("macs", layer)) == [
        ("flops_for_macs", 2000), ("bias_counted", 1010), ("flops_for_macs+bias_counted", 2020)] + counts_tail(1000)
    assert candidates(Question("flops", layer)) == [
        ("macs_for_flops", 1000), ("bias_counted", 2010), ("macs_for_flops+bias_counted", 1005)] + counts_tail(2000)
    assert candidates(Question("params", layer)) == [("bias_forgotten", 1000)] + counts_tail(1010, batch=False)
    assert candidates(Question("output_shape", layer)) == []


# --------------------------------------------------------------------------- slips made in a layer before the one asked
# A small model: 21x21x1 -> conv 3x3, 4 filters -> max pool 2 -> conv 3x3, 6 filters -> max pool 2 -> dense 10.
CONV_A = LayerSpec("conv", (21, 21, 1), kernel_size=3, filters=4)
POOL_1 = LayerSpec("maxpool", (19, 19, 4), kernel_size=2)
CONV_B = LayerSpec("conv", (9, 9, 4), kernel_size=3, filters=6)
POOL_2 = LayerSpec("maxpool", (7, 7, 6), kernel_size=2)
DENSE = LayerSpec("dense", (54,), units=10)


def through(steps, shape):
    """Run a shape through ("conv", filters, same_size) / ("pool", ceil) steps with the lesson's side rule."""
    h, w, c = shape
    for step in steps:
        if step[0] == "conv":
            h, w, c = (h, w, step[1]) if step[2] else (side(h, 3), side(w, 3), step[1])
        else:
            rule = ceil_side if step[1] else side
            h, w = rule(h, 2, 2), rule(w, 2, 2)
    return h, w, c


A, P, PC, B = ("conv", 4, False), ("pool", False), ("pool", True), ("conv", 6, False)
A_SAME, B_SAME = ("conv", 4, True), ("conv", 6, True)


def test_upstream_slips_of_a_dense_layer_follow_the_model():
    def macs(steps):
        return math.prod(through(steps, (21, 21, 1))) * 10
    exact = macs([A, P, B, P])
    assert exact == 540
    question = Question("macs", DENSE, upstream=(CONV_A, POOL_1, CONV_B, POOL_2))
    h, w, _ = through([A, P, B, P], (21, 21, 1))
    upstream = [("ceil_pooling", macs([A, PC, B, P])), ("ceil_pooling", macs([A, P, B, PC])),
                ("ceil_pooling", macs([A, PC, B, PC])),
                ("pooling_forgotten", macs([A, B, P])), ("pool_before_conv", macs([P, A, B, P])),
                ("pooling_forgotten", macs([A, P, B])), ("pool_before_conv", macs([A, P, P, B])),
                ("pooling_forgotten", macs([A, B])),
                ("layer_skipped", macs([A])), ("layer_skipped", macs([A, P])), ("layer_skipped", macs([A, P, B])),
                ("padding_assumed", macs([A_SAME, P, B, P])), ("padding_assumed", macs([A, P, B_SAME, P])),
                ("flatten_depth_left_out", h * w * 10)]
    want = [("flops_for_macs", 2 * exact), ("bias_counted", exact + 10), ("flops_for_macs+bias_counted",
                                                                          2 * (exact + 10))]
    want += [(name, value) for name, value in upstream if value != exact] + counts_tail(exact)
    assert candidates(question) == first_of_each(want)
    assert check(question, macs([A, B])).slip == "pooling_forgotten"
    assert check(question, macs([A, PC, B, P])).slip == "ceil_pooling"


def test_upstream_slips_of_a_pooling_layer_include_pooling_the_convolutions_input():
    question = Question("output_shape", POOL_2, upstream=(CONV_A, POOL_1, CONV_B))
    exact = through([A, P, B, P], (21, 21, 1))
    o = exact[0]
    own = [("plus_one_missing", (o - 1, o - 1, 6)), ("stride_ignored", (side(7, 2), side(7, 2), 6)),
           ("stride_not_floored", (ceil_side(7, 2, 2), ceil_side(7, 2, 2), 6)), ("channels_first", (6, o, o))]
    before = [("pool_before_conv", (side(9, 2, 2), side(9, 2, 2), 4)),  # this pool on the conv's input,
              ("pool_before_conv", (side(9, 2, 2), side(9, 2, 2), 6))]  # with either depth
    upstream = [("ceil_pooling", through([A, PC, B, P], (21, 21, 1))),
                ("pooling_forgotten", through([A, B, P], (21, 21, 1))),
                ("pool_before_conv", through([P, A, B, P], (21, 21, 1))),
                ("layer_skipped", through([A, P], (21, 21, 1))), ("layer_skipped", through([A, P, P], (21, 21, 1))),
                ("padding_assumed", through([A_SAME, P, B, P], (21, 21, 1))),
                ("padding_assumed", through([A, P, B_SAME, P], (21, 21, 1)))]
    want = [(name, value) for name, value in own + before + upstream if value != exact]
    assert candidates(question) == first_of_each(want)
    flops = Question("flops", POOL_2, upstream=(CONV_A, POOL_1, CONV_B))
    assert ("pool_before_conv", math.prod(before[0][1]) * 3) in candidates(flops)
    assert ("layer_skipped", math.prod(through([A, P], (21, 21, 1))) * 3) in candidates(flops)


# --------------------------------------------------------------------------- shapes: partial credit and what is said
def test_a_wrong_depth_is_named_by_the_rule_of_the_layer_kind():
    pool = LayerSpec("maxpool", (9, 9, 3), kernel_size=2)
    o = side(9, 2, 2)
    verdict = check(Question("output_shape", pool, points=2), (o, o, 5))
    assert (verdict.points, verdict.max_points, verdict.slip) == (HALF * 2, 2.0, "pool_keeps_depth")
    concepts(verdict.message, present=[r"^Partly right\. The height and width are right; the depth is not\. ",
                                       r"each channel on its own", r"as many channels as the input"])
    assert verdict.message.count("the depth is not") == 1
    depthwise = LayerSpec("depthwise", (10, 10, 4), kernel_size=3, depth_multiplier=2)
    verdict = check(Question("output_shape", depthwise), (8, 8, 5))
    assert verdict.points == HALF and verdict.slip == "depth_multiplier_ignored"
    concepts(verdict.message, present=[r"^Partly right\. A depthwise convolution with depth multiplier M makes M "
                                       r"output channels"])  # its own rule: no second "depth is not" before it
    separable = LayerSpec("separable", (10, 10, 4), kernel_size=3, filters=6)
    assert check(Question("output_shape", separable), (8, 8, 5)).slip == "depth_is_filters"
    verdict = check(Question("output_shape", LESSON), (SIDE, SIDE, 9))  # a slip of its own: the rule is added
    assert verdict.slip == "depth_from_input" and verdict.points == HALF
    concepts(verdict.message, present=[r"^Partly right\. The height and width are right; the depth is not\. The "
                                       r"output depth of a convolution is its number of filters"])
    missing = check(Question("output_shape", LESSON), f"{SIDE}x{SIDE}")
    assert missing.slip == "depth_missing" and missing.points == HALF
    assert missing.message.startswith("Partly right. The height and width are right; now add the depth")
    assert "the depth is not" not in missing.message


def test_a_wrong_shape_is_named_by_its_height_and_width_or_its_length():
    question = Question("output_shape", LESSON)
    slipped = check(question, (SIDE - 1, SIDE - 1, 9))  # the +1 missing, and the depth wrong as well
    assert (slipped.points, slipped.slip) == (0.0, "plus_one_missing") and re.search(r"\+1", slipped.message)
    too_long = check(question, (SIDE, SIDE, 64, 1))
    assert too_long.slip == "wrong_length" and re.search(r"Count the numbers.*HxWxD.*\(N,\)", too_long.message)
    assert check(question, (SIDE, SIDE, 64, 1)).points == 0
    lost = check(question, (40, 40, 64))
    assert lost.slip is None and lost.points == 0
    assert re.search(r"^Not yet\. Work out each side with floor\(\(n \+ 2p - k\) / s\) \+ 1\.", lost.message)
    assert check(question, "19 by 19").slip == "format" and check(question, "19 by 19").points == 0
    assert re.search(r"HxWxD", check(question, "19 by 19").message)
    assert check(question, (7,)).slip == "wrong_length"
    assert check(question, (SIDE, 7)).slip == "wrong_length"  # two numbers, the height and width not right


def test_a_flat_shape_is_checked_by_its_length():
    question = Question("output_shape", LayerSpec("dense", (100,), units=10))
    assert check(question, "(10,)").correct and check(question, 10).correct
    assert check(question, (10, 1)).slip == "wrong_length" and check(question, (10, 1)).points == 0
    verdict = check(question, (11,))
    assert verdict.slip is None and verdict.points == 0


# --------------------------------------------------------------------------- counts: rounding, closeness, hints
DENSE_69984 = LayerSpec("dense", (1458,), units=48)   # 1458 x 48 = 69,984 MACs, the docstring's example


def test_a_correct_but_coarse_rounding_is_named_as_such():
    question = Question("macs", DENSE_69984)
    assert check(question, "70K").correct and check(question, "~70000").correct and check(question, "7.00e4").correct
    for coarse in ("0.1M", "100000", "~100K"):  # 69,984 rounded to one digit: 43% off
        verdict = check(question, coarse)
        assert verdict.slip == "coarse_rounding", coarse
        concepts(verdict.message, present=[r"too coarsely", r"5%", r"three significant digits"])
    assert not check(question, "69K").correct and check(question, "69K").slip != "coarse_rounding"


def test_a_close_count_says_exact_or_marked():
    question = Question("macs", LayerSpec("dense", (1458,), units=480))  # 699,840
    verdict = check(question, "700000")  # a plain number is a claim of the exact count
    assert verdict.slip == "close" and re.search(r"Give the exact count.*K, M or G", verdict.message)
    assert check(question, "700K").correct
    small = Question("macs", LayerSpec("dense", (1234,), units=1))
    assert check(small, "1000").slip == "coarse_rounding"   # three trailing zeros: a rounding
    assert check(small, "1200").slip == "close"             # two: a count that is close
    assert check(small, "1240").slip == "close"
    assert check(small, "1300").slip is None and check(small, "1300").message == (
        "Not yet. Count one MAC per weight used per output value: the number of output values times the weights "
        "each one uses.")


def test_a_miss_without_a_slip_gets_the_hint_for_its_kind():
    pool = LayerSpec("maxpool", (9, 9, 3), kernel_size=2)
    concepts(check(Question("flops", pool), 7).message, present=[r"^Not yet\. Pooling has no weights", r"comparisons"])
    concepts(check(Question("flops", LESSON), 7).message, present=[r"^Not yet\. Work out the MACs first"])
    concepts(check(Question("params", LESSON), 7).message, present=[r"^Not yet\. Count the weights", r"one bias"])
    ratio = Question("ratio", LayerSpec("separable", (10, 10, 4), kernel_size=3, filters=6))
    concepts(check(ratio, 0.9).message, present=[r"^Not yet\. Compute both MAC counts", r"divide"])
    assert check(Question("macs", LESSON), "sixty").slip == "format"


def test_exact_claims_allow_only_float_noise():
    from efficientnn.quiz import ParsedNumber, matches
    assert matches(ParsedNumber(0.25 + 5e-10, False, ""), 0.25)
    assert not matches(ParsedNumber(0.25 + 1.5e-9, False, ""), 0.25)  # float noise is 1e-9 below 1
    assert matches(ParsedNumber(1e6 + 5e-4, False, ""), 1e6) and not matches(ParsedNumber(1e6 + 2e-3, False, ""), 1e6)
    # a rounded answer with no written digits (a Python float for a ratio) gets 1%, not half a unit
    assert matches(ParsedNumber(101.0, True, "", None), 100) and not matches(ParsedNumber(101.5, True, "", None), 100)
    assert matches(ParsedNumber(0.101, True, "", None), 0.1) and not matches(ParsedNumber(0.1015, True, "", None), 0.1)


@pytest.mark.parametrize("h, w, c, k, f, s", [(28, 28, 1, 3, 5, 1), (14, 11, 3, 3, 4, 2), (4, 4, 2, 3, 3, 1),
                                              (9, 9, 2, 2, 3, 1)])
def test_shape_candidates_of_unpadded_convolutions(h, w, c, k, f, s):
    """Each rule, written out: which slips a layer can show depends on its stride, depth and kernel."""
    ho, wo = side(h, k, s), side(w, k, s)
    want = []
    if ho > 1 and wo > 1:
        want.append(("plus_one_missing", (ho - 1, wo - 1, f)))
    if s == 1 and c > 1 and c != k:  # a depth of 1 subtracted looks like shrinking by one, so it is left out
        want += [("depth_subtracted", (h - c, w - c, f)), ("depth_subtracted", (h - c + 1, w - c + 1, f))]
    if s == 1 and k > 2:             # shrinking a side by one is right for a 2-wide kernel
        want.append(("shrink_by_one", (h - 1, w - 1, f)))
    if s > 1:
        want += [("stride_ignored", (side(h, k), side(w, k), f)),
                 ("stride_not_floored", (ceil_side(h, k, s), ceil_side(w, k, s), f))]
    want += [("padding_assumed", (-(-h // s), -(-w // s), f)), ("depth_from_input", (ho, wo, c)),  # "same": ceil(n / s)
             ("channels_first", (f, ho, wo))]
    want = [(name, value) for name, value in want if value != (ho, wo, f)]
    layer = LayerSpec("conv", (h, w, c), kernel_size=k, filters=f, stride=s)
    assert candidates(Question("output_shape", layer)) == first_of_each(want)


# --------------------------------------------------------------------------- the tolerance rule, at its edges
@pytest.mark.parametrize("text, target, ok", [
    ("1.1K", 1050, True),      # exactly half a unit (50) off
    ("1.1K", 1049, False),     # 51 off: more than half a unit and more than 1%
    ("~1010", 1000, True),     # 1% off
    ("~1011", 1000, False),
    ("~990", 1000, True),
    ("0.1M", 104_000, True),   # within half a unit and within 5%
    ("0.1M", 106_000, False),  # within half a unit but 6% off
    ("1000", 1000, True),
    ("1001", 1000, False),
    ("1.5", 1.5, True),
    ("-3", -3, True),
    ("~-3.03", -3, True),      # 1% of the size, for a negative target too
    ("~-3.04", -3, False),
])
def test_tolerance_edges(text, target, ok):
    from efficientnn.quiz import matches, parse_number
    assert matches(parse_number(text), target) is ok


def test_rounded_answers_within_the_rule_are_right_and_plain_ones_must_be_exact():
    for answer in ("20.4M", "20.38M", "~20.4M", "2.04e7", "20,377,728", FLOPS, float(FLOPS), f"~{FLOPS - 10}",
                   "20377.7K", "0.0204G"):
        verdict = check(Question("flops", LESSON), answer)
        assert verdict.correct and verdict.points == 1.0 and verdict.message == "Correct.", answer
    for answer in (FLOPS + 1, FLOPS - 1, "20377000", "20.1M", "21M"):  # plain and off, or not a rounding
        assert not check(Question("flops", LESSON), answer).correct, answer
    assert check(Question("flops", LESSON), "20.1M").slip == "close"  # 1.4% off, and not a rounding of 20.38M


def test_a_wrong_answer_is_matched_to_a_slip_within_the_same_tolerance():
    question = Question("flops", LESSON)
    assert check(question, f"{MACS / 1e6:.1f}M").slip == "macs_for_flops"
    assert check(question, f"~{MACS}").slip == "macs_for_flops"
    assert check(question, FLOPS * 32).slip == "batch" and check(question, FLOPS / 1000).slip == "units_confused"
    verdict = check(Question("flops", LayerSpec("conv", (20, 20, 2), 3, filters=6)), "35.0K")
    assert verdict.slip == "macs_for_flops"  # 18 x 18 x 6 x 3 x 3 x 2 = 34,992 MACs


def test_ratio_answers_are_always_read_as_rounded_to_one_percent():
    layer = LayerSpec("separable", (56, 56, 64), kernel_size=3, filters=128)
    question = Question("ratio", layer)
    ratio = 1 / 128 + 1 / 9  # (depthwise + pointwise) / standard, the lesson's formula
    for answer in (ratio, ratio * 1.0099, ratio * 0.991, f"{ratio:.3f}", f"{ratio * 100:.1f}%", f"1/{1 / ratio:.2f}"):
        assert check(question, answer).correct, answer
    for answer in (ratio * 1.011, ratio * 0.989):
        assert check(question, answer).slip == "close_ratio", answer
    concepts(check(question, ratio * 1.02).message, present=[r"more than 1% off", r"ratio"])
    assert check(question, 1 / ratio).slip == "ratio_inverted"
    assert check(question, 100 * ratio).slip == "percent_as_number"
    assert check(question, 1 / 9).slip == "depthwise_left_out" and check(question, 1 / 128).slip == "pointwise_left_out"


def test_assert_correct_raises_the_teaching_message_or_returns_none():
    from efficientnn.quiz import assert_correct
    assert assert_correct(Question("flops", LESSON), FLOPS) is None
    with pytest.raises(AssertionError) as err:
        assert_correct(Question("flops", LESSON), MACS)
    concepts(str(err.value), present=[r"^Not yet\. ", r"asks for FLOPs"], absent=[str(FLOPS), f"{FLOPS:,}"])
    with pytest.raises(AssertionError, match=r"^There is no answer yet"):
        assert_correct(Question("flops", LESSON), None)
    with pytest.raises(AssertionError, match=r"^Partly right"):
        assert_correct(Question("output_shape", LESSON), (SIDE, SIDE, 9))


def test_a_marked_rounding_of_the_right_count_is_a_rounding_slip_even_near_another_slip():
    question = Question("macs", LayerSpec("dense", (10,), units=180))  # 1,800 MACs; with the biases 1,980
    verdict = check(question, "2K")  # 1,800 rounded to one digit, 11% off; also within rounding of 1,980
    assert verdict.slip == "coarse_rounding" and verdict.points == 0
    assert check(question, 1980).slip == "bias_counted"


def test_an_unreadable_answer_gets_the_form_expected():
    for question, answer, form in ((Question("macs", LESSON), "sixty", r"such as 12345"),
                                   (Question("output_shape", LESSON), "19 by 19", r"HxWxD")):
        verdict = check(question, answer)
        assert (verdict.correct, verdict.points, verdict.slip) == (False, 0.0, "format")
        assert verdict.message.startswith(f'Could not read "{answer}" as a ') and re.search(form, verdict.message)


def test_a_strided_convolution_upstream_assumed_to_keep_its_size_keeps_all_of_it():
    strided = LayerSpec("conv", (20, 20, 1), kernel_size=3, filters=4, stride=2)   # 20 -> 9
    after = LayerSpec("conv", (side(20, 3, 2), side(20, 3, 2), 4), kernel_size=3, filters=6)
    got = candidates(Question("output_shape", after, upstream=(strided,)))
    assert ("padding_assumed", (side(20, 3), side(20, 3), 6)) in got  # the input's 20 pixels, not 20 / 2


def test_slips_upstream_of_two_dense_layers_are_run_through_both():
    first = LayerSpec("dense", (324,), units=32)
    second = LayerSpec("dense", (32,), units=8)
    asked = LayerSpec("dense", (8,), units=10)
    got = candidates(Question("macs", asked, upstream=(CONV_A, POOL_1, first, second)))
    # a layer skipped: the first dense layer's 32 outputs taken as the asked layer's inputs
    assert ("layer_skipped", 32 * 10) in got
    assert ("layer_skipped", math.prod(through([A, P], (21, 21, 1))) * 10) in got


def test_a_number_verdict_is_out_of_the_questions_points():
    question = Question("macs", LESSON, points=2)
    for answer in (MACS, MACS + 1, "sixty"):
        verdict = check(question, answer)
        assert verdict.max_points == 2.0 and type(verdict.max_points) is float
    assert check(question, MACS).points == 2.0


def test_average_pooling_candidates_count_the_division():
    layer = LayerSpec("avgpool", (9, 9, 3), kernel_size=2)
    o = side(9, 2, 2)
    flops = o * o * 3 * 2 * 2  # k*k - 1 additions and one division per output value
    assert candidates(Question("flops", layer)) == [
        ("plus_one_missing", (o - 1) ** 2 * 3 * 4), ("stride_ignored", side(9, 2) ** 2 * 3 * 4),
        ("stride_not_floored", ceil_side(9, 2, 2) ** 2 * 3 * 4),
        ("pool_count_off_by_one", o * o * 3 * (2 * 2 - 1))] + counts_tail(flops)  # max pooling's comparisons


def test_a_strided_separable_layer_keeps_its_stride_in_every_part():
    layer = LayerSpec("separable", (11, 11, 4), kernel_size=3, filters=6, stride=2)
    o, c, k, f = side(11, 3, 2), 4, 3, 6
    depthwise, pointwise, standard = o * o * c * k * k, o * o * c * f, o * o * f * k * k * c
    got = candidates(Question("ratio", layer))
    assert [name for name, _ in got] == ["ratio_inverted", "pointwise_left_out", "depthwise_left_out",
                                         "percent_as_number"]
    ratio = 1 / f + 1 / k ** 2  # the lesson's formula, the same for any stride
    assert [value for _, value in got] == pytest.approx([1 / ratio, 1 / f, 1 / k ** 2, 100 * ratio], rel=1e-12)
    macs = candidates(Question("macs", layer))
    assert ("pointwise_left_out", depthwise) in macs and ("depthwise_left_out", pointwise) in macs
    assert ("standard_conv_counted", standard) in macs


def test_two_filters_can_be_counted_as_one():
    layer = LayerSpec("conv", (8, 8, 3), kernel_size=3, filters=2)
    o = side(8, 3)
    assert ("filters_left_out", o * o * 3 * 3 * 3) in candidates(Question("macs", layer))
    assert check(Question("macs", layer), o * o * 3 * 3 * 3).slip == "filters_left_out"


def test_pooling_rounded_up_one_layer_or_every_layer():
    # 21x21x1 -> conv -> 19x19x4 -> pool: 9x9x4, or 10x10x4 if the pool kept the partial window
    one_pool = Question("macs", LayerSpec("dense", (324,), units=10), upstream=(CONV_A, POOL_1))
    assert ("ceil_pooling", 10 * 10 * 4 * 10) in candidates(one_pool)
    # 15x15x1: the pools round down to 2x2x6; only rounding up at both pools changes it (to 3x3x6)
    small = (LayerSpec("conv", (15, 15, 1), kernel_size=3, filters=4), LayerSpec("maxpool", (13, 13, 4), kernel_size=2),
             LayerSpec("conv", (6, 6, 4), kernel_size=3, filters=6), LayerSpec("maxpool", (4, 4, 6), kernel_size=2))
    assert through([A, P, B, P], (15, 15, 1)) == (2, 2, 6)
    assert through([A, PC, B, P], (15, 15, 1)) == through([A, P, B, PC], (15, 15, 1)) == (2, 2, 6)
    both = through([A, PC, B, PC], (15, 15, 1))
    assert both == (3, 3, 6)
    got = candidates(Question("macs", LayerSpec("dense", (24,), units=10), upstream=small))
    assert ("ceil_pooling", math.prod(both) * 10) in got


def test_a_pool_after_a_separable_or_depthwise_layer_can_be_applied_to_its_input():
    for before in (LayerSpec("separable", (10, 10, 4), kernel_size=3, filters=6),
                   LayerSpec("depthwise", (10, 10, 6), kernel_size=3)):
        pool = LayerSpec("maxpool", (side(10, 3), side(10, 3), 6), kernel_size=2)
        got = candidates(Question("output_shape", pool, upstream=(before,)))
        assert ("pool_before_conv", (side(10, 2, 2), side(10, 2, 2), before.input_shape[2])) in got, before.kind


def test_separable_parameter_slips_with_a_depth_multiplier():
    layer = LayerSpec("separable", (10, 10, 4), kernel_size=3, filters=6, depth_multiplier=2)
    k, c, m, f = 3, 4, 2, 6
    params = k * k * c * m + c * m * f + f  # depthwise kernels, pointwise kernels, one bias per filter
    assert candidates(Question("params", layer)) == [
        ("standard_conv_counted", k * k * c * f + f), ("depthwise_left_out", c * m * f + f),
        ("pointwise_left_out", k * k * c * m), ("depthwise_bias", params + c * m), ("bias_forgotten", params - f)] + \
        counts_tail(params, batch=False)


def test_slip_values_keep_what_slip_candidates_drop():
    from efficientnn.quiz.check import slip_values
    depthwise = Question("macs", LayerSpec("depthwise", (10, 10, 4), kernel_size=3, depth_multiplier=2))
    macs = side(10, 3) ** 2 * 4 * 2 * 3 * 3
    assert ("batch", 8 * macs) in slip_values(depthwise) and ("batch", 8 * macs) not in candidates(depthwise)
    assert [pair for pair in slip_values(depthwise) if pair in candidates(depthwise)] == candidates(depthwise)
    strided = Question("output_shape", LayerSpec("conv", (11, 11, 3), kernel_size=3, filters=4, stride=2))
    exact = (side(11, 3, 2), side(11, 3, 2), 4)  # (11 - 3) / 2 leaves no remainder: rounding up changes nothing
    assert ("stride_not_floored", exact) in slip_values(strided)
    assert all(value != exact for _, value in candidates(strided))


def test_an_unreadable_shape_is_out_of_the_questions_points():
    verdict = check(Question("output_shape", LESSON, points=2), "19 by 19")
    assert (verdict.points, verdict.max_points) == (0.0, 2.0)


def test_a_ratio_near_a_slip_is_read_as_rounded_too():
    question = Question("ratio", LayerSpec("separable", (56, 56, 64), kernel_size=3, filters=128))
    ratio = 1 / 128 + 1 / 9
    assert check(question, 1.005 / ratio).slip == "ratio_inverted"  # 0.5% off the inverse: within the 1%


def test_two_input_channels_can_be_counted_as_one():
    layer = LayerSpec("conv", (8, 8, 2), kernel_size=3, filters=4)
    o = side(8, 3)
    assert ("input_depth_left_out", o * o * 4 * 3 * 3) in candidates(Question("macs", layer))


def test_a_dense_layer_after_a_map_can_be_given_only_its_height_and_width():
    conv1 = LayerSpec("conv", (28, 28, 1), kernel_size=3, filters=5)
    conv2 = LayerSpec("conv", (26, 26, 5), kernel_size=3, filters=5)
    fc1 = LayerSpec("dense", (24 * 24 * 5,), units=128)
    assert ("flatten_depth_left_out", side(26, 3) * side(26, 3) * 128) in candidates(
        Question("macs", fc1, upstream=(conv1, conv2)))
    two_deep = LayerSpec("conv", (10, 10, 1), kernel_size=3, filters=2)  # a map only two channels deep
    assert ("flatten_depth_left_out", 8 * 8 * 10) in candidates(
        Question("macs", LayerSpec("dense", (128,), units=10), upstream=(two_deep,)))
    assert candidates(Question("output_shape", fc1, upstream=(conv1, conv2))) == []


def test_a_model_that_starts_with_a_pool_has_no_conv_before_it_to_swap():
    pool = LayerSpec("maxpool", (20, 20, 1), kernel_size=2)
    conv = LayerSpec("conv", (10, 10, 1), kernel_size=3, filters=4)
    got = candidates(Question("macs", LayerSpec("dense", (256,), units=10), upstream=(pool, conv)))
    assert "pool_before_conv" not in [name for name, _ in got]
    assert ("pooling_forgotten", side(20, 3) ** 2 * 4 * 10) in got


def test_a_flattened_map_that_is_not_square_keeps_its_height_and_width():
    wide = LayerSpec("conv", (10, 8, 1), kernel_size=3, filters=2)  # -> 8 x 6 x 2
    got = candidates(Question("macs", LayerSpec("dense", (96,), units=10), upstream=(wide,)))
    assert ("flatten_depth_left_out", side(10, 3) * side(8, 3) * 10) in got


# --------------------------------------------------------------------------- slips at the edges of each rule
def test_a_slipped_side_of_one_pixel_is_still_named():
    # the input depth subtracted from a 5-pixel side: 5 - 5 + 1 (the +1 kept) or 5 - 4 leave a 1x1 map
    for depth, plus_one in ((5, 1), (4, 0)):
        layer = LayerSpec("conv", (5, 5, depth), kernel_size=3, filters=2)
        one = 5 - depth + plus_one
        verdict = check(Question("output_shape", layer), (one, one, 2))
        assert one == 1
        assert (verdict.correct, verdict.points, verdict.slip) == (False, 0.0, "depth_subtracted"), depth
        concepts(verdict.message, present=[r"input depth was subtracted", r"does not slide"])
    # 3x3 input, 5x5 kernel, padding 2: the padding on one side only gives 3 - 2 + 2 - 5 + 1 = 1 pixel a side
    padded = LayerSpec("conv", (3, 3, 1), kernel_size=5, padding=2, filters=2)
    assert side(3, 5, 1, 2) == 3 and side(3 - 2, 5, 1, 2) == 1
    verdict = check(Question("output_shape", padded), (1, 1, 2))
    assert verdict.slip == "padding_one_side" and verdict.points == 0
    concepts(verdict.message, present=[r"\bpadding\b", r"one side only", r"n \+ 2p"])


def test_a_strided_layer_assumed_to_keep_its_size_rounds_an_odd_side_up():
    layer = LayerSpec("conv", (11, 11, 3), kernel_size=3, filters=4, stride=2)  # "same" gives ceil(11 / 2) = 6
    verdict = check(Question("output_shape", layer), (math.ceil(11 / 2), math.ceil(11 / 2), 4))
    assert verdict.slip == "padding_assumed" and verdict.points == 0
    concepts(verdict.message, present=[r"keep the input's size", r"\bpadding\b", r"smaller"])


def test_a_depthwise_layer_with_two_input_channels_counted_as_one():
    layer = LayerSpec("depthwise", (8, 8, 2), kernel_size=3)
    o = side(8, 3)
    assert check(Question("macs", layer), o * o * 2 * 3 * 3).correct
    verdict = check(Question("macs", layer), o * o * 1 * 3 * 3)
    assert verdict.slip == "input_depth_left_out" and verdict.points == 0
    concepts(verdict.message, present=[r"input depth was left out", r"every input channel"])


def test_a_padded_separable_layer_with_a_depth_multiplier_keeps_both_in_each_part():
    layer = LayerSpec("separable", (10, 10, 4), kernel_size=3, filters=6, padding=1, depth_multiplier=2)
    o, c, m, k, f = side(10, 3, 1, 1), 4, 2, 3, 6
    depthwise, pointwise = o * o * c * m * k * k, o * o * c * m * f
    assert check(Question("macs", layer), depthwise + pointwise).correct
    only_depthwise = check(Question("macs", layer), depthwise)
    assert only_depthwise.slip == "pointwise_left_out"
    concepts(only_depthwise.message, present=[r"only the depthwise part", r"1x1 pointwise", r"add both"])
    only_pointwise = check(Question("macs", layer), pointwise)
    assert only_pointwise.slip == "depthwise_left_out"
    concepts(only_pointwise.message, present=[r"only the 1x1 pointwise part", r"depthwise part"])


def test_a_separable_layer_without_biases_counted_as_its_pointwise_step_only():
    layer = LayerSpec("separable", (10, 10, 4), kernel_size=3, filters=6, use_bias=False)
    c, k, f = 4, 3, 6
    assert check(Question("params", layer), k * k * c + c * f).correct  # no bias anywhere
    verdict = check(Question("params", layer), c * f)
    assert verdict.slip == "depthwise_left_out" and verdict.points == 0
    concepts(verdict.message, present=[r"only the 1x1 pointwise part", r"depthwise part"])


def test_a_parameter_count_after_a_forgotten_pool_is_named():
    # 21x21x1 -> conv 3x3, 4 filters -> 19x19x4 -> max pool 2 -> 9x9x4 -> dense 10
    question = Question("params", LayerSpec("dense", (324,), units=10), upstream=(CONV_A, POOL_1))
    assert check(question, 9 * 9 * 4 * 10 + 10).correct
    verdict = check(question, 19 * 19 * 4 * 10 + 10)  # the dense layer given the map before pooling
    assert verdict.slip == "pooling_forgotten" and verdict.points == 0
    concepts(verdict.message, present=[r"pooling layer was left out", r"smaller map"])


def test_an_even_kernel_upstream_that_same_padding_cannot_keep_is_skipped():
    # a 2x2 kernel has no centre: "same" padding is undefined, so "padding assumed" is no slip of it
    up = (LayerSpec("conv", (9, 9, 1), kernel_size=2, filters=4), LayerSpec("maxpool", (8, 8, 4), kernel_size=2))
    question = Question("macs", LayerSpec("dense", (64,), units=10), upstream=up)
    assert check(question, side(9, 2) // 2 * (side(9, 2) // 2) * 4 * 10).correct
    verdict = check(question, side(9, 2) ** 2 * 4 * 10)
    assert verdict.slip == "pooling_forgotten"
    assert "padding_assumed" not in [name for name, _ in candidates(question)]


def test_a_miss_on_average_pooling_gets_the_pooling_hint():
    verdict = check(Question("flops", LayerSpec("avgpool", (9, 9, 3), kernel_size=2)), 7)
    assert verdict.slip is None
    concepts(verdict.message, present=[r"^Not yet\. Pooling has no weights", r"division"], absent=[r"MACs first"])


def test_close_means_at_most_five_percent_off():
    question = Question("macs", LayerSpec("dense", (1000,), units=1))  # 1,000 MACs
    for answer, slip in ((1000 + 1000 * 5 // 100, "close"), (1000 - 1000 * 5 // 100, "close"), (1051, None),
                         (949, None)):
        assert check(question, answer).slip == slip, answer


def test_a_small_miss_is_not_called_a_rounding():
    # 5 MACs answered 4, or "~0" for 2 MACs: neither is the count rounded at a written digit
    assert check(Question("macs", LayerSpec("dense", (5,), units=1)), 4).slip is None
    verdict = check(Question("macs", LayerSpec("dense", (2,), units=1)), "~0")
    assert verdict.slip is None and not verdict.correct
    concepts(verdict.message, absent=[r"coarsely"])


def test_a_verdict_is_correct_true_or_false_never_undecided():
    question = Question("output_shape", LESSON)
    for answer, correct in (((SIDE, SIDE, 64), True), ((SIDE, SIDE, 9), False), ((1, 1, 1), False),
                            ((SIDE - 1, SIDE - 1, 64), False)):
        assert check(question, answer).correct is correct, answer
    assert check(Question("macs", LESSON), MACS + 1).correct is False


def test_float_noise_allowance_is_inclusive_at_a_target_of_zero():
    from efficientnn.quiz import ParsedNumber, matches
    # a pooling layer has no parameters: 0, "~0" and float noise of 1e-9 are all "no parameters"
    pool = Question("params", LayerSpec("maxpool", (8, 8, 3), kernel_size=2))
    assert check(pool, "0").correct and check(pool, "~0").correct and not check(pool, "1").correct
    assert matches(ParsedNumber(1e-9, False, ""), 0) and not matches(ParsedNumber(2e-9, False, ""), 0)
    assert matches(ParsedNumber(1e-9, True, "", None), 0) and not matches(ParsedNumber(2e-9, True, "", None), 0)


def test_a_pool_right_after_the_first_convolution_can_be_applied_to_the_image():
    # 21x21x1 -> pool 2 -> 10x10x1 -> conv 3x3, 4 filters -> 8x8x4: the dense layer sees 256 inputs, not 324
    question = Question("macs", LayerSpec("dense", (324,), units=10), upstream=(CONV_A, POOL_1))
    swapped = side(side(21, 2, 2), 3) ** 2 * 4 * 10
    verdict = check(question, swapped)
    assert verdict.slip == "pool_before_conv" and verdict.points == 0
    concepts(verdict.message, present=[r"pooling was applied to the image itself", r"before the convolution"])


@pytest.mark.parametrize("before", [LayerSpec("separable", (10, 10, 4), kernel_size=3, filters=6),
                                    LayerSpec("depthwise", (10, 10, 6), kernel_size=3)], ids=lambda s: s.kind)
def test_slips_upstream_in_a_separable_or_depthwise_layer(before):
    # the layer keeps its 10x10 size (padding assumed), or the pool is applied to its input (pool before conv)
    o = side(10, 3)
    assumed = check(Question("macs", LayerSpec("dense", (o * o * 6,), units=10), upstream=(before,)), 10 * 10 * 6 * 10)
    assert assumed.slip == "padding_assumed"
    concepts(assumed.message, present=[r"keep the input's size", r"\bpadding\b"])
    pool = LayerSpec("maxpool", (o, o, 6), kernel_size=2)
    question = Question("macs", LayerSpec("dense", (side(o, 2, 2) ** 2 * 6,), units=10), upstream=(before, pool))
    assert check(question, side(side(10, 2, 2), 3) ** 2 * 6 * 10).slip == "pool_before_conv"


def test_a_separable_ratio_with_padding_and_a_depth_multiplier():
    # per output position: depthwise c*m*k*k, pointwise c*m*f, standard c*f*k*k (the same positions, padded or not)
    layer = LayerSpec("separable", (10, 10, 4), kernel_size=3, filters=6, padding=1, depth_multiplier=2)
    c, m, k, f = 4, 2, 3, 6
    question = Question("ratio", layer)
    assert check(question, m / f + m / k ** 2).correct
    assert check(question, m / f).slip == "pointwise_left_out"     # the depthwise part alone
    assert check(question, m / k ** 2).slip == "depthwise_left_out"  # the pointwise part alone


def test_a_two_channel_convolutions_parameters_counted_for_one_channel():
    layer = LayerSpec("conv", (8, 8, 2), kernel_size=3, filters=4)
    assert check(Question("params", layer), 3 * 3 * 2 * 4 + 4).correct
    verdict = check(Question("params", layer), 3 * 3 * 1 * 4 + 4)
    assert verdict.slip == "input_depth_left_out"
    concepts(verdict.message, present=[r"input depth was left out", r"every input channel"])


class OwnSlips(Timed):
    """A question of its own kind that lists its own typical wrong answers."""

    def slip_candidates(self):
        return [("time_from_macs", 0.125)]


def test_a_question_of_its_own_kind_lists_its_own_slips():
    from efficientnn.quiz.check import slip_candidates
    assert slip_candidates(OwnSlips()) == [("time_from_macs", 0.125)]


def test_each_side_shrunk_by_one_is_named_for_any_kernel_not_two_wide_on_both_sides():
    # a04's 3x2 depthwise kernel on a 7x9 input: right 5x8 (7 - 3 + 1, 9 - 2 + 1); "n - 1" per side gives 6x8
    layer = LayerSpec("depthwise", (7, 9, 4), kernel_size=(3, 2))
    assert (7 - 3 + 1, 9 - 2 + 1) == (5, 8)
    verdict = check(Question("output_shape", layer), (6, 8, 4))
    assert (verdict.correct, verdict.slip) == (False, "shrink_by_one")
    concepts(verdict.message, present=[r"shrunk by one", r"n - k \+ 1"])
    # the same with the larger side second: a 2x3 kernel on 9x7, right 8x5, "n - 1" gives 8x6
    wide = LayerSpec("depthwise", (9, 7, 4), kernel_size=(2, 3))
    assert check(Question("output_shape", wide), (8, 6, 4)).slip == "shrink_by_one"
    # a 2x1 kernel keeps the width: 7x9 gives 6x9, and 6x8 is each side shrunk by one
    tall = LayerSpec("depthwise", (7, 9, 4), kernel_size=(2, 1))
    assert check(Question("output_shape", tall), (6, 8, 4)).slip == "shrink_by_one"
    # a 2x2 kernel really does shrink each side by one: that answer is right, not a slip
    assert check(Question("output_shape", LayerSpec("depthwise", (7, 9, 4), kernel_size=2)), (6, 8, 4)).correct
