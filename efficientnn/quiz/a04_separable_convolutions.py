"""Checkers and questions of assignment 04 (source/04-separable-convolutions).

Function exercises (the signatures the notebook's stubs define), arrays NHWC:

- ``depthwise_conv(x, w)``: w (kh, kw, C), stride 1, no padding, no bias; checked against
  :class:`efficientnn.layers.DepthwiseConv2D` by :func:`check_depthwise_conv`.
- ``pointwise_conv(x, w)``: w (C, F), a 1x1 convolution without bias; checked against
  :class:`efficientnn.layers.Conv2D` with a 1x1 kernel by :func:`check_pointwise_conv`.
- both together, by :func:`check_separable`: ``pointwise_conv(depthwise_conv(x, w_dw), w_pw)``
  must have the standard convolution's output shape and equal
  :class:`efficientnn.layers.SeparableConv2D`.
- ``separable_macs(input_shape, kernel_size, filters)``: stride 1, no padding; checked against
  :func:`efficientnn.cost.separable_macs` by :func:`check_separable_macs`.

The array checkers run through :func:`efficientnn.quiz.harness.check_array_function` (the
right output computed with :mod:`efficientnn.layers` at check time; a failure names the call,
how to rebuild its input and the slip, never the right output); the value slips are in
:data:`SEPARABLE_SLIP_MESSAGES`. Visible tests: :func:`check_depthwise_conv_form`,
:func:`check_pointwise_conv_form`. The assignment's questions: :func:`separable_questions`.

Example
-------
>>> from efficientnn.cost import separable_macs
>>> check_separable_macs(separable_macs)  # None when every case passes
>>> sorted(separable_questions())
['separable_ratio', 'sepconv2_params']
"""
from __future__ import annotations

import numpy as np

from .. import cost
from .. import layers as _layers
from .harness import (LAYER_CLASSES, ArrayCase, FunctionCase, call_safely, call_text, check_array_form,
                      check_array_function, check_function, refuse_reference, require_function)
from .questions import LayerSpec, Question, describe_model

__all__ = [
    "SEPARABLE_SLIP_MESSAGES",
    "check_depthwise_conv",
    "check_depthwise_conv_form",
    "check_pointwise_conv",
    "check_pointwise_conv_form",
    "check_separable",
    "separable_macs_cases",
    "check_separable_macs",
    "separable_questions",
]

#: Base seed of the input arrays (each exercise adds its own offset, each case 10 more): fixed, so every
#: student is graded on the same inputs. Assignment 03 uses the same base seed.
SEED = 303

#: Value-level slips of the exercises (shape slips come from the quiz's SLIP_MESSAGES).
SEPARABLE_SLIP_MESSAGES = {
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
}


# --------------------------------------------------------------------------- depthwise and pointwise
def _case(seed, note="", **shapes) -> ArrayCase:
    """A call whose arrays (keyword order is argument order) are all drawn from the standard normal."""
    return ArrayCase(tuple((name, shape, "normal") for name, shape in shapes.items()), seed=seed, note=note)


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


#: The graded calls, x's shape and the kernel's (kh, kw). The rows without a note were drawn at random
#: once (any batch, kernel sides from 1, 2, 3, 5, channels from 1, 3, 4, 8) and are kept as drawn.
_DEPTHWISE_ROWS = [
    ((1, 5, 5, 1), (3, 3), "one channel"),
    ((2, 6, 6, 3), (3, 3), "three channels"),
    ((1, 7, 9, 4), (3, 2), "a 3x2 kernel on a 7x9 input"),
    ((2, 4, 4, 2), (1, 1), "a 1x1 kernel"),
    ((1, 6, 5, 8), (5, 5), "a kernel almost as large as the input"),
    ((3, 4, 9, 1), (3, 3), ""),
    ((2, 7, 11, 4), (1, 2), ""),
    ((2, 7, 9, 3), (3, 2), ""),
    ((1, 7, 2, 1), (5, 1), ""),
]


def _depthwise_cases():
    return [_case(SEED + 1000 + 10 * i, note, x=shape, w=kernel + (shape[3],))
            for i, (shape, kernel, note) in enumerate(_DEPTHWISE_ROWS)]


def check_depthwise_conv(fn, allow_reference: bool = False) -> None:
    """Check ``depthwise_conv(x, w)`` (w (kh, kw, C), stride 1, no padding, no bias) against DepthwiseConv2D."""
    check_array_function(fn, _depthwise_cases(), "depthwise_conv", _depthwise_reference, _depthwise_question,
                         _depthwise_value_slips, _depthwise_shape_slips, allow_reference,
                         messages=SEPARABLE_SLIP_MESSAGES)


def check_depthwise_conv_form(fn) -> None:
    """Visible test: ``depthwise_conv`` returns a 4-D array with the batch kept (not whether it is right)."""
    check_array_form(fn, _case(7, x=(2, 5, 5, 3), w=(3, 3, 3)), "depthwise_conv")


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


#: The graded calls, x's shape and the number of filters F. The rows without a note were drawn at random
#: once (channels from 1, 3, 5, 8, filters from 1, 4, 8, 16) and are kept as drawn.
_POINTWISE_ROWS = [
    ((1, 3, 3, 2), 4, "two channels in, four out"),
    ((2, 5, 4, 3), 3, "as many channels out as in"),
    ((1, 1, 1, 8), 1, "a single pixel, one output channel"),
    ((2, 6, 7, 5), 16, "height and width differ"),
    ((1, 5, 5, 1), 1, ""),
    ((2, 6, 5, 1), 1, ""),
    ((3, 4, 8, 1), 4, ""),
    ((3, 1, 1, 5), 16, ""),
]


def _pointwise_cases():
    return [_case(SEED + 2000 + 10 * i, note, x=shape, w=(shape[3], f))
            for i, (shape, f, note) in enumerate(_POINTWISE_ROWS)]


def check_pointwise_conv(fn, allow_reference: bool = False) -> None:
    """Check ``pointwise_conv(x, w)`` (w (C, F), no bias) against a 1x1 Conv2D."""
    check_array_function(fn, _pointwise_cases(), "pointwise_conv", _pointwise_reference, _pointwise_question,
                         _pointwise_value_slips, None, allow_reference, messages=SEPARABLE_SLIP_MESSAGES)


def check_pointwise_conv_form(fn) -> None:
    """Visible test: ``pointwise_conv`` returns a 4-D array with the batch kept (not whether it is right)."""
    check_array_form(fn, _case(7, x=(2, 3, 3, 2), w=(2, 4)), "pointwise_conv")


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
        if not allow_reference:
            refuse_reference(fn, name, LAYER_CLASSES, "efficientnn's",
                             "the layer it is graded against: write it with numpy operations.")

    def separable(x, w_dw, w_pw):
        return pointwise_fn(depthwise_fn(x, w_dw), w_pw)

    cases = [_case(SEED + 3000 + 10 * i, note, x=shape, w_dw=kernel + (shape[3],), w_pw=(shape[3], f))
             for i, (shape, kernel, f, note) in enumerate(_SEPARABLE_FIXED)]
    check_array_function(separable, cases, "separable", _separable_reference, _separable_question,
                         allow_reference=True, call="pointwise_conv(depthwise_conv(x, w_dw), w_pw)")



# --------------------------------------------------------------------------- separable MACs
#: The graded calls (input_shape, kernel_size, filters). The rows after the noted ones were drawn at random
#: once (kernel 1, 3, 5 or 7, mostly square inputs up to 64, channels up to 32, filters up to 128) and
#: are kept as drawn.
_SEPARABLE_MACS_ROWS = [
    ((10, 10, 3), 3, 8, ""),
    ((28, 28, 1), 3, 5, "one input channel"),
    ((12, 9, 4), 3, 6, "height and width differ"),
    ((7, 7, 16), 1, 32, "a 1x1 kernel"),
    ((32, 32, 8), 5, 16, "a 5x5 kernel"),
    ((5, 5, 2), 5, 3, "the kernel as large as the input"),
    ((12, 12, 8), 1, 4, ""),
    ((17, 17, 32), 1, 128, ""),
    ((8, 8, 32), 5, 128, ""),
    ((55, 52, 3), 5, 16, ""),
    ((18, 18, 3), 1, 128, ""),
    ((37, 37, 1), 7, 4, ""),
]


def separable_macs_cases() -> list[FunctionCase]:
    """The calls ``separable_macs(input_shape, kernel_size, filters)`` is checked on (stride 1, no padding)."""
    return [FunctionCase((shape, k, f), Question("macs", LayerSpec("separable", shape, kernel_size=k, filters=f)),
                         note=note) for shape, k, f, note in _SEPARABLE_MACS_ROWS]


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
            result = call_safely(fn, case.args, {}, shown)
            if _is_number(result) and float(result) == slipped:
                raise AssertionError(f"{shown} returned {result!r}, which is not right. "
                                     f"{SEPARABLE_SLIP_MESSAGES['pointwise_on_input']}")
    check_function(fn, cases, "separable_macs", names)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))



# --------------------------------------------------------------------------- questions
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


