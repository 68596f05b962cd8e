"""Quantization: what int8 costs in accuracy and buys in bytes and time.

Measures, in one run:

- base_cnn trained on the digits (as the notebooks train it), then quantized after training
  (PTQ, 8-bit weights and activations, calibrated on 300 training images) with efficientnn's
  numpy integer path, per output channel and per tensor: accuracy drop in points (target: at
  most 1 point per channel) and the weights' bytes (target: 4x smaller); the same with NNCF's
  int8 OpenVINO model;
- one compute-heavy layer (56x56x64 -> 64 channels, 3x3, padding 1, as bench_openvino) in float32
  and in int8 (NNCF), timed layer by layer by OpenVINO on one thread and on all: the measured
  speed-up, the kernels OpenVINO chose, and the arithmetic intensity in each precision. The two
  precisions are timed in alternating rounds and each keeps its best round, so that load from
  other programs hits both alike.

Run with ``python -m benchmarks --only quantization`` or ``python -m benchmarks.bench_quantization``.
"""
from __future__ import annotations

import os

import numpy as np

from efficientnn import openvino_timing as ovt
from efficientnn import quantization as q
from efficientnn.cost import total_macs
from efficientnn.data import load_digits
from efficientnn.layers import Conv2D, ReLU
from efficientnn.models import Sequential, base_cnn
from efficientnn.train import accuracy, fit

SHAPE = (56, 56, 64)
FILTERS = 64
ROUNDS = 5
RUNS = 50


def _digits():
    """Accuracy and bytes of base_cnn in float32 and after int8 PTQ."""
    from threadpoolctl import threadpool_limits

    x_train, y_train, x_test, y_test = load_digits()
    model = base_cnn(seed=0)
    with threadpool_limits(1):
        fit(model, x_train, y_train, epochs=4, seed=0, progress=False)
        base = accuracy(model, x_test, y_test)
        out = {"test_images": len(y_test), "float_accuracy": base}
        for label, per_channel in (("per_channel", True), ("per_tensor", False)):
            qmodel = q.QuantizedModel(model, x_train[:300], per_channel=per_channel)
            out[f"{label}_accuracy"] = accuracy(qmodel, x_test, y_test)
            out[f"{label}_drop_points"] = 100 * (base - out[f"{label}_accuracy"])
            out[f"{label}_weight_bytes"] = qmodel.weight_bytes()
        out["float_weight_bytes"] = qmodel.float_weight_bytes()
    try:
        int8 = q.to_openvino_int8(model, x_train, subset_size=300)
        out["openvino_float_accuracy"] = q.openvino_accuracy(ovt.to_openvino(model), x_test, y_test)
        out["openvino_int8_accuracy"] = q.openvino_accuracy(int8, x_test, y_test)
        out["openvino_int8_drop_points"] = 100 * (out["openvino_float_accuracy"] - out["openvino_int8_accuracy"])
    except (ovt.OpenVINOUnavailable, q.NNCFUnavailable) as err:
        out["openvino_skipped"] = str(err)
    return out


def _best_rounds(model, int8, num_threads):
    """Alternating rounds of f32 and int8 layer timing; each precision keeps its fastest round."""
    best = {}
    for _ in range(ROUNDS):
        f32_rows, int8_rows = q.compare_layer_times(model, int8, runs=RUNS, warmup=10, num_threads=num_threads)
        for key, rows in (("f32", f32_rows), ("int8", int8_rows)):
            row = next(r for r in rows if r.name == "conv")
            if key not in best or row.median_us < best[key].median_us:
                best[key] = row
    f32, i8 = best["f32"], best["int8"]
    return {
        "threads": num_threads or "all",
        "f32_us": f32.median_us, "int8_us": i8.median_us, "speedup": f32.median_us / i8.median_us,
        "f32_kernel": f32.exec_type, "int8_kernel": i8.exec_type,
        "f32_flops_per_byte": f32.flops_per_byte, "int8_flops_per_byte": i8.flops_per_byte,
        "f32_gflops": f32.flops_per_second / 1e9, "int8_gops": i8.flops_per_second / 1e9,
    }


def _heavy_layer():
    model = Sequential([Conv2D(FILTERS, 3, padding=1, name="conv"), ReLU()], SHAPE, name="conv_56x56x64")
    calibration = np.random.default_rng(0).random((16, *SHAPE), dtype=np.float32)  # ReLU-like inputs
    int8 = q.to_openvino_int8(model, calibration, subset_size=16)
    return {"macs": total_macs(model), "timings": [_best_rounds(model, int8, threads) for threads in (1, None)]}


def run():
    """Measure everything; return a JSON-friendly dict (accuracies as shares, times in us)."""
    out = {"load_average": os.getloadavg()[0], "cpu_count": os.cpu_count(), "digits": _digits()}
    try:
        out["heavy_layer"] = _heavy_layer()
    except (ovt.OpenVINOUnavailable, q.NNCFUnavailable) as err:
        out["heavy_layer"] = {"skipped": str(err)}
    return out


def format_results(results):
    """The results of :func:`run` as text."""
    d = results["digits"]
    lines = [f"base_cnn on the digits ({d['test_images']} test images), int8 post-training quantization "
             "(weights symmetric, activations asymmetric, calibrated on 300 training images)",
             f"  {'float32 (numpy)':<28} accuracy {d['float_accuracy']:.2%}   weights {d['float_weight_bytes']:,} B"]
    for label in ("per_channel", "per_tensor"):
        lines.append(f"  {'int8 ' + label.replace('_', ' ') + ' (numpy)':<28} accuracy {d[f'{label}_accuracy']:.2%}   drop "
                     f"{d[f'{label}_drop_points']:+.2f} points   weights {d[f'{label}_weight_bytes']:,} B "
                     f"({d['float_weight_bytes'] / d[f'{label}_weight_bytes']:.2f}x smaller)")
    if "openvino_int8_accuracy" in d:
        lines.append(f"  {'int8 NNCF (OpenVINO)':<28} accuracy {d['openvino_int8_accuracy']:.2%}   drop "
                     f"{d['openvino_int8_drop_points']:+.2f} points (OpenVINO float32: {d['openvino_float_accuracy']:.2%})")
    lines.append(f"  targets: per-channel drop <= 1 point: {'met' if d['per_channel_drop_points'] <= 1 else 'MISSED'}; "
                 f"weights 4x smaller: {d['float_weight_bytes'] / d['per_channel_weight_bytes']:.2f}x "
                 "(the per-channel scales cost 4 bytes each)")
    heavy = results["heavy_layer"]
    if "skipped" in heavy:
        lines.append(f"compute-heavy layer skipped: {heavy['skipped']}")
    else:
        lines.append(f"\nOne conv 3x3, {'x'.join(map(str, SHAPE))} -> {FILTERS}, padding 1, batch 1 (OpenVINO, "
                     f"best of {ROUNDS} alternating rounds of {RUNS} inferences)")
        lines.append(f"  {'threads':<8}{'f32 kernel':<22}{'f32 us':>9}  {'int8 kernel':<26}{'int8 us':>9}{'speed-up':>10}"
                     f"{'FLOP/B f32':>12}{'int8':>8}")
        for t in heavy["timings"]:
            lines.append(f"  {str(t['threads']):<8}{t['f32_kernel']:<22}{t['f32_us']:>9.1f}  {t['int8_kernel']:<26}"
                         f"{t['int8_us']:>9.1f}{t['speedup']:>9.2f}x{t['f32_flops_per_byte']:>12.1f}"
                         f"{t['int8_flops_per_byte']:>8.1f}")
    if results["load_average"] > 0.5 * results["cpu_count"]:
        lines.append(f"WARNING: load average {results['load_average']:.1f} on {results['cpu_count']} cores: "
                     "other work shares the CPU, so the times are unreliable; rerun on a quiet machine.")
    return "\n".join(lines)


def main():
    """Run the benchmark, print its table, return the results dict."""
    results = run()
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
