"""Sensitivity scan and per-layer sparsities (efficientnn.pruning.sensitivity), building a network
from cut arrays (pruning.model_with_weights), and small_vgg's cost, where pruning's latency is measured."""
import numpy as np
import pytest

from efficientnn import cost
from efficientnn import pruning as P
from efficientnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from efficientnn.models import Sequential, base_cnn, small_vgg
from efficientnn.train import accuracy


def _tiny():
    return Sequential([Conv2D(3, 3), ReLU(), Flatten(), Dense(6), ReLU(), Dense(4)], (6, 6, 1), seed=3, name="tiny")


def _data(model, n=40, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, *model.input_shape)).astype(np.float32)
    return x, np.argmax(model.predict(x), axis=1)


# --------------------------------------------------------------------------- layer_sensitivity
def test_scan_prunes_each_layer_alone_on_a_fresh_copy():
    model = _tiny()
    x, y = _data(model)
    before = {l.name: {k: v.copy() for k, v in l.params.items()} for l in model.layers}
    grid = [0.2, 0.5, 0.8]
    scan = P.layer_sensitivity(model, grid, x, y)
    assert list(scan) == ["conv1", "fc1", "fc2"]
    for name, accs in scan.items():
        manual = []
        for s in grid:
            m = model.copy()
            w = m.layer(name).params["W"]
            w *= P.magnitude_mask(w, s)  # only this layer, by magnitude
            manual.append(accuracy(m, x, y))
        assert accs == manual
    for layer in model.layers:
        assert all(np.array_equal(layer.params[k], before[layer.name][k]) for k in layer.params)
    # Labels are the model's own answers: unpruned accuracy is 1, and heavy pruning changes some.
    assert min(min(a) for a in scan.values()) < 1.0


def test_scan_rejects_bad_input_clearly():
    model = _tiny()
    x, y = _data(model)
    with pytest.raises(ValueError, match="sparsities is empty"):
        P.layer_sensitivity(model, [], x, y)
    with pytest.raises(ValueError, match="relu1|no weights"):
        P.layer_sensitivity(model, [0.5], x, y, layers=["relu1"])
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        P.layer_sensitivity(model, [1.0], x, y)


# --------------------------------------------------------------------------- choosing sparsities
def test_total_sparsity_weights_layers_by_their_weights():
    counts = P.layer_weight_counts(base_cnn())
    assert counts == {"conv1": 45, "conv2": 225, "fc1": 368640, "fc2": 1280}
    chosen = {"conv1": 0.5, "conv2": 0.2, "fc1": 0.9, "fc2": 0.3}
    by_hand = (0.5 * 45 + 0.2 * 225 + 0.9 * 368640 + 0.3 * 1280) / sum(counts.values())
    assert P.total_sparsity(base_cnn(), chosen) == pytest.approx(by_hand, abs=1e-6)
    # It is the sparsity the model really has once pruned that way.
    assert P.total_sparsity(base_cnn(), chosen) == pytest.approx(
        P.model_sparsity(P.prune_magnitude(base_cnn(), chosen)), abs=1e-5)


def test_tolerance_gives_each_layer_its_largest_sparsity_within_reach():
    scan = {"conv1": [0.95, 0.90, 0.50], "conv2": [0.96, 0.955, 0.95], "fc1": [0.96, 0.96, 0.96],
            "fc2": [0.80, 0.70, 0.60]}
    grid = [0.3, 0.6, 0.9]
    assert P.choose_sparsities(base_cnn(), scan, grid, 0.96, tolerance=0.01) == {
        "conv1": 0.3, "conv2": 0.9, "fc1": 0.9, "fc2": 0.0}


def test_total_target_is_met_exactly_by_the_least_sensitive_layers():
    model = base_cnn()
    grid = [0.5, 0.9, 0.95]
    scan = {"conv1": [0.9, 0.5, 0.2], "conv2": [0.96, 0.9, 0.8], "fc1": [0.96, 0.96, 0.95], "fc2": [0.96, 0.94, 0.9]}
    chosen = P.choose_sparsities(model, scan, grid, 0.96, total=0.9)
    assert P.total_sparsity(model, chosen) == pytest.approx(0.9, abs=1e-6)
    # conv1, the most sensitive layer, is spared; fc1 (flat curve) carries the total.
    assert chosen["conv1"] <= chosen["conv2"] and chosen["fc1"] > 0.9
    # No sparsity is above what the smallest sufficient tolerance allowed.
    assert all(chosen[n] <= max(grid) for n in chosen)


def test_unreachable_total_and_ambiguous_requests_are_refused():
    scan = {"conv1": [0.9], "conv2": [0.9], "fc1": [0.9], "fc2": [0.9]}
    with pytest.raises(ValueError, match="scan higher sparsities"):
        P.choose_sparsities(base_cnn(), scan, [0.5], 0.9, total=0.8)
    with pytest.raises(ValueError, match="exactly one"):
        P.choose_sparsities(base_cnn(), scan, [0.5], 0.9)
    with pytest.raises(ValueError, match="one accuracy per sparsity"):
        P.choose_sparsities(base_cnn(), scan, [0.5, 0.9], 0.9, tolerance=0.01)


def test_a_negative_tolerance_is_refused_with_its_meaning():
    scan = {"conv1": [0.9], "conv2": [0.9], "fc1": [0.9], "fc2": [0.9]}
    for bad in (-0.01, float("nan")):
        with pytest.raises(ValueError, match=r"tolerance must be >= 0 \(a fraction of accuracy"):
            P.choose_sparsities(base_cnn(), scan, [0.5], 0.9, tolerance=bad)


def test_the_excess_is_given_back_by_the_largest_layer_raised_last():
    # conv2 (225 weights) and fc2 (1280) both reach 0.5 at the last tolerance: 752.5 weights
    # removed for a target of 700, so fc2, the larger, gives back the 52.5.
    scan = {"conv1": [0.5], "conv2": [0.85], "fc1": [0.5], "fc2": [0.85]}
    chosen = P.choose_sparsities(base_cnn(), scan, [0.5], 0.9, total=700 / 370190)
    assert chosen == {"conv1": 0.0, "conv2": 0.5, "fc1": 0.0, "fc2": round(0.5 - 52.5 / 1280, 6)}
    with pytest.raises(ValueError, match=r"^give exactly one of tolerance="):
        P.choose_sparsities(base_cnn(), scan, [0.5], 0.9, tolerance=0.1, total=0.5)


def test_a_total_just_out_of_reach_moves_to_the_next_tolerance():
    # base_cnn: conv1 45, conv2 225, fc1 368640, fc2 1280 weights; 23 to remove.
    scan = {"conv1": [0.85], "conv2": [0.5], "fc1": [0.5], "fc2": [0.5]}
    # At 0.05 below dense only conv1 may go to 0.5: 22.5 weights, half a weight short. At 0.4 all
    # may: fc1, fc2, then conv2 (largest first) give back 185095 - 23 weights.
    chosen = P.choose_sparsities(base_cnn(), scan, [0.5], 0.9, total=23 / 370190)
    assert chosen == {"conv1": 0.5, "fc1": 0.0, "fc2": 0.0, "conv2": round(0.5 - (185095 - 23 - 184320 - 640) / 225, 6)}
    # exactly reachable: conv1 alone removes 22.5
    exact = P.choose_sparsities(base_cnn(), scan, [0.5], 0.9, total=22.5 / 370190)
    assert exact == {"conv1": 0.5, "conv2": 0.0, "fc1": 0.0, "fc2": 0.0}
    # a tolerance of 0 keeps exactly the sparsities that cost nothing
    assert P.choose_sparsities(base_cnn(), {"fc1": [0.9, 0.8]}, [0.5, 0.9], 0.9, tolerance=0.0) == {"fc1": 0.5}
    with pytest.raises(ValueError, match=r"remove only 0\.\d{3} of the weights, less than total=0\.9"):
        P.choose_sparsities(base_cnn(), scan, [0.5], 0.9, total=0.9)


def test_a_layer_raised_from_a_lower_sparsity_gives_back_only_what_it_was_raised():
    # Within 0 of dense: conv2 and fc2 at 0.5 (752.5 weights, short of 800). Within 0.05: both at
    # 0.9 (1354.5). fc2 gives back all it was raised, 0.4 x 1280 = 512, then conv2 the last 42.5.
    scan = {"conv1": [0.5, 0.5], "conv2": [0.9, 0.85], "fc1": [0.5, 0.5], "fc2": [0.9, 0.85]}
    chosen = P.choose_sparsities(base_cnn(), scan, [0.5, 0.9], 0.9, total=800 / 370190)
    assert chosen == {"conv1": 0.0, "conv2": round(0.9 - 42.5 / 225, 6), "fc1": 0.0, "fc2": 0.5}


def test_layers_left_out_count_as_dense():
    assert P.total_sparsity(base_cnn(), {"fc2": 0.5}) == round(0.5 * 1280 / (45 + 225 + 368640 + 1280), 6)


# --------------------------------------------------------------------------- model_with_weights
@pytest.mark.parametrize("next_is_dense", [False, True])
def test_model_with_weights_builds_what_remove_channels_builds(next_is_dense):
    tail = [Flatten(), Dense(7)] if next_is_dense else [Conv2D(4, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(7)]
    model = Sequential([Conv2D(6, 3), ReLU(), *tail], (10, 10, 2), seed=5, name="m")
    keep = np.array([0, 2, 5])
    ref = P.remove_channels(model, {"conv1": keep})
    nxt = "fc1" if next_is_dense else "conv2"
    W, b, Wn = (model.layer("conv1").params["W"], model.layer("conv1").params["b"], model.layer(nxt).params["W"])
    cut = Wn.reshape(-1, 6, Wn.shape[-1])[:, keep, :].reshape(-1, Wn.shape[-1]) if next_is_dense else Wn[:, :, keep, :]
    built = P.model_with_weights(model, {"conv1": {"W": W[..., keep], "b": b[keep]}, nxt: {"W": cut}})
    assert [l.output_shape for l in built.layers] == [l.output_shape for l in ref.layers]
    assert (cost.total_params(built), cost.total_flops(built)) == (cost.total_params(ref), cost.total_flops(ref))
    x = np.random.default_rng(0).standard_normal((3, 10, 10, 2)).astype(np.float32)
    np.testing.assert_allclose(built.predict(x), ref.predict(x), rtol=1e-5, atol=1e-6)
    assert model.layer("conv1").params["W"].shape[-1] == 6  # the original is untouched


def test_model_with_weights_names_the_layer_still_reading_removed_channels():
    model = base_cnn()
    c1 = model.layer("conv1").params
    with pytest.raises(ValueError, match=r"conv2's W \(kept from the original\) has shape \(3, 3, 5, 5\)"):
        P.model_with_weights(model, {"conv1": {"W": c1["W"][..., :3], "b": c1["b"][:3]}})
    with pytest.raises(ValueError, match="keys among"):
        P.model_with_weights(model, {"conv1": {"kernel": c1["W"]}})
    c2 = model.layer("conv2").params
    with pytest.raises(ValueError, match=r"conv2's W \(given\) has shape \(3, 3, 3, 5\), but in the new network"):
        P.model_with_weights(model, {"conv2": {"W": c2["W"][:, :, :3, :]}})  # conv1 still has 5 outputs


def test_model_with_weights_stores_float32_copies():
    model = base_cnn()
    w = model.layer("fc2").params["W"].astype(np.float64)
    built = P.model_with_weights(model, {"fc2": {"W": w}})
    assert built.layer("fc2").params["W"].dtype == np.float32
    np.testing.assert_array_equal(built.layer("fc2").params["W"], w.astype(np.float32))
    w[0, 0] = 99.0
    assert built.layer("fc2").params["W"][0, 0] != 99.0
    assert built.name == f"{model.name}_pruned" and P.model_with_weights(model, {"fc2": {"W": w}}, name="x").name == "x"


# --------------------------------------------------------------------------- small_vgg
def test_small_vgg_is_dominated_by_its_convolutions():
    model = small_vgg()
    conv = sum(r.flops for r in cost.profile(model) if r.name.startswith("conv"))
    assert conv / cost.total_flops(model) > 0.99
    small, _ = P.prune_channels(model, {n: 0.5 for n in ("conv1", "conv2", "conv3", "conv4")})
    # Halving both sides of a 3x3 conv quarters its MACs: the whole network loses close to 4x.
    assert 3.8 < cost.total_flops(model) / cost.total_flops(small) < 4.0
