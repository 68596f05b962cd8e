"""Reading answers (efficientnn.quiz.parse): the edge cases of shapes and numbers, and what errors say.

Values are written out by hand; messages are matched for what they must tell the student (the
form expected, "no answer yet", the batch dimension, the decimal comma), not against the
module's own form strings.
"""
import re
from fractions import Fraction

import numpy as np
import pytest

from efficientnn.quiz.parse import AnswerFormatError, is_blank, parse_number, parse_shape

SHAPE_FORM = r"HxWxD"
NUMBER_FORM = r"such as 12345 or 12,345"


def error(fn, answer):
    with pytest.raises(AnswerFormatError) as err:
        fn(answer)
    return str(err.value)


@pytest.mark.parametrize("blank", [None, ..., "", "   "])
def test_no_answer_yet_shows_the_right_form(blank):
    shape, number = error(parse_shape, blank), error(parse_number, blank)
    assert shape.startswith("There is no answer yet: ") and re.search(SHAPE_FORM, shape)
    assert not re.search(NUMBER_FORM, shape)
    assert number.startswith("There is no answer yet: ") and re.search(NUMBER_FORM, number)
    assert not re.search(SHAPE_FORM, number)
    assert is_blank(blank) and not is_blank(0) and not is_blank("0")


@pytest.mark.parametrize("text, shape", [("(128,)", (128,)), ("128", (128,)), ("[7]", (7,)), ("(0, 3)", (0, 3)),
                                         ("()", None), ("(", None), ("[]", None), ("7)", None), (",", None),
                                         ("0x5x5", (0, 5, 5)), (" ( 3 , 4 ) ", (3, 4)),
                                         ("3X4X", None), ("3x4,,", (3, 4)), ("(3, 4", None), ("3, 4]", None),
                                         ("[]x3", None), ("NoNe x 3", None), ("x", None), ("()x", None)])
def test_shape_text_edges(text, shape):
    if shape is None:
        assert re.search(SHAPE_FORM, error(parse_shape, text))
    else:
        assert parse_shape(text) == shape


def test_shape_values_and_their_errors():
    assert parse_shape(0) == (0,) and parse_shape((0, 2)) == (0, 2) and parse_shape(26.0) == (26,)
    assert parse_shape(np.array([3, 4])) == (3, 4)
    assert all(type(v) is int for v in parse_shape((np.int64(3), 4.0)))
    assert re.search(r"^Could not read '\(3, -1\)' as a shape: sizes cannot be negative \(-1\)",
                     error(parse_shape, (3, -1)))
    assert re.search(r"^Could not read '-2' as a shape: sizes cannot be negative \(-2\)", error(parse_shape, -2))
    assert re.search(r"^Could not read '\[2\.5, 3\]' as a shape: 2\.5 is not a whole number",
                     error(parse_shape, [2.5, 3]))
    assert re.search(r"^Could not read '2\.5' as a shape: 2\.5 is not a whole number", error(parse_shape, 2.5))
    assert re.search(r"truth value", error(parse_shape, (True, 3)))
    assert re.search(r"^Could not read True as a shape", error(parse_shape, True))
    assert re.search(r"batch dimension \(None\)", error(parse_shape, (None, 26, 26, 5)))
    assert re.search(r"batch dimension \(None\)", error(parse_shape, "(None, 26, 26, 5)"))
    assert re.search(r"batch dimension", error(parse_shape, "none x 3"))
    assert re.search(r"is empty", error(parse_shape, ()))
    assert re.search(r"flat list", error(parse_shape, np.zeros((2, 2), dtype=int)))
    assert re.search(r"\(object\) as a shape", error(parse_shape, object()))


@pytest.mark.parametrize("text, value, approximate, resolution, unit", [
    ("60840", 60840.0, False, 1.0, None),
    ("60.8K", 60800.0, True, 100.0, None),
    ("61k", 61000.0, True, 1000.0, None),
    ("~61000", 61000.0, True, 1.0, None),
    ("6.08e4", 60800.0, True, 100.0, None),
    ("6.08 x 10^4", 60800.0, True, 100.0, None),
    ("12.5%", 0.125, False, 0.001, None),
    ("-3", -3.0, False, 1.0, None),
    (".5", 0.5, False, 0.1, None),
    ("1.06M MACs", 1060000.0, True, 10000.0, "MACs"),
    ("2 bn", 2e9, True, 1e9, None),
    ("7.9x", 7.9, False, 0.1, "x"),
    ("60 840", 60840.0, False, 1.0, None),
])
def test_number_text(text, value, approximate, resolution, unit):
    parsed = parse_number(text)
    assert parsed.value == pytest.approx(value, rel=1e-12)
    assert parsed.approximate is approximate
    assert parsed.resolution == pytest.approx(resolution, rel=1e-12)
    assert parsed.unit == unit and parsed.text == text


def test_fractions_carry_the_rounding_of_either_part():
    assert parse_number("1/8").value == 0.125 and parse_number("1/8").approximate is False
    assert parse_number("1/7.9K").approximate is True and parse_number("~1/8").approximate is True
    assert parse_number("1 / 4").value == 0.25
    assert re.search(r"divides by zero", error(parse_number, "1/0"))


def test_number_errors_say_what_to_write():
    decimal_comma = error(parse_number, "60,8")
    assert re.search(r'^Could not read "60,8" as a number \(a comma separates thousands; use a dot for decimals\): ',
                     decimal_comma)
    plain = error(parse_number, "sixty")
    assert re.search(r'^Could not read "sixty" as a number: ', plain) and re.search(NUMBER_FORM, plain)
    assert re.search(r"truth value", error(parse_number, True))
    assert re.search(r"not a finite number", error(parse_number, float("inf")))
    assert re.search(r"\(list\) as a number", error(parse_number, [1]))


def test_python_and_numpy_numbers_are_exact_claims():
    for answer in (60840, 60840.0, np.int64(60840), np.float32(60840), np.array(60840)):
        parsed = parse_number(answer)
        assert parsed.value == 60840.0 and parsed.approximate is False and parsed.resolution is None


@pytest.mark.parametrize("answer", [10**5000, Fraction(10**400, 3), "1" + "0" * 5000, "1e400", "-2.5e999"],
                         ids=["int_5001_digits", "fraction", "text_5001_digits", "1e400", "-2.5e999"])
def test_a_number_beyond_a_float_is_refused_in_our_words_without_quoting_all_of_it(answer):
    # 10**5000 used to reach students as Python's own "int too large to convert to float".
    with pytest.raises(AnswerFormatError, match=r"too large to be an answer") as caught:
        parse_number(answer)
    assert len(str(caught.value)) < 400


def test_a_long_answer_is_quoted_up_to_40_characters():
    forty = "1." + "0" * 34 + "e400"          # 40 characters: quoted whole
    assert len(forty) == 40
    assert error(parse_number, forty).startswith(f'"{forty}" is too large to be an answer')
    longer = "1." + "0" * 35 + "e400"         # 41: the first 39 and an ellipsis
    assert error(parse_number, longer).startswith(f'"{longer[:39]}…" is too large to be an answer')


@pytest.mark.parametrize("text, value, unit", [("1234 flop/s", 1234.0, "flop/s"), ("25 G FLOP/s", 25e9, "FLOP/s")])
def test_a_rate_unit_with_a_slash_is_read_as_a_unit_not_a_fraction(text, value, unit):
    parsed = parse_number(text)
    assert (parsed.value, parsed.unit) == (value, unit)
    assert parse_number("3 / 4").value == 0.75  # a real fraction still divides
