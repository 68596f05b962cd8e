"""The fully connected end of a network: Flatten, Dense, and the ReLU every kind is followed by.

Example
-------
>>> import numpy as np
>>> fc = Dense(10)
>>> fc.build((128,)), fc.macs(), fc.param_count()
((10,), 1280, 1290)
>>> Flatten().bind((2, 2, 3))
(12,)
"""
from __future__ import annotations

import numpy as np

from .. import cost, shapes
from ..validation import positive_int
from .base import Layer
from .windows import he_normal, naive_out

__all__ = ["Dense", "ReLU", "Flatten"]


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
    name_prefix = "fc"
    input_ndim = 1
    out_channels_attr = "units"
    out_channels_key = "W"

    def __init__(self, units, use_bias=True, name=None):
        super().__init__(name)
        self.units = positive_int(units, "units")
        self.use_bias = bool(use_bias)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(
                f"Dense expects a flat input (in_units,), got shape {tuple(input_shape)}; put a Flatten() before it."
            )
        return shapes.dense_output_shape(input_shape, self.units)

    def macs(self):
        return cost.dense_macs(self._bound_input()[0], self.units)

    def param_count(self):
        return cost.dense_params(self._bound_input()[0], self.units, self.use_bias)

    def describe(self):
        return f"a dense (fully connected) layer with {self.units} units and {self._bound_input()[0]} inputs"

    def brief(self):
        return f"{self.name}: dense, {self.units} units"

    def prune_inputs(self, axes, live):
        axes["W"][-2] = live
        return live

    def macs_per_weight(self):
        return 1

    def openvino(self, graph, x):
        matmul = graph.ops.matmul(x, graph.const(self.params["W"]), False, False)
        if not self.use_bias:
            return graph.named(matmul, self.name)
        # The CPU plugin fuses MatMul + Add into one FullyConnected node named after the Add,
        # so the Add carries the layer name.
        return graph.bias(graph.named(matmul, f"{self.name}/matmul"), self, self.name)

    def _init_params(self, rng):
        fan_in = self.input_shape[0]
        self.params = {"W": he_normal(rng, (fan_in, self.units), fan_in)}
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
        y = naive_out(x, (n, self.units))
        for ni in range(n):
            for u in range(self.units):
                acc = 0.0
                for k in range(fan_in):
                    acc = acc + x[ni, k] * W[k, u]
                if b is not None:
                    acc = acc + b[u]
                y[ni, u] = acc
        return y


class ReLU(Layer):
    """Rectified linear unit, ``y = max(x, 0)`` elementwise. Any shape in, same shape out.

    Cost: counted as 0 FLOPs, as fvcore, thop and torchinfo count it (see :mod:`efficientnn.cost`).
    """

    kind = "relu"

    def macs(self):
        return 0

    def param_count(self):
        return 0

    def brief(self):
        return "ReLU"

    def openvino(self, graph, x):
        return graph.named(graph.ops.relu(x), self.name)

    def forward(self, x, training=False):
        x = self._check(x)
        self._cache = x > 0 if training else None
        return np.maximum(x, 0)

    def backward(self, dy):
        return dy * self._cached()

    def forward_naive(self, x):
        x = self._check(x)
        flat = x.reshape(-1)
        y = naive_out(x, flat.shape)
        for k in range(flat.size):
            y[k] = flat[k] if flat[k] > 0 else 0.0
        return y.reshape(x.shape)


class Flatten(Layer):
    """Flatten each example to a vector, in NHWC (C-order) order: (N, H, W, C) -> (N, H*W*C)."""

    kind = "flatten"
    number_first_name = False

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def macs(self):
        return 0

    def param_count(self):
        return 0

    def prune_inputs(self, axes, live):
        # C-order flattening of (..., C): feature p * C + c reads channel c at position p.
        positions, c = int(np.prod(self.input_shape[:-1])), self.input_shape[-1]
        return (np.arange(positions)[:, None] * c + live[None, :]).ravel()

    def openvino(self, graph, x):
        if graph.nchw:
            # efficientnn flattens NHWC in C order: back to NHWC before the reshape.
            x = graph.named(graph.ops.transpose(x, graph.order([0, 2, 3, 1])), f"{self.name}/to_nhwc")
            graph.nchw = False
        return graph.named(graph.ops.reshape(x, graph.order([0, -1]), True), self.name)

    def forward(self, x, training=False):
        x = self._check(x)
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape((dy.shape[0],) + self.input_shape)
