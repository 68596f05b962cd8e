"""efficientnn.quantization against brute force and independent formulas (never against itself)."""
import itertools
import math
import re

import numpy as np
import pytest

from efficientnn import quantization as q
from efficientnn.layers import Conv2D
from efficientnn.models import Sequential, base_cnn


def _rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- schemes and parameters
@pytest.mark.parametrize("bits", [2, 3, 4, 8, 12, 16])
def test_integer_ranges_follow_the_bit_width(bits):
    assert (q.Symmetric(bits).qmin, q.Symmetric(bits).qmax) == (1 - 2 ** (bits - 1), 2 ** (bits - 1) - 1)
    assert (q.Asymmetric(bits).qmin, q.Asymmetric(bits).qmax) == (0, 2**bits - 1)
    # The storage type is the smallest that holds the range.
    p = q.calibrate(np.array([-1.0, 1.0]), q.Symmetric(bits))
    info = np.iinfo(p.dtype)
    assert info.min <= p.qmin and p.qmax <= info.max and np.dtype(p.dtype).itemsize == (1 if bits <= 8 else 2)


@pytest.mark.parametrize("bits", [1, 17, 8.0, True, "8"])
def test_bad_bit_widths_are_refused(bits):
    with pytest.raises(ValueError, match="bits must be an int from 2 to 16"):
        q.Symmetric(bits)


def test_symmetric_scale_is_the_largest_magnitude_over_qmax():
    w = _rng(1).standard_normal((3, 3, 4, 6))
    w[0, 0, 0, 0] = -7.5  # the largest magnitude is negative: max(w) would be the wrong scale
    p = q.calibrate(w, q.Symmetric(8))
    largest = max(abs(float(v)) for v in w.ravel())
    assert largest == 7.5
    assert float(p.scale) == pytest.approx(7.5 / 127, rel=1e-12)
    assert int(p.zero_point) == 0 and p.axis is None


def test_per_channel_scales_take_each_output_channel_on_its_own():
    w = _rng(2).standard_normal((3, 3, 4, 6)) * np.arange(1, 7)  # channels of very different sizes
    p = q.calibrate(w, q.Symmetric(8), axis=-1)
    assert p.scale.shape == (6,) and p.axis == 3
    for f in range(6):
        largest = max(abs(float(w[i, j, c, f])) for i, j, c in itertools.product(range(3), range(3), range(4)))
        assert p.scale[f] == pytest.approx(largest / 127, rel=1e-12)
    # Per-channel never does worse than per-tensor on any channel.
    per_tensor = q.calibrate(w, q.Symmetric(8))
    assert np.all(p.scale <= float(per_tensor.scale) + 1e-15)


@pytest.mark.parametrize("lo, hi", [(-1.0, 3.0), (-0.3, -0.1), (0.2, 5.0), (-2.0, 2.0), (0.0, 1.0)])
def test_asymmetric_range_holds_zero_and_zero_is_exact(lo, hi):
    p = q.params_from_range(lo, hi, q.Asymmetric(8))
    lo0, hi0 = min(lo, 0.0), max(hi, 0.0)
    assert float(p.scale) == pytest.approx((hi0 - lo0) / 255, rel=1e-12)
    assert int(p.zero_point) == min(255, max(0, round(-lo0 / ((hi0 - lo0) / 255))))
    assert q.fake_quantize(np.zeros(3), p).tolist() == [0.0, 0.0, 0.0]  # 0.0 survives exactly
    # Both ends of the range are representable within half a step.
    ends = q.fake_quantize(np.array([lo0, hi0]), p)
    assert np.all(np.abs(ends - [lo0, hi0]) <= float(p.scale) / 2 + 1e-6)  # float32 storage


def test_an_all_zero_tensor_gets_scale_one_and_quantizes_exactly():
    for scheme in (q.Symmetric(8), q.Asymmetric(8)):
        p = q.calibrate(np.zeros((4, 3)), scheme, axis=-1)
        assert p.scale.tolist() == [1.0, 1.0, 1.0]
        assert np.all(q.fake_quantize(np.zeros((4, 3)), p) == 0)


# --------------------------------------------------------------------------- quantize, dequantize
def _brute_quantize(x, scale, zero_point, qmin, qmax):
    """Element by element with Python's round (also half to even), then clipping."""
    return [min(qmax, max(qmin, round(v / scale) + zero_point)) for v in x]


@pytest.mark.parametrize("scheme", [q.Symmetric(8), q.Asymmetric(8), q.Symmetric(4), q.Asymmetric(3)])
def test_quantize_matches_brute_force_including_clipping(scheme):
    calib = _rng(3).standard_normal(200)
    p = q.calibrate(calib, scheme)
    x = np.concatenate([_rng(4).standard_normal(300) * 2, [0.0, 50.0, -50.0]])  # outliers beyond the range
    want = _brute_quantize(x.tolist(), float(p.scale), int(p.zero_point), scheme.qmin, scheme.qmax)
    got = q.quantize(x, p)
    assert got.tolist() == want
    assert got.dtype == p.dtype
    assert got.min() == scheme.qmin and got.max() == scheme.qmax  # the outliers were clipped
    back = q.dequantize(got, p)
    assert back.dtype == np.float32
    assert np.allclose(back, [(v - int(p.zero_point)) * float(p.scale) for v in want], rtol=1e-6, atol=0)


def test_rounding_is_to_nearest_not_truncation():
    p = q.params_from_range(-1.27, 1.27, q.Symmetric(8))  # scale 0.01
    x = np.array([0.0149, 0.0151, -0.0149, -0.0151, 0.025, 0.035])
    # 0.025 and 0.035 are exact halves (2.5, 3.5 steps): half to even gives 2 and 4.
    assert q.quantize(x, p).tolist() == [1, 2, -1, -2, 2, 4]


def test_per_channel_quantize_uses_each_channels_own_scale():
    w = np.array([[1.0, 0.01], [-0.5, -0.02]])
    p = q.calibrate(w, q.Symmetric(8), axis=-1)
    assert q.quantize(w, p).tolist() == [[127, 64], [-64, -127]]  # -0.5 / (1/127) = -63.5 -> -64 (even)


def test_fake_quantization_error_is_at_most_half_a_step_inside_the_range():
    x = _rng(5).uniform(-3, 3, 100_000)
    for bits in (2, 4, 8, 12):
        p = q.calibrate(x, q.Asymmetric(bits))
        err = np.abs(q.fake_quantize(x, p).astype(np.float64) - x)
        assert err.max() <= float(p.scale) / 2 * (1 + 1e-5) + 1e-6  # float32 storage
        assert err.max() >= float(p.scale) / 2 * 0.99  # and the bound is tight on dense data
        assert np.all(err <= q.error_bound(x, p))


def test_error_bound_counts_what_clipping_cuts_off():
    p = q.params_from_range(-1.0, 1.0, q.Symmetric(8))
    x = np.array([0.5, 3.0, -4.0])
    err = np.abs(q.fake_quantize(x, p) - x)
    assert err[1] == pytest.approx(2.0, abs=1e-6) and err[2] == pytest.approx(3.0, abs=1e-6)
    assert np.all(err <= q.error_bound(x, p))


def test_error_falls_by_half_per_extra_bit():
    x = _rng(6).standard_normal(50_000)
    rms = [float(np.sqrt(np.mean((q.fake_quantize(x, q.calibrate(x, q.Symmetric(b))) - x) ** 2))) for b in (6, 7, 8)]
    assert rms[0] / rms[1] == pytest.approx(2, rel=0.1) and rms[1] / rms[2] == pytest.approx(2, rel=0.1)


# --------------------------------------------------------------------------- integer products
def _brute_matmul(qx, zx, qw, zw):
    m, k = qx.shape
    f = qw.shape[1]
    zw = np.broadcast_to(zw, (f,))
    return [[sum((int(qx[i, t]) - zx) * (int(qw[t, j]) - int(zw[j])) for t in range(k)) for j in range(f)]
            for i in range(m)]


def test_int_matmul_matches_python_integers():
    rng = _rng(7)
    x_p = q.params_from_range(-0.5, 2.0, q.Asymmetric(8))
    w_p = q.calibrate(rng.standard_normal((13, 4)), q.Symmetric(8), axis=-1)
    qx = rng.integers(0, 256, (5, 13)).astype(np.uint8)
    qw = rng.integers(-127, 128, (13, 4)).astype(np.int8)
    acc = q.int_matmul(qx, x_p, qw, q.QuantParams(w_p.scale, w_p.zero_point, w_p.scheme, 1))
    assert acc.dtype == np.int32
    assert acc.tolist() == _brute_matmul(qx, int(x_p.zero_point), qw, w_p.zero_point)


def test_int_matmul_handles_asymmetric_weights_with_zero_points():
    rng = _rng(8)
    x_p = q.params_from_range(-1.0, 1.0, q.Asymmetric(8))
    w_p = q.calibrate(rng.standard_normal((6, 3)) + 1.0, q.Asymmetric(8), axis=-1)
    qx = rng.integers(0, 256, (4, 6)).astype(np.uint8)
    qw = rng.integers(0, 256, (6, 3)).astype(np.uint8)
    acc = q.int_matmul(qx, x_p, qw, q.QuantParams(w_p.scale, w_p.zero_point, w_p.scheme, 1))
    assert acc.tolist() == _brute_matmul(qx, int(x_p.zero_point), qw, w_p.zero_point)


def test_int32_overflow_is_reported_not_wrapped():
    x_p = q.params_from_range(0.0, 1.0, q.Asymmetric(8))  # zero point 0: q - z up to 255
    w_p = q.params_from_range(-1.0, 1.0, q.Symmetric(8))
    k_fits = (2**31 - 1) // (255 * 127)  # 66,311 terms of the largest product fit
    acc = q.int_matmul(np.full((1, k_fits), 255, np.uint8), x_p, np.full((k_fits, 1), 127, np.int8), w_p)
    assert int(acc[0, 0]) == k_fits * 255 * 127
    assert q.accumulator_bound(k_fits, x_p, w_p) <= q.INT32_MAX < q.accumulator_bound(k_fits + 1, x_p, w_p)
    with pytest.raises(OverflowError, match="int32 accumulator overflowed"):
        q.int_matmul(np.full((1, k_fits + 1), 255, np.uint8), x_p, np.full((k_fits + 1, 1), 127, np.int8), w_p)


def _float_dense(x, w, b):
    return x.astype(np.float64) @ w.astype(np.float64) + b


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("bits", [8, 4])
def test_quantized_dense_is_within_the_predicted_bound(per_channel, bits):
    rng = _rng(9)
    x = np.maximum(rng.standard_normal((16, 200)), 0).astype(np.float32)  # ReLU outputs
    w = (rng.standard_normal((200, 12)) * np.linspace(0.01, 1, 12)).astype(np.float32)
    b = rng.standard_normal(12).astype(np.float32)
    x_p = q.calibrate(x, q.Asymmetric(bits))
    w_p = q.calibrate(w, q.Symmetric(bits), axis=-1 if per_channel else None)
    y = q.quantized_dense(x, w, b, x_p, w_p)
    exact = _float_dense(x, w, b)
    bound = q.matmul_error_bound(x, w, x_p, w_p)
    assert y.dtype == np.float32 and y.shape == (16, 12)
    assert np.all(np.abs(y - exact) <= bound)
    # The integer path computes the same as the float product of the fake-quantized operands.
    fake = _float_dense(q.fake_quantize(x, x_p), q.fake_quantize(w, w_p), b)
    assert np.allclose(y, fake, rtol=1e-5, atol=1e-5)
    # The bound is informative: a few percent of the output's typical size at 8 bits.
    if bits == 8:
        assert np.median(bound) < 0.05 * np.median(np.abs(x.astype(np.float64)) @ np.abs(w))


def test_per_channel_error_is_smaller_when_channels_differ_in_size():
    rng = _rng(10)
    x = rng.random((32, 64)).astype(np.float32)
    w = (rng.standard_normal((64, 8)) * np.logspace(-2, 0, 8)).astype(np.float32)
    x_p = q.calibrate(x, q.Asymmetric(8))
    errors = {}
    for axis in (None, -1):
        y = q.quantized_dense(x, w, None, x_p, q.calibrate(w, q.Symmetric(8), axis=axis))
        errors[axis] = np.abs(y - _float_dense(x, w, 0))[:, 0].mean()  # the smallest channel
    assert errors[-1] < errors[None] / 5


def _naive_conv(x, w, b, stride, padding):
    """Plain loops, float64: the convolution every framework computes (cross-correlation)."""
    layer = Conv2D(w.shape[3], w.shape[:2], stride=stride, padding=padding)
    Sequential([layer], input_shape=x.shape[1:])
    layer.params = {"W": w.astype(np.float64), "b": np.asarray(b, np.float64)}
    return np.asarray(layer.forward_naive(x.astype(np.float64)), np.float64)


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 1), (2, (0, 2))])
def test_quantized_conv2d_matches_loops_on_the_quantized_values(stride, padding):
    rng = _rng(11)
    x = (rng.standard_normal((2, 7, 6, 3)) - 0.7).astype(np.float32)  # mostly negative: zero point far from 0
    w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    x_p, w_p = q.calibrate(x, q.Asymmetric(8)), q.calibrate(w, q.Symmetric(8), axis=-1)
    assert int(x_p.zero_point) > 100
    y = q.quantized_conv2d(x, w, b, x_p, w_p, stride=stride, padding=padding)
    fake = _naive_conv(q.fake_quantize(x, x_p), q.fake_quantize(w, w_p), b, stride, padding)
    assert y.shape == fake.shape
    # Equal to the loops on dequantized values: so padded cells held the zero point (real 0).
    assert np.allclose(y, fake, rtol=1e-5, atol=1e-5)
    exact = _naive_conv(x, w, b, stride, padding)
    assert np.all(np.abs(y - exact) <= q.conv2d_error_bound(x, w, x_p, w_p, stride, padding))


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("x, message", [
    (np.array([1.0, np.nan]), "nan or inf"),
    (np.zeros((0, 3)), "empty"),
    (np.array(["a", "b"]), "real numbers"),
])
def test_bad_tensors_get_clear_errors(x, message):
    with pytest.raises(ValueError, match=message):
        q.calibrate(x, q.Symmetric(8))


def test_bad_arguments_get_clear_errors():
    w = np.ones((3, 4))
    with pytest.raises(ValueError, match="scheme must be Symmetric"):
        q.calibrate(w, "int8")
    with pytest.raises(ValueError, match="axis must be None"):
        q.calibrate(w, q.Symmetric(8), axis=2)
    p = q.calibrate(w, q.Symmetric(8), axis=-1)
    with pytest.raises(ValueError, match="does not match per-channel parameters for 4 channels"):
        q.quantize(np.ones((3, 5)), p)
    with pytest.raises(ValueError, match="q must hold integers"):
        q.dequantize(np.ones(4), q.calibrate(np.ones(4), q.Symmetric(8)))
    with pytest.raises(ValueError, match="disagree on K"):
        q.int_matmul(np.ones((2, 3), np.uint8), q.calibrate(w, q.Asymmetric(8)), np.ones((4, 2), np.int8),
                     q.calibrate(w, q.Symmetric(8)))
    with pytest.raises(ValueError, match="x has 2 channels"):
        q.quantized_conv2d(np.ones((1, 5, 5, 2)), np.ones((3, 3, 1, 2)), None, q.calibrate(w, q.Asymmetric(8)),
                           q.calibrate(w, q.Symmetric(8)))
    with pytest.raises(ValueError, match="lo <= hi"):
        q.params_from_range(1.0, -1.0, q.Asymmetric(8))


# --------------------------------------------------------------------------- storage and whole models
def test_weight_bytes_follow_the_storage_formula():
    w = np.ones((3, 3, 5, 7), np.float32)
    assert q.weight_bytes(w) == 4 * 315
    assert q.weight_bytes(w, q.calibrate(w, q.Symmetric(8), axis=-1)) == 315 + 4 * 7
    assert q.weight_bytes(w, q.calibrate(w, q.Asymmetric(8))) == 315 + 4 + 1
    assert q.weight_bytes(w, q.calibrate(w, q.Symmetric(4))) == math.ceil(315 / 2) + 4


def _fake_quantized_forward(model, x, calibration, per_channel):
    """The PTQ model computed independently: float layers on fake-quantized inputs and weights."""
    ranges = {}
    a = calibration
    for layer in model.layers:
        if "W" in layer.params:
            ranges[layer.name] = (float(a.min()), float(a.max()))
        a = layer.forward(a)
    for layer in model.layers:
        if "W" in layer.params:
            x_p = q.params_from_range(*ranges[layer.name], q.Asymmetric(8))
            w = layer.params["W"]
            fq = w.copy()
            for f in range(w.shape[-1]) if per_channel else [slice(None)]:
                largest = np.abs(w[..., f]).max()
                step = largest / 127
                fq[..., f] = np.clip(np.rint(w[..., f] / step), -127, 127) * step
            twin = layer.__class__.__new__(layer.__class__)
            twin.__dict__.update(layer.__dict__)
            twin.params = dict(layer.params, W=fq.astype(np.float32))
            x = twin.forward(q.fake_quantize(x, x_p))
        else:
            x = layer.forward(x)
    return x


@pytest.mark.parametrize("per_channel", [True, False])
def test_quantized_model_equals_an_independent_fake_quantized_forward(per_channel):
    model = base_cnn(seed=3)
    rng = _rng(12)
    calibration = rng.random((20, 28, 28, 1), dtype=np.float32)
    x = rng.random((6, 28, 28, 1), dtype=np.float32)
    qmodel = q.QuantizedModel(model, calibration, per_channel=per_channel)
    got = qmodel.predict(x)
    want = _fake_quantized_forward(model, x, calibration, per_channel)
    # Float rounding in the float path can move an activation across a rounding boundary (one step
    # of difference that later layers carry on): equal to float precision almost everywhere.
    assert np.abs(got - want).max() <= 0.01 * np.abs(want).max()
    assert np.array_equal(got.argmax(axis=1), want.argmax(axis=1))
    assert not np.allclose(got, model.forward(x), rtol=1e-6, atol=1e-6)  # it did quantize
    n_weights = sum(l.params["W"].size for l in model.layers if "W" in l.params)
    channels = sum(l.params["W"].shape[-1] for l in model.layers if "W" in l.params)
    assert qmodel.weight_bytes() == n_weights + 4 * (channels if per_channel else 4)
    assert qmodel.float_weight_bytes() == 4 * n_weights


def test_activation_ranges_are_the_calibration_extremes_of_each_layer_input():
    model = base_cnn(seed=1)
    x = _rng(13).random((300, 28, 28, 1), dtype=np.float32)  # more than one internal batch of 256
    ranges = q.activation_ranges(model, x)
    hidden = model.layers[0].forward(x)
    relu1 = np.maximum(hidden, 0)
    assert ranges["conv1"] == (float(x.min()), float(x.max()))
    assert ranges["conv2"] == (float(relu1.min()), float(relu1.max()))


@pytest.fixture(scope="module")
def trained():
    """base_cnn trained on the digits as the notebooks train it (about 3 s), with the data."""
    from efficientnn.data import load_digits
    from efficientnn.train import fit

    x_train, y_train, x_test, y_test = load_digits()
    model = base_cnn(seed=0)
    fit(model, x_train, y_train, epochs=4, seed=0, progress=False)
    return model, x_train, x_test, y_test


@pytest.mark.slow
def test_int8_post_training_quantization_keeps_base_cnn_accurate_on_the_digits(trained):
    from efficientnn.train import accuracy

    model, x_train, x_test, y_test = trained
    base = accuracy(model, x_test, y_test)
    assert base > 0.9
    for per_channel in (True, False):
        quantized = accuracy(q.QuantizedModel(model, x_train[:300], per_channel=per_channel), x_test, y_test)
        assert base - quantized <= 0.01
    # Two bits are too few: the drop is real, which shows the check above can fail.
    two_bits = q.QuantizedModel(model, x_train[:300], weight_scheme=q.Symmetric(2), activation_scheme=q.Asymmetric(2))
    assert accuracy(two_bits, x_test, y_test) < base - 0.05


# --------------------------------------------------------------------------- OpenVINO int8 (NNCF)
def test_int8_bytes_moved_counts_one_byte_a_value():
    layer = base_cnn().layer("fc1")  # 2880 -> 128
    assert q.int8_bytes_moved(layer) == 2880 * 128 + 2880 + 128 + 2 * 4 * 128
    assert q.int8_bytes_moved(layer, batch_size=4) == 2880 * 128 + 4 * (2880 + 128) + 2 * 4 * 128


def test_bad_nncf_arguments_are_refused_before_any_work():
    model = base_cnn()
    x = np.zeros((4, 28, 28, 1), np.float32)
    with pytest.raises(ValueError, match="subset_size must be positive"):
        q.to_openvino_int8(model, x, subset_size=0)
    with pytest.raises(ValueError, match="preset must be one of"):
        q.to_openvino_int8(model, x, preset="int4")
    with pytest.raises(ValueError, match="expects input of shape"):
        q.to_openvino_int8(model, np.zeros((4, 8, 8, 1), np.float32))


@pytest.mark.slow
def test_nncf_int8_model_runs_int8_kernels_and_keeps_accuracy(trained):
    from efficientnn import openvino_timing as ovt
    from efficientnn.train import accuracy

    model, x_train, x_test, y_test = trained
    int8 = q.to_openvino_int8(model, x_train, subset_size=100)
    assert sum(op.get_type_name() == "FakeQuantize" for op in int8.get_ordered_ops()) >= 4
    f32_accuracy = q.openvino_accuracy(ovt.to_openvino(model), x_test, y_test)
    assert f32_accuracy == pytest.approx(accuracy(model, x_test, y_test), abs=1 / len(y_test))
    assert f32_accuracy - q.openvino_accuracy(int8, x_test, y_test) <= 0.01

    f32_rows, int8_rows = q.compare_layer_times(model, int8, runs=20, warmup=5, num_threads=1)
    f32_by, int8_by = {r.name: r for r in f32_rows}, {r.name: r for r in int8_rows}
    for name in ("conv1", "conv2", "fc1", "fc2"):
        assert "f32" in f32_by[name].exec_type.lower()
        # The layer ran as an int8 kernel of its own (OpenVINO names it ..._I8 / ..._u8 / ..._i8).
        assert int8_by[name].status == "EXECUTED" and re.search(r"i8|u8", int8_by[name].exec_type.lower())
        assert int8_by[name].flops == f32_by[name].flops
        assert int8_by[name].flops_per_byte == pytest.approx(
            f32_by[name].flops / q.int8_bytes_moved(model.layer(name)))
        assert int8_by[name].flops_per_byte > 3 * f32_by[name].flops_per_byte
    assert int8_by["relu1"].status == "FUSED" and int8_by["relu1"].fused_into == "conv1"
    table = q.format_comparison(f32_rows, int8_rows)
    assert "conv1" in table and int8_by["conv1"].exec_type in table


def test_missing_nncf_gives_install_hint(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "nncf", None)  # `import nncf` now raises ImportError
    with pytest.raises(q.NNCFUnavailable, match="pip install"):
        q.to_openvino_int8(base_cnn(), np.zeros((2, 28, 28, 1), np.float32))


@pytest.mark.slow
def test_nncf_quantization_writes_no_telemetry_and_restores_ci(tmp_path):
    import os
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import os
        import numpy as np
        from efficientnn import quantization as q
        from efficientnn.models import base_cnn
        q.to_openvino_int8(base_cnn(), np.random.default_rng(0).random((8, 28, 28, 1), np.float32), subset_size=8)
        print("CI" in os.environ)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["HOME"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
    assert not (tmp_path / "intel").exists()
