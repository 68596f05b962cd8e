"""Unstructured (magnitude) pruning: sparsity, keep-masks and pruning a model by weight magnitude.

The conventions (weights, sparsity, exact counts and ties) are stated in :mod:`efficientnn.pruning`.

Example
-------
>>> import numpy as np
>>> magnitude_mask(np.array([0.5, -0.1, 0.1, 2.0]), 0.5)
array([ True, False, False,  True])
>>> sparsity(np.array([0.0, 1.5, 0.0, -2.0]))
0.5
"""
from __future__ import annotations

import numbers

import numpy as np

from ..validation import check_model, positive_int

__all__ = [
    "WEIGHT_KEYS",
    "sparsity",
    "weight_keys",
    "prunable_layers",
    "pruned_count",
    "magnitude_mask",
    "global_magnitude_masks",
    "prune_magnitude",
    "remove_masks",
]

#: Parameter names that hold weights (pruned); every other parameter is a bias (never pruned).
WEIGHT_KEYS = ("W", "dw_W", "pw_W")


# --------------------------------------------------------------------------- input checks
def _check_sparsity(value, what="sparsity"):
    """A sparsity as a float in [0, 1); 1 would remove every weight."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a number in [0, 1), got {value!r} ({type(value).__name__}).")
    value = float(value)
    if not 0.0 <= value < 1.0:  # also rejects nan
        raise ValueError(
            f"{what} must be in [0, 1) (the share of weights set to zero; 1 would remove them all), got {value!r}."
        )
    return value


def _check_weights(weights):
    w = np.asarray(weights)
    if w.dtype.kind not in "fiu":
        raise ValueError(f"weights must be an array of numbers, got dtype {w.dtype}.")
    if w.size == 0:
        raise ValueError("weights is empty: there is nothing to prune.")
    return w


def _weighted_layer(model, name):
    """The layer called ``name``, which must hold weights."""
    if not isinstance(name, str):
        raise ValueError(f"layer names must be strings, got {name!r}.")
    layer = model.layer(name)  # raises ValueError naming the model's layers
    if not weight_keys(layer):
        raise ValueError(
            f"layer {name} ({layer.kind}) has no weights to prune; layers with weights: "
            f"{[l.name for l in prunable_layers(model)]}."
        )
    return layer


# --------------------------------------------------------------------------- sparsity and masks
def sparsity(weights) -> float:
    """Share of zeros in an array: ``zeros / elements``, in [0, 1].

    Parameters
    ----------
    weights : array of any shape, at least one element

    Example
    -------
    >>> sparsity(np.array([0.0, 1.5, 0.0, -2.0]))
    0.5
    """
    w = _check_weights(weights)
    return float(np.count_nonzero(w == 0)) / w.size


def weight_keys(layer) -> list:
    """Names of a layer's weight arrays (the ones pruning acts on), in parameter order.

    Example
    -------
    >>> from efficientnn.layers import Dense, ReLU
    >>> fc = Dense(10); _ = fc.build((128,))
    >>> weight_keys(fc), weight_keys(ReLU())
    (['W'], [])
    """
    return [key for key in layer.params if key in WEIGHT_KEYS]


def prunable_layers(model) -> list:
    """The layers of ``model`` that hold weights (conv, depthwise, separable, dense), in order.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> [layer.name for layer in prunable_layers(base_cnn())]
    ['conv1', 'conv2', 'fc1', 'fc2']
    """
    return [layer for layer in check_model(model).layers if weight_keys(layer)]


def pruned_count(size, sparsity) -> int:
    """How many of ``size`` weights pruning to ``sparsity`` removes: ``round(sparsity * size)``.

    Python's ``round`` sends an exact half to the even neighbour (``round(2.5) == 2``).

    Example
    -------
    >>> pruned_count(368640, 0.9)
    331776
    """
    size = positive_int(size, "size")
    return int(round(_check_sparsity(sparsity) * size))


def _smallest(magnitudes, k):
    """Flat positions of the ``k`` smallest values; among equals, the lower position first."""
    # A stable sort keeps equal magnitudes in position order, which is the tie rule.
    return np.argsort(magnitudes, kind="stable")[:k]


def magnitude_mask(weights, sparsity) -> np.ndarray:
    """Keep-mask removing the ``round(sparsity * size)`` weights of smallest magnitude.

    Parameters
    ----------
    weights : array of any shape (e.g. a conv's (kh, kw, Cin, Cout) or a dense (in, units))
    sparsity : float in [0, 1), the share of weights to remove (``zeros / elements`` afterwards,
        for weights that held no zeros before)

    Returns
    -------
    mask : bool array shaped like ``weights``; True = kept, False = pruned. Exactly
        ``round(sparsity * size)`` entries are False. Ties in ``|w|`` are broken stably: among
        equal magnitudes the weight earlier in C order is pruned first.

    Example
    -------
    >>> magnitude_mask(np.array([0.5, -0.1, 0.1, 2.0]), 0.5)
    array([ True, False, False,  True])
    """
    w = _check_weights(weights)
    k = pruned_count(w.size, sparsity)
    mask = np.ones(w.size, dtype=bool)
    mask[_smallest(np.abs(w).ravel(), k)] = False
    return mask.reshape(w.shape)


def global_magnitude_masks(arrays, sparsity) -> list:
    """Keep-masks for several arrays pruned together with one magnitude threshold.

    The ``round(sparsity * total)`` smallest magnitudes over all the arrays are removed, so layers
    with many small weights (a big dense layer) lose more than layers with few large ones.

    Parameters
    ----------
    arrays : list of arrays (any shapes)
    sparsity : float in [0, 1), share of all their elements together to remove

    Returns
    -------
    list of bool masks, one per array, same shapes; True = kept. Ties are broken stably in the
    order of ``arrays``, then C order within each.

    Example
    -------
    >>> [m.tolist() for m in global_magnitude_masks([np.array([3.0, 0.1]), np.array([0.2, 4.0])], 0.5)]
    [[True, False], [False, True]]
    """
    arrays = [_check_weights(a) for a in arrays]
    if not arrays:
        raise ValueError("global_magnitude_masks needs at least one array.")
    flat = np.concatenate([np.abs(a).ravel() for a in arrays])
    keep = np.ones(flat.size, dtype=bool)
    keep[_smallest(flat, pruned_count(flat.size, sparsity))] = False
    bounds = np.cumsum([0] + [a.size for a in arrays])
    return [keep[lo:hi].reshape(a.shape) for a, lo, hi in zip(arrays, bounds[:-1], bounds[1:])]


def _masked_weights(layer, key):
    """The weights as training sees them: an existing mask's pruned entries count as zero."""
    w = layer.params[key]
    mask = layer.masks.get(key)
    return w if mask is None else w * mask


def _set_mask(layer, key, mask):
    layer.masks[key] = mask
    layer.params[key] *= mask  # zero now, not only after the next optimizer step


def prune_magnitude(model, sparsity, scope="global", layers=None):
    """Prune ``model`` in place by weight magnitude and keep the masks for fine-tuning.

    Sets ``layer.masks[key]`` (True = kept) for every weight array pruned and zeroes the pruned
    weights; :func:`efficientnn.train.fit` keeps them zero afterwards. Masks are recomputed from
    the current weights with any earlier mask applied, so pruning again to a higher sparsity
    (gradual pruning) removes the old zeros first and then the next smallest weights.

    Parameters
    ----------
    model : efficientnn Sequential
    sparsity : float in [0, 1), or dict of layer name -> float (a sparsity per layer; implies
        ``scope="layer"`` and prunes only the layers named)
    scope : "global" (one magnitude threshold over all the weights of ``layers`` together:
        exactly ``round(sparsity * total weights)`` removed) or "layer" (each weight array
        pruned to ``sparsity`` on its own)
    layers : list of layer names, default every layer with weights

    Returns
    -------
    model, the same object, pruned

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> m = prune_magnitude(base_cnn(), {"fc1": 0.95})
    >>> round(sparsity(m.layer("fc1").params["W"]), 3), sparsity(m.layer("fc2").params["W"])
    (0.95, 0.0)
    """
    check_model(model)
    if scope not in ("global", "layer"):
        raise ValueError(f'scope must be "global" or "layer", got {scope!r}.')
    if isinstance(sparsity, dict):
        if layers is not None:
            raise ValueError("give the layers either as the keys of a sparsity dict or as layers=, not both.")
        if not sparsity:
            raise ValueError("the sparsity dict is empty: name at least one layer.")
        per_layer = {name: _check_sparsity(s, f"sparsity of {name}") for name, s in sparsity.items()}
        chosen = [_weighted_layer(model, name) for name in per_layer]
        for layer in chosen:
            _prune_each(layer, per_layer[layer.name])
        return model
    sparsity = _check_sparsity(sparsity)
    if layers is None:
        chosen = prunable_layers(model)
    else:
        if isinstance(layers, str):
            layers = [layers]
        chosen = [_weighted_layer(model, name) for name in layers]
        if not chosen:
            raise ValueError("layers is empty: name at least one layer to prune.")
    if scope == "layer":
        for layer in chosen:
            _prune_each(layer, sparsity)
        return model
    pairs = [(layer, key) for layer in chosen for key in weight_keys(layer)]
    masks = global_magnitude_masks([_masked_weights(layer, key) for layer, key in pairs], sparsity)
    for (layer, key), mask in zip(pairs, masks):
        _set_mask(layer, key, mask)
    return model


def _prune_each(layer, sparsity):
    for key in weight_keys(layer):
        _set_mask(layer, key, magnitude_mask(_masked_weights(layer, key), sparsity))


def remove_masks(model):
    """Drop every layer's masks, in place: pruned weights stay zero but may grow back in training.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> remove_masks(prune_magnitude(base_cnn(), 0.5)).layer("fc1").masks
    {}
    """
    for layer in check_model(model).layers:
        layer.masks = {}
    return model
