"""The base class every layer kind derives from, and the registry of kinds.

A layer kind is one class. It knows its hyper-parameters (set in ``__init__``) and, once it is
given an input shape (:meth:`Layer.bind`, or :meth:`Layer.build`, which also creates the
weights), everything the course asks about it: its output shape, MACs, FLOPs, parameter count,
its description in words, how structured pruning cuts through it and how it becomes OpenVINO
nodes. :mod:`efficientnn.cost`, the quiz, pruning and OpenVINO conversion ask the layer; none of
them switches on the kind. Defining a subclass with a ``kind`` registers it in
:data:`LAYER_CLASSES`.

Example
-------
>>> from efficientnn.layers import Conv2D
>>> conv = Conv2D(5, 3)
>>> conv.bind((28, 28, 1)), conv.macs(), conv.flops(), conv.param_count()
((26, 26, 5), 30420, 60840, 50)
>>> layer_class("conv") is Conv2D
True
"""
from __future__ import annotations

import copy

import numpy as np

from ..cost import flops_from_macs
from ..shapes import as_pair, resolve_padding
from ..validation import positive_int

__all__ = ["Layer", "WindowLayer", "LAYER_CLASSES", "layer_class"]

#: Every layer kind, by its ``kind`` string, in the order the classes were defined.
LAYER_CLASSES: dict[str, type] = {}


def layer_class(kind):
    """The layer class of a kind string such as ``"conv"``; ValueError naming the kinds if unknown."""
    if kind not in LAYER_CLASSES:
        raise ValueError(f"no layer kind {kind!r}; the kinds are {', '.join(LAYER_CLASSES)}.")
    return LAYER_CLASSES[kind]


class Layer:
    """Base class: holds the name, shapes, parameters, gradients and pruning masks.

    Attributes
    ----------
    params : dict of str -> ndarray (float32), the trainable arrays
    grads : dict of str -> ndarray, filled by :meth:`backward`, same keys and shapes as params
    masks : dict of str -> bool ndarray, optional; training keeps ``params[k] *= masks[k]``
    input_shape, output_shape : tuples without the batch dimension, set by :meth:`bind`

    Class attributes a kind sets
    ----------------------------
    kind : str, its name in tables and questions ("conv")
    name_prefix : str, default layer names are prefix + number ("fc1"); default ``kind``
    number_first_name : bool, False for kinds a model has once as a rule ("flatten", then "flatten2")
    input_ndim : 3 for (H, W, C), 1 for (units,), None for any shape (shape-only layers); the
        quiz asks questions about the kinds that set it
    out_channels_attr, out_channels_key : the hyper-parameter that sets the output channels and
        the weight array whose last axis holds them ("filters", "W"); None for kinds without
        output channels of their own (structured pruning skips those)
    """

    kind = "layer"
    name_prefix = None
    number_first_name = True
    input_ndim = None
    out_channels_attr = None
    out_channels_key = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "kind" in vars(cls):
            LAYER_CLASSES.setdefault(cls.kind, cls)

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
    def bind(self, input_shape):
        """Fix the input shape (no batch) and return the output shape; no weights are made."""
        self.input_shape = tuple(int(d) for d in input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        return self.output_shape

    def build(self, input_shape, rng=None):
        """Fix the input shape, create the parameters; return the output shape (no batch)."""
        self.bind(input_shape)
        self._init_params(rng if rng is not None else np.random.default_rng(0))
        return self.output_shape

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _init_params(self, rng):
        pass

    def _bound_input(self):
        if self.input_shape is None:
            raise ValueError(f"layer {self.name or self.kind} is not built: put it in a Sequential model first.")
        return self.input_shape

    # -- what it costs, for one example (see efficientnn.cost for the conventions)
    def macs(self) -> int:
        """Multiplications by a weight in one forward pass of one example."""
        raise self._no_formula()

    def flops(self) -> int:
        """FLOPs for one example: 2 x MACs (pooling counts its comparisons and additions instead)."""
        return flops_from_macs(self.macs())

    def param_count(self) -> int:
        """Trainable weights and biases (what ``params`` will hold once built)."""
        raise self._no_formula()

    def _no_formula(self):
        return ValueError(f"no cost formula for layer kind {self.kind!r}: its class needs macs() and param_count().")

    # -- in words (the quiz's questions and model descriptions; never a computed result)
    def describe(self) -> str:
        """The bound layer in words, as a question states it."""
        return f"a {self.kind} layer"

    def brief(self) -> str:
        """The layer in a model's description: name and hyper-parameters, no shapes."""
        return self.kind

    def standard_equivalent(self):
        """The standard convolution with the same input, window and output shape (bound)."""
        raise ValueError(f"only depthwise and separable layers have a standard equivalent, not {self.kind}.")

    # -- structured pruning
    def prune_inputs(self, axes, live):
        """Cut the parameters' input axes to the ``live`` input channels; return the live outputs.

        ``axes`` maps each parameter name to a list of kept indices, one array per axis.
        ``live`` is the array of surviving input channels (or flat features). The default suits
        layers without weights that keep channels in place (ReLU, pooling).
        """
        return live

    def macs_per_weight(self) -> int:
        """MACs each nonzero weight costs per example (the output positions it is used at)."""
        raise ValueError(f"layer {self.name or self.kind} ({self.kind}) has no weights.")

    def unbuilt_copy(self, out_channels=None):
        """A copy with the same settings and no shapes or weights; ``out_channels`` outputs if given."""
        clone = copy.copy(self)
        clone.params, clone.grads, clone.masks, clone._cache = {}, {}, {}, None
        clone.input_shape = clone.output_shape = None
        if out_channels is not None:
            setattr(clone, self.out_channels_attr, int(out_channels))
        return clone

    # -- OpenVINO (efficientnn.openvino_timing.conversion calls this with its graph builder)
    def openvino(self, graph, x):
        """The OpenVINO node(s) computing this layer on ``x`` (NCHW while ``graph.nchw``)."""
        raise NotImplementedError

    @classmethod
    def converts_to_openvino(cls) -> bool:
        return cls.openvino is not Layer.openvino

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


def _dims(shape) -> str:
    return "x".join(str(d) for d in shape)


class WindowLayer(Layer):
    """A layer that slides a kh x kw window over an (H, W, C) input: convolutions and pooling.

    Holds ``kernel_size`` (kh, kw), ``stride`` and ``padding`` (ph, pw) per side, and what they
    mean for words, pruning and OpenVINO.
    """

    input_ndim = 3

    def _set_window(self, kernel_size, stride, padding, what="kernel_size"):
        self.kernel_size = as_pair(kernel_size, what)
        self.stride = positive_int(stride, "stride")
        self.padding = resolve_padding(padding, self.kernel_size)
        # Kept for the words only: "same" padding is how the question was put.
        self._same_padding = isinstance(padding, str) and padding.lower() == "same"

    def geometry(self) -> str:
        """Stride and padding in words: ``'stride 1, no padding'``."""
        ph, pw = self.padding
        if self._same_padding:
            pad = '"same" padding'
        elif (ph, pw) == (0, 0):
            pad = "no padding"
        elif ph == pw:
            pad = f"padding {ph}"
        else:
            pad = f"padding {ph} (top/bottom) and {pw} (left/right)"
        return f"stride {self.stride}, {pad}"

    def _applied_to(self) -> str:
        return f"applied to a {_dims(self._bound_input())} input (HxWxD)"

    def macs_per_weight(self) -> int:
        ho, wo = self.output_shape[:2]
        return ho * wo

    def openvino_window(self):
        """(strides, pads_begin, pads_end) as OpenVINO's convolution and pooling take them."""
        ph, pw = self.padding
        return [self.stride, self.stride], [ph, pw], [ph, pw]
