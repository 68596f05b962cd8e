"""Pruning: exact mask counts and ties, masks held in training, structured pruning equal to
masking, reports equal to profile() and to brute-force counts, accuracy kept at 90% sparsity."""
import math
import re

import numpy as np
import pytest

from efficientnn import cost
from efficientnn import pruning as P
from efficientnn.layers import Conv2D, Dense, DepthwiseConv2D, Flatten, MaxPool2D, ReLU, SeparableConv2D
from efficientnn.models import Sequential, base_cnn, base_cnn_pooled, base_cnn_separable


def _with_random_biases(model, seed=1):
    """Biases start at zero; random ones make structured-pruning checks see every term."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if "b" in layer.params:
            layer.params["b"][:] = rng.standard_normal(layer.params["b"].shape).astype(np.float32)
    return model


def _expected_pruned(weights, k):
    """Brute force: the k entries of smallest |w|, ties going to the earlier C-order position."""
    flat = np.asarray(weights).ravel().tolist()
    order = sorted(range(len(flat)), key=lambda i: (abs(flat[i]), i))
    return set(order[:k])


# --------------------------------------------------------------------------- masks
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("s", [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.999])
def test_magnitude_mask_removes_exactly_round_s_times_size_smallest(seed, s):
    rng = np.random.default_rng(seed)
    shape = tuple(int(d) for d in rng.integers(1, 7, size=int(rng.integers(1, 5))))
    w = rng.standard_normal(shape).astype(np.float32)
    mask = P.magnitude_mask(w, s)
    k = round(s * w.size)
    assert mask.shape == w.shape and mask.dtype == bool
    assert np.count_nonzero(~mask) == k
    assert set(np.flatnonzero(~mask.ravel())) == _expected_pruned(w, k)
    if 0 < k < w.size:
        assert np.abs(w[~mask]).max() <= np.abs(w[mask]).min()


@pytest.mark.parametrize("seed", range(5))
def test_magnitude_mask_breaks_ties_stably(seed):
    rng = np.random.default_rng(seed)
    # Few distinct magnitudes, both signs: nearly every cut falls inside a group of ties.
    w = (rng.integers(0, 3, size=(6, 7)) * rng.choice([-1.0, 1.0], size=(6, 7))).astype(np.float32)
    for s in (0.1, 0.3, 0.5, 0.7):
        k = round(s * w.size)
        mask = P.magnitude_mask(w, s)
        assert set(np.flatnonzero(~mask.ravel())) == _expected_pruned(w, k)
    equal = np.full(10, -0.5)
    assert P.magnitude_mask(equal, 0.3).tolist() == [False] * 3 + [True] * 7


def test_global_masks_use_one_threshold_and_exact_count():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) * scale for s, scale in [((3, 3, 1, 5), 1.0), ((40, 8), 0.1), ((8, 3), 0.5)]]
    total = sum(a.size for a in arrays)
    masks = P.global_magnitude_masks(arrays, 0.6)
    k = round(0.6 * total)
    assert sum(np.count_nonzero(~m) for m in masks) == k
    pruned = np.concatenate([np.abs(a[~m]) for a, m in zip(arrays, masks)])
    kept = np.concatenate([np.abs(a[m]) for a, m in zip(arrays, masks)])
    assert pruned.max() <= kept.min()
    # Ties across arrays: the earlier array's entries go first.
    ties = P.global_magnitude_masks([np.ones(3), -np.ones(3)], 0.5)
    assert [m.tolist() for m in ties] == [[False] * 3, [True] * 3]


def test_prune_magnitude_per_layer_and_global_counts():
    model = P.prune_magnitude(base_cnn(), 0.7, scope="layer")
    for layer in P.prunable_layers(model):
        w = layer.params["W"]
        assert np.count_nonzero(w == 0) == round(0.7 * w.size)
        assert np.array_equal(layer.masks["W"], w != 0)
    model = P.prune_magnitude(base_cnn(), 0.9)
    n = sum(l.params["W"].size for l in P.prunable_layers(model))
    zeros = sum(np.count_nonzero(l.params["W"] == 0) for l in P.prunable_layers(model))
    assert zeros == round(0.9 * n)
    assert P.model_sparsity(model) == zeros / n
    model = P.prune_magnitude(base_cnn(), {"conv2": 0.5, "fc2": 0.25})
    got = P.layer_sparsity(model)
    assert got["conv1"] == 0 and got["fc1"] == 0
    assert got["conv2"] == round(0.5 * 225) / 225 and got["fc2"] == round(0.25 * 1280) / 1280


def test_prune_magnitude_separable_prunes_each_weight_array():
    model = P.prune_magnitude(base_cnn_separable(), 0.5, scope="layer", layers=["sepconv2"])
    layer = model.layer("sepconv2")
    for key in ("dw_W", "pw_W"):
        assert np.count_nonzero(layer.params[key] == 0) == round(0.5 * layer.params[key].size)
    assert not model.layer("sepconv1").masks


def test_pruning_again_keeps_old_zeros_and_reaches_new_target():
    model = P.prune_magnitude(base_cnn(), 0.5)
    old = {l.name: l.masks["W"].copy() for l in P.prunable_layers(model)}
    P.prune_magnitude(model, 0.8)
    for layer in P.prunable_layers(model):
        assert not np.any(layer.masks["W"] & ~old[layer.name])  # nothing pruned comes back
    assert math.isclose(P.model_sparsity(model), round(0.8 * 370190) / 370190)


def test_pruned_weights_stay_zero_through_finetuning():
    from efficientnn.train import fit

    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    model = P.prune_magnitude(base_cnn(), 0.8)
    before = {l.name: l.params["W"].copy() for l in P.prunable_layers(model)}
    fit(model, x, y, epochs=2, batch_size=16, progress=False)
    for layer in P.prunable_layers(model):
        w, mask = layer.params["W"], layer.masks["W"]
        assert np.all(w[~mask] == 0)
        assert not np.array_equal(w[mask], before[layer.name][mask])  # the kept weights did train


# --------------------------------------------------------------------------- gradual
def test_zhu_gupta_schedule_follows_the_formula():
    s_i, s_f, n, t0, dt = 0.1, 0.9, 5, 3, 2
    for t in range(0, 20):
        got = P.zhu_gupta_sparsity(t, s_f, n, initial_sparsity=s_i, start_step=t0, step_interval=dt)
        if t < t0:
            want = s_i
        elif t > t0 + n * dt:
            want = s_f
        else:
            want = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3
        assert math.isclose(got, want, abs_tol=1e-12)
    values = [P.zhu_gupta_sparsity(t, 0.9, 4) for t in range(6)]
    assert values == sorted(values) and values[0] == 0 and values[4] == values[5] == 0.9


def test_gradual_prune_steps_hit_the_schedule():
    model = base_cnn()
    x = np.zeros((4, 28, 28, 1), np.float32)
    y = np.arange(4)
    steps = P.gradual_prune(model, 0.9, x, y, n_steps=3, epochs_per_step=0)
    n = 370190
    assert [s.step for s in steps] == [1, 2, 3]
    for st in steps:
        assert math.isclose(st.sparsity, round(P.zhu_gupta_sparsity(st.step, 0.9, 3) * n) / n)
        assert st.accuracy is None


def _tiny_task(seed=0):
    """A 4-input, 3-class dense model and a few examples: training it takes milliseconds."""
    rng = np.random.default_rng(seed)
    model = Sequential([Dense(8), ReLU(), Dense(3)], input_shape=(4,), seed=seed)
    x = rng.standard_normal((40, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    return model, x[:30], y[:30], x[30:], y[30:]


def _same_weights(a, b):
    return all(np.array_equal(p, q.params[k]) for l, q in zip(a.layers, b.layers) for k, p in l.params.items())


def test_gradual_prune_is_prune_then_finetune_at_each_step_of_the_schedule():
    from efficientnn.train import Adam, accuracy, fit

    model, x, y, xv, yv = _tiny_task()
    replica = model.copy()
    steps = P.gradual_prune(model, 0.8, x, y, n_steps=2, epochs_per_step=2, final_epochs=1, initial_sparsity=0.1,
                            scope="layer", lr=0.01, batch_size=8, seed=5, x_val=xv, y_val=yv)
    # The documented recipe, step by step: prune to s_t (t0 = 0, dt = 1), fine-tune with seed + t.
    want = []
    for t in (1, 2):
        s_t = 0.8 + (0.1 - 0.8) * (1 - t / 2) ** 3
        P.prune_magnitude(replica, s_t, scope="layer")
        fit(replica, x, y, epochs=2, batch_size=8, optimizer=Adam(lr=0.01), seed=5 + t, progress=False)
        want.append(P.PruneStep(t, P.model_sparsity(replica), accuracy(replica, xv, yv), 2))
    fit(replica, x, y, epochs=1, batch_size=8, optimizer=Adam(lr=0.01), seed=5 + 3, progress=False)
    want.append(P.PruneStep(3, P.model_sparsity(replica), accuracy(replica, xv, yv), 1))
    assert steps == want
    assert _same_weights(model, replica)
    # layer scope: each weight array holds round(0.8 * size) zeros, kept through the fine-tuning
    for layer in P.prunable_layers(model):
        w = layer.params["W"]
        assert np.count_nonzero(w == 0) == round(0.8 * w.size)


def test_gradual_prune_defaults_global_scope_no_final_step():
    from efficientnn.train import Adam, fit

    model, x, y, _, _ = _tiny_task(1)
    replica = model.copy()
    steps = P.gradual_prune(model, 0.5, x, y, n_steps=1)
    P.prune_magnitude(replica, 0.5)  # one step straight to s_f, global threshold
    fit(replica, x, y, epochs=1, batch_size=64, optimizer=Adam(lr=5e-4), seed=0 + 1, progress=False)
    assert _same_weights(model, replica)
    assert [(s.step, s.accuracy, s.epochs) for s in steps] == [(1, None, 1)]
    with pytest.raises(ValueError, match=r"both x_val and y_val"):
        P.gradual_prune(model, 0.5, x, y, x_val=x)
    with pytest.raises(ValueError, match=r"final_epochs"):
        P.gradual_prune(model, 0.5, x, y, final_epochs=-1)
    with pytest.raises(ValueError, match=r"n_steps"):
        P.gradual_prune(model, 0.5, x, y, n_steps=0)


def test_sparsity_sweep_scores_each_copy_before_and_after_finetuning():
    from efficientnn.train import Adam, accuracy, fit

    model, x, y, xv, yv = _tiny_task(2)
    original = model.copy()
    points = P.sparsity_sweep(model, [0.3, 0.7], x, y, xv, yv, epochs=2, scope="layer", lr=0.02, batch_size=8,
                              seed=4)
    want = []
    for s in (0.3, 0.7):
        pruned = P.prune_magnitude(original.copy(), s, scope="layer")
        before = accuracy(pruned, xv, yv)
        fit(pruned, x, y, epochs=2, batch_size=8, optimizer=Adam(lr=0.02), seed=4, progress=False)
        want.append(P.SweepPoint(s, before, accuracy(pruned, xv, yv), 2))
    assert points == want
    assert _same_weights(model, original)  # the model itself is not pruned
    assert all(isinstance(p.epochs, int) for p in points)
    # defaults: global scope, Adam(5e-4), batches of 64, seed 0
    [point] = P.sparsity_sweep(model, [0.5], x, y, xv, yv, epochs=1)
    pruned = P.prune_magnitude(original.copy(), 0.5)
    before = accuracy(pruned, xv, yv)
    fit(pruned, x, y, epochs=1, batch_size=64, optimizer=Adam(lr=5e-4), seed=0, progress=False)
    assert point == P.SweepPoint(0.5, before, accuracy(pruned, xv, yv), 1)
    with pytest.raises(ValueError, match=r"epochs"):
        P.sparsity_sweep(model, [0.5], x, y, xv, yv, epochs=-1)


# --------------------------------------------------------------------------- structured
def _pruned_pair(model, keep):
    return P.remove_channels(model, keep), P.mask_channels(model, keep)


STRUCTURED_CASES = [
    (base_cnn, {"conv1": [0, 2, 4]}),
    (base_cnn, {"conv2": [1, 3]}),
    (base_cnn, {"conv1": [1, 2], "conv2": [0, 4], "fc1": list(range(0, 128, 3))}),
    (base_cnn_pooled, {"conv1": [0, 1, 3], "conv2": [2], "fc1": list(range(50))}),
    (base_cnn_separable, {"sepconv1": [0, 3], "sepconv2": [1, 2, 4], "fc1": [5, 7, 9]}),
]


@pytest.mark.parametrize("build, keep", STRUCTURED_CASES)
def test_smaller_model_equals_masked_model(build, keep):
    model = _with_random_biases(build())
    shapes = {key: [p.shape for p in layer.params.values()] for key, layer in zip(keep, map(model.layer, keep))}
    small, masked = _pruned_pair(model, keep)
    x = np.random.default_rng(2).random((6, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(small.forward(x), masked.forward(x), rtol=1e-5, atol=1e-5)
    # Layer by layer: the kept channels carry the masked model's activations.
    a_small, a_masked = x, x
    for ls, lm in zip(small.layers, masked.layers):
        a_small, a_masked = ls.forward(a_small), lm.forward(a_masked)
        if lm.name in keep:
            np.testing.assert_allclose(a_small, a_masked[..., keep[lm.name]], rtol=1e-5, atol=1e-5)
    # The original is untouched.
    assert shapes == {key: [p.shape for p in model.layer(key).params.values()] for key in keep}
    assert not any(layer.masks for layer in model.layers)


def test_conv_flatten_dense_removes_nhwc_rows():
    model = base_cnn()
    keep = [0, 2]
    small = P.remove_channels(model, {"conv2": keep})
    # NHWC flatten: feature i holds channel i % C.
    rows = [i for i in range(24 * 24 * 5) if i % 5 in keep]
    np.testing.assert_array_equal(small.layer("fc1").params["W"], model.layer("fc1").params["W"][rows])
    np.testing.assert_array_equal(small.layer("conv2").params["W"], model.layer("conv2").params["W"][..., keep])


def test_channels_flow_through_a_depthwise_layer():
    model = _with_random_biases(Sequential(
        [Conv2D(4, 3), ReLU(), DepthwiseConv2D(3, depth_multiplier=2), ReLU(), Conv2D(3, 1), Flatten(), Dense(5)],
        input_shape=(9, 9, 2), seed=3))
    keep = {"conv1": [1, 3]}
    small, masked = _pruned_pair(model, keep)
    assert small.layer("dwconv1").output_shape[-1] == 4
    x = np.random.default_rng(0).random((3, 9, 9, 2), dtype=np.float32)
    np.testing.assert_allclose(small.forward(x), masked.forward(x), rtol=1e-5, atol=1e-5)


def test_l1_ranking_removes_the_weakest_filters():
    model = base_cnn()
    w = model.layer("conv1").params["W"]
    w[..., 3] *= 0.01
    w[..., 1] *= 0.02
    norms = [float(np.abs(w[..., f]).sum()) for f in range(5)]
    np.testing.assert_allclose(P.channel_l1_norms(model.layer("conv1")), norms, rtol=1e-6)
    assert P.weakest_channels(model.layer("conv1"), 0.4).tolist() == [1, 3]
    small, keep = P.prune_channels(model, {"conv1": 0.4, "fc1": 0.25})
    assert keep["conv1"].tolist() == [0, 2, 4]
    fc1 = np.abs(model.layer("fc1").params["W"]).sum(axis=0)
    assert set(keep["fc1"]) == set(np.argsort(fc1, kind="stable")[round(0.25 * 128):])
    ties = Sequential([Dense(4), Dense(2)], input_shape=(3,))
    ties.layer("fc1").params["W"][:] = 1.0
    assert P.weakest_channels(ties.layer("fc1"), 0.5).tolist() == [0, 1]


def test_structured_pruning_shrinks_profile_params_and_flops():
    model = base_cnn()
    small, keep = P.prune_channels(model, {"conv1": 0.5, "conv2": 0.5, "fc1": 0.5})
    c1, c2, u = (len(keep[k]) for k in ("conv1", "conv2", "fc1"))
    want_params = (cost.conv2d_params(3, 1, c1) + cost.conv2d_params(3, c1, c2)
                   + cost.dense_params(24 * 24 * c2, u) + cost.dense_params(u, 10))
    want_macs = (cost.conv2d_macs((28, 28, 1), 3, c1) + cost.conv2d_macs((26, 26, c1), 3, c2)
                 + cost.dense_macs(24 * 24 * c2, u) + cost.dense_macs(u, 10))
    assert cost.total_params(small) == want_params < cost.total_params(model)
    assert cost.total_flops(small) == 2 * want_macs < cost.total_flops(model)
    # Masking instead removes nothing profile() can see; skipping zero-weight MACs sees it all.
    masked = P.mask_channels(model, keep)
    assert cost.total_flops(masked) == cost.total_flops(model)
    assert P.nonzero_macs(masked) == cost.total_macs(small)


def test_remove_channels_carries_masks_over():
    model = P.prune_magnitude(base_cnn(), 0.5)
    small = P.remove_channels(model, {"conv2": [0, 1, 2]})
    for layer in P.prunable_layers(small):
        np.testing.assert_array_equal(layer.masks["W"], layer.params["W"] != 0)


def test_mask_channels_keeps_earlier_masks_and_bool_masks():
    model = P.prune_magnitude(base_cnn(), 0.5)
    old = {l.name: l.masks["W"].copy() for l in P.prunable_layers(model)}
    masked = P.mask_channels(model, {"conv1": [0, 2, 4]})
    conv1, conv2 = masked.layer("conv1"), masked.layer("conv2")
    want = old["conv1"].copy()
    want[..., [1, 3]] = False  # removed filters, on top of the magnitude mask
    assert conv1.masks["W"].dtype == bool and np.array_equal(conv1.masks["W"], want)
    want2 = old["conv2"].copy()
    want2[:, :, [1, 3], :] = False  # conv2's inputs that read them
    assert conv2.masks["W"].dtype == bool and np.array_equal(conv2.masks["W"], want2)
    assert conv1.masks["b"].dtype == bool and conv1.masks["b"].tolist() == [True, False, True, False, True]
    assert not np.any(conv2.params["W"][~want2])


def test_l1_norms_need_a_built_layer_with_output_channels():
    with pytest.raises(ValueError, match=r"needs a built layer"):
        P.channel_l1_norms(Conv2D(4, 3))  # has output channels, but no weights yet
    fc = Dense(2)
    fc.build((3,))
    fc.params["W"][:] = [[1, -2], [0, 1], [-1, 0]]
    assert P.channel_l1_norms(fc).tolist() == [1 + 0 + 1, 2 + 1 + 0]


def test_removing_every_channel_is_refused_by_name():
    with pytest.raises(ValueError, match=r"fraction of conv1's channels must be in \[0, 1\)"):
        P.prune_channels(base_cnn(), {"conv1": 1.5})


# --------------------------------------------------------------------------- reports
@pytest.mark.parametrize("build", [base_cnn, base_cnn_pooled, base_cnn_separable])
def test_report_matches_profile_when_nothing_is_pruned(build):
    model = _with_random_biases(build())
    rows = P.sparsity_report(model)
    prof = cost.profile(model)
    assert [r.name for r in rows] == [c.name for c in prof]
    for r, c in zip(rows, prof):
        assert (r.params, r.macs, r.flops, r.nonzero_macs, r.nonzero_flops) == (c.params, c.macs, c.flops,
                                                                                c.macs, c.flops)
    assert P.nonzero_params(model) == cost.total_params(model)
    assert P.nonzero_flops(model) == cost.total_flops(model)
    assert P.model_dense_bytes(model) == 4 * cost.total_params(model)


class _Tally:
    mults = 0


class _Counted:
    """A number that counts the multiplications by a nonzero weight made with it."""

    def __init__(self, tally):
        self.t = tally

    def __mul__(self, weight):
        if weight != 0:
            self.t.mults += 1
        return self

    __rmul__ = __mul__

    def __add__(self, other):
        return self

    __radd__ = __add__


def _counted_input(shape, tally):
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape):
        out[idx] = _Counted(tally)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_nonzero_macs_equal_brute_force_count(seed):
    model = Sequential(
        [Conv2D(3, 3, stride=1 + seed % 2), ReLU(), SeparableConv2D(4, 2, depth_multiplier=2), MaxPool2D(2),
         DepthwiseConv2D(2), Flatten(), Dense(6), ReLU(), Dense(3)],
        input_shape=(11, 11, 2), seed=seed)
    P.prune_magnitude(model, 0.3 + 0.15 * seed, scope="layer")
    rows = {r.name: r for r in P.sparsity_report(model)}
    for layer in P.prunable_layers(model):
        tally = _Tally()
        layer.forward_naive(_counted_input((1, *layer.input_shape), tally))
        assert rows[layer.name].nonzero_macs == tally.mults, layer.name
        assert rows[layer.name].nonzero_flops == 2 * tally.mults
    pool = rows["pool1"]
    assert pool.nonzero_flops == pool.flops > 0  # pooling has no weights: unchanged


@pytest.mark.parametrize("s", [0.0, 0.3, 0.9, 0.99])
def test_csr_bytes_equal_scipy_csr_with_int32_indices(s):
    from scipy import sparse

    rng = np.random.default_rng(0)
    for shape in [(3, 3, 5, 7), (96, 40), (2, 2, 3, 2)]:
        w = rng.standard_normal(shape).astype(np.float32)
        w *= P.magnitude_mask(w, s)
        matrix = sparse.csr_matrix(w.reshape(-1, shape[-1]).T)  # one row per output channel
        assert matrix.indices.dtype == np.int32 and matrix.indptr.dtype == np.int32
        assert P.csr_bytes(w) == matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes
        assert P.dense_bytes(w) == w.nbytes


def test_model_bytes_and_report_totals():
    model = P.prune_magnitude(_with_random_biases(base_cnn()), 0.9)
    rows = P.sparsity_report(model)
    weights = [l for l in P.prunable_layers(model)]
    want_csr = sum(P.csr_bytes(l.params["W"]) + 4 * l.params["b"].size for l in weights)
    assert P.model_csr_bytes(model) == want_csr < P.model_dense_bytes(model)
    assert P.model_dense_bytes(model) == 4 * cost.total_params(model)
    assert P.nonzero_params(model) == sum(int(np.count_nonzero(p)) for l in weights for p in l.params.values())
    assert math.isnan(rows[1].sparsity)  # relu1 has no weights
    text = P.format_sparsity_report(rows)
    assert "total" in text and f"{cost.total_params(model):,}" in text
    table = P.format_comparison(base_cnn(), model)
    assert f"{P.model_csr_bytes(model):,}" in table and f"{P.nonzero_flops(model):,}" in table


def test_csr_of_a_vector_is_one_row():
    v = np.array([0.0, 2.0, 0.0, -1.0, 3.0], np.float32)
    # 3 kept values (4 bytes each) + their 3 column indices + 2 row pointers
    assert P.csr_bytes(v) == 3 * 4 + 3 * 4 + (1 + 1) * 4
    assert P.csr_bytes(v, value_bytes=2, index_bytes=8) == 3 * 2 + 3 * 8 + 2 * 8
    with pytest.raises(ValueError, match=r"scalar"):
        P.csr_bytes(np.float32(3.0))


def test_report_tables_name_their_columns_and_rows():
    rows = P.sparsity_report(P.prune_magnitude(base_cnn(), 0.5))
    header = P.format_sparsity_report(rows, title="after").splitlines()[1]
    assert P.format_sparsity_report(rows, title="after").splitlines()[0] == "after"
    assert re.fullmatch(r"layer\s+kind\s+weights\s+sparsity\s+params\s+nonzero\s+dense B\s+CSR B\s+FLOPs\s+"
                        r"nz FLOPs", header)
    table = P.format_comparison(base_cnn(), P.prune_magnitude(base_cnn(), 0.5), labels=("dense", "pruned"))
    labels = [re.split(r"\s{2,}", line.strip())[0] for line in table.splitlines()[2:]]
    assert labels == ["params", "nonzero params", "dense bytes", "CSR bytes", "FLOPs", "FLOPs, zero MACs skipped"]
    assert re.fullmatch(r"\s+dense\s+pruned\s+before/after", table.splitlines()[0])


def test_tables_show_a_dash_where_there_is_nothing_to_divide():
    rows = P.sparsity_report(base_cnn())
    text = P.format_sparsity_report(rows).splitlines()
    relu = next(line for line in text if line.startswith("relu1"))
    assert re.match(r"relu1\s+relu\s+0\s+-\s", relu)
    only_relu = P.format_sparsity_report([r for r in rows if not r.weights]).splitlines()
    assert re.match(r"total\s+0\s+-\s", only_relu[-1])
    empty = base_cnn()
    for layer in empty.layers:
        for p in layer.params.values():
            p[...] = 0.0
    table = P.format_comparison(base_cnn(), empty).splitlines()
    nonzero = next(line for line in table if line.startswith("nonzero params"))
    assert nonzero.split()[-1] == "-"  # 370,190 / 0: no ratio
    assert re.search(r"\d\.\d\dx$", next(line for line in table if line.startswith("params")))


def test_prune_channels_names_the_small_model():
    small, _ = P.prune_channels(base_cnn(), {"conv1": 0.4}, name="slim")
    assert small.name == "slim"
    assert P.prune_channels(base_cnn(), {"conv1": 0.4})[0].name == "base_cnn_pruned"


def test_a_sweep_without_finetuning_scores_each_copy_once():
    model, x, y, xv, yv = _tiny_task(3)
    points = P.sparsity_sweep(model, [0.0, 0.6], x, y, xv, yv, epochs=0)
    assert [p.epochs for p in points] == [0, 0]
    assert all(p.accuracy == p.accuracy_finetuned for p in points)


def test_table_lines_rows_and_ratios():
    from efficientnn.cost import total_params

    pruned = P.prune_magnitude(_with_random_biases(base_cnn()), {"fc1": 0.5})
    lines = P.format_sparsity_report(P.sparsity_report(pruned)).splitlines()
    assert re.fullmatch(r"-+", lines[1]) and re.fullmatch(r"-+", lines[-2])
    assert re.match(r"fc1\s+dense\s+368,640\s+50\.0%\s", next(l for l in lines if l.startswith("fc1")))
    total = f"{P.model_sparsity(pruned):.1%}"
    assert re.match(rf"total\s+370,190\s+{re.escape(total)}\s", lines[-1]) and total == "49.8%"
    small, _ = P.prune_channels(base_cnn(), {"conv1": 0.4})
    table = P.format_comparison(base_cnn(), small).splitlines()
    assert re.fullmatch(r"-+", table[1])
    params = next(l for l in table if l.startswith("params"))
    assert params.split()[-1] == f"{total_params(base_cnn()) / total_params(small):.2f}x"


def test_mask_channels_masks_only_what_it_cuts():
    model = base_cnn_separable()
    masked = P.mask_channels(model, {"sepconv1": [0, 3]})
    sep = masked.layer("sepconv1")
    assert set(sep.masks) == {"pw_W", "b"}  # dw_W reads the unchanged input: no mask
    assert masked.layer("fc1").masks == {} and masked.layer("fc2").masks == {}
    assert set(masked.layer("sepconv2").masks) == {"dw_W", "pw_W"}


def test_plots_return_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    model = P.prune_magnitude(base_cnn(), 0.9)
    fig = P.weight_histogram(model)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    for ax, layer in zip(fig.axes, [l for l in model.layers if "W" in l.params]):
        w = layer.params["W"]
        kept = sum(1 for v in w.ravel() if v != 0)  # counted one by one
        # the bars hold every kept weight and no pruned one
        assert sum(p.get_height() for p in ax.patches) == kept
        assert ax.get_title() == f"{layer.name}: {kept:,} of {w.size:,} kept ({1 - kept / w.size:.0%} pruned)"
    points = [P.SweepPoint(0.0, 0.97, 0.975, 1), P.SweepPoint(0.9, 0.9, 0.97, 1)]
    fig2 = P.sparsity_accuracy_plot(points, dense_accuracy=0.97, tolerance=0.01)
    ax = fig2.axes[0]
    untuned, tuned, dense = ax.get_lines()
    assert list(untuned.get_xdata()) == [0.0, 90.0] and list(untuned.get_ydata()) == pytest.approx([97.0, 90.0])
    assert list(tuned.get_ydata()) == pytest.approx([97.5, 97.0])
    assert list(dense.get_ydata()) == pytest.approx([97.0, 97.0])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "within 1 point" in labels and "dense model" in labels
    fig3 = P.sparsity_accuracy_plot([{"sparsity": 0.5, "accuracy": 0.9}])
    assert len(fig3.axes[0].get_lines()) == 1  # no fine-tuned line, no dense line
    assert list(fig3.axes[0].get_lines()[0].get_xydata()[0]) == pytest.approx([50.0, 90.0])
    plt.close("all")


# --------------------------------------------------------------------------- accuracy kept
ACCURACY_BOUND = 0.01  # pruned to 90% and fine-tuned: at most 1 point below the dense model


@pytest.mark.slow  # trains for about 12 s; `make test` runs it, the quick runs and mutation runs do not
def test_accuracy_within_bound_after_90_percent_pruning_and_finetuning():
    from efficientnn.data import load_digits
    from efficientnn.train import Adam, accuracy, fit

    x_train, y_train, x_test, y_test = load_digits(seed=0)
    dense = base_cnn(seed=0)
    # Few epochs keep this fast (about 5 epochs of ~1.5 s); the benchmark trains longer.
    fit(dense, x_train, y_train, epochs=4, optimizer=Adam(1e-3), seed=0, progress=False)
    dense_acc = accuracy(dense, x_test, y_test)
    pruned = P.prune_magnitude(dense.copy(), 0.9)  # one shot, global magnitude
    fit(pruned, x_train, y_train, epochs=1, optimizer=Adam(5e-4), seed=1, progress=False)
    assert P.model_sparsity(pruned) == round(0.9 * 370190) / 370190
    assert dense_acc > 0.9
    assert accuracy(pruned, x_test, y_test) >= dense_acc - ACCURACY_BOUND


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), True, "0.5", None])
def test_bad_sparsity_raises(bad):
    with pytest.raises(ValueError, match=r"sparsity must be"):
        P.magnitude_mask(np.ones(4), bad)
    with pytest.raises(ValueError, match=r"sparsity"):
        P.prune_magnitude(base_cnn(), bad)


def test_bad_input_raises_clear_errors():
    model = base_cnn()
    cases = [
        (lambda: P.prune_magnitude(model, 0.5, layers=["relu1"]), r"relu1 \(relu\) has no weights"),
        (lambda: P.prune_magnitude(model, {"flatten": 0.5}), r"no weights to prune"),
        (lambda: P.prune_magnitude(model, 0.5, layers=["conv9"]), r"no layer 'conv9'"),
        (lambda: P.prune_magnitude(model, {"conv9": 0.5}), r"no layer 'conv9'"),
        (lambda: P.prune_magnitude(model, 0.5, scope="local"), r'scope must be "global" or "layer"'),
        (lambda: P.prune_magnitude(model, {}), r"empty"),
        (lambda: P.prune_magnitude("model", 0.5), r"Sequential"),
        (lambda: P.magnitude_mask(np.array([]), 0.5), r"empty"),
        (lambda: P.magnitude_mask(np.array(["a", "b"]), 0.5), r"numbers"),
        (lambda: P.prune_channels(model, {"fc2": 0.5}), r"last layer with weights"),
        (lambda: P.prune_channels(model, {"relu1": 0.5}), r"no weights"),
        (lambda: P.prune_channels(model, {"conv1": 0.95}), r"would remove all"),
        (lambda: P.prune_channels(model, {"conv1": 1.0}), r"\[0, 1\)"),
        (lambda: P.prune_channels(model, {}), r"non-empty dict"),
        (lambda: P.remove_channels(model, {"conv1": [0, 5]}), r"0\.\.4"),
        (lambda: P.remove_channels(model, {"conv1": [1, 1]}), r"repeat"),
        (lambda: P.remove_channels(model, {"conv1": []}), r"non-empty"),
        (lambda: P.channel_l1_norms(ReLU()), r"needs a built layer"),
        (lambda: P.zhu_gupta_sparsity(1, 0.9, 0), r"n_steps"),
        (lambda: P.zhu_gupta_sparsity(1.5, 0.9, 3), r"step must be a whole number"),
        (lambda: P.gradual_prune(model, 0.9, None, None, epochs_per_step=-1), r"epochs_per_step"),
        (lambda: P.sparsity_sweep(model, [], None, None, None, None), r"sparsities is empty"),
        (lambda: P.sparsity_accuracy_plot([]), r"results is empty"),
        (lambda: P.sparsity_accuracy_plot([{"s": 1}]), r"'sparsity' and 'accuracy'"),
        (lambda: P.csr_bytes(np.ones(4), index_bytes=0), r"index_bytes"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    dw = Sequential([Conv2D(2, 3), DepthwiseConv2D(3), Flatten(), Dense(3)], input_shape=(8, 8, 1))
    with pytest.raises(ValueError, match=r"depthwise layer's outputs follow its inputs"):
        P.prune_channels(dw, {"dwconv1": 0.5})
