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
