"""How structured pruning cuts through each layer class (``prune_inputs``), checked by forward passes.

Cutting a layer's dead input channels out of its weights must give the same outputs as the full
layer fed zeros on those channels: all of them for a layer with output channels of its own
(conv, separable, dense), the surviving ones it returns for the others (depthwise, pooling,
ReLU, Flatten). The cut here is made with
``np.ix_`` from the index arrays the layer wrote into ``axes``, as the pruning module does.
"""
import numpy as np
import pytest

from efficientnn.layers import AvgPool2D, Conv2D, Dense, DepthwiseConv2D, Flatten, MaxPool2D, ReLU, SeparableConv2D

LIVE = np.array([0, 2, 3])  # of 5 input channels: 1 and 4 are dead

KINDS = {
    "conv": (lambda: Conv2D(3, (3, 2), padding=(1, 0)), (5, 4, 5)),
    "depthwise": (lambda: DepthwiseConv2D((2, 3), depth_multiplier=2), (5, 4, 5)),
    "depthwise_nobias": (lambda: DepthwiseConv2D(3, depth_multiplier=3, use_bias=False), (5, 4, 5)),
    "separable": (lambda: SeparableConv2D(4, (3, 1), depth_multiplier=2), (5, 4, 5)),
    "dense": (lambda: Dense(4), (5,)),
    "relu": (lambda: ReLU(), (3, 2, 5)),
    "maxpool": (lambda: MaxPool2D(2), (4, 4, 5)),
    "avgpool": (lambda: AvgPool2D(2), (4, 4, 5)),
    "flatten": (lambda: Flatten(), (2, 3, 5)),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_cutting_dead_inputs_equals_feeding_them_zeros(kind):
    make, shape = KINDS[kind]
    rng = np.random.default_rng(0)
    full = make()
    full.build(shape, rng)
    for key in full.params:
        full.params[key] = rng.standard_normal(full.params[key].shape).astype(np.float32)
    axes = {key: [np.arange(d) for d in p.shape] for key, p in full.params.items()}
    live_out = full.prune_inputs(axes, LIVE.copy())
    small = full.unbuilt_copy()
    small.build(shape[:-1] + (LIVE.size,))
    small.params = {key: p[np.ix_(*axes[key])] for key, p in full.params.items()}
    x = rng.standard_normal((2,) + shape).astype(np.float32)
    dead = np.setdiff1d(np.arange(shape[-1]), LIVE)
    x[..., dead] = 0.0
    want = full.forward(x).reshape(2, -1) if kind == "flatten" else full.forward(x)
    got = small.forward(x[..., LIVE])
    if full.out_channels_attr:
        # A layer with outputs of its own keeps them all; the pruning module picks which to cut.
        assert np.allclose(got, want, atol=1e-5)
    else:
        assert np.allclose(got, want[..., live_out], atol=1e-5)
        assert got.shape[-1] == len(live_out)


def test_the_kept_indices_each_kind_writes():
    conv = Conv2D(3, 2)
    conv.build((4, 4, 5))
    axes = {k: [np.arange(d) for d in p.shape] for k, p in conv.params.items()}
    assert conv.prune_inputs(axes, LIVE).tolist() == [0, 2, 3]
    assert axes["W"][2].tolist() == [0, 2, 3] and axes["W"][3].tolist() == [0, 1, 2]
    # depthwise, multiplier 2: output c*2 + m comes from input c
    dw = DepthwiseConv2D(2, depth_multiplier=2)
    dw.build((4, 4, 5))
    axes = {k: [np.arange(d) for d in p.shape] for k, p in dw.params.items()}
    assert dw.prune_inputs(axes, LIVE).tolist() == [0, 1, 4, 5, 6, 7]
    assert axes["W"][2].tolist() == [0, 2, 3] and axes["b"][0].tolist() == [0, 1, 4, 5, 6, 7]
    sep = SeparableConv2D(4, 2, depth_multiplier=3)
    sep.build((4, 4, 5))
    axes = {k: [np.arange(d) for d in p.shape] for k, p in sep.params.items()}
    assert sep.prune_inputs(axes, LIVE).tolist() == [0, 2, 3]
    assert axes["dw_W"][2].tolist() == [0, 2, 3]
    assert axes["pw_W"][2].tolist() == [0, 1, 2, 6, 7, 8, 9, 10, 11]
    # flatten of (2, 1, 5): feature p*5 + c reads channel c at position p
    flat = Flatten()
    flat.bind((2, 1, 5))
    assert flat.prune_inputs({}, LIVE).tolist() == [0, 2, 3, 5, 7, 8]
    relu = ReLU()
    relu.bind((2, 2, 5))
    assert relu.prune_inputs({}, LIVE) is LIVE
