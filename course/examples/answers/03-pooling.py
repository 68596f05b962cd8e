"""Example class for 03-pooling (read by course/examples/build.py).

alice: every solution, her own variant included (15 / 15). bob: the released notebook untouched (0).
carol: the typical slips: the running maximum started at 0, pooling ignored in the model
questions, MACs given for FLOPs; variant blank (0 / 15).
dave: partial credit: the stride ignored (windows always side by side), the input's depth in the
pool1 shape, a rounded count, one question left blank; variant blank (6 / 15).
Right answers are written as formulas, like the solutions: no answer key is typed here.
"""

DESCRIPTIONS = {
    "alice": "the solutions: full marks",
    "bob": "blank: the released notebook, unchanged",
    "carol": "max started at 0, pooling ignored, MACs for FLOPs",
    "dave": "stride ignored, a wrong depth, a rounded count, one question blank: partial credit",
}

STUDENTS = {
    "alice": "solution",
    "bob": "blank",
    "carol": {
        "max_pool": '''
def max_pool(x, pool_size, stride=None):
    if stride is None:
        stride = pool_size
    n, h, w, c = x.shape
    ho = (h - pool_size) // stride + 1
    wo = (w - pool_size) // stride + 1
    out = np.zeros((n, ho, wo, c), dtype=x.dtype)  # the running maximum starts at 0
    for i in range(ho):
        for j in range(wo):
            for a in range(pool_size):
                for b in range(pool_size):
                    out[:, i, j, :] = np.maximum(out[:, i, j, :], x[:, i * stride + a, j * stride + b, :])
    return out
''',
        "answer_pool1_shape": 'answer_pool1_shape = "26x26x5"',
        "answer_pooled_conv2_flops": "answer_pooled_conv2_flops = 11 * 11 * 5 * 3 * 3 * 5",
        "answer_pooled_fc1_flops": "answer_pooled_fc1_flops = 2 * 24 * 24 * 5 * 128",
    },
    "dave": {
        "max_pool": '''
def max_pool(x, pool_size, stride=None):
    n, h, w, c = x.shape
    ho, wo = h // pool_size, w // pool_size
    out = np.empty((n, ho, wo, c), dtype=x.dtype)
    for i in range(ho):
        for j in range(wo):
            out[:, i, j, :] = x[:, i * pool_size : (i + 1) * pool_size, j * pool_size : (j + 1) * pool_size, :].max(axis=(1, 2))
    return out
''',
        "answer_pool1_shape": "answer_pool1_shape = ((28 - 3 + 1) // 2, (28 - 3 + 1) // 2, 1)",
        "answer_pooled_conv2_flops": 'answer_pooled_conv2_flops = f"{2 * 11 * 11 * 5 * 3 * 3 * 5 / 1000:.1f}K"',
    },
}
