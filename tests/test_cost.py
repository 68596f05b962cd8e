"""MAC and FLOP formulas against multiplications actually performed, and the lesson's numbers."""
import numpy as np
import pytest

from efficientnn import cost
from efficientnn.layers import Conv2D, DepthwiseConv2D, SeparableConv2D
from efficientnn.models import Sequential, base_cnn, base_cnn_pooled, base_cnn_separable
from layer_configs import KINDS, built


class Tally:
    def __init__(self):
        self.mults = self.adds = self.compares = 0


class Counted:
    """A number that records every multiplication, addition and comparison made with it."""

    __slots__ = ("v", "t")

    def __init__(self, v, t):
        self.v, self.t = float(v), t

    @staticmethod
    def _val(o):
        return o.v if isinstance(o, Counted) else float(o)

    def __mul__(self, o):
        self.t.mults += 1
        return Counted(self.v * self._val(o), self.t)

    __rmul__ = __mul__

    def __add__(self, o):
        self.t.adds += 1
        return Counted(self.v + self._val(o), self.t)

    __radd__ = __add__

    def __gt__(self, o):
        self.t.compares += 1
        return self.v > self._val(o)

    def __lt__(self, o):
        self.t.compares += 1
        return self.v < self._val(o)


def _counted(arr, tally):
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        out[idx] = Counted(arr[idx], tally)
    return out


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(10))
def test_formula_equals_operations_a_naive_forward_performs(kind, seed):
    layer, shape, rng = built(kind, seed)
    if kind in ("maxpool", "avgpool"):
        layer.padding = (0, 0)  # padded cells are plain floats; count only real windows
        layer.build(shape, rng)
    tally = Tally()
    for key in layer.params:
        layer.params[key] = _counted(layer.params[key], tally)
    n = 2
    x = _counted(rng.standard_normal((n,) + shape), tally)
    y = layer.forward_naive(x)
    assert y.shape == (n,) + layer.output_shape  # the shape cost reports is the shape computed
    row = cost.layer_cost(layer)
    assert row.output_shape == layer.output_shape
    assert tally.mults == n * row.macs if kind != "avgpool" else tally.mults == n * row.flops // (
        layer.pool_size[0] * layer.pool_size[1])
    if kind == "maxpool":
        assert tally.compares == n * row.flops
    if kind == "avgpool":
        assert tally.adds + tally.mults == n * row.flops
    if row.macs:
        assert row.flops == 2 * row.macs
    assert row.params == sum(a.size for a in layer.params.values())


def test_lesson_rgb_example():
    # 128 filters of 3x3x3 over a 10x10 RGB image: the lesson's 128 x 3x3x3 x 8x8
    h = w = 10
    k, c, f = 3, 3, 128
    out = h - k + 1
    assert cost.conv2d_macs((h, w, c), k, f) == f * k * k * c * out * out
    assert cost.flops_from_macs(cost.conv2d_macs((h, w, c), k, f)) == 2 * f * k * k * c * out * out


def test_base_cnn_profile_follows_the_formulas():
    rows = {r.name: r for r in cost.profile(base_cnn())}
    s1 = 28 - 3 + 1
    s2 = s1 - 3 + 1
    assert rows["conv1"].output_shape == (s1, s1, 5)
    assert rows["conv1"].flops == 2 * s1 * s1 * 5 * 3 * 3 * 1
    assert rows["conv2"].output_shape == (s2, s2, 5)
    assert rows["conv2"].flops == 2 * s2 * s2 * 5 * 3 * 3 * 5
    assert rows["fc1"].flops == 2 * (s2 * s2 * 5) * 128
    assert rows["fc2"].flops == 2 * 128 * 10
    assert rows["relu1"].flops == rows["flatten"].flops == 0
    assert rows["fc1"].params == s2 * s2 * 5 * 128 + 128  # bias counted in params, not in MACs


@pytest.mark.parametrize("make", [base_cnn, base_cnn_pooled, base_cnn_separable])
def test_profile_shapes_are_the_shapes_a_forward_pass_returns(make):
    model = make()
    x = np.random.default_rng(0).standard_normal((3, 28, 28, 1)).astype(np.float32)
    for layer, row in zip(model.layers, cost.profile(model)):
        x = layer.forward(x)
        assert x.shape[1:] == row.output_shape
        assert row.params == sum(a.size for a in layer.params.values())
    assert cost.total_params(model) == sum(a.size for l in model.layers for a in l.params.values())
    # FLOPs from what the forward pass produced: 2 x (output elements x weights per output) for
    # weighted layers, (window - 1) comparisons per output for max pooling (hand sums: test_cost_rules.py)
    x, flops = np.zeros((1, 28, 28, 1), dtype=np.float32), 0
    for layer in model.layers:
        y = layer.forward(x)
        outputs = int(np.prod(y.shape[1:]))
        if "dw_W" in layer.params:
            kh, kw, _, _ = layer.params["dw_W"].shape
            middle = outputs // layer.params["pw_W"].shape[-1] * layer.params["pw_W"].shape[2]
            flops += 2 * (middle * kh * kw + outputs * layer.params["pw_W"].shape[2])
        elif "W" in layer.params:
            flops += 2 * outputs * (layer.params["W"].size // layer.params["W"].shape[-1])
        elif layer.kind == "maxpool":
            flops += outputs * (layer.pool_size[0] * layer.pool_size[1] - 1)
        x = y
    assert cost.total_flops(model) == flops


def test_separable_ratio_is_one_over_n_plus_one_over_k_squared():
    shape, k, n = (56, 56, 32), 3, 64
    standard = cost.conv2d_macs(shape, k, n, padding="same")
    separable = cost.separable_macs(shape, k, n, padding="same")
    assert separable / standard == pytest.approx(1 / n + 1 / k**2, rel=1e-12)
    assert cost.separable_mac_ratio(k, n) == pytest.approx(separable / standard, rel=1e-12)


def test_separable_layer_costs_its_two_steps():
    model = Sequential([SeparableConv2D(8, 3, stride=2, depth_multiplier=2)], input_shape=(9, 9, 3))
    dw = Sequential([DepthwiseConv2D(3, stride=2, depth_multiplier=2)], input_shape=(9, 9, 3))
    pw = Sequential([Conv2D(8, 1)], input_shape=dw.output_shape)
    assert cost.total_macs(model) == cost.total_macs(dw) + cost.total_macs(pw)


def test_summary_prints_totals_and_shares():
    text = base_cnn().summary(print_fn=None)
    # the lesson's model, added up by hand: conv1 26*26*5*9, conv2 24*24*5*45, fc1 2880*128, fc2 1280
    macs = {"conv1": 30_420, "conv2": 129_600, "fc1": 368_640, "fc2": 1_280}
    total = 2 * sum(macs.values())
    assert total == 1_059_880 and f"{total:,}" in text
    assert "69.6%" in text and f"{2 * macs['fc1'] / total:.1%}" == "69.6%"  # fc1's share of the FLOPs


def test_latency_estimate_is_flops_over_flops_per_second():
    assert cost.latency_ms(2e9, 1e9) == pytest.approx(2000.0)
    with pytest.raises(ValueError, match="positive"):
        cost.latency_ms(1, 0)
    with pytest.raises(ValueError, match="not strings"):
        cost.latency_ms("1e6", 1e9)


def test_measured_flops_per_second_is_a_plausible_rate():
    rate = cost.measure_flops_per_second(128, 2)
    assert 1e7 < rate < 1e14


def test_unknown_kind_and_unbuilt_layer_are_clear_errors():
    with pytest.raises(ValueError, match="not built"):
        cost.layer_cost(Conv2D(3, 3))
    with pytest.raises(ValueError, match="must be"):
        cost.pool_flops((4, 4, 1), 2, mode="median")
