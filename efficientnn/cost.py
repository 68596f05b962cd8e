"""What a layer costs: parameters, MACs and FLOPs, and a time estimate from them.

Conventions (the lesson's, stated once here and used everywhere in the course)
-----------------------------------------------------------------------------
- A **MAC** is one multiply-accumulate, ``acc += x * w``. A layer's MACs are the multiplications
  by a weight that one forward pass of **one example** performs.
- **FLOPs** (a quantity, lower-case s) = 2 x MACs for convolutions and dense layers: one multiply
  and one add per MAC. Bias additions are **not** counted (they add one FLOP per output element;
  the lesson, fvcore and thop leave them out).
- **FLOPS** (upper-case S) is a rate, FLOPs per second: the machine's speed, not the model's cost.
- Pooling has no MACs. Its FLOPs count the comparisons (max) or additions and the one scaling
  multiplication (average) per output element: ``kh*kw - 1`` for max, ``kh*kw`` for average.
- ReLU and Flatten count 0 FLOPs.

How other tools count (measured on PyTorch twins of these models, bias excluded where noted):

=====================  ========================  =====  ===========  =====================
tool                   reports                   bias   ReLU         pooling
=====================  ========================  =====  ===========  =====================
fvcore                 MACs (calls them flops)   no     0            unsupported (0)
thop                   MACs                      no     0            max 0, avg = outputs
ptflops 0.7.5          MACs                      yes    counted      input elements
calflops / DeepSpeed   FLOPs = 2 x MACs          conv   counted      input elements
torchinfo              mult-adds incl. bias      yes    0            0
=====================  ========================  =====  ===========  =====================

With bias excluded, every one of them gives the conv and dense MACs computed here.

Example
-------
>>> conv2d_macs((10, 10, 3), kernel_size=3, filters=128)
221184
>>> flops_from_macs(221184)
442368
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import shapes
from .validation import positive_int

__all__ = [
    "LayerCost",
    "conv2d_macs",
    "depthwise_macs",
    "pointwise_macs",
    "separable_macs",
    "dense_macs",
    "pool_flops",
    "flops_from_macs",
    "conv2d_params",
    "depthwise_params",
    "separable_params",
    "dense_params",
    "separable_mac_ratio",
    "profile",
    "layer_cost",
    "total_macs",
    "total_flops",
    "total_params",
    "format_profile",
    "latency_ms",
    "measure_flops_per_second",
]


# --------------------------------------------------------------------------- formulas
def conv2d_macs(input_shape, kernel_size, filters, stride=1, padding=0) -> int:
    """MACs of a standard convolution: ``Ho * Wo * filters * kh * kw * C``.

    Every one of the Ho*Wo*filters outputs is a dot product of a kh x kw x C window with a filter.

    Parameters
    ----------
    input_shape : (H, W, C)
    kernel_size : int or (kh, kw)
    filters : int
    stride : int
    padding : int, (ph, pw), "valid" or "same"

    Example
    -------
    >>> conv2d_macs((28, 28, 1), 3, 5)
    30420
    """
    ho, wo, f = shapes.conv_output_shape(input_shape, kernel_size, filters, stride, padding)
    kh, kw = shapes.as_pair(kernel_size, "kernel_size")
    return ho * wo * f * kh * kw * input_shape[2]


def depthwise_macs(input_shape, kernel_size, stride=1, padding=0, depth_multiplier=1) -> int:
    """MACs of a depthwise convolution: ``Ho * Wo * C * M * kh * kw`` (no sum across channels).

    Example
    -------
    >>> depthwise_macs((56, 56, 32), 3, padding="same")
    903168
    """
    ho, wo, cm = shapes.depthwise_output_shape(input_shape, kernel_size, stride, padding, depth_multiplier)
    kh, kw = shapes.as_pair(kernel_size, "kernel_size")
    return ho * wo * cm * kh * kw


def pointwise_macs(input_shape, filters) -> int:
    """MACs of a pointwise (1x1) convolution: ``H * W * C * filters``.

    Example
    -------
    >>> pointwise_macs((56, 56, 32), 64)
    6422528
    """
    h, w, c = shapes.as_shape(input_shape, ndim=3)
    return h * w * c * positive_int(filters, "filters")


def separable_macs(input_shape, kernel_size, filters, stride=1, padding=0, depth_multiplier=1) -> int:
    """MACs of a separable convolution: depthwise MACs + pointwise MACs on the depthwise output.

    Example
    -------
    >>> separable_macs((56, 56, 32), 3, 64, padding="same")
    7325696
    """
    mid = shapes.depthwise_output_shape(input_shape, kernel_size, stride, padding, depth_multiplier)
    return depthwise_macs(input_shape, kernel_size, stride, padding, depth_multiplier) + pointwise_macs(mid, filters)


def separable_mac_ratio(kernel_size, filters) -> float:
    """MACs of a separable conv over a standard conv with the same shapes: ``1/N + 1/(kh*kw)``.

    N is the number of output filters (MobileNet's 1/N + 1/Dk^2; depth multiplier 1).

    Example
    -------
    >>> round(separable_mac_ratio(3, 64), 6)
    0.126736
    """
    kh, kw = shapes.as_pair(kernel_size, "kernel_size")
    return 1.0 / positive_int(filters, "filters") + 1.0 / (kh * kw)


def dense_macs(in_units, out_units) -> int:
    """MACs of a dense layer: ``in_units * out_units`` (each output is a dot product over the inputs).

    Example
    -------
    >>> dense_macs(2880, 128)
    368640
    """
    return positive_int(in_units, "in_units") * positive_int(out_units, "out_units")


def pool_flops(input_shape, pool_size, stride=None, padding=0, mode="max") -> int:
    """FLOPs of pooling: ``kh*kw - 1`` comparisons (max) or ``kh*kw`` adds and scale (avg) per output.

    Example
    -------
    >>> pool_flops((26, 26, 5), 2)
    2535
    """
    if mode not in ("max", "avg"):
        raise ValueError(f'mode must be "max" or "avg", got {mode!r}.')
    ho, wo, c = shapes.pool_output_shape(input_shape, pool_size, stride, padding)
    kh, kw = shapes.as_pair(pool_size, "pool_size")
    per_output = kh * kw - 1 if mode == "max" else kh * kw
    return ho * wo * c * per_output


def flops_from_macs(macs) -> int:
    """FLOPs = 2 x MACs (one multiply and one add each). ``flops_from_macs(30420) == 60840``."""
    return 2 * positive_int(macs, "macs", allow_zero=True)


def conv2d_params(kernel_size, in_channels, filters, use_bias=True) -> int:
    """Weights of a convolution: ``kh * kw * C * filters`` plus ``filters`` biases.

    Example
    -------
    >>> conv2d_params(3, 1, 5)
    50
    """
    kh, kw = shapes.as_pair(kernel_size, "kernel_size")
    c = positive_int(in_channels, "in_channels")
    f = positive_int(filters, "filters")
    return kh * kw * c * f + (f if use_bias else 0)


def depthwise_params(kernel_size, in_channels, depth_multiplier=1, use_bias=True) -> int:
    """Weights of a depthwise convolution: ``kh * kw * C * M`` plus ``C * M`` biases."""
    kh, kw = shapes.as_pair(kernel_size, "kernel_size")
    cm = positive_int(in_channels, "in_channels") * positive_int(depth_multiplier, "depth_multiplier")
    return kh * kw * cm + (cm if use_bias else 0)


def separable_params(kernel_size, in_channels, filters, depth_multiplier=1, use_bias=True) -> int:
    """Weights of a separable convolution: ``kh*kw*C*M + C*M*filters`` plus ``filters`` biases."""
    cm = positive_int(in_channels, "in_channels") * positive_int(depth_multiplier, "depth_multiplier")
    return depthwise_params(kernel_size, in_channels, depth_multiplier, use_bias=False) + conv2d_params(
        1, cm, filters, use_bias
    )


def dense_params(in_units, out_units, use_bias=True) -> int:
    """Weights of a dense layer: ``in_units * out_units`` plus ``out_units`` biases."""
    return dense_macs(in_units, out_units) + (int(out_units) if use_bias else 0)


# --------------------------------------------------------------------------- whole models
@dataclass(frozen=True)
class LayerCost:
    """One row of :func:`profile`. Shapes exclude the batch; costs are for one example."""

    name: str
    kind: str
    input_shape: tuple
    output_shape: tuple
    params: int
    macs: int
    flops: int


def layer_cost(layer) -> LayerCost:
    """Params, MACs and FLOPs of one built layer, as the layer's own class counts them.

    Each layer kind applies the formulas above to its hyper-parameters (``Conv2D.macs`` is
    :func:`conv2d_macs` of its input shape, kernel, filters, stride and padding).

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> layer_cost(base_cnn().layer("fc1")).params
    368768
    """
    if layer.input_shape is None:
        raise ValueError(f"layer {layer.name or layer.kind} is not built: put it in a Sequential model first.")
    return LayerCost(layer.name, layer.kind, tuple(layer.input_shape), tuple(layer.output_shape),
                     layer.param_count(), layer.macs(), layer.flops())


def profile(model) -> list[LayerCost]:
    """One :class:`LayerCost` row per layer of ``model`` (no total row).

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> [(r.name, r.flops) for r in profile(base_cnn()) if r.flops]
    [('conv1', 60840), ('conv2', 259200), ('fc1', 737280), ('fc2', 2560)]
    """
    return [layer_cost(layer) for layer in model.layers]


def total_macs(model) -> int:
    """Sum of every layer's MACs for one example."""
    return sum(r.macs for r in profile(model))


def total_flops(model) -> int:
    """Sum of every layer's FLOPs for one example."""
    return sum(r.flops for r in profile(model))


def total_params(model) -> int:
    """Number of trainable weights and biases."""
    return sum(r.params for r in profile(model))


def format_profile(rows, title=None) -> str:
    """A text table of :func:`profile` rows with totals and each layer's share of the FLOPs."""
    total_f = sum(r.flops for r in rows) or 1
    header = f"{'layer':<12}{'kind':<11}{'output shape':<16}{'params':>10}{'MACs':>13}{'FLOPs':>13}{'share':>8}"
    line = "-" * len(header)
    out = [title] if title else []
    out += [header, line]
    for r in rows:
        out.append(
            f"{r.name:<12}{r.kind:<11}{'x'.join(map(str, r.output_shape)):<16}"
            f"{r.params:>10,}{r.macs:>13,}{r.flops:>13,}{r.flops / total_f:>8.1%}"
        )
    out.append(line)
    out.append(
        f"{'total':<39}{sum(r.params for r in rows):>10,}{sum(r.macs for r in rows):>13,}"
        f"{sum(r.flops for r in rows):>13,}{1:>8.0%}"
    )
    return "\n".join(out)


# --------------------------------------------------------------------------- time
def latency_ms(flops, flops_per_second) -> float:
    """Inference-time estimate in milliseconds: ``flops / FLOPS * 1000``.

    A lower bound: it assumes every FLOP runs at the machine's peak rate and that moving data
    costs nothing, which small and depthwise layers are far from.

    Example
    -------
    >>> latency_ms(1_059_880, 1e9)
    1.05988
    """
    if isinstance(flops, (str, bytes)) or isinstance(flops_per_second, (str, bytes)):
        raise ValueError("flops and flops_per_second must be numbers, not strings.")
    if flops < 0:
        raise ValueError(f"flops must be zero or more, got {flops}.")
    if flops_per_second <= 0:
        raise ValueError(f"flops_per_second must be positive, got {flops_per_second}.")
    return float(flops) / float(flops_per_second) * 1000.0


def measure_flops_per_second(n=512, repeats=5, min_seconds=0.2) -> float:
    """This machine's float32 matrix-multiply speed in FLOPS (FLOPs per second).

    Times products of two n x n float32 matrices with numpy (all cores its BLAS uses), at least
    ``repeats`` times and for at least ``min_seconds`` (stopping as soon as both hold), and returns
    ``2 * n**3 / best_time``: the
    best run, since the question is what the machine can do, not what it did while busy. The time
    floor matters on a shared machine, where a few runs can all land in someone else's burst.

    Example
    -------
    >>> measure_flops_per_second(256, 3, min_seconds=0.05) > 1e8
    True
    """
    n = positive_int(n, "n")
    repeats = positive_int(repeats, "repeats")
    if isinstance(min_seconds, (str, bytes)) or min_seconds < 0:
        raise ValueError(f"min_seconds must be a number >= 0, got {min_seconds!r}.")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm-up: first call pays for thread start-up
    best = float("inf")
    runs = 0
    start = time.perf_counter()
    while runs < repeats or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
        runs += 1
    return 2.0 * n**3 / best
