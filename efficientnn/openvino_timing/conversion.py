"""An efficientnn model as an OpenVINO model: same layers, same weights, NHWC at both ends.

Each layer kind builds its own node(s) (:meth:`efficientnn.layers.Layer.openvino`) with the
:class:`OpenVINOGraph` helpers; this module checks the model, wraps the layers between the
layout transposes, and saves or compiles the result. OpenVINO is imported only inside the
functions that need it; without it they raise :class:`OpenVINOUnavailable`.

Example
-------
>>> from efficientnn.models import base_cnn
>>> SUPPORTED_KINDS[:3]
('conv', 'depthwise', 'separable')
>>> ov_model = to_openvino(base_cnn())                # doctest: +SKIP
>>> [p.get_partial_shape() for p in ov_model.inputs]  # doctest: +SKIP
[<PartialShape: [1,28,28,1]>]
"""
from __future__ import annotations

import contextlib
import functools
import os

import numpy as np

from ..layers import LAYER_CLASSES, Layer
from ..validation import check_model, positive_int

__all__ = [
    "OpenVINOUnavailable",
    "INSTALL_HINT",
    "SUPPORTED_KINDS",
    "OpenVINOGraph",
    "to_openvino",
    "save_ir",
    "compile_model",
]

INSTALL_HINT = (
    "Install it into the course environment with `python -m pip install \"openvino>=2025.0,<2027\"` "
    "(it is in pyproject.toml, so `make setup` or `pip install -e .` installs it too)."
)

#: The layer kinds whose class builds OpenVINO nodes.
SUPPORTED_KINDS = tuple(kind for kind, cls in LAYER_CLASSES.items() if cls.converts_to_openvino())


class OpenVINOUnavailable(RuntimeError):
    """OpenVINO is not installed, cannot be imported, or could not compile or run the model."""


@contextlib.contextmanager
def no_telemetry():
    """``CI=true`` for the block, so that OpenVINO's and NNCF's telemetry write nothing under the home folder.

    ``import openvino`` (and each NNCF call) writes a telemetry client id under the home folder
    unless ``CI=true``; that is the one switch they honour without writing a consent file, so it
    is set for the block only, and an explicit ``CI`` in the environment is left alone.

    Example
    -------
    >>> with no_telemetry():
    ...     "CI" in os.environ
    True
    """
    set_ci = "CI" not in os.environ
    if set_ci:
        os.environ["CI"] = "true"
    try:
        yield
    finally:
        if set_ci:
            os.environ.pop("CI", None)


def _import_openvino():
    """Return ``(openvino, openvino.opset13)`` or raise :class:`OpenVINOUnavailable`; imported under :func:`no_telemetry`."""
    try:
        with no_telemetry():
            import openvino as ov
            import openvino.opset13 as ops
    except Exception as err:  # ImportError, or OSError when a shared library is missing
        raise OpenVINOUnavailable(f"OpenVINO cannot be imported ({err}). {INSTALL_HINT}") from err
    return ov, ops


@functools.lru_cache(maxsize=1)
def _core():
    ov, _ = _import_openvino()
    return ov.Core()


class OpenVINOGraph:
    """What a layer's ``openvino(graph, x)`` builds with: OpenVINO's opset and naming helpers.

    Attributes
    ----------
    ops : the ``openvino.opset13`` module
    nchw : bool, True while the activations are NCHW (between the input transpose and a Flatten);
        a layer that changes the layout (Flatten) sets it
    """

    def __init__(self, ops, nchw):
        self.ops = ops
        self.nchw = nchw

    def named(self, node, name):
        node.set_friendly_name(name)
        return node

    def const(self, array):
        return self.ops.constant(np.ascontiguousarray(array, dtype=np.float32))

    def order(self, perm):
        return self.ops.constant(np.array(perm, dtype=np.int64))

    def bias(self, node, layer, name):
        """Add ``layer.params['b']`` (if any) to ``node``; the Add is called ``name``."""
        if not layer.use_bias:
            return node
        b = layer.params["b"]
        shape = (1, b.size, 1, 1) if len(layer.output_shape) == 3 else (1, b.size)
        return self.named(self.ops.add(node, self.const(b.reshape(shape))), name)


def check_convertible(model):
    """``model`` if it is a built efficientnn Sequential whose every layer kind converts."""
    check_model(model)
    for layer in model.layers:
        if not (isinstance(layer, Layer) and layer.converts_to_openvino()):
            raise ValueError(
                f"layer {getattr(layer, 'name', layer)!r} has kind {getattr(layer, 'kind', None)!r}; "
                f"to_openvino supports {SUPPORTED_KINDS}."
            )
        if layer.input_shape is None:
            raise ValueError(f"layer {layer.name!r} is not built: put it in a Sequential first.")
    # The layout transposes around the layers are written for NHWC images or flat vectors.
    if len(tuple(model.input_shape)) not in (1, 3):
        raise ValueError(f"the model's input_shape must be (H, W, C) or (units,), got {tuple(model.input_shape)}.")
    return model


def to_openvino(model, batch_size=1):
    """Build an OpenVINO model equal to ``model`` (same layers, same trained weights).

    Parameters
    ----------
    model : efficientnn.models.Sequential
        Any stack of the layer kinds in :data:`SUPPORTED_KINDS`; current ``layer.params`` are
        copied into the graph as constants.
    batch_size : int or None
        Static batch dimension of the input (default 1, what ``benchmark_app`` and the timing
        use); None makes the batch dynamic.

    Returns
    -------
    openvino.Model
        Input ``"input"`` of shape (batch_size, H, W, C), NHWC float32 (or (batch_size, units)
        for a model that starts with a Dense); output ``"output"`` of shape
        (batch_size, *model.output_shape), NHWC when 4-D. Node names follow the layer names
        (see the module docstring).

    Raises
    ------
    ValueError
        ``model`` is not a built efficientnn Sequential, or holds a layer kind not supported.
    OpenVINOUnavailable
        OpenVINO cannot be imported.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> ov_model = to_openvino(base_cnn())              # doctest: +SKIP
    >>> [p.get_partial_shape() for p in ov_model.inputs]  # doctest: +SKIP
    [<PartialShape: [1,28,28,1]>]
    """
    check_convertible(model)
    if batch_size is not None:
        batch_size = positive_int(batch_size, "batch_size")
    ov, ops = _import_openvino()
    input_shape = tuple(int(d) for d in model.input_shape)
    param = ops.parameter([batch_size or -1, *input_shape], ov.Type.f32, name="input")
    param.output(0).get_tensor().set_names({"input"})
    x = param.output(0)
    graph = OpenVINOGraph(ops, nchw=len(input_shape) == 3)
    if graph.nchw:
        x = graph.named(ops.transpose(x, graph.order([0, 3, 1, 2])), "input/to_nchw").output(0)
    for layer in model.layers:
        x = layer.openvino(graph, x)
        x = x.output(0) if hasattr(x, "get_output_size") else x
    if graph.nchw:
        x = graph.named(ops.transpose(x, graph.order([0, 2, 3, 1])), "output/to_nhwc").output(0)
    x.get_tensor().set_names({"output"})
    result = ops.result(x)
    result.set_friendly_name("output")
    ov_model = ov.Model([result], [param], getattr(model, "name", "model"))
    ov_model.set_rt_info("NHWC", ["efficientnn", "input_layout"])
    return ov_model


def save_ir(model, path, batch_size=1):
    """Save ``model`` as OpenVINO IR (``.xml`` graph + ``.bin`` float32 weights).

    Parameters
    ----------
    model : efficientnn Sequential or openvino.Model
    path : str or Path, the ``.xml`` file to write (the suffix is added if missing); the
        ``.bin`` goes beside it
    batch_size : int, static batch size when ``model`` is an efficientnn model

    Returns
    -------
    str, the path of the ``.xml`` file. ``benchmark_app -m <it> -pc -infer_precision f32
    -hint latency`` prints per-layer counters (without ``-infer_precision f32`` this CPU runs
    bfloat16).

    Example
    -------
    >>> xml = save_ir(base_cnn(), "artifacts/base_cnn.xml")   # doctest: +SKIP
    """
    ov, _ = _import_openvino()
    ov_model = model if isinstance(model, ov.Model) else to_openvino(model, batch_size=batch_size)
    path = os.fspath(path)
    if not path.endswith(".xml"):
        path += ".xml"
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    # compress_to_fp16=False: the default would halve the weights' precision on disk.
    ov.save_model(ov_model, path, compress_to_fp16=False)
    return path


def compile_model(model, profiling=True, num_threads=None, device="CPU", batch_size=1):
    """Compile for the CPU in float32, with per-layer profiling on by default.

    Parameters
    ----------
    model : efficientnn Sequential (converted with :func:`to_openvino`) or openvino.Model
    profiling : bool, collect per-node counters (``PERF_COUNT``); costs a little per inference
    num_threads : int or None, CPU threads for inference (None: OpenVINO's choice, all cores)
    device : str, OpenVINO device name
    batch_size : int, static batch size when converting an efficientnn model

    Returns
    -------
    openvino.CompiledModel

    Raises
    ------
    OpenVINOUnavailable
        OpenVINO is missing, or it could not compile the model on ``device`` (the message
        carries OpenVINO's own).
    """
    ov, _ = _import_openvino()
    ov_model = model if isinstance(model, ov.Model) else to_openvino(model, batch_size=batch_size)
    config = {
        ov.properties.hint.inference_precision: ov.Type.f32,
        ov.properties.enable_profiling: bool(profiling),
        ov.properties.hint.performance_mode: ov.properties.hint.PerformanceMode.LATENCY,
    }
    if num_threads is not None:
        config[ov.properties.inference_num_threads] = int(num_threads)
    try:
        return _core().compile_model(ov_model, device, config)
    except Exception as err:  # OpenVINO raises RuntimeError subclasses with its own text
        raise OpenVINOUnavailable(f"OpenVINO could not compile the model for {device!r}: {err}") from err
