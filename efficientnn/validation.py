"""Argument checks shared by the whole package, each with the error message a student reads.

Every message says what was wrong and what was expected, and names the argument, so a bad
call stops at the function the student called, never deep inside numpy. The checks return the
value normalised (a Python ``int`` from a numpy integer or from ``3.0``), so callers use what
they get back.

Example
-------
>>> positive_int(3.0, "stride")
3
>>> positive_int(0, "filters")
Traceback (most recent call last):
    ...
ValueError: filters must be positive, got 0.
"""
from __future__ import annotations

import numbers

__all__ = ["whole_number", "positive_int", "check_model"]


def whole_number(value, what: str) -> int:
    """``value`` as a Python int: an integer, or a float with no fractional part; never a bool.

    Example
    -------
    >>> whole_number(-2, "step")
    -2
    >>> whole_number(1.5, "step")
    Traceback (most recent call last):
        ...
    ValueError: step must be a whole number, got 1.5 (float).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a whole number, got {value!r} ({type(value).__name__}).")
    if not isinstance(value, numbers.Integral):
        if not float(value).is_integer():
            raise ValueError(f"{what} must be a whole number, got {value!r} ({type(value).__name__}).")
    return int(value)


def positive_int(value, what: str, allow_zero: bool = False) -> int:
    """``value`` as a Python int that is at least 1 (at least 0 with ``allow_zero``).

    Example
    -------
    >>> positive_int(0, "padding", allow_zero=True)
    0
    >>> positive_int(-1, "padding", allow_zero=True)
    Traceback (most recent call last):
        ...
    ValueError: padding must be zero or more, got -1.
    """
    value = whole_number(value, what)
    if value < (0 if allow_zero else 1):
        raise ValueError(f"{what} must be {'zero or more' if allow_zero else 'positive'}, got {value}.")
    return value


def check_model(model):
    """``model`` if it looks like an efficientnn Sequential: named layers and an input shape.

    Example
    -------
    >>> check_model("base_cnn")
    Traceback (most recent call last):
        ...
    ValueError: expected an efficientnn Sequential model (with .layers, .layer() and .input_shape), got str.
    """
    if not all(hasattr(model, attr) for attr in ("layers", "layer", "input_shape")):
        raise ValueError(
            "expected an efficientnn Sequential model (with .layers, .layer() and .input_shape), "
            f"got {type(model).__name__}."
        )
    if not model.layers:
        raise ValueError("the model has no layers.")
    return model
