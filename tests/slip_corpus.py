"""A labelled corpus of wrong answers, each made by one known slip (read by tests/test_slip_corpus.py).

Every entry is an answer a student could hand in, to one graded cell of one assignment:

- ``assignment`` and ``test``: the source notebook and the ``grade_id`` of its graded test cell,
  whose code (form check and hidden test) is what judges the answer;
- ``answer``: the source of the answer cell (a variable or a function), as a student types it;
- ``slip``: the concept the feedback must name, a key of :data:`CONCEPTS`.

Wrong answers are typed as the slip produces them (a formula shows the slip); no right answer is
typed here. :data:`CONCEPTS` says, for each slip, which words a message must hold to name it (and,
for some, which words would name a different slip instead).
"""

#: slip -> (pattern the message must match, pattern it must not match or None); case-insensitive.
CONCEPTS = {
    "batch": (r"one image|one example|single image|batch", None),
    "layer_skipped": (r"skipp|layer before|output of the layer|previous layer|follow the shapes|each layer's output",
                      None),
    "coarse_rounding": (r"coarse|more digits|more significant|too few digits", None),
    "bias_counted": (r"bias", None),
    "bias_forgotten": (r"bias", None),
    "depth_is_filters": (r"number of filters|one output channel|each filter makes", None),
    "no_shrink": (r"smaller|shrink|cannot be centred|border", r"input depth"),
    "shrink_by_one": (r"minus one|k - 1|k-1|kernel size minus", r"input depth was subtracted"),
    "plus_one_missing": (r"\+1|\+ 1|first position", None),
    "depth_subtracted": (r"input depth|kernel's depth|does not slide", None),
    "padding_one_side": (r"each side|both sides|2p|two sides", r"\+1 is missing"),
    "stride_not_floored": (r"floor|round(ed|s)? down|whole window", r"\+1 is missing"),
    "padding_ignored": (r"padding", None),
    "stride_ignored": (r"stride", None),
    "channels_first": (r"order|height x width x depth", None),
    "macs_for_flops": (r"MACs", None),
    "flops_for_macs": (r"FLOPs", None),
    "units_confused": (r"thousand|suffix", None),
    "input_depth_left_out": (r"input depth|input channel|every input channel|depth", None),
    "pooling_forgotten": (r"pool", None),
    "ceil_pooling": (r"floor|round(ed|s)? down|partial|does not fit|do not fit|incomplete|ceil", None),
    "pool_before_conv": (r"conv1|after the convolution|pool1's input|input of pool1|raw image|the image itself", None),
    "pool_keeps_depth": (r"channel|depth", None),
    "ratio_inverted": (r"upside down|invert|below 1", None),
    "pointwise_left_out": (r"pointwise", None),
    "depthwise_left_out": (r"depthwise", None),
    "standard_conv_counted": (r"standard convolution", None),
    "percent_as_number": (r"%|fraction|percent", None),
    "depthwise_bias": (r"bias", None),
    "max_not_mean": (r"max|largest|average|mean", None),
    "channels_mixed": (r"channel", None),
    "zeros_over_len": (r"len\(|rows|first axis|first dimension|every entry|all entries|\.size", None),
    "density_for_sparsity": (r"nonzero|non-zero|kept|density|zeros", None),
    "largest_pruned": (r"smallest|largest", None),
    "csr_indices_left_out": (r"column ind|indices|index", None),
    "csr_row_pointers": (r"rows \+ 1|row pointer", None),
    "pruned_input_ignored": (r"input|channel", None),
    "next_layer_pruned": (r"layer before|not from this one|keeps all", None),
    "flatten_depth_left_out": (r"depth|channel", None),
    "time_from_macs": (r"MACs.*FLOPs|two FLOPs", None),
    "rate_inverted": (r"upside down|speed.*work|per second", None),
    "time_units": (r"thousand|million|1000 ms|seconds", None),
    # 05's intensity hint ("... MACs per output value, ... the weights and the output ...") must not name these
    "macs_per_byte": (r"MACs per byte|every MAC is two FLOPs", None),
    "elements_not_bytes": (r"not bytes|4 bytes in memory", None),
    "activation_left_out": (r"one of the input and the output|count both", None),
    "weights_left_out": (r"weights were left out", None),
}

# --------------------------------------------------------------------------- 02: base_cnn
# conv1: 28x28x1 -> 3x3, 5 filters; conv2: 3x3, 5 filters; flatten; fc1 128 units; fc2 10 units.
_02 = "02-base-cnn"
CORPUS = [
    dict(assignment=_02, test="test_conv1_shape", slip="no_shrink", answer='answer_conv1_shape = "28x28x5"'),
    dict(assignment=_02, test="test_conv1_shape", slip="shrink_by_one", answer='answer_conv1_shape = (28 - 1, 28 - 1, 5)'),
    dict(assignment=_02, test="test_conv1_shape", slip="plus_one_missing", answer='answer_conv1_shape = (28 - 3, 28 - 3, 5)'),
    dict(assignment=_02, test="test_conv1_shape", slip="depth_is_filters", answer='answer_conv1_shape = (28 - 2, 28 - 2, 1)'),
    dict(assignment=_02, test="test_conv1_shape", slip="channels_first", answer='answer_conv1_shape = (5, 28 - 2, 28 - 2)'),
    dict(assignment=_02, test="test_conv2_shape", slip="depth_is_filters", answer='answer_conv2_shape = (28 - 4, 28 - 4, 5 * 5)'),
    dict(assignment=_02, test="test_conv2_shape", slip="plus_one_missing", answer='answer_conv2_shape = (26 - 3, 26 - 3, 5)'),
    dict(assignment=_02, test="test_conv2_shape", slip="no_shrink", answer='answer_conv2_shape = (26, 26, 5)'),
    dict(assignment=_02, test="test_conv2_shape", slip="depth_is_filters", answer='answer_conv2_shape = (28 - 4, 28 - 4, 1)'),
    dict(assignment=_02, test="test_conv1_flops", slip="macs_for_flops", answer="answer_conv1_flops = 26 * 26 * 5 * 3 * 3"),
    dict(assignment=_02, test="test_conv1_flops", slip="batch", answer="answer_conv1_flops = 32 * 2 * 26 * 26 * 5 * 3 * 3"),
    dict(assignment=_02, test="test_conv1_flops", slip="plus_one_missing", answer="answer_conv1_flops = 2 * 25 * 25 * 5 * 3 * 3"),
    dict(assignment=_02, test="test_conv1_flops", slip="bias_counted",
         answer="answer_conv1_flops = 2 * 26 * 26 * 5 * 3 * 3 + 26 * 26 * 5"),
    dict(assignment=_02, test="test_conv1_flops", slip="units_confused", answer='answer_conv1_flops = "60.8M"'),
    dict(assignment=_02, test="test_conv1_flops", slip="coarse_rounding", answer='answer_conv1_flops = "0.1M"'),
    dict(assignment=_02, test="test_conv2_flops", slip="input_depth_left_out",
         answer="answer_conv2_flops = 2 * 24 * 24 * 5 * 3 * 3"),
    dict(assignment=_02, test="test_conv2_flops", slip="macs_for_flops", answer="answer_conv2_flops = 24 * 24 * 5 * 3 * 3 * 5"),
    dict(assignment=_02, test="test_conv2_flops", slip="no_shrink", answer="answer_conv2_flops = 2 * 26 * 26 * 5 * 3 * 3 * 5"),
    dict(assignment=_02, test="test_conv2_flops", slip="batch", answer="answer_conv2_flops = 32 * 2 * 24 * 24 * 5 * 3 * 3 * 5"),
    dict(assignment=_02, test="test_conv2_flops", slip="bias_counted",
         answer="answer_conv2_flops = 2 * 24 * 24 * 5 * 3 * 3 * 5 + 24 * 24 * 5"),
    dict(assignment=_02, test="test_conv2_flops", slip="coarse_rounding", answer='answer_conv2_flops = "0.3M"'),
    dict(assignment=_02, test="test_fc1_flops", slip="macs_for_flops", answer="answer_fc1_flops = 24 * 24 * 5 * 128"),
    dict(assignment=_02, test="test_fc1_flops", slip="layer_skipped", answer="answer_fc1_flops = 2 * 26 * 26 * 5 * 128"),
    dict(assignment=_02, test="test_fc1_flops", slip="bias_counted", answer="answer_fc1_flops = 2 * 24 * 24 * 5 * 128 + 128"),
    dict(assignment=_02, test="test_fc1_flops", slip="coarse_rounding", answer='answer_fc1_flops = "0.7M"'),
    dict(assignment=_02, test="test_fc1_flops", slip="input_depth_left_out", answer="answer_fc1_flops = 2 * 24 * 24 * 128"),
    dict(assignment=_02, test="test_fc1_flops", slip="batch", answer="answer_fc1_flops = 64 * 2 * 24 * 24 * 5 * 128"),
    dict(assignment=_02, test="test_fc1_flops", slip="units_confused", answer='answer_fc1_flops = "737M"'),
    dict(assignment=_02, test="test_fc2_flops", slip="macs_for_flops", answer="answer_fc2_flops = 128 * 10"),
    dict(assignment=_02, test="test_fc2_flops", slip="bias_counted", answer="answer_fc2_flops = 2 * 128 * 10 + 10"),
    dict(assignment=_02, test="test_fc2_flops", slip="batch", answer="answer_fc2_flops = 64 * 2 * 128 * 10"),
    dict(assignment=_02, test="test_fc2_flops", slip="coarse_rounding", answer='answer_fc2_flops = "3K"'),
    dict(assignment=_02, test="test_fc2_flops", slip="layer_skipped", answer="answer_fc2_flops = 2 * 24 * 24 * 5 * 10"),
]

# --------------------------------------------------------------------------- 01: the lesson and the formulas
_01 = "01-measuring-cost"
_SHAPE = '''
def output_shape(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, c = input_shape
    return ({h}, {w}, {d})
'''


def _shape_fn(h, w, d="filters"):
    return _SHAPE.format(h=h, w=w, d=d)


_MACS = '''
def conv_macs(input_shape, kernel_size, filters, stride=1, padding=0):
    h, w, c = input_shape
    ho = (h + 2 * padding - kernel_size) // stride + 1
    wo = (w + 2 * padding - kernel_size) // stride + 1
    return {expr}
'''

CORPUS += [
    dict(assignment=_01, test="test_answer_one_filter", slip="depth_subtracted", answer='answer_one_filter = "16x16x1"'),
    dict(assignment=_01, test="test_answer_one_filter", slip="depth_is_filters", answer="answer_one_filter = (19, 19, 9)"),
    dict(assignment=_01, test="test_answer_one_filter", slip="plus_one_missing", answer="answer_one_filter = (25 - 7, 25 - 7, 1)"),
    dict(assignment=_01, test="test_answer_one_filter", slip="no_shrink", answer="answer_one_filter = (25, 25, 1)"),
    dict(assignment=_01, test="test_answer_64_filters", slip="depth_is_filters", answer='answer_64_filters = "19x19x1"'),
    dict(assignment=_01, test="test_answer_64_filters", slip="depth_subtracted", answer='answer_64_filters = "16x16x64"'),
    dict(assignment=_01, test="test_answer_64_filters", slip="depth_is_filters", answer="answer_64_filters = (19, 19, 64 * 9)"),
    dict(assignment=_01, test="test_output_shape_stride_padding", slip="padding_one_side",
         answer=_shape_fn("(h + padding - kernel_size) // stride + 1", "(w + padding - kernel_size) // stride + 1")),
    dict(assignment=_01, test="test_output_shape_stride_padding", slip="stride_not_floored",
         answer=_shape_fn("round((h + 2 * padding - kernel_size) / stride) + 1",
                          "round((w + 2 * padding - kernel_size) / stride) + 1")),
    dict(assignment=_01, test="test_output_shape_stride_padding", slip="stride_not_floored",
         answer=_shape_fn("-(-(h + 2 * padding - kernel_size) // stride) + 1",
                          "-(-(w + 2 * padding - kernel_size) // stride) + 1")),
    dict(assignment=_01, test="test_output_shape_stride_padding", slip="padding_ignored",
         answer=_shape_fn("(h - kernel_size) // stride + 1", "(w - kernel_size) // stride + 1")),
    dict(assignment=_01, test="test_output_shape_stride_padding", slip="stride_ignored",
         answer=_shape_fn("h + 2 * padding - kernel_size + 1", "w + 2 * padding - kernel_size + 1")),
    dict(assignment=_01, test="test_output_shape_basic", slip="plus_one_missing",
         answer=_shape_fn("h - kernel_size", "w - kernel_size")),
    dict(assignment=_01, test="test_output_shape_basic", slip="depth_is_filters",
         answer=_shape_fn("h - kernel_size + 1", "w - kernel_size + 1", "c")),
    dict(assignment=_01, test="test_output_shape_basic", slip="depth_subtracted",
         answer=_shape_fn("h - c + 1", "w - c + 1")),
    dict(assignment=_01, test="test_conv_macs_basic", slip="input_depth_left_out",
         answer=_MACS.format(expr="ho * wo * filters * kernel_size * kernel_size")),
    dict(assignment=_01, test="test_conv_macs_basic", slip="flops_for_macs",
         answer=_MACS.format(expr="2 * ho * wo * filters * kernel_size * kernel_size * c")),
    dict(assignment=_01, test="test_conv_macs_basic", slip="bias_counted",
         answer=_MACS.format(expr="ho * wo * filters * (kernel_size * kernel_size * c + 1)")),
    dict(assignment=_01, test="test_conv_macs_stride_padding", slip="stride_ignored",
         answer=_MACS.format(expr="(h + 2 * padding - kernel_size + 1) * (w + 2 * padding - kernel_size + 1)"
                                  " * filters * kernel_size * kernel_size * c")),
    dict(assignment=_01, test="test_conv_flops", slip="macs_for_flops",
         answer=_MACS.format(expr="ho * wo * filters * kernel_size * kernel_size * c").replace("conv_macs", "conv_flops")),
    dict(assignment=_01, test="test_dense_macs", slip="bias_counted",
         answer="def dense_macs(in_units, out_units):\n    return in_units * out_units + out_units"),
    dict(assignment=_01, test="test_dense_macs", slip="flops_for_macs",
         answer="def dense_macs(in_units, out_units):\n    return 2 * in_units * out_units"),
]

# --------------------------------------------------------------------------- 03: pooling
# base_cnn_pooled: conv1 26x26x5 -> pool1 -> conv2 -> pool2 -> flatten -> fc1 (128) -> fc2.
_03 = "03-pooling"
_POOL = '''
def max_pool(x, pool_size, stride=None):
    stride = pool_size if stride is None else stride
    n, h, w, c = x.shape
    ho, wo = {hw}
    out = np.empty((n, ho, wo, c), dtype=x.dtype)
    for i in range(ho):
        for j in range(wo):
            window = x[:, i * stride : i * stride + pool_size, j * stride : j * stride + pool_size, :]
            out[:, i, j, :] = {reduce}
    return out
'''
_FLOOR = "(h - pool_size) // stride + 1, (w - pool_size) // stride + 1"
CORPUS += [
    dict(assignment=_03, test="test_pool1_shape", slip="pool_before_conv", answer="answer_pool1_shape = (28 // 2, 28 // 2, 1)"),
    dict(assignment=_03, test="test_pool1_shape", slip="pool_before_conv", answer="answer_pool1_shape = (28 // 2, 28 // 2, 5)"),
    dict(assignment=_03, test="test_pool1_shape", slip="pooling_forgotten", answer='answer_pool1_shape = "26x26x5"'),
    dict(assignment=_03, test="test_pool1_shape", slip="pool_keeps_depth", answer="answer_pool1_shape = (13, 13, 1)"),
    dict(assignment=_03, test="test_pool1_shape", slip="stride_ignored", answer="answer_pool1_shape = (26 - 2 + 1, 26 - 2 + 1, 5)"),
    dict(assignment=_03, test="test_pooled_conv2_flops", slip="pooling_forgotten",
         answer="answer_pooled_conv2_flops = 2 * 24 * 24 * 5 * 3 * 3 * 5"),
    dict(assignment=_03, test="test_pooled_conv2_flops", slip="no_shrink",
         answer="answer_pooled_conv2_flops = 2 * 13 * 13 * 5 * 3 * 3 * 5"),
    dict(assignment=_03, test="test_pooled_conv2_flops", slip="macs_for_flops",
         answer="answer_pooled_conv2_flops = 11 * 11 * 5 * 3 * 3 * 5"),
    dict(assignment=_03, test="test_pooled_fc1_flops", slip="pool_before_conv",
         answer="answer_pooled_fc1_flops = 2 * 4 * 4 * 5 * 128"),
    dict(assignment=_03, test="test_pooled_fc1_flops", slip="ceil_pooling",
         answer="answer_pooled_fc1_flops = 2 * 6 * 6 * 5 * 128"),
    dict(assignment=_03, test="test_pooled_fc1_flops", slip="pooling_forgotten",
         answer="answer_pooled_fc1_flops = 2 * 11 * 11 * 5 * 128"),
    dict(assignment=_03, test="test_pooled_fc1_flops", slip="layer_skipped",
         answer="answer_pooled_fc1_flops = 2 * 13 * 13 * 5 * 128"),
    dict(assignment=_03, test="test_pooled_fc1_flops", slip="macs_for_flops",
         answer="answer_pooled_fc1_flops = 5 * 5 * 5 * 128"),
    dict(assignment=_03, test="test_pooled_fc1_flops", slip="coarse_rounding", answer='answer_pooled_fc1_flops = "0.03M"'),
    dict(assignment=_03, test="test_max_pool_basic", slip="max_not_mean",
         answer=_POOL.format(hw=_FLOOR, reduce="window.mean(axis=(1, 2))")),
    dict(assignment=_03, test="test_max_pool_basic", slip="channels_mixed",
         answer=_POOL.format(hw=_FLOOR, reduce="window.max(axis=(1, 2, 3))[:, None]")),
    dict(assignment=_03, test="test_max_pool_stride", slip="ceil_pooling",
         answer=_POOL.format(hw="-(-(h - pool_size) // stride) + 1, -(-(w - pool_size) // stride) + 1",
                             reduce="window.max(axis=(1, 2))")),
]

# --------------------------------------------------------------------------- 04: separable convolutions
_04 = "04-separable-convolutions"
_SEP = '''
def separable_macs(input_shape, kernel_size, filters):
    h, w, c = input_shape
    ho, wo = h - kernel_size + 1, w - kernel_size + 1
    return {expr}
'''
CORPUS += [
    dict(assignment=_04, test="test_separable_ratio", slip="ratio_inverted", answer="answer_separable_ratio = 1 / (1 / 64 + 1 / 9)"),
    dict(assignment=_04, test="test_separable_ratio", slip="pointwise_left_out", answer="answer_separable_ratio = 1 / 64"),
    dict(assignment=_04, test="test_separable_ratio", slip="depthwise_left_out", answer="answer_separable_ratio = 1 / 9"),
    dict(assignment=_04, test="test_separable_ratio", slip="percent_as_number",
         answer="answer_separable_ratio = 100 * (1 / 64 + 1 / 9)"),
    dict(assignment=_04, test="test_sepconv2_params", slip="standard_conv_counted", answer="answer_sepconv2_params = 3 * 3 * 5 * 5 + 5"),
    dict(assignment=_04, test="test_sepconv2_params", slip="depthwise_bias", answer="answer_sepconv2_params = 3 * 3 * 5 + 5 + 5 * 5 + 5"),
    dict(assignment=_04, test="test_sepconv2_params", slip="bias_forgotten", answer="answer_sepconv2_params = 3 * 3 * 5 + 5 * 5"),
    dict(assignment=_04, test="test_sepconv2_params", slip="depthwise_left_out", answer="answer_sepconv2_params = 5 * 5 + 5"),
    dict(assignment=_04, test="test_separable_macs", slip="standard_conv_counted",
         answer=_SEP.format(expr="ho * wo * filters * kernel_size * kernel_size * c")),
    dict(assignment=_04, test="test_separable_macs", slip="pointwise_left_out",
         answer=_SEP.format(expr="ho * wo * c * kernel_size * kernel_size")),
    dict(assignment=_04, test="test_separable_macs", slip="depthwise_left_out", answer=_SEP.format(expr="ho * wo * c * filters")),
    dict(assignment=_04, test="test_depthwise_conv", slip="channels_mixed", answer='''
def depthwise_conv(x, w):
    kh, kw, c = w.shape
    n, h, wd, _ = x.shape
    ho, wo = h - kh + 1, wd - kw + 1
    out = np.zeros((n, ho, wo, c), dtype=np.result_type(x, w))
    for a in range(kh):
        for b in range(kw):
            out += (x[:, a : a + ho, b : b + wo, :] * w[a, b]).sum(axis=-1, keepdims=True)
    return out
'''),
]

# --------------------------------------------------------------------------- 06: pruning
_06 = "06-pruning"
CORPUS += [
    dict(assignment=_06, test="test_weight_sparsity", slip="zeros_over_len",
         answer="def weight_sparsity(w):\n    return np.count_nonzero(w == 0) / len(w)"),
    dict(assignment=_06, test="test_weight_sparsity", slip="density_for_sparsity",
         answer="def weight_sparsity(w):\n    return np.count_nonzero(w) / w.size"),
    dict(assignment=_06, test="test_csr_bytes", slip="csr_indices_left_out",
         answer="def csr_bytes(w):\n    return 4 * int(np.count_nonzero(w)) + 4 * (w.shape[-1] + 1)"),
    dict(assignment=_06, test="test_csr_bytes", slip="csr_row_pointers",
         answer="def csr_bytes(w):\n    return 8 * int(np.count_nonzero(w)) + 4 * w.shape[-1]"),
    dict(assignment=_06, test="test_magnitude_prune_basic", slip="largest_pruned", answer='''
def magnitude_prune(w, sparsity):
    k = round(sparsity * w.size)
    order = np.argsort(-np.abs(w).ravel(), kind="stable")
    pruned = w.copy().ravel()
    pruned[order[:k]] = 0
    return pruned.reshape(w.shape)
'''),
    dict(assignment=_06, test="test_fc1_macs", slip="pruned_input_ignored", answer="answer_fc1_macs = 24 * 24 * 5 * 128"),
    dict(assignment=_06, test="test_fc1_macs", slip="next_layer_pruned", answer="answer_fc1_macs = 24 * 24 * 5 * (128 - 3)"),
    dict(assignment=_06, test="test_fc1_macs", slip="flops_for_macs", answer="answer_fc1_macs = 2 * 24 * 24 * 2 * 128"),
    dict(assignment=_06, test="test_fc1_macs", slip="flatten_depth_left_out", answer="answer_fc1_macs = 24 * 24 * 128"),
]

# --------------------------------------------------------------------------- 01: Question 3, FLOPs / FLOPS
# 60 million MACs on a 25 GFLOPS machine, the time in ms.
CORPUS += [
    dict(assignment=_01, test="test_answer_inference_time", slip="time_from_macs",
         answer="answer_inference_time = 60e6 / 25e9 * 1000"),
    dict(assignment=_01, test="test_answer_inference_time", slip="rate_inverted",
         answer="answer_inference_time = 25e9 / (2 * 60e6)"),
    dict(assignment=_01, test="test_answer_inference_time", slip="rate_inverted",
         answer="answer_inference_time = 25e9 / (2 * 60e6) * 1000"),
    dict(assignment=_01, test="test_answer_inference_time", slip="time_units",
         answer="answer_inference_time = 2 * 60e6 / 25e9"),
    dict(assignment=_01, test="test_answer_inference_time", slip="time_units",
         answer="answer_inference_time = 2 * 60e6 / 25e9 * 1e6"),
    dict(assignment=_01, test="test_answer_inference_time", slip="time_units",
         answer="answer_inference_time = 2 * 60e6 / 25e6 * 1000"),
    dict(assignment=_01, test="test_answer_inference_time", slip="time_from_macs",
         answer='answer_inference_time = f"{60e6 / 25e9 * 1e6:g} µs"'),
    dict(assignment=_01, test="test_answer_inference_time", slip="time_from_macs",
         answer="answer_inference_time = 60e6 / 25e9"),
]

# --------------------------------------------------------------------------- 05: part 6, arithmetic intensity
# A 5x5 depthwise convolution on 28x28x32, "same" padding, no bias: FLOPs / bytes of input, weights, output.
_05 = "05-openvino-timing"
CORPUS += [
    dict(assignment=_05, test="test_depthwise_intensity", slip="macs_per_byte",
         answer="answer_depthwise_intensity = 28 * 28 * 32 * 5 * 5 / (4 * (28 * 28 * 32 + 5 * 5 * 32 + 28 * 28 * 32))"),
    dict(assignment=_05, test="test_depthwise_intensity", slip="elements_not_bytes",
         answer="answer_depthwise_intensity = 2 * 28 * 28 * 32 * 5 * 5 / (28 * 28 * 32 + 5 * 5 * 32 + 28 * 28 * 32)"),
    dict(assignment=_05, test="test_depthwise_intensity", slip="activation_left_out",
         answer="answer_depthwise_intensity = 2 * 28 * 28 * 32 * 5 * 5 / (4 * (28 * 28 * 32 + 5 * 5 * 32))"),
    dict(assignment=_05, test="test_depthwise_intensity", slip="weights_left_out",
         answer="answer_depthwise_intensity = 2 * 28 * 28 * 32 * 5 * 5 / (4 * (28 * 28 * 32 + 28 * 28 * 32))"),
    dict(assignment=_05, test="test_depthwise_intensity", slip="ratio_inverted",
         answer="answer_depthwise_intensity = 4 * (28 * 28 * 32 + 5 * 5 * 32 + 28 * 28 * 32) / (2 * 28 * 28 * 32 * 5 * 5)"),
    dict(assignment=_05, test="test_depthwise_intensity", slip="padding_ignored",
         answer="answer_depthwise_intensity = 2 * 24 * 24 * 32 * 5 * 5 / (4 * (28 * 28 * 32 + 5 * 5 * 32 + 24 * 24 * 32))"),
    dict(assignment=_05, test="test_depthwise_intensity", slip="standard_conv_counted",
         answer="answer_depthwise_intensity = 2 * 28 * 28 * 32 * 5 * 5 * 32 / "
                "(4 * (28 * 28 * 32 + 5 * 5 * 32 * 32 + 28 * 28 * 32))"),
]

# --------------------------------------------------------------------------- variants (issue 14)
# The same slips, rebuilt on per-student variants: each template is one of the entries above with
# the variant's own sizes in place of the common ones (the variant's parameters, plus the sides
# they lead to: :data:`SIZES`). A template's answer is what a student with that variant types; its
# test is the variant's graded cell, judged for that student (the grader's id). The common sizes
# turn every template back into the entry above it mirrors, and every entry of a question with a
# variant has its template, or is a listed gap (tests/test_slip_corpus.py checks both).
#: Students whose variants the corpus is rebuilt for.
VARIANT_IDS = ("corpus-ana", "corpus-ben", "corpus-cy")

_V02 = [  # (variant question, slip, answer expression); mirrors the 02 entries above, in order
    ("conv1_output_shape", "no_shrink", '"{side}x{side}x{f1}"'),
    ("conv1_output_shape", "shrink_by_one", "({side} - 1, {side} - 1, {f1})"),
    ("conv1_output_shape", "plus_one_missing", "({side} - {k1}, {side} - {k1}, {f1})"),
    ("conv1_output_shape", "depth_is_filters", "({s1}, {s1}, 1)"),
    ("conv1_output_shape", "channels_first", "({f1}, {s1}, {s1})"),
    ("conv2_output_shape", "depth_is_filters", "({s2}, {s2}, {f1} * {f2})"),
    ("conv2_output_shape", "plus_one_missing", "({s1} - {k2}, {s1} - {k2}, {f2})"),
    ("conv2_output_shape", "no_shrink", "({s1}, {s1}, {f2})"),
    ("conv2_output_shape", "depth_is_filters", "({s2}, {s2}, 1)"),
    ("conv1_flops", "macs_for_flops", "{s1} * {s1} * {f1} * {k1} * {k1}"),
    ("conv1_flops", "batch", "32 * 2 * {s1} * {s1} * {f1} * {k1} * {k1}"),
    ("conv1_flops", "plus_one_missing", "2 * ({s1} - 1) * ({s1} - 1) * {f1} * {k1} * {k1}"),
    ("conv1_flops", "bias_counted", "2 * {s1} * {s1} * {f1} * {k1} * {k1} + {s1} * {s1} * {f1}"),
    ("conv1_flops", "units_confused", 'f"{{2 * {s1} * {s1} * {f1} * {k1} * {k1} / 1000:.1f}}M"'),
    ("conv2_flops", "input_depth_left_out", "2 * {s2} * {s2} * {f2} * {k2} * {k2}"),
    ("conv2_flops", "macs_for_flops", "{s2} * {s2} * {f2} * {k2} * {k2} * {f1}"),
    ("conv2_flops", "no_shrink", "2 * {s1} * {s1} * {f2} * {k2} * {k2} * {f1}"),
    ("conv2_flops", "batch", "32 * 2 * {s2} * {s2} * {f2} * {k2} * {k2} * {f1}"),
    ("conv2_flops", "bias_counted", "2 * {s2} * {s2} * {f2} * {k2} * {k2} * {f1} + {s2} * {s2} * {f2}"),
    ("fc1_flops", "macs_for_flops", "{s2} * {s2} * {f2} * {u1}"),
    ("fc1_flops", "layer_skipped", "2 * {s1} * {s1} * {f1} * {u1}"),
    ("fc1_flops", "bias_counted", "2 * {s2} * {s2} * {f2} * {u1} + {u1}"),
    ("fc1_flops", "input_depth_left_out", "2 * {s2} * {s2} * {u1}"),
    ("fc1_flops", "batch", "64 * 2 * {s2} * {s2} * {f2} * {u1}"),
    ("fc1_flops", "units_confused", 'f"{{2 * {s2} * {s2} * {f2} * {u1} / 1000:.0f}}M"'),
    ("fc2_flops", "macs_for_flops", "{u1} * {u2}"),
    ("fc2_flops", "bias_counted", "2 * {u1} * {u2} + {u2}"),
    ("fc2_flops", "batch", "64 * 2 * {u1} * {u2}"),
    ("fc2_flops", "layer_skipped", "2 * {s2} * {s2} * {f2} * {u2}"),
]
_V06 = [  # mirrors the structured-pruning entries of 06: (variant question, slip, answer expression)
    ("fc1_macs_after_conv2_pruning", "pruned_input_ignored", "{s2} * {s2} * {f2} * {u1}"),
    ("fc1_macs_after_conv2_pruning", "next_layer_pruned", "{s2} * {s2} * {f2} * ({u1} - 3)"),
    ("fc1_macs_after_conv2_pruning", "flops_for_macs", "2 * {s2} * {s2} * ({f2} - 3) * {u1}"),
    ("fc1_macs_after_conv2_pruning", "flatten_depth_left_out", "{s2} * {s2} * {u1}"),
    ("conv2_macs_after_conv1_pruning", "pruned_input_ignored", "{s2} * {s2} * {f2} * {k2} * {k2} * {f1}"),
    ("conv2_macs_after_conv1_pruning", "flops_for_macs", "2 * {s2} * {s2} * {f2} * {k2} * {k2} * ({f1} - 2)"),
]
_V01 = [  # mirrors the 01 entries of the lesson's two shape questions: (variant question, slip, answer expression)
    ("kernel_one_filter", "depth_subtracted", '"{d}x{d}x1"'),
    ("kernel_one_filter", "depth_is_filters", "({o}, {o}, {c})"),
    ("kernel_one_filter", "plus_one_missing", "({h} - {k}, {h} - {k}, 1)"),
    ("kernel_one_filter", "no_shrink", "({h}, {h}, 1)"),
    ("kernel_many_filters", "depth_is_filters", '"{o}x{o}x1"'),
    ("kernel_many_filters", "depth_subtracted", '"{d}x{d}x{f}"'),
    ("kernel_many_filters", "depth_is_filters", "({o}, {o}, {f} * {c})"),
]
_V03 = [  # mirrors the 03 entries of the pooled-model questions (c: after a convolution, p: after a pooling)
    ("pool1_output_shape", "pool_before_conv", "({side} // {pool}, {side} // {pool}, 1)"),
    ("pool1_output_shape", "pooling_forgotten", '"{c1}x{c1}x{f1}"'),
    ("pool1_output_shape", "pool_keeps_depth", "({p1}, {p1}, 1)"),
    ("pool1_output_shape", "stride_ignored", "({c1} - {pool} + 1, {c1} - {pool} + 1, {f1})"),
    ("pooled_conv2_flops", "pooling_forgotten", "2 * {c2_unpooled} * {c2_unpooled} * {f2} * {k2} * {k2} * {f1}"),
    ("pooled_conv2_flops", "no_shrink", "2 * {p1} * {p1} * {f2} * {k2} * {k2} * {f1}"),
    ("pooled_conv2_flops", "macs_for_flops", "{c2} * {c2} * {f2} * {k2} * {k2} * {f1}"),
    ("pooled_fc1_flops", "pool_before_conv", "2 * {c2_pool_first} * {c2_pool_first} * {f2} * {u1}"),
    ("pooled_fc1_flops", "ceil_pooling", "2 * {p2_ceil} * {p2_ceil} * {f2} * {u1}"),
    ("pooled_fc1_flops", "pooling_forgotten", "2 * {c2} * {c2} * {f2} * {u1}"),
    ("pooled_fc1_flops", "layer_skipped", "2 * {p1} * {p1} * {f1} * {u1}"),  # pool1's output: f1 deep
    ("pooled_fc1_flops", "macs_for_flops", "{p2} * {p2} * {f2} * {u1}"),
]
_V04 = [  # mirrors the 04 entries of the ratio and of sepconv2's parameters
    ("separable_ratio", "ratio_inverted", "1 / (1 / {sep_f} + 1 / {sep_k} ** 2)"),
    ("separable_ratio", "pointwise_left_out", "1 / {sep_f}"),
    ("separable_ratio", "depthwise_left_out", "1 / {sep_k} ** 2"),
    ("separable_ratio", "percent_as_number", "100 * (1 / {sep_f} + 1 / {sep_k} ** 2)"),
    ("sepconv2_params", "standard_conv_counted", "{k2} * {k2} * {f1} * {f2} + {f2}"),
    ("sepconv2_params", "depthwise_bias", "{k2} * {k2} * {f1} + {f1} + {f1} * {f2} + {f2}"),
    ("sepconv2_params", "bias_forgotten", "{k2} * {k2} * {f1} + {f1} * {f2}"),
    ("sepconv2_params", "depthwise_left_out", "{f1} * {f2} + {f2}"),
]
_V05 = [  # mirrors the 05 entries of part 6 (s: side, c: channels, k: kernel, v: the side without padding)
    ("depthwise_intensity", "macs_per_byte", "{s} * {s} * {c} * {k} * {k} / (4 * ({s} * {s} * {c} + {k} * {k} * {c} + {s} * {s} * {c}))"),
    ("depthwise_intensity", "elements_not_bytes",
     "2 * {s} * {s} * {c} * {k} * {k} / ({s} * {s} * {c} + {k} * {k} * {c} + {s} * {s} * {c})"),
    ("depthwise_intensity", "activation_left_out", "2 * {s} * {s} * {c} * {k} * {k} / (4 * ({s} * {s} * {c} + {k} * {k} * {c}))"),
    ("depthwise_intensity", "weights_left_out", "2 * {s} * {s} * {c} * {k} * {k} / (4 * ({s} * {s} * {c} + {s} * {s} * {c}))"),
    ("depthwise_intensity", "ratio_inverted",
     "4 * ({s} * {s} * {c} + {k} * {k} * {c} + {s} * {s} * {c}) / (2 * {s} * {s} * {c} * {k} * {k})"),
    ("depthwise_intensity", "padding_ignored",
     "2 * {v} * {v} * {c} * {k} * {k} / (4 * ({s} * {s} * {c} + {k} * {k} * {c} + {v} * {v} * {c}))"),
    ("depthwise_intensity", "standard_conv_counted",
     "2 * {s} * {s} * {c} * {k} * {k} * {c} / (4 * ({s} * {s} * {c} + {k} * {k} * {c} * {c} + {s} * {s} * {c}))"),
]
VARIANT_TEMPLATES = {"01-measuring-cost": _V01, "02-base-cnn": _V02, "03-pooling": _V03,
                     "04-separable-convolutions": _V04, "05-openvino-timing": _V05, "06-pruning": _V06}


#: The common graded cell whose entries each variant question's templates mirror: assignment -> {test: question}.
MIRRORED_TESTS = {
    "01-measuring-cost": {"test_answer_one_filter": "kernel_one_filter", "test_answer_64_filters": "kernel_many_filters"},
    "02-base-cnn": {"test_conv1_shape": "conv1_output_shape", "test_conv2_shape": "conv2_output_shape",
                    "test_conv1_flops": "conv1_flops", "test_conv2_flops": "conv2_flops",
                    "test_fc1_flops": "fc1_flops", "test_fc2_flops": "fc2_flops"},
    "03-pooling": {"test_pool1_shape": "pool1_output_shape", "test_pooled_conv2_flops": "pooled_conv2_flops",
                   "test_pooled_fc1_flops": "pooled_fc1_flops"},
    "04-separable-convolutions": {"test_separable_ratio": "separable_ratio", "test_sepconv2_params": "sepconv2_params"},
    "05-openvino-timing": {"test_depthwise_intensity": "depthwise_intensity"},
    "06-pruning": {"test_fc1_macs": "fc1_macs_after_conv2_pruning"},
}
#: Slips of the common entries that no template mirrors, because no formula of the sizes makes them: a
#: coarsely rounded string is a slip only when it lands more than 5 % off, which depends on the value's digits.
UNMIRRORED_SLIPS = {"coarse_rounding"}
#: Common entries whose slip the variants do not tell apart: (assignment, question, slip, expression, why).
#: Not in the corpus; tests/test_slip_corpus.py checks that each is still a gap on :data:`VARIANT_IDS`.
VARIANT_GAPS = [
    ("03-pooling", "pool1_output_shape", "pool_before_conv", "({side} // {pool}, {side} // {pool}, {f1})",
     "pool1 applied to the image with conv1's depth is also 'padding assumed' in conv1 (the side kept, then halved) "
     "on every variant, and, on an odd side with a 3x3 conv1, 'the stride's division rounded up' "
     "((side - 3 + 1) / 2 rounded up is side // 2), which the checker names first. The common question does not "
     "tell it apart either (its value is 'padding assumed''s too), so the variants are not drawn to."),
]


def sizes(params: dict) -> dict:
    """A base_cnn-shaped variant's sizes, with the sides after conv1 (s1) and conv2 (s2)."""
    s1 = params["side"] - params["k1"] + 1
    return dict(params, s1=s1, s2=s1 - params["k2"] + 1)


def lesson_sizes(params: dict) -> dict:
    """01's sizes, with the side after the kernel (o) and the side with the depth subtracted instead (d)."""
    return dict(params, o=params["h"] - params["k"] + 1, d=params["h"] - params["c"])


def pooled_sizes(params: dict) -> dict:
    """A base_cnn_pooled-shaped variant's sizes: the sides after conv1 (c1), pool1 (p1), conv2 (c2) and
    pool2 (p2); conv2's side without pool1 (c2_unpooled), with pool2 before conv2 (c2_pool_first), and
    pool2's side with both poolings rounded up (p2_ceil)."""
    pool, c1 = params["pool"], params["side"] - params["k1"] + 1
    p1 = c1 // pool
    c2 = p1 - params["k2"] + 1
    c2_ceil = -(-c1 // pool) - params["k2"] + 1
    return dict(params, c1=c1, p1=p1, c2=c2, p2=c2 // pool, c2_unpooled=c1 - params["k2"] + 1,
                c2_pool_first=p1 // pool - params["k2"] + 1, p2_ceil=-(-c2_ceil // pool))


def intensity_sizes(params: dict) -> dict:
    """05's sizes under short names: side (s), channels (c), kernel (k), and the side without padding (v)."""
    s, k = params["side"], params["kernel"]
    return dict(params, s=s, c=params["channels"], k=k, v=s - k + 1)


#: assignment -> the sizes its templates name, from the variant's parameters
SIZES = {"01-measuring-cost": lesson_sizes, "03-pooling": pooled_sizes, "05-openvino-timing": intensity_sizes}


def variant_case(assignment: str, question: str, slip: str, expression: str, params: dict, student=None) -> dict:
    """One corpus entry for the variant question ``question`` (without its prefix), with ``params``' sizes."""
    name = f"variant_{question}"
    return dict(assignment=assignment, test=f"test_{name}", slip=slip, student=student,
                answer=f"answer_{name} = {expression.format(**SIZES.get(assignment, sizes)(params))}")


def variant_corpus(student_ids=VARIANT_IDS) -> list:
    """The variant templates, rebuilt for each student's own variant (drawn from the id)."""
    from efficientnn.quiz.variants import draw

    return [variant_case(a, q, slip, expression, draw(student, a).params, student)
            for student in student_ids for a, templates in VARIANT_TEMPLATES.items()
            for q, slip, expression in templates]


CORPUS += variant_corpus()
