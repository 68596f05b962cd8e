"""Quantization schemes: a value range as a scale and a zero point, and the round trip through integers.

A tensor ``x`` is stored as integers ``q = clip(round(x / s) + z, qmin, qmax)`` and read back as
``x_hat = (q - z) * s``. :class:`Symmetric` (weights; int8: -127..127, ``z = 0``) and
:class:`Asymmetric` (activations; uint8: 0..255, the range widened to hold 0) turn a range
``[lo, hi]`` into ``(s, z)``; :func:`calibrate` takes the range from the tensor itself (per tensor
or per output channel), :func:`params_from_range` from a range known beforehand (calibration
activations). :func:`error_bound` is how far :func:`fake_quantize` can move each value.

Example
-------
>>> import numpy as np
>>> p = calibrate(np.array([-0.5, 1.27]), Symmetric(8))
>>> float(p.scale), quantize(np.array([-0.5, 1.27]), p)
(0.01, array([-50, 127], dtype=int8))
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Symmetric",
    "Asymmetric",
    "QuantParams",
    "calibrate",
    "params_from_range",
    "quantize",
    "dequantize",
    "fake_quantize",
    "error_bound",
]


# --------------------------------------------------------------------------- schemes
class _Scheme:
    """Integer range and the rule turning a value range into (scale, zero point)."""

    def __init__(self, bits=8):
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 2 <= bits <= 16:
            raise ValueError(f"bits must be an int from 2 to 16, got {bits!r}.")
        self.bits = int(bits)

    def scale_zero_point(self, lo, hi):
        """``(scale, zero_point)`` arrays for value ranges ``lo <= hi`` (arrays of one shape)."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(bits={self.bits})"

    def __eq__(self, other):
        return type(self) is type(other) and self.bits == other.bits

    def __hash__(self):
        return hash((type(self).__name__, self.bits))


class Symmetric(_Scheme):
    """Signed integers ``-(2^(b-1) - 1) .. 2^(b-1) - 1``, zero point 0, ``s = max|x| / qmax``.

    The most negative code (-128 for int8) is left unused so that the range is symmetric and
    ``-x`` quantizes to ``-q``.

    Example
    -------
    >>> s = Symmetric(8)
    >>> s.qmin, s.qmax
    (-127, 127)
    """

    @property
    def qmin(self):
        return -(2 ** (self.bits - 1) - 1)

    @property
    def qmax(self):
        return 2 ** (self.bits - 1) - 1

    def scale_zero_point(self, lo, hi):
        largest = np.maximum(np.abs(lo), np.abs(hi))
        return largest / self.qmax, np.zeros(np.shape(largest), np.int64)


class Asymmetric(_Scheme):
    """Unsigned integers ``0 .. 2^b - 1``; the range widened to hold 0; ``s = (hi - lo) / qmax``,
    ``z = round(-lo / s)``.

    Example
    -------
    >>> a = Asymmetric(8)
    >>> a.qmin, a.qmax
    (0, 255)
    >>> scale, zero_point = a.scale_zero_point(np.array(-1.0), np.array(4.1))
    >>> round(float(scale), 6), int(zero_point)
    (0.02, 50)
    """

    @property
    def qmin(self):
        return 0

    @property
    def qmax(self):
        return 2**self.bits - 1

    def scale_zero_point(self, lo, hi):
        lo, hi = np.minimum(lo, 0.0), np.maximum(hi, 0.0)
        scale = (hi - lo) / (self.qmax - self.qmin)
        safe = np.where(scale > 0, scale, 1.0)
        zero_point = np.clip(np.rint(self.qmin - lo / safe), self.qmin, self.qmax).astype(np.int64)
        return scale, zero_point


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True, eq=False)
class QuantParams:
    """Scale(s) and zero point(s) of one quantized tensor.

    Attributes
    ----------
    scale : float64 array, shape () per tensor or (C,) per channel; value units per integer step
    zero_point : int64 array, same shape as ``scale``; the integer that stands for 0.0
    scheme : :class:`Symmetric` or :class:`Asymmetric` (bits, integer range)
    axis : None (per tensor) or int, the tensor axis ``scale`` runs along (per channel)
    """

    scale: np.ndarray
    zero_point: np.ndarray
    scheme: _Scheme
    axis: int | None = None

    @property
    def bits(self):
        return self.scheme.bits

    @property
    def qmin(self):
        return self.scheme.qmin

    @property
    def qmax(self):
        return self.scheme.qmax

    @property
    def per_channel(self):
        return self.axis is not None

    @property
    def dtype(self):
        """The smallest numpy integer type holding ``qmin..qmax`` (int8 for Symmetric(8), uint8 for Asymmetric(8))."""
        for dtype in (np.int8, np.uint8, np.int16, np.uint16, np.int32):
            info = np.iinfo(dtype)
            if info.min <= self.qmin and self.qmax <= info.max:
                return np.dtype(dtype)
        raise AssertionError("bits are at most 16")  # guarded by _Scheme

    def broadcast(self, ndim):
        """``(scale, zero_point)`` shaped to broadcast against a tensor of ``ndim`` axes."""
        if self.axis is None:
            return self.scale, self.zero_point
        shape = [1] * ndim
        shape[self.axis] = self.scale.size
        return self.scale.reshape(shape), self.zero_point.reshape(shape)

    def __repr__(self):
        where = "per tensor" if self.axis is None else f"per channel (axis {self.axis}, {self.scale.size} channels)"
        return f"QuantParams({self.scheme!r}, {where})"


def _float_array(x, what="x"):
    try:
        x = np.asarray(x)
    except Exception as err:
        raise ValueError(f"{what} must be an array of numbers, got {type(x).__name__}.") from err
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{what} must hold real numbers, got an array of dtype {x.dtype}.")
    if x.size == 0:
        raise ValueError(f"{what} is empty (shape {x.shape}); there is nothing to quantize.")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise ValueError(f"{what} holds nan or inf, which no scale can represent.")
    return x


def _check_scheme(scheme):
    if not isinstance(scheme, _Scheme):
        raise ValueError(f"scheme must be Symmetric(bits) or Asymmetric(bits), got {scheme!r}.")
    return scheme


def _channel_axis(axis, ndim, what="x"):
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(f"axis must be None (per tensor) or an axis of {what} (which has {ndim}), got {axis!r}.")
    return int(axis) % ndim


def calibrate(x, scheme, axis=None):
    """Scale and zero point for ``x`` from its range: the weights themselves, or calibration activations.

    Parameters
    ----------
    x : array of any shape, float; weights ``W : (kh, kw, C, F)`` or ``(inputs, units)``, or a batch
        of activations ``(N, H, W, C)`` seen on calibration data
    scheme : :class:`Symmetric` or :class:`Asymmetric`
    axis : None for one scale for the whole tensor (per tensor), or the axis that keeps its own
        scale (per channel: ``-1``, the output channel of efficientnn weights); the range is then
        taken over every other axis

    Returns
    -------
    QuantParams; ``scale`` has shape () or ``(x.shape[axis],)``. An all-zero tensor (or channel)
    gets scale 1.0: every value is 0 and quantizes to the zero point exactly.

    Example
    -------
    >>> w = np.array([[1.0, -0.254], [-2.54, 0.1]])
    >>> calibrate(w, Symmetric(8), axis=-1).scale
    array([0.02 , 0.002])
    """
    x = _float_array(x)
    scheme = _check_scheme(scheme)
    axis = _channel_axis(axis, x.ndim)
    over = None if axis is None else tuple(i for i in range(x.ndim) if i != axis)
    lo = np.asarray(x.min(axis=over), np.float64)
    hi = np.asarray(x.max(axis=over), np.float64)
    return params_from_range(lo, hi, scheme, axis)


def params_from_range(lo, hi, scheme, axis=None):
    """QuantParams for values known to lie in ``[lo, hi]`` (scalars, or one pair per channel).

    Example
    -------
    >>> p = params_from_range(0.0, 2.55, Asymmetric(8))
    >>> round(float(p.scale), 6), int(p.zero_point)
    (0.01, 0)
    """
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    if lo.shape != hi.shape or np.any(lo > hi) or not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError(f"expected finite ranges lo <= hi of one shape, got lo={lo!r}, hi={hi!r}.")
    if axis is None and lo.ndim != 0:
        raise ValueError(f"per-tensor parameters need scalar lo and hi, got shape {lo.shape}; give the axis.")
    scale, zero_point = _check_scheme(scheme).scale_zero_point(lo, hi)
    scale = np.where(scale > 0, scale, 1.0)
    return QuantParams(np.asarray(scale, np.float64), np.asarray(zero_point, np.int64), scheme, axis)


def _check_params(params, x, what="x"):
    if not isinstance(params, QuantParams):
        raise ValueError(f"params must be QuantParams (from calibrate), got {type(params).__name__}.")
    if params.axis is not None:
        if params.axis >= x.ndim or x.shape[params.axis] != params.scale.size:
            raise ValueError(
                f"{what} of shape {x.shape} does not match per-channel parameters for {params.scale.size} "
                f"channels along axis {params.axis}."
            )
    return params


# --------------------------------------------------------------------------- quantize / dequantize
def quantize(x, params):
    """Integers for ``x``: ``clip(round(x / scale) + zero_point, qmin, qmax)``.

    ``round`` is round-half-to-even (``np.rint``); values outside the calibrated range are clipped
    to ``qmin`` or ``qmax``.

    Parameters
    ----------
    x : float array, shape matching ``params`` (per channel: ``x.shape[axis] == channels``)
    params : QuantParams

    Returns
    -------
    q : integer array shaped like ``x``, of ``params.dtype`` (int8 for Symmetric(8), uint8 for
        Asymmetric(8))

    Example
    -------
    >>> p = params_from_range(-1.0, 1.0, Asymmetric(8))
    >>> quantize(np.array([-1.0, 0.0, 0.5, 7.0]), p)
    array([  0, 128, 192, 255], dtype=uint8)
    """
    x = _float_array(x)
    scale, zero_point = _check_params(params, x).broadcast(x.ndim)
    q = np.rint(x / scale) + zero_point
    return np.clip(q, params.qmin, params.qmax).astype(params.dtype)


def dequantize(q, params):
    """Real values of integers ``q``: ``(q - zero_point) * scale``, as float32.

    Example
    -------
    >>> p = params_from_range(-1.0, 1.0, Asymmetric(8))
    >>> dequantize(np.array([0, 128, 255]), p).round(4)
    array([-1.0039,  0.    ,  0.9961], dtype=float32)
    """
    q = np.asarray(q)
    if q.dtype.kind not in "iu":
        raise ValueError(f"q must hold integers (from quantize), got an array of dtype {q.dtype}.")
    scale, zero_point = _check_params(params, q, "q").broadcast(q.ndim)
    return ((q.astype(np.int64) - zero_point) * scale).astype(np.float32)


def fake_quantize(x, params):
    """``dequantize(quantize(x))``: float32 values carrying the quantization error (fake quantization).

    Example
    -------
    >>> fake_quantize(np.array([0.123]), params_from_range(0.0, 2.55, Asymmetric(8)))
    array([0.12], dtype=float32)
    """
    return dequantize(quantize(x, params), params)


def error_bound(x, params):
    """Largest possible ``|fake_quantize(x) - x|``, element by element: ``scale / 2`` plus how far the
    value lies outside the representable range (what clipping cuts off).

    Example
    -------
    >>> p = params_from_range(-1.0, 1.0, Symmetric(8))
    >>> error_bound(np.array([0.3, 1.5]), p).round(4)
    array([0.0039, 0.5039])
    """
    x = _float_array(x).astype(np.float64)
    scale, zero_point = _check_params(params, x).broadcast(x.ndim)
    lowest, highest = (params.qmin - zero_point) * scale, (params.qmax - zero_point) * scale
    outside = np.maximum(0.0, np.maximum(x - highest, lowest - x))
    # float32 storage of the dequantized value adds a relative error of 2^-24.
    return scale / 2 + outside + np.abs(x) * 2.0**-23
