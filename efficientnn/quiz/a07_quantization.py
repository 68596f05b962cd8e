"""Checkers of assignment 07 (source/07-quantization).

Function exercises (the signatures the notebook's stubs define), each checked against
:mod:`efficientnn.quantization`, computed at check time:

- ``symmetric_scale(w, bits)``: one scale for the whole array, ``max|w| / (2^(bits-1) - 1)``
  (:func:`check_symmetric_scale`);
- ``per_channel_scales(w, bits)``: one such scale per output channel (the last axis), shape
  ``(w.shape[-1],)`` (:func:`check_per_channel_scales`);
- ``asymmetric_params(x_min, x_max, bits)``: ``(scale, zero_point)`` for unsigned integers
  ``0 .. 2^bits - 1``, the range first widened to hold 0, ``scale = (hi - lo) / (2^bits - 1)``,
  ``zero_point = round(-lo / scale)`` (:func:`check_asymmetric_params`);
- ``quantize(x, scale, zero_point, bits)``: ``clip(round(x / scale) + zero_point, 0, 2^bits - 1)`` as an
  integer array (:func:`check_quantize`);
- ``int_matmul(qx, qw, zero_point)``: ``(qx - zero_point) @ qw`` for uint8 ``qx`` (M, K) and int8 ``qw``
  (K, F), exact, in integers of at least 32 bits (:func:`check_int_matmul`).

Each checker runs the function on fixed and seeded random inputs, compares with the reference
and, on the first mismatch, raises ``AssertionError`` with a message naming the call, how to
rebuild its inputs, and the slip it recognises (:data:`QUANTIZATION_SLIP_MESSAGES`): the scale from
the maximum instead of the largest magnitude, the zero point's sign, truncation instead of
rounding, a missing clip, an accumulator that overflowed (uint8 subtraction wrapping around, int16
products). No message holds the right result. Every call goes through
:func:`efficientnn.quiz.harness.call_safely`, so the grader can re-check it outside the kernel.

Over 600 lines because it is all of assignment 07's checking, one module for one notebook: five
exercises, each with its cases, the wrong answers it recognises and a visible form check; 55
lines are the slip messages a student reads, and about 100 are docstrings.

Example
-------
>>> import numpy as np
>>> check_symmetric_scale(lambda w, bits: float(np.abs(w).max()) / (2 ** (bits - 1) - 1))  # None: all pass
>>> try:
...     check_symmetric_scale(lambda w, bits: float(w.max()) / (2 ** (bits - 1) - 1))
... except AssertionError as err:
...     print(str(err).split("which is not right. ")[1][:51])
The scale came from the largest *value*, np.max(w),
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import quantization
from .harness import call_safely, number_problem, refuse_reference, require_function, shown

__all__ = [
    "QUANTIZATION_SLIP_MESSAGES",
    "Case",
    "symmetric_scale_cases",
    "check_symmetric_scale",
    "check_symmetric_scale_form",
    "per_channel_scales_cases",
    "check_per_channel_scales",
    "check_per_channel_scales_form",
    "asymmetric_params_cases",
    "check_asymmetric_params",
    "check_asymmetric_params_form",
    "quantize_cases",
    "check_quantize",
    "check_quantize_form",
    "int_matmul_cases",
    "check_int_matmul",
    "check_int_matmul_form",
]

#: Seed of the random cases: fixed, so every student is graded on the same inputs.
SEED = 707
#: Relative tolerance on scales (a float32 division is off by about 6e-8).
REL_TOL = 1e-6

QUANTIZATION_SLIP_MESSAGES = {
    # scales
    "max_not_max_abs": ("The scale came from the largest *value*, np.max(w), not the largest *magnitude*. Here the "
                        "weight farthest from zero is negative, so it would be clipped. Use np.max(np.abs(w))."),
    "full_signed_range": ("Divided by 2^(bits-1) (128 for 8 bits). The symmetric range stops at 2^(bits-1) - 1 "
                          "(127) on both sides, so that -q exists for every q: divide by 2 ** (bits - 1) - 1."),
    "unsigned_range": ("Divided by 2^bits - 1 (255 for 8 bits), the count of steps of the *unsigned* range. The "
                       "symmetric range uses half of the codes for each sign: divide by 2 ** (bits - 1) - 1."),
    "range_width": ("This is the asymmetric scale (max - min) / (2^bits - 1). The symmetric scale covers "
                    "[-max|w|, max|w|] with the signed codes: max|w| / (2^(bits-1) - 1)."),
    "inverse_scale": ("This is 1 / scale. The scale is the size of one integer step in the weights' units: "
                      "max|w| divided by the largest code, a small number."),
    "bits_ignored": "The number of bits was ignored: the largest code is 2 ** (bits - 1) - 1, not always 127.",
    "one_scale_for_all": ("Every channel got the same scale, the per-tensor one. Per channel means each output "
                          "channel w[..., c] gets its own largest magnitude."),
    "wrong_axis": ("The maximum was taken along the wrong axis. The output channel is the last axis: reduce over "
                   "all the others, np.abs(w).max(axis=tuple(range(w.ndim - 1)))."),
    # asymmetric parameters
    "zero_point_sign": ("The zero point has the wrong sign. Real 0 must land on an integer inside 0..2^bits - 1: "
                        "zero_point = round(-lo / scale), and lo <= 0, so the zero point is >= 0."),
    "zero_not_included": ("The range was not widened to hold 0. With x_min > 0 (or x_max < 0), 0.0 would be "
                          "outside the range and could not be stored exactly; use lo = min(x_min, 0) and "
                          "hi = max(x_max, 0)."),
    "scale_from_max": ("The scale came from x_max alone. The asymmetric range spans from lo to hi: "
                       "scale = (hi - lo) / (2 ** bits - 1)."),
    "signed_steps": ("Divided by the signed range's 2^(bits-1) - 1. Unsigned integers 0..2^bits - 1 have "
                     "2 ** bits - 1 steps."),
    "zero_point_truncated": ("The zero point was truncated (int() or floor) instead of rounded to the nearest "
                             "integer: round(-lo / scale)."),
    # quantize
    "truncation": ("The values were truncated (astype(int), int() or floor) instead of rounded. Truncation moves "
                   "every value toward zero (or down) by up to a whole step, doubling the error: use np.rint (or "
                   "np.round) before adding the zero point."),
    "no_clip": ("Some values fell outside 0..2^bits - 1: values beyond the calibrated range must be clipped to "
                "the ends (np.clip(..., 0, 2 ** bits - 1)) before the integers are stored."),
    "wrapped": ("Values outside 0..2^bits - 1 wrapped around (a cast to uint8 keeps only the low 8 bits: 256 "
                "becomes 0, -1 becomes 255). Clip with np.clip(..., 0, 2 ** bits - 1) before casting."),
    "signed_clip": ("Clipped to the signed range -2^(bits-1)..2^(bits-1) - 1. With a zero point the integers are "
                    "unsigned: clip to 0..2 ** bits - 1."),
    "quantize_zero_point_sign": ("The zero point was subtracted. Quantizing adds it (q = round(x / scale) + "
                                 "zero_point); dequantizing subtracts it ((q - zero_point) * scale)."),
    "multiplied_by_scale": "x was multiplied by the scale; divide by it: one step is `scale` units of x.",
    # int_matmul
    "uint8_wrap": ("qx - zero_point wrapped around: qx is uint8, and numpy keeps uint8 when a Python int is "
                   "subtracted, so 3 - 128 becomes 131. Convert first: qx.astype(np.int32) - zero_point."),
    "int16_overflow": ("The accumulator overflowed: numpy multiplies uint8 by int8 in int16, which holds at most "
                       "32,767, and a sum of K products of up to 255 * 127 needs more. Convert both operands to "
                       "np.int32 before the product, as an int8 kernel accumulates in int32."),
    "int8_overflow": ("The result wrapped around in 8 bits. Sums of products need a wide accumulator: convert "
                      "both operands to np.int32 before the product."),
    "matmul_zero_point_sign": ("The zero point was added to qx; subtract it: the real value of qx is "
                               "(qx - zero_point) * scale."),
    "zero_point_forgotten": ("The zero point was left out: qx stands for (qx - zero_point) * scale, so subtract "
                             "zero_point from qx before multiplying."),
}

#: efficientnn.quantization functions a student's function may not call: they are what it is graded against.
_FORBIDDEN = ("calibrate", "params_from_range", "quantize", "dequantize", "fake_quantize", "int_matmul",
              "quantized_dense", "quantized_conv2d", "Symmetric", "Asymmetric", "QuantParams")


# --------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    """One call of a student's function: arrays rebuilt from seeds, then plain arguments.

    Parameters
    ----------
    arrays : tuple of (name, recipe) where recipe is (kind, shape, a, b) and kind is
        "normal" (``standard_normal * a + b``, float32), "uniform" (``uniform(a, b)``, float32),
        "uint8" or "int8" (``integers(a, b + 1)``, of that dtype)
    args : tuple of plain arguments after the arrays (numbers)
    seed : int, array ``i`` comes from ``np.random.default_rng(seed + i)``
    note : str, what the case is about
    edits : tuple of (name, index, value): entries set after drawing (an outlier, a negative extreme)
    """

    arrays: tuple = ()
    args: tuple = ()
    seed: int = SEED
    note: str = ""
    edits: tuple = field(default_factory=tuple)

    def build(self) -> tuple:
        """The call's positional arguments (new arrays at each call)."""
        out = {}
        for i, (name, (kind, shape, a, b)) in enumerate(self.arrays):
            rng = np.random.default_rng(self.seed + i)
            if kind == "normal":
                out[name] = (rng.standard_normal(shape) * a + b).astype(np.float32)
            elif kind == "uniform":
                out[name] = rng.uniform(a, b, shape).astype(np.float32)
            else:
                out[name] = rng.integers(a, b + 1, shape).astype(kind)
        for name, index, value in self.edits:
            out[name][index] = value
        return tuple(out[name] for name, _ in self.arrays) + tuple(self.args)

    def recipe(self) -> str:
        """Python code that rebuilds the arrays."""
        lines = []
        for i, (name, (kind, shape, a, b)) in enumerate(self.arrays):
            gen = f"np.random.default_rng({self.seed + i})"
            if kind == "normal":
                lines.append(f"{name} = ({gen}.standard_normal({shape!r}) * {a!r} + {b!r}).astype(np.float32)")
            elif kind == "uniform":
                lines.append(f"{name} = {gen}.uniform({a!r}, {b!r}, {shape!r}).astype(np.float32)")
            else:
                lines.append(f"{name} = {gen}.integers({a!r}, {b + 1!r}, {shape!r}).astype(np.{kind})")
        lines += [f"{name}[{_index_text(index)}] = {value!r}" for name, index, value in self.edits]
        return "; ".join(lines)

    def call(self, fn_name: str) -> str:
        shown = [name for name, _ in self.arrays] + [repr(a) for a in self.args]
        return f"{fn_name}({', '.join(shown)})"

    def where(self, fn_name: str) -> str:
        about = f" ({self.note})" if self.note else ""
        recipe = f", with {self.recipe()}," if self.arrays else ""
        return f"{self.call(fn_name)}{about}{recipe}"


def _index_text(index) -> str:
    """``(slice(None), 0)`` as ``:, 0``: an index as it is typed."""
    parts = index if isinstance(index, tuple) else (index,)
    return ", ".join(":" if part == slice(None) else repr(part) for part in parts)


def _start(fn, name, allow_reference):
    require_function(fn, name)
    if not allow_reference:
        refuse_reference(fn, name, _FORBIDDEN, "efficientnn.quantization's",
                         "which it is graded against: write it with numpy operations.", module=quantization)


def _run(fn, case: Case, name: str, form):
    """Call ``fn`` on fresh inputs; return (args, result) once the arrays are left alone and
    ``form(args, result)`` (None, or what is wrong with the result's form) finds no problem."""
    args = case.build()
    originals = [a.copy() for a in args if isinstance(a, np.ndarray)]
    result = call_safely(fn, args, {}, case.where(name))
    if not all(np.array_equal(a, o) for a, o in zip((a for a in args if isinstance(a, np.ndarray)), originals)):
        raise AssertionError(f"{case.where(name)} changed its input: leave the inputs as they are.")
    problem = form(args, result)
    if problem:
        raise AssertionError(f"{case.where(name)} {problem}.")
    return args, result


def _form_check(fn, name: str, case: Case, form):
    """A visible test: one call on ``case``, checking only the result's form; returns the result."""
    require_function(fn, name)
    return _run(fn, case, name, form)[1]


def _fail(case, name, result, slip=None, text=None) -> AssertionError:
    return AssertionError(f"{case.where(name)} returned {shown(result, dtype=True)}, which is not right. "
                          f"{text or QUANTIZATION_SLIP_MESSAGES[slip]}")


def _number_form(args, result) -> str | None:
    return number_problem(result, dtype=True)


def _close(a, b) -> bool:
    return np.allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=REL_TOL, atol=0)


def _first_slip(result, candidates, expected):
    """The first (slip, value) candidate the result matches and the right answer does not."""
    for slip, value in candidates:
        value = np.asarray(value, np.float64)
        if value.shape == np.shape(expected) and not _close(value, expected) and _close(result, value):
            return slip
    return None


# --------------------------------------------------------------------------- symmetric scales
def symmetric_scale_cases(n_random: int = 4, seed: int = SEED) -> list[Case]:
    """The calls ``symmetric_scale(w, bits)`` is checked on."""
    out = [
        Case((("w", ("normal", (4, 6), 0.1, 0.0)),), (8,), seed, "a dense layer's weights"),
        Case((("w", ("normal", (3, 3, 2, 4), 0.5, 0.0)),), (8,), seed + 10, "the largest magnitude is a negative weight",
             edits=(("w", (1, 1, 0, 2), -3.0),)),
        Case((("w", ("normal", (20,), 1.0, 0.0)),), (4,), seed + 20, "4 bits"),
        Case((("w", ("uniform", (5, 5), 0.1, 2.0)),), (8,), seed + 30, "every weight positive"),
        Case((("w", ("uniform", (6,), -2.0, -0.1)),), (8,), seed + 40, "every weight negative"),
        Case((("w", ("normal", (7, 3), 1.0, 0.0)),), (2,), seed + 50, "2 bits: codes -1, 0, 1"),
    ]
    rng = np.random.default_rng(seed)
    for i in range(n_random):
        shape = [(64, 16), (3, 3, 8, 4), (128,)][int(rng.integers(3))]
        out.append(Case((("w", ("normal", shape, float(rng.choice([0.05, 0.3, 2.0])), 0.0)),),
                        (int(rng.choice([8, 6, 4])),), seed + 500 + 10 * i))
    return out


def _symmetric_slips(w, bits):
    a, qmax = np.abs(w.astype(np.float64)), 2 ** (bits - 1) - 1
    return [("max_not_max_abs", float(w.max()) / qmax), ("full_signed_range", a.max() / 2 ** (bits - 1)),
            ("unsigned_range", a.max() / (2**bits - 1)),
            ("range_width", (max(float(w.max()), 0) - min(float(w.min()), 0)) / (2**bits - 1)),
            ("inverse_scale", qmax / a.max()), ("bits_ignored", a.max() / 127)]


def check_symmetric_scale(fn, allow_reference: bool = False) -> None:
    """Check ``symmetric_scale(w, bits) -> float`` against ``calibrate(w, Symmetric(bits)).scale``.

    Example
    -------
    >>> check_symmetric_scale(lambda w, bits: float(np.abs(w).max()) / (2 ** (bits - 1) - 1))
    """
    name = "symmetric_scale"
    _start(fn, name, allow_reference)
    for case in symmetric_scale_cases():
        (w, bits), result = _run(fn, case, name, _number_form)
        expected = float(quantization.calibrate(w, quantization.Symmetric(bits)).scale)
        if not _close(result, expected):
            slip = _first_slip(result, _symmetric_slips(w, bits), expected)
            raise _fail(case, name, result, slip, None if slip else (
                "The symmetric scale maps the largest magnitude in w onto the largest code: "
                "max|w| / (2 ** (bits - 1) - 1)."))


def check_symmetric_scale_form(fn) -> None:
    """Visible test: ``symmetric_scale`` returns one finite positive number (not whether it is right)."""
    case = Case((("w", ("normal", (3, 4), 1.0, 0.0)),), (8,), seed=7)
    _form_check(fn, "symmetric_scale", case, _positive_number_form)


def _positive_number_form(args, result) -> str | None:
    return number_problem(result, dtype=True) or (f"returned {result!r}: a scale is positive" if float(result) <= 0
                                                  else None)


# --------------------------------------------------------------------------- per-channel scales
def per_channel_scales_cases(n_random: int = 3, seed: int = SEED + 1000) -> list[Case]:
    """The calls ``per_channel_scales(w, bits)`` is checked on (channels of very different sizes)."""
    out = [
        Case((("w", ("normal", (6, 4), 1.0, 0.0)),), (8,), seed, "a dense layer's (inputs, units) weights",
             edits=(("w", (slice(None), 0), 0.01),)),
        Case((("w", ("normal", (3, 3, 2, 5), 0.3, 0.0)),), (8,), seed + 10,
             "a convolution's (kh, kw, Cin, Cout) kernels, one large negative weight", edits=(("w", (0, 2, 1, 3), -4.0),)),
        Case((("w", ("normal", (5, 3), 2.0, 0.0)),), (4,), seed + 20, "4 bits"),
        Case((("w", ("normal", (4, 4), 1.0, 0.0)),), (8,), seed + 30, "as many inputs as channels"),
    ]
    rng = np.random.default_rng(seed)
    for i in range(n_random):
        shape = [(32, 8), (3, 3, 4, 6), (5, 5, 1, 3)][int(rng.integers(3))]
        out.append(Case((("w", ("normal", shape, 1.0, 0.0)),), (8,), seed + 500 + 10 * i))
    return out


def _per_channel_slips(w, bits):
    a, qmax = np.abs(w.astype(np.float64)), 2 ** (bits - 1) - 1
    over = tuple(range(w.ndim - 1))
    c = w.shape[-1]
    out = [("max_not_max_abs", w.max(axis=over) / qmax), ("one_scale_for_all", np.full(c, a.max() / qmax)),
           ("full_signed_range", a.max(axis=over) / 2 ** (bits - 1)),
           ("unsigned_range", a.max(axis=over) / (2**bits - 1)), ("bits_ignored", a.max(axis=over) / 127)]
    if w.shape[0] == c:
        out.append(("wrong_axis", a.max(axis=tuple(range(1, w.ndim))) / qmax))
    return out


def _scales_form(args, result) -> str | None:
    channels = args[0].shape[-1]
    if result is None:
        return "returned None (is a `return` missing?)"
    if not isinstance(result, np.ndarray):
        return f"returned a {type(result).__name__}, not a numpy array; return one scale per output channel"
    if result.dtype.kind not in "fiu":
        return f"returned an array of dtype {result.dtype}; return an array of numbers"
    if result.shape != (channels,):
        wrong = (" (keepdims=True keeps the reduced axes: leave it out, or reshape to (C,))"
                 if result.size == channels else
                 " (the maximum must run over every axis but the last, the output channel)")
        return f"returned an array of shape {result.shape}; return shape ({channels},), one scale per channel{wrong}"
    if not np.all(np.isfinite(result)):
        return "returned an array holding nan or inf"
    return None


def check_per_channel_scales(fn, allow_reference: bool = False) -> None:
    """Check ``per_channel_scales(w, bits) -> (C,)`` against ``calibrate(w, Symmetric(bits), axis=-1).scale``.

    Example
    -------
    >>> check_per_channel_scales(lambda w, bits: np.abs(w).max(axis=tuple(range(w.ndim - 1))) / (2 ** (bits - 1) - 1))
    """
    name = "per_channel_scales"
    _start(fn, name, allow_reference)
    for case in per_channel_scales_cases():
        (w, bits), result = _run(fn, case, name, _scales_form)
        expected = quantization.calibrate(w, quantization.Symmetric(bits), axis=-1).scale
        if not _close(result, expected):
            slip = _first_slip(result, _per_channel_slips(w, bits), expected)
            raise _fail(case, name, result, slip, None if slip else (
                "Each channel c gets the symmetric scale of w[..., c] alone: max|w[..., c]| / (2 ** (bits - 1) - 1)."))


def check_per_channel_scales_form(fn) -> None:
    """Visible test: ``per_channel_scales`` returns one finite number per output channel."""
    case = Case((("w", ("normal", (3, 3, 2, 4), 1.0, 0.0)),), (8,), seed=7)
    _form_check(fn, "per_channel_scales", case, _scales_form)


# --------------------------------------------------------------------------- asymmetric parameters
def asymmetric_params_cases(n_random: int = 4, seed: int = SEED + 2000) -> list[Case]:
    """The calls ``asymmetric_params(x_min, x_max, bits)`` is checked on."""
    fixed = [((-1.0, 3.0, 8), "a range around 0"), ((-0.37, 5.2, 8), ""), ((0.0, 6.0, 8), "a ReLU's output"),
             ((-4.1, -0.5, 8), "every value negative: widen the range to hold 0"),
             ((0.25, 2.5, 8), "every value positive: widen the range to hold 0"),
             ((-2.3, 0.9, 4), "4 bits"), ((-0.013, 0.021, 8), "a small range")]
    out = [Case((), args, seed, note) for args, note in fixed]
    rng = np.random.default_rng(seed)
    for _ in range(n_random):
        lo, hi = sorted(round(float(v), 3) for v in rng.uniform(-5, 5, 2))
        out.append(Case((), (lo, hi, int(rng.choice([8, 6]))), seed))
    return out


def _pair_form(args, result) -> str | None:
    if result is None:
        return "returned None (is a `return` missing?)"
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return f"returned {shown(result, dtype=True)}; return a pair (scale, zero_point)"
    for value, what in zip(result, ("scale", "zero_point")):
        problem = number_problem(value, dtype=True)
        if problem:
            return f"returned a {what} that is not a number: {problem.replace('returned ', '')}"
    if float(result[1]) != round(float(result[1])):
        return (f"returned the zero point {result[1]!r}, which is not a whole number; the zero point is the "
                "integer that stands for 0.0: round it")
    return None


def _asymmetric_slips(x_min, x_max, bits):
    lo, hi, steps = min(x_min, 0.0), max(x_max, 0.0), 2**bits - 1
    scale = (hi - lo) / steps
    narrow = (x_max - x_min) / steps
    signed = (hi - lo) / (2 ** (bits - 1) - 1)
    return [
        ("zero_point_sign", (scale, round(lo / scale))),
        ("zero_not_included", (narrow, round(-x_min / narrow))),
        ("zero_not_included", (narrow, round(-lo / narrow))),
        ("scale_from_max", (hi / steps, round(-lo / (hi / steps)) if hi > 0 else 0)),
        ("signed_steps", (signed, round(-lo / signed))),
        ("zero_point_truncated", (scale, int(-lo / scale))),
        ("zero_point_truncated", (scale, math.floor(-lo / scale))),
    ]


def check_asymmetric_params(fn, allow_reference: bool = False) -> None:
    """Check ``asymmetric_params(x_min, x_max, bits) -> (scale, zero_point)`` against
    ``params_from_range(x_min, x_max, Asymmetric(bits))``.

    Example
    -------
    >>> def asymmetric_params(x_min, x_max, bits):
    ...     lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    ...     scale = (hi - lo) / (2 ** bits - 1)
    ...     return scale, round(-lo / scale)
    >>> check_asymmetric_params(asymmetric_params)
    """
    name = "asymmetric_params"
    _start(fn, name, allow_reference)
    for case in asymmetric_params_cases():
        (x_min, x_max, bits), result = _run(fn, case, name, _pair_form)
        p = quantization.params_from_range(x_min, x_max, quantization.Asymmetric(bits))
        scale, zero_point = float(result[0]), int(round(float(result[1])))
        if _close(scale, float(p.scale)) and zero_point == int(p.zero_point):
            continue
        slip = next((s for s, (sc, zp) in _asymmetric_slips(x_min, x_max, bits)
                     if _close(scale, sc) and zero_point == zp
                     and not (_close(sc, float(p.scale)) and zp == int(p.zero_point))), None)
        if slip is None and zero_point < 0:
            slip = "zero_point_sign"
        part = "the scale" if not _close(scale, float(p.scale)) else "the zero point"
        raise _fail(case, name, result, slip, None if slip else (
            f"{part[0].upper()}{part[1:]} is off. Widen the range to hold 0 (lo = min(x_min, 0), hi = max(x_max, 0)), "
            "then scale = (hi - lo) / (2 ** bits - 1) and zero_point = round(-lo / scale)."))


def check_asymmetric_params_form(fn) -> None:
    """Visible test: ``asymmetric_params`` returns a pair of numbers, the second a whole number."""
    _form_check(fn, "asymmetric_params", Case((), (-0.5, 1.5, 8), seed=7), _pair_form)


# --------------------------------------------------------------------------- quantize
def quantize_cases(n_random: int = 3, seed: int = SEED + 3000) -> list[Case]:
    """The calls ``quantize(x, scale, zero_point, bits)`` is checked on: values inside the range, values
    beyond both ends (clipped), negative values, 4 bits. No value lies within 0.001 of a rounding tie,
    so rounding half-to-even and half-away-from-zero agree."""
    out = [
        Case((("x", ("uniform", (12,), -0.9, 2.9)),), (0.0157, 64, 8), seed, "every value inside the range"),
        Case((("x", ("normal", (4, 5), 1.0, 0.2)),), (0.0118, 110, 8), seed + 10,
             "negative values: truncation toward zero shows here"),
        Case((("x", ("uniform", (20,), -3.0, 6.0)),), (0.0196, 51, 8), seed + 20,
             "values beyond both ends of the range, to be clipped"),
        Case((("x", ("normal", (2, 3, 3, 2), 0.5, 0.0)),), (0.0672, 7, 4), seed + 30, "4 bits, codes 0..15"),
        Case((("x", ("uniform", (3, 4), 0.0, 6.0)),), (0.0236, 0, 8), seed + 40, "zero point 0 (a ReLU's output)"),
    ]
    rng = np.random.default_rng(seed)
    for i in range(n_random):
        zp = int(rng.integers(0, 256))
        out.append(Case((("x", ("normal", (6, 7), 1.5, 0.0)),), (round(float(rng.uniform(0.005, 0.03)), 4), zp, 8),
                        seed + 500 + 10 * i))
    return [_away_from_ties(c) for c in out]


def _away_from_ties(case: Case) -> Case:
    """The case with any value within 0.001 of a step's half moved off it (so every rounding rule agrees)."""
    x, scale = case.build()[0], case.args[0]
    steps = x.astype(np.float64) / scale
    near = np.abs(steps - np.floor(steps) - 0.5) < 1e-3
    if not near.any():
        return case
    moved = []
    for idx in map(tuple, np.argwhere(near)):
        idx = tuple(int(i) for i in idx)
        moved.append(("x", idx, float(np.float32(float(x[idx]) + 0.01 * scale))))
    edits = tuple(case.edits) + tuple(moved)
    return Case(case.arrays, case.args, case.seed, case.note, edits)


def _integer_array_problem(result, shape, what="x") -> str | None:
    if result is None:
        return "returned None (is a `return` missing?)"
    if not isinstance(result, np.ndarray):
        return f"returned a {type(result).__name__}, not a numpy array"
    if result.dtype.kind not in "iu":
        whole = result.dtype.kind == "f" and np.all(np.isfinite(result)) and np.all(result == np.round(result))
        advice = ("convert with .astype(np.uint8) after clipping" if whole else
                  "round to whole numbers, clip, then convert with .astype(np.uint8)")
        return f"returned an array of dtype {result.dtype}: quantized values are integers; {advice}"
    if result.shape != shape:
        return f"returned an array of shape {result.shape} for {what} of shape {shape}; keep the shape"
    return None


def _quantized_form(args, result) -> str | None:
    return _integer_array_problem(result, args[0].shape)


def _product_form(args, result) -> str | None:
    qx, qw = args[:2]
    return _integer_array_problem(result, (qx.shape[0], qw.shape[1]), "the product")


def _quantize_slips(x, scale, zero_point, bits):
    qmax = 2**bits - 1
    steps = x.astype(np.float64) / scale
    exact = np.rint(steps) + zero_point
    half = 2 ** (bits - 1)
    return [
        ("truncation", np.clip(np.trunc(steps) + zero_point, 0, qmax)),
        ("truncation", np.clip(np.floor(steps) + zero_point, 0, qmax)),
        ("truncation", np.clip(np.trunc(steps + zero_point), 0, qmax)),
        ("wrapped", np.mod(exact, 2**bits)),
        ("no_clip", exact),
        ("signed_clip", np.clip(exact, -half, half - 1)),
        ("quantize_zero_point_sign", np.clip(np.rint(steps) - zero_point, 0, qmax)),
        ("multiplied_by_scale", np.clip(np.rint(x * scale) + zero_point, 0, qmax)),
    ]


def check_quantize(fn, allow_reference: bool = False) -> None:
    """Check ``quantize(x, scale, zero_point, bits)`` (an integer array) against :func:`efficientnn.quantization.quantize`.

    Example
    -------
    >>> def quantize(x, scale, zero_point, bits):
    ...     return np.clip(np.rint(x / scale) + zero_point, 0, 2 ** bits - 1).astype(np.int32)
    >>> check_quantize(quantize)
    """
    name = "quantize"
    _start(fn, name, allow_reference)
    for case in quantize_cases():
        (x, scale, zero_point, bits), result = _run(fn, case, name, _quantized_form)
        params = quantization.QuantParams(np.asarray(scale, np.float64), np.asarray(zero_point, np.int64),
                                          quantization.Asymmetric(bits))
        expected = quantization.quantize(x, params).astype(np.int64)
        got = result.astype(np.int64)
        if np.array_equal(got, expected):
            continue
        slip = next((s for s, v in _quantize_slips(x, scale, zero_point, bits)
                     if not np.array_equal(v, expected) and np.array_equal(got, v)), None)
        if slip is None and (got.min() < 0 or got.max() > 2**bits - 1):
            slip = "no_clip"
        bad = np.argwhere(got != expected)
        first = tuple(int(i) for i in bad[0])
        raise _fail(case, name, result, slip, None if slip else (
            f"{len(bad)} of {x.size} values differ, the first at index {first} (x = {float(x[first]):.6g}), where it "
            f"returned {int(got[first])}. Compute clip(round(x / scale) + zero_point, 0, 2 ** bits - 1)."))


def check_quantize_form(fn) -> None:
    """Visible test: ``quantize`` returns an integer array shaped like ``x`` (not whether it is right)."""
    case = Case((("x", ("uniform", (3, 4), -1.0, 1.0)),), (0.01, 100, 8), seed=7)
    _form_check(fn, "quantize", case, _quantized_form)


# --------------------------------------------------------------------------- int_matmul
def int_matmul_cases(n_random: int = 2, seed: int = SEED + 4000) -> list[Case]:
    """The calls ``int_matmul(qx, qw, zero_point)`` is checked on; the later ones overflow 16 bits."""
    out = [
        Case((("qx", ("uint8", (3, 4), 0, 255)), ("qw", ("int8", (4, 2), -127, 127))), (128,), seed, "small"),
        Case((("qx", ("uint8", (2, 5), 0, 255)), ("qw", ("int8", (5, 3), -127, 127))), (0,), seed + 10,
             "zero point 0"),
        Case((("qx", ("uint8", (4, 6), 0, 40)), ("qw", ("int8", (6, 2), -127, 127))), (200,), seed + 20,
             "every qx below the zero point: qx - zero_point is negative"),
        Case((("qx", ("uint8", (2, 300), 200, 255)), ("qw", ("int8", (300, 3), 100, 127))), (0,), seed + 30,
             "300 large products: the sums need more than 16 bits"),
        Case((("qx", ("uint8", (3, 2880), 0, 255)), ("qw", ("int8", (2880, 4), -127, 127))), (37,), seed + 40,
             "K = 2880, as fc1 of base_cnn"),
    ]
    rng = np.random.default_rng(seed)
    for i in range(n_random):
        k = int(rng.integers(50, 500))
        out.append(Case((("qx", ("uint8", (4, k), 0, 255)), ("qw", ("int8", (k, 5), -127, 127))),
                        (int(rng.integers(0, 256)),), seed + 500 + 10 * i))
    return out


def _wrap(values, bits):
    """``values`` wrapped into a signed ``bits``-bit integer, as numpy's fixed-width arithmetic does."""
    span = 2**bits
    return (values + span // 2) % span - span // 2


def _matmul_slips(qx, qw, zero_point, expected):
    x, w = qx.astype(np.int64), qw.astype(np.int64)
    wrapped = (x - zero_point) % 256  # uint8 - int stays uint8 in numpy 2
    return [
        ("uint8_wrap", wrapped @ w),
        ("uint8_wrap", _wrap(wrapped @ w, 16)),
        ("int16_overflow", _wrap(expected, 16)),
        ("int8_overflow", _wrap(expected, 8)),
        ("matmul_zero_point_sign", (x + zero_point) @ w),
        ("zero_point_forgotten", x @ w),
        ("zero_point_forgotten", _wrap(x @ w, 16)),
    ]


def check_int_matmul(fn, allow_reference: bool = False) -> None:
    """Check ``int_matmul(qx, qw, zero_point)`` (exact integers) against :func:`efficientnn.quantization.int_matmul`.

    Example
    -------
    >>> check_int_matmul(lambda qx, qw, z: (qx.astype(np.int32) - z) @ qw.astype(np.int32))
    """
    name = "int_matmul"
    _start(fn, name, allow_reference)
    for case in int_matmul_cases():
        (qx, qw, zero_point), result = _run(fn, case, name, _product_form)
        x_params = quantization.QuantParams(np.asarray(1.0), np.asarray(zero_point, np.int64), quantization.Asymmetric(8))
        w_params = quantization.QuantParams(np.asarray(1.0), np.asarray(0, np.int64), quantization.Symmetric(8))
        expected = quantization.int_matmul(qx, x_params, qw, w_params).astype(np.int64)
        got = result.astype(np.int64)
        if np.array_equal(got, expected):
            continue
        slip = next((s for s, v in _matmul_slips(qx, qw, zero_point, expected)
                     if not np.array_equal(v, expected) and np.array_equal(got, v)), None)
        if slip is None and np.iinfo(result.dtype).bits < 32:
            slip = "int16_overflow" if np.iinfo(result.dtype).bits == 16 else "int8_overflow"
        raise _fail(case, name, result, slip, None if slip else (
            "Each output is sum over k of (qx[m, k] - zero_point) * qw[k, f], exactly, in integers of at least "
            "32 bits."))


def check_int_matmul_form(fn) -> None:
    """Visible test: ``int_matmul`` returns an (M, F) integer array (not whether it is right)."""
    case = Case((("qx", ("uint8", (2, 3), 0, 255)), ("qw", ("int8", (3, 4), -127, 127))), (128,), seed=7)
    _form_check(fn, "int_matmul", case, _product_form)
