"""The course's figures. Each function returns a matplotlib Figure (and draws nothing else).

matplotlib is imported inside each function so that importing efficientnn stays cheap.

Example
-------
>>> from efficientnn.models import base_cnn
>>> fig = flops_per_layer(base_cnn())
>>> len(fig.axes)
1
"""
from __future__ import annotations

import numpy as np

from .cost import profile

__all__ = ["flops_per_layer", "compare_models", "image_grid"]


def _plt():
    import matplotlib.pyplot as plt

    return plt


def flops_per_layer(model, ax=None, log=False):
    """Bar chart of FLOPs per layer (layers with no FLOPs left out), each bar labelled with its share.

    Parameters
    ----------
    model : Sequential
    ax : matplotlib Axes, optional
    log : bool, log scale for the FLOPs axis (useful when one layer dwarfs the rest)
    """
    plt = _plt()
    rows = [r for r in profile(model) if r.flops]
    total = sum(r.flops for r in rows)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.5))
    else:
        fig = ax.figure
    bars = ax.bar([r.name for r in rows], [r.flops for r in rows], color="#4c72b0")
    for bar, r in zip(bars, rows):
        ax.annotate(f"{r.flops / total:.0%}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("FLOPs per example")
    ax.set_title(f"{model.name}: FLOPs by layer (total {total:,})")
    if log:
        ax.set_yscale("log")
    fig.tight_layout()
    return fig


def compare_models(models, quantities=("params", "flops"), log=True):
    """Grouped bars of total params / MACs / FLOPs for several models, one panel per quantity.

    Parameters
    ----------
    models : list of Sequential
    quantities : names of LayerCost fields to total ("params", "macs", "flops")
    """
    plt = _plt()
    fig, axes = plt.subplots(1, len(quantities), figsize=(4 * len(quantities), 3.5), squeeze=False)
    names = [m.name for m in models]
    for ax, q in zip(axes[0], quantities):
        totals = [sum(getattr(r, q) for r in profile(m)) for m in models]
        bars = ax.bar(names, totals, color=["#4c72b0", "#dd8452", "#55a868", "#c44e52"][: len(models)])
        for bar, t in zip(bars, totals):
            ax.annotate(f"{t:,}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
        ax.set_title(f"total {q}")
        if log:
            ax.set_yscale("log")
        ax.tick_params(axis="x", labelrotation=20)
    fig.tight_layout()
    return fig


def image_grid(images, titles=None, cmap="gray", size=2.2):
    """Show a row of images side by side (e.g. a digit before and after pooling).

    Parameters
    ----------
    images : list of (H, W) or (H, W, 1) arrays; may differ in size
    titles : list of str, optional
    """
    plt = _plt()
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size), squeeze=False)
    for i, (ax, img) in enumerate(zip(axes[0], images)):
        img = np.asarray(img)
        ax.imshow(img[..., 0] if img.ndim == 3 else img, cmap=cmap)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles:
            ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig


def macs_by_input_size(make_model, sides, ax=None, log=True):
    """Line chart of each layer's MACs as the input image grows (assignment 01).

    Parameters
    ----------
    make_model : callable, side (int) -> Sequential whose input is side x side
    sides : list of int, the image sides (pixels) to try
    ax : matplotlib Axes, optional
    log : bool, log scale for the MACs axis

    Example
    -------
    >>> from efficientnn.layers import Conv2D, Flatten, Dense
    >>> from efficientnn.models import Sequential
    >>> fig = macs_by_input_size(lambda n: Sequential([Conv2D(2, 3), Flatten(), Dense(4)], (n, n, 1)), [8, 16])
    >>> len(fig.axes[0].lines)
    2
    """
    plt = _plt()
    sides = list(sides)
    if not sides:
        raise ValueError("sides is empty: give the image sides (pixels) to plot.")
    rows = [[r for r in profile(make_model(n)) if r.macs] for n in sides]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.5))
    else:
        fig = ax.figure
    for i, name in enumerate(r.name for r in rows[0]):
        ax.plot(sides, [row[i].macs for row in rows], marker="o", label=name)
    ax.set_xlabel("input side (pixels)")
    ax.set_ylabel("MACs per example")
    ax.set_title("MACs per layer as the input grows")
    ax.legend()
    if log:
        ax.set_yscale("log")
    fig.tight_layout()
    return fig


__all__ += ["macs_by_input_size"]


def _layer_key(name):
    # A separable or depthwise layer sits next to the convolution it replaces: sepconv1 <-> conv1.
    for prefix in ("sepconv", "dwconv"):
        if name.startswith(prefix):
            return "conv" + name[len(prefix):]
    return name


def compare_layers(models, quantity="flops", log=True, ax=None):
    """Grouped bars, one group per layer, one bar per model: where two models differ in cost.

    Layers are matched by name, a separable (or depthwise) layer with the convolution it replaces
    (``sepconv1`` with ``conv1``); a layer only one model has (``pool1``) gets a group of its own,
    in the order of the layers. Layers with no ``quantity`` in any model are left out.

    Parameters
    ----------
    models : list of Sequential
    quantity : "params", "macs" or "flops" (a field of :class:`efficientnn.cost.LayerCost`)
    log : bool, log scale (costs of one model's layers often differ by orders of magnitude)
    ax : matplotlib Axes, optional

    Example
    -------
    >>> from efficientnn.models import base_cnn, base_cnn_separable
    >>> fig = compare_layers([base_cnn(), base_cnn_separable()], "params")
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['conv1', 'conv2', 'fc1', 'fc2']
    """
    if quantity not in ("params", "macs", "flops"):
        raise ValueError(f'quantity must be "params", "macs" or "flops", got {quantity!r}.')
    models = list(models)
    if not models:
        raise ValueError("models is empty: give at least one model to compare.")
    plt = _plt()
    values = [{_layer_key(r.name): getattr(r, quantity) for r in profile(m)} for m in models]
    keys = []
    for m in models:
        previous = -1
        for key in (_layer_key(layer.name) for layer in m.layers):
            if key not in keys:
                keys.insert(previous + 1, key)
            previous = keys.index(key)
    keys = [k for k in keys if any(v.get(k, 0) for v in values)]
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(keys) * len(models) / 2 + 2), 3.6))
    else:
        fig = ax.figure
    width = 0.8 / len(models)
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"]
    for i, (m, vals) in enumerate(zip(models, values)):
        xs = [j + (i - (len(models) - 1) / 2) * width for j, k in enumerate(keys) if vals.get(k, 0)]
        ys = [vals[k] for k in keys if vals.get(k, 0)]
        bars = ax.bar(xs, ys, width, label=m.name, color=colours[i % len(colours)])
        for bar, y in zip(bars, ys):
            ax.annotate(f"{y:,}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=7, rotation=90 if len(models) > 2 else 0)
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(keys)
    label = {"params": "parameters", "macs": "MACs", "flops": "FLOPs"}[quantity]
    ax.set_ylabel(label if quantity == "params" else f"{label} per example")
    ax.set_title(f"{label} by layer")
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


__all__ += ["compare_layers"]


def storage_by_sparsity(shape, sparsities=None, ax=None, seed=0):
    """Bytes of one weight array stored densely and in CSR, against its sparsity.

    Random normal weights of ``shape`` are pruned by magnitude to each sparsity
    (:func:`efficientnn.pruning.magnitude_mask`) and measured with
    :func:`efficientnn.pruning.dense_bytes` and :func:`efficientnn.pruning.csr_bytes`. The dense
    size never changes; CSR pays 8 bytes per kept weight (value and column index), so it is
    smaller only once more than about half of the weights are zero.

    Parameters
    ----------
    shape : tuple of int, e.g. a dense layer's (inputs, units) or a conv's (kh, kw, Cin, Cout)
    sparsities : list of float in [0, 1), default 0, 0.1, ..., 0.9, 0.95 and 0.99
    ax : matplotlib Axes, optional
    seed : int, seed of the random weights

    Example
    -------
    >>> fig = storage_by_sparsity((2880, 128))
    >>> fig.axes[0].get_xlabel()
    'sparsity (% of weights removed)'
    """
    from .pruning import csr_bytes, dense_bytes, magnitude_mask

    plt = _plt()
    sparsities = [i / 10 for i in range(10)] + [0.95, 0.99] if sparsities is None else list(sparsities)
    if not sparsities:
        raise ValueError("sparsities is empty: give at least one sparsity.")
    w = np.random.default_rng(seed).standard_normal(tuple(shape)).astype(np.float32)
    csr = [csr_bytes(w * magnitude_mask(w, s)) for s in sparsities]
    dense = dense_bytes(w)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.4))
    else:
        fig = ax.figure
    xs = [100 * s for s in sparsities]
    csr_mb, dense_mb = np.array(csr) / 1e6, np.full(len(xs), dense / 1e6)
    ax.plot(xs, dense_mb, color="grey", label="dense (float32)")
    ax.plot(xs, csr_mb, "o-", color="tab:blue", ms=3, label="CSR (float32 values, int32 indices)")
    ax.fill_between(xs, csr_mb, dense_mb, where=csr_mb < dense_mb, interpolate=True, color="tab:green", alpha=0.15,
                    label="CSR saves memory")
    ax.set_xlabel("sparsity (% of weights removed)")
    ax.set_ylabel("megabytes (10^6 bytes)")
    ax.set_title(f"storing a {'x'.join(map(str, shape))} weight array", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


__all__ += ["storage_by_sparsity"]
