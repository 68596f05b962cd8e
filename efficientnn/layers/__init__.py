"""The layers of the course, each with a fast forward, a naive reference forward and a backward.

Arrays are NHWC float32: a batch of images is ``x : (N, H, W, C)``. Every spatial layer follows
one output-size rule (see :mod:`efficientnn.shapes`)::

    Ho = floor((H + 2 * ph - kh) / stride) + 1,   Wo likewise

The fast forwards gather the kh x kw windows into an ``(N, Ho, Wo, kh, kw, C)`` array (im2col)
and make one matrix product, so they run at numpy GEMM speed. The ``forward_naive`` methods are
plain loops over every output element, written for reading and for checking the fast versions
(and, fed arrays of counting numbers, for counting the multiplications a layer really performs).

A layer kind is one class (see :mod:`efficientnn.layers.base`): it also knows its MACs, FLOPs and
parameter count, its description in words, how structured pruning cuts through it and its
OpenVINO nodes, so cost, the quiz, pruning and OpenVINO conversion ask the layer, never its
kind string. Modules: ``base`` (:class:`Layer` and the registry), ``windows`` (im2col),
``convolution``, ``pooling`` and ``dense`` (Dense, ReLU, Flatten).

Example
-------
>>> import numpy as np
>>> conv = Conv2D(filters=5, kernel_size=3)
>>> conv.build((28, 28, 1), np.random.default_rng(0))
(26, 26, 5)
>>> conv.forward(np.zeros((2, 28, 28, 1), np.float32)).shape
(2, 26, 26, 5)
>>> conv.macs(), conv.param_count()
(30420, 50)
"""

from __future__ import annotations

from .base import LAYER_CLASSES, Layer, WindowLayer, layer_class
from .convolution import Conv2D, DepthwiseConv2D, SeparableConv2D
from .dense import Dense, Flatten, ReLU
from .pooling import AvgPool2D, MaxPool2D
from .windows import col2im, im2col

__all__ = [
    "Layer",
    "WindowLayer",
    "LAYER_CLASSES",
    "layer_class",
    "Conv2D",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "Dense",
    "MaxPool2D",
    "AvgPool2D",
    "ReLU",
    "Flatten",
    "im2col",
    "col2im",
]
