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

Modules: :mod:`~efficientnn.openvino_timing.conversion` (the OpenVINO model),
:mod:`~efficientnn.openvino_timing.timing` (per-layer times) and
:mod:`~efficientnn.openvino_timing.peak_rates` (the roofs). Every public name is importable from
``efficientnn.openvino_timing`` itself; the three plots live in :mod:`efficientnn.plots`.

Example
-------
>>> from efficientnn.models import base_cnn_pooled
>>> from efficientnn import openvino_timing as ovt
>>> model = base_cnn_pooled()
>>> "conv" in ovt.SUPPORTED_KINDS
True
>>> rows = ovt.layer_times(model, runs=50)           # doctest: +SKIP
>>> print(ovt.format_table(rows))                    # doctest: +SKIP
>>> ovt.roofline_plot(rows)                          # doctest: +SKIP
"""

from __future__ import annotations

from ..moved_plots import plot_forwarder
from . import conversion, peak_rates, timing
from .conversion import (INSTALL_HINT, SUPPORTED_KINDS, OpenVINOGraph, OpenVINOUnavailable, _import_openvino,
                         compile_model, save_ir, to_openvino)
from .peak_rates import memory_bytes_per_second, peak_flops_per_second
from .timing import LayerTime, format_table, inference_latency_ms, layer_times, map_nodes_to_layers, openvino_forward

_PLOTS = ("layer_times_plot", "predicted_vs_measured_plot", "roofline_plot")
__all__ = [*conversion.__all__, *timing.__all__, *peak_rates.__all__, *_PLOTS]

# The plots moved to efficientnn.plots; notebooks still find them here.
__getattr__ = plot_forwarder(__name__, _PLOTS)
