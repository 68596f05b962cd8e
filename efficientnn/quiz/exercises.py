"""Checkers for the "implement this function" exercises (hidden tests of assignments 01 and 02).

A checker runs the student's function on fixed edge cases and seeded random cases, compares
each result with :mod:`efficientnn` (computed at check time, through :func:`efficientnn.quiz.check`)
and, on the first mismatch, raises ``AssertionError`` with a message that names the call (its
inputs), what the function returned, and the slip diagnosed from :data:`SLIP_MESSAGES`. The message
never contains the right output, so a hidden test's traceback gives nothing away.

Generic part, for any exercise (``layer_exercises`` builds on it):

- :class:`FunctionCase`: one call (``args``, ``kwargs``) and the :class:`Question` whose answer the
  call must return (its kind says whether a shape or a count is expected).
- :func:`check_function` ``(fn, cases, name=None, arg_names=None)``: run every case, raise on the
  first mismatch; returns None (an all-or-nothing nbgrader cell).
- :func:`check_form` ``(fn, args, kind, kwargs=None, name=None)``: one call, checking only the form
  of the result (a shape or a whole number); for visible tests.
- :func:`self_check` ``(checker, fn, ...)``: a checker's outcome as a Verdict, for ungraded cells.

Exercises of assignment 01 (the function signatures the notebook's stubs define):

- ``output_shape(input_shape, kernel_size, filters, stride=1, padding=0) -> (H, W, C)``
- ``dense_macs(in_units, out_units) -> int``
- ``conv_macs(input_shape, kernel_size, filters, stride=1, padding=0) -> int``
- ``conv_flops(input_shape, kernel_size, filters, stride=1, padding=0) -> int``

with checkers :func:`check_output_shape`, :func:`check_dense_macs`, :func:`check_conv_macs`,
:func:`check_conv_flops`. ``kernel_size``, ``stride`` and ``padding`` are ints (a square kernel,
the same stride and padding along both axes). The conv checkers take ``cases="basic"`` (stride
1, no padding: the lesson's formula), ``"stride_padding"`` or ``"all"``.

Example
-------
>>> def dense_macs(in_units, out_units):
...     return in_units * out_units
>>> check_dense_macs(dense_macs)  # returns None when every case passes
>>> try:
...     check_dense_macs(lambda i, o: 2 * i * o)
... except AssertionError as err:
...     print(str(err).split(".")[0])
dense_macs(in_units=784, out_units=10) returned 15680, which is not right
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from . import ledger
from .check import Verdict, check
from .parse import AnswerFormatError, parse_shape
from .questions import LayerSpec, Question

__all__ = [
    "FunctionCase",
    "check_function",
    "check_form",
    "self_check",
    "call_text",
    "conv_cases",
    "dense_cases",
    "CONV_CASE_SETS",
    "check_output_shape",
    "check_dense_macs",
    "check_conv_macs",
    "check_conv_flops",
]

#: Seed of the random cases: fixed, so every student is graded on the same calls.
SEED = 2024


# --------------------------------------------------------------------------- generic
@dataclass(frozen=True)
class FunctionCase:
    """One call of a student's function and the question its result must answer.

    Parameters
    ----------
    args : tuple, positional arguments
    question : Question, whose right answer (computed by :func:`efficientnn.quiz.expected`)
        is the right result; its kind ("output_shape" or a count) fixes the result's form
    kwargs : dict, keyword arguments (e.g. ``{"stride": 2}``)
    note : str, what the case is about (e.g. "a 1x1 kernel"), added to a failure message

    Example
    -------
    >>> FunctionCase(((12, 10, 2), 3, 4), Question("output_shape", LayerSpec("conv", (12, 10, 2), 3, filters=4)))
    ... # doctest: +ELLIPSIS
    FunctionCase(args=((12, 10, 2), 3, 4), question=Question(...), kwargs={}, note='')
    """

    args: tuple
    question: Question
    kwargs: dict = field(default_factory=dict)
    note: str = ""


def _name_of(fn, name):
    return name or getattr(fn, "__name__", None) or "your function"


def call_text(name: str, args=(), kwargs=None, arg_names=None) -> str:
    """The call as Python code, e.g. ``"conv_macs((25, 25, 9), 7, 1, stride=2)"``.

    With ``arg_names`` the positional arguments are shown by name too.
    """
    kwargs = kwargs or {}
    if arg_names:
        shown = [f"{n}={a!r}" for n, a in zip(arg_names, args)] + [repr(a) for a in args[len(arg_names):]]
    else:
        shown = [repr(a) for a in args]
    shown += [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(shown)})"


def _short(value, limit=80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _form_problem(kind: str, result):
    """None if ``result`` has the form a ``kind`` answer needs, else what is wrong (a sentence)."""
    if result is None:
        return "returned None (is a `return` missing?)"
    if kind == "output_shape":
        if isinstance(result, str):
            return "returned a string; return a tuple of ints such as (H, W, D)"
        if not isinstance(result, (tuple, list, np.ndarray)):
            return f"returned {type(result).__name__} {_short(result)}; return a tuple of ints such as (H, W, D)"
        try:
            dims = parse_shape(result)
        except AnswerFormatError:
            return f"returned {_short(result)}; return a tuple of whole numbers such as (H, W, D)"
        if len(dims) != 3:
            return f"returned {len(dims)} number(s), {_short(result)}; return three, (H, W, D)"
        return None
    if isinstance(result, (bool, np.bool_)) or not isinstance(result, numbers.Real):
        return f"returned {type(result).__name__} {_short(result)}; return a number (an int)"
    if not np.isfinite(float(result)):
        return f"returned {result!r}; return a whole number"
    if float(result) != int(float(result)):
        return f"returned {result!r}, which is not a whole number; a count of operations is an int"
    return None


def _call(fn, args, kwargs, shown: str):
    """Call ``fn``; turn any exception into an AssertionError that says which call failed."""
    try:
        # Through the ledger: while grading, the call and its result are recorded for a re-check
        # outside the student's kernel.
        return ledger.call(fn, args, kwargs)
    except NotImplementedError:
        raise AssertionError(f"{shown} raised NotImplementedError: replace the `raise NotImplementedError()` "
                             "line with your code.") from None
    except Exception as err:  # the student's code: any failure is reported, not re-raised as is
        raise AssertionError(f"{shown} raised {type(err).__name__}: {err}") from err


def check_form(fn, args, kind: str, kwargs=None, name=None) -> None:
    """Call ``fn(*args, **kwargs)`` and check only the form of the result.

    For visible tests: the student learns that a shape must be three whole numbers, a count a
    number, without learning whether the value is right.

    Parameters
    ----------
    fn : callable
    args : tuple
    kind : "output_shape" (three whole numbers) or "count" (a whole number)
    kwargs : dict or None
    name : str or None, the function's name in messages (default ``fn.__name__``)

    Returns
    -------
    None: a test cell ending with this call shows no number nbgrader could read as a score.

    Raises
    ------
    AssertionError
        If ``fn`` is not callable, raises, or returns something of the wrong form.
    """
    if kind not in ("output_shape", "count"):
        raise ValueError(f'kind must be "output_shape" or "count", got {kind!r}.')
    name = _name_of(fn, name)
    require_function(fn, name)
    shown = call_text(name, tuple(args), kwargs)
    result = _call(fn, tuple(args), kwargs or {}, shown)
    problem = _form_problem(kind, result)
    if problem:
        raise AssertionError(f"{shown} {problem}.")


def require_function(fn, name) -> None:
    """Raise AssertionError, naming ``name``, unless ``fn`` is callable (a student may leave a value).

    Example
    -------
    >>> require_function(len, "len")
    """
    if not callable(fn):
        raise AssertionError(f"{name} is {type(fn).__name__}, not a function: define it with `def`.")


def check_function(fn, cases, name=None, arg_names=None) -> None:
    """Run ``fn`` on every case; raise AssertionError at the first wrong result.

    Parameters
    ----------
    fn : the student's function
    cases : iterable of FunctionCase
    name : str or None, the function's name in messages (default ``fn.__name__``)
    arg_names : sequence of str or None, names shown for the positional arguments in messages

    Returns
    -------
    None, so that a hidden-test cell ending with this call is all-or-nothing in nbgrader.

    Raises
    ------
    AssertionError
        Naming the call, what it returned, and the diagnosed slip (or a hint) from
        :func:`efficientnn.quiz.check`; never the right result.
    """
    name = _name_of(fn, name)
    require_function(fn, name)
    for case in cases:
        shown = call_text(name, case.args, case.kwargs, arg_names)
        about = f" ({case.note})" if case.note else ""
        result = _call(fn, case.args, case.kwargs, shown)
        kind = "output_shape" if case.question.kind == "output_shape" else "count"
        problem = _form_problem(kind, result)
        if problem:
            raise AssertionError(f"{shown}{about} {problem}.")
        if isinstance(result, np.ndarray):
            result = result.tolist()
        verdict = check(case.question, result)
        if not verdict.correct:
            message = verdict.message
            for lead in ("Not yet. ", "Partly right. "):
                if message.startswith(lead):
                    message = message[len(lead):]
            raise AssertionError(f"{shown}{about} returned {_short(result)}, which is not right. {message}")


def self_check(checker, fn, *args, **kwargs) -> Verdict:
    """Run a checker for a self-check cell: a Verdict instead of an exception.

    ``self_check(check_output_shape, output_shape)`` shows "All checks pass." or the checker's
    message, without stopping "Run All" at the cell. Extra arguments go to the checker.

    Example
    -------
    >>> self_check(check_dense_macs, lambda i, o: i * o).correct
    True
    """
    try:
        checker(fn, *args, **kwargs)
    except AssertionError as err:
        return Verdict(False, 0.0, 1.0, f"Not yet. {err}", "function")
    return Verdict(True, 1.0, 1.0, "All checks pass.")


# --------------------------------------------------------------------------- assignment 01 cases
_CONV_ARG_NAMES = ("input_shape", "kernel_size", "filters")

# (input_shape, kernel, filters, stride, padding, note); simple ones first, so the first failure is
# the most telling one.
_BASIC = [
    ((9, 9, 2), 3, 4, 1, 0, ""),
    ((15, 15, 6), 4, 3, 1, 0, ""),
    ((12, 10, 2), 3, 4, 1, 0, "height and width differ"),
    ((6, 6, 1), 3, 1, 1, 0, "one input channel, one filter"),
    ((7, 7, 4), 1, 8, 1, 0, "a 1x1 kernel"),
    ((5, 5, 3), 5, 2, 1, 0, "the kernel as large as the input"),
    ((20, 31, 3), 6, 7, 1, 0, "height and width differ"),
]
_STRIDE_PADDING = [
    ((8, 8, 3), 3, 2, 1, 1, "padding 1"),
    ((10, 10, 3), 2, 4, 2, 0, "stride 2"),
    ((11, 11, 1), 3, 2, 2, 0, "stride 2 that does not divide evenly"),
    ((13, 15, 2), 5, 3, 3, 2, "stride 3 and padding 2"),
    ((2, 2, 1), 3, 1, 1, 1, "a kernel that fits only thanks to the padding"),
    ((9, 17, 5), 3, 6, 2, 1, "stride 2 and padding 1, height and width differ"),
]
CONV_CASE_SETS = ("basic", "stride_padding", "all")


def _random_conv(rng, strided: bool):
    k = int(rng.choice([1, 2, 3, 5, 7]))
    stride = int(rng.choice([1, 2, 3])) if strided else 1
    padding = int(rng.choice([0, 1, 2])) if strided else 0
    low = max(1, k - 2 * padding)
    h = int(rng.integers(low, 33))
    w = h if rng.random() < 0.6 else int(rng.integers(low, 33))
    c = int(rng.choice([1, 2, 3, 4, 8, 16]))
    f = int(rng.choice([1, 4, 8, 16, 32, 64]))
    return ((h, w, c), k, f, stride, padding, "")


def conv_cases(kind: str, cases: str = "all", n_random: int = 6, seed: int = SEED) -> list[FunctionCase]:
    """The calls a convolution exercise is checked on: fixed cases, then seeded random ones.

    Parameters
    ----------
    kind : "output_shape", "macs" or "flops", what the function returns
    cases : "basic" (stride 1, no padding), "stride_padding" or "all"
    n_random : random cases added to each set
    seed : int, seed of the random cases

    Returns
    -------
    list of FunctionCase, called as ``fn(input_shape, kernel_size, filters)`` for stride 1 and no
    padding, and with ``stride=..., padding=...`` keywords otherwise.
    """
    if cases not in CONV_CASE_SETS:
        raise ValueError(f"cases must be one of {', '.join(CONV_CASE_SETS)}, got {cases!r}.")
    rng = np.random.default_rng(seed)
    rows = []
    if cases in ("basic", "all"):
        rows += _BASIC + [_random_conv(rng, strided=False) for _ in range(n_random)]
    if cases in ("stride_padding", "all"):
        rows += _STRIDE_PADDING + [_random_conv(rng, strided=True) for _ in range(n_random)]
    out = []
    for shape, k, f, s, p, note in rows:
        layer = LayerSpec("conv", shape, kernel_size=k, filters=f, stride=s, padding=p)
        kwargs = {} if (s, p) == (1, 0) else {"stride": s, "padding": p}
        out.append(FunctionCase((shape, k, f), Question(kind, layer), kwargs, note))
    return out


def dense_cases(n_random: int = 6, seed: int = SEED) -> list[FunctionCase]:
    """The calls ``dense_macs(in_units, out_units)`` is checked on."""
    rng = np.random.default_rng(seed)
    rows = [(784, 10, ""), (7, 3, ""), (3, 7, "fewer inputs than outputs"), (1, 1, "one input, one unit"),
            (1, 64, "one input"), (500, 1, "one unit")]
    rows += [(int(rng.integers(1, 4097)), int(rng.integers(1, 513)), "") for _ in range(n_random)]
    return [FunctionCase((i, o), Question("macs", LayerSpec("dense", (i,), units=o)), note=note)
            for i, o, note in rows]


def check_output_shape(fn, cases: str = "all") -> None:
    """Check ``output_shape(input_shape, kernel_size, filters, stride=1, padding=0) -> (H, W, C)``.

    Example
    -------
    >>> from efficientnn.shapes import conv_output_shape
    >>> check_output_shape(conv_output_shape)
    """
    check_function(fn, conv_cases("output_shape", cases), "output_shape", _CONV_ARG_NAMES)


def check_dense_macs(fn) -> None:
    """Check ``dense_macs(in_units, out_units) -> int``.

    Example
    -------
    >>> from efficientnn.cost import dense_macs
    >>> check_dense_macs(dense_macs)
    """
    check_function(fn, dense_cases(), "dense_macs", ("in_units", "out_units"))


def check_conv_macs(fn, cases: str = "all") -> None:
    """Check ``conv_macs(input_shape, kernel_size, filters, stride=1, padding=0) -> int``.

    Example
    -------
    >>> from efficientnn.cost import conv2d_macs
    >>> check_conv_macs(conv2d_macs)
    """
    check_function(fn, conv_cases("macs", cases), "conv_macs", _CONV_ARG_NAMES)


def check_conv_flops(fn, cases: str = "all") -> None:
    """Check ``conv_flops(input_shape, kernel_size, filters, stride=1, padding=0) -> int``.

    Example
    -------
    >>> from efficientnn.cost import conv2d_macs, flops_from_macs
    >>> check_conv_flops(lambda *a, **k: flops_from_macs(conv2d_macs(*a, **k)))
    """
    check_function(fn, conv_cases("flops", cases), "conv_flops", _CONV_ARG_NAMES)
