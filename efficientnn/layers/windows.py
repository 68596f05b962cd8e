"""Window helpers of the spatial layers: im2col, its adjoint col2im, and the naive loops' tools.

The fast forwards gather every kh x kw window of an NHWC batch into an ``(N, Ho, Wo, kh, kw, C)``
array (im2col) and make one matrix product, so they run at numpy GEMM speed.

Example
-------
>>> import numpy as np
>>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
>>> cols = im2col(x, (3, 3))
>>> cols.shape, float(cols[0, 0, 0].sum())
((1, 2, 2, 3, 3, 1), 45.0)
>>> col2im(np.ones_like(cols), x.shape)[0, :, :, 0].astype(int).tolist()[1]
[2, 4, 4, 2]
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["im2col", "col2im"]


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
IM2COL_BLOCK_BYTES = 2 * 1024 * 1024


def gemm_bias(cols, w2, b):
    """(N, Ho, Wo, kh, kw, C) windows times (kh*kw*C, F) weights (+ bias) -> (N, Ho, Wo, F)."""
    n, ho, wo = cols.shape[:3]
    y = cols.reshape(n * ho * wo, -1) @ w2
    if b is not None:
        y += b
    return y.reshape(n, ho, wo, w2.shape[1])


def he_normal(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def naive_out(x, shape):
    """Output array for a naive forward: object dtype when counting, float32 otherwise."""
    return np.zeros(shape, dtype=object if x.dtype == object else np.float32)


def pad_naive(x, padding, value=0.0):
    ph, pw = padding
    if not (ph or pw):
        return x
    return np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=value)
