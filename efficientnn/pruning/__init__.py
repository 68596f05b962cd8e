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

Modules: :mod:`~efficientnn.pruning.masks` (sparsity, magnitude masks),
:mod:`~efficientnn.pruning.gradual` (Zhu & Gupta's schedule, sweeps),
:mod:`~efficientnn.pruning.structured` (removing channels),
:mod:`~efficientnn.pruning.sensitivity` (one layer at a time: what each can spare) and
:mod:`~efficientnn.pruning.reports` (what was saved). Every public name is importable from
``efficientnn.pruning`` itself; the plots live in :mod:`efficientnn.plots`.

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
>>> [l.params["W"].shape[-1] for l in small.layers if "W" in l.params]
[3, 5, 64, 10]
"""

from __future__ import annotations

from ..moved_plots import plot_forwarder
from . import gradual, masks, reports, sensitivity, structured
from .gradual import PruneStep, SweepPoint, gradual_prune, sparsity_sweep, zhu_gupta_sparsity
from .masks import (WEIGHT_KEYS, global_magnitude_masks, magnitude_mask, prunable_layers, prune_magnitude,
                    pruned_count, remove_masks, sparsity, weight_keys)
from .reports import (LayerSparsity, csr_bytes, dense_bytes, format_comparison, format_sparsity_report,
                      layer_sparsity, model_csr_bytes, model_dense_bytes, model_sparsity, nonzero_flops,
                      nonzero_macs, nonzero_params, sparsity_report)
from .sensitivity import choose_sparsities, layer_sensitivity, layer_weight_counts, total_sparsity
from .structured import (CHANNEL_PRUNABLE_KINDS, channel_l1_norms, kept_channels, mask_channels,
                         model_with_weights, prune_channels, remove_channels, weakest_channels)

_PLOTS = ("weight_histogram", "sparsity_accuracy_plot", "sensitivity_plot")
__all__ = [*masks.__all__, *gradual.__all__, *structured.__all__, *sensitivity.__all__, *reports.__all__, *_PLOTS]

# The plots moved to efficientnn.plots; notebooks still find them here.
__getattr__ = plot_forwarder(__name__, _PLOTS)
