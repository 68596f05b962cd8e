"""Checkers of assignment 01 (source/01-measuring-cost): output shapes, MACs and FLOPs as functions.

The function signatures the notebook's stubs define:

- ``output_shape(input_shape, kernel_size, filters, stride=1, padding=0) -> (H, W, C)``
- ``dense_macs(in_units, out_units) -> int``
- ``conv_macs(input_shape, kernel_size, filters, stride=1, padding=0) -> int``
- ``conv_flops(input_shape, kernel_size, filters, stride=1, padding=0) -> int``

with checkers :func:`check_output_shape`, :func:`check_dense_macs`, :func:`check_conv_macs`,
:func:`check_conv_flops`. Question 3, the inference time FLOPs / FLOPS of a model given its MACs
and a machine's GFLOP/s, is :func:`inference_time_question`, an :class:`InferenceTimeQuestion`
graded by :func:`efficientnn.quiz.grade` like the lesson's questions. ``kernel_size``, ``stride`` and ``padding`` are ints (a square kernel,
the same stride and padding along both axes). The conv checkers take ``cases="basic"`` (stride
1, no padding: the lesson's formula), ``"stride_padding"`` or ``"all"``. Each runs the function
on fixed and seeded random cases through :func:`efficientnn.quiz.harness.check_function`, so a
failure names the call and the slip, never the right result. The lesson's questions are
:func:`efficientnn.quiz.lesson_questions` (shared with the drill).

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

import re
from dataclasses import dataclass

import numpy as np

from .. import cost
from .check import APPROX_MAX_REL_ERROR, SLIP_MESSAGES, Verdict, matches
from .parse import AnswerFormatError, parse_number
from .harness import FunctionCase, check_function
from .questions import LayerSpec, Question

__all__ = [
    "SEED",
    "CONV_CASE_SETS",
    "conv_cases",
    "dense_cases",
    "check_output_shape",
    "check_dense_macs",
    "check_conv_macs",
    "check_conv_flops",
    "InferenceTimeQuestion",
    "inference_time_question",
]

#: Seed of the random cases: fixed, so every student is graded on the same calls.
SEED = 2024


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
# The first cases tell the slips apart: with padding 2, padding on one side only (8), the +1
# missing (9) and no padding (6) all differ; a stride that leaves a remainder of 2 tells a
# rounded-up division (5) from the +1 missing (3).
_STRIDE_PADDING = [
    ((8, 8, 3), 3, 2, 1, 2, "padding 2"),
    ((14, 14, 2), 3, 4, 3, 0, "stride 3 that does not divide evenly"),
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


# --------------------------------------------------------------------------- Question 3: FLOPs / FLOPS
#: Seconds per unit a time answer may be written in; a bare number is in the question's unit.
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "μs": 1e-6, "us": 1e-6, "ns": 1e-9}
_TIME_ANSWER = re.compile(r"^(?P<number>.*?)\s*(?P<unit>s|ms|µs|μs|us|ns)$")


@dataclass(frozen=True)
class InferenceTimeQuestion:
    """How long a model of ``macs`` MACs takes on a machine of ``flops_per_second`` FLOPS.

    The answer is the lesson's estimate FLOPs / FLOPS, in ``unit`` (``"ms"`` or ``"µs"``),
    computed by :func:`efficientnn.cost.latency_ms`. Like a ratio, an answer is always taken as
    rounded: it may be off by 1 % (or half a unit in its last written digit, never more than 5 %).
    A string may carry its unit (``"4.8 ms"``, ``"4800 µs"``, ``"0.0048 s"``); it is converted.

    Parameters
    ----------
    macs : int, the model's MACs for one image
    flops_per_second : float, the machine's speed in FLOPs per second
    unit : {"ms", "µs"}, the unit a bare number is read in
    name : str or None
    points : float

    Example
    -------
    >>> q = InferenceTimeQuestion(1_000_000, 1e9)
    >>> round(q.expected(), 6)
    2.0
    >>> q.check_answer("1 ms", 1.0).slip
    'time_from_macs'
    """

    macs: int
    flops_per_second: float
    unit: str = "ms"
    name: str | None = None
    points: float = 1.0

    def __post_init__(self):
        if self.unit not in ("ms", "µs"):
            raise ValueError(f'unit must be "ms" or "µs", got {self.unit!r}.')
        cost.latency_ms(cost.flops_from_macs(self.macs), self.flops_per_second)  # validates both numbers

    @property
    def _per_ms(self) -> float:
        return 1.0 if self.unit == "ms" else 1000.0

    def expected(self) -> float:
        """The inference time in ``unit``: FLOPs (2 x MACs) / FLOPS."""
        return cost.latency_ms(cost.flops_from_macs(self.macs), self.flops_per_second) * self._per_ms

    def prompt(self) -> str:
        return (f"A model performs {self.macs / 1e6:g} million MACs for one image, on a machine that runs "
                f"{self.flops_per_second / 1e9:g} GFLOPS. Estimate its inference time for one image as "
                f"FLOPs / FLOPS, in {self.unit}.")

    def slip_candidates(self) -> list[tuple[str, float]]:
        """Typical wrong answers in ``unit``, as (slip, value), most likely first; none equals the answer."""
        exact = self.expected()
        from_macs = cost.latency_ms(self.macs, self.flops_per_second) * self._per_ms
        # the speed divided by the work: images per second, read as a time in s, ms or µs
        inverted = self.flops_per_second / cost.flops_from_macs(self.macs)
        inverted_macs = self.flops_per_second / self.macs
        raw = [("time_from_macs", from_macs)]
        raw += [("rate_inverted", inverted * f) for f in (1.0, 1e3, 1e-3)]
        raw += [("time_from_macs+rate_inverted", inverted_macs * f) for f in (1.0, 1e3, 1e-3)]
        factors = (1e3, 1e-3, 1e6, 1e-6)
        raw += [("time_units", exact * f) for f in factors]
        raw += [("time_from_macs+time_units", from_macs * f) for f in factors]
        out = []
        for slip, value in raw:
            if abs(value - exact) > APPROX_MAX_REL_ERROR * exact and all(value != v for _, v in out):
                out.append((slip, value))
        return out

    def read(self, answer) -> float:
        """The answer as a time in ``unit``; raises AnswerFormatError for anything else."""
        if isinstance(answer, str):
            match = _TIME_ANSWER.match(answer.strip())
            if match and match["number"].strip():
                number = parse_number(match["number"].strip())
                return number.value * _TIME_UNITS[match["unit"]] / _TIME_UNITS[self.unit]
        return parse_number(answer).value

    def check_answer(self, answer, max_points: float) -> Verdict:
        """The verdict on ``answer`` (what :func:`efficientnn.quiz.check` returns for this question)."""
        try:
            value = self.read(answer)
        except AnswerFormatError as err:
            return Verdict(False, 0.0, max_points, f"{err} Give the time in {self.unit}, e.g. 12.5 or \"12.5 "
                           f"{self.unit}\".", "format")
        # a converted unit has no written digits in the question's unit: the 1 % rule alone
        converted = isinstance(answer, str) and _TIME_ANSWER.match(answer.strip())
        parsed = parse_number(value if converted else answer)
        exact = self.expected()
        if matches(parsed, exact, rounded=True):
            return Verdict(True, max_points, max_points, "Correct.")
        slip = next((name for name, v in self.slip_candidates() if matches(parsed, v, rounded=True)), None)
        if slip is None and abs(value - exact) <= APPROX_MAX_REL_ERROR * exact:
            slip = "close_time"
        text = (" ".join(SLIP_MESSAGES[part] for part in slip.split("+")) if slip else
                "Work out the FLOPs first (2 per MAC), then divide them by the FLOPS: that gives seconds.")
        return Verdict(False, 0.0, max_points, f"Not yet. {text}", slip)


def inference_time_question() -> InferenceTimeQuestion:
    """Question 3 of the notebook: 60 million MACs on a 25 GFLOPS machine, the time in ms.

    The numbers make every slip a different value: MACs for FLOPs halves the time, the inverted
    formula gives hundreds (images per second), and the unit slips are factors of 1000.
    """
    return InferenceTimeQuestion(60_000_000, 25e9, "ms", name="inference_time_60m_macs_25_gflops")
