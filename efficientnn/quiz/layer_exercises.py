"""Checkers and questions for assignments 03 (pooling) and 04 (separable convolutions).

Function exercises (the signatures the notebooks' stubs define), arrays NHWC:

- ``max_pool(x, pool_size, stride=None)``: x (N, H, W, C), square ``pool_size`` x ``pool_size``
  windows, ``stride=None`` meaning stride = pool_size, no padding; checked against
  :class:`efficientnn.layers.MaxPool2D` by :func:`check_max_pool`.
- ``depthwise_conv(x, w)``: w (kh, kw, C), stride 1, no padding, no bias; checked against
  :class:`efficientnn.layers.DepthwiseConv2D` by :func:`check_depthwise_conv`.
- ``pointwise_conv(x, w)``: w (C, F), a 1x1 convolution without bias; checked against
  :class:`efficientnn.layers.Conv2D` with a 1x1 kernel by :func:`check_pointwise_conv`.
- both together, by :func:`check_separable`: ``pointwise_conv(depthwise_conv(x, w_dw), w_pw)``
  must have the standard convolution's output shape and equal
  :class:`efficientnn.layers.SeparableConv2D`.
- ``separable_macs(input_shape, kernel_size, filters)``: stride 1, no padding; checked against
  :func:`efficientnn.cost.separable_macs` by :func:`check_separable_macs`.

Each array checker runs the function on fixed and seeded random inputs, computes the right
output with :mod:`efficientnn.layers` at check time, and on the first mismatch raises
``AssertionError`` with a message that names the call, says how to rebuild its input (a seeded
``numpy`` generator), and names the slip it recognises. Shape slips are diagnosed by
:func:`efficientnn.quiz.check` on an output-shape :class:`Question` built from the case, so their
messages are the quiz's; value slips (average for max, a flipped kernel, ...) are in
:data:`LAYER_SLIP_MESSAGES`. No message contains the right output.

Questions about layers inside the course's models (built with :meth:`LayerSpec.from_layer`):
:func:`pooling_questions` (``base_cnn_pooled``) and :func:`separable_questions`. Answers to the
pooling questions are checked by :func:`check_pooled`, which adds one diagnosis to
:func:`efficientnn.quiz.check`: the answer is the value for ``base_cnn``, pooling ignored.
:func:`pooled_widget` is the self-check widget that uses the same checker.

Example
-------
>>> from efficientnn.layers import MaxPool2D
>>> def max_pool(x, pool_size, stride=None):
...     layer = MaxPool2D(pool_size, stride)
...     layer.build(x.shape[1:])
...     return layer.forward(x)
>>> check_max_pool(max_pool, allow_reference=True)  # None when every case passes
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .. import cost
from .. import layers as _layers
from .check import Verdict, check, matches, scaled
from .exercises import FunctionCase, _call, call_text, check_function, require_function
from .parse import AnswerFormatError, parse_number, parse_shape
from .questions import LayerSpec, Question, describe_model
from .widgets import QuizWidget, feedback_html

__all__ = [
    "LAYER_SLIP_MESSAGES",
    "ArrayCase",
    "check_array_function",
    "check_array_form",
    "max_pool_cases",
    "MAX_POOL_CASE_SETS",
    "check_max_pool",
    "check_max_pool_form",
    "check_depthwise_conv",
    "check_depthwise_conv_form",
    "check_pointwise_conv",
    "check_pointwise_conv_form",
    "check_separable",
    "separable_macs_cases",
    "check_separable_macs",
    "pooling_questions",
    "check_pooled",
    "grade_pooled",
    "assert_pooling_not_ignored",
    "assert_pooled",
    "pooled_widget",
    "conv_vs_dense_questions",
    "separable_questions",
]

#: Seed of the random cases: fixed, so every student is graded on the same inputs.
SEED = 303

#: Value-level slips of the function exercises (shape slips come from the quiz's SLIP_MESSAGES).
LAYER_SLIP_MESSAGES = {
    "average_for_max": ("This is average pooling: each window's values were averaged. Max pooling keeps the "
                        "largest value of each window."),
    "max_from_zero": ("Right wherever a window holds a positive value, wrong where all its values are negative: "
                      "the running maximum seems to start at 0. Start it from the window's first value (or -inf), "
                      "or take the window's max with numpy."),
    "windows_step_pool_size": ("The windows move by pool_size instead of by the stride: output (i, j) reads the "
                               "window whose top-left corner is (i * stride, j * stride)."),
    "partial_windows_kept": ("A window that runs off the edge of the input was kept. Like a convolution without "
                             "padding, pooling only uses windows that fit inside the input: floor((n - k) / s) + 1 "
                             "per side."),
    "stride_as_pool_size": ("The stride was not used: with stride s the windows start s pixels apart, whatever "
                            "the pool size, so a side is floor((n - k) / s) + 1."),
    "stride_none_as_one": ("stride=None means the stride equals pool_size (windows side by side, not "
                           "overlapping), as in Keras and efficientnn.layers.MaxPool2D."),
    "channels_pooled": ("The channels were pooled together. Pooling works on each channel separately: the output "
                        "has as many channels as the input."),
    "summed_over_channels": ("The channels were summed, as a standard convolution does. A depthwise convolution "
                             "filters every channel with its own kh x kw kernel and keeps the channels apart: "
                             "C channels in, C channels out."),
    "kernel_flipped": ("The kernel is flipped (a mathematician's convolution). Deep learning layers compute a "
                       "cross-correlation: output (i, j) is the sum of x[i + a, j + b] * w[a, b], no flip."),
    "kernel_transposed": ("The kernel's height and width are swapped: w[a, b] multiplies x[i + a, j + b], "
                          "a along the height, b along the width."),
    "one_kernel_for_all": ("Every channel was filtered with the first channel's kernel. Channel c has its own "
                           "kernel, w[:, :, c]."),
    "weights_transposed": ("The weight matrix is used transposed: w[c, f] connects input channel c to output "
                           "channel f, so out[..., f] = sum over c of x[..., c] * w[c, f]."),
    "pointwise_on_input": ("The pointwise part was counted on the input's height and width. It runs on the "
                           "depthwise output, which without padding is smaller: use the depthwise output's "
                           "height x width x channels."),
    "bias_like_shift": "The values are shifted by a constant: this layer has no bias, add nothing.",
    "pooling_ignored": ("This is the value for base_cnn, without pooling. In base_cnn_pooled every pooling layer "
                        "shrinks the height and width before the next layer, so work through the pooled model "
                        "layer by layer."),
}

_FORBIDDEN = ("MaxPool2D", "AvgPool2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2D")


# --------------------------------------------------------------------------- generic array checking
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
    """

    arrays: tuple
    kwargs: dict = field(default_factory=dict)
    seed: int = SEED
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
        args = tuple(arrays[a[0]] for a in self.arrays) + tuple(self.kwargs[k] for k in self.positional)
        kwargs = {k: v for k, v in self.kwargs.items() if k not in self.positional}
        return args, kwargs


def _uses_reference(fn) -> str | None:
    """The efficientnn layer class a function's code names, if any (it must be written with numpy)."""
    stack = [getattr(fn, "__code__", None)]
    while stack:
        code = stack.pop()
        if code is None:
            continue
        for name in code.co_names + code.co_freevars:
            if name in _FORBIDDEN:
                return name
        stack.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    return None


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
    name = name or getattr(fn, "__name__", "your function")
    require_function(fn, name)
    arrays = case.build()
    shown = f"{case.call(name)} with {case.recipe()}"
    args, kwargs = case.args_kwargs(arrays)
    result = _call(fn, args, kwargs, shown)
    n = len(arrays[case.arrays[0][0]])
    problem = _array_problem(result, n)
    if problem:
        raise AssertionError(f"{shown} {problem}.")


def check_array_function(fn, cases, name, reference, shape_question, value_slips=None, shape_slips=None,
                         allow_reference=False, call=None) -> None:
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
    allow_reference : bool, accept a function that calls the efficientnn layer it is compared to
    call : str or None, the call as shown in messages (default ``name`` applied to the case's arguments)

    Returns
    -------
    None, so that a hidden-test cell ending with this call is all-or-nothing in nbgrader.
    """
    require_function(fn, name)
    used = None if allow_reference else _uses_reference(fn)
    if used:
        raise AssertionError(f"{name} uses efficientnn's {used}, the layer it is graded against: write it with "
                             "numpy operations (slicing, max, sum, @).")
    for case in cases:
        arrays = case.build()
        originals = {k: v.copy() for k, v in arrays.items()}
        call_shown = call or case.call(name)
        about = f" ({case.note})" if case.note else ""
        where = f"{call_shown}{about}, with {case.recipe()},"
        args, kwargs = case.args_kwargs(arrays)
        result = _call(fn, args, kwargs, where)
        for key, original in originals.items():
            if not np.array_equal(arrays[key], original):
                raise AssertionError(f"{where} changed its input {key}: leave the inputs as they are and write the "
                                     "output into a new array.")
        question = shape_question(case, arrays)
        want = tuple(question.layer.output_shape())
        n = len(arrays[case.arrays[0][0]])
        if (isinstance(result, np.ndarray) and result.ndim == 3 and result.shape[:1] == (n,) and shape_slips
                and want[-1] != 1):
            slips = dict((tuple(s), k) for k, s in shape_slips(arrays, case.kwargs))
            slip = slips.get(tuple(result.shape[1:]) + (1,))
            if slip:
                raise AssertionError(f"{where} returned an array of shape {result.shape}, which is not right. "
                                     f"{LAYER_SLIP_MESSAGES[slip]}")
        problem = _array_problem(result, n)
        if problem:
            raise AssertionError(f"{where} {problem}.")
        got = tuple(result.shape[1:])
        if got != want:
            slip = None
            if shape_slips:
                slip = next((k for k, s in shape_slips(arrays, case.kwargs) if tuple(s) == got and tuple(s) != want),
                            None)
            if slip:
                message = LAYER_SLIP_MESSAGES[slip]
            else:
                message = check(question, got).message
                for lead in ("Not yet. ", "Partly right. "):
                    message = message[len(lead):] if message.startswith(lead) else message
            raise AssertionError(f"{where} returned an array of shape {result.shape}, which is not right. "
                                 f"{message}")
        expected = np.asarray(reference(arrays, case.kwargs), dtype=np.float64)
        got_values = result.astype(np.float64)
        if _close(got_values, expected):
            continue
        for slip, candidate in (value_slips(arrays, case.kwargs, expected) if value_slips else []):
            candidate = np.asarray(candidate, dtype=np.float64)
            if not _close(candidate, expected) and _close(got_values, candidate):
                raise AssertionError(f"{where} returned the right shape but wrong values. "
                                     f"{LAYER_SLIP_MESSAGES[slip]}")
        diff = got_values - expected
        if np.ptp(diff) < 1e-4 and abs(diff.flat[0]) > 1e-4:
            raise AssertionError(f"{where} returned the right shape but wrong values. "
                                 f"{LAYER_SLIP_MESSAGES['bias_like_shift']}")
        bad = np.argwhere(~np.isclose(got_values, expected, rtol=1e-4, atol=1e-4))
        first = tuple(int(i) for i in bad[0])
        raise AssertionError(f"{where} returned the right shape but wrong values: {len(bad)} of {result.size} "
                             f"differ, the first at index {first}, where it returned {got_values[first]:.4g}. "
                             "Work that output out by hand from the window it reads.")


# --------------------------------------------------------------------------- max pooling
def _pool_shape(hw_c, k, s, mode="floor"):
    h, w, c = hw_c
    side = (lambda n: (n - k) // s + 1) if mode == "floor" else (lambda n: -(-(n - k) // s) + 1)
    return (side(h), side(w), c)


def _strided_max(x, k, step, out_hw):
    """Max over windows whose corners step by ``step``, clipped at the edge (a slip's output)."""
    n, h, w, c = x.shape
    ho, wo = out_hw
    out = np.empty((n, ho, wo, c), dtype=np.float64)
    for i in range(ho):
        for j in range(wo):
            window = x[:, i * step : i * step + k, j * step : j * step + k, :]
            if window.shape[1] == 0 or window.shape[2] == 0:
                return None
            out[:, i, j, :] = window.max(axis=(1, 2))
    return out


def _maxpool_reference(arrays, kwargs):
    layer = _layers.MaxPool2D(kwargs["pool_size"], kwargs.get("stride"))
    layer.build(arrays["x"].shape[1:])
    return layer.forward(arrays["x"])


def _maxpool_question(case, arrays):
    return Question("output_shape", LayerSpec("maxpool", arrays["x"].shape[1:], kernel_size=case.kwargs["pool_size"],
                                              stride=case.kwargs.get("stride")))


def _maxpool_shape_slips(arrays, kwargs):
    x, k = arrays["x"], kwargs["pool_size"]
    s = kwargs.get("stride") or k
    out = [("channels_pooled", _pool_shape(x.shape[1:3] + (1,), k, s))]
    if (x.shape[1] - k) % s or (x.shape[2] - k) % s:
        out.append(("partial_windows_kept", _pool_shape(x.shape[1:], k, s, "ceil")))
    if s != k:
        out.append(("stride_as_pool_size", _pool_shape(x.shape[1:], k, k)))
    if kwargs.get("stride") is None and k > 1:
        out.append(("stride_none_as_one", _pool_shape(x.shape[1:], k, 1)))
    return out


def _maxpool_value_slips(arrays, kwargs, expected):
    x, k = arrays["x"], kwargs["pool_size"]
    avg = _layers.AvgPool2D(k, kwargs.get("stride"))
    avg.build(x.shape[1:])
    out = [("average_for_max", avg.forward(x)), ("max_from_zero", np.maximum(expected, 0.0))]
    s = kwargs.get("stride") or k
    if s != k:
        stepped = _strided_max(x, k, k, expected.shape[1:3])
        if stepped is not None:
            out.append(("windows_step_pool_size", stepped))
    return out


# (x shape, pool_size, stride, fill, note); simple ones first, so the first failure is the telling one.
_POOL_BASIC = [
    ((1, 4, 4, 1), 2, None, "normal", "one 4x4 image, one channel"),
    ((2, 6, 6, 3), 2, None, "normal", "a batch of two, three channels"),
    ((1, 9, 9, 2), 3, None, "normal", "3x3 windows"),
    ((3, 8, 8, 4), 4, None, "normal", "4x4 windows"),
    ((2, 6, 6, 2), 2, None, "negative", "every value negative"),
    ((1, 5, 5, 1), 1, None, "normal", "1x1 windows: nothing changes"),
]
_POOL_GENERAL = [
    ((1, 7, 7, 1), 3, 2, "normal", "overlapping windows: stride 2 < pool_size 3"),
    ((2, 6, 10, 3), 2, None, "normal", "height and width differ"),
    ((1, 7, 9, 2), 2, None, "normal", "windows that do not tile the input: the last row and column are left out"),
    ((2, 10, 7, 3), 2, 3, "normal", "stride 3 > pool_size 2: gaps between windows"),
    ((1, 8, 8, 2), 2, 1, "normal", "stride 1"),
    ((2, 9, 6, 3), 3, 2, "negative", "every value negative, overlapping windows"),
]
MAX_POOL_CASE_SETS = ("basic", "general", "all")


def max_pool_cases(cases: str = "all", n_random: int = 4, seed: int = SEED) -> list[ArrayCase]:
    """The inputs ``max_pool(x, pool_size, stride=None)`` is checked on.

    ``"basic"``: stride None (windows side by side) on inputs they tile; ``"general"``: strides
    other than the pool size, inputs of unequal height and width, windows that do not tile.
    """
    if cases not in MAX_POOL_CASE_SETS:
        raise ValueError(f"cases must be one of {', '.join(MAX_POOL_CASE_SETS)}, got {cases!r}.")
    rng = np.random.default_rng(seed)
    rows = []
    if cases in ("basic", "all"):
        rows += _POOL_BASIC
        for _ in range(n_random):
            k = int(rng.choice([2, 3]))
            rows.append(((int(rng.integers(1, 4)), k * int(rng.integers(1, 6)), k * int(rng.integers(1, 6)),
                          int(rng.choice([1, 3, 5]))), k, None, "normal", ""))
    if cases in ("general", "all"):
        rows += _POOL_GENERAL
        for _ in range(n_random):
            k = int(rng.choice([2, 3, 4]))
            s = int(rng.choice([1, 2, 3]))
            rows.append(((int(rng.integers(1, 4)), int(rng.integers(k, 15)), int(rng.integers(k, 15)),
                          int(rng.choice([1, 2, 4]))), k, s, "normal", ""))
    out = []
    for i, (shape, k, s, fill, note) in enumerate(rows):
        kwargs = {"pool_size": k} if s is None else {"pool_size": k, "stride": s}
        out.append(ArrayCase((("x", shape, fill),), kwargs, seed + 10 * i, note, positional=("pool_size",)))
    return out


def check_max_pool(fn, cases: str = "all", allow_reference: bool = False) -> None:
    """Check ``max_pool(x, pool_size, stride=None)`` against :class:`efficientnn.layers.MaxPool2D`.

    Parameters
    ----------
    fn : the student's function
    cases : "basic", "general" or "all" (see :func:`max_pool_cases`)
    allow_reference : accept a function that calls MaxPool2D itself (for tests of this module)
    """
    check_array_function(fn, max_pool_cases(cases), "max_pool", _maxpool_reference, _maxpool_question,
                         _maxpool_value_slips, _maxpool_shape_slips, allow_reference)


def check_max_pool_form(fn, stride: bool = False) -> None:
    """Visible test: ``max_pool`` returns a 4-D array with the batch kept (not whether it is right).

    ``stride=True`` calls it with a stride other than the pool size on an input of unequal sides.
    """
    if stride:
        case = ArrayCase((("x", (2, 7, 5, 2), "normal"),), {"pool_size": 3, "stride": 2}, seed=7,
                         positional=("pool_size",))
    else:
        case = ArrayCase((("x", (2, 4, 4, 3), "normal"),), {"pool_size": 2}, seed=7, positional=("pool_size",))
    check_array_form(fn, case, "max_pool")


# --------------------------------------------------------------------------- depthwise and pointwise
def _depthwise_layer(w, x_shape):
    kh, kw, _ = w.shape
    layer = _layers.DepthwiseConv2D((kh, kw), use_bias=False)
    layer.build(x_shape[1:])
    layer.params["W"] = w[..., None].astype(np.float32)
    return layer


def _depthwise_reference(arrays, kwargs):
    return _depthwise_layer(arrays["w"], arrays["x"].shape).forward(arrays["x"])


def _depthwise_question(case, arrays):
    kh, kw, _ = arrays["w"].shape
    return Question("output_shape", LayerSpec("depthwise", arrays["x"].shape[1:], kernel_size=(kh, kw)))


def _depthwise_shape_slips(arrays, kwargs):
    (n, h, w, c), (kh, kw, _) = arrays["x"].shape, arrays["w"].shape
    return [("summed_over_channels", (h - kh + 1, w - kw + 1, 1))]


def _depthwise_value_slips(arrays, kwargs, expected):
    x, w = arrays["x"], arrays["w"]
    out = [("kernel_flipped", _depthwise_layer(w[::-1, ::-1].copy(), x.shape).forward(x))]
    if w.shape[0] == w.shape[1]:
        out.append(("kernel_transposed", _depthwise_layer(w.transpose(1, 0, 2).copy(), x.shape).forward(x)))
    if w.shape[2] > 1:
        same = np.repeat(w[:, :, :1], w.shape[2], axis=2)
        out.append(("one_kernel_for_all", _depthwise_layer(same, x.shape).forward(x)))
    return out


_DEPTHWISE_FIXED = [
    ((1, 5, 5, 1), (3, 3), "normal", "one channel"),
    ((2, 6, 6, 3), (3, 3), "normal", "three channels"),
    ((1, 7, 9, 4), (3, 2), "normal", "a 3x2 kernel on a 7x9 input"),
    ((2, 4, 4, 2), (1, 1), "normal", "a 1x1 kernel"),
    ((1, 6, 5, 8), (5, 5), "normal", "a kernel almost as large as the input"),
]


def _depthwise_cases(n_random=4, seed=SEED + 1000):
    rng = np.random.default_rng(seed)
    rows = list(_DEPTHWISE_FIXED)
    for _ in range(n_random):
        kh, kw = int(rng.choice([1, 2, 3, 5])), int(rng.choice([1, 2, 3, 5]))
        rows.append(((int(rng.integers(1, 4)), int(rng.integers(kh, 13)), int(rng.integers(kw, 13)),
                      int(rng.choice([1, 3, 4, 8]))), (kh, kw), "normal", ""))
    return [ArrayCase((("x", shape, fill), ("w", (kh, kw, shape[3]), "normal")), {}, seed + 10 * i, note)
            for i, (shape, (kh, kw), fill, note) in enumerate(rows)]


def check_depthwise_conv(fn, allow_reference: bool = False) -> None:
    """Check ``depthwise_conv(x, w)`` (w (kh, kw, C), stride 1, no padding, no bias) against DepthwiseConv2D."""
    check_array_function(fn, _depthwise_cases(), "depthwise_conv", _depthwise_reference, _depthwise_question,
                         _depthwise_value_slips, _depthwise_shape_slips, allow_reference)


def check_depthwise_conv_form(fn) -> None:
    """Visible test: ``depthwise_conv`` returns a 4-D array with the batch kept (not whether it is right)."""
    case = ArrayCase((("x", (2, 5, 5, 3), "normal"), ("w", (3, 3, 3), "normal")), {}, seed=7)
    check_array_form(fn, case, "depthwise_conv")


def _pointwise_layer(w, x_shape):
    layer = _layers.Conv2D(w.shape[1], 1, use_bias=False)
    layer.build(x_shape[1:])
    layer.params["W"] = w[None, None].astype(np.float32)
    return layer


def _pointwise_reference(arrays, kwargs):
    return _pointwise_layer(arrays["w"], arrays["x"].shape).forward(arrays["x"])


def _pointwise_question(case, arrays):
    return Question("output_shape", LayerSpec("conv", arrays["x"].shape[1:], kernel_size=1,
                                              filters=arrays["w"].shape[1]))


def _pointwise_value_slips(arrays, kwargs, expected):
    x, w = arrays["x"], arrays["w"]
    return [("weights_transposed", x @ w.T)] if w.shape[0] == w.shape[1] else []


_POINTWISE_FIXED = [
    ((1, 3, 3, 2), 4, "two channels in, four out"),
    ((2, 5, 4, 3), 3, "as many channels out as in"),
    ((1, 1, 1, 8), 1, "a single pixel, one output channel"),
    ((2, 6, 7, 5), 16, "height and width differ"),
]


def _pointwise_cases(n_random=4, seed=SEED + 2000):
    rng = np.random.default_rng(seed)
    rows = list(_POINTWISE_FIXED)
    for _ in range(n_random):
        rows.append(((int(rng.integers(1, 4)), int(rng.integers(1, 10)), int(rng.integers(1, 10)),
                      int(rng.choice([1, 3, 5, 8]))), int(rng.choice([1, 4, 8, 16])), ""))
    return [ArrayCase((("x", shape, "normal"), ("w", (shape[3], f), "normal")), {}, seed + 10 * i, note)
            for i, (shape, f, note) in enumerate(rows)]


def check_pointwise_conv(fn, allow_reference: bool = False) -> None:
    """Check ``pointwise_conv(x, w)`` (w (C, F), no bias) against a 1x1 Conv2D."""
    check_array_function(fn, _pointwise_cases(), "pointwise_conv", _pointwise_reference, _pointwise_question,
                         _pointwise_value_slips, None, allow_reference)


def check_pointwise_conv_form(fn) -> None:
    """Visible test: ``pointwise_conv`` returns a 4-D array with the batch kept (not whether it is right)."""
    case = ArrayCase((("x", (2, 3, 3, 2), "normal"), ("w", (2, 4), "normal")), {}, seed=7)
    check_array_form(fn, case, "pointwise_conv")


def _separable_reference(arrays, kwargs):
    x, w_dw, w_pw = arrays["x"], arrays["w_dw"], arrays["w_pw"]
    kh, kw, _ = w_dw.shape
    layer = _layers.SeparableConv2D(w_pw.shape[1], (kh, kw), use_bias=False)
    layer.build(x.shape[1:])
    layer.params["dw_W"] = w_dw[..., None].astype(np.float32)
    layer.params["pw_W"] = w_pw[None, None].astype(np.float32)
    return layer.forward(x)


def _separable_question(case, arrays):
    # The standard convolution with the same kernel and filters: the shape the pair must reproduce.
    kh, kw, _ = arrays["w_dw"].shape
    return Question("output_shape", LayerSpec("conv", arrays["x"].shape[1:], kernel_size=(kh, kw),
                                              filters=arrays["w_pw"].shape[1]))


_SEPARABLE_FIXED = [
    ((1, 6, 6, 2), (3, 3), 4, "two channels in, four out"),
    ((2, 8, 7, 3), (3, 3), 5, "height and width differ"),
    ((1, 9, 9, 4), (5, 3), 8, "a 5x3 kernel"),
]


def check_separable(depthwise_fn, pointwise_fn, allow_reference: bool = False) -> None:
    """Check that ``pointwise_fn(depthwise_fn(x, w_dw), w_pw)`` has the standard convolution's output
    shape and equals :class:`efficientnn.layers.SeparableConv2D` (no bias)."""
    for fn, name in ((depthwise_fn, "depthwise_conv"), (pointwise_fn, "pointwise_conv")):
        require_function(fn, name)
        used = None if allow_reference else _uses_reference(fn)
        if used:
            raise AssertionError(f"{name} uses efficientnn's {used}, the layer it is graded against: write it "
                                 "with numpy operations.")

    def separable(x, w_dw, w_pw):
        return pointwise_fn(depthwise_fn(x, w_dw), w_pw)

    cases = [ArrayCase((("x", shape, "normal"), ("w_dw", kernel + (shape[3],), "normal"),
                        ("w_pw", (shape[3], f), "normal")), {}, SEED + 3000 + 10 * i, note)
             for i, (shape, kernel, f, note) in enumerate(_SEPARABLE_FIXED)]
    check_array_function(separable, cases, "separable", _separable_reference, _separable_question,
                         allow_reference=True, call="pointwise_conv(depthwise_conv(x, w_dw), w_pw)")


# --------------------------------------------------------------------------- separable MACs
_SEPARABLE_MACS_FIXED = [
    ((10, 10, 3), 3, 8, ""),
    ((28, 28, 1), 3, 5, "one input channel"),
    ((12, 9, 4), 3, 6, "height and width differ"),
    ((7, 7, 16), 1, 32, "a 1x1 kernel"),
    ((32, 32, 8), 5, 16, "a 5x5 kernel"),
    ((5, 5, 2), 5, 3, "the kernel as large as the input"),
]


def separable_macs_cases(n_random: int = 6, seed: int = SEED + 4000) -> list[FunctionCase]:
    """The calls ``separable_macs(input_shape, kernel_size, filters)`` is checked on (stride 1, no padding)."""
    rng = np.random.default_rng(seed)
    rows = list(_SEPARABLE_MACS_FIXED)
    for _ in range(n_random):
        k = int(rng.choice([1, 3, 5, 7]))
        h = int(rng.integers(k, 65))
        rows.append(((h, h if rng.random() < 0.6 else int(rng.integers(k, 65)), int(rng.choice([1, 3, 8, 16, 32]))),
                     k, int(rng.choice([4, 16, 32, 64, 128])), ""))
    return [FunctionCase((shape, k, f), Question("macs", LayerSpec("separable", shape, kernel_size=k, filters=f)),
                         note=note) for shape, k, f, note in rows]


def check_separable_macs(fn) -> None:
    """Check ``separable_macs(input_shape, kernel_size, filters) -> int`` against :func:`efficientnn.cost.separable_macs`.

    Example
    -------
    >>> from efficientnn.cost import separable_macs
    >>> check_separable_macs(separable_macs)
    """
    names = ("input_shape", "kernel_size", "filters")
    cases = separable_macs_cases()
    if callable(fn):
        # One slip the quiz does not know: the pointwise part counted on the input's height and width,
        # not on the (smaller, without padding) depthwise output's.
        for case in cases:
            shape, k, f = case.args
            layer = case.question.layer
            slipped = cost.depthwise_macs(shape, k) + cost.pointwise_macs(shape, f)
            if slipped == layer.macs():
                continue
            shown = call_text("separable_macs", case.args, None, names)
            result = _call(fn, case.args, {}, shown)
            if _is_number(result) and float(result) == slipped:
                raise AssertionError(f"{shown} returned {result!r}, which is not right. "
                                     f"{LAYER_SLIP_MESSAGES['pointwise_on_input']}")
    check_function(fn, cases, "separable_macs", names)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


# --------------------------------------------------------------------------- questions about the models
_POOLED_ASK = [
    ("pool1_output_shape", "pool1", "output_shape", "conv1",
     "What is the output shape of the first pooling layer (pool1)? Write it as HxWxD."),
    ("pooled_conv2_flops", "conv2", "flops", "conv2",
     "How many FLOPs does the second convolutional layer (conv2) perform for one image?"),
    ("pooled_fc1_flops", "fc1", "flops", "fc1",
     "How many FLOPs does the first fully connected layer (fc1) perform for one image?"),
    ("pool1_flops", "pool1", "flops", None,
     "How many FLOPs does the first pooling layer (pool1) perform for one image (comparisons count as FLOPs)?"),
]


def pooling_questions(model=None) -> dict[str, Question]:
    """Questions about layers of ``base_cnn_pooled``, built from the model's own layers.

    Names: "pool1_output_shape", "pooled_conv2_flops", "pooled_fc1_flops", "pool1_flops". The
    prompts describe the model, not the layer's input (which would give away earlier answers).

    Parameters
    ----------
    model : Sequential or None, defaults to :func:`efficientnn.models.base_cnn_pooled`
    """
    if model is None:
        from ..models import base_cnn_pooled

        model = base_cnn_pooled()
    arch = describe_model(model)
    note = " Bias additions are not counted; a rounded answer may use K for thousand."
    out = {}
    for name, layer, kind, _, ask in _POOLED_ASK:
        text = f"{model.name}: {arch}. {ask}" + (note if kind == "flops" and layer != "pool1" else "")
        out[name] = Question(kind, LayerSpec.from_layer(model.layer(layer)), name, text)
    return out


def _unpooled_value(name: str):
    """The answer to the same question about base_cnn (pooling left out), or None."""
    from ..models import base_cnn

    row = next(r for r in _POOLED_ASK if r[0] == name)
    if row[3] is None:
        return None
    spec = LayerSpec.from_layer(base_cnn().layer(row[3]))
    return spec.output_shape() if row[2] == "output_shape" else spec.flops()


def check_pooled(name: str, answer, model=None) -> Verdict:
    """Check an answer to ``pooling_questions()[name]``.

    :func:`efficientnn.quiz.check` decides and explains; one slip is added: an answer equal to the
    ``base_cnn`` value (as if there were no pooling) gets the "pooling_ignored" message.
    """
    questions = pooling_questions(model)
    if name not in questions:
        raise ValueError(f"no pooling question named {name!r}; the names are: {', '.join(questions)}.")
    question = questions[name]
    verdict = check(question, answer)
    if verdict.correct or verdict.slip in ("format", "no_answer"):
        return verdict
    unpooled = _unpooled_value(name)
    if unpooled is None:
        return verdict
    try:
        if question.kind == "output_shape":
            same = parse_shape(answer) == tuple(unpooled)
        else:
            same = matches(parse_number(answer), unpooled)
    except AnswerFormatError:
        return verdict
    if not same:
        return verdict
    return replace(verdict, points=0.0, slip="pooling_ignored",
                   message=f"Not yet. {LAYER_SLIP_MESSAGES['pooling_ignored']}")


def assert_pooling_not_ignored(name: str, answer) -> None:
    """Raise AssertionError with the "pooling_ignored" message if ``answer`` is the ``base_cnn`` value.

    Returns None otherwise, right or wrong. A hidden test calls this first and then
    :func:`efficientnn.quiz.assert_correct` or :func:`efficientnn.quiz.grade` on
    ``pooling_questions()[name]``, so that the quiz decides the score and the one slip the quiz
    cannot know (the question is about a pooled model) still gets its own message.
    """
    verdict = check_pooled(name, answer)
    if verdict.slip == "pooling_ignored":
        raise AssertionError(verdict.message)


def grade_pooled(name: str, answer, points=None) -> Verdict:
    """:func:`check_pooled` scaled to a grade cell's points (a hidden test's last line, for partial credit)."""
    return scaled(check_pooled(name, answer), points)


def assert_pooled(name: str, answer) -> None:
    """Raise AssertionError with :func:`check_pooled`'s message unless the answer is fully right."""
    verdict = check_pooled(name, answer)
    if not verdict.correct:
        raise AssertionError(verdict.message)


class _PooledWidget(QuizWidget):
    def __init__(self, name, title=None):
        self.question_name = name
        super().__init__(pooling_questions()[name], title)

    def _on_check(self, _button=None):
        self.last_verdict = check_pooled(self.question_name, self.answer_box.value)
        self.feedback.value = feedback_html(self.last_verdict)


def pooled_widget(name: str, title=None) -> QuizWidget:
    """Self-check widget for ``pooling_questions()[name]``, checked by :func:`check_pooled` like the hidden test."""
    return _PooledWidget(name, title)


def conv_vs_dense_questions(model=None):
    """Two multiple-choice questions on ``base_cnn``: which of conv2 and fc2 has more parameters,
    and which performs more MACs. The right choice is computed from :func:`efficientnn.cost.profile`.
    """
    from ..cost import profile
    from ..models import base_cnn
    from .questions import ChoiceQuestion

    model = base_cnn() if model is None else model
    rows = {r.name: r for r in profile(model)}

    def more(attr):
        return lambda: "conv2" if getattr(rows["conv2"], attr) > getattr(rows["fc2"], attr) else "fc2"

    return {
        "more_params": ChoiceQuestion(
            "In base_cnn, which layer has more trainable parameters: conv2 or fc2?", ("conv2", "fc2"), more("params"),
            "Count the weights: a convolution's weights are its kernels only (kh x kw x input depth x filters), "
            "however large the image; a dense layer has one weight per input-output pair.", "more_params"),
        "more_macs": ChoiceQuestion(
            "In base_cnn, which layer performs more MACs for one image: conv2 or fc2?", ("conv2", "fc2"), more("macs"),
            "A convolution uses every weight once per output position: its MACs are its weights times the "
            "number of output positions. A dense layer uses each weight once.", "more_macs"),
    }


def separable_questions(model=None) -> dict[str, Question]:
    """Questions of assignment 04.

    - "separable_ratio": MACs of a 3x3 separable convolution, 56x56x32 in, 64 filters, "same"
      padding, over those of the standard convolution with the same shapes (1/N + 1/K^2)
    - "sepconv2_params": trainable parameters of sepconv2 in ``base_cnn_separable`` (built from
      the model's layer)
    """
    if model is None:
        from ..models import base_cnn_separable

        model = base_cnn_separable()
    ratio = Question("ratio", LayerSpec("separable", (56, 56, 32), kernel_size=3, filters=64, padding="same"),
                     "separable_ratio")
    spec = LayerSpec.from_layer(model.layer("sepconv2"))
    text = (f"{model.name}: {describe_model(model)}. Each separable convolution is a depthwise convolution without "
            "bias followed by a 1x1 pointwise convolution with one bias per filter. How many trainable parameters "
            "(weights and biases) does sepconv2 have?")
    return {"separable_ratio": ratio, "sepconv2_params": Question("params", spec, "sepconv2_params", text)}

