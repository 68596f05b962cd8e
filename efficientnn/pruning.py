"""Pruning: remove redundant weights, keep the accuracy, and measure what it saves.

Two kinds of pruning, and what each one really saves:

- **Unstructured (magnitude) pruning** zeroes the weights of smallest magnitude, one by one
  (Han et al. 2015). The model keeps its shape; a bool mask per weight array (``layer.masks``,
  True = kept) records what was removed, and :func:`efficientnn.train.fit` re-applies it after
  every optimizer step so pruned weights stay exactly zero while the rest fine-tune. The saving
  is in **memory**, once the weights are stored in a sparse format (:func:`csr_bytes`), and in
  **computation** only for an engine that skips the multiplications by zero (:func:`nonzero_macs`).
- **Structured (filter) pruning** removes whole convolution filters or dense units, ranked by
  the L1 norm of their weights (Li et al. 2017), with their output channels and the inputs of the
  next layer that read them (:func:`prune_channels`). The result is a genuinely smaller dense
  model: :func:`efficientnn.cost.profile` counts fewer parameters and FLOPs, and it runs faster on
  any engine.

Conventions
-----------
- **Weights** are the arrays pruning acts on: ``W`` (conv, depthwise, dense), ``dw_W`` and
  ``pw_W`` (separable). Biases are never pruned (there are few of them and each one is used by
  every output position).
- **Sparsity** of an array = ``zeros / elements``, a number in [0, 1]: 0.9 means 90% of the
  weights are zero, 10% are kept ("12x fewer weights" is sparsity 1 - 1/12 = 0.917).
  A model's sparsity is over all its weights together (biases excluded).
- **Pruning to sparsity s** removes exactly ``round(s * n)`` of the ``n`` weights concerned
  (Python's ``round``: an exact half goes to the even neighbour), those of smallest magnitude;
  among equal magnitudes the one that comes first (layer order, then C-order position) goes
  first, so the result never depends on how a sort happens to break ties.
- **FLOPs counting only nonzero weights**: a MAC with a zero weight is skipped, so a conv weight
  costs ``Ho * Wo`` MACs if it is nonzero and none if it is zero, a dense weight 1 or 0. Zero
  *activations* (after a ReLU) are still counted, as :mod:`efficientnn.cost` counts them. FLOPs
  = 2 x MACs; pooling FLOPs are unchanged by pruning.
- **Bytes** assume float32 values (4 bytes). The CSR (compressed sparse row) size of a weight
  array stores it as a matrix with one row per output channel (the last axis) and one column per
  input position (every other axis, flattened): ``4 * nnz`` bytes of values + ``4 * nnz`` bytes
  of int32 column indices + ``4 * (rows + 1)`` bytes of int32 row pointers. The indices double
  the cost of each kept weight, so CSR is smaller than dense only below about 50% density.

Example
-------
>>> from efficientnn.models import base_cnn
>>> model = prune_magnitude(base_cnn(), 0.9)
>>> round(model_sparsity(model), 3)
0.9
>>> small, kept = prune_channels(base_cnn(), {"conv1": 0.4, "fc1": 0.5})
>>> [l.params["W"].shape[-1] for l in small.layers if l.kind in ("conv", "dense")]
[3, 5, 64, 10]
"""
from __future__ import annotations

import copy as _copy
import math
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = [
    # sparsity and masks
    "sparsity",
    "weight_keys",
    "prunable_layers",
    "pruned_count",
    "magnitude_mask",
    "global_magnitude_masks",
    "prune_magnitude",
    "remove_masks",
    # gradual pruning
    "zhu_gupta_sparsity",
    "PruneStep",
    "gradual_prune",
    "SweepPoint",
    "sparsity_sweep",
    # structured pruning
    "channel_l1_norms",
    "weakest_channels",
    "kept_channels",
    "remove_channels",
    "mask_channels",
    "prune_channels",
    # reports
    "LayerSparsity",
    "sparsity_report",
    "format_sparsity_report",
    "format_comparison",
    "layer_sparsity",
    "model_sparsity",
    "nonzero_params",
    "nonzero_macs",
    "nonzero_flops",
    "dense_bytes",
    "csr_bytes",
    "model_dense_bytes",
    "model_csr_bytes",
    # plots
    "weight_histogram",
    "sparsity_accuracy_plot",
]

#: Parameter names that hold weights (pruned); every other parameter is a bias (never pruned).
WEIGHT_KEYS = ("W", "dw_W", "pw_W")
#: Layer kinds whose output channels structured pruning can remove.
CHANNEL_PRUNABLE_KINDS = ("conv", "separable", "dense")
_VALUE_BYTES = 4  # float32
_INDEX_BYTES = 4  # int32


# =========================================================================== input checks
def _check_model(model):
    if not hasattr(model, "layers") or not hasattr(model, "layer"):
        raise ValueError(f"expected an efficientnn Sequential model, got {type(model).__name__}.")
    return model


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


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive whole number, got {value!r}.")
    return int(value)


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


# =========================================================================== sparsity and masks
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
    return [layer for layer in _check_model(model).layers if weight_keys(layer)]


def pruned_count(size, sparsity) -> int:
    """How many of ``size`` weights pruning to ``sparsity`` removes: ``round(sparsity * size)``.

    Python's ``round`` sends an exact half to the even neighbour (``round(2.5) == 2``).

    Example
    -------
    >>> pruned_count(368640, 0.9)
    331776
    """
    size = _positive_int(size, "size")
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
    _check_model(model)
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
    for layer in _check_model(model).layers:
        layer.masks = {}
    return model


# =========================================================================== gradual pruning
def zhu_gupta_sparsity(step, final_sparsity, n_steps, initial_sparsity=0.0, start_step=0, step_interval=1) -> float:
    """Target sparsity at ``step`` on Zhu & Gupta's (2017) cubic schedule.

    ``s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt))**3`` for ``t0 <= t <= t0 + n * dt``;
    ``s_i`` before ``t0`` and ``s_f`` after. It prunes fast while many redundant weights remain
    and slowly near the end, when each removal hurts more.

    Parameters
    ----------
    step : int, t (here: pruning steps, each followed by fine-tuning)
    final_sparsity : float in [0, 1), s_f
    n_steps : int, n, pruning steps from s_i to s_f
    initial_sparsity : float in [0, 1), s_i
    start_step : int, t0
    step_interval : int, dt, steps between two prunings

    Example
    -------
    >>> [round(zhu_gupta_sparsity(t, 0.9, 4), 4) for t in range(5)]
    [0.0, 0.5203, 0.7875, 0.8859, 0.9]
    """
    s_f = _check_sparsity(final_sparsity, "final_sparsity")
    s_i = _check_sparsity(initial_sparsity, "initial_sparsity")
    n = _positive_int(n_steps, "n_steps")
    dt = _positive_int(step_interval, "step_interval")
    for value, what in ((step, "step"), (start_step, "start_step")):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{what} must be a whole number, got {value!r}.")
    progress = min(max((step - start_step) / (n * dt), 0.0), 1.0)
    return s_f + (s_i - s_f) * (1.0 - progress) ** 3


@dataclass(frozen=True)
class PruneStep:
    """One step of :func:`gradual_prune`.

    Attributes
    ----------
    step : int, 1..n_steps, then n_steps + 1 for the final fine-tuning (if any)
    sparsity : float, the model's sparsity after the step (zeros / weights)
    accuracy : float or None, on (x_val, y_val) after the step's fine-tuning; None without data
    epochs : int, fine-tuning epochs run in the step
    """

    step: int
    sparsity: float
    accuracy: float | None
    epochs: int


def _finetune(model, x, y, epochs, lr, batch_size, seed, progress):
    from .train import Adam, fit

    if epochs:
        fit(model, x, y, epochs=epochs, batch_size=batch_size, optimizer=Adam(lr=lr), seed=seed, progress=progress)


def _accuracy(model, x, y):
    from .train import accuracy

    return None if x is None else accuracy(model, x, y)


def gradual_prune(
    model,
    final_sparsity,
    x,
    y,
    n_steps=4,
    epochs_per_step=1,
    final_epochs=0,
    initial_sparsity=0.0,
    scope="global",
    lr=5e-4,
    batch_size=64,
    seed=0,
    x_val=None,
    y_val=None,
    progress=False,
):
    """Prune ``model`` in place to ``final_sparsity`` in ``n_steps`` steps, fine-tuning after each.

    Step t = 1..n prunes by magnitude to :func:`zhu_gupta_sparsity` ``(t, final_sparsity,
    n_steps, initial_sparsity)`` (t0 = 0, dt = 1) and trains ``epochs_per_step`` epochs with the
    masks held; ``final_epochs`` more epochs follow the last step.

    Parameters
    ----------
    model : efficientnn Sequential, trained
    final_sparsity : float in [0, 1)
    x, y : training data, (N, *input_shape) float32 and (N,) int
    n_steps, epochs_per_step, final_epochs : int
    initial_sparsity : float in [0, 1), s_i
    scope : "global" or "layer", see :func:`prune_magnitude`
    lr : float, Adam learning rate for fine-tuning
    batch_size, seed : passed to :func:`efficientnn.train.fit`
    x_val, y_val : optional held-out data, scored after each step
    progress : bool, show training progress bars

    Returns
    -------
    list of :class:`PruneStep`

    Example
    -------
    >>> steps = gradual_prune(model, 0.9, x_train, y_train, x_val=x_test, y_val=y_test)  # doctest: +SKIP
    >>> [round(s.sparsity, 3) for s in steps]                                            # doctest: +SKIP
    [0.52, 0.787, 0.886, 0.9]
    """
    n_steps = _positive_int(n_steps, "n_steps")
    for value, what in ((epochs_per_step, "epochs_per_step"), (final_epochs, "final_epochs")):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{what} must be a whole number >= 0, got {value!r}.")
    if (x_val is None) != (y_val is None):
        raise ValueError("give both x_val and y_val, or neither.")
    steps = []
    for t in range(1, n_steps + 1):
        target = zhu_gupta_sparsity(t, final_sparsity, n_steps, initial_sparsity)
        prune_magnitude(model, target, scope=scope)
        _finetune(model, x, y, epochs_per_step, lr, batch_size, seed + t, progress)
        steps.append(PruneStep(t, model_sparsity(model), _accuracy(model, x_val, y_val), epochs_per_step))
    if final_epochs:
        _finetune(model, x, y, final_epochs, lr, batch_size, seed + n_steps + 1, progress)
        steps.append(PruneStep(n_steps + 1, model_sparsity(model), _accuracy(model, x_val, y_val), final_epochs))
    return steps


@dataclass(frozen=True)
class SweepPoint:
    """Accuracy of a model pruned in one shot to ``sparsity``, before and after fine-tuning.

    Attributes
    ----------
    sparsity : float, target (and achieved) sparsity of the weights
    accuracy : float in [0, 1], right after pruning, no retraining
    accuracy_finetuned : float in [0, 1], after ``epochs`` of fine-tuning with the masks held
    epochs : int
    """

    sparsity: float
    accuracy: float
    accuracy_finetuned: float
    epochs: int


def sparsity_sweep(model, sparsities, x_train, y_train, x_test, y_test, epochs=2, scope="global", lr=5e-4,
                   batch_size=64, seed=0, progress=False):
    """Prune copies of a trained ``model`` to each sparsity; score them before and after fine-tuning.

    ``model`` itself is not changed.

    Parameters
    ----------
    model : efficientnn Sequential, trained
    sparsities : iterable of floats in [0, 1)
    x_train, y_train : data for fine-tuning
    x_test, y_test : data for scoring
    epochs : int >= 0, fine-tuning epochs per sparsity
    scope, lr, batch_size, seed : as for :func:`gradual_prune`

    Returns
    -------
    list of :class:`SweepPoint`, in the order of ``sparsities``

    Example
    -------
    >>> points = sparsity_sweep(model, [0, 0.5, 0.9], x_train, y_train, x_test, y_test)  # doctest: +SKIP
    >>> sparsity_accuracy_plot(points)                                                 # doctest: +SKIP
    """
    sparsities = [_check_sparsity(s) for s in sparsities]
    if not sparsities:
        raise ValueError("sparsities is empty: give at least one sparsity to try.")
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 0:
        raise ValueError(f"epochs must be a whole number >= 0, got {epochs!r}.")
    points = []
    for s in sparsities:
        pruned = prune_magnitude(model.copy(), s, scope=scope)
        before = _accuracy(pruned, x_test, y_test)
        _finetune(pruned, x_train, y_train, int(epochs), lr, batch_size, seed, progress)
        points.append(SweepPoint(s, before, _accuracy(pruned, x_test, y_test), int(epochs)))
    return points


# =========================================================================== structured pruning
def _out_key(layer):
    """The weight array whose last axis holds the layer's output channels."""
    return "pw_W" if layer.kind == "separable" else "W"


def _channel_layer(model, name):
    layer = _weighted_layer(model, name)
    if layer.kind not in CHANNEL_PRUNABLE_KINDS:
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
    if getattr(layer, "kind", None) not in CHANNEL_PRUNABLE_KINDS or not layer.params:
        raise ValueError(
            f"channel_l1_norms needs a built layer of kind {CHANNEL_PRUNABLE_KINDS}, got {layer!r}."
        )
    w = np.abs(layer.params[_out_key(layer)].astype(np.float64))
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
    _check_model(model)
    if not isinstance(fractions, dict) or not fractions:
        raise ValueError(f"fractions must be a non-empty dict of layer name -> fraction, got {fractions!r}.")
    keep = {}
    for name, fraction in fractions.items():
        layer = _channel_layer(model, name)
        removed = weakest_channels(layer, fraction)
        keep[name] = np.setdiff1d(np.arange(layer.params[_out_key(layer)].shape[-1]), removed)
    return keep


def _check_keep(model, keep):
    if not isinstance(keep, dict) or not keep:
        raise ValueError(f"keep must be a non-empty dict of layer name -> kept channel indices, got {keep!r}.")
    checked = {}
    for name, idx in keep.items():
        layer = _channel_layer(model, name)
        n = layer.params[_out_key(layer)].shape[-1]
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
        kind = layer.kind
        if live is not None:
            if kind in ("conv", "dense"):
                axes["W"][-2] = live
            elif kind == "separable":
                m = layer.depth_multiplier
                axes["dw_W"][2] = live
                axes["pw_W"][2] = (live[:, None] * m + np.arange(m)).ravel()
            elif kind == "depthwise":
                # Output channel c*M + m reads input channel c: the removal flows through.
                m = layer.depth_multiplier
                axes["W"][2] = live
                live = (live[:, None] * m + np.arange(m)).ravel()
                if "b" in axes:
                    axes["b"][0] = live
            elif kind == "flatten":
                # NHWC C-order flattening: feature (h*W + w)*C + c reads channel c.
                h, w, c = layer.input_shape
                live = (np.arange(h * w)[:, None] * c + live[None, :]).ravel()
        if kind in ("conv", "dense", "separable"):
            live = keep.get(layer.name)
            if live is not None:
                axes[_out_key(layer)][-1] = live
                if "b" in axes:
                    axes["b"][0] = live
        plan.append({key: tuple(idx) for key, idx in axes.items()})
    return plan


def _fresh_like(layer, out_channels):
    """An unbuilt copy of ``layer`` with the same settings and ``out_channels`` outputs."""
    clone = _copy.copy(layer)
    clone.params, clone.grads, clone.masks, clone._cache = {}, {}, {}, None
    clone.input_shape = clone.output_shape = None
    if out_channels is not None:
        setattr(clone, "units" if layer.kind == "dense" else "filters", int(out_channels))
    return clone


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
    from .models import Sequential

    _check_model(model)
    keep = _check_keep(model, keep)
    plan = _channel_plan(model, keep)
    clones = []
    for layer in model.layers:
        n_out = keep[layer.name].size if layer.name in keep else None
        clones.append(_fresh_like(layer, n_out))
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
    _check_model(model)
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


# =========================================================================== reports
def dense_bytes(weights, value_bytes=_VALUE_BYTES) -> int:
    """Bytes of an array stored densely: ``elements * value_bytes`` (4 for float32).

    Example
    -------
    >>> dense_bytes(np.zeros((2880, 128), np.float32))
    1474560
    """
    return int(np.asarray(weights).size) * _positive_int(value_bytes, "value_bytes")


def _as_matrix(weights):
    """One row per output channel (last axis), one column per input position (the other axes)."""
    w = np.asarray(weights)
    if w.ndim == 0:
        raise ValueError("weights must be an array with at least one axis, got a scalar.")
    return w.reshape(-1, w.shape[-1]).T if w.ndim > 1 else w.reshape(1, -1)


def csr_bytes(weights, value_bytes=_VALUE_BYTES, index_bytes=_INDEX_BYTES) -> int:
    """Bytes of an array stored in CSR (compressed sparse row) format.

    ``nnz * value_bytes`` (the kept values) ``+ nnz * index_bytes`` (their column indices)
    ``+ (rows + 1) * index_bytes`` (where each row starts). The matrix has one row per output
    channel (the last axis) and one column per input position. With float32 values and int32
    indices each kept weight costs 8 bytes instead of 4: CSR wins only below ~50% density.

    Parameters
    ----------
    weights : array, e.g. a conv's (kh, kw, Cin, Cout) (-> Cout rows of kh*kw*Cin columns) or a
        dense (in, units) (-> units rows of in columns); a 1-D array is one row
    value_bytes, index_bytes : int, 4 and 4 for float32 values and int32 indices

    Example
    -------
    >>> w = np.zeros((2880, 128), np.float32); w[:288] = 1.0   # 10% kept
    >>> csr_bytes(w), dense_bytes(w)
    (295428, 1474560)
    """
    matrix = _as_matrix(_check_weights(weights))
    nnz = int(np.count_nonzero(matrix))
    value_bytes = _positive_int(value_bytes, "value_bytes")
    index_bytes = _positive_int(index_bytes, "index_bytes")
    return nnz * (value_bytes + index_bytes) + (matrix.shape[0] + 1) * index_bytes


def _uses_per_weight(layer):
    """MACs each nonzero weight costs per example: every output position for a conv, once for dense."""
    if layer.kind == "dense":
        return 1
    ho, wo = layer.output_shape[:2]
    return ho * wo


@dataclass(frozen=True)
class LayerSparsity:
    """What pruning left of one layer.

    Attributes
    ----------
    name, kind : str
    weights : int, elements of its weight arrays (W, dw_W, pw_W); 0 for layers without weights
    zero_weights : int, how many of them are zero
    params : int, all parameters (biases included), as :func:`efficientnn.cost.profile` counts them
    nonzero_params : int, parameters that are not zero
    dense_bytes : int, float32 bytes of all parameters stored densely (4 * params)
    csr_bytes : int, weights in CSR with int32 indices plus biases stored densely
    macs, flops : int, per example, counted as :func:`efficientnn.cost.profile` counts them (every weight)
    nonzero_macs, nonzero_flops : int, per example, skipping every MAC with a zero weight
    """

    name: str
    kind: str
    weights: int
    zero_weights: int
    params: int
    nonzero_params: int
    dense_bytes: int
    csr_bytes: int
    macs: int
    flops: int
    nonzero_macs: int
    nonzero_flops: int

    @property
    def sparsity(self) -> float:
        """``zero_weights / weights``; nan for a layer without weights."""
        return self.zero_weights / self.weights if self.weights else math.nan


def _layer_row(layer, cost):
    keys = weight_keys(layer)
    weights = sum(layer.params[k].size for k in keys)
    nonzero_w = sum(int(np.count_nonzero(layer.params[k])) for k in keys)
    nonzero_p = sum(int(np.count_nonzero(p)) for p in layer.params.values())
    n_params = sum(p.size for p in layer.params.values())
    csr = sum(csr_bytes(layer.params[k]) if k in keys else dense_bytes(p) for k, p in layer.params.items())
    nz_macs = nonzero_w * _uses_per_weight(layer) if keys else cost.macs
    return LayerSparsity(
        name=layer.name,
        kind=layer.kind,
        weights=int(weights),
        zero_weights=int(weights - nonzero_w),
        params=int(n_params),
        nonzero_params=nonzero_p,
        dense_bytes=int(n_params) * _VALUE_BYTES,
        csr_bytes=int(csr),
        macs=int(cost.macs),
        flops=int(cost.flops),
        nonzero_macs=int(nz_macs),
        # Only weight MACs shrink; pooling FLOPs (no weights) stay as counted.
        nonzero_flops=int(cost.flops - 2 * (cost.macs - nz_macs)),
    )


def sparsity_report(model) -> list:
    """One :class:`LayerSparsity` row per layer of ``model``, in order.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> rows = sparsity_report(prune_magnitude(base_cnn(), {"fc1": 0.9}))
    >>> [r.name for r in rows if r.weights and r.sparsity > 0]
    ['fc1']
    """
    from .cost import profile

    _check_model(model)
    costs = {c.name: c for c in profile(model)}
    return [_layer_row(layer, costs[layer.name]) for layer in model.layers]


def layer_sparsity(model) -> dict:
    """Sparsity of each layer's weights: dict of layer name -> zeros / weights (layers with weights only).

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> {k: round(v, 3) for k, v in layer_sparsity(prune_magnitude(base_cnn(), 0.9)).items()}
    {'conv1': 0.022, 'conv2': 0.156, 'fc1': 0.903, 'fc2': 0.249}
    """
    return {r.name: r.sparsity for r in sparsity_report(model) if r.weights}


def model_sparsity(model) -> float:
    """Sparsity of all the model's weights together (biases excluded): zeros / weights.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> model_sparsity(prune_magnitude(base_cnn(), 0.5)) == round(0.5 * 370190) / 370190
    True
    """
    rows = [r for r in sparsity_report(model) if r.weights]
    if not rows:
        raise ValueError(f"model {model.name} has no weights.")
    return sum(r.zero_weights for r in rows) / sum(r.weights for r in rows)


def nonzero_params(model) -> int:
    """Parameters (weights and biases) that are not zero: what a sparse format must store.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> nonzero_params(base_cnn())   # the 148 biases start at zero
    370190
    """
    return sum(r.nonzero_params for r in sparsity_report(model))


def nonzero_macs(model) -> int:
    """MACs per example when every MAC with a zero weight is skipped.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> nonzero_macs(base_cnn()), nonzero_macs(prune_magnitude(base_cnn(), 0.9))
    (529940, 175969)
    """
    return sum(r.nonzero_macs for r in sparsity_report(model))


def nonzero_flops(model) -> int:
    """FLOPs per example when every MAC with a zero weight is skipped (2 per MAC, plus pooling).

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> nonzero_flops(prune_magnitude(base_cnn(), 0.9))
    351938
    """
    return sum(r.nonzero_flops for r in sparsity_report(model))


def model_dense_bytes(model) -> int:
    """Bytes of all parameters stored densely as float32: 4 x params.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> model_dense_bytes(base_cnn())
    1481352
    """
    return sum(r.dense_bytes for r in sparsity_report(model))


def model_csr_bytes(model) -> int:
    """Bytes with every weight array in CSR (float32 values, int32 indices) and biases dense.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> model_csr_bytes(prune_magnitude(base_cnn(), 0.9))   # 5.0x fewer than 1,481,352 dense
    297352
    """
    return sum(r.csr_bytes for r in sparsity_report(model))


def format_sparsity_report(rows, title=None) -> str:
    """A text table of :func:`sparsity_report` rows with a total line.

    Columns: layer, kind, weights, sparsity, params kept, dense and CSR bytes, FLOPs counted by
    ``profile()`` and FLOPs with zero-weight MACs skipped.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> print(format_sparsity_report(sparsity_report(base_cnn())))  # doctest: +SKIP
    """
    rows = list(rows)
    header = (f"{'layer':<10}{'kind':<10}{'weights':>10}{'sparsity':>10}{'params':>10}{'nonzero':>10}"
              f"{'dense B':>11}{'CSR B':>11}{'FLOPs':>11}{'nz FLOPs':>11}")
    line = "-" * len(header)
    out = [title] if title else []
    out += [header, line]
    for r in rows:
        sp = f"{r.sparsity:.1%}" if r.weights else "-"
        out.append(f"{r.name:<10}{r.kind:<10}{r.weights:>10,}{sp:>10}{r.params:>10,}{r.nonzero_params:>10,}"
                   f"{r.dense_bytes:>11,}{r.csr_bytes:>11,}{r.flops:>11,}{r.nonzero_flops:>11,}")
    weights = sum(r.weights for r in rows)
    zeros = sum(r.zero_weights for r in rows)
    sp = f"{zeros / weights:.1%}" if weights else "-"
    out += [line, f"{'total':<20}{weights:>10,}{sp:>10}{sum(r.params for r in rows):>10,}"
                  f"{sum(r.nonzero_params for r in rows):>10,}{sum(r.dense_bytes for r in rows):>11,}"
                  f"{sum(r.csr_bytes for r in rows):>11,}{sum(r.flops for r in rows):>11,}"
                  f"{sum(r.nonzero_flops for r in rows):>11,}"]
    return "\n".join(out)


def format_comparison(before, after, labels=("before", "after")) -> str:
    """A text table of what pruning saved: params, bytes and FLOPs of two models, with ratios.

    Rows: params (as ``profile()`` counts them), nonzero params, dense bytes (float32), CSR bytes
    (int32 indices), FLOPs (``profile()``, every MAC) and FLOPs with zero-weight MACs skipped.

    Parameters
    ----------
    before, after : efficientnn Sequential models (e.g. the dense one and its pruned version)
    labels : (str, str), column titles

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> print(format_comparison(base_cnn(), prune_magnitude(base_cnn(), 0.9)))  # doctest: +SKIP
    """
    from .cost import total_flops, total_params

    rows = [
        ("params", total_params),
        ("nonzero params", nonzero_params),
        ("dense bytes", model_dense_bytes),
        ("CSR bytes", model_csr_bytes),
        ("FLOPs", total_flops),
        ("FLOPs, zero MACs skipped", nonzero_flops),
    ]
    a_label, b_label = labels
    head = f"{'':<26}{a_label:>14}{b_label:>14}{'before/after':>14}"
    out = [head, "-" * len(head)]
    for name, measure in rows:
        a, b = measure(before), measure(after)
        ratio = f"{a / b:.2f}x" if b else "-"
        out.append(f"{name:<26}{a:>14,}{b:>14,}{ratio:>14}")
    return "\n".join(out)


# =========================================================================== plots (for the notebook)
# matplotlib is imported inside each function so that the package imports without it.
def _new_axes(ax, n=1, figsize=None):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, [ax]
    fig, axes = plt.subplots(1, n, figsize=figsize or (4.0 * n, 3.2), squeeze=False)
    return fig, list(axes[0])


def weight_histogram(model, layers=None, bins=60, log=True, ax=None):
    """Histogram of each layer's kept (nonzero) weights: pruning carves out the middle.

    Parameters
    ----------
    model : efficientnn Sequential
    layers : list of layer names, default every layer with weights (one panel each)
    bins : int, histogram bins per panel
    log : bool, logarithmic count axis (the few large weights stay visible)
    ax : matplotlib Axes or None; with an Axes, ``layers`` must name one layer

    Returns
    -------
    matplotlib Figure

    Example
    -------
    >>> fig = weight_histogram(prune_magnitude(base_cnn(), 0.9), layers=["fc1"])  # doctest: +SKIP
    """
    _check_model(model)
    chosen = prunable_layers(model) if layers is None else [_weighted_layer(model, n) for n in layers]
    if ax is not None and len(chosen) != 1:
        raise ValueError(f"with ax given, name exactly one layer in layers; got {[l.name for l in chosen]}.")
    bins = _positive_int(bins, "bins")
    fig, axes = _new_axes(ax, len(chosen))
    for a, layer in zip(axes, chosen):
        w = np.concatenate([layer.params[k].ravel() for k in weight_keys(layer)])
        kept = w[w != 0]
        a.hist(kept, bins=bins, color="tab:blue", log=log)
        a.set_title(f"{layer.name}: {kept.size:,} of {w.size:,} kept ({1 - kept.size / w.size:.0%} pruned)",
                    fontsize=9)
        a.set_xlabel("weight value")
        a.set_ylabel("count")
    fig.tight_layout()
    return fig


def _field(point, name):
    return point[name] if isinstance(point, dict) else getattr(point, name)


def sparsity_accuracy_plot(results, dense_accuracy=None, tolerance=None, title=None, ax=None):
    """Test accuracy against sparsity, without and (if measured) with fine-tuning.

    Parameters
    ----------
    results : list of :class:`SweepPoint` (from :func:`sparsity_sweep`) or of dicts with keys
        "sparsity", "accuracy" and optionally "accuracy_finetuned"
    dense_accuracy : float or None, draw the unpruned model's accuracy as a line
    tolerance : float or None, shade ``dense_accuracy - tolerance`` .. ``dense_accuracy``
        (e.g. 0.01 for "within 1 point")
    title : str or None
    ax : matplotlib Axes or None (a new figure)

    Returns
    -------
    matplotlib Figure

    Example
    -------
    >>> fig = sparsity_accuracy_plot(sparsity_sweep(model, [0, .5, .9], x, y, xt, yt))  # doctest: +SKIP
    """
    results = list(results)
    if not results:
        raise ValueError("results is empty: nothing to plot.")
    try:
        s = np.array([_field(p, "sparsity") for p in results], dtype=float) * 100
        acc = np.array([_field(p, "accuracy") for p in results], dtype=float) * 100
    except (KeyError, AttributeError) as err:
        raise ValueError(f"each result needs 'sparsity' and 'accuracy', missing {err}.") from None
    tuned = [_field(p, "accuracy_finetuned") if (isinstance(p, dict) and "accuracy_finetuned" in p)
             or hasattr(p, "accuracy_finetuned") else None for p in results]
    fig, (a,) = _new_axes(ax, figsize=(5.5, 3.6))
    a.plot(s, acc, "o--", color="tab:red", label="pruned, no fine-tuning")
    if all(t is not None for t in tuned):
        a.plot(s, np.array(tuned, dtype=float) * 100, "o-", color="tab:blue", label="pruned + fine-tuned")
    if dense_accuracy is not None:
        a.axhline(dense_accuracy * 100, color="grey", lw=1, label="dense model")
        if tolerance is not None:
            points = tolerance * 100
            a.axhspan(dense_accuracy * 100 - points, dense_accuracy * 100, color="grey", alpha=0.15,
                      label=f"within {points:g} point{'' if points == 1 else 's'}")
    a.set_xlabel("sparsity (% of weights removed)")
    a.set_ylabel("test accuracy (%)")
    if title:
        a.set_title(title, fontsize=9)
    a.grid(alpha=0.3)
    a.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig
