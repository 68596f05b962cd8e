"""Pooling: the largest (max) or the mean (average) of each window, channel by channel.

Pooling has no weights and no MACs; its FLOPs count the comparisons (max) or the additions and
the one scaling (average) per output element, as :func:`efficientnn.cost.pool_flops` states.

Example
-------
>>> pool = MaxPool2D(2)
>>> pool.bind((26, 26, 5)), pool.macs(), pool.flops()
((13, 13, 5), 0, 2535)
"""
from __future__ import annotations

import numpy as np

from .. import cost, shapes
from .base import WindowLayer, _dims
from .windows import col2im, im2col, naive_out, pad_naive

__all__ = ["MaxPool2D", "AvgPool2D"]


class _Pool2D(WindowLayer):
    """Max or average pooling over each kh x kw window, channel by channel; no weights.

    Its window is ``kernel_size``, also readable as ``pool_size`` (the Keras name).
    """

    name_prefix = "pool"
    mode = None  # "max" or "avg", as efficientnn.cost.pool_flops counts them

    def __init__(self, pool_size, stride=None, padding=0, name=None):
        super().__init__(name)
        pool_size = shapes.as_pair(pool_size, "pool_size")
        if stride is None:
            if pool_size[0] != pool_size[1]:
                raise ValueError("stride=None needs a square pool_size; give the stride explicitly.")
            stride = pool_size[0]
        self._set_window(pool_size, stride, padding, what="pool_size")

    @property
    def pool_size(self):
        return self.kernel_size

    def compute_output_shape(self, input_shape):
        return shapes.pool_output_shape(input_shape, self.pool_size, self.stride, self.padding)

    def macs(self):
        return 0

    def flops(self):
        return cost.pool_flops(self._bound_input(), self.pool_size, self.stride, self.padding, mode=self.mode)

    def param_count(self):
        return 0

    def describe(self):
        what = {"max": "max", "avg": "average"}[self.mode]
        return f"{_dims(self.pool_size)} {what} pooling, {self.geometry()}, {self._applied_to()}"

    def brief(self):
        return f"{self.name}: {_dims(self.pool_size)} {self.mode} pooling, stride {self.stride}"


class MaxPool2D(_Pool2D):
    """Max pooling: the largest value of each window, channel by channel.

    Parameters
    ----------
    pool_size : int or (kh, kw)
    stride : int or None (None: equal to pool_size, non-overlapping windows)
    padding : int, (ph, pw), "valid" or "same"; padded cells never win (they hold -inf)

    Shapes
    ------
    x : (N, H, W, C) -> y : (N, Ho, Wo, C), Ho = floor((H + 2 ph - kh) / stride) + 1.
    Cost: kh*kw - 1 comparisons per output element, no MACs, no parameters.

    Example
    -------
    >>> MaxPool2D(2).build((26, 26, 5))
    (13, 13, 5)
    """

    kind = "maxpool"
    mode = "max"

    def openvino(self, graph, x):
        # OpenVINO's padded cells never win a max, as efficientnn's -inf padding.
        strides, begin, end = self.openvino_window()
        node = graph.ops.max_pool(x, strides, [1, 1], begin, end, list(self.pool_size))
        return graph.named(node, self.name).output(0)

    def forward(self, x, training=False):
        x = self._check(x)
        cols = im2col(x, self.pool_size, self.stride, self.padding, pad_value=-np.inf)
        n, ho, wo, kh, kw, c = cols.shape
        flat = cols.reshape(n, ho, wo, kh * kw, c)
        arg = flat.argmax(axis=3)
        y = np.take_along_axis(flat, arg[:, :, :, None, :], axis=3)[:, :, :, 0, :]
        self._cache = (x.shape, arg, cols.shape) if training else None
        return y

    def backward(self, dy):
        x_shape, arg, cols_shape = self._cached()
        n, ho, wo, kh, kw, c = cols_shape
        dflat = np.zeros((n, ho, wo, kh * kw, c), dtype=dy.dtype)
        # Only the first maximal cell of a window receives the gradient (as argmax picks it).
        np.put_along_axis(dflat, arg[:, :, :, None, :], dy[:, :, :, None, :], axis=3)
        return col2im(dflat.reshape(cols_shape), x_shape, self.stride, self.padding)

    def forward_naive(self, x):
        x = self._check(x)
        xp = pad_naive(x, self.padding, value=-np.inf)
        kh, kw = self.pool_size
        s = self.stride
        n = x.shape[0]
        ho, wo, c = self.output_shape
        y = naive_out(x, (n, ho, wo, c))
        for ni in range(n):
            for oi in range(ho):
                for oj in range(wo):
                    for ci in range(c):
                        best = xp[ni, oi * s, oj * s, ci]
                        for i in range(kh):
                            for j in range(kw):
                                if i == 0 and j == 0:
                                    continue
                                v = xp[ni, oi * s + i, oj * s + j, ci]
                                if v > best:
                                    best = v
                        y[ni, oi, oj, ci] = best
        return y


class AvgPool2D(_Pool2D):
    """Average pooling: the mean of each window, channel by channel.

    Parameters
    ----------
    pool_size : int or (kh, kw)
    stride : int or None (None: equal to pool_size)
    padding : int, (ph, pw), "valid" or "same"; padded cells count as zeros in the mean

    Shapes
    ------
    x : (N, H, W, C) -> y : (N, Ho, Wo, C), Ho = floor((H + 2 ph - kh) / stride) + 1.
    Cost: kh*kw - 1 additions and 1 multiplication (by 1 / (kh*kw)) per output element.

    Example
    -------
    >>> AvgPool2D(2).build((26, 26, 5))
    (13, 13, 5)
    """

    kind = "avgpool"
    mode = "avg"

    def openvino(self, graph, x):
        # exclude_pad=False: efficientnn counts padded zeros in the mean.
        strides, begin, end = self.openvino_window()
        node = graph.ops.avg_pool(x, strides, begin, end, list(self.pool_size), False)
        return graph.named(node, self.name)

    def forward(self, x, training=False):
        x = self._check(x)
        cols = im2col(x, self.pool_size, self.stride, self.padding)
        self._cache = (x.shape, cols.shape) if training else None
        return cols.mean(axis=(3, 4))

    def backward(self, dy):
        x_shape, cols_shape = self._cached()
        kh, kw = self.pool_size
        dcols = np.broadcast_to((dy / (kh * kw))[:, :, :, None, None, :], cols_shape)
        return col2im(np.ascontiguousarray(dcols), x_shape, self.stride, self.padding)

    def forward_naive(self, x):
        x = self._check(x)
        xp = pad_naive(x, self.padding)
        kh, kw = self.pool_size
        s = self.stride
        n = x.shape[0]
        ho, wo, c = self.output_shape
        y = naive_out(x, (n, ho, wo, c))
        scale = 1.0 / (kh * kw)
        for ni in range(n):
            for oi in range(ho):
                for oj in range(wo):
                    for ci in range(c):
                        acc = xp[ni, oi * s, oj * s, ci]
                        for i in range(kh):
                            for j in range(kw):
                                if i or j:
                                    acc = acc + xp[ni, oi * s + i, oj * s + j, ci]
                        y[ni, oi, oj, ci] = acc * scale
        return y
