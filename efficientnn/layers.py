"""The layers of the course, each with a fast forward, a naive reference forward and a backward.

Arrays are NHWC float32: a batch of images is ``x : (N, H, W, C)``. Every spatial layer follows
one output-size rule (see :mod:`efficientnn.shapes`)::

    Ho = floor((H + 2 * ph - kh) / stride) + 1,   Wo likewise

The fast forwards gather the kh x kw windows into an ``(N, Ho, Wo, kh, kw, C)`` array (im2col)
and make one matrix product, so they run at numpy GEMM speed. The ``forward_naive`` methods are
plain loops over every output element, written for reading and for checking the fast versions
(and, fed arrays of counting numbers, for counting the multiplications a layer really performs).

Example
-------
>>> import numpy as np
>>> conv = Conv2D(filters=5, kernel_size=3)
>>> conv.build((28, 28, 1), np.random.default_rng(0))
(26, 26, 5)
>>> conv.forward(np.zeros((2, 28, 28, 1), np.float32)).shape
(2, 26, 26, 5)
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import shapes

__all__ = [
    "Layer",
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


# --------------------------------------------------------------------------- window helpers
def im2col(x, kernel_size, stride=1, padding=(0, 0), pad_value=0.0):
    """Gather every kh x kw window of ``x``.

    Parameters
    ----------
    x : (N, H, W, C)
    kernel_size : (kh, kw)
    stride : int
    padding : (ph, pw), pixels added on each side, filled with ``pad_value``

    Returns
    -------
    cols : (N, Ho, Wo, kh, kw, C), a new contiguous array
    """
    kh, kw = kernel_size
    ph, pw = padding
    if ph or pw:
        x = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=pad_value)
    x = np.ascontiguousarray(x)
    n, h, w, c = x.shape
    ho = (h - kh) // stride + 1
    wo = (w - kw) // stride + 1
    sn, sh, sw, sc = x.strides
    # One window row (kw pixels x C channels) is contiguous in NHWC memory, so a read-only
    # strided view (N, Ho, Wo, kh, kw*C) covers every window and one copy materialises it.
    view = as_strided(x, (n, ho, wo, kh, kw * c), (sn, sh * stride, sw * stride, sh, sc), writeable=False)
    return np.ascontiguousarray(view).reshape(n, ho, wo, kh, kw, c)


def col2im(dcols, input_shape, stride=1, padding=(0, 0)):
    """Adjoint of :func:`im2col`: add every window's gradient back onto the input.

    Parameters
    ----------
    dcols : (N, Ho, Wo, kh, kw, C)
    input_shape : (N, H, W, C), the unpadded input's shape

    Returns
    -------
    dx : (N, H, W, C)
    """
    n, ho, wo, kh, kw, c = dcols.shape
    ph, pw = padding
    _, h, w, _ = input_shape
    dx = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, i : i + stride * ho : stride, j : j + stride * wo : stride, :] += dcols[:, :, :, i, j, :]
    return dx[:, ph : ph + h, pw : pw + w, :]


# Size of one block of im2col windows in inference (bytes): about a core's L2 cache.
_IM2COL_BLOCK_BYTES = 2 * 1024 * 1024


def _gemm_bias(cols, w2, b):
    """(N, Ho, Wo, kh, kw, C) windows times (kh*kw*C, F) weights (+ bias) -> (N, Ho, Wo, F)."""
    n, ho, wo = cols.shape[:3]
    y = cols.reshape(n * ho * wo, -1) @ w2
    if b is not None:
        y += b
    return y.reshape(n, ho, wo, w2.shape[1])


def _he_normal(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def _naive_out(x, shape):
    """Output array for a naive forward: object dtype when counting, float32 otherwise."""
    return np.zeros(shape, dtype=object if x.dtype == object else np.float32)


# --------------------------------------------------------------------------- base class
class Layer:
    """Base class: holds the name, shapes, parameters, gradients and pruning masks.

    Attributes
    ----------
    params : dict of str -> ndarray (float32), the trainable arrays
    grads : dict of str -> ndarray, filled by :meth:`backward`, same keys and shapes as params
    masks : dict of str -> bool ndarray, optional; training keeps ``params[k] *= masks[k]``
    input_shape, output_shape : tuples without the batch dimension, set by :meth:`build`
    """

    kind = "layer"

    def __init__(self, name=None):
        if name is not None and not isinstance(name, str):
            raise ValueError(f"name must be a string, got {name!r}.")
        self.name = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.masks: dict[str, np.ndarray] = {}
        self.input_shape = None
        self.output_shape = None
        self._cache = None

    # -- building
    def build(self, input_shape, rng=None):
        """Fix the input shape, create the parameters; return the output shape (no batch)."""
        self.input_shape = tuple(int(d) for d in input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self._init_params(rng if rng is not None else np.random.default_rng(0))
        return self.output_shape

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _init_params(self, rng):
        pass

    # -- running
    def _check(self, x):
        if self.input_shape is None:
            raise ValueError(f"layer {self.name or self.kind} is not built yet: call build(input_shape) first.")
        x = np.asarray(x)
        if x.ndim != len(self.input_shape) + 1 or tuple(x.shape[1:]) != self.input_shape:
            want = ", ".join(str(d) for d in self.input_shape)
            raise ValueError(
                f"layer {self.name or self.kind} expects input of shape (N, {want}), got {tuple(x.shape)}."
            )
        return x

    def forward(self, x, training=False):
        """Fast forward pass. ``training=True`` keeps what :meth:`backward` needs."""
        raise NotImplementedError

    def forward_naive(self, x):
        """Reference forward pass with plain loops (slow; for checking)."""
        return self.forward(x)

    def backward(self, dy):
        """Gradient of the loss with respect to the input; fills :attr:`grads`."""
        raise NotImplementedError

    def _cached(self):
        if self._cache is None:
            raise ValueError(f"layer {self.name or self.kind}: call forward(x, training=True) before backward.")
        return self._cache

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, output_shape={self.output_shape})"


# --------------------------------------------------------------------------- convolutions
class Conv2D(Layer):
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

    def __init__(self, filters, kernel_size, stride=1, padding=0, use_bias=True, name=None):
        super().__init__(name)
        self.filters = shapes._positive_int(filters, "filters")
        self.kernel_size = shapes.as_pair(kernel_size, "kernel_size")
        self.stride = shapes._positive_int(stride, "stride")
        self.padding = shapes.resolve_padding(padding, self.kernel_size)
        self.use_bias = bool(use_bias)

    def compute_output_shape(self, input_shape):
        return shapes.conv_output_shape(input_shape, self.kernel_size, self.filters, self.stride, self.padding)

    def _init_params(self, rng):
        kh, kw = self.kernel_size
        cin = self.input_shape[2]
        self.params = {"W": _he_normal(rng, (kh, kw, cin, self.filters), kh * kw * cin)}
        if self.use_bias:
            self.params["b"] = np.zeros(self.filters, np.float32)

    def forward(self, x, training=False):
        x = self._check(x)
        w2 = self.params["W"].reshape(-1, self.filters)
        if training:
            cols = im2col(x, self.kernel_size, self.stride, self.padding)
            self._cache = (x.shape, cols)
            y = _gemm_bias(cols, w2, self.params.get("b"))
        else:
            self._cache = None
            # Inference needs no windows afterwards: make them a few images at a time, so each
            # block of windows is still in cache when the GEMM reads it.
            per_image = int(np.prod(self.output_shape[:2])) * w2.shape[0] * x.itemsize
            step = max(1, _IM2COL_BLOCK_BYTES // per_image)
            y = np.empty((len(x),) + self.output_shape, dtype=np.result_type(x, w2))
            for i in range(0, len(x), step):
                cols = im2col(x[i : i + step], self.kernel_size, self.stride, self.padding)
                y[i : i + step] = _gemm_bias(cols, w2, self.params.get("b"))
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
        xp = _pad_naive(x, self.padding)
        n = x.shape[0]
        ho, wo, _ = self.output_shape
        y = _naive_out(x, (n, ho, wo, cout))
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


def _pad_naive(x, padding, value=0.0):
    ph, pw = padding
    if not (ph or pw):
        return x
    return np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=value)


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
    xp = _pad_naive(x, padding)
    n = x.shape[0]
    ho, wo = output_hw
    y = _naive_out(x, (n, ho, wo, c * m))
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


class DepthwiseConv2D(Layer):
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

    def __init__(self, kernel_size, stride=1, padding=0, depth_multiplier=1, use_bias=True, name=None):
        super().__init__(name)
        self.kernel_size = shapes.as_pair(kernel_size, "kernel_size")
        self.stride = shapes._positive_int(stride, "stride")
        self.padding = shapes.resolve_padding(padding, self.kernel_size)
        self.depth_multiplier = shapes._positive_int(depth_multiplier, "depth_multiplier")
        self.use_bias = bool(use_bias)

    def compute_output_shape(self, input_shape):
        return shapes.depthwise_output_shape(
            input_shape, self.kernel_size, self.stride, self.padding, self.depth_multiplier
        )

    def _init_params(self, rng):
        kh, kw = self.kernel_size
        c = self.input_shape[2]
        self.params = {"W": _he_normal(rng, (kh, kw, c, self.depth_multiplier), kh * kw)}
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


class SeparableConv2D(Layer):
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

    def __init__(self, filters, kernel_size, stride=1, padding=0, depth_multiplier=1, use_bias=True, name=None):
        super().__init__(name)
        self.filters = shapes._positive_int(filters, "filters")
        self.kernel_size = shapes.as_pair(kernel_size, "kernel_size")
        self.stride = shapes._positive_int(stride, "stride")
        self.padding = shapes.resolve_padding(padding, self.kernel_size)
        self.depth_multiplier = shapes._positive_int(depth_multiplier, "depth_multiplier")
        self.use_bias = bool(use_bias)

    def compute_output_shape(self, input_shape):
        ho, wo, _ = shapes.depthwise_output_shape(
            input_shape, self.kernel_size, self.stride, self.padding, self.depth_multiplier
        )
        return (ho, wo, self.filters)

    def _init_params(self, rng):
        kh, kw = self.kernel_size
        cm = self.input_shape[2] * self.depth_multiplier
        self.params = {
            "dw_W": _he_normal(rng, (kh, kw, self.input_shape[2], self.depth_multiplier), kh * kw),
            "pw_W": _he_normal(rng, (1, 1, cm, self.filters), cm),
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
        y = _naive_out(x, (n, ho, wo, self.filters))
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


# --------------------------------------------------------------------------- dense
class Dense(Layer):
    """Fully connected layer: ``y = x @ W + b``.

    Parameters
    ----------
    units : int, output neurons
    use_bias : bool

    Shapes
    ------
    x : (N, in_units) -> y : (N, units);  W : (in_units, units),  b : (units,)
    MACs per example = in_units * units.

    Example
    -------
    >>> fc = Dense(10)
    >>> fc.build((128,))
    (10,)
    """

    kind = "dense"

    def __init__(self, units, use_bias=True, name=None):
        super().__init__(name)
        self.units = shapes._positive_int(units, "units")
        self.use_bias = bool(use_bias)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(
                f"Dense expects a flat input (in_units,), got shape {tuple(input_shape)}; put a Flatten() before it."
            )
        return shapes.dense_output_shape(input_shape, self.units)

    def _init_params(self, rng):
        fan_in = self.input_shape[0]
        self.params = {"W": _he_normal(rng, (fan_in, self.units), fan_in)}
        if self.use_bias:
            self.params["b"] = np.zeros(self.units, np.float32)

    def forward(self, x, training=False):
        x = self._check(x)
        y = x @ self.params["W"]
        if self.use_bias:
            y = y + self.params["b"]
        self._cache = x if training else None
        return y

    def backward(self, dy):
        x = self._cached()
        self.grads = {"W": x.T @ dy}
        if self.use_bias:
            self.grads["b"] = dy.sum(axis=0)
        return dy @ self.params["W"].T

    def forward_naive(self, x):
        x = self._check(x)
        W = self.params["W"]
        b = self.params.get("b")
        n, fan_in = x.shape
        y = _naive_out(x, (n, self.units))
        for ni in range(n):
            for u in range(self.units):
                acc = 0.0
                for k in range(fan_in):
                    acc = acc + x[ni, k] * W[k, u]
                if b is not None:
                    acc = acc + b[u]
                y[ni, u] = acc
        return y


# --------------------------------------------------------------------------- pooling
class _Pool2D(Layer):
    def __init__(self, pool_size, stride=None, padding=0, name=None):
        super().__init__(name)
        self.pool_size = shapes.as_pair(pool_size, "pool_size")
        if stride is None:
            if self.pool_size[0] != self.pool_size[1]:
                raise ValueError("stride=None needs a square pool_size; give the stride explicitly.")
            stride = self.pool_size[0]
        self.stride = shapes._positive_int(stride, "stride")
        self.padding = shapes.resolve_padding(padding, self.pool_size)

    def compute_output_shape(self, input_shape):
        return shapes.pool_output_shape(input_shape, self.pool_size, self.stride, self.padding)


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
        xp = _pad_naive(x, self.padding, value=-np.inf)
        kh, kw = self.pool_size
        s = self.stride
        n = x.shape[0]
        ho, wo, c = self.output_shape
        y = _naive_out(x, (n, ho, wo, c))
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
        xp = _pad_naive(x, self.padding)
        kh, kw = self.pool_size
        s = self.stride
        n = x.shape[0]
        ho, wo, c = self.output_shape
        y = _naive_out(x, (n, ho, wo, c))
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


# --------------------------------------------------------------------------- shape-only layers
class ReLU(Layer):
    """Rectified linear unit, ``y = max(x, 0)`` elementwise. Any shape in, same shape out.

    Cost: counted as 0 FLOPs, as fvcore, thop and torchinfo count it (see :mod:`efficientnn.cost`).
    """

    kind = "relu"

    def forward(self, x, training=False):
        x = self._check(x)
        self._cache = x > 0 if training else None
        return np.maximum(x, 0)

    def backward(self, dy):
        return dy * self._cached()

    def forward_naive(self, x):
        x = self._check(x)
        flat = x.reshape(-1)
        y = _naive_out(x, flat.shape)
        for k in range(flat.size):
            y[k] = flat[k] if flat[k] > 0 else 0.0
        return y.reshape(x.shape)


class Flatten(Layer):
    """Flatten each example to a vector, in NHWC (C-order) order: (N, H, W, C) -> (N, H*W*C)."""

    kind = "flatten"

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False):
        x = self._check(x)
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape((dy.shape[0],) + self.input_shape)
