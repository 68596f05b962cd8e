"""Integer layers: products of quantized operands accumulated in int32, rescaled once to float32.

:func:`int_matmul` is the one integer kernel (``acc = (qx - z_x) @ (qw - z_w)``, checked against
the int32 range with :func:`accumulator_bound`); :func:`quantized_dense` and
:func:`quantized_conv2d` (NHWC, im2col windows of the *quantized* input) build on it, and
:func:`matmul_error_bound` / :func:`conv2d_error_bound` bound their distance from the float layer.

Example
-------
>>> import numpy as np
>>> x, w = np.array([[1.0, 2.0]]), np.array([[0.5], [-0.25]])
>>> x_p, w_p = calibrate(x, Asymmetric(8)), calibrate(w, Symmetric(8))
>>> y = quantized_dense(x, w, None, x_p, w_p)
>>> bool(np.all(np.abs(y - x @ w) <= matmul_error_bound(x, w, x_p, w_p)))
True
"""
from __future__ import annotations

import numpy as np

from ..layers import im2col
from ..validation import positive_int
from .schemes import QuantParams, _check_params, _float_array, error_bound, quantize
from .schemes import Asymmetric, Symmetric, calibrate, params_from_range  # noqa: F401 (the examples use them)

__all__ = [
    "int_matmul",
    "accumulator_bound",
    "quantized_dense",
    "quantized_conv2d",
    "matmul_error_bound",
    "conv2d_error_bound",
]

#: Largest accumulator an int32 holds.
INT32_MAX = 2**31 - 1
#: Products summed in float64 stay exact while every partial sum is below 2^53.
_EXACT_FLOAT64 = 2**53


# --------------------------------------------------------------------------- integer arithmetic
def accumulator_bound(k, x_params, w_params):
    """Worst-case ``|accumulator|`` of ``k`` products ``(q_x - z_x)(q_w - z_w)``: ``k * max|q_x - z_x| * max|q_w - z_w|``.

    int32 holds it while it is at most ``2^31 - 1``: int8 x uint8 products (at most 127 * 255) fit
    for ``k`` up to 66,311 terms.

    Example
    -------
    >>> x_p, w_p = params_from_range(0.0, 1.0, Asymmetric(8)), params_from_range(-1.0, 1.0, Symmetric(8))
    >>> accumulator_bound(2880, x_p, w_p), accumulator_bound(2880, x_p, w_p) <= INT32_MAX
    (93268800, True)
    """
    def largest(p):
        z = p.zero_point
        return int(np.max(np.maximum(np.abs(p.qmax - z), np.abs(p.qmin - z))))

    return int(k) * largest(x_params) * largest(w_params)


def int_matmul(qx, x_params, qw, w_params):
    """Integer matrix product accumulated in int32: ``acc[m, f] = sum_k (qx[m, k] - z_x)(qw[k, f] - z_w[f])``.

    Parameters
    ----------
    qx : (M, K) integers, per-tensor ``x_params``
    qw : (K, F) integers, ``w_params`` per tensor or per output channel (axis -1 or 1)

    Returns
    -------
    acc : (M, F) int32. The real product is about ``acc * x_params.scale * w_params.scale``.

    Raises
    ------
    OverflowError
        An accumulator left the int32 range (the message gives the value and the worst case).

    Example
    -------
    >>> x_p, w_p = params_from_range(0.0, 2.55, Asymmetric(8)), params_from_range(-1.27, 1.27, Symmetric(8))
    >>> int_matmul(np.array([[255, 10]], np.uint8), x_p, np.array([[127], [-3]], np.int8), w_p)
    array([[32355]], dtype=int32)
    """
    qx, qw = np.asarray(qx), np.asarray(qw)
    for q, what in ((qx, "qx"), (qw, "qw")):
        if q.ndim != 2 or q.dtype.kind not in "iu":
            raise ValueError(f"{what} must be a 2-D array of integers, got dtype {q.dtype} and shape {q.shape}.")
    if qx.shape[1] != qw.shape[0]:
        raise ValueError(f"qx (M, K) = {qx.shape} and qw (K, F) = {qw.shape} disagree on K.")
    if x_params.per_channel:
        raise ValueError("int_matmul needs per-tensor x_params: one scale for the whole input.")
    _check_params(w_params, qw, "qw")
    if w_params.per_channel and w_params.axis != 1:
        raise ValueError(f"per-channel w_params must run along the output axis (1 or -1), not {w_params.axis}.")
    worst = accumulator_bound(qx.shape[1], x_params, w_params)
    if worst >= _EXACT_FLOAT64:
        raise OverflowError(f"K = {qx.shape[1]} products could reach {worst:,}, beyond any 32-bit accumulator.")
    _, zw = w_params.broadcast(2)
    # Integer operands and every partial sum below 2^53 make the float64 GEMM exact (and BLAS-fast).
    acc = (qx.astype(np.float64) - float(x_params.zero_point)) @ (qw.astype(np.float64) - zw)
    if acc.size and np.max(np.abs(acc)) > INT32_MAX:
        raise OverflowError(
            f"an int32 accumulator overflowed: |acc| reached {int(np.max(np.abs(acc))):,} > 2^31 - 1 "
            f"(worst case for K = {qx.shape[1]}: {worst:,})."
        )
    return acc.astype(np.int32)


def _rescale(acc, x_params, w_params, b):
    """Float32 output of an int32 accumulator: ``acc * s_x * s_w (+ b)``."""
    # Per-channel scales run along the output axis, the accumulator's last.
    y = acc * (float(x_params.scale) * w_params.scale)
    if b is not None:
        y = y + np.asarray(b, np.float64)
    return y.astype(np.float32)


def _check_weights(w, ndim, what):
    w = _float_array(w, what)
    if w.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} axes, got shape {w.shape}.")
    return w


def quantized_dense(x, w, b, x_params, w_params):
    """Dense layer in integers: quantize ``x`` and ``w``, :func:`int_matmul`, rescale, add the float bias.

    Parameters
    ----------
    x : (N, K) float; w : (K, F) float; b : (F,) float or None
    x_params : per-tensor QuantParams of the input (from calibration data)
    w_params : QuantParams of ``w``, per tensor or per output channel (``axis=-1``)

    Returns
    -------
    y : (N, F) float32, within :func:`matmul_error_bound` of ``x @ w + b``

    Example
    -------
    >>> x, w = np.array([[0.5, 1.0]]), np.array([[1.0], [0.25]])
    >>> x_p, w_p = calibrate(x, Asymmetric(8)), calibrate(w, Symmetric(8), axis=-1)
    >>> quantized_dense(x, w, None, x_p, w_p).round(4), x @ w
    (array([[0.7539]], dtype=float32), array([[0.75]]))
    """
    x, w = _check_weights(x, 2, "x"), _check_weights(w, 2, "w")
    acc = int_matmul(quantize(x, x_params), x_params, quantize(w, w_params), _as_output_axis(w_params, 2))
    return _rescale(acc, x_params, w_params, b)


def _as_output_axis(params, ndim):
    """Per-channel parameters along the last axis of a ``ndim``-axis weight, seen as a (K, F) matrix."""
    if params.axis is None:
        return params
    if params.axis != ndim - 1:
        raise ValueError(f"per-channel weight parameters must run along the last (output) axis, not {params.axis}.")
    return QuantParams(params.scale, params.zero_point, params.scheme, 1)


def _windows(x, kernel_size, stride, padding, pad_value):
    """im2col windows of ``x`` as an (N*Ho*Wo, kh*kw*C) matrix, and (N, Ho, Wo)."""
    cols = im2col(x, kernel_size, stride, padding, pad_value=pad_value)
    return cols.reshape(-1, int(np.prod(cols.shape[3:]))), cols.shape[:3]


def _conv_args(x, w, stride, padding):
    x, w = _check_weights(x, 4, "x"), _check_weights(w, 4, "w")
    if x.shape[3] != w.shape[2]:
        raise ValueError(f"x has {x.shape[3]} channels but w (kh, kw, C, F) = {w.shape} expects {w.shape[2]}.")
    stride = positive_int(stride, "stride")
    padding = (padding, padding) if isinstance(padding, (int, np.integer)) else tuple(padding)
    if len(padding) != 2 or min(padding) < 0:
        raise ValueError(f"padding must be an int or (ph, pw) >= 0, got {padding!r}.")
    if x.shape[1] + 2 * padding[0] < w.shape[0] or x.shape[2] + 2 * padding[1] < w.shape[1]:
        raise ValueError(f"the {w.shape[0]}x{w.shape[1]} kernel does not fit the padded {x.shape[1]}x{x.shape[2]} input.")
    return x, w, stride, padding


def quantized_conv2d(x, w, b, x_params, w_params, stride=1, padding=0):
    """2-D convolution in integers (NHWC), accumulated in int32, then rescaled to float32.

    The windows are gathered with :func:`efficientnn.layers.im2col` from the *quantized* input;
    padded cells hold the zero point, the integer that stands for 0.0, so padding adds nothing.

    Parameters
    ----------
    x : (N, H, W, C) float; w : (kh, kw, C, F) float; b : (F,) float or None
    x_params : per-tensor QuantParams of the input
    w_params : QuantParams of ``w``, per tensor or per output channel (``axis=-1``)
    stride : int; padding : int or (ph, pw)

    Returns
    -------
    y : (N, Ho, Wo, F) float32, within :func:`conv2d_error_bound` of the float convolution

    Example
    -------
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1) / 15
    >>> w = np.ones((3, 3, 1, 2), np.float32) * np.array([1.0, -0.5], np.float32)
    >>> y = quantized_conv2d(x, w, None, calibrate(x, Asymmetric(8)), calibrate(w, Symmetric(8), axis=-1))
    >>> y.shape, y[0, 0, 0].round(2)
    ((1, 2, 2, 2), array([ 3. , -1.5], dtype=float32))
    """
    x, w, stride, padding = _conv_args(x, w, stride, padding)
    qx = quantize(x, x_params)
    rows, (n, ho, wo) = _windows(qx, w.shape[:2], stride, padding, int(x_params.zero_point))
    qw = quantize(w, w_params).reshape(-1, w.shape[3])
    acc = int_matmul(rows, x_params, qw, _as_output_axis(w_params, 4))
    return _rescale(acc, x_params, w_params, b).reshape(n, ho, wo, w.shape[3])


def matmul_error_bound(x, w, x_params, w_params):
    """Largest possible ``|quantized_dense(x, w) - x @ w|``, output by output.

    With ``x_hat = x + e_x`` and ``w_hat = w + e_w`` (``|e| <=`` :func:`error_bound`)::

        |x_hat @ w_hat - x @ w| <= |x| @ e_w + e_x @ |w| + e_x @ e_w

    (plus the float32 rounding of the result).

    Returns
    -------
    bound : (N, F) float64

    Example
    -------
    >>> x, w = np.array([[0.5, 1.0]]), np.array([[1.0], [-0.5]])
    >>> x_p, w_p = calibrate(x, Asymmetric(8)), calibrate(w, Symmetric(8))
    >>> bool(abs(quantized_dense(x, w, None, x_p, w_p) - x @ w)[0, 0] <= matmul_error_bound(x, w, x_p, w_p)[0, 0])
    True
    """
    x, w = _check_weights(x, 2, "x"), _check_weights(w, 2, "w")
    return _product_bound(x, error_bound(x, x_params), w, error_bound(w, w_params))


def _product_bound(x, ex, w, ew):
    ax, aw = np.abs(x.astype(np.float64)), np.abs(w.astype(np.float64))
    bound = ax @ ew + ex @ aw + ex @ ew
    return bound + (ax @ aw) * 2.0**-22  # float32 rounding of the rescaled output


def conv2d_error_bound(x, w, x_params, w_params, stride=1, padding=0):
    """Largest possible ``|quantized_conv2d(...) - conv2d(...)|``, output by output: the bound of
    :func:`matmul_error_bound` on the im2col windows (padded cells are exact zeros).

    Returns
    -------
    bound : (N, Ho, Wo, F) float64

    Example
    -------
    >>> x = np.ones((1, 3, 3, 1))
    >>> w = np.full((3, 3, 1, 1), 0.3)
    >>> float(conv2d_error_bound(x, w, calibrate(x, Asymmetric(8)), calibrate(w, Symmetric(8)))[0, 0, 0, 0]) < 0.02
    True
    """
    x, w, stride, padding = _conv_args(x, w, stride, padding)
    rows, (n, ho, wo) = _windows(x.astype(np.float64), w.shape[:2], stride, padding, 0.0)
    ex, _ = _windows(error_bound(x, x_params), w.shape[:2], stride, padding, 0.0)
    w2 = w.reshape(-1, w.shape[3])
    ew = error_bound(w, w_params).reshape(w2.shape)
    return _product_bound(rows, ex, w2, ew).reshape(n, ho, wo, w.shape[3])
