"""Random but valid layer configurations shared by the layer and cost tests."""
import numpy as np

from efficientnn.layers import (AvgPool2D, Conv2D, Dense, DepthwiseConv2D, MaxPool2D, ReLU,
                                SeparableConv2D)

# kind -> (rng, k, stride, pad, c, h, w) -> (layer, input shape); each draws its own extras from rng.
_MAKERS = {
    "conv": lambda rng, k, stride, pad, c, h, w: (
        Conv2D(int(rng.integers(1, 5)), (k, int(rng.integers(1, 4))), stride, pad), (h, w + 3, c)),
    "depthwise": lambda rng, k, stride, pad, c, h, w: (
        DepthwiseConv2D(k, stride, pad, depth_multiplier=int(rng.integers(1, 3))), (h, w, c)),
    "separable": lambda rng, k, stride, pad, c, h, w: (
        SeparableConv2D(int(rng.integers(1, 5)), k, stride, pad, depth_multiplier=int(rng.integers(1, 3))), (h, w, c)),
    "dense": lambda rng, k, stride, pad, c, h, w: (Dense(int(rng.integers(1, 8))), (int(rng.integers(1, 20)),)),
    "maxpool": lambda rng, k, stride, pad, c, h, w: (
        MaxPool2D(max(k, 2), stride=stride, padding=min(pad, max(k, 2) // 2)), (h + 2, w + 2, c)),
    "avgpool": lambda rng, k, stride, pad, c, h, w: (
        AvgPool2D(max(k, 2), stride=stride, padding=min(pad, max(k, 2) // 2)), (h + 2, w + 2, c)),
    "relu": lambda rng, k, stride, pad, c, h, w: (ReLU(), (h, w, c)),
}
KINDS = list(_MAKERS)


def random_layer(kind, rng, max_size=9, max_channels=4):
    """A layer of ``kind`` with random kernel, stride, padding (and depth multiplier), plus an
    input shape it fits. Sizes stay tiny so the naive loops run in milliseconds."""
    k = int(rng.integers(1, 4))
    stride = int(rng.integers(1, 3))
    pad = int(rng.integers(0, 2))
    c = int(rng.integers(1, max_channels + 1))
    h = int(rng.integers(k, max_size + 1))
    w = int(rng.integers(k, max_size + 1))
    if kind not in _MAKERS:
        raise ValueError(kind)
    return _MAKERS[kind](rng, k, stride, pad, c, h, w)


def built(kind, seed):
    rng = np.random.default_rng(seed)
    layer, shape = random_layer(kind, rng)
    layer.build(shape, rng)
    for key in layer.params:  # nonzero biases so a missing bias add would show
        layer.params[key] = rng.standard_normal(layer.params[key].shape).astype(np.float32)
    return layer, shape, rng


def numerical_gradient(f, array, eps):
    """Central-difference gradient of the scalar ``f()`` with respect to ``array``, nudged in place.

    ``array`` : any shape, float64 (each entry is moved by ``eps`` and put back); returns a float64
    array of the same shape.
    """
    grad = np.zeros(array.shape, dtype=np.float64)
    it = np.nditer(array, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        keep = array[idx]
        array[idx] = keep + eps
        up = f()
        array[idx] = keep - eps
        down = f()
        array[idx] = keep
        grad[idx] = (up - down) / (2 * eps)
    return grad
