"""What a layer really costs on this CPU: OpenVINO's layerwise timing beside the counted cost.

The rest of efficientnn *counts* (MACs, FLOPs, parameters). This module *measures*: it turns an
efficientnn :class:`~efficientnn.models.Sequential` into an OpenVINO model with the same weights,
runs it on the CPU with per-layer profiling on, and lines each layer's measured time up with
the time its FLOPs predict (``flops / peak FLOP/s``). Where the two disagree the roofline says
why: a layer that moves many bytes per FLOP (depthwise, pooling, small dense) waits for memory,
not for arithmetic.

Conventions
-----------
- Arrays are NHWC float32 in efficientnn **and at the OpenVINO model's input and output**: the
  OpenVINO model takes ``x : (N, H, W, C)``, transposes to NCHW inside (OpenVINO's convolution
  layout) and transposes back before a Flatten or at the output, so its results match
  :meth:`Sequential.forward` element for element (the CPU plugin usually turns these transposes
  into free "fake" reorders).
- Node names: the node that does a layer's work carries the layer's name exactly (``conv1``,
  ``pool1``, ``fc1``); helper nodes carry ``<layer>/<role>`` (``conv1/bias``,
  ``sepconv1/depthwise``, ``flatten/to_nhwc``, ``fc1/matmul``). ``benchmark_app -pc`` shows them.
- Inference runs in float32 (``INFERENCE_PRECISION_HINT=f32``): this CPU would otherwise run in
  bfloat16 and differ from numpy by up to ~0.4.
- Times are in microseconds (``*_us``) or milliseconds (``latency_ms``); FLOPs count 2 per MAC.
- OpenVINO is imported only inside the functions that need it; without it they raise
  :class:`OpenVINOUnavailable`, and the rest of efficientnn keeps working.

Example
-------
>>> from efficientnn.models import base_cnn_pooled
>>> from efficientnn import openvino_timing as ovt
>>> model = base_cnn_pooled()
>>> rows = ovt.layer_times(model, runs=50)           # doctest: +SKIP
>>> print(ovt.format_table(rows))                    # doctest: +SKIP
>>> ovt.roofline_plot(rows)                          # doctest: +SKIP
"""
from __future__ import annotations

import functools
import math
import os
import time
from dataclasses import dataclass

import numpy as np

__all__ = [
    "OpenVINOUnavailable",
    "INSTALL_HINT",
    "SUPPORTED_KINDS",
    "LayerTime",
    "to_openvino",
    "save_ir",
    "compile_model",
    "openvino_forward",
    "inference_latency_ms",
    "layer_times",
    "map_nodes_to_layers",
    "format_table",
    "peak_flops_per_second",
    "memory_bytes_per_second",
    "layer_times_plot",
    "predicted_vs_measured_plot",
    "roofline_plot",
]

INSTALL_HINT = (
    "Install it into the course environment with `python -m pip install \"openvino>=2025.0,<2027\"` "
    "(it is in pyproject.toml, so `make setup` or `pip install -e .` installs it too)."
)

SUPPORTED_KINDS = ("conv", "depthwise", "separable", "dense", "maxpool", "avgpool", "relu", "flatten")

_BYTES_PER_FLOAT = 4
# Node types that hold no work of their own: graph inputs, outputs and weights.
_BOOKKEEPING_TYPES = {"Parameter", "Input", "Result", "Output", "Const", "Constant"}


class OpenVINOUnavailable(RuntimeError):
    """OpenVINO is not installed, cannot be imported, or could not compile or run the model."""


# --------------------------------------------------------------------------- importing
def _import_openvino():
    """Return ``(openvino, openvino.opset13)`` or raise :class:`OpenVINOUnavailable`.

    ``import openvino`` writes a telemetry client id under the home folder unless ``CI=true``;
    that is the one switch it honours without writing a consent file, so it is set for the
    import only (an explicit ``CI`` in the environment is left alone).
    """
    set_ci = "CI" not in os.environ
    if set_ci:
        os.environ["CI"] = "true"
    try:
        import openvino as ov
        import openvino.opset13 as ops
    except Exception as err:  # ImportError, or OSError when a shared library is missing
        raise OpenVINOUnavailable(f"OpenVINO cannot be imported ({err}). {INSTALL_HINT}") from err
    finally:
        if set_ci:
            os.environ.pop("CI", None)
    return ov, ops


@functools.lru_cache(maxsize=1)
def _core():
    ov, _ = _import_openvino()
    return ov.Core()


# --------------------------------------------------------------------------- conversion
def _check_model(model):
    layers = getattr(model, "layers", None)
    input_shape = getattr(model, "input_shape", None)
    if layers is None or input_shape is None:
        raise ValueError(
            f"expected an efficientnn Sequential model (with .layers and .input_shape), got {type(model).__name__}."
        )
    if len(tuple(input_shape)) not in (1, 3):
        raise ValueError(f"the model's input_shape must be (H, W, C) or (units,), got {tuple(input_shape)}.")
    if not layers:
        raise ValueError("the model has no layers.")
    for layer in layers:
        kind = getattr(layer, "kind", None)
        if kind not in SUPPORTED_KINDS:
            raise ValueError(
                f"layer {getattr(layer, 'name', layer)!r} has kind {kind!r}; to_openvino supports {SUPPORTED_KINDS}."
            )
        if getattr(layer, "input_shape", None) is None:
            raise ValueError(f"layer {layer.name!r} is not built: put it in a Sequential first.")


def _named(node, name):
    node.set_friendly_name(name)
    return node


def _const(ops, array):
    return ops.constant(np.ascontiguousarray(array, dtype=np.float32))


def _order(ops, perm):
    return ops.constant(np.array(perm, dtype=np.int64))


def _add_bias(ops, node, layer, rank4, name):
    """Add ``layer.params['b']`` (if any) to ``node``; the Add is called ``name``."""
    if not layer.use_bias:
        return node
    b = layer.params["b"]
    shape = (1, b.size, 1, 1) if rank4 else (1, b.size)
    return _named(ops.add(node, _const(ops, b.reshape(shape))), name)


def _conv_nodes(ops, x, layer):
    ph, pw = layer.padding
    s = [layer.stride, layer.stride]
    if layer.kind == "conv":
        # efficientnn (kh, kw, Cin, Cout) -> OpenVINO (Cout, Cin, kh, kw)
        w = layer.params["W"].transpose(3, 2, 0, 1)
        y = _named(ops.convolution(x, _const(ops, w), s, [ph, pw], [ph, pw], [1, 1]), layer.name)
        return _add_bias(ops, y, layer, True, f"{layer.name}/bias")
    # Depthwise: a grouped conv with one group per input channel; OpenVINO's
    # (G, Cout/G, Cin/G, kh, kw) = (C, M, 1, kh, kw) keeps Keras's output order c*M + m.
    key = "W" if layer.kind == "depthwise" else "dw_W"
    dw = layer.params[key].transpose(2, 3, 0, 1)[:, :, None]
    dw_name = layer.name if layer.kind == "depthwise" else f"{layer.name}/depthwise"
    y = _named(ops.group_convolution(x, _const(ops, dw), s, [ph, pw], [ph, pw], [1, 1]), dw_name)
    if layer.kind == "depthwise":
        return _add_bias(ops, y, layer, True, f"{layer.name}/bias")
    pw_w = layer.params["pw_W"][0, 0].T[:, :, None, None]  # (C*M, F) -> (F, C*M, 1, 1)
    y = _named(ops.convolution(y, _const(ops, pw_w), [1, 1], [0, 0], [0, 0], [1, 1]), layer.name)
    return _add_bias(ops, y, layer, True, f"{layer.name}/bias")


def _pool_node(ops, x, layer):
    ph, pw = layer.padding
    s = [layer.stride, layer.stride]
    k = list(layer.pool_size)
    if layer.kind == "maxpool":
        # OpenVINO's padded cells never win a max, as efficientnn's -inf padding.
        node = ops.max_pool(x, s, [1, 1], [ph, pw], [ph, pw], k)
        return _named(node, layer.name).output(0)
    # exclude_pad=False: efficientnn counts padded zeros in the mean.
    return _named(ops.avg_pool(x, s, [ph, pw], [ph, pw], k, False), layer.name)


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
    _check_model(model)
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}.")
    ov, ops = _import_openvino()
    input_shape = tuple(int(d) for d in model.input_shape)
    param = ops.parameter([batch_size or -1, *input_shape], ov.Type.f32, name="input")
    param.output(0).get_tensor().set_names({"input"})
    x = param.output(0)
    nchw = len(input_shape) == 3
    if nchw:
        x = _named(ops.transpose(x, _order(ops, [0, 3, 1, 2])), "input/to_nchw").output(0)
    for layer in model.layers:
        kind = layer.kind
        if kind in ("conv", "depthwise", "separable"):
            x = _conv_nodes(ops, x, layer)
        elif kind in ("maxpool", "avgpool"):
            x = _pool_node(ops, x, layer)
        elif kind == "relu":
            x = _named(ops.relu(x), layer.name)
        elif kind == "flatten":
            if nchw:
                # efficientnn flattens NHWC in C order: back to NHWC before the reshape.
                x = _named(ops.transpose(x, _order(ops, [0, 2, 3, 1])), f"{layer.name}/to_nhwc")
            x = _named(ops.reshape(x, _order(ops, [0, -1]), True), layer.name)
            nchw = False
        elif kind == "dense":
            if layer.use_bias:
                # The CPU plugin fuses MatMul + Add into one FullyConnected node named after the
                # Add, so the Add carries the layer name.
                y = _named(ops.matmul(x, _const(ops, layer.params["W"]), False, False), f"{layer.name}/matmul")
                x = _add_bias(ops, y, layer, False, layer.name)
            else:
                x = _named(ops.matmul(x, _const(ops, layer.params["W"]), False, False), layer.name)
        x = x.output(0) if hasattr(x, "get_output_size") else x
    if nchw:
        x = _named(ops.transpose(x, _order(ops, [0, 2, 3, 1])), "output/to_nhwc").output(0)
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


def _input_array(model, x):
    x = np.asarray(x, dtype=np.float32)
    want = tuple(model.input_shape)
    if x.ndim != len(want) + 1 or tuple(x.shape[1:]) != want:
        raise ValueError(f"expected input of shape (N, {', '.join(map(str, want))}), got {x.shape}.")
    return np.ascontiguousarray(x)


def openvino_forward(model, x):
    """Run ``model`` through OpenVINO (CPU, float32). Compiles a fresh model each call.

    Parameters
    ----------
    model : efficientnn Sequential
    x : (N, *model.input_shape) float32, NHWC

    Returns
    -------
    y : (N, *model.output_shape) float32, equal to ``model.forward(x)`` within about 1e-5

    Example
    -------
    >>> y = openvino_forward(model, x)                  # doctest: +SKIP
    >>> np.abs(y - model.forward(x)).max() < 1e-4       # doctest: +SKIP
    True
    """
    x = _input_array(model, x)
    compiled = compile_model(model, profiling=False, batch_size=x.shape[0])
    return np.asarray(compiled.create_infer_request().infer({0: x})[0], dtype=np.float32)


def inference_latency_ms(model, runs=100, warmup=10, batch_size=1, num_threads=None, seed=0):
    """Median wall-clock time of one whole inference (profiling off), in milliseconds.

    Parameters
    ----------
    model : efficientnn Sequential or openvino.Model (input NHWC, static batch)
    runs, warmup : int, timed and untimed inferences
    batch_size : int, examples per inference
    num_threads : int or None, see :func:`compile_model`

    Returns
    -------
    float, milliseconds per inference of ``batch_size`` examples
    """
    compiled = compile_model(model, profiling=False, num_threads=num_threads, batch_size=batch_size)
    req = compiled.create_infer_request()
    shape = [int(d) for d in compiled.inputs[0].get_partial_shape().to_shape()]
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    times = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        # Shared buffers: time the model, not Python copying the input and output arrays.
        req.infer({0: x}, share_inputs=True, share_outputs=True)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


# --------------------------------------------------------------------------- peak rates
def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@functools.lru_cache(maxsize=None)
def _peak_cached(n, repeats):
    from .cost import measure_flops_per_second

    return float(measure_flops_per_second(n=n, repeats=repeats))


def peak_flops_per_second(n=512, repeats=20, refresh=False):
    """Peak float32 FLOP/s of this machine, measured with an n x n numpy GEMM (2 n^3 / time).

    The measurement is :func:`efficientnn.cost.measure_flops_per_second`, cached for the
    session so every table and plot uses the same peak (``refresh=True`` measures again).

    Returns
    -------
    float, FLOP/s (e.g. 3e11 for 300 GFLOP/s)
    """
    if refresh:
        _peak_cached.cache_clear()
    return _peak_cached(int(n), int(repeats))


@functools.lru_cache(maxsize=None)
def _bandwidth_cached(megabytes, repeats):
    src = np.ones(int(megabytes * 2**20) // _BYTES_PER_FLOAT, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # first touch
    best = min(_timed(lambda: np.copyto(dst, src)) for _ in range(repeats))
    return 2.0 * src.nbytes / best  # one read and one write of every byte


def memory_bytes_per_second(megabytes=64, repeats=5, refresh=False):
    """Main-memory bandwidth in bytes/s, from copying a ``megabytes`` float32 array (read + write).

    The array is larger than the caches, so this is the DRAM roof of the roofline; layers whose
    tensors fit in cache can beat it. Cached for the session (``refresh=True`` measures again).

    Returns
    -------
    float, bytes/s (e.g. 1.5e10 for 15 GB/s)
    """
    if refresh:
        _bandwidth_cached.cache_clear()
    return _bandwidth_cached(float(megabytes), int(repeats))


# --------------------------------------------------------------------------- timing
@dataclass(frozen=True)
class LayerTime:
    """Measured time of one efficientnn layer (or one node OpenVINO inserted) with its counted cost.

    Attributes
    ----------
    name : str, efficientnn layer name (``conv1``) or, for an inserted node, OpenVINO's node name
    kind : str, efficientnn layer kind (``"conv"``, ...) or, for an inserted node, its OpenVINO
        type in lower case (``"reorder"``)
    status : str, ``"EXECUTED"`` (ran as its own node(s)), ``"FUSED"`` (its work ran inside the
        node of layer ``fused_into``, e.g. a ReLU inside its convolution), ``"NOT_RUN"`` (its node
        did no work, e.g. a Flatten that only relabels memory) or ``"OPTIMIZED_OUT"`` (no node left)
    fused_into : str or None, the layer whose node ran this layer's work when ``status == "FUSED"``
    node_type : str, OpenVINO node type(s) that ran, joined with ``+`` (``"Convolution"``,
        ``"GroupConvolution+Convolution"`` for a separable layer, ``"FullyConnected"``)
    exec_type : str, the kernel(s) that ran (``"brgconv_avx512_f32"``), joined with ``+``
    nodes : tuple of str, the OpenVINO runtime nodes whose time is this row's
    median_us, p10_us, p90_us : float, microseconds per inference: median, 10th and 90th
        percentile over ``runs`` inferences (0 when the layer did not run on its own)
    runs : int, inferences measured
    batch_size : int, examples per inference
    macs, flops : int, counted per inference (``batch_size`` examples), FLOPs = 2 x MACs
    bytes_moved : int, float32 bytes of input + weights + output per inference
    flops_per_byte : float, arithmetic intensity ``flops / bytes_moved``
    predicted_us : float, ``flops / peak FLOP/s`` in microseconds: the time if the layer ran at
        the machine's GEMM speed
    inserted : bool, True for a node that belongs to no efficientnn layer: a layout change
        OpenVINO added (``Reorder``), or the NHWC <-> NCHW ``Transpose`` at the model's input or
        output when OpenVINO could not fold it away. Rare case: a node whose name a graph
        transformation replaced (a ReLU applied straight to the input is moved before the input
        transpose and renamed) also shows as inserted, and its layer as ``OPTIMIZED_OUT``.
    """

    name: str
    kind: str
    status: str
    fused_into: str | None
    node_type: str
    exec_type: str
    nodes: tuple
    median_us: float
    p10_us: float
    p90_us: float
    runs: int
    batch_size: int
    macs: int
    flops: int
    bytes_moved: int
    flops_per_byte: float
    predicted_us: float
    inserted: bool = False

    @property
    def latency_ms(self) -> float:
        """Median time in milliseconds."""
        return self.median_us / 1e3

    @property
    def spread_us(self) -> float:
        """``p90_us - p10_us``: how much the time varies from run to run."""
        return self.p90_us - self.p10_us

    @property
    def flops_per_second(self) -> float:
        """Achieved FLOP/s (``flops / median time``); nan when the layer has no own time or FLOPs."""
        if self.median_us <= 0 or self.flops <= 0:
            return math.nan
        return self.flops / (self.median_us * 1e-6)


def _layer_of(node_name, layer_names):
    """The efficientnn layer a node name belongs to (``conv1`` or ``conv1/bias`` -> conv1), or None."""
    if node_name in layer_names:
        return node_name
    best = None
    for name in layer_names:
        if node_name.startswith(name + "/") and (best is None or len(name) > len(best)):
            best = name
    return best


def map_nodes_to_layers(nodes, layer_names):
    """Attribute OpenVINO runtime nodes to the efficientnn layers they came from.

    Parameters
    ----------
    nodes : list of dict with ``name`` (runtime node friendly name), ``type`` (its layerType)
        and ``original`` (list of the original node names it fused, from rt_info
        ``originalLayersNames``)
    layer_names : list of str, the efficientnn layer names in model order

    Returns
    -------
    owner : dict node name -> layer name or None (None: an inserted node such as a Reorder)
    fused_into : dict layer name -> layer name, for layers whose work ran inside another
        layer's node (the earliest layer a node mentions owns it: conv1 + relu1 -> conv1)

    Example
    -------
    >>> owner, fused = map_nodes_to_layers(
    ...     [{"name": "conv1", "type": "Convolution", "original": ["conv1", "conv1/bias", "relu1"]}],
    ...     ["conv1", "relu1"])
    >>> owner, fused
    ({'conv1': 'conv1'}, {'relu1': 'conv1'})
    """
    position = {name: i for i, name in enumerate(layer_names)}
    owner, fused_into = {}, {}
    for node in nodes:
        mentioned = [_layer_of(n, position) for n in [node["name"], *node["original"]]]
        layers = sorted({m for m in mentioned if m is not None}, key=position.__getitem__)
        owner[node["name"]] = layers[0] if layers else None
        for other in layers[1:]:
            fused_into.setdefault(other, layers[0])
    return owner, fused_into


def _runtime_nodes(compiled):
    """Every runtime node with work to do: name, type, fused original names, exec order, bytes."""
    nodes = []
    for op in compiled.get_runtime_model().get_ordered_ops():
        rt = op.get_rt_info()
        layer_type = rt["layerType"].astype(str) if "layerType" in rt else op.get_type_name()
        if layer_type in _BOOKKEEPING_TYPES:
            continue
        original = rt["originalLayersNames"].astype(str) if "originalLayersNames" in rt else ""
        shape = op.get_output_partial_shape(0) if op.get_output_size() else None
        elements = math.prod(shape.to_shape()) if shape is not None and shape.is_static else 0
        nodes.append(
            {
                "name": op.get_friendly_name(),
                "type": layer_type,
                "original": [n for n in original.split(",") if n],
                "order": int(rt["execOrder"].astype(str)) if "execOrder" in rt else len(nodes),
                "elements": elements,
            }
        )
    return nodes


def _sample_profiles(compiled, x, runs, warmup):
    """Per-node real times (us) over ``runs`` inferences, plus node type, kernel and statuses."""
    req = compiled.create_infer_request()
    for _ in range(warmup):
        req.infer({0: x}, share_inputs=True, share_outputs=True)
    times, info = {}, {}
    for _ in range(runs):
        req.infer({0: x}, share_inputs=True, share_outputs=True)
        # The counters describe the last inference only, so read them after every one.
        for p in req.get_profiling_info():
            times.setdefault(p.node_name, []).append(p.real_time.total_seconds() * 1e6)
            entry = info.setdefault(p.node_name, {"type": p.node_type, "exec": p.exec_type, "executed": False})
            entry["executed"] |= str(p.status).endswith("EXECUTED")
    return times, info


def _layer_bytes(layer, batch_size):
    weights = sum(int(np.asarray(v).size) for v in layer.params.values())
    activations = math.prod(layer.input_shape) + math.prod(layer.output_shape)
    return (weights + batch_size * activations) * _BYTES_PER_FLOAT


def _costs(model):
    from .cost import profile

    return {c.name: c for c in profile(model)}


def layer_times(model, runs=100, warmup=10, batch_size=1, num_threads=None, x=None, seed=0, flops_per_second=None):
    """Time every layer of ``model`` on this CPU with OpenVINO's profiling counters.

    Compiles ``model`` (float32, profiling on), runs ``warmup`` untimed inferences, then ``runs``
    inferences reading ``get_profiling_info()`` after each (the counters describe only the last
    inference), and summarises each layer by the median and the 10th/90th percentiles.
    Fused nodes are mapped back with the runtime model's ``originalLayersNames``: a ReLU fused
    into its convolution gets ``status="FUSED"``, ``fused_into="conv1"`` and no time of its own;
    a layer that ran as several nodes (separable: GroupConvolution + Convolution) gets their sum.

    Parameters
    ----------
    model : efficientnn Sequential
    runs : int, timed inferences (>= 1); 50-200 gives stable medians
    warmup : int, untimed inferences first (the first ones run about 10x slower)
    batch_size : int, examples per inference
    num_threads : int or None, CPU threads (None: OpenVINO's default, all cores)
    x : (batch_size, *input_shape) float32 or None (None: standard normal noise from ``seed``)
    flops_per_second : float or None, peak used for ``predicted_us`` (None:
        :func:`peak_flops_per_second`)

    Returns
    -------
    list of :class:`LayerTime`, in execution order: one row per efficientnn layer, plus one per
    executed node that belongs to no layer (``inserted=True``: ``Reorder`` layout changes,
    ``kind="reorder"``, or the input/output ``Transpose``). Every executed node's time is in
    exactly one row, so the medians add up to about the whole inference.

    Example
    -------
    >>> rows = layer_times(base_cnn_pooled(), runs=50)        # doctest: +SKIP
    >>> [(r.name, r.status, round(r.median_us)) for r in rows][:2]  # doctest: +SKIP
    [('conv1', 'EXECUTED', 5), ('relu1', 'FUSED', 0)]
    """
    _check_model(model)
    for value, what in ((runs, "runs"), (batch_size, "batch_size")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{what} must be a positive int, got {value!r}.")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0, got {warmup!r}.")
    if x is None:
        shape = (batch_size, *model.input_shape)
        x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    x = _input_array(model, x)
    if x.shape[0] != batch_size:
        raise ValueError(f"x holds {x.shape[0]} examples but batch_size is {batch_size}.")

    compiled = compile_model(model, profiling=True, num_threads=num_threads, batch_size=batch_size)
    try:
        times, info = _sample_profiles(compiled, x, runs, warmup)
        nodes = _runtime_nodes(compiled)
    except Exception as err:
        raise OpenVINOUnavailable(f"OpenVINO failed while running the model: {err}") from err

    peak = float(flops_per_second) if flops_per_second else peak_flops_per_second()
    owner, fused_into = map_nodes_to_layers(nodes, [layer.name for layer in model.layers])
    costs = _costs(model)
    rows = []
    for index, layer in enumerate(model.layers):
        mine = [n for n in nodes if owner[n["name"]] == layer.name]
        status, into = _layer_status(layer.name, mine, fused_into, info)
        cost = costs.get(layer.name)
        macs, flops = (int(cost.macs) * batch_size, int(cost.flops) * batch_size) if cost else (0, 0)
        row = _row(layer.name, layer.kind, status, into, mine, times, info, runs, batch_size,
                   macs, flops, _layer_bytes(layer, batch_size), peak)
        rows.append((min((n["order"] for n in mine), default=None), index, row))
    for node in nodes:
        if owner[node["name"]] is None and _ran(node, info):
            moved = 2 * node["elements"] * _BYTES_PER_FLOAT  # a copy: read once, write once
            row = _row(node["name"], node["type"].lower(), "EXECUTED", None, [node], times, info, runs,
                       batch_size, 0, 0, moved, peak, inserted=True)
            rows.append((node["order"], -1, row))
    return [row for _, _, row in _sort_rows(rows)]


def _ran(node, info):
    return info.get(node["name"], {}).get("executed", False)


def _layer_status(name, mine, fused_into, info):
    """``(status, fused_into)`` of a layer from its own runtime nodes and the fusion map."""
    if any(_ran(n, info) for n in mine):
        return "EXECUTED", None
    if name in fused_into:
        return "FUSED", fused_into[name]
    return ("NOT_RUN" if mine else "OPTIMIZED_OUT"), None


def _sort_rows(rows):
    """Execution order; a layer without a node of its own goes right after the layer before it."""
    keyed, last = [], -1.0
    layer_rows = sorted((r for r in rows if r[1] >= 0), key=lambda r: r[1])
    for order, index, row in layer_rows:
        key = float(order) if order is not None else last + 1e-3
        if row.status == "FUSED":
            key = last + 1e-3
        keyed.append((key, index, row))
        last = key
    keyed += [(float(order), 1_000_000, row) for order, index, row in rows if index < 0]
    return sorted(keyed, key=lambda r: (r[0], r[1]))


def _row(name, kind, status, fused_into, nodes, times, info, runs, batch_size, macs, flops, moved, peak,
         inserted=False):
    per_run = np.zeros(runs)
    for node in nodes:
        samples = times.get(node["name"])
        if samples is not None and len(samples) == runs:
            per_run += np.asarray(samples)
    ran = [n for n in nodes if _ran(n, info)]
    shown = ran or nodes
    return LayerTime(
        name=name,
        kind=kind,
        status=status,
        fused_into=fused_into,
        node_type="+".join(info.get(n["name"], {}).get("type", n["type"]) for n in shown),
        exec_type="+".join(info.get(n["name"], {}).get("exec", "") for n in ran),
        nodes=tuple(n["name"] for n in nodes),
        median_us=float(np.median(per_run)),
        p10_us=float(np.percentile(per_run, 10)),
        p90_us=float(np.percentile(per_run, 90)),
        runs=runs,
        batch_size=batch_size,
        macs=macs,
        flops=flops,
        bytes_moved=int(moved),
        flops_per_byte=flops / moved if moved else 0.0,
        predicted_us=flops / peak * 1e6,
        inserted=inserted,
    )


def format_table(rows):
    """A plain-text table of :func:`layer_times` rows (one line per row, then the total).

    Columns: layer, kind, status (``FUSED->conv1`` names the node that did the work), OpenVINO
    kernel, measured median and p10-p90 in microseconds, predicted microseconds (FLOPs / peak),
    MFLOPs and FLOPs per byte.

    Returns
    -------
    str, print it.
    """
    header = ("layer", "kind", "status", "exec_type", "median us", "p10-p90 us", "pred us", "MFLOPs", "FLOP/B")
    lines = []
    for r in rows:
        status = f"FUSED->{r.fused_into}" if r.status == "FUSED" else r.status
        lines.append(
            (
                r.name,
                r.kind,
                status,
                r.exec_type or "-",
                f"{r.median_us:.1f}",
                f"{r.p10_us:.0f}-{r.p90_us:.0f}",
                f"{r.predicted_us:.2f}",
                f"{r.flops / 1e6:.3f}",
                f"{r.flops_per_byte:.2f}",
            )
        )
    total_us = sum(r.median_us for r in rows)
    total_pred = sum(r.predicted_us for r in rows)
    total_flops = sum(r.flops for r in rows)
    footer = ("total", "", "", "", f"{total_us:.1f}", "", f"{total_pred:.2f}", f"{total_flops / 1e6:.3f}", "")
    widths = [max(len(str(line[i])) for line in [header, *lines, footer]) for i in range(len(header))]
    right = {4, 5, 6, 7, 8}

    def fmt(line):
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(line, widths)))

    rule = "-" * len(fmt(header))
    return "\n".join([fmt(header), rule, *map(fmt, lines), rule, fmt(footer)])


# --------------------------------------------------------------------------- plots
def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def _kind_colour(kind):
    palette = {
        "conv": "tab:blue",
        "depthwise": "tab:orange",
        "separable": "tab:green",
        "dense": "tab:purple",
        "maxpool": "tab:brown",
        "avgpool": "tab:pink",
        "relu": "tab:gray",
        "flatten": "tab:olive",
    }
    return palette.get(kind, "tab:red")


def layer_times_plot(rows, ax=None):
    """Horizontal bars of each row's median time (us), whiskers from p10 to p90.

    Fused and idle layers show as empty bars labelled with where their work went.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax, (7, 0.35 * len(rows) + 1.2))
    labels = [f"{r.name} ({r.kind})" for r in rows]
    y = np.arange(len(rows))
    med = np.array([r.median_us for r in rows])
    err = np.array([[r.median_us - r.p10_us for r in rows], [r.p90_us - r.median_us for r in rows]])
    ax.barh(y, med, xerr=err, color=[_kind_colour(r.kind) for r in rows], capsize=2)
    for yi, r in zip(y, rows):
        if r.status != "EXECUTED":
            note = f"fused into {r.fused_into}" if r.status == "FUSED" else r.status.lower()
            ax.text(0, yi, " " + note, va="center", fontsize=8, color="dimgray")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"time per inference (us), median of {rows[0].runs if rows else 0} runs, p10-p90 whiskers")
    ax.set_title("OpenVINO per-layer time (CPU, float32)")
    fig.tight_layout()
    return fig


def predicted_vs_measured_plot(rows, ax=None):
    """Per layer with FLOPs: predicted time (FLOPs / peak FLOP/s) beside measured time, log scale.

    A measured bar much longer than the predicted one marks a layer that does not run at GEMM
    speed: usually memory-bound (see :func:`roofline_plot`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    shown = [r for r in rows if r.flops > 0 and r.median_us > 0]
    fig, ax = _axes(ax, (7, 0.5 * len(shown) + 1.5))
    y = np.arange(len(shown))
    ax.barh(y - 0.2, [r.predicted_us for r in shown], height=0.4, label="predicted: FLOPs / peak FLOP/s")
    ax.barh(y + 0.2, [r.median_us for r in shown], height=0.4, label="measured (OpenVINO median)")
    for yi, r in zip(y, shown):
        ax.text(r.median_us, yi + 0.2, f" {r.median_us / r.predicted_us:.3g}x", va="center", fontsize=8)
    ax.set_yticks(y, [f"{r.name} ({r.kind})" for r in shown])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("time per inference (us, log scale)")
    ax.set_title("Counted cost vs measured time")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.5 / max(len(shown), 1)), ncol=2, fontsize=8)
    fig.tight_layout()
    return fig


def roofline_plot(rows, flops_per_second=None, bytes_per_second=None, ax=None):
    """Roofline: achieved FLOP/s against arithmetic intensity (FLOPs per byte moved), log-log.

    The roof is ``min(peak FLOP/s, bandwidth x intensity)``: left of the ridge point a layer can
    go no faster than memory feeds it. Depthwise layers do ~kh*kw MACs per input value, so
    they sit far left, under the memory roof, and their FLOPs under-predict their time.

    Parameters
    ----------
    rows : list of :class:`LayerTime` (rows without FLOPs or own time are skipped)
    flops_per_second : float or None, compute roof (None: :func:`peak_flops_per_second`)
    bytes_per_second : float or None, memory roof (None: :func:`memory_bytes_per_second`)

    Returns
    -------
    matplotlib.figure.Figure
    """
    peak = flops_per_second or peak_flops_per_second()
    bandwidth = bytes_per_second or memory_bytes_per_second()
    shown = [r for r in rows if r.flops > 0 and r.median_us > 0]
    fig, ax = _axes(ax, (7, 5))
    ridge = peak / bandwidth
    lo = min([r.flops_per_byte for r in shown] + [ridge]) / 4
    hi = max([r.flops_per_byte for r in shown] + [ridge]) * 4
    xs = np.geomspace(lo, hi, 200)
    ax.plot(xs, np.minimum(peak, bandwidth * xs) / 1e9, color="black", lw=1.5,
            label=f"roof: {peak / 1e9:.0f} GFLOP/s, {bandwidth / 1e9:.1f} GB/s")
    for r in shown:
        ax.scatter(r.flops_per_byte, r.flops_per_second / 1e9, color=_kind_colour(r.kind), zorder=3)
        ax.annotate(r.name, (r.flops_per_byte, r.flops_per_second / 1e9), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    ax.axvline(ridge, color="gray", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOPs per byte of input + weights + output)")
    ax.set_ylabel("achieved GFLOP/s (OpenVINO)")
    ax.set_title("Roofline: memory-bound left of the dotted ridge, compute-bound right")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
