"""Sensitivity scan: prune one layer at a time and see how much accuracy each layer can spare.

Layers are not equally redundant. A scan prunes each layer *alone* (by magnitude, to each of
several sparsities, every other layer untouched) and scores the model; one accuracy curve per
layer. A flat curve marks a layer that can lose many weights, a steep one a layer to spare. From
the curves, :func:`choose_sparsities` gives each layer its own sparsity (Han et al. 2015 chose
theirs this way), to compare with one uniform sparsity for all layers at the same total
(:func:`total_sparsity`).

Example
-------
>>> from efficientnn.models import base_cnn
>>> round(total_sparsity(base_cnn(), {"conv1": 0.2, "fc1": 0.9}), 3)  # fc1 holds nearly all the weights
0.896
"""
from __future__ import annotations

import numpy as np

from ..validation import check_model
from .masks import _check_sparsity, _weighted_layer, prunable_layers, prune_magnitude, weight_keys

__all__ = ["layer_sensitivity", "layer_weight_counts", "total_sparsity", "choose_sparsities"]


def _check_grid(sparsities):
    grid = [_check_sparsity(s) for s in sparsities]
    if not grid:
        raise ValueError("sparsities is empty: give at least one sparsity to try, e.g. [0.1, 0.3, 0.5, 0.7, 0.9].")
    return grid


def layer_sensitivity(model, sparsities, x, y, layers=None) -> dict:
    """Accuracy of ``model`` with one layer at a time pruned by magnitude to each sparsity.

    For each layer and each ``s``, a copy of ``model`` has only that layer's weights pruned to
    ``s`` (``prune_magnitude(copy, {layer: s})``; biases and every other layer untouched) and is
    scored on ``(x, y)``. No fine-tuning: the scan asks what each layer can spare as it is.
    ``model`` itself is not changed.

    Parameters
    ----------
    model : efficientnn Sequential, trained
    sparsities : list of floats in [0, 1), e.g. ``[0.1, 0.3, 0.5, 0.7, 0.9]``
    x : (N, *model.input_shape) float32, test inputs
    y : (N,) int labels
    layers : list of layer names, default every layer with weights

    Returns
    -------
    dict of layer name -> list of accuracies in [0, 1], one per sparsity, in order

    Example
    -------
    >>> scan = layer_sensitivity(model, [0.5, 0.9], x_test, y_test)   # doctest: +SKIP
    >>> scan["fc1"]                                                   # doctest: +SKIP
    [0.961, 0.958]
    """
    from ..train import accuracy

    check_model(model)
    grid = _check_grid(sparsities)
    names = [l.name for l in prunable_layers(model)] if layers is None else list(layers)
    for name in names:
        _weighted_layer(model, name)  # a clear error for a wrong name, before any work
    return {name: [accuracy(prune_magnitude(model.copy(), {name: s}), x, y) for s in grid] for name in names}


def layer_weight_counts(model) -> dict:
    """Weights (biases excluded) of each layer that has weights.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> layer_weight_counts(base_cnn())
    {'conv1': 45, 'conv2': 225, 'fc1': 368640, 'fc2': 1280}
    """
    return {l.name: sum(l.params[k].size for k in weight_keys(l)) for l in prunable_layers(model)}


def total_sparsity(model, per_layer) -> float:
    """Sparsity of all the model's weights together when each layer has its own sparsity.

    ``sum(s_l * n_l) / sum(n_l)`` over every layer with weights (``n_l`` its weights; layers not
    in ``per_layer`` count as sparsity 0), rounded to 6 decimals.

    Parameters
    ----------
    model : efficientnn Sequential
    per_layer : dict of layer name -> sparsity in [0, 1)

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> total_sparsity(base_cnn(), {"conv1": 0.2, "fc1": 0.9})
    0.896256
    """
    counts = layer_weight_counts(check_model(model))
    for name, s in per_layer.items():
        _weighted_layer(model, name)
        _check_sparsity(s, f"sparsity of {name}")
    removed = sum(float(per_layer.get(name, 0.0)) * n for name, n in counts.items())
    return round(removed / sum(counts.values()), 6)


def _allowed(scan, grid, floor):
    """Per layer, the largest scanned sparsity whose accuracy is at least ``floor`` (else 0)."""
    return {name: max([0.0] + [s for s, acc in zip(grid, accs) if acc >= floor]) for name, accs in scan.items()}


def choose_sparsities(model, scan, sparsities, dense_accuracy, tolerance=None, total=None) -> dict:
    """Per-layer sparsities read off a sensitivity scan.

    With ``tolerance``: each layer gets the largest scanned sparsity at which its curve stays
    within ``tolerance`` of ``dense_accuracy`` (0 if none does). With ``total``: the smallest
    tolerance whose choice removes at least ``total`` of all the weights, then the layers whose
    sparsity that last tolerance raised give back the excess (largest layer first), so that
    :func:`total_sparsity` is ``total``: the least sensitive layers go furthest.

    Parameters
    ----------
    model : efficientnn Sequential (for the layers' weight counts)
    scan : dict of layer name -> accuracies, as from :func:`layer_sensitivity`
    sparsities : the scan's sparsities
    dense_accuracy : float, the unpruned model's accuracy on the same data
    tolerance : float >= 0, accuracy points (as a fraction: 0.01 = 1 point) a layer may cost
    total : float in [0, 1), the share of all the weights to remove; give exactly one of the two

    Returns
    -------
    dict of layer name -> sparsity (every layer of ``scan``)

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> scan = {"conv1": [0.9, 0.5], "conv2": [0.9, 0.8], "fc1": [0.9, 0.9], "fc2": [0.9, 0.85]}
    >>> choose_sparsities(base_cnn(), scan, [0.5, 0.9], 0.9, tolerance=0.0)
    {'conv1': 0.5, 'conv2': 0.5, 'fc1': 0.9, 'fc2': 0.5}
    """
    grid = _check_grid(sparsities)
    bad = {name: len(accs) for name, accs in scan.items() if len(accs) != len(grid)}
    if bad:
        raise ValueError(f"scan must hold one accuracy per sparsity ({len(grid)}); these do not: {bad}.")
    if (tolerance is None) == (total is None):
        raise ValueError("give exactly one of tolerance= (accuracy a layer may cost) and total= (overall sparsity).")
    if tolerance is not None:
        if not tolerance >= 0:
            raise ValueError(f"tolerance must be >= 0 (a fraction of accuracy: 0.01 = 1 point), got {tolerance!r}.")
        return _allowed(scan, grid, dense_accuracy - tolerance)
    return _fit_total(model, scan, grid, dense_accuracy, _check_sparsity(total, "total"))


def _fit_total(model, scan, grid, dense_accuracy, total):
    counts = {name: layer_weight_counts(model)[_weighted_layer(model, name).name] for name in scan}
    n_all = sum(layer_weight_counts(model).values())
    need = total * n_all
    removed = lambda chosen: sum(chosen[name] * counts[name] for name in chosen)
    before = {name: 0.0 for name in scan}
    for drop in sorted({max(dense_accuracy - acc, 0.0) for accs in scan.values() for acc in accs}):
        chosen = _allowed(scan, grid, dense_accuracy - drop)
        if removed(chosen) >= need - 1e-9:
            return _trim(chosen, before, counts, removed(chosen) - need)
        before = chosen
    raise ValueError(
        f"even the largest scanned sparsities remove only {removed(before) / n_all:.3f} of the weights, "
        f"less than total={total}; scan higher sparsities."
    )


def _trim(chosen, before, counts, excess):
    """Give back ``excess`` weights from the layers raised last, the largest first."""
    chosen = dict(chosen)
    for name in sorted((n for n in chosen if chosen[n] > before[n]), key=lambda n: -counts[n]):
        give = min(excess, (chosen[name] - before[name]) * counts[name])
        chosen[name] = round(chosen[name] - give / counts[name], 6)
        excess -= give
    return chosen
