"""A real int8 model in OpenVINO: NNCF's post-training quantization, its accuracy and its layer times.

:func:`to_openvino_int8` quantizes :func:`efficientnn.openvino_timing.to_openvino`'s model with
NNCF (imported only when used; without it :class:`NNCFUnavailable`), :func:`openvino_accuracy`
scores either model, and :func:`compare_layer_times` times both layer by layer, the int8 rows
counting one byte per value (:func:`int8_bytes_moved`); :func:`format_comparison` tabulates them.
The roofline figure of the two is :func:`efficientnn.plots.roofline_shift_plot`.

Example
-------
>>> from efficientnn.models import base_cnn
>>> int8_bytes_moved(base_cnn().layer("fc1"))   # 368,640 weights, 2,880 + 128 values, 128 scales and biases
372672
>>> int8 = to_openvino_int8(trained, x_train[:300])      # doctest: +SKIP
"""
from __future__ import annotations

import math

import numpy as np

from ..openvino_timing.conversion import no_telemetry
from ..validation import positive_int
from .models import _FLOAT_BYTES, _INTEGER_KERNELS

__all__ = [
    "NNCFUnavailable",
    "to_openvino_int8",
    "openvino_accuracy",
    "compare_layer_times",
    "format_comparison",
    "int8_bytes_moved",
]


# --------------------------------------------------------------------------- OpenVINO int8 with NNCF
class NNCFUnavailable(RuntimeError):
    """NNCF (or OpenVINO) is not installed or failed to quantize the model."""


def _import_nncf():
    try:
        with no_telemetry():
            import nncf
    except Exception as err:
        raise NNCFUnavailable(
            f"NNCF cannot be imported ({err}). Install it with `python -m pip install \"nncf>=2.15,<4\"` "
            "(it is in pyproject.toml)."
        ) from err
    return nncf


def to_openvino_int8(model, x_calibration, subset_size=300, preset="mixed"):
    """A real int8 OpenVINO model: NNCF's post-training quantization of ``to_openvino(model)``.

    NNCF runs the float model on ``x_calibration`` (one image per inference), records the range of
    every quantized tensor, and inserts FakeQuantize nodes (8 bits; weights symmetric per output
    channel, activations per tensor; ``preset="mixed"``: asymmetric activations). The CPU plugin
    turns each FakeQuantize -> Convolution pair into an int8 kernel.

    Parameters
    ----------
    model : efficientnn Sequential, trained
    x_calibration : (N, *model.input_shape) float32
    subset_size : int, calibration images used (at most N)
    preset : "mixed" or "performance" (symmetric activations too)

    Returns
    -------
    openvino.Model, input (1, H, W, C) NHWC float32 as :func:`efficientnn.openvino_timing.to_openvino`;
    node names keep the layer names (``conv1``, ``conv1/fq_weights_1``, ``relu1/fq_output_0``).

    Example
    -------
    >>> int8 = to_openvino_int8(trained, x_train[:300])      # doctest: +SKIP
    """
    from ..openvino_timing import to_openvino

    x = model._check_input(x_calibration)
    subset_size = positive_int(subset_size, "subset_size")
    presets = {"mixed": "MIXED", "performance": "PERFORMANCE"}
    if preset not in presets:
        raise ValueError(f"preset must be one of {sorted(presets)}, got {preset!r}.")
    nncf = _import_nncf()
    float_model = to_openvino(model, batch_size=1)
    dataset = nncf.Dataset(np.ascontiguousarray(x[:subset_size]), lambda image: image[None])
    try:
        with no_telemetry():  # NNCF reports each call to its telemetry
            return nncf.quantize(float_model, dataset, preset=getattr(nncf.QuantizationPreset, presets[preset]),
                                 subset_size=min(subset_size, len(x)))
    except Exception as err:
        raise NNCFUnavailable(f"NNCF could not quantize the model: {err}") from err


def openvino_accuracy(ov_model, x, y):
    """Share of the images ``x`` that an OpenVINO model classifies as ``y`` (CPU; float32 where not int8).

    Parameters
    ----------
    ov_model : openvino.Model with one NHWC input (any batch size; a copy is reshaped to ``len(x)``)
    x : (N, H, W, C) float32; y : (N,) int labels

    Returns
    -------
    float in [0, 1]

    Example
    -------
    >>> openvino_accuracy(int8, x_test, y_test)              # doctest: +SKIP
    0.958
    """
    from ..openvino_timing import compile_model

    x, y = np.ascontiguousarray(x, np.float32), np.asarray(y)
    if x.ndim != 4 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"expected images (N, H, W, C) and N labels (N >= 1), got shapes {x.shape} and {y.shape}.")
    batch = ov_model.clone()
    batch.reshape([len(x), *x.shape[1:]])  # one inference for the whole set
    logits = compile_model(batch, profiling=False).create_infer_request().infer({0: x})[0]
    return float(np.mean(np.argmax(logits, axis=1) == y))


def int8_bytes_moved(layer, batch_size=1):
    """Bytes a conv or dense layer moves in int8: 1 byte per input, weight and output value, plus its
    float32 scales and bias. (float32 moves 4 bytes per value; see :class:`efficientnn.openvino_timing.LayerTime`.)

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> int8_bytes_moved(base_cnn().layer("conv2"))
    6525
    """
    values = sum(int(np.asarray(v).size) for k, v in layer.params.items() if k == "W")
    activations = math.prod(layer.input_shape) + math.prod(layer.output_shape)
    channels = layer.output_shape[-1]
    return values + batch_size * activations + 2 * _FLOAT_BYTES * channels


def compare_layer_times(model, int8_model, runs=200, warmup=20, num_threads=None):
    """Time the float32 and int8 OpenVINO models layer by layer, with the same inputs and settings.

    Returns
    -------
    (f32_rows, int8_rows): lists of :class:`efficientnn.openvino_timing.LayerTime` from
    :func:`efficientnn.openvino_timing.layer_times`, the int8 rows with ``bytes_moved`` and
    ``flops_per_byte`` counted at one byte per value (:func:`int8_bytes_moved`).

    Example
    -------
    >>> f32_rows, int8_rows = compare_layer_times(model, to_openvino_int8(model, x_train))   # doctest: +SKIP
    """
    from dataclasses import replace

    from ..openvino_timing import layer_times

    f32_rows = layer_times(model, runs=runs, warmup=warmup, num_threads=num_threads)
    int8_rows = layer_times(model, runs=runs, warmup=warmup, num_threads=num_threads, ov_model=int8_model)
    layers = {layer.name: layer for layer in model.layers}
    out = []
    for row in int8_rows:
        layer = layers.get(row.name)
        if layer is not None and type(layer) in _INTEGER_KERNELS:
            moved = int8_bytes_moved(layer, row.batch_size)
            row = replace(row, bytes_moved=moved, flops_per_byte=row.flops / moved)
        out.append(row)
    return f32_rows, out


def format_comparison(f32_rows, int8_rows):
    """A table of the layers both timings ran: kernel and median time in f32 and int8, speed-up, and
    arithmetic intensity (FLOPs per byte) in each.

    Example
    -------
    >>> print(format_comparison(f32_rows, int8_rows))        # doctest: +SKIP
    """
    int8 = {r.name: r for r in int8_rows}
    header = f"{'layer':<8}{'f32 kernel':<24}{'us':>8}  {'int8 kernel':<26}{'us':>8}{'speed-up':>10}{'FLOP/B f32':>12}{'int8':>8}"
    lines = [header, "-" * len(header)]
    for r in f32_rows:
        q = int8.get(r.name)
        if q is None or r.median_us <= 0 or q.median_us <= 0 or r.inserted:
            continue
        lines.append(f"{r.name:<8}{r.exec_type:<24}{r.median_us:>8.1f}  {q.exec_type:<26}{q.median_us:>8.1f}"
                     f"{r.median_us / q.median_us:>9.2f}x{r.flops_per_byte:>12.1f}{q.flops_per_byte:>8.1f}")
    total_f32, total_int8 = sum(r.median_us for r in f32_rows), sum(r.median_us for r in int8_rows)
    lines.append("-" * len(header))
    lines.append(f"{'total':<8}{'':<24}{total_f32:>8.1f}  {'':<26}{total_int8:>8.1f}{total_f32 / total_int8:>9.2f}x")
    return "\n".join(lines)
