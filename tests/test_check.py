"""The checker's verdicts (efficientnn.quiz.check): points and the concept each slip message teaches.

Wrong answers are computed here from the lesson's formulas (side = floor((n + 2p - k) / s) + 1,
MACs = outputs x kernel height x width x input depth, FLOPs = 2 x MACs), and every message is
checked for the concept it must teach (a word or a phrase), never compared with the dictionary of
messages the checker itself uses: a message that taught the wrong thing would fail here.
"""
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
    concepts(verdict.message, present=[r"asks for FLOPs", r"input depth"])
    assert "+" in verdict.slip
