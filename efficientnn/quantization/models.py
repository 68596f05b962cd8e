"""A trained model after post-training quantization (PTQ), and what its weights take to store.

:class:`QuantizedModel` runs an efficientnn ``Sequential`` with its conv and dense layers in
integers (:mod:`efficientnn.quantization.integer`): weights quantized once, each layer's input
quantized with the range :func:`activation_ranges` saw on calibration data; no retraining.
:func:`weight_bytes` counts the bytes of a weight array in float32 or quantized.

Example
-------
>>> import numpy as np
>>> w = np.ones((3, 3, 16, 32), np.float32)
>>> weight_bytes(w), weight_bytes(w, calibrate(w, Symmetric(8)))   # 4608 values: 4 bytes, or 1 + one scale
(18432, 4612)
"""
from __future__ import annotations

import math

import numpy as np

from ..layers import Conv2D, Dense
from .integer import quantized_conv2d, quantized_dense
from .schemes import Asymmetric, Symmetric, _check_scheme, calibrate, params_from_range

__all__ = ["weight_bytes", "activation_ranges", "QuantizedModel"]

_FLOAT_BYTES = 4


# --------------------------------------------------------------------------- storage
def weight_bytes(w, params=None):
    """Bytes to store the array ``w``: 4 a value as float32; with ``params``, ``bits / 8`` a value
    (rounded up to whole bytes for the array) plus 4 bytes for each scale and, when the scheme is
    asymmetric, ``ceil(bits / 8)`` for each zero point.

    Example
    -------
    >>> w = np.zeros((2880, 128), np.float32)
    >>> weight_bytes(w), weight_bytes(w, calibrate(w, Symmetric(8), axis=-1))
    (1474560, 369152)
    """
    w = np.asarray(w)
    if params is None:
        return int(w.size) * _FLOAT_BYTES
    values = math.ceil(w.size * params.bits / 8)
    zero_points = params.zero_point.size * math.ceil(params.bits / 8) if isinstance(params.scheme, Asymmetric) else 0
    return values + params.scale.size * _FLOAT_BYTES + zero_points


# --------------------------------------------------------------------------- post-training quantization
def _integer_dense(layer, x, x_params, w_params):
    return quantized_dense(x, layer.params["W"], layer.params.get("b"), x_params, w_params)


def _integer_conv(layer, x, x_params, w_params):
    return quantized_conv2d(x, layer.params["W"], layer.params.get("b"), x_params, w_params,
                            layer.stride, layer.padding)


#: Layer classes run in integers, and how. Every other layer (ReLU, pooling, flatten) runs in float.
_INTEGER_KERNELS = {Dense: _integer_dense, Conv2D: _integer_conv}


def _quantizable(model):
    return [layer for layer in model.layers if type(layer) in _INTEGER_KERNELS]


def activation_ranges(model, x):
    """``{layer name: (lo, hi)}``: the range of the input of each conv and dense layer on calibration data ``x``.

    Parameters
    ----------
    model : efficientnn Sequential (float, trained)
    x : (N, *model.input_shape), a few hundred typical inputs (calibration set)

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> ranges = activation_ranges(base_cnn(), np.linspace(0, 1, 784, dtype=np.float32).reshape(1, 28, 28, 1))
    >>> sorted(ranges), ranges["conv1"]
    (['conv1', 'conv2', 'fc1', 'fc2'], (0.0, 1.0))
    """
    x = model._check_input(x)
    wanted = {layer.name for layer in _quantizable(model)}
    lo, hi = {}, {}
    for start in range(0, len(x), 256):
        a = x[start:start + 256]
        for layer in model.layers:
            if layer.name in wanted:
                lo[layer.name] = min(lo.get(layer.name, np.inf), float(a.min()))
                hi[layer.name] = max(hi.get(layer.name, -np.inf), float(a.max()))
            a = layer.forward(a)
    return {name: (lo[name], hi[name]) for name in lo}


class QuantizedModel:
    """A trained Sequential after post-training quantization: conv and dense layers in integers.

    Weights are quantized once (``weight_scheme``, per output channel or per tensor); each conv or
    dense layer's input is quantized per tensor with ``activation_scheme`` from its range on the
    calibration data; the products accumulate in int32 and are rescaled to float32 before the next
    layer (ReLU, pooling and flatten run in float). No retraining.

    Parameters
    ----------
    model : efficientnn Sequential, trained (it is not changed)
    x_calibration : (N, *input_shape), calibration inputs (a few hundred training images)
    per_channel : bool, one weight scale per output channel (True) or per layer (False)
    weight_scheme, activation_scheme : :class:`Symmetric` / :class:`Asymmetric` (default 8 bits each)

    Attributes
    ----------
    weight_params, input_params : dict layer name -> QuantParams

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> model = base_cnn()
    >>> x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    >>> qmodel = QuantizedModel(model, x)
    >>> qmodel.predict(x).shape
    (8, 10)
    >>> round(qmodel.float_weight_bytes() / qmodel.weight_bytes(), 2)
    3.99
    """

    def __init__(self, model, x_calibration, per_channel=True, weight_scheme=None, activation_scheme=None):
        self.model = model
        self.name = f"{getattr(model, 'name', 'model')}_int"
        self.input_shape = model.input_shape
        self.per_channel = bool(per_channel)
        self.weight_scheme = _check_scheme(weight_scheme or Symmetric(8))
        self.activation_scheme = _check_scheme(activation_scheme or Asymmetric(8))
        ranges = activation_ranges(model, x_calibration)
        axis = -1 if self.per_channel else None
        self.weight_params = {l.name: calibrate(l.params["W"], self.weight_scheme, axis) for l in _quantizable(model)}
        self.input_params = {name: params_from_range(lo, hi, self.activation_scheme) for name, (lo, hi) in ranges.items()}

    def forward(self, x):
        """Logits of ``x : (N, *input_shape)``, conv and dense layers in integer arithmetic."""
        x = self.model._check_input(x)
        for layer in self.model.layers:
            kernel = _INTEGER_KERNELS.get(type(layer))
            if kernel is None:
                x = layer.forward(x)
            else:
                x = kernel(layer, x, self.input_params[layer.name], self.weight_params[layer.name])
        return x

    __call__ = forward

    def predict(self, x, batch_size=256):
        """Logits for many examples, ``batch_size`` at a time (so :func:`efficientnn.train.accuracy` works)."""
        x = self.model._check_input(x)
        return np.concatenate([self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])

    def weight_bytes(self):
        """Bytes of the quantized weights (values, scales, zero points); biases not counted."""
        return sum(weight_bytes(l.params["W"], self.weight_params[l.name]) for l in _quantizable(self.model))

    def float_weight_bytes(self):
        """Bytes of the same weights in float32."""
        return sum(weight_bytes(l.params["W"]) for l in _quantizable(self.model))

    def __repr__(self):
        how = "per channel" if self.per_channel else "per tensor"
        return f"QuantizedModel({self.model.name}, weights {self.weight_scheme!r} {how}, inputs {self.activation_scheme!r})"
