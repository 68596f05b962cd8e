"""Depthwise and separable convolutions with non-square kernels and unequal padding.

A square kernel with one int padding pads height and width alike, so a layer that padded the
width with the height's padding (or slid the kernel's height along the width) would pass every
square test. Here each fast and naive forward is compared with a reference written in this file
(explicit zero padding and a sum over each window), and each backward with numerical gradients,
for kernels like 1x3 and 3x5 with ``padding="same"`` and (ph, pw) pairs.
"""
import numpy as np
import pytest

from efficientnn.layers import DepthwiseConv2D, SeparableConv2D
from layer_configs import numerical_gradient

# (kernel (kh, kw), stride, padding as given, padding as (ph, pw) pixels on each side)
CASES = [((3, 5), 1, "same", (1, 2)), ((5, 3), 1, "same", (2, 1)), ((1, 3), 1, "same", (0, 1)),
         ((3, 1), 2, "same", (1, 0)), ((2, 3), 1, (0, 2), (0, 2)), ((3, 2), 2, (2, 0), (2, 0)),
         ((1, 1), 1, (1, 0), (1, 0)), ((3, 3), 2, (0, 1), (0, 1))]
IDS = [f"k{k[0]}x{k[1]}-s{s}-p{p}" for k, s, _, p in CASES]


def side(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def depthwise_reference(x, W, stride, ph, pw):
    """x : (N, H, W, C); W : (kh, kw, C, M) -> (N, Ho, Wo, C*M), channel c*M + m."""
    kh, kw, c, m = W.shape
    n, h, w, _ = x.shape
    xp = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=np.float64)
    xp[:, ph:ph + h, pw:pw + w, :] = x
    ho, wo = side(h, kh, stride, ph), side(w, kw, stride, pw)
    y = np.zeros((n, ho, wo, c * m))
    for i in range(ho):
        for j in range(wo):
            window = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]  # (N, kh, kw, C)
            for ci in range(c):
                for mi in range(m):
                    y[:, i, j, ci * m + mi] = (window[..., ci] * W[:, :, ci, mi]).sum(axis=(1, 2))
    return y


def build(layer, shape, seed):
    rng = np.random.default_rng(seed)
    layer.build(shape, rng)
    for key in layer.params:  # nonzero biases, so a bias slip shows too
        layer.params[key] = rng.standard_normal(layer.params[key].shape).astype(np.float32)
    x = rng.standard_normal((2,) + shape).astype(np.float32)
    return x


@pytest.mark.parametrize("kernel, stride, padding, pads", CASES, ids=IDS)
def test_depthwise_pads_height_and_width_by_their_own_amounts(kernel, stride, padding, pads):
    layer = DepthwiseConv2D(kernel, stride=stride, padding=padding, depth_multiplier=2)
    shape = (7, 8, 3)
    x = build(layer, shape, seed=sum(kernel) + stride)
    assert tuple(layer.padding) == pads
    expected = depthwise_reference(x, layer.params["W"], stride, *pads) + layer.params["b"]
    assert layer.output_shape == (side(7, kernel[0], stride, pads[0]), side(8, kernel[1], stride, pads[1]), 6)
    assert expected.shape == (2,) + layer.output_shape
    np.testing.assert_allclose(layer.forward(x), expected, atol=1e-4)
    np.testing.assert_allclose(np.asarray(layer.forward_naive(x), dtype=np.float64), expected, atol=1e-4)


@pytest.mark.parametrize("kernel, stride, padding, pads", CASES, ids=IDS)
def test_separable_pads_height_and_width_by_their_own_amounts(kernel, stride, padding, pads):
    layer = SeparableConv2D(4, kernel, stride=stride, padding=padding, depth_multiplier=2)
    shape = (6, 9, 2)
    x = build(layer, shape, seed=10 + sum(kernel) + stride)
    mid = depthwise_reference(x, layer.params["dw_W"], stride, *pads)
    expected = mid @ layer.params["pw_W"][0, 0].astype(np.float64) + layer.params["b"]
    assert layer.output_shape == (side(6, kernel[0], stride, pads[0]), side(9, kernel[1], stride, pads[1]), 4)
    np.testing.assert_allclose(layer.forward(x), expected, atol=1e-4)
    np.testing.assert_allclose(np.asarray(layer.forward_naive(x), dtype=np.float64), expected, atol=1e-4)


@pytest.mark.parametrize("make", [lambda k, s, p: DepthwiseConv2D(k, stride=s, padding=p, depth_multiplier=2),
                                  lambda k, s, p: SeparableConv2D(3, k, stride=s, padding=p)],
                         ids=["depthwise", "separable"])
@pytest.mark.parametrize("kernel, stride, padding, pads", [CASES[0], CASES[3], CASES[5]], ids=[IDS[0], IDS[3], IDS[5]])
def test_backward_with_unequal_padding_matches_numerical_gradients(make, kernel, stride, padding, pads):
    layer = make(kernel, stride, padding)
    x = build(layer, (5, 6, 2), seed=3).astype(np.float64)
    for key in layer.params:
        layer.params[key] = layer.params[key].astype(np.float64)
    rng = np.random.default_rng(4)
    probe = rng.standard_normal((2,) + layer.output_shape)

    def loss():
        return float((layer.forward(x) * probe).sum())
    layer.forward(x, training=True)
    dx = layer.backward(probe)
    assert set(layer.grads) == set(layer.params)
    np.testing.assert_allclose(dx, numerical_gradient(loss, x, eps=1e-3), atol=1e-5)
    for key, grad in layer.grads.items():
        np.testing.assert_allclose(grad, numerical_gradient(loss, layer.params[key], eps=1e-3), atol=1e-5, err_msg=key)
