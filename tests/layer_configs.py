"""Random but valid layer configurations shared by the layer and cost tests."""
import numpy as np

from efficientnn.layers import (AvgPool2D, Conv2D, Dense, DepthwiseConv2D, MaxPool2D, ReLU,
                                SeparableConv2D)

KINDS = ["conv", "depthwise", "separable", "dense", "maxpool", "avgpool", "relu"]


def random_layer(kind, rng, max_size=9, max_channels=4):
    """A layer of ``kind`` with random kernel, stride, padding (and depth multiplier), plus an
    input shape it fits. Sizes stay tiny so the naive loops run in milliseconds."""
    k = int(rng.integers(1, 4))
    stride = int(rng.integers(1, 3))
    pad = int(rng.integers(0, 2))
    c = int(rng.integers(1, max_channels + 1))
    h = int(rng.integers(k, max_size + 1))
    w = int(rng.integers(k, max_size + 1))
    if kind == "conv":
        return Conv2D(int(rng.integers(1, 5)), (k, int(rng.integers(1, 4))), stride, pad), (h, w + 3, c)
    if kind == "depthwise":
        return DepthwiseConv2D(k, stride, pad, depth_multiplier=int(rng.integers(1, 3))), (h, w, c)
    if kind == "separable":
        return SeparableConv2D(int(rng.integers(1, 5)), k, stride, pad,
                               depth_multiplier=int(rng.integers(1, 3))), (h, w, c)
    if kind == "dense":
        return Dense(int(rng.integers(1, 8))), (int(rng.integers(1, 20)),)
    if kind == "maxpool":
        return MaxPool2D(max(k, 2), stride=stride, padding=min(pad, max(k, 2) // 2)), (h + 2, w + 2, c)
    if kind == "avgpool":
        return AvgPool2D(max(k, 2), stride=stride, padding=min(pad, max(k, 2) // 2)), (h + 2, w + 2, c)
    if kind == "relu":
        return ReLU(), (h, w, c)
    raise ValueError(kind)


def built(kind, seed):
    rng = np.random.default_rng(seed)
    layer, shape = random_layer(kind, rng)
    layer.build(shape, rng)
    for key in layer.params:  # nonzero biases so a missing bias add would show
        layer.params[key] = rng.standard_normal(layer.params[key].shape).astype(np.float32)
    return layer, shape, rng
