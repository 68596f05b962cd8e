"""Structured (filter) pruning: remove whole output channels ranked by their L1 norm.

Each layer kind says how kept channels flow through it (:meth:`efficientnn.layers.Layer.prune_inputs`)
and which weight array holds its output channels (``out_channels_key``); this module ranks,
plans and cuts.

Example
-------
>>> from efficientnn.models import base_cnn
>>> small, kept = prune_channels(base_cnn(), {"conv1": 0.4, "fc1": 0.5})
>>> small.layer("conv1").output_shape, kept["conv1"].size
((26, 26, 3), 3)
"""
from __future__ import annotations

import numpy as np

from ..layers import LAYER_CLASSES
from ..validation import check_model
from .masks import _check_sparsity, _set_mask, _smallest, _weighted_layer, prunable_layers

__all__ = [
    "CHANNEL_PRUNABLE_KINDS",
    "channel_l1_norms",
    "weakest_channels",
    "kept_channels",
    "remove_channels",
    "mask_channels",
    "prune_channels",
    "model_with_weights",
]

#: Layer kinds whose output channels structured pruning can remove.
CHANNEL_PRUNABLE_KINDS = tuple(kind for kind, cls in LAYER_CLASSES.items() if cls.out_channels_key)


def _channel_layer(model, name):
    layer = _weighted_layer(model, name)
    if not layer.out_channels_key:
        raise ValueError(
            f"layer {name} ({layer.kind}) has no output channels of its own to remove "
            f"(a depthwise layer's outputs follow its inputs); prune one of {CHANNEL_PRUNABLE_KINDS}."
        )
    if layer is prunable_layers(model)[-1]:
        raise ValueError(f"layer {name} is the last layer with weights: its outputs are the model's outputs (classes).")
    return layer


def channel_l1_norms(layer) -> np.ndarray:
    """L1 norm of each output channel's weights: ``sum |W[..., c]|`` (Li et al. 2017).

    Parameters
    ----------
    layer : a built conv (W (kh, kw, Cin, Cout)), dense (W (in, units)) or separable layer
        (its pointwise filters pw_W (1, 1, Cin*M, filters))

    Returns
    -------
    norms : (Cout,) float64; biases are not included

    Example
    -------
    >>> from efficientnn.layers import Dense
    >>> fc = Dense(2); _ = fc.build((3,)); fc.params["W"][:] = [[1, -2], [0, 1], [-1, 0]]
    >>> channel_l1_norms(fc)
    array([2., 3.])
    """
    if not getattr(layer, "out_channels_key", None) or not layer.params:
        raise ValueError(
            f"channel_l1_norms needs a built layer of kind {CHANNEL_PRUNABLE_KINDS}, got {layer!r}."
        )
    w = np.abs(layer.params[layer.out_channels_key].astype(np.float64))
    return w.reshape(-1, w.shape[-1]).sum(axis=0)


def _removed_count(n_channels, fraction, name):
    """``round(fraction * n)`` channels, checked to leave at least one."""
    fraction = _check_sparsity(fraction, f"fraction of {name}'s channels")
    k = int(round(fraction * n_channels))
    if k >= n_channels:
        raise ValueError(
            f"removing {fraction:g} of {name}'s {n_channels} channels would remove all of them; keep at least one."
        )
    return k


def weakest_channels(layer, fraction) -> np.ndarray:
    """Indices of the ``round(fraction * Cout)`` output channels with the smallest L1 norm.

    Ties are broken stably (the lower index goes first). Returned in increasing order.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> weakest_channels(base_cnn().layer("conv1"), 0.4).shape
    (2,)
    """
    norms = channel_l1_norms(layer)
    k = _removed_count(norms.size, fraction, layer.name)
    return np.sort(_smallest(norms, k))


def kept_channels(model, fractions) -> dict:
    """Output channels kept when each named layer loses its weakest ``fraction`` (by L1 norm).

    Each layer is ranked on its own current weights (Li et al.'s "independent" strategy).

    Parameters
    ----------
    model : efficientnn Sequential
    fractions : dict of layer name -> float in [0, 1), share of its output channels to remove

    Returns
    -------
    dict of layer name -> (kept,) int array of channel indices, increasing

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> {k: v.size for k, v in kept_channels(base_cnn(), {"conv1": 0.4, "fc1": 0.25}).items()}
    {'conv1': 3, 'fc1': 96}
    """
    check_model(model)
    if not isinstance(fractions, dict) or not fractions:
        raise ValueError(f"fractions must be a non-empty dict of layer name -> fraction, got {fractions!r}.")
    keep = {}
    for name, fraction in fractions.items():
        layer = _channel_layer(model, name)
        removed = weakest_channels(layer, fraction)
        keep[name] = np.setdiff1d(np.arange(layer.params[layer.out_channels_key].shape[-1]), removed)
    return keep


def _check_keep(model, keep):
    if not isinstance(keep, dict) or not keep:
        raise ValueError(f"keep must be a non-empty dict of layer name -> kept channel indices, got {keep!r}.")
    checked = {}
    for name, idx in keep.items():
        layer = _channel_layer(model, name)
        n = layer.params[layer.out_channels_key].shape[-1]
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
            raise ValueError(f"kept channels of {name} must be a non-empty 1-D list of ints, got {idx!r}.")
        if idx.min() < 0 or idx.max() >= n:
            raise ValueError(f"kept channels of {name} must lie in 0..{n - 1}, got {idx.tolist()}.")
        if np.unique(idx).size != idx.size:
            raise ValueError(f"kept channels of {name} repeat an index: {idx.tolist()}.")
        checked[name] = np.sort(idx).astype(np.int64)
    return checked


def _channel_plan(model, keep):
    """Per layer, the kept index along every axis of every parameter, and the surviving channels.

    Returns a list (one entry per layer) of dicts key -> tuple of index arrays (one per axis),
    to be used with ``np.ix_``. ``live`` tracks which channels (or flat features) of the current
    activation survive: None while all do.
    """
    plan = []
    live = None
    for layer in model.layers:
        axes = {key: [np.arange(d) for d in p.shape] for key, p in layer.params.items()}
        if live is not None:
            live = layer.prune_inputs(axes, live)
        if layer.out_channels_key:
            live = keep.get(layer.name)
            if live is not None:
                axes[layer.out_channels_key][-1] = live
                if "b" in axes:
                    axes["b"][0] = live
        plan.append({key: tuple(idx) for key, idx in axes.items()})
    return plan


def remove_channels(model, keep, name=None):
    """A new, smaller model holding only the kept output channels of the named layers.

    Each named layer loses the weights (and biases) of its removed output channels; the next
    layer with weights loses the inputs that read them, through ReLU, pooling and Flatten (for
    conv -> Flatten -> dense, the rows of the dense W at the NHWC-flattened positions of those
    channels; through a depthwise layer, its matching channels as well). Every other weight is
    copied unchanged, so the new model computes exactly what the original computes with those
    channels' outputs zeroed (see :func:`mask_channels`). ``model`` is not changed.

    Parameters
    ----------
    model : efficientnn Sequential
    keep : dict of layer name -> kept output channel indices (conv filters, dense units or
        separable filters; not the last layer with weights, whose outputs are the classes)
    name : str, the new model's name (default ``<model.name>_pruned``)

    Returns
    -------
    efficientnn Sequential; its ``profile()`` counts the smaller parameter and FLOP totals.
    Masks of the original (from magnitude pruning) are carried over, cut to the new shapes.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> small = remove_channels(base_cnn(), {"conv2": [0, 2]})
    >>> small.layer("conv2").output_shape, small.layer("fc1").params["W"].shape
    ((24, 24, 2), (1152, 128))
    """
    from ..models import Sequential

    check_model(model)
    keep = _check_keep(model, keep)
    plan = _channel_plan(model, keep)
    clones = []
    for layer in model.layers:
        n_out = keep[layer.name].size if layer.name in keep else None
        clones.append(layer.unbuilt_copy(n_out))
    small = Sequential(clones, model.input_shape, name=name or f"{model.name}_pruned")
    for layer, clone, axes in zip(model.layers, small.layers, plan):
        for key, p in layer.params.items():
            clone.params[key] = np.ascontiguousarray(p[np.ix_(*axes[key])])
        for key, mask in layer.masks.items():
            clone.masks[key] = np.ascontiguousarray(mask[np.ix_(*axes[key])])
    return small


def mask_channels(model, keep):
    """A copy of ``model`` with the removed channels zeroed instead of cut out.

    Zeroes (and masks, for fine-tuning) what :func:`remove_channels` would delete: the removed
    filters' weights and biases, and the next layer's weights that read them. The copy has the
    original shapes, so :func:`efficientnn.cost.profile` counts the same parameters and FLOPs as
    before: masking saves nothing until the zeros are cut out (:func:`nonzero_macs` sees them).

    Parameters
    ----------
    model : efficientnn Sequential
    keep : dict of layer name -> kept output channel indices, as for :func:`remove_channels`

    Returns
    -------
    efficientnn Sequential (a copy), with ``layer.masks`` set on the layers touched

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> masked = mask_channels(base_cnn(), {"conv2": [0, 2]})
    >>> int(np.count_nonzero(masked.layer("fc1").params["W"])) // 128
    1152
    """
    check_model(model)
    keep = _check_keep(model, keep)
    masked = model.copy()
    for layer, axes in zip(masked.layers, _channel_plan(masked, keep)):
        for key, p in layer.params.items():
            full = all(idx.size == d for idx, d in zip(axes[key], p.shape))
            if full:
                continue
            mask = np.zeros(p.shape, dtype=bool)
            mask[np.ix_(*axes[key])] = True
            old = layer.masks.get(key)
            _set_mask(layer, key, mask if old is None else mask & old)
    return masked


def prune_channels(model, fractions, name=None):
    """Structured L1 pruning: remove each named layer's weakest channels; return a smaller model.

    Parameters
    ----------
    model : efficientnn Sequential, usually trained
    fractions : dict of layer name -> float in [0, 1), share of its output channels to remove
        (``round(fraction * channels)``, at least one channel kept)
    name : str, the new model's name

    Returns
    -------
    small : efficientnn Sequential, a new model (``model`` is unchanged); fine-tune it afterwards
    keep : dict of layer name -> kept channel indices (in the original layer)

    Example
    -------
    >>> from efficientnn.cost import total_flops
    >>> from efficientnn.models import base_cnn
    >>> small, keep = prune_channels(base_cnn(), {"conv1": 0.4, "conv2": 0.4, "fc1": 0.5})
    >>> total_flops(small) < total_flops(base_cnn())
    True
    """
    keep = kept_channels(model, fractions)
    return remove_channels(model, keep, name=name), keep


def _out_channels(layer, arrays):
    """The output channels the new arrays give ``layer`` (None: unchanged or not its to set)."""
    key = layer.out_channels_key
    if not key or key not in arrays:
        return None
    return int(np.shape(arrays[key])[-1])


def model_with_weights(model, weights, name=None):
    """A new model like ``model`` whose named layers hold the given (possibly smaller) weights.

    The building block of structured pruning done by hand: cut the arrays with numpy, then let
    this function build the network they describe. A layer whose output-channel array (a conv's
    or dense layer's ``W``) has fewer channels gets that many filters or units; every shape is
    then checked, so a next layer left reading the removed channels is a clear error. Layers not
    named keep copies of their weights; masks are dropped. ``model`` is not changed.

    Parameters
    ----------
    model : efficientnn Sequential
    weights : dict of layer name -> dict of parameter name -> array, e.g.
        ``{"conv1": {"W": (3, 3, 1, 3), "b": (3,)}, "conv2": {"W": (3, 3, 3, 5)}}``
    name : str, the new model's name (default ``<model.name>_pruned``)

    Returns
    -------
    efficientnn Sequential

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> m = base_cnn()
    >>> c1, c2 = m.layer("conv1").params, m.layer("conv2").params
    >>> small = model_with_weights(m, {"conv1": {"W": c1["W"][..., :3], "b": c1["b"][:3]},
    ...                                "conv2": {"W": c2["W"][:, :, :3, :]}})
    >>> small.layer("conv1").output_shape, small.layer("conv2").params["W"].shape
    ((26, 26, 3), (3, 3, 3, 5))
    """
    from ..models import Sequential

    check_model(model)
    if not isinstance(weights, dict) or not weights:
        raise ValueError(f"weights must be a non-empty dict of layer name -> {{parameter: array}}, got {weights!r}.")
    for lname, arrays in weights.items():
        layer = _weighted_layer(model, lname)
        if not isinstance(arrays, dict) or not set(arrays) <= set(layer.params):
            raise ValueError(f"weights[{lname!r}] must be a dict with keys among {sorted(layer.params)}, got {arrays!r}.")
    clones = [layer.unbuilt_copy(_out_channels(layer, weights.get(layer.name, {}))) for layer in model.layers]
    small = Sequential(clones, model.input_shape, name=name or f"{model.name}_pruned")
    for layer, clone in zip(model.layers, small.layers):
        new = weights.get(layer.name, {})
        for key, built in clone.params.items():
            given = np.asarray(new.get(key, layer.params[key]))
            if given.shape != built.shape:
                source = "given" if key in new else "kept from the original"
                raise ValueError(
                    f"{layer.name}'s {key} ({source}) has shape {given.shape}, but in the new network "
                    f"{layer.name} needs {built.shape} (its input is now {clone.input_shape}); cut the arrays "
                    "that read removed channels too."
                )
            clone.params[key] = np.array(given, dtype=built.dtype)
    return small
