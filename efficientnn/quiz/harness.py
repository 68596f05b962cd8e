"""What every assignment's checkers share: calling a student's function safely and explaining a miss.

A checker runs the student's function on fixed edge cases and seeded random cases, compares
each result with :mod:`efficientnn` (computed at check time) and, on the first mismatch, raises
``AssertionError`` with a message that names the call (its inputs, or how to rebuild them), what
the function returned, and the slip diagnosed. The message never contains the right output, so
a hidden test's traceback gives nothing away. The assignments' own checkers (modules
``a01_measuring_cost`` ... ``a06_pruning``) are built from these parts:

Calling
    :func:`require_function` (a student may leave a value where a function belongs),
    :func:`call_safely` (any exception becomes an AssertionError naming the call; the call goes
    through :mod:`efficientnn.quiz.ledger`, so the grader can re-check it outside the kernel),
    :func:`call_text`, :func:`uses_reference` and :func:`refuse_reference` (the function may not
    call what it is graded against).
Functions returning a shape or a count
    :class:`FunctionCase`, :func:`check_function` (every case, against a :class:`Question`),
    :func:`check_form` (one call, only the result's form; for visible tests).
Functions returning an array
    :class:`ArrayCase` (seeded inputs a student can rebuild from the message),
    :func:`check_array_function`, :func:`check_array_form`.
Questions with slips only an assignment knows
    :func:`add_slips` (the quiz's verdict, with extra wrong answers recognised),
    :func:`assert_no_slip` and :func:`assert_right` (the hidden test's assert wrappers).
Self-check cells
    :func:`self_check` (a checker's outcome as a Verdict instead of an exception).

Over 600 lines on purpose: it is the one place the parts every assignment's checkers share live,
so that an assignment module holds only its own cases and slips; about 290 of the lines are
code, the rest docstrings and blank lines.

Example
-------
>>> from efficientnn.quiz import LayerSpec, Question
>>> case = FunctionCase(((9, 9, 2), 3, 4), Question("output_shape", LayerSpec("conv", (9, 9, 2), 3, filters=4)))
>>> check_function(lambda s, k, f: (s[0] - k + 1, s[1] - k + 1, f), [case], "output_shape")   # None: right
>>> try:
...     check_function(lambda s, k, f: (s[0] - k, s[1] - k, f), [case], "output_shape")
... except AssertionError as err:
...     print(str(err).split(". ")[0])
output_shape((9, 9, 2), 3, 4) returned (6, 6, 4), which is not right
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace

import numpy as np

from . import ledger
from .check import Verdict, check, matches
from .parse import AnswerFormatError, parse_number, parse_shape
from .questions import Question

__all__ = [
    "FunctionCase",
    "ArrayCase",
    "ARRAY_SLIP_MESSAGES",
    "LAYER_CLASSES",
    "require_function",
    "call_safely",
    "call_text",
    "uses_reference",
    "refuse_reference",
    "check_function",
    "check_form",
    "shown",
    "number_problem",
    "check_array_function",
    "check_array_form",
    "add_slips",
    "assert_no_slip",
    "assert_right",
    "self_check",
]

#: Slips of any array function (an assignment's own are passed to :func:`check_array_function`).
ARRAY_SLIP_MESSAGES = {
    "bias_like_shift": "The values are shifted by a constant: this layer has no bias, add nothing.",
}

#: The efficientnn layers array functions are compared with: a student's function may not use them.
LAYER_CLASSES = ("MaxPool2D", "AvgPool2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2D")

_LEADS = ("Not yet. ", "Partly right. ")


# --------------------------------------------------------------------------- calling
def require_function(fn, name) -> None:
    """Raise AssertionError, naming ``name``, unless ``fn`` is callable (a student may leave a value).

    Example
    -------
    >>> require_function(len, "len")
    """
    if not callable(fn):
        raise AssertionError(f"{name} is {type(fn).__name__}, not a function: define it with `def`.")


def call_safely(fn, args, kwargs, shown: str):
    """``fn(*args, **kwargs)``; any exception becomes an AssertionError that says which call (``shown``) failed.

    Example
    -------
    >>> try:
    ...     call_safely(lambda x: 1 / x, (0,), {}, "inverse(0)")
    ... except AssertionError as err:
    ...     print(err)
    inverse(0) raised ZeroDivisionError: division by zero
    """
    try:
        # Through the ledger: while grading, the call and its result are recorded for a re-check
        # outside the student's kernel.
        return ledger.call(fn, args, kwargs)
    except NotImplementedError:
        raise AssertionError(f"{shown} raised NotImplementedError: replace the `raise NotImplementedError()` "
                             "line with your code.") from None
    except Exception as err:  # the student's code: any failure is reported, not re-raised as is
        raise AssertionError(f"{shown} raised {type(err).__name__}: {err}") from err


def call_text(name: str, args=(), kwargs=None, arg_names=None) -> str:
    """The call as Python code, e.g. ``"conv_macs((25, 25, 9), 7, 1, stride=2)"``.

    With ``arg_names`` the positional arguments are shown by name too.

    Example
    -------
    >>> call_text("dense_macs", (784, 10), None, ("in_units",))
    'dense_macs(in_units=784, 10)'
    """
    kwargs = kwargs or {}
    if arg_names:
        shown = [f"{n}={a!r}" for n, a in zip(arg_names, args)] + [repr(a) for a in args[len(arg_names):]]
    else:
        shown = [repr(a) for a in args]
    shown += [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(shown)})"


def uses_reference(fn, names, module=None) -> str | None:
    """The first of ``names`` that ``fn``'s code (or a function nested in it) uses, or None.

    Without ``module`` any use of a name counts. With ``module`` (e.g. :mod:`efficientnn.pruning`)
    a name counts only when it is that module's own function in ``fn``'s globals, or when the
    code also names the module (``pruning.csr_bytes``, ``from efficientnn.pruning import ...``): a
    function of the student's that happens to share the name does not.

    Example
    -------
    >>> uses_reference(lambda x: MaxPool2D(2), ("MaxPool2D",))
    'MaxPool2D'
    """
    scope = getattr(fn, "__globals__", {})
    short = module.__name__.split(".")[-1] if module is not None else None
    stack = [fn.__code__] if hasattr(fn, "__code__") else []
    while stack:
        code = stack.pop()
        seen = code.co_names + code.co_freevars
        mentions_module = module is None or any(n == short or n.startswith("efficientnn") or scope.get(n) is module
                                                for n in seen)
        for name in seen:
            # the module's own function under its own name; a name neither holds is not a use
            if name in names and (mentions_module or (name in scope and scope[name] is getattr(module, name, None))):
                return name
        stack.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    return None


def refuse_reference(fn, name: str, names, what: str, advice: str, module=None) -> None:
    """Raise AssertionError if ``fn`` uses one of ``names`` (:func:`uses_reference`).

    The message reads ``"{name} uses {what} {used}, {advice}"``, e.g. "max_pool uses efficientnn's
    MaxPool2D, the layer it is graded against: ...".
    """
    used = uses_reference(fn, names, module)
    if used:
        raise AssertionError(f"{name} uses {what} {used}, {advice}")


def _name_of(fn, name):
    return name or getattr(fn, "__name__", None) or "your function"


def _short(value, limit=80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _without_lead(message: str) -> str:
    """A verdict's message without its "Not yet. " / "Partly right. " lead, for an exception."""
    for lead in _LEADS:
        if message.startswith(lead):
            message = message[len(lead):]
    return message


# --------------------------------------------------------------------------- what a function returned
def shown(value, limit: int = 60, dtype: bool = False) -> str:
    """``value`` as a failure message shows it: an array by its shape, a numpy scalar as a number, cut short.

    With ``dtype`` an array's dtype is named too (where the exercise is about integer types).

    Example
    -------
    >>> shown(np.zeros((3, 4))), shown(np.float32(0.5)), shown("x" * 100, limit=10)
    ('an array of shape (3, 4)', '0.5', "'xxxxxx...")
    >>> shown(np.zeros(2, np.uint8), dtype=True)
    'an array of shape (2,) and dtype uint8'
    """
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}" + (f" and dtype {value.dtype}" if dtype else "")
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def number_problem(result, dtype: bool = False) -> str | None:
    """None if ``result`` is one finite real number (a 0-d array counts), else what is wrong (a sentence).

    ``dtype`` is passed to :func:`shown`.

    Example
    -------
    >>> number_problem(0.25) is None, number_problem(np.array(3)) is None
    (True, True)
    >>> number_problem("0.25")
    "returned str '0.25'; return a number"
    """
    if result is None:
        return "returned None (is a `return` missing?)"
    if isinstance(result, np.ndarray) and result.ndim == 0:
        result = result.item()
    if isinstance(result, (bool, np.bool_)) or not isinstance(result, (numbers.Real, np.integer, np.floating)):
        return f"returned {type(result).__name__} {shown(result, dtype=dtype)}; return a number"
    if not math.isfinite(float(result)):
        return f"returned {result!r}; return a finite number"
    return None


# --------------------------------------------------------------------------- shapes and counts
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
    >>> from efficientnn.quiz import LayerSpec
    >>> FunctionCase(((12, 10, 2), 3, 4), Question("output_shape", LayerSpec("conv", (12, 10, 2), 3, filters=4)))
    ... # doctest: +ELLIPSIS
    FunctionCase(args=((12, 10, 2), 3, 4), question=Question(...), kwargs={}, note='')
    """

    args: tuple
    question: Question
    kwargs: dict = field(default_factory=dict)
    note: str = ""


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

    Example
    -------
    >>> check_form(lambda i, o: i * o, (784, 10), "count", name="dense_macs")
    """
    if kind not in ("output_shape", "count"):
        raise ValueError(f'kind must be "output_shape" or "count", got {kind!r}.')
    name = _name_of(fn, name)
    require_function(fn, name)
    shown = call_text(name, tuple(args), kwargs)
    result = call_safely(fn, tuple(args), kwargs, shown)
    problem = _form_problem(kind, result)
    if problem:
        raise AssertionError(f"{shown} {problem}.")


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
        result = call_safely(fn, case.args, case.kwargs, shown)
        problem = _form_problem(case.question.kind, result)  # any kind but a shape is a count
        if problem:
            raise AssertionError(f"{shown}{about} {problem}.")
        if isinstance(result, np.ndarray):
            result = result.tolist()
        verdict = check(case.question, result)
        if not verdict.correct:
            raise AssertionError(f"{shown}{about} returned {_short(result)}, which is not right. "
                                 f"{_without_lead(verdict.message)}")


# --------------------------------------------------------------------------- arrays
@dataclass(frozen=True)
class ArrayCase:
    """One call of an array function.

    Parameters
    ----------
    arrays : tuple of (name, shape, fill) with fill "normal" (standard normal) or "negative"
        (all values in (-2, -1]); each array is float32, drawn from its own generator seeded
        ``seed + position``, so a student can rebuild it from the message
    kwargs : dict, other arguments (e.g. ``{"pool_size": 2}``), passed by keyword unless listed
        in ``positional``
    seed : int
    note : str, what the case is about, added to a failure message
    positional : tuple of str, names in ``kwargs`` passed positionally after the arrays

    Example
    -------
    >>> case = ArrayCase((("x", (1, 4, 4, 1), "normal"),), {"pool_size": 2}, seed=7, positional=("pool_size",))
    >>> case.call("max_pool"), case.build()["x"].shape
    ('max_pool(x, 2)', (1, 4, 4, 1))
    """

    arrays: tuple
    kwargs: dict = field(default_factory=dict)
    seed: int = 0
    note: str = ""
    positional: tuple = ()

    def build(self) -> dict:
        """The input arrays, by name."""
        out = {}
        for i, (name, shape, fill) in enumerate(self.arrays):
            rng = np.random.default_rng(self.seed + i)
            if fill == "negative":
                out[name] = (-1.0 - rng.random(shape)).astype(np.float32)
            else:
                out[name] = rng.standard_normal(shape).astype(np.float32)
        return out

    def recipe(self) -> str:
        """Python code that rebuilds the inputs, e.g. ``x = np.random.default_rng(3).standard_normal(...)``."""
        lines = []
        for i, (name, shape, fill) in enumerate(self.arrays):
            gen = f"np.random.default_rng({self.seed + i})"
            if fill == "negative":
                lines.append(f"{name} = (-1 - {gen}.random({shape!r})).astype(np.float32)")
            else:
                lines.append(f"{name} = {gen}.standard_normal({shape!r}).astype(np.float32)")
        return "; ".join(lines)

    def call(self, name: str) -> str:
        """The call as code, arrays by name: ``max_pool(x, 2, stride=1)``."""
        shown = [a[0] for a in self.arrays]
        shown += [repr(self.kwargs[k]) for k in self.positional]
        shown += [f"{k}={v!r}" for k, v in self.kwargs.items() if k not in self.positional]
        return f"{name}({', '.join(shown)})"

    def args_kwargs(self, arrays: dict):
        """The call's positional and keyword arguments, given the built arrays."""
        args = tuple(arrays[a[0]] for a in self.arrays) + tuple(self.kwargs[k] for k in self.positional)
        kwargs = {k: v for k, v in self.kwargs.items() if k not in self.positional}
        return args, kwargs


def _array_problem(result, n_batch: int, ndim: int = 4):
    """None if ``result`` is a numeric array with ``ndim`` axes and the batch kept, else a sentence."""
    if result is None:
        return "returned None (is a `return` missing?)"
    if not isinstance(result, np.ndarray):
        return f"returned a {type(result).__name__}, not a numpy array; return an array such as np.zeros(...)"
    if result.dtype.kind not in "fiu":
        return f"returned an array of dtype {result.dtype}; return an array of numbers (float32)"
    if result.ndim != ndim:
        return (f"returned an array with {result.ndim} axes, shape {result.shape}; return {ndim} axes, "
                "(N, Ho, Wo, C) like the input")
    if result.shape[0] != n_batch:
        return (f"returned {result.shape[0]} example(s) for a batch of {n_batch} (shape {result.shape}); "
                "the first axis is the batch: keep it")
    if not np.all(np.isfinite(result)):
        return "returned an array holding nan or inf"
    return None


def _close(a, b) -> bool:
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-4, atol=1e-4)


def check_array_form(fn, case: ArrayCase, name=None) -> None:
    """One call; check only that the result is a 4-D numeric array with the batch kept. For visible tests.

    Returns None (a visible test cell then shows nothing); raises AssertionError with a message
    naming the call otherwise.
    """
    name = _name_of(fn, name)
    require_function(fn, name)
    arrays = case.build()
    shown = f"{case.call(name)} with {case.recipe()}"
    args, kwargs = case.args_kwargs(arrays)
    result = call_safely(fn, args, kwargs, shown)
    problem = _array_problem(result, len(arrays[case.arrays[0][0]]))
    if problem:
        raise AssertionError(f"{shown} {problem}.")


@dataclass(frozen=True)
class _ArrayCheck:
    """What :func:`check_array_function` compares one case's result with."""

    reference: object
    shape_question: object
    value_slips: object
    shape_slips: object
    messages: dict

    def shape_slip(self, arrays, case, got):
        """The slip whose output shape is ``got`` (only asked for a shape that is not the right one)."""
        if not self.shape_slips:
            return None
        return next((k for k, s in self.shape_slips(arrays, case.kwargs) if tuple(s) == got), None)

    def flat_shape_slip(self, arrays, case, result, want):
        """A slip whose output lost its channel axis (e.g. channels summed into one, then squeezed)."""
        n = len(arrays[case.arrays[0][0]])
        if not (isinstance(result, np.ndarray) and result.ndim == 3 and result.shape[:1] == (n,) and self.shape_slips
                and want[-1] != 1):
            return None
        slips = dict((tuple(s), k) for k, s in self.shape_slips(arrays, case.kwargs))
        return slips.get(tuple(result.shape[1:]) + (1,))

    def value_message(self, arrays, case, got_values, expected):
        for slip, candidate in (self.value_slips(arrays, case.kwargs, expected) if self.value_slips else []):
            candidate = np.asarray(candidate)
            if not _close(candidate, expected) and _close(got_values, candidate):
                return self.messages[slip]
        diff = got_values - expected
        if np.ptp(diff) < 1e-4 and abs(diff.flat[0]) > 1e-4:
            return self.messages["bias_like_shift"]
        return None


def check_array_function(fn, cases, name, reference, shape_question, value_slips=None, shape_slips=None,
                         allow_reference=False, call=None, messages=None, forbidden=LAYER_CLASSES) -> None:
    """Run ``fn`` on every case and compare with ``reference``; raise AssertionError at the first mismatch.

    Parameters
    ----------
    fn : the student's function
    cases : iterable of ArrayCase
    name : str, the function's name in messages
    reference : callable (arrays: dict, kwargs: dict) -> ndarray, the right output (efficientnn)
    shape_question : callable (case, arrays) -> Question, an output-shape question whose answer is
        the output's (Ho, Wo, C); :func:`efficientnn.quiz.check` diagnoses shape slips with it
    value_slips : callable (arrays, kwargs, expected) -> list of (slip, ndarray), typical wrong outputs
    shape_slips : callable (arrays, kwargs) -> list of (slip, shape tuple without batch)
    allow_reference : bool, accept a function that uses a name in ``forbidden``
    call : str or None, the call as shown in messages (default ``name`` applied to the case's arguments)
    messages : dict, slip -> message for the slips above (:data:`ARRAY_SLIP_MESSAGES` are added)
    forbidden : names ``fn`` may not use (default :data:`LAYER_CLASSES`)

    Returns
    -------
    None, so that a hidden-test cell ending with this call is all-or-nothing in nbgrader.
    """
    require_function(fn, name)
    if not allow_reference:
        refuse_reference(fn, name, forbidden, "efficientnn's", "the layer it is graded against: write it with "
                         "numpy operations (slicing, max, sum, @).")
    rules = _ArrayCheck(reference, shape_question, value_slips, shape_slips,
                        {**ARRAY_SLIP_MESSAGES, **(messages or {})})
    for case in cases:
        _check_array_case(fn, case, name, rules, call)


def _check_array_case(fn, case, name, rules: _ArrayCheck, call) -> None:
    arrays = case.build()
    originals = {k: v.copy() for k, v in arrays.items()}
    about = f" ({case.note})" if case.note else ""
    where = f"{call or case.call(name)}{about}, with {case.recipe()},"
    args, kwargs = case.args_kwargs(arrays)
    result = call_safely(fn, args, kwargs, where)
    for key, original in originals.items():
        if not np.array_equal(arrays[key], original):
            raise AssertionError(f"{where} changed its input {key}: leave the inputs as they are and write the "
                                 "output into a new array.")
    question = rules.shape_question(case, arrays)
    want = tuple(question.layer.output_shape())
    slip = rules.flat_shape_slip(arrays, case, result, want)
    if slip:
        raise AssertionError(f"{where} returned an array of shape {result.shape}, which is not right. "
                             f"{rules.messages[slip]}")
    problem = _array_problem(result, len(arrays[case.arrays[0][0]]))
    if problem:
        raise AssertionError(f"{where} {problem}.")
    got = tuple(result.shape[1:])
    if got != want:
        slip = rules.shape_slip(arrays, case, got)
        message = rules.messages[slip] if slip else _without_lead(check(question, got).message)
        raise AssertionError(f"{where} returned an array of shape {result.shape}, which is not right. {message}")
    expected = np.asarray(rules.reference(arrays, case.kwargs))
    got_values = result.astype(np.float64)
    if _close(got_values, expected):
        return
    message = rules.value_message(arrays, case, got_values, expected)
    if message:
        raise AssertionError(f"{where} returned the right shape but wrong values. {message}")
    bad = np.argwhere(~np.isclose(got_values, expected, rtol=1e-4, atol=1e-4))
    first = tuple(int(i) for i in bad[0])
    raise AssertionError(f"{where} returned the right shape but wrong values: {len(bad)} of {result.size} "
                         f"differ, the first at index {first}, where it returned {got_values[first]:.4g}. "
                         "Work that output out by hand from the window it reads.")


# --------------------------------------------------------------------------- questions with extra slips
def add_slips(verdict: Verdict, question, answer, candidates) -> Verdict:
    """``verdict`` (the quiz's, on ``question``), naming one of ``candidates`` if the answer is one.

    For the slips only an assignment can know (the question is about a pooled or a pruned model,
    say): :func:`efficientnn.quiz.check` still decides whatever it recognises, and a wrong answer
    equal to a candidate's value scores 0 with that candidate's message instead.

    Parameters
    ----------
    verdict : Verdict, ``check(question, answer)``
    question : Question, whose kind says how the answer is read (a shape or a number)
    answer : the student's answer
    candidates : iterable of (slip, value, message); the first whose value the answer matches
        (exactly for a shape, within the quiz's tolerance for a number) wins

    Returns
    -------
    Verdict
    """
    if verdict.correct or verdict.slip in ("format", "no_answer"):
        return verdict
    try:
        parsed = parse_shape(answer) if question.kind == "output_shape" else parse_number(answer)
    except AnswerFormatError:
        return verdict
    for slip, value, message in candidates:
        same = parsed == tuple(value) if question.kind == "output_shape" else matches(parsed, value)
        if same:
            return replace(verdict, points=0.0, slip=slip, message=f"Not yet. {message}")
    return verdict


def assert_no_slip(verdict: Verdict, slips) -> None:
    """Raise AssertionError with the verdict's message if its slip (or the last part of a ``a+b`` slip) is in ``slips``.

    A hidden test calls this first and then :func:`efficientnn.quiz.assert_correct` or
    :func:`efficientnn.quiz.grade`, so that the quiz decides the score and the slips the quiz
    cannot know still get their own message.
    """
    if verdict.slip and verdict.slip.split("+")[-1] in slips:
        raise AssertionError(verdict.message)


def assert_right(verdict: Verdict, lead: bool = True) -> None:
    """Raise AssertionError with the verdict's message unless it is fully right.

    ``lead=False`` leaves the "Not yet. " off the message.
    """
    if not verdict.correct:
        raise AssertionError(verdict.message if lead else _without_lead(verdict.message))


# --------------------------------------------------------------------------- self-check cells
def self_check(checker, fn, *args, **kwargs) -> Verdict:
    """Run a checker for a self-check cell: a Verdict instead of an exception.

    ``self_check(check_output_shape, output_shape)`` shows "All checks pass." or the checker's
    message, without stopping "Run All" at the cell. Extra arguments go to the checker.

    Example
    -------
    >>> self_check(require_function, len, "len").correct
    True
    """
    try:
        checker(fn, *args, **kwargs)
    except AssertionError as err:
        return Verdict(False, 0.0, 1.0, f"Not yet. {err}", "function")
    return Verdict(True, 1.0, 1.0, "All checks pass.")
