"""OpenVINO beside efficientnn on one compute-bound layer: 56x56x64 -> 64 channels, 3x3, padding 1.

Measures, in one run:

- efficientnn's fast ``Conv2D.forward`` (numpy im2col + GEMM) over OpenVINO's time for the same
  layer (target: within 3x);
- the separable block's measured speed-up over the standard conv, beside its MAC ratio
  (``1 / (1/N + 1/9)`` = 7.9x for N = 64): FLOPs promise more than the CPU delivers because the
  depthwise half is memory-bound;
- achieved GFLOP/s and arithmetic intensity of the standard, depthwise and pointwise convs.

Run with ``python -m benchmarks`` (all benchmarks) or ``python -m benchmarks.bench_openvino``.
"""
from __future__ import annotations

import os
import time

import numpy as np

from efficientnn import openvino_timing as ovt
from efficientnn.layers import Conv2D, DepthwiseConv2D, SeparableConv2D
from efficientnn.models import Sequential

SHAPE = (56, 56, 64)
FILTERS = 64
KERNEL = 3
RUNS = 100


def _numpy_forward_ms(model, x, repeats=30):
    """Median and 10th percentile of ``model.forward(x)`` in ms."""
    model.forward(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.forward(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3), float(np.percentile(times, 10) * 1e3)


def _measure(name, layer, peak):
    model = Sequential([layer], SHAPE, name=name)
    x = np.random.default_rng(0).standard_normal((1, *SHAPE)).astype(np.float32)
    rows = ovt.layer_times(model, runs=RUNS, flops_per_second=peak)
    row = next(r for r in rows if r.name == model.layers[0].name)
    numpy_ms, numpy_p10_ms = _numpy_forward_ms(model, x)
    return {
        "layer": name,
        "macs": row.macs,
        "flops_per_byte": row.flops_per_byte,
        "exec_type": row.exec_type,
        "numpy_ms": numpy_ms,
        "numpy_p10_ms": numpy_p10_ms,
        "openvino_layer_ms": row.latency_ms,
        "openvino_layer_p10_ms": row.p10_us / 1e3,
        "openvino_layer_p90_ms": row.p90_us / 1e3,
        "openvino_inference_ms": ovt.inference_latency_ms(model, runs=RUNS),
        "predicted_ms": row.predicted_us / 1e3,
        "achieved_gflops": row.flops_per_second / 1e9,
        "reorder_ms": sum(r.median_us for r in rows if r.inserted) / 1e3,
    }


def run():
    """Measure everything; return a JSON-friendly dict (times in ms, rates in GFLOP/s)."""
    load = os.getloadavg()[0]
    peak = ovt.peak_flops_per_second()
    layers = {
        "conv 3x3": Conv2D(FILTERS, KERNEL, padding=1),
        "separable 3x3": SeparableConv2D(FILTERS, KERNEL, padding=1),
        "depthwise 3x3": DepthwiseConv2D(KERNEL, padding=1),
        "pointwise 1x1": Conv2D(FILTERS, 1),
    }
    rows = [_measure(name, layer, peak) for name, layer in layers.items()]
    by = {r["layer"]: r for r in rows}
    conv, sep = by["conv 3x3"], by["separable 3x3"]
    return {
        "load_average": load,
        "cpu_count": os.cpu_count(),
        "input_shape": list(SHAPE),
        "filters": FILTERS,
        "kernel_size": KERNEL,
        "peak_gflops": peak / 1e9,
        "memory_gb_per_s": ovt.memory_bytes_per_second() / 1e9,
        "layers": rows,
        "ratios": {
            "numpy_conv_over_openvino_layer": conv["numpy_ms"] / conv["openvino_layer_ms"],
            "numpy_conv_over_openvino_inference": conv["numpy_ms"] / conv["openvino_inference_ms"],
            # 10th percentiles: what each can do when the machine is not shared for a moment.
            "numpy_conv_over_openvino_layer_p10": conv["numpy_p10_ms"] / conv["openvino_layer_p10_ms"],
            "separable_mac_ratio": conv["macs"] / sep["macs"],
            "separable_speedup_openvino_layer": conv["openvino_layer_ms"] / sep["openvino_layer_ms"],
            "separable_speedup_openvino_inference": conv["openvino_inference_ms"] / sep["openvino_inference_ms"],
            "separable_speedup_numpy": conv["numpy_ms"] / sep["numpy_ms"],
        },
    }


def format_results(results):
    """The results of :func:`run` as a text table."""
    head = (f"OpenVINO vs efficientnn, input {'x'.join(map(str, results['input_shape']))}, "
            f"{results['kernel_size']}x{results['kernel_size']} -> {results['filters']}, batch 1, float32; "
            f"peak {results['peak_gflops']:.0f} GFLOP/s (numpy GEMM), memory {results['memory_gb_per_s']:.1f} GB/s")
    cols = ("layer", "MMACs", "FLOP/B", "numpy ms", "OV layer ms (p10-p90)", "OV infer ms", "pred ms", "GFLOP/s",
            "kernel")
    lines = [cols]
    for r in results["layers"]:
        lines.append((
            r["layer"], f"{r['macs'] / 1e6:.2f}", f"{r['flops_per_byte']:.1f}", f"{r['numpy_ms']:.3f}",
            f"{r['openvino_layer_ms']:.3f} ({r['openvino_layer_p10_ms']:.3f}-{r['openvino_layer_p90_ms']:.3f})",
            f"{r['openvino_inference_ms']:.3f}", f"{r['predicted_ms']:.3f}", f"{r['achieved_gflops']:.0f}",
            r["exec_type"],
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(cols))]
    table = ["  ".join(c.ljust(w) if i in (0, 8) else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
             for line in lines]
    ratio = results["ratios"]
    notes = [
        f"numpy conv / OpenVINO conv: {ratio['numpy_conv_over_openvino_layer']:.1f}x (layer counter), "
        f"{ratio['numpy_conv_over_openvino_inference']:.1f}x (whole inference), "
        f"{ratio['numpy_conv_over_openvino_layer_p10']:.1f}x (p10 over p10)   target: within 3x",
        f"separable vs conv: MACs cut {ratio['separable_mac_ratio']:.1f}x; measured speed-up "
        f"{ratio['separable_speedup_openvino_layer']:.1f}x (OpenVINO layer), "
        f"{ratio['separable_speedup_openvino_inference']:.1f}x (OpenVINO inference), "
        f"{ratio['separable_speedup_numpy']:.1f}x (numpy)",
    ]
    if results["load_average"] > 0.5 * results["cpu_count"]:
        notes.append(f"WARNING: load average {results['load_average']:.1f} on {results['cpu_count']} cores: "
                     "other work shares the CPU, so these times are unreliable; rerun on a quiet machine.")
    return "\n".join([head, "-" * len(table[0]), *table, "-" * len(table[0]), *notes])


def main():
    """Run the benchmark, print its table, return the results dict."""
    try:
        results = run()
    except ovt.OpenVINOUnavailable as err:
        print(f"bench_openvino skipped: {err}")
        return {"skipped": str(err)}
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
