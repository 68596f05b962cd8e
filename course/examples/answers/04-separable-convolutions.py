"""Example class for 04-separable-convolutions (read by course/examples/build.py).

alice: every solution, her own variant included (13 / 13). bob: the released notebook untouched (0).
carol: the typical slips: a flipped (mathematician's) kernel, the pointwise output as deep as its
input, the pointwise MACs counted on the input's size, the ratio upside down, the bias
forgotten; variant blank (0 / 13).
dave: the layers right (written differently from the solution), FLOPs counted for MACs, the ratio
as a rounded percentage, the parameter question left blank; variant blank (8 / 13).
Right answers are written as formulas, like the solutions: no answer key is typed here.
"""

DESCRIPTIONS = {
    "alice": "the solutions: full marks",
    "bob": "blank: the released notebook, unchanged",
    "carol": "flipped kernel, wrong output depth, pointwise on the input size, ratio inverted, bias forgotten",
    "dave": "layers right, FLOPs for MACs, a rounded percentage, one question blank: partial credit",
}

STUDENTS = {
    "alice": "solution",
    "bob": "blank",
    "carol": {
        "depthwise_conv": '''
def depthwise_conv(x, w):
    kh, kw, c = w.shape
    n, h, wd, _ = x.shape
    ho, wo = h - kh + 1, wd - kw + 1
    flipped = w[::-1, ::-1]  # as in a signal-processing convolution
    out = np.zeros((n, ho, wo, c), dtype=np.float32)
    for a in range(kh):
        for b in range(kw):
            out += x[:, a : a + ho, b : b + wo, :] * flipped[a, b]
    return out
''',
        "pointwise_conv": '''
def pointwise_conv(x, w):
    return x * w.sum(axis=1)
''',
        "separable_macs": '''
def separable_macs(input_shape, kernel_size, filters):
    h, w, c = input_shape
    ho, wo = h - kernel_size + 1, w - kernel_size + 1
    return ho * wo * c * kernel_size * kernel_size + h * w * c * filters
''',
        "answer_separable_ratio": "answer_separable_ratio = 1 / (1 / 64 + 1 / 9)",
        "answer_sepconv2_params": "answer_sepconv2_params = 3 * 3 * 5 + 5 * 5",
    },
    "dave": {
        "depthwise_conv": '''
def depthwise_conv(x, w):
    kh, kw, c = w.shape
    n, h, wd, _ = x.shape
    out = np.zeros((n, h - kh + 1, wd - kw + 1, c))
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            out[:, i, j, :] = (x[:, i : i + kh, j : j + kw, :] * w).sum(axis=(1, 2))
    return out
''',
        "pointwise_conv": '''
def pointwise_conv(x, w):
    return np.einsum("nhwc,cf->nhwf", x, w)
''',
        "separable_macs": '''
def separable_macs(input_shape, kernel_size, filters):
    h, w, c = input_shape
    ho, wo = h - kernel_size + 1, w - kernel_size + 1
    return 2 * (ho * wo * c * kernel_size ** 2 + ho * wo * c * filters)
''',
        "answer_separable_ratio": 'answer_separable_ratio = f"{100 * (1 / 64 + 1 / 9):.1f}%"',
    },
}
