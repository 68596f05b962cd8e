"""What pruning saved: per-layer sparsity, nonzero parameters and MACs, dense and CSR bytes, tables.

Example
-------
>>> import numpy as np
>>> w = np.zeros((2880, 128), np.float32); w[:288] = 1.0   # 10% kept
>>> csr_bytes(w), dense_bytes(w)
(295428, 1474560)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..validation import check_model, positive_int
from .masks import _check_weights, weight_keys

__all__ = [
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
]

_VALUE_BYTES = 4  # float32
_INDEX_BYTES = 4  # int32


def dense_bytes(weights, value_bytes=_VALUE_BYTES) -> int:
    """Bytes of an array stored densely: ``elements * value_bytes`` (4 for float32).

    Example
    -------
    >>> dense_bytes(np.zeros((2880, 128), np.float32))
    1474560
    """
    return int(np.asarray(weights).size) * positive_int(value_bytes, "value_bytes")


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
    value_bytes = positive_int(value_bytes, "value_bytes")
    index_bytes = positive_int(index_bytes, "index_bytes")
    return nnz * (value_bytes + index_bytes) + (matrix.shape[0] + 1) * index_bytes


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
    nz_macs = nonzero_w * layer.macs_per_weight() if keys else cost.macs
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
    >>> from efficientnn.pruning import prune_magnitude
    >>> rows = sparsity_report(prune_magnitude(base_cnn(), {"fc1": 0.9}))
    >>> [r.name for r in rows if r.weights and r.sparsity > 0]
    ['fc1']
    """
    from ..cost import profile

    check_model(model)
    costs = {c.name: c for c in profile(model)}
    return [_layer_row(layer, costs[layer.name]) for layer in model.layers]


def layer_sparsity(model) -> dict:
    """Sparsity of each layer's weights: dict of layer name -> zeros / weights (layers with weights only).

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> from efficientnn.pruning import prune_magnitude
    >>> {k: round(v, 3) for k, v in layer_sparsity(prune_magnitude(base_cnn(), 0.9)).items()}
    {'conv1': 0.022, 'conv2': 0.156, 'fc1': 0.903, 'fc2': 0.249}
    """
    return {r.name: r.sparsity for r in sparsity_report(model) if r.weights}


def model_sparsity(model) -> float:
    """Sparsity of all the model's weights together (biases excluded): zeros / weights.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> from efficientnn.pruning import prune_magnitude
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
    >>> from efficientnn.pruning import prune_magnitude
    >>> nonzero_macs(base_cnn()), nonzero_macs(prune_magnitude(base_cnn(), 0.9))
    (529940, 175969)
    """
    return sum(r.nonzero_macs for r in sparsity_report(model))


def nonzero_flops(model) -> int:
    """FLOPs per example when every MAC with a zero weight is skipped (2 per MAC, plus pooling).

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> from efficientnn.pruning import prune_magnitude
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
    >>> from efficientnn.pruning import prune_magnitude
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
    >>> from efficientnn.pruning import prune_magnitude
    >>> print(format_comparison(base_cnn(), prune_magnitude(base_cnn(), 0.9)))  # doctest: +SKIP
    """
    from ..cost import total_flops, total_params

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
