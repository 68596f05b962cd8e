"""Example class for 05-openvino-timing (read by course/examples/build.py).

Parts 1 to 5 are checked against the measurement taken when the notebook runs for grading, so
the answers below that read the measurement are written as code over the measured rows (as a
student's typed name would be checked against the grading run, these stay in step with it).

alice: every solution, her own variant included (9 / 9). bob: the released notebook untouched (0).
carol: the lesson's slips: the convolution with the most FLOPs taken for the slower one, the
NOT_RUN flatten taken for the fused layers (the ReLUs left out), the speed-up compared with the MAC
fraction instead of the MAC ratio, MACs per byte for the intensity; variant blank. Her part 1 (the
layer with the most FLOPs) and part 4 are right on this course's machines, where fc1 has both the
most FLOPs and the largest time: 2 / 9 there, or 3 / 9 in a run where the two convolutions' times
tie (seen when grading with --workers 2, the kernels then compete for the cores).
dave: partial credit: only the ReLUs fused into convolutions listed, values instead of bytes in
the intensity, the rest right, his variant from the solution's formula (5 / 9).
erin: right throughout, in other accepted forms (upper case and spaces, a comma-separated string,
"Faster", "less", the intensity and her variant's as strings) (9 / 9).
"""

DESCRIPTIONS = {
    "alice": "the solutions: full marks",
    "bob": "blank: the released notebook, unchanged",
    "carol": "FLOPs for time, NOT_RUN for fused, the MAC fraction for the ratio, MACs per byte",
    "dave": "one fused layer missed, values for bytes, the rest right: partial credit",
    "erin": "right throughout, in other accepted forms, her variant included",
}

STUDENTS = {
    "alice": "solution",
    "bob": "blank",
    "carol": {
        "answer_dominant_layer": '''
# the layer with the most FLOPs must take the most time
answer_dominant_layer = max(cost.profile(base_cnn()), key=lambda c: c.flops).name
''',
        "answer_slower_conv": '''
# more FLOPs, more time
answer_slower_conv = max((c for c in cost.profile(base_cnn()) if c.kind == "conv"), key=lambda c: c.flops).name
''',
        "answer_fused_layers": '''
# the ReLUs have their own rows, so they ran; the flatten did not run, it must have been merged away
answer_fused_layers = {r.name for r in rows_base if r.status == "NOT_RUN"}
''',
        "answer_speedup_sign": '''
answer_speedup_sign = "faster" if mac_ratio > 1 else "slower"
''',
        "answer_speedup_vs_macs": '''
measured_speedup = best_ms["standard"] / best_ms["separable"]
answer_speedup_vs_macs = "smaller" if measured_speedup < 1 / mac_ratio else "larger"
''',
        "answer_depthwise_intensity": '''
macs = cost.depthwise_macs((28, 28, 32), 5, padding="same")
answer_depthwise_intensity = macs / (4 * (28 * 28 * 32 + 5 * 5 * 32 + 28 * 28 * 32))
''',
    },
    "dave": {
        "__base__": "solution",
        "answer_dominant_layer": '''
answer_dominant_layer = sorted(rows_base, key=lambda r: r.median_us)[-1].name
''',
        "answer_fused_layers": '''
# the ReLUs after the convolutions
answer_fused_layers = {r.name for r in rows_base if r.status == "FUSED" and r.fused_into.startswith("conv")}
''',
        "answer_depthwise_intensity": '''
flops = 2 * cost.depthwise_macs((28, 28, 32), 5, padding="same")
answer_depthwise_intensity = flops / (28 * 28 * 32 + 5 * 5 * 32 + 28 * 28 * 32)
''',
    },
    "erin": {
        "answer_dominant_layer": '''
timed = {r.name: r.median_us for r in rows_base if r.status == "EXECUTED"}
answer_dominant_layer = " " + max(timed, key=timed.get).upper()
''',
        "answer_slower_conv": '''
conv_times = {r.name: r.median_us for r in rows_base if r.name in ("conv1", "conv2")}
answer_slower_conv = sorted(conv_times, key=conv_times.get)[-1]
''',
        "answer_fused_layers": '''
answer_fused_layers = ", ".join(r.name for r in rows_base if r.fused_into is not None)
''',
        "answer_speedup_sign": '''
answer_speedup_sign = "Faster" if best_ms["standard"] / best_ms["separable"] > 1 else "Slower"
''',
        "answer_speedup_vs_macs": '''
answer_speedup_vs_macs = "less" if best_ms["standard"] / best_ms["separable"] < mac_ratio else "more"
''',
        "answer_depthwise_intensity": '''
flops = 2 * 28 * 28 * 32 * 5 * 5
bytes_moved = 4 * (2 * 28 * 28 * 32 + 5 * 5 * 32)
answer_depthwise_intensity = f"{flops / bytes_moved:.3g}"
''',
        "answer_variant_depthwise_intensity": '''
p = my_variant.params
flops = 2 * p["side"] ** 2 * p["channels"] * p["kernel"] ** 2
bytes_moved = 4 * (2 * p["side"] ** 2 * p["channels"] + p["kernel"] ** 2 * p["channels"])
answer_variant_depthwise_intensity = f"{flops / bytes_moved:.3g}"
''',
    },
}
