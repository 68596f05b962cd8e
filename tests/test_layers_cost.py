"""What each layer class says about itself: MACs, FLOPs, parameters, words, and its base-class rules.

The MACs are checked against the multiplications its naive forward really performs (numbers
that count every ``*`` made with them), the parameters against the arrays ``build`` creates, the
pooling FLOPs against a formula written here, and the words for the concepts a question names
(the kernel "3x5", "stride 2", "same" padding, the filters, the input) with regular expressions.
"""
import re

import numpy as np
import pytest

from efficientnn.layers import (AvgPool2D, Conv2D, Dense, DepthwiseConv2D, Flatten, Layer, MaxPool2D, ReLU,
                                SeparableConv2D, layer_class)
from efficientnn.layers.windows import IM2COL_BLOCK_BYTES


class Tally:
    mults = 0


class Counted:
    """A number that counts every multiplication made with it (in the shared ``tally``)."""

    __slots__ = ("v", "t")

    def __init__(self, v, t):
        self.v, self.t = float(v), t

    def __mul__(self, other):
        self.t.mults += 1
        return Counted(self.v * (other.v if isinstance(other, Counted) else other), self.t)

    __rmul__ = __mul__

    def __add__(self, other):
        return Counted(self.v + (other.v if isinstance(other, Counted) else other), self.t)

    __radd__ = __add__


def counted(arr, tally):
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        out[idx] = Counted(arr[idx], tally)
    return out


def side(n, k, s, p):
    return (n + 2 * p - k) // s + 1


# layer, input shape: non-square kernels, (ph, pw) pairs, "same", strides, multipliers, no bias
WEIGHTED = {
    "conv_3x5_same": (lambda: Conv2D(3, (3, 5), padding="same"), (5, 6, 2)),
    "conv_2x3_s2_p12": (lambda: Conv2D(2, (2, 3), stride=2, padding=(1, 2)), (7, 6, 3)),
    "conv_1x1_nobias": (lambda: Conv2D(4, 1, use_bias=False), (3, 4, 5)),
    "dw_3x1_s2_same_m2": (lambda: DepthwiseConv2D((3, 1), stride=2, padding="same", depth_multiplier=2), (7, 5, 3)),
    "dw_2x3_p01_nobias": (lambda: DepthwiseConv2D((2, 3), padding=(0, 1), use_bias=False), (5, 6, 2)),
    "sep_3x5_same_m2": (lambda: SeparableConv2D(3, (3, 5), padding="same", depth_multiplier=2), (5, 6, 2)),
    "sep_3_s2_p1_nobias": (lambda: SeparableConv2D(4, 3, stride=2, padding=1, use_bias=False), (7, 7, 3)),
    "dense": (lambda: Dense(5), (7,)),
    "dense_nobias": (lambda: Dense(3, use_bias=False), (4,)),
}


@pytest.mark.parametrize("name", list(WEIGHTED))
def test_macs_are_the_multiplications_the_naive_forward_makes(name):
    make, shape = WEIGHTED[name]
    layer = make()
    layer.build(shape, np.random.default_rng(0))
    tally = Tally()
    for key in layer.params:
        layer.params[key] = counted(layer.params[key], tally)
    x = counted(np.random.default_rng(1).standard_normal((2,) + shape), tally)
    layer.forward_naive(x)
    assert layer.macs() > 0
    assert tally.mults == 2 * layer.macs()
    assert layer.flops() == 2 * layer.macs()
    # Every weight and bias build made is counted, and nothing else.
    assert layer.param_count() == sum(np.asarray(p).size for p in layer.params.values())


def test_conv_macs_by_the_lesson_formula():
    # 128 filters of 3x3x3 on a 10x10 RGB image, stride 2, padding (1, 2): Ho=5, Wo=6
    conv = Conv2D(128, 3, stride=2, padding=(1, 2))
    assert conv.bind((10, 10, 3)) == (side(10, 3, 2, 1), side(10, 3, 2, 2), 128) == (5, 6, 128)
    assert conv.macs() == 5 * 6 * 128 * 3 * 3 * 3
    assert conv.param_count() == 3 * 3 * 3 * 128 + 128
    dw = DepthwiseConv2D((3, 5), stride=1, padding="same", depth_multiplier=2)
    assert dw.bind((8, 9, 4)) == (8, 9, 8)
    assert dw.macs() == 8 * 9 * 4 * 2 * 3 * 5
    assert dw.param_count() == 3 * 5 * 4 * 2 + 4 * 2
    sep = SeparableConv2D(16, 3, padding=1, use_bias=False)
    assert sep.bind((8, 8, 4)) == (8, 8, 16)
    assert sep.macs() == 8 * 8 * 4 * 3 * 3 + 8 * 8 * 4 * 16
    assert sep.param_count() == 3 * 3 * 4 + 4 * 16


def test_shape_only_layers_cost_nothing():
    for layer, shape in [(ReLU(), (4, 5, 3)), (Flatten(), (4, 5, 3)), (ReLU(), (7,))]:
        layer.bind(shape)
        assert (layer.macs(), layer.flops(), layer.param_count()) == (0, 0, 0)
    assert Flatten().bind((4, 5, 3)) == (60,)
    assert ReLU().bind((4, 5, 3)) == (4, 5, 3)


@pytest.mark.parametrize("kh, kw, stride, ph, pw, shape", [
    (2, 2, 2, 0, 0, (8, 6, 3)), (3, 3, 2, 1, 1, (9, 8, 2)), (2, 3, 1, 0, 1, (5, 6, 4)), (3, 2, 3, 1, 0, (10, 7, 1)),
])
def test_pooling_flops_count_comparisons_and_additions(kh, kw, stride, ph, pw, shape):
    h, w, c = shape
    outputs = side(h, kh, stride, ph) * side(w, kw, stride, pw) * c
    mx = MaxPool2D((kh, kw), stride=stride, padding=(ph, pw))
    av = AvgPool2D((kh, kw), stride=stride, padding=(ph, pw))
    for pool in (mx, av):
        assert pool.bind(shape) == (side(h, kh, stride, ph), side(w, kw, stride, pw), c)
        assert pool.macs() == 0 and pool.param_count() == 0
    # max: kh*kw - 1 comparisons an output; average: kh*kw - 1 additions and one scaling
    assert mx.flops() == outputs * (kh * kw - 1)
    assert av.flops() == outputs * kh * kw


def test_pooling_stride_defaults_to_the_window():
    assert MaxPool2D(3).stride == 3
    assert MaxPool2D(3, stride=1).stride == 1
    assert AvgPool2D((2, 2)).bind((8, 6, 1)) == (4, 3, 1)
    with pytest.raises(ValueError, match=r"(?i)square.*stride|stride.*square"):
        MaxPool2D((2, 3))
    assert MaxPool2D((2, 3), stride=1).bind((4, 4, 1)) == (3, 2, 1)
    with pytest.raises(ValueError, match="pool_size"):
        AvgPool2D("2")


def test_macs_per_weight_is_the_output_positions_a_weight_is_used_at():
    conv = Conv2D(2, (3, 2), stride=2, padding=(1, 0))
    conv.bind((9, 8, 3))
    assert conv.macs_per_weight() == side(9, 3, 2, 1) * side(8, 2, 2, 0) == 5 * 4
    # consistent with the MACs: every weight is used macs_per_weight times
    assert conv.macs() == conv.macs_per_weight() * 3 * 2 * 3 * 2
    dw = DepthwiseConv2D(3, padding=1)
    dw.bind((6, 7, 2))
    assert dw.macs_per_weight() == 6 * 7
    fc = Dense(4)
    fc.bind((9,))
    assert fc.macs_per_weight() == 1
    relu = ReLU()
    relu.bind((3,))
    with pytest.raises(ValueError, match=r"^layer relu \(relu\) has no weights"):
        relu.macs_per_weight()
    with pytest.raises(ValueError, match=r"^layer r1 \(relu\) has no weights"):
        ReLU(name="r1").macs_per_weight()


def test_openvino_window_is_strides_and_symmetric_pads():
    conv = Conv2D(2, (3, 5), stride=2, padding="same")
    assert conv.openvino_window() == ([2, 2], [1, 2], [1, 2])
    assert MaxPool2D(2).openvino_window() == ([2, 2], [0, 0], [0, 0])


# --------------------------------------------------------------------------- words
def test_conv_describes_its_filters_kernel_geometry_and_input():
    conv = Conv2D(4, (3, 5), stride=2, padding=(1, 2))
    conv.bind((9, 8, 3))
    words = conv.describe()
    assert re.search(r"\bconvolution with 4 filters\b", words)
    assert re.search(r"\b3x5x3 kernel\b", words)
    assert re.search(r"\bstride 2\b", words)
    assert re.search(r"padding 1 \(top/bottom\) and 2 \(left/right\)", words)
    assert re.search(r"applied to a 9x8x3 input", words)
    one = Conv2D(1, 3)
    one.bind((5, 5, 1))
    assert re.search(r"\bwith 1 filter,", one.describe())
    assert re.search(r"no padding", one.describe())


@pytest.mark.parametrize("padding, words", [
    ("same", r'stride 1, "same" padding'), (0, r"stride 1, no padding"), ("valid", r"stride 1, no padding"),
    (2, r"stride 1, padding 2$"), ((2, 2), r"stride 1, padding 2$"), ((0, 1), r"padding 0 \(top/bottom\) and 1"),
])
def test_geometry_in_words(padding, words):
    assert re.search(words, Conv2D(1, 3, padding=padding).geometry())


def test_depthwise_and_separable_describe_their_steps():
    dw = DepthwiseConv2D((3, 1), stride=2, padding="same", depth_multiplier=2)
    dw.bind((7, 5, 3))
    words = dw.describe()
    assert re.search(r"depthwise convolution with a 3x1 kernel per channel", words)
    assert re.search(r"depth multiplier 2", words)
    assert re.search(r'stride 2, "same" padding', words)
    assert re.search(r"7x5x3 input", words)
    plain = DepthwiseConv2D(3)
    plain.bind((5, 5, 2))
    assert re.search(r"3x3 kernel per channel, stride 1, no padding", plain.describe())

    sep = SeparableConv2D(6, (3, 5), padding="same", depth_multiplier=2)
    sep.bind((5, 6, 2))
    words = sep.describe()
    assert re.search(r"separable convolution: a 3x5 depthwise convolution \(depth multiplier 2\) then a 1x1 "
                     r"pointwise convolution with 6 filters", words)
    assert re.search(r'stride 1, "same" padding, applied to a 5x6x2 input', words)
    flat = SeparableConv2D(6, 3)
    flat.bind((5, 6, 2))
    assert re.search(r"a 3x3 depthwise convolution then a 1x1 pointwise", flat.describe())


def test_dense_and_pooling_describe_themselves():
    fc = Dense(10)
    fc.bind((128,))
    assert re.search(r"dense \(fully connected\) layer with 10 units and 128 inputs", fc.describe())
    mx = MaxPool2D((2, 3), stride=1, padding=(0, 1))
    mx.bind((6, 6, 2))
    assert re.search(r"^2x3 max pooling, stride 1, padding 0 \(top/bottom\) and 1 \(left/right\), "
                     r"applied to a 6x6x2 input", mx.describe())
    av = AvgPool2D(2)
    av.bind((6, 6, 2))
    assert re.search(r"^2x2 average pooling, stride 2, no padding", av.describe())
    relu = ReLU()
    relu.bind((3,))
    assert re.search(r"\brelu\b", relu.describe())


def test_brief_names_the_layer_and_its_settings():
    conv = Conv2D(4, (3, 5), stride=2, padding=1, name="conv1")
    assert conv.brief() == "conv1: convolution, 4 filters of 3x5, stride 2, padding 1"
    assert re.search(r"stride 1, no padding$", Conv2D(4, 3, name="c").brief())
    assert DepthwiseConv2D((3, 1), name="dw1").brief() == "dw1: depthwise convolution, 3x1"
    assert SeparableConv2D(8, 3, name="s1").brief() == "s1: separable convolution, 3x3, 8 filters"
    assert Dense(10, name="fc2").brief() == "fc2: dense, 10 units"
    assert MaxPool2D(2, name="pool1").brief() == "pool1: 2x2 max pooling, stride 2"
    assert AvgPool2D((3, 2), stride=1, name="p").brief() == "p: 3x2 avg pooling, stride 1"
    assert ReLU().brief() == "ReLU"
    assert Flatten().brief() == "flatten"


# --------------------------------------------------------------------------- base-class rules
def test_a_kind_without_formulas_says_what_it_needs():
    class Odd(Layer):
        pass

    odd = Odd()
    odd.bind((3,))
    for method in (odd.macs, odd.param_count, odd.flops):
        with pytest.raises(ValueError, match=r"no cost formula for layer kind 'layer'.*macs\(\) and param_count\(\)"):
            method()
    with pytest.raises(NotImplementedError):
        odd.openvino(None, None)
    for method in (odd.forward, odd.backward):
        with pytest.raises(NotImplementedError):
            method(np.zeros((1, 3), np.float32))
    assert not Odd.converts_to_openvino()
    assert all(layer_class(k).converts_to_openvino() for k in ("conv", "depthwise", "separable", "dense",
                                                               "relu", "flatten", "maxpool", "avgpool"))
    assert odd.describe() == "a layer layer"
    assert odd.brief() == "layer"


def test_unbound_layers_and_bad_names_are_clear_errors():
    with pytest.raises(ValueError, match=r"name must be a string, got 3"):
        Dense(3, name=3)
    conv = Conv2D(2, 3, name="c7")
    for method in (conv.macs, conv.param_count, conv.describe):
        with pytest.raises(ValueError, match=r"layer c7 is not built.*Sequential"):
            method()
    with pytest.raises(ValueError, match=r"layer conv is not built"):
        Conv2D(2, 3).macs()
    with pytest.raises(ValueError, match=r"layer c7 is not built yet: call build"):
        conv.forward(np.zeros((1, 5, 5, 1), np.float32))
    with pytest.raises(ValueError, match=r"layer dense: call forward\(x, training=True\) before backward"):
        Dense(2).backward(np.zeros((1, 2)))
    assert repr(conv) == "Conv2D(name='c7', output_shape=None)"
    conv.bind((5, 5, 1))
    assert repr(conv) == "Conv2D(name='c7', output_shape=(3, 3, 2))"


def test_standard_equivalent_has_the_same_window_and_outputs():
    sep = SeparableConv2D(6, (3, 5), stride=2, padding="same", depth_multiplier=2, use_bias=False, name="s")
    sep.bind((9, 8, 4))
    conv = sep.standard_equivalent()
    assert isinstance(conv, Conv2D) and conv.name == "s"
    assert conv.output_shape == sep.output_shape == (5, 4, 6)
    assert conv.macs() == 5 * 4 * 6 * 3 * 5 * 4
    assert conv.param_count() == 3 * 5 * 4 * 6  # no bias, as the separable layer
    assert '"same" padding' in conv.describe()
    dw = DepthwiseConv2D(3, padding=1, depth_multiplier=3)
    dw.bind((6, 6, 2))
    eq = dw.standard_equivalent()
    assert eq.filters == 2 * 3 and eq.output_shape == dw.output_shape
    assert eq.param_count() == 3 * 3 * 2 * 6 + 6
    assert "padding 1" in eq.describe() and '"same"' not in eq.describe()


def test_unbuilt_copy_keeps_the_settings_and_drops_the_weights():
    conv = Conv2D(4, (3, 5), stride=2, padding=(1, 2), use_bias=False, name="c")
    conv.build((9, 8, 3))
    conv.masks["W"] = np.ones_like(conv.params["W"], bool)
    conv.forward(np.zeros((1, 9, 8, 3), np.float32), training=True)
    clone = conv.unbuilt_copy(out_channels=2)
    assert (clone.params, clone.grads, clone.masks, clone._cache) == ({}, {}, {}, None)
    assert clone.input_shape is None and clone.output_shape is None
    assert (clone.filters, clone.kernel_size, clone.stride, clone.padding, clone.use_bias, clone.name) == (
        2, (3, 5), 2, (1, 2), False, "c")
    assert conv.filters == 4 and "W" in conv.params and conv.input_shape == (9, 8, 3)
    assert clone.build((9, 8, 3)) == (5, 4, 2)
    same = Dense(5).unbuilt_copy()
    assert same.units == 5


def test_build_initialises_he_normal_weights_and_zero_biases():
    conv = Conv2D(64, (3, 5), use_bias=True)
    conv.build((9, 9, 8), np.random.default_rng(3))
    w = conv.params["W"]
    assert w.dtype == np.float32 and w.shape == (3, 5, 8, 64)
    fan_in = 3 * 5 * 8
    assert abs(w.std() / np.sqrt(2.0 / fan_in) - 1) < 0.05
    assert abs(w.mean()) < 0.02
    assert conv.params["b"].dtype == np.float32 and not conv.params["b"].any()
    dw = DepthwiseConv2D((3, 5), depth_multiplier=4)
    dw.build((9, 9, 64))
    assert abs(dw.params["W"].std() / np.sqrt(2.0 / 15) - 1) < 0.05
    assert dw.params["b"].shape == (256,) and not dw.params["b"].any()
    sep = SeparableConv2D(32, 3, depth_multiplier=2)
    sep.build((9, 9, 64))
    assert abs(sep.params["dw_W"].std() / np.sqrt(2.0 / 9) - 1) < 0.05
    assert abs(sep.params["pw_W"].std() / np.sqrt(2.0 / 128) - 1) < 0.05
    assert sep.params["pw_W"].shape == (1, 1, 128, 32) and sep.params["b"].shape == (32,)
    fc = Dense(256)
    fc.build((300,))
    assert abs(fc.params["W"].std() / np.sqrt(2.0 / 300) - 1) < 0.05
    assert fc.params["b"].dtype == np.float32 and not fc.params["b"].any()
    # without an rng, build is reproducible
    a, b = Dense(4), Dense(4)
    a.build((6,))
    b.build((6,))
    assert np.array_equal(a.params["W"], b.params["W"])


def test_conv_inference_in_blocks_equals_the_one_shot_forward():
    # A batch several im2col blocks long: the blocked inference path must cover every image.
    conv = Conv2D(3, (3, 5), stride=1, padding=(1, 2))
    conv.build((20, 20, 6), np.random.default_rng(0))
    conv.params["b"] = np.arange(3, dtype=np.float32)
    per_image = 20 * 20 * 3 * 5 * 6 * 4
    n = 3 * (IM2COL_BLOCK_BYTES // per_image) + 2
    x = np.random.default_rng(1).standard_normal((n, 20, 20, 6)).astype(np.float32)
    fast = conv.forward(x)
    assert fast.dtype == np.float32 and fast.shape == (n, 20, 20, 3)
    # The reference: an explicit sum over the window for every output pixel.
    xp = np.pad(x, ((0, 0), (1, 1), (2, 2), (0, 0)))
    W = conv.params["W"]
    want = np.zeros((n, 20, 20, 3))
    for i in range(3):
        for j in range(5):
            want += np.einsum("nhwc,cf->nhwf", xp[:, i:i + 20, j:j + 20, :].astype(np.float64), W[i, j])
    want += conv.params["b"]
    assert np.max(np.abs(fast - want)) < 1e-4
    assert conv._cache is None


def test_float64_weights_give_float64_outputs():
    conv = Conv2D(2, 3)
    conv.build((5, 5, 1))
    conv.params = {k: v.astype(np.float64) for k, v in conv.params.items()}
    assert conv.forward(np.ones((2, 5, 5, 1))).dtype == np.float64
    dw = DepthwiseConv2D(3)
    dw.build((5, 5, 2))
    dw.params = {k: v.astype(np.float64) for k, v in dw.params.items()}
    assert dw.forward(np.ones((1, 5, 5, 2), np.float32)).dtype == np.float64


def test_a_layer_without_loops_of_its_own_checks_against_its_forward():
    flat = Flatten()
    flat.bind((2, 3, 4))
    x = np.arange(48, dtype=np.float32).reshape(2, 2, 3, 4)
    assert np.array_equal(flat.forward_naive(x), x.reshape(2, 24))


def test_default_window_is_stride_one_and_no_padding():
    # "valid" convolutions by default (Keras's default too); pooling windows do not overlap.
    for layer, want in [(Conv2D(2, 3), (6, 6, 2)), (DepthwiseConv2D(3), (6, 6, 3)),
                        (SeparableConv2D(2, 3), (6, 6, 2)), (MaxPool2D(2), (4, 4, 3)), (AvgPool2D(2), (4, 4, 3))]:
        assert layer.bind((8, 8, 3)) == want
        assert layer.padding == (0, 0)


def test_backward_keeps_the_gradient_float32():
    rng = np.random.default_rng(0)
    for layer, shape in [(MaxPool2D(2), (4, 4, 2)), (AvgPool2D(2), (4, 4, 2)), (Conv2D(2, 3), (5, 5, 2)),
                         (DepthwiseConv2D(3), (5, 5, 2)), (SeparableConv2D(2, 3), (5, 5, 2)), (Dense(3), (4,))]:
        layer.build(shape)
        x = rng.standard_normal((2,) + shape).astype(np.float32)
        y = layer.forward(x, training=True)
        dx = layer.backward(np.ones_like(y))
        assert dx.dtype == np.float32 and dx.shape == x.shape
