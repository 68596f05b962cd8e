"""Quantization: numbers stored as small integers, a scale and a zero point.

A tensor ``x`` (float32) is stored as integers ``q`` with one real-valued **scale** ``s`` and one
integer **zero point** ``z`` (per tensor, or one of each per output channel)::

    q = clip(round(x / s) + z, qmin, qmax)        quantize
    x_hat = (q - z) * s                           dequantize; x_hat - x is the quantization error

Two schemes fix ``qmin..qmax``, ``s`` and ``z`` from a range ``[lo, hi]`` of values:

- :class:`Symmetric` (weights): signed ``-(2^(b-1) - 1) .. 2^(b-1) - 1`` (int8: -127..127), ``z = 0``,
  ``s = max(|lo|, |hi|) / (2^(b-1) - 1)``: the largest *magnitude* maps to the end of the range.
- :class:`Asymmetric` (activations): unsigned ``0 .. 2^b - 1`` (uint8: 0..255), the range first widened
  to hold 0 (so that 0, a ReLU's output and every padded pixel, is stored exactly),
  ``s = (hi - lo) / (2^b - 1)``, ``z = round(-lo / s)``.

The range comes from the weights themselves or, for activations, from **calibration data**
(:func:`calibrate`, :func:`activation_ranges`). Values inside the range are off by at most ``s / 2``
(:func:`error_bound`); values outside it are clipped.

An integer layer multiplies the integers and **accumulates in int32** (:func:`int_matmul`,
:func:`quantized_dense`, :func:`quantized_conv2d`; NHWC, with :func:`efficientnn.layers.im2col`), then
rescales once by ``s_x * s_w``. Its distance from the float result is bounded by
:func:`matmul_error_bound`, which the tests check. :class:`QuantizedModel` runs a whole trained
``Sequential`` that way (post-training quantization, PTQ).

The OpenVINO part (imported only when used) makes a real int8 model with NNCF's post-training
quantization (:func:`to_openvino_int8`), measures its accuracy (:func:`openvino_accuracy`) and times it
layer by layer against float32 (:func:`compare_layer_times`), with the kernels OpenVINO chose.

Units: scales in the tensor's own units per integer step; bytes; times in microseconds.

Modules: :mod:`~efficientnn.quantization.schemes` (Symmetric/Asymmetric, scale and zero point,
quantize and dequantize, error bounds), :mod:`~efficientnn.quantization.integer` (int32
accumulation, integer dense and conv layers), :mod:`~efficientnn.quantization.models`
(:class:`QuantizedModel`, weight bytes) and :mod:`~efficientnn.quantization.openvino_int8` (NNCF,
OpenVINO int8 accuracy and layer times). Every public name is importable from
``efficientnn.quantization`` itself; the roofline figure lives in :mod:`efficientnn.plots`.

Example
-------
>>> import numpy as np
>>> w = np.array([[0.5, -1.27], [0.02, 1.0]])
>>> p = calibrate(w, Symmetric(8))
>>> float(p.scale), int(p.zero_point)
(0.01, 0)
>>> quantize(w, p)
array([[  50, -127],
       [   2,  100]], dtype=int8)
>>> bool(np.all(np.abs(dequantize(quantize(w, p), p) - w) <= error_bound(w, p)))
True
"""
from __future__ import annotations

from ..moved_plots import plot_forwarder
from . import integer, models, openvino_int8, schemes
from .integer import (INT32_MAX, accumulator_bound, conv2d_error_bound, int_matmul, matmul_error_bound,
                      quantized_conv2d, quantized_dense)
from .models import QuantizedModel, activation_ranges, weight_bytes
from .openvino_int8 import (NNCFUnavailable, compare_layer_times, format_comparison, int8_bytes_moved,
                            openvino_accuracy, to_openvino_int8)
from .schemes import (Asymmetric, QuantParams, Symmetric, calibrate, dequantize, error_bound, fake_quantize,
                      params_from_range, quantize)

_PLOTS = ("roofline_shift_plot",)
__all__ = [*schemes.__all__, *integer.__all__, *models.__all__, *openvino_int8.__all__, *_PLOTS]

# The plots moved to efficientnn.plots; notebooks still find them here.
__getattr__ = plot_forwarder(__name__, _PLOTS)
