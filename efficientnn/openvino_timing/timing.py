"""Timing every layer of a model on this CPU with OpenVINO's per-node profiling counters.

Each layer's measured time is lined up with the time its FLOPs predict at the machine's peak
(:mod:`~efficientnn.openvino_timing.peak_rates`); fused nodes are mapped back to the layers
they came from.

Example
-------
>>> from efficientnn.models import base_cnn_pooled
>>> rows = layer_times(base_cnn_pooled(), runs=50)             # doctest: +SKIP
>>> [(r.name, r.status) for r in rows][:2]                      # doctest: +SKIP
[('conv1', 'EXECUTED'), ('relu1', 'FUSED')]
>>> print(format_table([]).splitlines()[0].split())
['layer', 'kind', 'status', 'exec_type', 'median', 'us', 'p10-p90', 'us', 'pred', 'us', 'MFLOPs', 'FLOP/B']
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..validation import positive_int
from .conversion import OpenVINOUnavailable, check_convertible, compile_model
from .peak_rates import peak_flops_per_second

__all__ = [
    "LayerTime",
    "openvino_forward",
    "inference_latency_ms",
    "layer_times",
    "map_nodes_to_layers",
    "format_table",
]

_BYTES_PER_FLOAT = 4
# Node types that hold no work of their own: graph inputs, outputs and weights.
_BOOKKEEPING_TYPES = {"Parameter", "Input", "Result", "Output", "Const", "Constant"}


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
    from ..cost import profile

    return {c.name: c for c in profile(model)}


def layer_times(model, runs=100, warmup=10, batch_size=1, num_threads=None, x=None, seed=0, flops_per_second=None,
                ov_model=None):
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
    ov_model : openvino.Model or None, timed instead of ``to_openvino(model)`` when given: the same
        network transformed, e.g. quantized to int8 by NNCF (its node names keep the layer names)

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
    check_convertible(model)
    runs = positive_int(runs, "runs")
    batch_size = positive_int(batch_size, "batch_size")
    warmup = positive_int(warmup, "warmup", allow_zero=True)
    if x is None:
        shape = (batch_size, *model.input_shape)
        x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    x = _input_array(model, x)
    if x.shape[0] != batch_size:
        raise ValueError(f"x holds {x.shape[0]} examples but batch_size is {batch_size}.")

    compiled = compile_model(model if ov_model is None else ov_model, profiling=True, num_threads=num_threads,
                             batch_size=batch_size)
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
