"""OpenVINO conversion and layerwise timing: same numbers as numpy, names mapped back, clear errors.

Timing tests check structure (one row per layer, non-negative ordered percentiles), never speed.
"""
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from efficientnn import cost
from efficientnn import openvino_timing as ovt
from efficientnn.layers import (AvgPool2D, Conv2D, Dense, DepthwiseConv2D, Flatten, Layer, MaxPool2D, ReLU,
                                SeparableConv2D)
from efficientnn.models import Sequential, base_cnn, base_cnn_pooled, base_cnn_separable
from layer_configs import KINDS, random_layer

try:
    ovt._import_openvino()
    HAVE_OPENVINO = True
except ovt.OpenVINOUnavailable:
    HAVE_OPENVINO = False

needs_openvino = pytest.mark.skipif(not HAVE_OPENVINO, reason="openvino is not installed")
TOL = 1e-4


def _randomised(model, seed=1):
    """Nonzero biases, so a missing bias add shows (the He-initialised weights are random already
    and keep activations near 1, where an absolute 1e-4 tolerance means something)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if "b" in layer.params:
            layer.params["b"] = rng.standard_normal(layer.params["b"].shape).astype(np.float32)
    return model


def _assert_same_as_numpy(model, batch=2, seed=0):
    x = np.random.default_rng(seed).standard_normal((batch, *model.input_shape)).astype(np.float32)
    want = model.forward(x)
    got = ovt.openvino_forward(model, x)
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) < TOL


# Every layer kind with the strides, paddings, kernel shapes and depth multipliers the course uses.
CONFIGS = {
    "conv": ([Conv2D(4, 3)], (9, 8, 3)),
    "conv_stride2_pad1": ([Conv2D(4, 3, stride=2, padding=1)], (9, 8, 3)),
    "conv_same_rect_kernel": ([Conv2D(3, (3, 1), padding="same")], (7, 6, 2)),
    "conv_5x5_stride3_pad2_nobias": ([Conv2D(5, 5, stride=3, padding=2, use_bias=False)], (11, 10, 3)),
    "depthwise": ([DepthwiseConv2D(3)], (8, 8, 4)),
    "depthwise_stride2_pad1": ([DepthwiseConv2D(3, stride=2, padding=1)], (9, 8, 3)),
    "depthwise_multiplier2": ([DepthwiseConv2D(3, depth_multiplier=2)], (7, 7, 3)),
    "depthwise_m3_5x5_stride2_nobias": ([DepthwiseConv2D(5, 2, 2, depth_multiplier=3, use_bias=False)], (9, 9, 2)),
    "separable": ([SeparableConv2D(6, 3)], (8, 8, 4)),
    "separable_m2_stride2_same": ([SeparableConv2D(5, 3, stride=2, padding="same", depth_multiplier=2)], (9, 8, 3)),
    "separable_rect_nobias": ([SeparableConv2D(4, (1, 3), use_bias=False)], (6, 7, 2)),
    "maxpool": ([MaxPool2D(2)], (8, 8, 3)),
    "maxpool_3_stride2_pad1": ([MaxPool2D(3, stride=2, padding=1)], (9, 8, 3)),
    "maxpool_rect_stride1": ([MaxPool2D((2, 3), stride=1)], (6, 7, 2)),
    "avgpool": ([AvgPool2D(2)], (8, 8, 3)),
    "avgpool_3_stride2_pad1": ([AvgPool2D(3, stride=2, padding=1)], (9, 8, 3)),
    "relu_image": ([ReLU()], (5, 4, 3)),
    "flatten_dense": ([Flatten(), Dense(7)], (4, 3, 5)),
    "conv_relu_pool_flatten_dense": (
        [Conv2D(4, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(), Dense(6), ReLU(), Dense(3, use_bias=False)],
        (8, 8, 2),
    ),
    "dense_only": ([Dense(5), ReLU(), Dense(4)], (12,)),
}


@needs_openvino
@pytest.mark.parametrize("name", list(CONFIGS))
def test_openvino_output_equals_numpy_forward(name):
    layers, shape = CONFIGS[name]
    _assert_same_as_numpy(_randomised(Sequential(layers, shape)), batch=3)


@needs_openvino
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(4))
def test_random_layer_configs_equal_numpy_forward(kind, seed):
    layer, shape = random_layer(kind, np.random.default_rng(seed))
    _assert_same_as_numpy(_randomised(Sequential([layer], shape), seed), batch=2, seed=seed)


@needs_openvino
@pytest.mark.parametrize("build", [base_cnn, base_cnn_pooled, base_cnn_separable])
def test_course_models_equal_numpy_forward(build):
    _assert_same_as_numpy(_randomised(build()), batch=4)


@needs_openvino
def test_every_layer_names_a_node():
    model = base_cnn_separable()
    names = {op.get_friendly_name() for op in ovt.to_openvino(model).get_ops()}
    for layer in model.layers:
        assert layer.name in names, f"no OpenVINO node named {layer.name}"


def test_map_nodes_to_layers_follows_fusion():
    layers = ["conv1", "relu1", "conv10", "relu2", "flatten", "fc1", "relu3"]
    nodes = [
        {"name": "conv1", "type": "Convolution", "original": ["conv1", "conv1/bias", "relu1"]},
        {"name": "conv10/bias", "type": "Convolution", "original": ["conv10", "conv10/bias", "relu2"]},
        {"name": "conv1_acdb_abcd_Result_6", "type": "Reorder", "original": []},
        {"name": "flatten", "type": "Reshape", "original": ["flatten/to_nhwc", "flatten"]},
        {"name": "fc1/matmul", "type": "FullyConnected", "original": ["fc1/matmul", "fc1", "relu3"]},
    ]
    owner, fused_into = ovt.map_nodes_to_layers(nodes, layers)
    # The longest layer-name prefix wins: conv10/bias belongs to conv10, not conv1.
    assert owner == {"conv1": "conv1", "conv10/bias": "conv10", "conv1_acdb_abcd_Result_6": None,
                     "flatten": "flatten", "fc1/matmul": "fc1"}
    assert fused_into == {"relu1": "conv1", "relu2": "conv10", "relu3": "fc1"}


@pytest.fixture(scope="module")
def pooled_rows():
    if not HAVE_OPENVINO:
        pytest.skip("openvino is not installed")
    model = base_cnn_pooled()
    peak = 1e11  # given, so the test does not time a GEMM
    return model, peak, ovt.layer_times(model, runs=5, warmup=2, batch_size=2, flops_per_second=peak)


def test_layer_times_has_one_row_per_layer(pooled_rows):
    model, _, rows = pooled_rows
    layer_rows = [r for r in rows if not r.inserted]
    assert [r.name for r in layer_rows] == [layer.name for layer in model.layers]
    assert [r.kind for r in layer_rows] == [layer.kind for layer in model.layers]
    names = {layer.name for layer in model.layers}
    for r in rows:
        assert r.runs == 5 and r.batch_size == 2
        assert 0 <= r.p10_us <= r.median_us <= r.p90_us
        assert r.latency_ms == r.median_us / 1e3
        assert r.status in {"EXECUTED", "FUSED", "NOT_RUN", "OPTIMIZED_OUT"}
        if r.status == "FUSED":
            assert r.fused_into in names and r.median_us == 0
        if r.inserted:  # a node OpenVINO added (Reorder...), named as OpenVINO names it
            assert r.name not in names and r.kind == r.node_type.lower() and r.status == "EXECUTED"
    assert any(r.status == "EXECUTED" and r.kind == "conv" for r in rows)


def test_fused_layers_map_to_the_layer_before(pooled_rows):
    model, _, rows = pooled_rows
    by_name = {r.name: r for r in rows}
    order = [layer.name for layer in model.layers]
    for r in rows:
        if r.kind == "relu":
            # A ReLU either ran as its own node or inside the layer right before it, never both.
            assert (r.status == "EXECUTED" and r.nodes) or (
                r.status == "FUSED" and r.fused_into == order[order.index(r.name) - 1]
            ), r
            if r.status == "FUSED":
                assert by_name[r.fused_into].status == "EXECUTED"


def test_layer_times_counted_cost_columns(pooled_rows):
    model, peak, rows = pooled_rows
    counted = {c.name: c for c in cost.profile(model)}
    for r in rows:
        if r.inserted:
            assert r.flops == 0
            continue
        layer = model.layer(r.name)
        weights = sum(v.size for v in layer.params.values())
        moved = 4 * (weights + 2 * (np.prod(layer.input_shape) + np.prod(layer.output_shape)))
        assert r.flops == 2 * counted[r.name].flops
        assert r.macs == 2 * counted[r.name].macs
        assert r.bytes_moved == moved
        assert r.flops_per_byte == pytest.approx(r.flops / moved)
        assert r.predicted_us == pytest.approx(r.flops / peak * 1e6)


def test_format_table_and_plots(pooled_rows):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    _, peak, rows = pooled_rows
    table = ovt.format_table(rows)
    for r in rows:
        assert r.name in table
    assert "FUSED->" in table or all(r.status != "FUSED" for r in rows)
    figs = [ovt.layer_times_plot(rows), ovt.predicted_vs_measured_plot(rows),
            ovt.roofline_plot(rows, flops_per_second=peak, bytes_per_second=1e10)]
    assert all(isinstance(f, Figure) for f in figs)
    for f in figs:
        plt.close(f)


@needs_openvino
@pytest.mark.parametrize("name", ["maxpool_3_stride2_pad1", "avgpool", "conv_relu_pool_flatten_dense"])
def test_every_executed_node_is_in_exactly_one_row(name):
    layers, shape = CONFIGS[name]
    model = Sequential(layers, shape)
    rows = ovt.layer_times(model, runs=10, warmup=1, flops_per_second=1e11)
    # The same model compiles to the same graph: read which nodes ran from a fresh request called
    # as layer_times calls it, after warm-up. On pool-only models the CPU plugin runs some layout
    # Reorders on some inferences only, so the nodes that must have a row are those that ran on
    # every one of several inferences (ten each side: with three, a busy machine once had such a
    # Reorder run on all of the test's inferences and on none of layer_times').
    req = ovt.compile_model(model).create_infer_request()
    x = np.zeros((1, *shape), np.float32)
    req.infer({0: x}, share_inputs=True, share_outputs=True)
    executed = None
    for _ in range(10):
        req.infer({0: x}, share_inputs=True, share_outputs=True)
        # Layout Reorders the plugin inserts can differ between two compilations of a pool-only
        # model (seen: one present on all ten inferences here and on none of layer_times'), so only
        # the nodes of the model's own layers must have a row; inserted rows are checked below.
        ran = {p.node_name for p in req.get_profiling_info()
               if str(p.status).endswith(".EXECUTED") and p.node_type != "Reorder"}
        executed = ran if executed is None else executed & ran
    owners = [r.name for r in rows for node in r.nodes if node in executed]
    assert sorted(set(owners)) == sorted(owners), "a node's time is counted in two rows"
    assert {node for r in rows for node in r.nodes} >= executed
    layer_names = {layer.name for layer in model.layers}
    for r in rows:
        if r.inserted:
            assert r.name not in layer_names and r.nodes == (r.name,)


@needs_openvino
def test_separable_layer_time_is_its_nodes():
    model = Sequential([SeparableConv2D(8, 3, padding=1), ReLU()], (12, 12, 4))
    rows = ovt.layer_times(model, runs=3, warmup=1, flops_per_second=1e11)
    sep = next(r for r in rows if r.name == model.layers[0].name)
    assert sep.status == "EXECUTED" and sep.median_us >= 0
    assert all(n == sep.name or n.startswith(sep.name + "/") for n in sep.nodes)


@needs_openvino
def test_inference_latency_is_the_median_of_the_timed_runs():
    import time
    start = time.perf_counter()
    latency = ovt.inference_latency_ms(base_cnn(), runs=5, warmup=1)
    wall_ms = (time.perf_counter() - start) * 1e3
    # 3 of 5 runs took at least the median, and all of them ran inside this call (in milliseconds,
    # so a value in seconds or microseconds, or a sum of the runs, fails one side or the other)
    assert 0 < 3 * latency <= wall_ms
    assert latency > 1e-3  # one inference takes more than a microsecond


@needs_openvino
def test_ir_round_trip(tmp_path):
    import openvino as ov

    model = _randomised(base_cnn_pooled())
    xml = ovt.save_ir(model, tmp_path / "ir" / "pooled")
    assert xml.endswith(".xml") and Path(xml).exists() and Path(xml).with_suffix(".bin").exists()
    loaded = ov.Core().read_model(xml)
    names = {op.get_friendly_name() for op in loaded.get_ops()}
    assert {layer.name for layer in model.layers} <= names
    x = np.random.default_rng(0).standard_normal((1, 28, 28, 1)).astype(np.float32)
    got = ovt.compile_model(loaded, profiling=False).create_infer_request().infer({0: x})[0]
    assert np.max(np.abs(got - model.forward(x))) < TOL


@needs_openvino
def test_benchmark_app_reads_the_ir(tmp_path):
    tool = shutil.which("benchmark_app", path=str(Path(sys.executable).parent)) or shutil.which("benchmark_app")
    if tool is None:
        pytest.skip("benchmark_app is not on PATH")
    xml = ovt.save_ir(base_cnn_pooled(), tmp_path / "m.xml")
    out = subprocess.run([tool, "-m", xml, "-pc", "-niter", "3", "-hint", "latency", "-infer_precision", "f32"],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "conv1" in out.stdout and "pool1" in out.stdout


def test_missing_openvino_gives_install_hint(monkeypatch):
    for mod in ("openvino", "openvino.opset13"):
        monkeypatch.setitem(sys.modules, mod, None)  # `import openvino` now raises ImportError
    with pytest.raises(ovt.OpenVINOUnavailable, match="pip install"):
        ovt.to_openvino(base_cnn())
    with pytest.raises(RuntimeError, match="openvino"):
        ovt.layer_times(base_cnn(), runs=1)


def test_efficientnn_works_without_openvino(tmp_path):
    code = textwrap.dedent(
        """
        import sys
        sys.modules["openvino"] = None
        import numpy as np
        import efficientnn, efficientnn.cost, efficientnn.models
        from efficientnn import openvino_timing as ovt
        m = efficientnn.models.base_cnn()
        m.forward(np.zeros((1, 28, 28, 1), np.float32))
        try:
            ovt.to_openvino(m)
        except ovt.OpenVINOUnavailable as err:
            print("unavailable:", err)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "unavailable:" in out.stdout and "pip install" in out.stdout


@needs_openvino
def test_import_writes_no_telemetry_and_restores_ci(tmp_path):
    code = textwrap.dedent(
        """
        import os
        from efficientnn import openvino_timing as ovt
        from efficientnn.models import base_cnn
        ovt.to_openvino(base_cnn())
        print("CI" in os.environ)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["HOME"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
    assert not (tmp_path / "intel").exists()


class _Softmax(Layer):
    kind = "softmax"


def test_bad_models_raise_value_error():
    with pytest.raises(ValueError, match="Sequential"):
        ovt.to_openvino(object())
    model = Sequential([Flatten(), Dense(3)], (2, 2, 1))
    model.layers.append(_Softmax(name="softmax1"))
    with pytest.raises(ValueError, match="softmax"):
        ovt.to_openvino(model)
    with pytest.raises(ValueError, match="runs"):
        ovt.layer_times(base_cnn(), runs=0)
    with pytest.raises(ValueError, match="batch_size"):
        ovt.to_openvino(base_cnn(), batch_size=0)


@needs_openvino
def test_bad_input_and_device_raise_clear_errors():
    with pytest.raises(ValueError, match=r"\(N, 28, 28, 1\)"):
        ovt.openvino_forward(base_cnn(), np.zeros((1, 28, 28), np.float32))
    with pytest.raises(ovt.OpenVINOUnavailable, match="NO_SUCH_DEVICE"):
        ovt.compile_model(base_cnn(), device="NO_SUCH_DEVICE")


@needs_openvino
def test_dynamic_batch_model_takes_any_batch():
    model = _randomised(base_cnn_pooled())
    compiled = ovt.compile_model(ovt.to_openvino(model, batch_size=None), profiling=False)
    for n in (1, 3):
        x = np.random.default_rng(n).standard_normal((n, 28, 28, 1)).astype(np.float32)
        got = compiled.create_infer_request().infer({0: x})[0]
        assert np.max(np.abs(got - model.forward(x))) < TOL
