"""Cost formulas against numbers worked out by hand, the profile table's text, and argument errors.

Totals of the course's models are added up here layer by layer from the lesson's formulas
(a side of n pixels under a k kernel gives n - k + 1 outputs; MACs = outputs x weights per
output; FLOPs = 2 x MACs; max pooling k*k - 1 comparisons per output), never from
``cost.profile``. Errors name the argument that was wrong (``\\bfilters\\b``).
"""
import re

import numpy as np
import pytest

from efficientnn import cost
from efficientnn.models import base_cnn, base_cnn_pooled, base_cnn_separable

# base_cnn: 28x28x1 -> conv 5@3x3 (26x26x5) -> conv 5@3x3 (24x24x5) -> dense 128 -> dense 10
BASE_MACS = {"conv1": 26 * 26 * 5 * 3 * 3 * 1, "conv2": 24 * 24 * 5 * 3 * 3 * 5, "fc1": 24 * 24 * 5 * 128,
             "fc2": 128 * 10}
BASE_FLOPS = 2 * sum(BASE_MACS.values())  # 1,059,880
# base_cnn_pooled: 2x2 max pools after each conv: 26 -> 13, 13 - 2 = 11 -> 5
POOLED_MACS = 26 * 26 * 5 * 9 * 1 + 11 * 11 * 5 * 9 * 5 + 5 * 5 * 5 * 128 + 128 * 10
POOLED_FLOPS = 2 * POOLED_MACS + 13 * 13 * 5 * (2 * 2 - 1) + 5 * 5 * 5 * (2 * 2 - 1)
# base_cnn_separable: each conv is depthwise 3x3 (one kernel a channel) + pointwise 1x1
SEPARABLE_MACS = (26 * 26 * 1 * 9 + 26 * 26 * 1 * 5) + (24 * 24 * 5 * 9 + 24 * 24 * 5 * 5) + 24 * 24 * 5 * 128 + 1280
BASE_PARAMS = (3 * 3 * 1 * 5 + 5) + (3 * 3 * 5 * 5 + 5) + (2880 * 128 + 128) + (128 * 10 + 10)


def test_the_hand_worked_totals():
    assert BASE_FLOPS == 1_059_880 and POOLED_FLOPS == 152_760 and SEPARABLE_MACS == 419_704


@pytest.mark.parametrize("make, macs, flops", [(base_cnn, sum(BASE_MACS.values()), BASE_FLOPS),
                                               (base_cnn_pooled, POOLED_MACS, POOLED_FLOPS),
                                               (base_cnn_separable, SEPARABLE_MACS, 2 * SEPARABLE_MACS)])
def test_model_totals_are_the_lessons_sums(make, macs, flops):
    assert cost.total_macs(make()) == macs
    assert cost.total_flops(make()) == flops


def test_total_params_counts_weights_and_biases():
    assert cost.total_params(base_cnn()) == BASE_PARAMS == 370_338


def test_the_profile_table_shows_each_layer_and_the_totals():
    text = cost.format_profile(cost.profile(base_cnn()), title="base_cnn")
    lines = text.splitlines()
    assert lines[0] == "base_cnn"
    assert re.fullmatch(r"layer\s+kind\s+output shape\s+params\s+MACs\s+FLOPs\s+share", lines[1])
    assert set(lines[2]) == {"-"} and len(lines[2]) == len(lines[1]) == 83 and lines[-2] == lines[2]
    fc1 = next(line for line in lines if line.startswith("fc1"))
    share = 2 * BASE_MACS["fc1"] / BASE_FLOPS
    assert re.fullmatch(rf"fc1\s+dense\s+128\s+368,768\s+368,640\s+737,280\s+{share:.1%}", fc1)
    conv1 = next(line for line in lines if line.startswith("conv1"))
    share = 2 * BASE_MACS["conv1"] / BASE_FLOPS  # 5.7%
    assert re.fullmatch(rf"conv1\s+conv\s+26x26x5\s+50\s+30,420\s+60,840\s+{share:.1%}", conv1), conv1
    assert re.fullmatch(rf"total\s+{BASE_PARAMS:,}\s+{BASE_FLOPS // 2:,}\s+{BASE_FLOPS:,}\s+100%", lines[-1])
    assert "\n" not in "".join(lines) and len(lines) == 2 + 1 + len(base_cnn().layers) + 2
    untitled = cost.format_profile(cost.profile(base_cnn()))
    assert untitled.splitlines()[0].startswith("layer") and untitled == "\n".join(lines[1:])


def test_a_table_of_layers_without_flops_has_no_division_by_zero():
    rows = [r for r in cost.profile(base_cnn()) if r.flops == 0]
    text = cost.format_profile(rows)
    assert "0.0%" in text and text.splitlines()[-1].split()[-1] == "100%"


def test_summary_uses_the_hand_worked_numbers():
    text = base_cnn().summary(print_fn=None)
    assert f"{BASE_FLOPS:,}" in text
    assert f"{2 * BASE_MACS['fc1'] / BASE_FLOPS:.1%}" in text  # fc1's share: 69.6%


@pytest.mark.parametrize("call, name", [
    (lambda: cost.conv2d_macs((8, 8, 3), (3, 0), 4), "kernel_size"),
    (lambda: cost.conv2d_macs((8, 8, 3), 3, 0), "filters"),
    (lambda: cost.depthwise_macs((8, 8, 3), (0, 3)), "kernel_size"),
    (lambda: cost.pointwise_macs((8, 8, 3), 0), "filters"),
    (lambda: cost.separable_mac_ratio((3, 0), 4), "kernel_size"),
    (lambda: cost.separable_mac_ratio(3, 0), "filters"),
    (lambda: cost.dense_macs(0, 4), "in_units"),
    (lambda: cost.dense_macs(4, 0), "out_units"),
    (lambda: cost.pool_flops((8, 8, 3), 2, mode="sum"), "mode"),
    (lambda: cost.flops_from_macs(-1), "macs"),
    (lambda: cost.conv2d_params((3, 0), 3, 4), "kernel_size"),
    (lambda: cost.conv2d_params(3, 0, 4), "in_channels"),
    (lambda: cost.conv2d_params(3, 3, 0), "filters"),
    (lambda: cost.depthwise_params((0, 3), 3), "kernel_size"),
    (lambda: cost.depthwise_params(3, 0), "in_channels"),
    (lambda: cost.depthwise_params(3, 3, 0), "depth_multiplier"),
    (lambda: cost.separable_params(3, 0, 4), "in_channels"),
    (lambda: cost.separable_params(3, 3, 4, 0), "depth_multiplier"),
    (lambda: cost.latency_ms(-1, 1e9), "flops"),
    (lambda: cost.latency_ms(1, 0), "flops_per_second"),
    (lambda: cost.measure_flops_per_second(n=0), "n"),
    (lambda: cost.measure_flops_per_second(repeats=0), "repeats"),
    (lambda: cost.measure_flops_per_second(min_seconds=-1), "min_seconds"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_bad_argument_is_named(call, name):
    with pytest.raises(ValueError) as err:
        call()
    assert re.match(rf"{name} must be", str(err.value)), str(err.value)


def test_latency_estimate_edges():
    assert cost.latency_ms(0, 1e9) == 0.0 and cost.latency_ms(1, 1) == 1000.0
    assert cost.latency_ms(1.5e9, 3e9) == pytest.approx(500.0)
    with pytest.raises(ValueError, match=r"^flops and flops_per_second must be numbers, not strings\.$"):
        cost.latency_ms("1", 1)
    with pytest.raises(ValueError, match="not strings"):
        cost.latency_ms(1, b"1")
    with pytest.raises(ValueError, match=r"^flops must be zero or more, got -1\.$"):
        cost.latency_ms(-1, 1)
    with pytest.raises(ValueError, match=r"^flops_per_second must be positive, got 0\.$"):
        cost.latency_ms(1, 0)


def test_params_with_and_without_biases():
    assert cost.conv2d_params((3, 5), 4, 8) == 3 * 5 * 4 * 8 + 8
    assert cost.conv2d_params((3, 5), 4, 8, use_bias=False) == 3 * 5 * 4 * 8
    assert cost.depthwise_params(3, 4, 2) == 3 * 3 * 4 * 2 + 4 * 2
    assert cost.depthwise_params(3, 4, 2, use_bias=False) == 3 * 3 * 4 * 2
    assert cost.separable_params(3, 4, 6, 2) == 3 * 3 * 4 * 2 + 4 * 2 * 6 + 6
    assert cost.separable_params(3, 4, 6, 2, use_bias=False) == 3 * 3 * 4 * 2 + 4 * 2 * 6
    assert cost.dense_params(10, 3) == 33 and cost.dense_params(10, 3, use_bias=False) == 30
    assert cost.flops_from_macs(0) == 0 and cost.flops_from_macs(30420) == 60840


def test_formulas_with_rectangular_kernels_and_padding():
    # 9x12x2 input, 3x5 kernel, padding (1, 2): output 9x12; stride 2: 5x6
    assert cost.conv2d_macs((9, 12, 2), (3, 5), 4, 1, (1, 2)) == 9 * 12 * 4 * 3 * 5 * 2
    assert cost.conv2d_macs((9, 12, 2), (3, 5), 4, 2, (1, 2)) == 5 * 6 * 4 * 3 * 5 * 2
    assert cost.depthwise_macs((9, 12, 2), (3, 5), 1, "same", 3) == 9 * 12 * 2 * 3 * 3 * 5
    assert cost.separable_macs((9, 12, 2), (3, 5), 4, 1, "same", 3) == 9 * 12 * 6 * 15 + 9 * 12 * 6 * 4
    assert cost.pointwise_macs((9, 12, 2), 4) == 9 * 12 * 2 * 4
    assert cost.separable_mac_ratio((3, 5), 4) == pytest.approx(1 / 4 + 1 / 15)
    assert cost.pool_flops((9, 12, 2), (3, 2), stride=1) == 7 * 11 * 2 * (3 * 2 - 1)
    assert cost.pool_flops((9, 12, 2), (3, 2), stride=1, mode="avg") == 7 * 11 * 2 * 3 * 2
    assert cost.pool_flops((8, 8, 2), 2, padding=1) == 5 * 5 * 2 * 3


def test_measured_rate_is_a_rate():
    for repeats in (1, 2):
        rate = cost.measure_flops_per_second(n=32, repeats=repeats, min_seconds=0)
        assert isinstance(rate, float) and 1e6 < rate < 1e14  # between a megaflop and 100 teraflops


def test_the_measurement_lasts_at_least_min_seconds():
    import time
    start = time.perf_counter()
    cost.measure_flops_per_second(n=8, repeats=1, min_seconds=0.05)
    assert time.perf_counter() - start >= 0.05  # a floor, never a ceiling: no timing assumption


def test_defaults_are_stride_one_no_padding_one_copy_per_channel():
    # 9x9x2 input, 3x3 kernel: 7x7 outputs
    assert cost.depthwise_macs((9, 9, 2), 3) == 7 * 7 * 2 * 9
    assert cost.separable_macs((9, 9, 2), 3, 4) == 7 * 7 * 2 * 9 + 7 * 7 * 2 * 4
    assert cost.conv2d_macs((9, 9, 2), 3, 4) == 7 * 7 * 4 * 9 * 2
    assert cost.depthwise_params(3, 2) == 3 * 3 * 2 + 2
    assert cost.separable_params(3, 2, 4) == 3 * 3 * 2 + 2 * 4 + 4


def test_pointwise_needs_a_three_number_shape():
    with pytest.raises(ValueError, match=r"^input_shape must have 3 entries"):
        cost.pointwise_macs((8, 8), 4)


def test_layer_cost_rows_and_unbuilt_layers():
    from efficientnn.layers import Conv2D
    row = cost.profile(base_cnn())[0]
    assert (row.name, row.kind, row.input_shape, row.output_shape) == ("conv1", "conv", (28, 28, 1), (26, 26, 5))
    assert (row.params, row.macs, row.flops) == (50, 30_420, 60_840)
    with pytest.raises(ValueError, match=r"^layer conv is not built: put it in a Sequential model first\.$"):
        cost.layer_cost(Conv2D(4, 3))
    with pytest.raises(ValueError, match=r"^layer mine is not built"):
        cost.layer_cost(Conv2D(4, 3, name="mine"))


def test_the_rate_is_two_n_cubed_over_the_best_time(monkeypatch):
    """With a clock that advances 0.5 s at every reading, every product takes 0.5 s: the rate is
    2 n^3 / 0.5 (n^3 multiply-adds of an n x n product, two FLOPs each)."""
    import types
    readings = iter(0.5 * i for i in range(1000))
    monkeypatch.setattr(cost, "time", types.SimpleNamespace(perf_counter=lambda: next(readings)))
    assert cost.measure_flops_per_second(n=16, repeats=3, min_seconds=0) == 2 * 16**3 / 0.5


class _Product(np.ndarray):
    """An array that writes down every matrix product it is the left side of: (left, right) dtypes."""

    log: list = []

    def __matmul__(self, other):
        _Product.log.append((self.dtype, other.dtype))
        return np.matmul(np.asarray(self), np.asarray(other))


def _watched_products(monkeypatch, step=0.5):
    """A clock advancing ``step`` s at each reading, and matrices that log their products."""
    import types
    readings = iter(step * i for i in range(1000))
    monkeypatch.setattr(cost, "time", types.SimpleNamespace(perf_counter=lambda: next(readings)))
    real = np.random.default_rng

    class Generator:
        def __init__(self, seed=None):
            self.gen = real(seed)

        def standard_normal(self, size, dtype=np.float64):
            return self.gen.standard_normal(size, dtype=dtype).view(_Product)

    monkeypatch.setattr(np.random, "default_rng", Generator)
    _Product.log = []
    return _Product.log


def test_the_rate_is_measured_on_float32_products_repeats_times(monkeypatch):
    # "this machine's float32 matrix-multiply speed": one warm-up, then exactly `repeats` timed
    # float32 x float32 products once the time floor is already met.
    log = _watched_products(monkeypatch)
    cost.measure_flops_per_second(n=8, repeats=3, min_seconds=0)
    assert log == [(np.dtype(np.float32), np.dtype(np.float32))] * (1 + 3)


def test_the_time_floor_stops_the_runs_as_soon_as_it_is_reached(monkeypatch):
    # readings 0.5 s apart: the start, then two per run. After one run 1.5 s have passed.
    log = _watched_products(monkeypatch)
    cost.measure_flops_per_second(n=4, repeats=1, min_seconds=1.5)
    assert len(log) == 1 + 1  # warm-up, one run: 1.5 s is "at least 1.5 s"
    log = _watched_products(monkeypatch)
    cost.measure_flops_per_second(n=4, repeats=1, min_seconds=1.6)
    assert len(log) == 1 + 2  # 1.5 s was not enough: a second run
