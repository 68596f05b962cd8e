"""Each layer class's own OpenVINO nodes: same numbers as its numpy forward, named after the layer.

One tiny model a kind (non-square kernels, (ph, pw) padding, strides, depth multipliers, with and
without bias), run through real OpenVINO; the node names are the ones the timing table maps back
to layers (see :mod:`efficientnn.openvino_timing.conversion`).
"""
import multiprocessing
import os

import numpy as np
import pytest

from efficientnn import openvino_timing as ovt
from efficientnn.layers import AvgPool2D, Conv2D, Dense, DepthwiseConv2D, Flatten, MaxPool2D, ReLU, SeparableConv2D
from efficientnn.models import Sequential

pytest.importorskip("openvino", reason="openvino is not installed")


def _openvino_forward(model, x):
    """OpenVINO's output for ``x``; under mutation testing, computed in a fresh process.

    mutmut forks one child per mutant from a process that has already run OpenVINO, and
    OpenVINO's thread pool does not survive a fork: the child hangs until mutmut's timeout,
    which mutmut counts as a kill whatever the mutant did. A spawned process starts a pool of
    its own and, with the same MUTANT_UNDER_TEST in its environment, runs the same mutant.
    """
    if not os.environ.get("MUTANT_UNDER_TEST"):
        return ovt.openvino_forward(model, x)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(ovt.openvino_forward, (model, x))

# name -> (layers, input shape, node names the graph must hold)
MODELS = {
    "conv": ([Conv2D(3, (3, 5), stride=2, padding=(1, 2), name="c")], (9, 8, 2), {"c", "c/bias"}),
    "conv_nobias": ([Conv2D(2, (2, 3), use_bias=False, name="c")], (6, 7, 3), {"c"}),
    "depthwise": ([DepthwiseConv2D((3, 1), stride=2, padding=(1, 0), depth_multiplier=2, name="d")], (7, 6, 3),
                  {"d", "d/bias"}),
    "separable": ([SeparableConv2D(4, (1, 3), padding=(0, 1), depth_multiplier=2, name="s")], (5, 6, 3),
                  {"s/depthwise", "s", "s/bias"}),
    "separable_nobias": ([SeparableConv2D(3, 3, stride=2, use_bias=False, name="s")], (7, 7, 2),
                         {"s/depthwise", "s"}),
    "pools": ([MaxPool2D((2, 3), stride=1, padding=(1, 1), name="mp"), ReLU(name="r"),
               AvgPool2D(3, stride=2, padding=1, name="ap")], (6, 7, 2), {"mp", "r", "ap"}),
    "flatten_dense": ([Conv2D(3, 2, name="c"), Flatten(name="f"), Dense(4, name="fc"),
                       Dense(2, use_bias=False, name="out")], (4, 3, 2),
                      {"f/to_nhwc", "f", "fc/matmul", "fc", "out"}),
    "dense_first": ([Dense(3, name="fc")], (5,), {"fc/matmul", "fc"}),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_openvino_nodes_compute_the_numpy_forward(name):
    layers, shape, nodes = MODELS[name]
    model = Sequential([layer.unbuilt_copy() for layer in layers], shape, seed=0)
    rng = np.random.default_rng(1)
    for layer in model.layers:  # nonzero biases, so a missing or misplaced bias shows
        if "b" in layer.params:
            layer.params["b"] = rng.standard_normal(layer.params["b"].shape).astype(np.float32)
    x = rng.standard_normal((2,) + shape).astype(np.float32)
    got = _openvino_forward(model, x)
    want = model.forward(x)
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) < 1e-4
    names = {op.get_friendly_name() for op in ovt.to_openvino(model).get_ops()}
    assert nodes <= names, f"missing nodes {nodes - names}"
