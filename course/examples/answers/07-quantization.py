"""Example class for 07-quantization (read by course/examples/build.py).

alice: every solution (8 / 8). bob: the released notebook untouched (0).
carol: the typical slips: the scale from the largest value instead of the largest magnitude, one
scale for every channel, the zero point's sign flipped, truncation instead of rounding, and the
integer product computed in numpy's narrow types (uint8 subtraction wraps, int16 sums overflow)
(0 / 8).
dave: partial credit: both scales right, the activation range not widened to hold 0, values beyond
the range not clipped, the integer product right (4 / 8).
erin: right throughout, written differently (a bit shift, np.moveaxis, np.round with a numpy int,
floor(x + 0.5) and uint8, np.einsum in int64) (8 / 8).
Right answers are written as formulas, like the solutions: no answer key is typed here.
"""

DESCRIPTIONS = {
    "alice": "the solutions: full marks",
    "bob": "blank: the released notebook, unchanged",
    "carol": "max for max-abs, one scale for all channels, zero point sign, truncation, uint8/int16 overflow",
    "dave": "scales right, range not widened to hold 0, no clipping, product right: partial credit",
    "erin": "right throughout, in other accepted forms",
}

STUDENTS = {
    "alice": "solution",
    "bob": "blank",
    "carol": {
        "symmetric_scale": '''
def symmetric_scale(w, bits):
    return float(np.max(w)) / (2 ** (bits - 1) - 1)
''',
        "per_channel_scales": '''
def per_channel_scales(w, bits):
    scale = np.max(np.abs(w)) / (2 ** (bits - 1) - 1)
    return np.full(w.shape[-1], scale)
''',
        "asymmetric_params": '''
def asymmetric_params(x_min, x_max, bits):
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = (hi - lo) / (2 ** bits - 1)
    return scale, round(lo / scale)
''',
        "quantize": '''
def quantize(x, scale, zero_point, bits):
    q = (x / scale).astype(np.int32) + zero_point
    return np.clip(q, 0, 2 ** bits - 1)
''',
        "int_matmul": '''
def int_matmul(qx, qw, zero_point):
    return (qx - zero_point) @ qw
''',
    },
    "dave": {
        "__base__": "solution",
        "asymmetric_params": '''
def asymmetric_params(x_min, x_max, bits):
    scale = (x_max - x_min) / (2 ** bits - 1)
    return scale, round(-x_min / scale)
''',
        "quantize": '''
def quantize(x, scale, zero_point, bits):
    return (np.rint(x / scale) + zero_point).astype(np.int64)
''',
    },
    "erin": {
        "symmetric_scale": '''
def symmetric_scale(w, bits):
    return np.abs(w).max() / ((1 << (bits - 1)) - 1)
''',
        "per_channel_scales": '''
def per_channel_scales(w, bits):
    by_channel = np.moveaxis(w, -1, 0).reshape(w.shape[-1], -1)
    return np.abs(by_channel).max(axis=1) / ((1 << (bits - 1)) - 1)
''',
        "asymmetric_params": '''
def asymmetric_params(x_min, x_max, bits):
    lo = min(x_min, 0.0)
    hi = max(x_max, 0.0)
    scale = (hi - lo) / (2 ** bits - 1)
    return scale, np.round(-lo / scale).astype(np.int64)
''',
        "quantize": '''
def quantize(x, scale, zero_point, bits):
    q = np.floor(x / scale + 0.5) + zero_point
    return np.clip(q, 0, 2 ** bits - 1).astype(np.uint8)
''',
        "int_matmul": '''
def int_matmul(qx, qw, zero_point):
    return np.einsum("mk,kf->mf", qx.astype(np.int64) - zero_point, qw.astype(np.int64))
''',
    },
}
