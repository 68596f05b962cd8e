"""The fast layers against their naive loops, and every backward pass against numerical gradients."""
import numpy as np
import pytest

from efficientnn.layers import (AvgPool2D, Conv2D, Dense, DepthwiseConv2D, Flatten, MaxPool2D, ReLU,
                                SeparableConv2D, col2im, im2col)
from layer_configs import KINDS, built

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


def _numerical_grad(f, arr, eps=1e-6):
    grad = np.zeros_like(arr)
    it = np.nditer(arr, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        old = arr[idx]
        arr[idx] = old + eps
        up = f()
        arr[idx] = old - eps
        down = f()
        arr[idx] = old
        grad[idx] = (up - down) / (2 * eps)
    return grad


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
    np.testing.assert_allclose(dx, _numerical_grad(loss, x), rtol=1e-5, atol=1e-7)
    assert set(layer.grads) == set(layer.params)
    for key, arr in layer.params.items():
        np.testing.assert_allclose(layer.grads[key], _numerical_grad(loss, arr), rtol=1e-5, atol=1e-7)


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
    with pytest.raises(ValueError, match=r"expects input of shape \(N, 8, 8, 1\), got \(2, 8, 8, 3\)"):
        conv.forward(np.zeros((2, 8, 8, 3), np.float32))


def test_backward_before_forward_is_a_clear_error():
    fc = Dense(3)
    fc.build((4,))
    fc.forward(np.zeros((1, 4), np.float32))  # not training: nothing kept
    with pytest.raises(ValueError, match="training=True"):
        fc.backward(np.zeros((1, 3), np.float32))
