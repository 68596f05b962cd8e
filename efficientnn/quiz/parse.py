"""Read a student's answer into a plain value: a tuple of ints (shapes) or a number.

Whatever a notebook produced (a string typed into a widget, a Python or numpy number, a tuple,
a numpy array) is normalised here, so the checker compares values, never objects.

Error messages show the *form* an answer should take, with placeholders or with example values
that cannot be the answer to any question (12345 is odd, so it is never a FLOP count, and has
the prime factor 823, so it is never a product of small layer sizes).

Example
-------
>>> parse_shape("18 X 18 X 6")
(18, 18, 6)
>>> parse_number("69.9K").value
69900.0
"""
from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

__all__ = ["AnswerFormatError", "ParsedNumber", "parse_shape", "parse_number", "is_blank"]

SHAPE_FORM = "write it as height x width x depth, like HxWxD or (H, W, D)"
NUMBER_FORM = (
    "write a number such as 12345 or 12,345; mark a rounded value with a suffix "
    "K, M or G (thousand, million, billion) or a leading ~"
)

MULTIPLIERS = {
    "": 1, "k": 10**3, "thousand": 10**3, "m": 10**6, "mln": 10**6, "million": 10**6,
    "g": 10**9, "b": 10**9, "bn": 10**9, "billion": 10**9, "%": Decimal("0.01"),
}


class AnswerFormatError(ValueError):
    """The answer could not be read; the message says what was wrong and the form expected."""


@dataclass(frozen=True)
class ParsedNumber:
    """A numeric answer.

    Attributes
    ----------
    value : float, the number the answer means (``"69.9K"`` -> 69900.0)
    approximate : bool, True when the writer marked it as rounded: a leading ``~``/``≈``, a
        K/M/G suffix, or scientific notation (``7.00e4``)
    text : str, the answer as given
    resolution : float or None, the place value of the last written digit (``"69.9K"`` -> 100.0,
        ``"61K"`` -> 1000.0, ``"7.00e4"`` -> 100.0); None for Python and numpy numbers
    unit : str or None, a unit written after the number (``"MACs"``, ``"FLOPs"``, ``"FLOPS"``), as written
    """

    value: float
    approximate: bool
    text: str
    resolution: float | None = None
    unit: str | None = None


def is_blank(answer) -> bool:
    """True for the placeholders a notebook holds before a student answers (None, ..., "")."""
    return answer is None or answer is Ellipsis or (isinstance(answer, str) and not answer.strip())


def _no_answer(form: str) -> AnswerFormatError:
    return AnswerFormatError(f"There is no answer yet: {form}.")


# --------------------------------------------------------------------------- shapes
_SHAPE_SEPARATOR = re.compile(r"\s*[x×X*,]\s*|\s+")


def _shape_entry(value, text) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise AnswerFormatError(f"Could not read {text!r} as a shape: {value!r} is a truth value, not a size; {SHAPE_FORM}.")
    if isinstance(value, numbers.Integral):
        n = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():
        n = int(value)  # 26.0 from a division is still 26
    else:
        raise AnswerFormatError(f"Could not read {text!r} as a shape: {value!r} is not a whole number; {SHAPE_FORM}.")
    if n < 0:
        raise AnswerFormatError(f"Could not read {text!r} as a shape: sizes cannot be negative ({n}); {SHAPE_FORM}.")
    return n


def parse_shape(answer) -> tuple[int, ...]:
    """Read an output-shape answer as a tuple of Python ints.

    Parameters
    ----------
    answer : str, tuple, list, numpy array or int
        ``"18x18x6"``, ``"18 X 18 X 6"``, ``"18×18×6"``, ``"(18, 18, 6)"``, ``"[18, 18, 6]"``,
        ``(18, 18, 6)``, ``np.array([18, 18, 6])``; a single int or ``"(128,)"`` for a flat shape.

    Returns
    -------
    tuple of int

    Raises
    ------
    AnswerFormatError
        If the answer is empty or not a list of whole numbers; the message shows the form expected.

    Example
    -------
    >>> parse_shape("(18, 18, 6)")
    (18, 18, 6)
    """
    if is_blank(answer):
        raise _no_answer(SHAPE_FORM)
    if isinstance(answer, (bool, np.bool_)):
        raise AnswerFormatError(f"Could not read {answer!r} as a shape: {SHAPE_FORM}.")
    if isinstance(answer, numbers.Number):
        return (_shape_entry(answer, str(answer)),)
    if isinstance(answer, str):
        return _parse_shape_text(answer)
    if isinstance(answer, np.ndarray):
        if answer.ndim != 1:
            raise AnswerFormatError(
                f"Could not read an array of shape {answer.shape} as a shape: give the sizes as a flat list; {SHAPE_FORM}."
            )
        answer = answer.tolist()
    try:
        items = list(answer)
    except TypeError:
        raise AnswerFormatError(
            f"Could not read {answer!r} ({type(answer).__name__}) as a shape: {SHAPE_FORM}."
        ) from None
    if not items:
        raise AnswerFormatError(f"The shape {answer!r} is empty: {SHAPE_FORM}.")
    if any(item is None for item in items):
        raise AnswerFormatError(
            f"Could not read {answer!r} as a shape: leave out the batch dimension (None); {SHAPE_FORM}."
        )
    return tuple(_shape_entry(item, repr(answer)) for item in items)


def _parse_shape_text(text: str) -> tuple[int, ...]:
    body = text.strip()
    if body[:1] + body[-1:] in ("()", "[]"):
        body = body[1:-1].strip()
    body = body.rstrip(",").strip()  # "(128,)" is a one-entry tuple
    if "none" in body.lower():
        raise AnswerFormatError(
            f'Could not read "{text}" as a shape: leave out the batch dimension (None); {SHAPE_FORM}.'
        )
    tokens = _SHAPE_SEPARATOR.split(body)  # [""] for an empty body
    if not all(t.isdigit() for t in tokens):
        raise AnswerFormatError(f'Could not read "{text}" as a shape: {SHAPE_FORM}.')
    return tuple(int(t) for t in tokens)


# --------------------------------------------------------------------------- numbers
_UNIT = r"(?:mac|macs|flop|flops|flop/s|params|parameters|weights|x|×|times)"
_NUMBER = re.compile(
    r"""^
    (?P<approx>~|≈|about\s|approx\.?\s|approximately\s)?\s*
    (?P<sign>[-+])?
    (?P<int>\d{1,3}(?:[,\s_'\u00a0\u2009\u202f]\d{3})+|\d+|(?=\.\d))
    (?:\.(?P<frac>\d+))?
    (?:\s*(?:[eE](?P<exp>[-+]?\d+)|\s*[x×*]\s*10\s*(?:\^|\*\*)\s*(?P<exp10>[-+]?\d+)))?
    \s*(?P<mult>%|k|thousand|mln|million|m|bn|billion|g|b)?
    \s*(?P<unit>"""
    + _UNIT
    + r""")?
    $""",
    re.IGNORECASE | re.VERBOSE,
)


def parse_number(answer) -> ParsedNumber:
    """Read a count or ratio answer.

    Parameters
    ----------
    answer : str, int, float or numpy number
        Plain numbers: ``69984``, ``69984.0``, ``np.int64(69984)``, ``"69984"``, ``"69,984"``,
        ``"69 984"``. Rounded numbers: ``"69.9K"``, ``"~70K"``, ``"70k"``, ``"1.06M"``,
        ``"0.5 G"``, ``"7.00e4"``, ``"7.00 x 10^4"``. A unit may follow: ``"69.9K FLOPs"``,
        ``"30 MMACs"``. A percentage, ``"12.5%"``, means 0.125; a fraction ``"1/7.9"`` is divided
        out; a trailing "x" (``"7.9x"``, "times") is allowed. bool is not a number.

    Returns
    -------
    ParsedNumber
        ``approximate`` is True for a leading ~ or ≈, a K/M/G suffix or scientific notation.

    Raises
    ------
    AnswerFormatError
        If the answer is empty or not a number; the message shows the form expected.

    Example
    -------
    >>> parse_number("~70K")
    ParsedNumber(value=70000.0, approximate=True, text='~70K', resolution=1000.0, unit=None)
    """
    if is_blank(answer):
        raise _no_answer(NUMBER_FORM)
    if isinstance(answer, (bool, np.bool_)):
        raise AnswerFormatError(f"{answer!r} is a truth value, not a number: {NUMBER_FORM}.")
    if isinstance(answer, np.ndarray) and answer.ndim == 0:
        answer = answer.item()
    if isinstance(answer, numbers.Real):
        try:
            value = float(answer)
        except OverflowError:  # an int (or Fraction) beyond a float's range; repr() of it may fail too
            raise AnswerFormatError(f"That number is too large to be an answer (over 1.8e308, the largest "
                                    f"a float holds): {NUMBER_FORM}.") from None
        if not np.isfinite(value):
            raise AnswerFormatError(f"{answer!r} is not a finite number: {NUMBER_FORM}.")
        return ParsedNumber(value, False, str(answer))
    if not isinstance(answer, str):
        raise AnswerFormatError(
            f"Could not read {answer!r} ({type(answer).__name__}) as a number: {NUMBER_FORM}."
        )
    fraction = re.fullmatch(r"\s*([^/]+?)\s*/\s*([^/]+?)\s*", answer)
    if fraction and not _NUMBER.match(" ".join(answer.split())):  # "25 GFLOP/s" is a unit, not a fraction
        top, bottom = (_parse_number_text(part) for part in fraction.groups())
        if bottom.value == 0:
            raise AnswerFormatError(f'Could not read "{answer}" as a number: it divides by zero.')
        return ParsedNumber(top.value / bottom.value, top.approximate or bottom.approximate, answer)
    return _parse_number_text(answer)


def _parse_number_text(text: str) -> ParsedNumber:
    body = " ".join(text.split())
    match = _NUMBER.match(body)
    if match is None or (not match["int"] and not match["frac"]):
        hint = ""
        if re.search(r"\d,\d{1,2}(?!\d)", body):
            hint = " (a comma separates thousands; use a dot for decimals)"
        raise AnswerFormatError(f'Could not read "{text}" as a number{hint}: {NUMBER_FORM}.')
    digits = re.sub(r"\D", "", match["int"])  # "" before ".5": Decimal(".5") is 0.5
    frac = match["frac"] or ""
    mantissa = Decimal(f"{digits}.{frac}")  # "12." is 12; the pattern admits (Unicode) digits only
    exponent = match["exp"] or match["exp10"]
    scale = Decimal(10) ** int(exponent) if exponent else Decimal(1)
    mult = Decimal(MULTIPLIERS[(match["mult"] or "").lower()])
    sign = -1 if match["sign"] == "-" else 1
    value = sign * mantissa * scale * mult
    resolution = Decimal(10) ** -len(frac) * scale * mult
    approximate = bool(match["approx"]) or bool(exponent) or mult > 1
    if not np.isfinite(float(value)):
        raise AnswerFormatError(f'"{_shorten(text)}" is too large to be an answer (over 1.8e308, the largest a '
                                f'float holds): {NUMBER_FORM}.')
    return ParsedNumber(float(value), approximate, text, float(resolution), match["unit"])


def _shorten(text: str, limit: int = 40) -> str:
    """``text``, cut to ``limit`` characters with an ellipsis (a 5,000-digit answer quoted whole helps nobody)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
