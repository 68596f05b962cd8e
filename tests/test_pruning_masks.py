"""Sparsity and magnitude masks (efficientnn.pruning), against counts made here by brute force.

``sparsity`` is the share of zeros; counting the kept (nonzero) weights instead gives ``1 - s``,
which only an array that is not half zeros tells apart, so every case here is lopsided.
"""
import numpy as np
import pytest

from efficientnn.pruning import magnitude_mask, pruned_count, sparsity


def zeros_by_hand(values):
    flat = list(np.asarray(values, dtype=np.float64).ravel())
    return sum(1 for v in flat if v == 0) / len(flat)


@pytest.mark.parametrize("values, share", [([0.0, 1.5, 0.0, -2.0], 0.5), ([0.0, 0.0, 0.0, 3.0], 0.75),
                                           ([1.0, 2.0, 3.0, 0.0], 0.25), ([[0, 0], [0, 0]], 1.0),
                                           ([7], 0.0), ([-0.0, 1e-30, 0.0], 2 / 3)])
def test_sparsity_is_the_share_of_zeros(values, share):
    assert sparsity(np.array(values)) == pytest.approx(share)
    assert sparsity(np.array(values)) == pytest.approx(zeros_by_hand(values))
    assert isinstance(sparsity(np.array(values)), float)


def test_sparsity_of_random_arrays_matches_a_count():
    rng = np.random.default_rng(0)
    for shape in [(3, 3, 4, 8), (100,), (5, 7)]:
        w = rng.standard_normal(shape).astype(np.float32)
        w[rng.random(shape) < rng.uniform(0.05, 0.95)] = 0
        assert sparsity(w) == pytest.approx(zeros_by_hand(w))
        assert sparsity(w.tolist()) == pytest.approx(zeros_by_hand(w))  # a nested list works too
    assert sparsity(np.array([0, 5, 0], dtype=np.int64)) == pytest.approx(2 / 3)


@pytest.mark.parametrize("bad, concept", [(np.array([]), "empty"), (np.array(["a", "b"]), "numbers"),
                                          (np.array([None, 1.0], dtype=object), "numbers")])
def test_sparsity_rejects_what_is_not_weights(bad, concept):
    with pytest.raises(ValueError, match=concept):
        sparsity(bad)


@pytest.mark.parametrize("size, share, removed", [(10, 0.0, 0), (10, 0.5, 5), (10, 0.34, 3), (10, 0.36, 4),
                                                  (3, 0.5, 2), (1000, 0.9, 900), (7, 0.99, 7)])
def test_pruned_count_rounds_the_share(size, share, removed):
    # round(0.5 * 3) is 2 in Python (half to even): 1.5 -> 2
    assert pruned_count(size, share) == removed


def test_magnitude_mask_removes_the_smallest_magnitudes():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 5)).astype(np.float32)
    for share in (0.1, 0.25, 0.5, 0.8):
        mask = magnitude_mask(w, share)
        k = round(share * w.size)
        assert mask.shape == w.shape and mask.dtype == bool and (~mask).sum() == k
        order = sorted(range(w.size), key=lambda i: abs(w.ravel()[i]))
        assert set(np.flatnonzero(~mask.ravel())) == set(order[:k])
        assert sparsity(np.where(mask, w, 0)) == pytest.approx(k / w.size)


def test_magnitude_mask_breaks_ties_in_c_order():
    w = np.array([[1.0, -1.0], [1.0, 2.0]])
    assert magnitude_mask(w, 0.5).tolist() == [[False, False], [True, True]]
    assert magnitude_mask(w, 0.25).tolist() == [[False, True], [True, True]]


def test_errors_name_the_argument_and_what_was_given():
    from efficientnn import pruning as P
    from efficientnn.models import base_cnn

    cases = [
        (lambda: P.magnitude_mask(np.ones(3), "0.5"), r"^sparsity must be a number in \[0, 1\), got '0\.5' \(str\)"),
        (lambda: P.sparsity(np.array([])), r"^weights is empty"),
        (lambda: P.prune_magnitude(base_cnn(), {"fc1": 0.5}, layers=["fc1"]),
         r"^give the layers either as the keys of a sparsity dict or as layers="),
        (lambda: P.prune_magnitude(base_cnn(), {"fc1": 1.5}), r"^sparsity of fc1 must be in \[0, 1\)"),
        (lambda: P.zhu_gupta_sparsity(1, 0.9, 3, initial_sparsity=1.2), r"^initial_sparsity must be in \[0, 1\)"),
        (lambda: P.zhu_gupta_sparsity(1, 0.9, 3, start_step=0.5), r"^start_step\b"),
        (lambda: P.csr_bytes(np.ones(3), value_bytes=0), r"^value_bytes\b"),
        (lambda: P.dense_bytes(np.ones(3), value_bytes=0), r"^value_bytes\b"),
        (lambda: P.gradual_prune(base_cnn(), 0.5, None, None, epochs_per_step=-1), r"^epochs_per_step\b"),
        (lambda: P.sparsity_sweep(base_cnn(), [], None, None, None, None), r"^sparsities is empty"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_more_errors_name_their_argument():
    from efficientnn import pruning as P
    from efficientnn.layers import Flatten
    from efficientnn.models import Sequential, base_cnn

    model = base_cnn()
    cases = [
        (lambda: P.gradual_prune(model, 0.5, None, None, n_steps=0), r"^n_steps\b"),
        (lambda: P.gradual_prune(model, 0.5, None, None, final_epochs=-1), r"^final_epochs\b"),
        (lambda: P.gradual_prune(model, 0.5, None, None, x_val=np.ones(2)), r"^give both x_val and y_val, or neither"),
        (lambda: P.sparsity_sweep(model, [0.5], None, None, None, None, epochs=-1), r"^epochs\b"),
        (lambda: P.zhu_gupta_sparsity(1, 1.5, 3), r"^final_sparsity must be in \[0, 1\)"),
        (lambda: P.zhu_gupta_sparsity(1, 0.9, 0), r"^n_steps\b"),
        (lambda: P.zhu_gupta_sparsity(1, 0.9, 3, step_interval=0), r"^step_interval\b"),
        (lambda: P.prune_magnitude(model, 0.5, layers=[3]), r"^layer names must be strings, got 3"),
        (lambda: P.global_magnitude_masks([], 0.5), r"^global_magnitude_masks needs at least one array"),
        (lambda: P.prune_magnitude(model, {}), r"^the sparsity dict is empty"),
        (lambda: P.prune_magnitude(model, 0.5, layers=[]), r"^layers is empty"),
        (lambda: P.pruned_count(0, 0.5), r"^size\b"),
        (lambda: P.csr_bytes(np.float32(1.0)), r"^weights must be an array with at least one axis"),
        (lambda: P.csr_bytes(np.ones(3), index_bytes=0), r"^index_bytes\b"),
        (lambda: P.model_sparsity(Sequential([Flatten()], (2, 2, 1), name="flat")), r"^model flat has no weights"),
        (lambda: P.layer_sensitivity(model, [], None, None), r"^sparsities is empty"),
        (lambda: P.choose_sparsities(model, {"fc1": [0.9]}, [0.5], 0.9, total=1.5), r"^total must be in \[0, 1\)"),
        (lambda: P.total_sparsity(model, {"fc1": 1.5}), r"^sparsity of fc1 must be in \[0, 1\)"),
        (lambda: P.remove_channels(model, [0, 1]), r"^keep must be a non-empty dict"),
        (lambda: P.remove_channels(model, {"conv1": [0.5, 1.0]}), r"^kept channels of conv1 must be a non-empty 1-D list"),
        (lambda: P.remove_channels(model, {"conv1": [[0, 1]]}), r"^kept channels of conv1 must be a non-empty 1-D list"),
        (lambda: P.channel_l1_norms(object()), r"^channel_l1_norms needs a built layer"),
        (lambda: P.kept_channels(model, [0.5]), r"^fractions must be a non-empty dict"),
        (lambda: P.model_with_weights(model, [1]), r"^weights must be a non-empty dict"),
        (lambda: P.model_with_weights(model, {"conv1": {"W": np.ones((3, 3, 1, 3))}}),
         r"cut the arrays that read removed channels too\.$"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_pruning_again_counts_masked_weights_as_zero():
    from efficientnn import pruning as P
    from efficientnn.layers import Dense
    from efficientnn.models import Sequential

    model = Sequential([Dense(4, name="fc")], (1,))
    fc = model.layer("fc")
    fc.params["W"][:] = [[5.0, 2.0, 3.0, 4.0]]
    fc.masks["W"] = np.array([[False, True, True, True]])  # 5.0 was pruned; training has not re-zeroed it
    P.prune_magnitude(model, {"fc": 0.5})
    assert fc.masks["W"].tolist() == [[False, False, True, True]]  # the pruned one, then the smallest, 2.0
    P.prune_magnitude(model, 0.5, layers="fc")  # one name as a string
    assert fc.masks["W"].tolist() == [[False, False, True, True]]
    P.remove_masks(model)
    assert fc.masks == {} and fc.params["W"].tolist() == [[0.0, 0.0, 3.0, 4.0]]
