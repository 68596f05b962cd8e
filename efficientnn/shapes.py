"""Output shapes of the layers the course uses.

Shapes are written as the lesson writes them, height x width x channels, and never include the
batch dimension: a 28x28 grey image is ``(28, 28, 1)``.

The one formula behind every spatial layer (convolution, depthwise convolution, pooling)::

    out = floor((n + 2 * padding - kernel) / stride) + 1

With no padding and stride 1 this is the lesson's ``(input - kernel) + 1``.

Example
-------
>>> conv_output_shape((25, 25, 9), kernel_size=7, filters=64)
(19, 19, 64)
"""
from __future__ import annotations

from .validation import positive_int

__all__ = [
    "conv_output_size",
    "resolve_padding",
    "conv_output_shape",
    "depthwise_output_shape",
    "pool_output_shape",
    "dense_output_shape",
    "as_pair",
    "as_shape",
]


def as_pair(value, what: str, allow_zero: bool = False) -> tuple[int, int]:
    """Read an int or an (h, w) pair as a pair of ints.

    Example
    -------
    >>> as_pair(3, "kernel_size")
    (3, 3)
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{what} must be one int or a pair (height, width), got {value!r}.")
        return (positive_int(value[0], what, allow_zero), positive_int(value[1], what, allow_zero))
    n = positive_int(value, what, allow_zero)
    return (n, n)


def as_shape(shape, what: str = "input_shape", ndim: int | None = None) -> tuple[int, ...]:
    """Read a shape such as ``(28, 28, 1)`` as a tuple of positive Python ints.

    Example
    -------
    >>> as_shape([28, 28, 1])
    (28, 28, 1)
    """
    if isinstance(shape, str) or not hasattr(shape, "__len__"):
        raise ValueError(f"{what} must be a tuple such as (28, 28, 1) (height, width, channels), got {shape!r}.")
    dims = tuple(positive_int(d, f"every entry of {what}") for d in shape)
    if ndim is not None and len(dims) != ndim:
        names = {3: "(height, width, channels)", 1: "(units,)"}.get(ndim, f"{ndim} numbers")
        raise ValueError(f"{what} must have {ndim} entries {names}, got {shape!r}.")
    return dims


def resolve_padding(padding, kernel_size) -> tuple[int, int]:
    """Padding in pixels per side, as ``(ph, pw)``.

    Parameters
    ----------
    padding : int, (int, int), "valid" or "same"
        "valid" is no padding. "same" keeps the size at stride 1 and is defined for odd kernels
        only, where it pads ``(k - 1) // 2`` on every side (an even kernel would need uneven
        padding, which this course does not use).
    kernel_size : int or (int, int)

    Example
    -------
    >>> resolve_padding("same", 3)
    (1, 1)
    """
    kh, kw = as_pair(kernel_size, "kernel_size")
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0)
        if mode == "same":
            if kh % 2 == 0 or kw % 2 == 0:
                raise ValueError(
                    f'padding="same" needs an odd kernel size, got {kh}x{kw}; use an int padding instead.'
                )
            return ((kh - 1) // 2, (kw - 1) // 2)
        raise ValueError(f'padding must be an int, "valid" or "same", got {padding!r}.')
    return as_pair(padding, "padding", allow_zero=True)


def conv_output_size(n, k, stride=1, padding=0) -> int:
    """Output length along one axis: ``floor((n + 2 * padding - k) / stride) + 1``.

    Parameters
    ----------
    n : int, input length (pixels)
    k : int, kernel length (pixels)
    stride : int, positive
    padding : int, pixels added on each side

    Example
    -------
    >>> conv_output_size(28, 3)
    26
    """
    n = positive_int(n, "the input size")
    k = positive_int(k, "the kernel size")
    stride = positive_int(stride, "stride")
    padding = positive_int(padding, "padding", allow_zero=True)
    if k > n + 2 * padding:
        raise ValueError(
            f"kernel of size {k} is larger than the input of size {n}"
            + (f" padded by {padding} on each side ({n + 2 * padding})" if padding else "")
            + "; the kernel must fit inside the (padded) input."
        )
    return (n + 2 * padding - k) // stride + 1


def _spatial(input_shape, kernel_size, stride, padding) -> tuple[int, int, int]:
    h, w, c = as_shape(input_shape, ndim=3)
    kh, kw = as_pair(kernel_size, "kernel_size")
    ph, pw = resolve_padding(padding, (kh, kw))
    stride = positive_int(stride, "stride")
    return conv_output_size(h, kh, stride, ph), conv_output_size(w, kw, stride, pw), c


def conv_output_shape(input_shape, kernel_size, filters=1, stride=1, padding=0) -> tuple[int, int, int]:
    """Output shape of a standard convolution.

    Parameters
    ----------
    input_shape : (H, W, C)
    kernel_size : int or (kh, kw); each filter is kh x kw x C
    filters : int, number of filters = output channels
    stride : int
    padding : int, (ph, pw), "valid" or "same"

    Returns
    -------
    (Ho, Wo, filters) with ``Ho = floor((H + 2 ph - kh) / stride) + 1`` (likewise Wo).

    Example
    -------
    >>> conv_output_shape((10, 10, 3), 3, filters=128)
    (8, 8, 128)
    """
    ho, wo, _ = _spatial(input_shape, kernel_size, stride, padding)
    return (ho, wo, positive_int(filters, "filters"))


def depthwise_output_shape(input_shape, kernel_size, stride=1, padding=0, depth_multiplier=1):
    """Output shape of a depthwise convolution: one kh x kw filter per input channel (times M).

    Returns ``(Ho, Wo, C * depth_multiplier)``; Ho, Wo as in :func:`conv_output_shape`.

    Example
    -------
    >>> depthwise_output_shape((56, 56, 32), 3, padding="same")
    (56, 56, 32)
    """
    ho, wo, c = _spatial(input_shape, kernel_size, stride, padding)
    return (ho, wo, c * positive_int(depth_multiplier, "depth_multiplier"))


def pool_output_shape(input_shape, pool_size, stride=None, padding=0) -> tuple[int, int, int]:
    """Output shape of max or average pooling; the channel count is unchanged.

    ``stride=None`` means stride = pool size (non-overlapping windows, as Keras does).

    Example
    -------
    >>> pool_output_shape((26, 26, 5), 2)
    (13, 13, 5)
    """
    ph, pw = as_pair(pool_size, "pool_size")
    if stride is None:
        if ph != pw:
            raise ValueError("stride=None needs a square pool_size; give the stride explicitly.")
        stride = ph
    return _spatial(input_shape, (ph, pw), stride, padding)


def dense_output_shape(input_shape, units) -> tuple[int]:
    """Output shape of a dense (fully connected) layer on a flat input ``(in_units,)``.

    Example
    -------
    >>> dense_output_shape((3380,), 128)
    (128,)
    """
    as_shape(input_shape, ndim=1)
    return (positive_int(units, "units"),)
