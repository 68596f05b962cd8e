"""How fast is efficientnn's numpy convolution? Against numpy's own GEMM, and against its loops.

For two convolutions (no padding, stride 1, float32):

- base_cnn's conv2, 26x26x5 -> 5 filters 3x3, at batch 256 (a tiny, memory-bound layer);
- a 56x56x64 -> 64 filters 3x3 conv at batch 8 (a compute-bound layer, MobileNet-sized),

it measures

- the fast ``Conv2D.forward`` (im2col + one GEMM) in GFLOP/s, FLOPs = 2 x ``cost.conv2d_macs``;
- a bare numpy float32 GEMM with the same shape as the conv's im2col GEMM
  ((N*Ho*Wo, kh*kw*Cin) @ (kh*kw*Cin, filters), hence the same FLOP count), in GFLOP/s;
- their ratio, conv over GEMM (target >= 0.5: the im2col copy may cost at most as much as the
  arithmetic);
- the fast forward's speed-up over ``forward_naive`` (plain Python loops). The loops are slow, so
  they run on a few images (or, for the big layer, a spatial crop of one image) and their time is
  scaled by MACs: the loop body runs once per MAC, so its time is proportional to the MAC count.

Run with ``python -m benchmarks`` (all benchmarks) or ``python -m benchmarks.bench_layers``.
"""
from __future__ import annotations

import os
import time

import numpy as np

from efficientnn import cost
from efficientnn.layers import Conv2D

# name, input shape (H, W, C), filters, kernel size, batch
CASES = (
    ("base_cnn conv2", (26, 26, 5), 5, 3, 256),
    ("56x56x64 conv", (56, 56, 64), 64, 3, 8),
)
RATIO_TARGET = 0.5
NAIVE_MAC_BUDGET = 1_000_000  # about 0.3 to 1 s of Python loops
MIN_SECONDS = 0.5  # time each fast operation for at least this long


def _median_seconds_interleaved(fns, min_seconds=MIN_SECONDS, min_repeats=5):
    """Median time of each function, calling them in turn so that both see the same load."""
    for fn in fns:
        fn()  # warm-up: first-touch page faults and BLAS thread start-up
    times = [[] for _ in fns]
    start = time.perf_counter()
    while len(times[0]) < min_repeats or time.perf_counter() - start < min_seconds * len(fns):
        for fn, record in zip(fns, times):
            t = time.perf_counter()
            fn()
            record.append(time.perf_counter() - t)
    return [float(np.median(record)) for record in times]


def _naive_crop(shape, filters, kernel, batch):
    """(images, rows, cols) of the input the loops run on: whole images if one fits the budget."""
    per_image = cost.conv2d_macs(shape, kernel, filters)
    if per_image <= NAIVE_MAC_BUDGET:
        return min(batch, NAIVE_MAC_BUDGET // per_image), shape[0], shape[1]
    side = shape[0]
    while side > kernel and cost.conv2d_macs((side, side, shape[2]), kernel, filters) > NAIVE_MAC_BUDGET:
        side -= 1
    return 1, side, side


def measure(name, shape, filters, kernel, batch, seed=0):
    """Measure one convolution; return a JSON-friendly dict (seconds, GFLOP/s, ratios)."""
    rng = np.random.default_rng(seed)
    layer = Conv2D(filters, kernel)
    out_shape = layer.build(shape, rng)
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    macs = batch * cost.conv2d_macs(shape, kernel, filters)
    flops = cost.flops_from_macs(macs)

    ho, wo, _ = out_shape
    k = kernel * kernel * shape[2]
    a = rng.standard_normal((batch * ho * wo, k)).astype(np.float32)
    b = rng.standard_normal((k, filters)).astype(np.float32)
    gemm_flops = 2 * a.shape[0] * a.shape[1] * b.shape[1]
    if gemm_flops != flops:
        raise AssertionError(f"GEMM shape does not match the conv: {gemm_flops} != {flops} FLOPs")
    conv_s, gemm_s = _median_seconds_interleaved([lambda: layer.forward(x), lambda: a @ b])

    images, rows, cols = _naive_crop(shape, filters, kernel, batch)
    small = Conv2D(filters, kernel)
    small.build((rows, cols, shape[2]))
    small.params = layer.params
    x_small = x[:images, :rows, :cols, :]
    t = time.perf_counter()
    y_naive = small.forward_naive(x_small)
    naive_small_s = time.perf_counter() - t
    naive_macs = images * cost.conv2d_macs((rows, cols, shape[2]), kernel, filters)
    naive_s = naive_small_s * macs / naive_macs
    max_error = float(np.max(np.abs(small.forward(x_small) - y_naive)))

    return {
        "layer": name,
        "input_shape": list(shape),
        "output_shape": list(out_shape),
        "batch": batch,
        "macs": macs,
        "flops": flops,
        "conv_ms": conv_s * 1e3,
        "gemm_ms": gemm_s * 1e3,
        "conv_gflops": flops / conv_s / 1e9,
        "gemm_gflops": flops / gemm_s / 1e9,
        "conv_over_gemm": gemm_s / conv_s,
        "naive_measured_on": f"{images} x {rows}x{cols}x{shape[2]}",
        "naive_measured_s": naive_small_s,
        "naive_estimated_s": naive_s,
        "fast_over_naive": naive_s / conv_s,
        "naive_max_abs_error": max_error,
    }


def run():
    """Measure every case; return a JSON-friendly dict."""
    return {
        "load_average": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
        "ratio_target": RATIO_TARGET,
        "cases": [measure(*case) for case in CASES],
    }


def format_results(results):
    """The results of :func:`run` as a text table."""
    cols = ("layer", "batch", "MFLOPs", "conv ms", "conv GFLOP/s", "GEMM GFLOP/s", "conv/GEMM",
            "naive s (est.)", "fast/naive", "naive run on")
    lines = [cols]
    for r in results["cases"]:
        lines.append((
            r["layer"], str(r["batch"]), f"{r['flops'] / 1e6:.1f}", f"{r['conv_ms']:.2f}",
            f"{r['conv_gflops']:.1f}", f"{r['gemm_gflops']:.1f}", f"{r['conv_over_gemm']:.2f}",
            f"{r['naive_estimated_s']:.1f}", f"{r['fast_over_naive']:.0f}x", r["naive_measured_on"],
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(cols))]
    table = ["  ".join(c.ljust(w) if i in (0, 9) else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
             for line in lines]
    rule = "-" * len(table[0])
    notes = []
    for r in results["cases"]:
        verdict = "meets" if r["conv_over_gemm"] >= results["ratio_target"] else "MISSES"
        notes.append(f"{r['layer']}: conv runs at {r['conv_over_gemm']:.2f} of GEMM speed, {verdict} the target "
                     f">= {results['ratio_target']}; fast and naive agree to {r['naive_max_abs_error']:.1e}")
    if results["load_average"] > 0.5 * results["cpu_count"]:
        notes.append(f"WARNING: load average {results['load_average']:.1f} on {results['cpu_count']} cores: "
                     "other work shares the CPU, so these times are unreliable; rerun on a quiet machine.")
    head = "Conv2D forward (numpy im2col + GEMM) against a bare numpy GEMM of the same FLOPs, float32"
    return "\n".join([head, rule, *table, rule, *notes])


def main():
    """Run the benchmark, print its table, return the results dict."""
    results = run()
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
