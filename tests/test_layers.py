"""The fast layers against their naive loops, and every backward pass against numerical gradients."""
import numpy as np
import pytest

from efficientnn.layers import (AvgPool2D, Conv2D, Dense, DepthwiseConv2D, Flatten, MaxPool2D, ReLU,
                                SeparableConv2D, col2im, im2col)
from layer_configs import KINDS, built, numerical_gradient

SEEDS = range(12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_fast_forward_equals_naive_loops(kind, seed):
    layer, shape, rng = built(kind, seed)
    x = rng.standard_normal((2,) + shape).astype(np.float32)
    fast = layer.forward(x)
    naive = layer.forward_naive(x)
    assert fast.shape == naive.shape == (2,) + layer.output_shape
    assert fast.dtype == np.float32
    assert np.max(np.abs(fast - naive)) < 1e-4


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(4))
def test_backward_matches_numerical_gradient(kind, seed):
    layer, shape, rng = built(kind, seed)
    # float64 throughout so central differences are accurate to ~1e-9
    for key in layer.params:
        layer.params[key] = layer.params[key].astype(np.float64)
    x = rng.standard_normal((2,) + shape)
    if kind == "maxpool":  # ties make max non-differentiable; spread the values apart
        x = rng.permutation(np.arange(x.size, dtype=np.float64)).reshape(x.shape) / x.size
    if kind == "relu":  # keep clear of the kink at 0
        x = np.where(np.abs(x) < 1e-3, 0.5, x)
    r = rng.standard_normal((2,) + layer.output_shape)

    def loss():
        return float(np.sum(layer.forward(x) * r))

    layer.forward(x, training=True)
    dx = layer.backward(r)
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, numerical_gradient(loss, x, eps=1e-6), rtol=1e-5, atol=1e-7)
    assert set(layer.grads) == set(layer.params)
    for key, arr in layer.params.items():
        np.testing.assert_allclose(layer.grads[key], numerical_gradient(loss, arr, eps=1e-6), rtol=1e-5, atol=1e-7)


def test_flatten_keeps_nhwc_order_and_unflattens():
    f = Flatten()
    f.build((2, 3, 4))
    x = np.arange(48, dtype=np.float32).reshape(2, 2, 3, 4)
    y = f.forward(x, training=True)
    assert y.shape == (2, 24)
    assert np.array_equal(y[1], x[1].ravel())
    assert np.array_equal(f.backward(y), x)


def test_im2col_col2im_are_adjoint():
    # <im2col(x), d> == <x, col2im(d)> is what makes col2im the right backward of im2col
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 6, 3))
    cols = im2col(x, (3, 2), stride=2, padding=(1, 1))
    d = rng.standard_normal(cols.shape)
    assert np.isclose(np.sum(cols * d), np.sum(x * col2im(d, x.shape, stride=2, padding=(1, 1))))


def test_same_padding_keeps_size_at_stride_one():
    conv = Conv2D(4, 5, padding="same")
    assert conv.build((9, 11, 2)) == (9, 11, 4)
    assert DepthwiseConv2D(3, padding="same", depth_multiplier=2).build((9, 11, 2)) == (9, 11, 4)


def test_depthwise_channel_order_is_keras_order():
    dw = DepthwiseConv2D(1, depth_multiplier=2, use_bias=False)
    dw.build((1, 1, 3))
    dw.params["W"] = np.array([[[[1, 10], [2, 20], [3, 30]]]], np.float32)
    y = dw.forward(np.ones((1, 1, 1, 3), np.float32))
    assert y.ravel().tolist() == [1, 10, 2, 20, 3, 30]  # output c*M + m from input channel c


def test_separable_is_depthwise_then_pointwise():
    rng = np.random.default_rng(3)
    sep = SeparableConv2D(4, 3, stride=2, padding=1, depth_multiplier=2)
    sep.build((7, 7, 3), rng)
    sep.params["b"] = rng.standard_normal(4).astype(np.float32)
    dw = DepthwiseConv2D(3, stride=2, padding=1, depth_multiplier=2, use_bias=False)
    dw.build((7, 7, 3))
    dw.params["W"] = sep.params["dw_W"]
    pw = Conv2D(4, 1)
    pw.build(dw.output_shape)
    pw.params = {"W": sep.params["pw_W"], "b": sep.params["b"]}
    x = rng.standard_normal((2, 7, 7, 3)).astype(np.float32)
    assert np.allclose(sep.forward(x), pw.forward(dw.forward(x)), atol=1e-5)


@pytest.mark.parametrize(
    "make, shape, message",
    [
        (lambda: Conv2D(4, 5), (3, 3, 1), "larger than the input"),
        (lambda: Conv2D(4, 5, padding=1), (2, 2, 1), "padded"),
        (lambda: Conv2D(4, 3, stride=-1), None, "stride must be positive"),
        (lambda: Conv2D(4, 3, stride=1.5), None, "stride must be a whole number"),
        (lambda: Conv2D(0, 3), None, "filters must be positive"),
        (lambda: Conv2D("5", 3), None, "filters must be a whole number"),
        (lambda: Conv2D(4, "3"), None, "kernel_size must be a whole number"),
        (lambda: Conv2D(4, 4, padding="same"), None, "odd kernel"),
        (lambda: Conv2D(4, 3, padding="full"), None, 'padding must be an int, "valid" or "same"'),
        (lambda: MaxPool2D(0), None, "pool_size must be positive"),
        (lambda: Dense(-3), None, "units must be positive"),
        (lambda: Dense(10), (4, 4, 1), "put a Flatten() before it"),
        (lambda: DepthwiseConv2D(3, depth_multiplier=0), None, "depth_multiplier must be positive"),
    ],
)
def test_bad_layer_arguments_explain_themselves(make, shape, message):
    with pytest.raises(ValueError) as err:
        make().build(shape)
    assert message in str(err.value)


def test_wrong_input_shape_is_named():
    conv = Conv2D(2, 3)
    conv.build((8, 8, 1))
    # an unnamed layer is named by its kind
    with pytest.raises(ValueError, match=r"^layer conv expects input of shape \(N, 8, 8, 1\), got \(2, 8, 8, 3\)"):
        conv.forward(np.zeros((2, 8, 8, 3), np.float32))


def test_backward_before_forward_is_a_clear_error():
    fc = Dense(3)
    fc.build((4,))
    fc.forward(np.zeros((1, 4), np.float32))  # not training: nothing kept
    with pytest.raises(ValueError, match="training=True"):
        fc.backward(np.zeros((1, 3), np.float32))


# --------------------------------------------------------------------------- a new kind is one class
@pytest.fixture
def conv1d_class():
    """A 1-D convolution written as the README tells a newcomer to: one class, nothing else.

    Defined per test and unregistered afterwards, so the kinds other tests see stay the course's.
    """
    from efficientnn.layers import LAYER_CLASSES, Layer
    from efficientnn.shapes import conv_output_size
    from efficientnn.validation import positive_int

    class Conv1D(Layer):
        kind = "conv1d"
        input_ndim = 2
        out_channels_attr = "filters"
        out_channels_key = "W"

        def __init__(self, filters, kernel_size, use_bias=True, name=None):
            super().__init__(name)
            self.filters = positive_int(filters, "filters")
            self.kernel_size = positive_int(kernel_size, "kernel_size")
            self.use_bias = bool(use_bias)

        def compute_output_shape(self, input_shape):
            return (conv_output_size(input_shape[0], self.kernel_size), self.filters)

        def _init_params(self, rng):
            shape = (self.kernel_size, self.input_shape[1], self.filters)
            self.params = {"W": rng.standard_normal(shape).astype(np.float32)}
            if self.use_bias:
                self.params["b"] = rng.standard_normal(self.filters).astype(np.float32)

        def forward(self, x, training=False):
            x = self._check(x)
            length = self.output_shape[0]
            windows = np.stack([x[:, i : i + length] for i in range(self.kernel_size)], axis=2)
            y = np.einsum("nlkc,kcf->nlf", windows, self.params["W"])
            return y + self.params["b"] if self.use_bias else y

        def macs(self):
            return self.output_shape[0] * self.filters * self.kernel_size * self.input_shape[1]

        def param_count(self):
            return self.kernel_size * self.input_shape[1] * self.filters + (self.filters if self.use_bias else 0)

        def describe(self):
            return (f"a 1-D convolution with {self.filters} filters of width {self.kernel_size}, "
                    f"applied to a {self.input_shape[0]}x{self.input_shape[1]} input")

        def brief(self):
            return f"{self.name}: 1-D convolution, {self.filters} filters of width {self.kernel_size}"

        def prune_inputs(self, axes, live):
            axes["W"][-2] = live
            return live

        def macs_per_weight(self):
            return self.output_shape[0]

    yield Conv1D
    del LAYER_CLASSES["conv1d"]


def test_a_new_layer_kind_is_one_class_that_cost_quiz_and_pruning_ask(conv1d_class):
    from efficientnn import cost, pruning
    from efficientnn.models import Sequential
    from efficientnn.openvino_timing import to_openvino
    from efficientnn.quiz import LayerSpec, Question, check, describe_model
    from efficientnn.quiz.questions import expected

    model = Sequential([conv1d_class(4, 3), ReLU(), Flatten(), Dense(2)], input_shape=(10, 3), seed=1)
    conv = model.layer("conv1d1")
    row = next(r for r in cost.profile(model) if r.name == "conv1d1")
    # 8 output positions x 4 filters, each a dot product over a 3-wide window of 3 channels.
    assert (row.output_shape, row.macs, row.flops) == ((8, 4), 8 * 4 * 3 * 3, 2 * 8 * 4 * 3 * 3)
    assert row.params == sum(p.size for p in conv.params.values())

    spec = LayerSpec("conv1d", (10, 3), kernel_size=3, filters=4)
    question = Question("macs", spec)
    assert expected(question) == row.macs and check(question, str(row.macs)).correct
    wrong = check(question, str(row.flops))  # the generic slips work for any kind
    assert not wrong.correct and wrong.slip == "flops_for_macs"
    assert not check(Question("output_shape", spec), "(9, 4)").correct
    assert LayerSpec.from_layer(conv).params() == row.params
    assert question.prompt().startswith("Take a 1-D convolution with 4 filters of width 3")
    assert "conv1d1: 1-D convolution, 4 filters of width 3" in describe_model(model)

    # Structured pruning cuts through it and the Flatten after it: cutting filters equals zeroing them.
    keep = {"conv1d1": [0, 2, 3]}
    small = pruning.remove_channels(model, keep)
    x = np.random.default_rng(0).standard_normal((5, 10, 3)).astype(np.float32)
    assert small.layer("conv1d1").output_shape == (8, 3)
    assert np.allclose(small.forward(x), pruning.mask_channels(model, keep).forward(x), atol=1e-5)
    assert pruning.sparsity_report(model)[0].nonzero_macs == row.macs

    # A kind without OpenVINO nodes is refused by name, not converted wrongly.
    with pytest.raises(ValueError, match="conv1d"):
        to_openvino(model)


def test_every_course_kind_answers_for_itself():
    from efficientnn.layers import LAYER_CLASSES, layer_class

    assert list(LAYER_CLASSES)[:8] == ["conv", "depthwise", "separable", "dense", "relu", "flatten",
                                       "maxpool", "avgpool"]
    assert layer_class("maxpool") is MaxPool2D
    with pytest.raises(ValueError, match="no layer kind 'conv3d'; the kinds are conv, depthwise"):
        layer_class("conv3d")
    with pytest.raises(ValueError, match="only depthwise and separable layers have a standard equivalent"):
        Conv2D(4, 3).standard_equivalent()
    pool = MaxPool2D(2)
    assert pool.pool_size == pool.kernel_size == (2, 2)


def test_a_bad_argument_is_named_in_its_error():
    # the message must say which argument was wrong, in the words of the signature
    for kwargs, word in (({"filters": 0, "kernel_size": 3}, r"\bfilters must be"),
                         ({"filters": 4, "kernel_size": 3, "depth_multiplier": 0}, r"\bdepth_multiplier must be")):
        with pytest.raises(ValueError, match=word):
            SeparableConv2D(**kwargs)
    for pool in (MaxPool2D, AvgPool2D):
        with pytest.raises(ValueError, match=r"^stride=None needs a square pool_size; give the stride explicitly\.$"):
            pool((2, 3))
        assert pool((2, 3), stride=1).stride == 1


# --------------------------------------------------------------------------- paths that must agree
@pytest.mark.parametrize("kind", KINDS)
def test_the_training_forward_computes_what_the_inference_forward_does(kind):
    # built() gives nonzero biases: a training path that dropped the bias would differ
    for seed in range(3):
        layer, shape, rng = built(kind, seed)
        x = rng.standard_normal((2,) + tuple(shape)).astype(np.float32)
        np.testing.assert_allclose(layer.forward(x, training=True), layer.forward(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_an_inference_forward_keeps_nothing_for_backward(kind):
    layer, shape, rng = built(kind, 0)
    x = rng.standard_normal((2,) + tuple(shape)).astype(np.float32)
    y = layer.forward(x, training=True)
    layer.forward(x)  # the default is inference: what the training pass kept is dropped
    with pytest.raises(ValueError, match=r"call forward\(x, training=True\) before backward"):
        layer.backward(np.ones_like(y))


def test_relu_passes_no_gradient_at_exactly_zero():
    # pruned filters give exact zeros; ReLU's derivative there is taken as 0 (x > 0)
    relu = ReLU()
    relu.build((3,))
    relu.forward(np.array([[-1.0, 0.0, 2.0]], np.float32), training=True)
    assert relu.backward(np.ones((1, 3), np.float32)).tolist() == [[0.0, 0.0, 1.0]]


@pytest.mark.parametrize("kind", KINDS)
def test_parameters_are_built_float32_and_naive_outputs_are_float32(kind):
    from layer_configs import random_layer

    layer, shape = random_layer(kind, np.random.default_rng(3))
    layer.build(shape)
    assert {name: str(p.dtype) for name, p in layer.params.items()} == {name: "float32" for name in layer.params}
    x = np.random.default_rng(4).standard_normal((1,) + tuple(shape)).astype(np.float32)
    assert layer.forward_naive(x).dtype == np.float32


@pytest.mark.parametrize("make, shape", [(lambda: Conv2D(2, 3), (5, 5, 1)), (lambda: DepthwiseConv2D(3), (5, 5, 2))])
def test_the_output_dtype_follows_both_the_input_and_the_weights(make, shape):
    layer = make()
    layer.build(shape)
    x32 = np.ones((1,) + shape, np.float32)
    for training in (False, True):
        assert layer.forward(x32, training=training).dtype == np.float32
        assert layer.forward(x32.astype(np.float64), training=training).dtype == np.float64
    layer.params = {k: v.astype(np.float64) for k, v in layer.params.items()}
    for training in (False, True):
        assert layer.forward(x32, training=training).dtype == np.float64


def test_build_uses_the_random_generator_it_is_given():
    weights = []
    for seed in (1, 2):
        conv = Conv2D(2, 3)
        conv.build((5, 5, 1), np.random.default_rng(seed))
        weights.append(conv.params["W"])
    assert not np.array_equal(*weights)


def test_windows_default_to_stride_one_and_no_padding():
    x = np.arange(2 * 4 * 5 * 3, dtype=np.float32).reshape(2, 4, 5, 3)
    assert np.array_equal(im2col(x, (2, 3)), im2col(x, (2, 3), 1, (0, 0)))
    cols = im2col(x, (2, 3))
    assert np.array_equal(col2im(cols, x.shape), col2im(cols, x.shape, 1, (0, 0)))
