"""The course's figures. Each function returns a matplotlib Figure (and draws nothing else).

Every figure takes an optional matplotlib ``ax`` (through one helper, :func:`_axes`) and uses one
palette, :data:`PALETTE`, with a colour per layer kind (:func:`kind_colour`). The pruning and
OpenVINO figures are also importable from :mod:`efficientnn.pruning` and
:mod:`efficientnn.openvino_timing`, where they used to live. matplotlib is imported inside each
function so that importing efficientnn stays cheap.

Example
-------
>>> from efficientnn.models import base_cnn
>>> fig = flops_per_layer(base_cnn())
>>> len(fig.axes)
1
>>> kind_colour("conv") == PALETTE[0]
True
"""
from __future__ import annotations

import numpy as np

from .cost import profile
from .validation import check_model, positive_int

__all__ = [
    "PALETTE",
    "kind_colour",
    "flops_per_layer",
    "macs_by_input_size",
    "compare_layers",
    "image_grid",
    "storage_by_sparsity",
    "weight_histogram",
    "sparsity_accuracy_plot",
    "sensitivity_plot",
    "layer_times_plot",
    "predicted_vs_measured_plot",
    "roofline_plot",
    "roofline_shift_plot",
]

#: The course's colours, in the order series and layer kinds take them (seaborn's "deep").
PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#ccb974", "#64b5cd")
#: Reference lines, shading and notes.
GREY = "#8c8c8c"


def _axes(ax, figsize, n=1):
    """``(figure, [axes])``: the given Axes and its figure, or a new figure of ``n`` panels in a row."""
    if ax is not None:
        return ax.figure, [ax]
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n, figsize=figsize, squeeze=False)
    return fig, list(axes[0])


def kind_colour(kind):
    """The colour of a layer kind: the kinds take :data:`PALETTE` in the order they are defined.

    Anything else (a node OpenVINO inserted, such as a ``reorder``) is grey.
    """
    from .layers import LAYER_CLASSES

    kinds = list(LAYER_CLASSES)
    return PALETTE[kinds.index(kind) % len(PALETTE)] if kind in kinds else GREY


# --------------------------------------------------------------------------- cost
def flops_per_layer(model, ax=None, log=False):
    """Bar chart of FLOPs per layer (layers with no FLOPs left out), each bar labelled with its share.

    Parameters
    ----------
    model : Sequential
    ax : matplotlib Axes, optional
    log : bool, log scale for the FLOPs axis (useful when one layer dwarfs the rest)
    """
    rows = [r for r in profile(model) if r.flops]
    total = sum(r.flops for r in rows)
    fig, (ax,) = _axes(ax, (7, 3.5))
    bars = ax.bar([r.name for r in rows], [r.flops for r in rows], color=PALETTE[0])
    for bar, r in zip(bars, rows):
        ax.annotate(f"{r.flops / total:.0%}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("FLOPs per example")
    ax.set_title(f"{model.name}: FLOPs by layer (total {total:,})")
    if log:
        ax.set_yscale("log")
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
    sides = list(sides)
    if not sides:
        raise ValueError("sides is empty: give the image sides (pixels) to plot.")
    rows = [[r for r in profile(make_model(n)) if r.macs] for n in sides]
    fig, (ax,) = _axes(ax, (7, 3.5))
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
    values = [{_layer_key(r.name): getattr(r, quantity) for r in profile(m)} for m in models]
    keys = []
    for m in models:
        previous = -1
        for key in (_layer_key(layer.name) for layer in m.layers):
            if key not in keys:
                keys.insert(previous + 1, key)
            previous = keys.index(key)
    keys = [k for k in keys if any(v.get(k, 0) for v in values)]
    fig, (ax,) = _axes(ax, (max(6, 1.3 * len(keys) * len(models) / 2 + 2), 3.6))
    width = 0.8 / len(models)
    for i, (m, vals) in enumerate(zip(models, values)):
        xs = [j + (i - (len(models) - 1) / 2) * width for j, k in enumerate(keys) if vals.get(k, 0)]
        ys = [vals[k] for k in keys if vals.get(k, 0)]
        bars = ax.bar(xs, ys, width, label=m.name, color=PALETTE[i % len(PALETTE)])
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


def image_grid(images, titles=None, cmap="gray", size=2.2):
    """Show a row of images side by side (e.g. a digit before and after pooling).

    Parameters
    ----------
    images : list of (H, W) or (H, W, 1) arrays; may differ in size
    titles : list of str, optional
    """
    fig, axes = _axes(None, (size * len(images), size), n=len(images))
    for i, (ax, img) in enumerate(zip(axes, images)):
        img = np.asarray(img)
        ax.imshow(img[..., 0] if img.ndim == 3 else img, cmap=cmap)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles:
            ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- pruning
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

    sparsities = [i / 10 for i in range(10)] + [0.95, 0.99] if sparsities is None else list(sparsities)
    if not sparsities:
        raise ValueError("sparsities is empty: give at least one sparsity.")
    w = np.random.default_rng(seed).standard_normal(tuple(shape)).astype(np.float32)
    csr = [csr_bytes(w * magnitude_mask(w, s)) for s in sparsities]
    dense = dense_bytes(w)
    fig, (ax,) = _axes(ax, (5.5, 3.4))
    xs = [100 * s for s in sparsities]
    csr_mb, dense_mb = np.array(csr) / 1e6, np.full(len(xs), dense / 1e6)
    ax.plot(xs, dense_mb, color=GREY, label="dense (float32)")
    ax.plot(xs, csr_mb, "o-", color=PALETTE[0], ms=3, label="CSR (float32 values, int32 indices)")
    ax.fill_between(xs, csr_mb, dense_mb, where=csr_mb < dense_mb, interpolate=True, color=PALETTE[2], alpha=0.15,
                    label="CSR saves memory")
    ax.set_xlabel("sparsity (% of weights removed)")
    ax.set_ylabel("megabytes (10^6 bytes)")
    ax.set_title(f"storing a {'x'.join(map(str, shape))} weight array", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


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
    >>> from efficientnn.models import base_cnn
>>> from efficientnn.pruning import prune_magnitude
>>> fig = weight_histogram(prune_magnitude(base_cnn(), {"fc1": 0.9}), layers=["fc1"])
>>> fig.axes[0].get_title()
'fc1: 36,864 of 368,640 kept (90% pruned)'
    """
    from .pruning.masks import _weighted_layer, prunable_layers, weight_keys

    check_model(model)
    chosen = prunable_layers(model) if layers is None else [_weighted_layer(model, n) for n in layers]
    if ax is not None and len(chosen) != 1:
        raise ValueError(f"with ax given, name exactly one layer in layers; got {[l.name for l in chosen]}.")
    bins = positive_int(bins, "bins")
    fig, axes = _axes(ax, (4.0 * len(chosen), 3.2), n=len(chosen))
    for a, layer in zip(axes, chosen):
        w = np.concatenate([layer.params[k].ravel() for k in weight_keys(layer)])
        kept = w[w != 0]
        a.hist(kept, bins=bins, color=PALETTE[0], log=log)
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
    >>> sparsity_accuracy_plot([{"sparsity": 0.5, "accuracy": 0.9}]).axes[0].get_xlabel()
    'sparsity (% of weights removed)'
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
    fig, (a,) = _axes(ax, (5.5, 3.6))
    a.plot(s, acc, "o--", color=PALETTE[3], label="pruned, no fine-tuning")
    if all(t is not None for t in tuned):
        a.plot(s, np.array(tuned, dtype=float) * 100, "o-", color=PALETTE[0], label="pruned + fine-tuned")
    if dense_accuracy is not None:
        a.axhline(dense_accuracy * 100, color=GREY, lw=1, label="dense model")
        if tolerance is not None:
            points = tolerance * 100
            a.axhspan(dense_accuracy * 100 - points, dense_accuracy * 100, color=GREY, alpha=0.15,
                      label=f"within {points:g} point{'' if points == 1 else 's'}")
    a.set_xlabel("sparsity (% of weights removed)")
    a.set_ylabel("test accuracy (%)")
    if title:
        a.set_title(title, fontsize=9)
    a.grid(alpha=0.3)
    a.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def sensitivity_plot(scan, sparsities, dense_accuracy=None, chosen=None, ax=None):
    """One accuracy curve per layer, each layer pruned alone (a sensitivity scan).

    Parameters
    ----------
    scan : dict of layer name -> accuracies in [0, 1], one per sparsity
        (from :func:`efficientnn.pruning.layer_sensitivity`)
    sparsities : the scan's sparsities, floats in [0, 1)
    dense_accuracy : float or None, draw the unpruned model's accuracy as a line
    chosen : dict of layer name -> sparsity or None, mark each layer's chosen sparsity
    ax : matplotlib Axes or None (a new figure)

    Returns
    -------
    matplotlib Figure

    Example
    -------
    >>> sensitivity_plot({"fc1": [0.9, 0.8]}, [0.5, 0.9]).axes[0].get_ylabel()
    'test accuracy (%)'
    """
    s = np.asarray(list(sparsities), dtype=float) * 100
    if not scan:
        raise ValueError("scan is empty: nothing to plot.")
    fig, (a,) = _axes(ax, (5.5, 3.6))
    for i, (name, accs) in enumerate(scan.items()):
        if len(accs) != s.size:
            raise ValueError(f"layer {name} has {len(accs)} accuracies for {s.size} sparsities.")
        colour = PALETTE[i % len(PALETTE)]
        a.plot(s, np.asarray(accs, dtype=float) * 100, "o-", color=colour, label=name)
        if chosen and name in chosen:
            a.axvline(chosen[name] * 100, color=colour, ls=":", lw=1)
    if dense_accuracy is not None:
        a.axhline(dense_accuracy * 100, color=GREY, lw=1, label="dense model")
    a.set_xlabel("sparsity of that layer alone (% of its weights removed)")
    a.set_ylabel("test accuracy (%)")
    a.grid(alpha=0.3)
    a.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- OpenVINO timing
def layer_times_plot(rows, ax=None):
    """Horizontal bars of each row's median time (us), whiskers from p10 to p90.

    Fused and idle layers show as empty bars labelled with where their work went.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax,) = _axes(ax, (7, 0.35 * len(rows) + 1.2))
    labels = [f"{r.name} ({r.kind})" for r in rows]
    y = np.arange(len(rows))
    med = np.array([r.median_us for r in rows])
    err = np.array([[r.median_us - r.p10_us for r in rows], [r.p90_us - r.median_us for r in rows]])
    ax.barh(y, med, xerr=err, color=[kind_colour(r.kind) for r in rows], capsize=2)
    for yi, r in zip(y, rows):
        if r.status != "EXECUTED":
            note = f"fused into {r.fused_into}" if r.status == "FUSED" else r.status.lower()
            ax.text(0, yi, " " + note, va="center", fontsize=8, color=GREY)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"time per inference (us), median of {rows[0].runs if rows else 0} runs, p10-p90 whiskers")
    ax.set_title("OpenVINO per-layer time (CPU, float32)")
    fig.tight_layout()
    return fig


def predicted_vs_measured_plot(rows, ax=None):
    """Per layer with FLOPs: predicted time (FLOPs / peak FLOP/s) beside measured time, log scale.

    A measured bar much longer than the predicted one marks a layer that does not run at GEMM
    speed: usually memory-bound (see :func:`roofline_plot`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    shown = [r for r in rows if r.flops > 0 and r.median_us > 0]
    fig, (ax,) = _axes(ax, (7, 0.5 * len(shown) + 1.5))
    y = np.arange(len(shown))
    ax.barh(y - 0.2, [r.predicted_us for r in shown], height=0.4, label="predicted: FLOPs / peak FLOP/s")
    ax.barh(y + 0.2, [r.median_us for r in shown], height=0.4, label="measured (OpenVINO median)")
    for yi, r in zip(y, shown):
        ax.text(r.median_us, yi + 0.2, f" {r.median_us / r.predicted_us:.3g}x", va="center", fontsize=8)
    ax.set_yticks(y, [f"{r.name} ({r.kind})" for r in shown])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("time per inference (us, log scale)")
    ax.set_title("Counted cost vs measured time")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.5 / max(len(shown), 1)), ncol=2, fontsize=8)
    fig.tight_layout()
    return fig


def roofline_plot(rows, flops_per_second=None, bytes_per_second=None, ax=None):
    """Roofline: achieved FLOP/s against arithmetic intensity (FLOPs per byte moved), log-log.

    The roof is ``min(peak FLOP/s, bandwidth x intensity)``: left of the ridge point a layer can
    go no faster than memory feeds it. Depthwise layers do ~kh*kw MACs per input value, so
    they sit far left, under the memory roof, and their FLOPs under-predict their time.

    Parameters
    ----------
    rows : list of :class:`LayerTime` (rows without FLOPs or own time are skipped)
    flops_per_second : float or None, compute roof (None: :func:`efficientnn.openvino_timing.peak_flops_per_second`)
    bytes_per_second : float or None, memory roof (None: :func:`efficientnn.openvino_timing.memory_bytes_per_second`)

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .openvino_timing.peak_rates import memory_bytes_per_second, peak_flops_per_second

    peak = flops_per_second or peak_flops_per_second()
    bandwidth = bytes_per_second or memory_bytes_per_second()
    shown = [r for r in rows if r.flops > 0 and r.median_us > 0]
    fig, (ax,) = _axes(ax, (7, 5))
    ridge = peak / bandwidth
    lo = min([r.flops_per_byte for r in shown] + [ridge]) / 4
    hi = max([r.flops_per_byte for r in shown] + [ridge]) * 4
    xs = np.geomspace(lo, hi, 200)
    ax.plot(xs, np.minimum(peak, bandwidth * xs) / 1e9, color="black", lw=1.5,
            label=f"roof: {peak / 1e9:.0f} GFLOP/s, {bandwidth / 1e9:.1f} GB/s")
    for r in shown:
        ax.scatter(r.flops_per_byte, r.flops_per_second / 1e9, color=kind_colour(r.kind), zorder=3)
        ax.annotate(r.name, (r.flops_per_byte, r.flops_per_second / 1e9), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    ax.axvline(ridge, color=GREY, ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOPs per byte of input + weights + output)")
    ax.set_ylabel("achieved GFLOP/s (OpenVINO)")
    ax.set_title("Roofline: memory-bound left of the dotted ridge, compute-bound right")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- quantization
def roofline_shift_plot(f32_rows, int8_rows, ax=None):
    """The float32 rows on the roofline of :func:`roofline_plot`, each with an arrow to its int8
    twin: four times fewer bytes per value moves a layer right (4x the FLOPs per byte), and the
    int8 kernel moves it up or down.

    The roof drawn is float32's; int8 kernels (VNNI, AMX) have a higher compute roof of their own,
    so an int8 point can sit above it.

    Parameters
    ----------
    f32_rows, int8_rows : lists of :class:`efficientnn.openvino_timing.LayerTime`, from
        :func:`efficientnn.quantization.compare_layer_times`; rows are paired by layer name
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Example
    -------
    >>> roofline_shift_plot(f32_rows, int8_rows)             # doctest: +SKIP
    """
    fig, (ax,) = _axes(ax, (7, 5))
    roofline_plot(f32_rows, ax=ax)
    colour = PALETTE[3]
    int8 = {r.name: r for r in int8_rows}
    for r in f32_rows:
        twin = int8.get(r.name)
        if r.flops <= 0 or r.median_us <= 0 or twin is None or twin.median_us <= 0:
            continue
        start = (r.flops_per_byte, r.flops_per_second / 1e9)
        end = (twin.flops_per_byte, twin.flops_per_second / 1e9)
        ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": colour, "lw": 1})
        ax.scatter(*end, marker="s", color=colour, zorder=4)
        ax.annotate(f"{r.name} int8", end, textcoords="offset points", xytext=(4, -10), fontsize=8, color=colour)
    ax.set_xlim(auto=True)
    ax.relim()
    ax.autoscale_view()
    ax.set_title("Roofline: float32 (circles) -> int8 (red squares)")
    return fig
