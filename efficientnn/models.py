"""Sequential models and the lesson's ``base_cnn`` with its pooled and separable variants.

Example
-------
>>> import numpy as np
>>> model = base_cnn()
>>> model.forward(np.zeros((4, 28, 28, 1), np.float32)).shape
(4, 10)
"""
from __future__ import annotations

import copy as _copy

import numpy as np

from . import shapes
from .validation import positive_int
from .layers import Conv2D, Dense, Flatten, Layer, MaxPool2D, ReLU, SeparableConv2D

__all__ = ["Sequential", "base_cnn", "base_cnn_pooled", "base_cnn_separable"]

class Sequential:
    """A stack of layers run one after the other.

    Parameters
    ----------
    layers : list of :class:`efficientnn.layers.Layer`
    input_shape : (H, W, C) of one example, without the batch dimension
    seed : int, seeds the weight initialisation (same seed, same weights)
    name : str

    Shapes
    ------
    forward: x : (N, *input_shape) -> logits : (N, *output_shape)

    Example
    -------
    >>> from efficientnn.layers import Conv2D, ReLU, Flatten, Dense
    >>> m = Sequential([Conv2D(5, 3), ReLU(), Flatten(), Dense(10)], input_shape=(28, 28, 1))
    >>> m.output_shape
    (10,)
    """

    def __init__(self, layers, input_shape, seed=0, name="model"):
        layers = list(layers)
        if not layers:
            raise ValueError("a Sequential model needs at least one layer.")
        for layer in layers:
            if not isinstance(layer, Layer):
                raise ValueError(f"every layer must be an efficientnn layer, got {layer!r}.")
        self.name = name
        self.layers = layers
        self.input_shape = shapes.as_shape(input_shape)
        rng = np.random.default_rng(seed)
        self._name_layers()
        shape = self.input_shape
        for layer in self.layers:
            try:
                shape = layer.build(shape, rng)
            except ValueError as err:
                raise ValueError(f"layer {layer.name} cannot take input of shape {shape}: {err}") from None
        self.output_shape = shape

    def _name_layers(self):
        counts: dict[str, int] = {}
        taken = {layer.name for layer in self.layers if layer.name}
        for layer in self.layers:
            if layer.name:
                continue
            prefix = layer.name_prefix or layer.kind
            while True:
                counts[prefix] = counts.get(prefix, 0) + 1
                unnumbered = counts[prefix] == 1 and not layer.number_first_name
                candidate = prefix if unnumbered else f"{prefix}{counts[prefix]}"
                if candidate not in taken:
                    break
            layer.name = candidate
            taken.add(candidate)
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique, got {names}.")

    # ------------------------------------------------------------------ running
    def _check_input(self, x):
        x = np.asarray(x)
        if x.dtype.kind not in "fiu":
            raise ValueError(f"model input must hold numbers, got an array of dtype {x.dtype}.")
        want = self.input_shape
        if x.shape == want:
            raise ValueError(
                f"model {self.name} expects a batch (N, {', '.join(map(str, want))}); "
                f"got one example of shape {x.shape}: use x[None] to make a batch of one."
            )
        if x.ndim != len(want) + 1 or x.shape[1:] != want:
            raise ValueError(
                f"model {self.name} expects input of shape (N, {', '.join(map(str, want))}), got {x.shape}."
            )
        return x.astype(np.float32, copy=False)

    def forward(self, x, training=False):
        """Run every layer. x : (N, *input_shape) -> (N, *output_shape), float32."""
        x = self._check_input(x)
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    __call__ = forward

    def backward(self, dy):
        """Back-propagate ``dy = dloss/doutput`` (N, *output_shape); fills every layer's grads."""
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def predict(self, x, batch_size=256):
        """Logits for many examples, ``batch_size`` at a time. x : (N, *input_shape) -> (N, classes)."""
        x = self._check_input(x)
        batch_size = positive_int(batch_size, "batch_size")
        return np.concatenate([self.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])

    # ------------------------------------------------------------------ inspecting
    def layer(self, name):
        """The layer called ``name``."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"model {self.name} has no layer {name!r}; it has {[l.name for l in self.layers]}.")

    def parameters(self):
        """Every trainable array, as (layer, key) pairs."""
        return [(layer, key) for layer in self.layers for key in layer.params]

    def copy(self):
        """A deep copy (weights and masks included) that trains independently."""
        return _copy.deepcopy(self)

    def summary(self, print_fn=print):
        """Print a Keras-style table: layer, output shape, params, MACs, FLOPs and share of FLOPs."""
        from .cost import format_profile, profile

        text = format_profile(profile(self), title=f"Model: {self.name}  input {self.input_shape}")
        if print_fn is not None:
            print_fn(text)
        return text

    def __repr__(self):
        return f"Sequential(name={self.name!r}, layers={[l.name for l in self.layers]})"


def base_cnn(seed=0):
    """The lesson's model: 28x28x1 -> conv 5@3x3 -> ReLU -> conv 5@3x3 -> ReLU -> flatten
    -> dense 128 -> ReLU -> dense 10. No padding, stride 1.

    Example
    -------
    >>> [l.output_shape for l in base_cnn().layers if l.kind == "conv"]
    [(26, 26, 5), (24, 24, 5)]
    """
    return Sequential(
        [Conv2D(5, 3), ReLU(), Conv2D(5, 3), ReLU(), Flatten(), Dense(128), ReLU(), Dense(10)],
        input_shape=(28, 28, 1),
        seed=seed,
        name="base_cnn",
    )


def base_cnn_pooled(seed=0, pool_size=2):
    """``base_cnn`` with a max pooling layer after each convolution's ReLU.

    28x28x1 -> conv 26x26x5 -> pool 13x13x5 -> conv 11x11x5 -> pool 5x5x5 -> flatten 125 -> 128 -> 10.
    """
    return Sequential(
        [
            Conv2D(5, 3), ReLU(), MaxPool2D(pool_size),
            Conv2D(5, 3), ReLU(), MaxPool2D(pool_size),
            Flatten(), Dense(128), ReLU(), Dense(10),
        ],
        input_shape=(28, 28, 1),
        seed=seed,
        name="base_cnn_pooled",
    )


def base_cnn_separable(seed=0):
    """``base_cnn`` with each 3x3 convolution replaced by a separable one (same shapes)."""
    return Sequential(
        [
            SeparableConv2D(5, 3), ReLU(), SeparableConv2D(5, 3), ReLU(),
            Flatten(), Dense(128), ReLU(), Dense(10),
        ],
        input_shape=(28, 28, 1),
        seed=seed,
        name="base_cnn_separable",
    )


def small_vgg(seed=0, side=56, widths=(64, 128)):
    """A small VGG-style network where convolutions dominate the cost: two blocks of two 3x3
    convolutions (padding 1, so they keep the side) with ReLUs, each block closed by a 2x2 max
    pooling, then flatten -> dense 10.

    56x56x1 -> conv1, conv2 56x56x64 -> pool 28x28x64 -> conv3, conv4 28x28x128 -> pool 14x14x128
    -> dense 10: about 582 MFLOPs, 99.9% of them in the convolutions, so an inference takes
    milliseconds and its fixed overheads (tens of microseconds) hardly count. The widths are wide
    enough that the half-pruned copy (32 and 64 filters) still fills OpenVINO's blocked kernels:
    at (32, 64) the pruned convolutions ran less efficiently, and the latency cut fell to 0.80-0.85
    of the FLOPs cut, against 0.94-0.99 at these widths (``benchmarks/bench_pruning.py``, part 5).

    Example
    -------
    >>> from efficientnn.cost import total_flops
    >>> m = small_vgg()
    >>> [l.output_shape for l in m.layers if l.kind == "conv"], total_flops(m)
    ([(56, 56, 64), (56, 56, 64), (28, 28, 128), (28, 28, 128)], 582367744)
    """
    side = positive_int(side, "side")
    a, b = (positive_int(w, "widths") for w in widths)
    block = lambda w: [Conv2D(w, 3, padding=1), ReLU(), Conv2D(w, 3, padding=1), ReLU(), MaxPool2D(2)]
    return Sequential([*block(a), *block(b), Flatten(), Dense(10)], input_shape=(side, side, 1), seed=seed,
                      name="small_vgg")
