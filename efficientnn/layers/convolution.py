"""Convolutions: standard, depthwise and depthwise-separable, NHWC float32.

Each class holds its hyper-parameters and, bound to an input shape, its output shape and cost
(from the formulas of :mod:`efficientnn.cost`), its words, how pruning cuts through it and its
OpenVINO nodes. Every spatial layer follows one output-size rule (see :mod:`efficientnn.shapes`)::

    Ho = floor((H + 2 * ph - kh) / stride) + 1,   Wo likewise

Example
-------
>>> sep = SeparableConv2D(64, 3, padding="same")
>>> sep.bind((56, 56, 32)), sep.macs(), sep.standard_equivalent().macs()
((56, 56, 64), 7325696, 57802752)
"""
from __future__ import annotations

import numpy as np

from .. import cost, shapes
from ..validation import positive_int
from .base import WindowLayer, _dims
from .windows import IM2COL_BLOCK_BYTES, col2im, gemm_bias, he_normal, im2col, naive_out, pad_naive

__all__ = ["Conv2D", "DepthwiseConv2D", "SeparableConv2D"]


class Conv2D(WindowLayer):
    """Standard 2-D convolution (cross-correlation, as every framework computes it).

    Parameters
    ----------
    filters : int, output channels
    kernel_size : int or (kh, kw)
    stride : int
    padding : int, (ph, pw), "valid" or "same"
    use_bias : bool

    Shapes
    ------
    x : (N, H, W, C)  ->  y : (N, Ho, Wo, filters)
    W : (kh, kw, C, filters),  b : (filters,)
    Ho = floor((H + 2 ph - kh) / stride) + 1, Wo likewise.

    Example
    -------
    >>> conv = Conv2D(128, 3)
    >>> conv.build((10, 10, 3))
    (8, 8, 128)
    """

    kind = "conv"
    out_channels_attr = "filters"
    out_channels_key = "W"

    def __init__(self, filters, kernel_size, stride=1, padding=0, use_bias=True, name=None):
        super().__init__(name)
        self.filters = positive_int(filters, "filters")
        self._set_window(kernel_size, stride, padding)
        self.use_bias = bool(use_bias)

    def compute_output_shape(self, input_shape):
        return shapes.conv_output_shape(input_shape, self.kernel_size, self.filters, self.stride, self.padding)

    def macs(self):
        return cost.conv2d_macs(self._bound_input(), self.kernel_size, self.filters, self.stride, self.padding)

    def param_count(self):
        return cost.conv2d_params(self.kernel_size, self._bound_input()[2], self.filters, self.use_bias)

    def describe(self):
        n, kernel = self.filters, f"{_dims(self.kernel_size)}x{self._bound_input()[2]}"
        return (f"a convolution with {n} filter{'s' if n != 1 else ''}, a {kernel} kernel (HxWxD), "
                f"{self.geometry()}, {self._applied_to()}")

    def brief(self):
        ph, _ = self.padding
        pad = "no padding" if self.padding == (0, 0) else f"padding {ph}"
        return (f"{self.name}: convolution, {self.filters} filters of {_dims(self.kernel_size)}, "
                f"stride {self.stride}, {pad}")

    def prune_inputs(self, axes, live):
        axes["W"][-2] = live
        return live

    def openvino(self, graph, x):
        # efficientnn (kh, kw, Cin, Cout) -> OpenVINO (Cout, Cin, kh, kw)
        w = self.params["W"].transpose(3, 2, 0, 1)
        y = graph.named(graph.ops.convolution(x, graph.const(w), *self.openvino_window(), [1, 1]), self.name)
        return graph.bias(y, self, f"{self.name}/bias")

    def _init_params(self, rng):
        kh, kw = self.kernel_size
        cin = self.input_shape[2]
        self.params = {"W": he_normal(rng, (kh, kw, cin, self.filters), kh * kw * cin)}
        if self.use_bias:
            self.params["b"] = np.zeros(self.filters, np.float32)

    def forward(self, x, training=False):
        x = self._check(x)
        w2 = self.params["W"].reshape(-1, self.filters)
        if training:
            cols = im2col(x, self.kernel_size, self.stride, self.padding)
            self._cache = (x.shape, cols)
            y = gemm_bias(cols, w2, self.params.get("b"))
        else:
            self._cache = None
            # Inference needs no windows afterwards: make them a few images at a time, so each
            # block of windows is still in cache when the GEMM reads it.
            per_image = int(np.prod(self.output_shape[:2])) * w2.shape[0] * x.itemsize
            step = max(1, IM2COL_BLOCK_BYTES // per_image)
            y = np.empty((len(x),) + self.output_shape, dtype=np.result_type(x, w2))
            for i in range(0, len(x), step):
                cols = im2col(x[i : i + step], self.kernel_size, self.stride, self.padding)
                y[i : i + step] = gemm_bias(cols, w2, self.params.get("b"))
        return y

    def backward(self, dy):
        x_shape, cols = self._cached()
        n, ho, wo = cols.shape[:3]
        dy2 = dy.reshape(-1, self.filters)
        cols2 = cols.reshape(dy2.shape[0], -1)
        W = self.params["W"]
        self.grads = {"W": (cols2.T @ dy2).reshape(W.shape)}
        if self.use_bias:
            self.grads["b"] = dy2.sum(axis=0)
        dcols = (dy2 @ W.reshape(-1, self.filters).T).reshape(cols.shape)
        return col2im(dcols, x_shape, self.stride, self.padding)

    def forward_naive(self, x):
        x = self._check(x)
        W = self.params["W"]
        b = self.params.get("b")
        kh, kw, cin, cout = W.shape
        s = self.stride
        xp = pad_naive(x, self.padding)
        n = x.shape[0]
        ho, wo, _ = self.output_shape
        y = naive_out(x, (n, ho, wo, cout))
        for ni in range(n):
            for oi in range(ho):
                for oj in range(wo):
                    for f in range(cout):
                        acc = 0.0
                        for i in range(kh):
                            for j in range(kw):
                                for c in range(cin):
                                    acc = acc + xp[ni, oi * s + i, oj * s + j, c] * W[i, j, c, f]
                        if b is not None:
                            acc = acc + b[f]
                        y[ni, oi, oj, f] = acc
        return y


def _depthwise_forward(x, W, stride, padding):
    """Depthwise convolution, no bias. x : (N, H, W, C); W : (kh, kw, C, M) -> (N, Ho, Wo, C*M)."""
    kh, kw, c, m = W.shape
    ph, pw = padding
    n, h, w, _ = x.shape
    ho = (h + 2 * ph - kh) // stride + 1
    wo = (w + 2 * pw - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0))) if (ph or pw) else x
    y = np.zeros((n, ho, wo, c, m), dtype=np.result_type(x.dtype, W.dtype))
    # kh*kw broadcast multiply-adds: each pass is a whole-plane elementwise product,
    # which beats an einsum over im2col windows for the small channel counts used here.
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i : i + stride * ho : stride, j : j + stride * wo : stride, :, None]
            y += patch * W[i, j]
    return y.reshape(n, ho, wo, c * m), xp


def _depthwise_backward(dy, xp, W, x_shape, stride, padding):
    """Gradients of :func:`_depthwise_forward`: returns (dx, dW)."""
    kh, kw, c, m = W.shape
    n, ho, wo, _ = dy.shape
    dy5 = dy.reshape(n, ho, wo, c, m)
    dW = np.empty_like(W)
    dxp = np.zeros(xp.shape, dtype=dy.dtype)
    for i in range(kh):
        for j in range(kw):
            sl = (slice(None), slice(i, i + stride * ho, stride), slice(j, j + stride * wo, stride))
            dW[i, j] = np.einsum("nhwc,nhwcm->cm", xp[sl], dy5)
            dxp[sl] += (dy5 * W[i, j]).sum(axis=-1)
    ph, pw = padding
    h, w = x_shape[1], x_shape[2]
    return dxp[:, ph : ph + h, pw : pw + w, :], dW


def _depthwise_naive(x, W, stride, padding, output_hw):
    kh, kw, c, m = W.shape
    xp = pad_naive(x, padding)
    n = x.shape[0]
    ho, wo = output_hw
    y = naive_out(x, (n, ho, wo, c * m))
    for ni in range(n):
        for oi in range(ho):
            for oj in range(wo):
                for ci in range(c):
                    for mi in range(m):
                        acc = 0.0
                        for i in range(kh):
                            for j in range(kw):
                                acc = acc + xp[ni, oi * stride + i, oj * stride + j, ci] * W[i, j, ci, mi]
                        y[ni, oi, oj, ci * m + mi] = acc
    return y


class DepthwiseConv2D(WindowLayer):
    """Depthwise convolution: each input channel gets its own kh x kw filter(s).

    Parameters
    ----------
    kernel_size : int or (kh, kw)
    stride : int
    padding : int, (ph, pw), "valid" or "same"
    depth_multiplier : int, M, filters per input channel
    use_bias : bool

    Shapes
    ------
    x : (N, H, W, C)  ->  y : (N, Ho, Wo, C * M); output channel ``c * M + m`` comes from input
    channel ``c`` (the Keras order).  W : (kh, kw, C, M),  b : (C * M,)

    Example
    -------
    >>> dw = DepthwiseConv2D(3, padding="same")
    >>> dw.build((56, 56, 32))
    (56, 56, 32)
    """

    kind = "depthwise"
    name_prefix = "dwconv"

    def __init__(self, kernel_size, stride=1, padding=0, depth_multiplier=1, use_bias=True, name=None):
        super().__init__(name)
        self._set_window(kernel_size, stride, padding)
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier")
        self.use_bias = bool(use_bias)

    def compute_output_shape(self, input_shape):
        return shapes.depthwise_output_shape(
            input_shape, self.kernel_size, self.stride, self.padding, self.depth_multiplier
        )

    def macs(self):
        return cost.depthwise_macs(self._bound_input(), self.kernel_size, self.stride, self.padding,
                                   self.depth_multiplier)

    def param_count(self):
        return cost.depthwise_params(self.kernel_size, self._bound_input()[2], self.depth_multiplier, self.use_bias)

    def describe(self):
        mult = f", depth multiplier {self.depth_multiplier}" if self.depth_multiplier != 1 else ""
        return (f"a depthwise convolution with a {_dims(self.kernel_size)} kernel per channel{mult}, "
                f"{self.geometry()}, {self._applied_to()}")

    def brief(self):
        return f"{self.name}: depthwise convolution, {_dims(self.kernel_size)}"

    def standard_equivalent(self):
        return _standard_conv(self, self._bound_input()[2] * self.depth_multiplier)

    def prune_inputs(self, axes, live):
        # Output channel c*M + m reads input channel c: the removal flows through.
        axes["W"][2] = live
        live = _expand(live, self.depth_multiplier)
        if "b" in axes:
            axes["b"][0] = live
        return live

    def openvino(self, graph, x):
        y = _openvino_depthwise(graph, x, self, self.params["W"], self.name)
        return graph.bias(y, self, f"{self.name}/bias")

    def _init_params(self, rng):
        kh, kw = self.kernel_size
        c = self.input_shape[2]
        self.params = {"W": he_normal(rng, (kh, kw, c, self.depth_multiplier), kh * kw)}
        if self.use_bias:
            self.params["b"] = np.zeros(c * self.depth_multiplier, np.float32)

    def forward(self, x, training=False):
        x = self._check(x)
        y, xp = _depthwise_forward(x, self.params["W"], self.stride, self.padding)
        if self.use_bias:
            y += self.params["b"]
        self._cache = (x.shape, xp) if training else None
        return y

    def backward(self, dy):
        x_shape, xp = self._cached()
        dx, dW = _depthwise_backward(dy, xp, self.params["W"], x_shape, self.stride, self.padding)
        self.grads = {"W": dW}
        if self.use_bias:
            self.grads["b"] = dy.sum(axis=(0, 1, 2))
        return dx

    def forward_naive(self, x):
        x = self._check(x)
        y = _depthwise_naive(x, self.params["W"], self.stride, self.padding, self.output_shape[:2])
        if self.use_bias:
            y = y + self.params["b"]
        return y


class SeparableConv2D(WindowLayer):
    """Depthwise-separable convolution: a depthwise conv, then a pointwise (1x1) conv.

    Same input and output shapes as ``Conv2D(filters, kernel_size, ...)`` with
    ``kh*kw*C*M + C*M*filters`` weights instead of ``kh*kw*C*filters``.

    Parameters
    ----------
    filters : int, output channels of the pointwise step
    kernel_size, stride, padding : as for :class:`Conv2D` (apply to the depthwise step)
    depth_multiplier : int, M
    use_bias : bool, one bias per output channel, after the pointwise step

    Shapes
    ------
    x : (N, H, W, C) -> depthwise (N, Ho, Wo, C*M) -> y : (N, Ho, Wo, filters)
    dw_W : (kh, kw, C, M),  pw_W : (1, 1, C*M, filters),  b : (filters,)

    Example
    -------
    >>> sep = SeparableConv2D(64, 3, padding="same")
    >>> sep.build((56, 56, 32))
    (56, 56, 64)
    """

    kind = "separable"
    name_prefix = "sepconv"
    out_channels_attr = "filters"
    out_channels_key = "pw_W"

    def __init__(self, filters, kernel_size, stride=1, padding=0, depth_multiplier=1, use_bias=True, name=None):
        super().__init__(name)
        self.filters = positive_int(filters, "filters")
        self._set_window(kernel_size, stride, padding)
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier")
        self.use_bias = bool(use_bias)

    def compute_output_shape(self, input_shape):
        ho, wo, _ = shapes.depthwise_output_shape(
            input_shape, self.kernel_size, self.stride, self.padding, self.depth_multiplier
        )
        return (ho, wo, self.filters)

    def macs(self):
        return cost.separable_macs(self._bound_input(), self.kernel_size, self.filters, self.stride, self.padding,
                                   self.depth_multiplier)

    def param_count(self):
        return cost.separable_params(self.kernel_size, self._bound_input()[2], self.filters, self.depth_multiplier,
                                     self.use_bias)

    def describe(self):
        mult = f" (depth multiplier {self.depth_multiplier})" if self.depth_multiplier != 1 else ""
        return (f"a separable convolution: a {_dims(self.kernel_size)} depthwise convolution{mult} then a 1x1 "
                f"pointwise convolution with {self.filters} filters, {self.geometry()}, {self._applied_to()}")

    def brief(self):
        return f"{self.name}: separable convolution, {_dims(self.kernel_size)}, {self.filters} filters"

    def standard_equivalent(self):
        return _standard_conv(self, self.filters)

    def prune_inputs(self, axes, live):
        axes["dw_W"][2] = live
        axes["pw_W"][2] = _expand(live, self.depth_multiplier)
        return live

    def openvino(self, graph, x):
        y = _openvino_depthwise(graph, x, self, self.params["dw_W"], f"{self.name}/depthwise")
        pw = self.params["pw_W"][0, 0].T[:, :, None, None]  # (C*M, F) -> (F, C*M, 1, 1)
        y = graph.named(graph.ops.convolution(y, graph.const(pw), [1, 1], [0, 0], [0, 0], [1, 1]), self.name)
        return graph.bias(y, self, f"{self.name}/bias")

    def _init_params(self, rng):
        kh, kw = self.kernel_size
        cm = self.input_shape[2] * self.depth_multiplier
        self.params = {
            "dw_W": he_normal(rng, (kh, kw, self.input_shape[2], self.depth_multiplier), kh * kw),
            "pw_W": he_normal(rng, (1, 1, cm, self.filters), cm),
        }
        if self.use_bias:
            self.params["b"] = np.zeros(self.filters, np.float32)

    def forward(self, x, training=False):
        x = self._check(x)
        mid, xp = _depthwise_forward(x, self.params["dw_W"], self.stride, self.padding)
        n, ho, wo, cm = mid.shape
        y = mid.reshape(-1, cm) @ self.params["pw_W"].reshape(cm, self.filters)
        if self.use_bias:
            y += self.params["b"]
        self._cache = (x.shape, xp, mid) if training else None
        return y.reshape(n, ho, wo, self.filters)

    def backward(self, dy):
        x_shape, xp, mid = self._cached()
        cm = mid.shape[-1]
        dy2 = dy.reshape(-1, self.filters)
        pw = self.params["pw_W"]
        self.grads = {"pw_W": (mid.reshape(-1, cm).T @ dy2).reshape(pw.shape)}
        if self.use_bias:
            self.grads["b"] = dy2.sum(axis=0)
        dmid = (dy2 @ pw.reshape(cm, self.filters).T).reshape(mid.shape)
        dx, self.grads["dw_W"] = _depthwise_backward(
            dmid, xp, self.params["dw_W"], x_shape, self.stride, self.padding
        )
        return dx

    def forward_naive(self, x):
        x = self._check(x)
        mid = _depthwise_naive(x, self.params["dw_W"], self.stride, self.padding, self.output_shape[:2])
        pw = self.params["pw_W"][0, 0]
        b = self.params.get("b")
        n, ho, wo, cm = mid.shape
        y = naive_out(x, (n, ho, wo, self.filters))
        for ni in range(n):
            for oi in range(ho):
                for oj in range(wo):
                    for f in range(self.filters):
                        acc = 0.0
                        for c in range(cm):
                            acc = acc + mid[ni, oi, oj, c] * pw[c, f]
                        if b is not None:
                            acc = acc + b[f]
                        y[ni, oi, oj, f] = acc
        return y


def _expand(live, m):
    """Channels ``c * m + j`` (j < m) of the channels ``c`` in ``live``: Keras's depthwise output order."""
    return (live[:, None] * m + np.arange(m)).ravel()


def _standard_conv(layer, filters):
    """The bound standard convolution with ``layer``'s input, window, bias and ``filters`` outputs."""
    conv = Conv2D(filters, layer.kernel_size, layer.stride, layer.padding, use_bias=layer.use_bias, name=layer.name)
    conv._same_padding = layer._same_padding
    conv.bind(layer._bound_input())
    return conv


def _openvino_depthwise(graph, x, layer, w, name):
    """A grouped convolution with one group per input channel; OpenVINO's (G, Cout/G, Cin/G, kh, kw)
    = (C, M, 1, kh, kw) keeps Keras's output order c*M + m."""
    dw = w.transpose(2, 3, 0, 1)[:, :, None]
    return graph.named(graph.ops.group_convolution(x, graph.const(dw), *layer.openvino_window(), [1, 1]), name)
