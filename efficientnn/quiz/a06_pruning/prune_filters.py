"""Checker of assignment 06's prune_filters (part 7): remove a conv's weakest filters and the next layer's inputs.

Example
-------
>>> W, b, W_next = prune_filters_cases()[0].build()
>>> W.shape[-1] == b.shape[0]
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import pruning
from ..harness import call_safely, require_function, shown
from .slips import PRUNING_SLIP_MESSAGES, SEED, _start

__all__ = ["FilterCase", "prune_filters_cases", "check_prune_filters", "check_prune_filters_form"]

# --------------------------------------------------------------------------- prune_filters (part 7)
@dataclass(frozen=True)
class FilterCase:
    """One call ``prune_filters(W, b, W_next, n_remove)``: a conv's kernels and bias and the next layer's weights.

    ``W (k, k, cin, cout)``, ``b (cout,)`` and ``W_next (k, k, cout, cnext)`` for a next
    convolution, or ``(side * side * cout, cnext)`` for a dense layer after a flatten
    (``dense_next``; ``side = 13 - k``, the conv's output side on a 12x12 input); standard normal
    float32 from ``seed``; ``tie`` makes filters 0 and 1 equal in L1 norm; ``spike`` makes filter 0 a
    single weight of 4 (L1 = L2 = 4) and filter 1 every weight 0.3 (L1 = 5.4, L2 = 1.3 for 18 weights),
    so that ranking by L1 and by L2 disagree.
    """

    k: int
    cin: int
    cout: int
    cnext: int
    n_remove: int
    seed: int
    tie: bool = False
    spike: bool = False
    dense_next: bool = False
    note: str = ""

    @property
    def next_shape(self):
        side = 13 - self.k
        return (side * side * self.cout, self.cnext) if self.dense_next else (self.k, self.k, self.cout, self.cnext)

    def build(self):
        rng = np.random.default_rng(self.seed)
        W = rng.standard_normal((self.k, self.k, self.cin, self.cout)).astype(np.float32)
        b = rng.standard_normal(self.cout).astype(np.float32)
        W_next = rng.standard_normal(self.next_shape).astype(np.float32)
        if self.tie:
            W[..., 1] = -W[..., 0]
        if self.spike:
            W[..., 0] = 0
            W[0, 0, 0, 0] = 4
            W[..., 1] = 0.3
        return W, b, W_next

    def where(self) -> str:
        gen = f"rng = np.random.default_rng({self.seed})"
        tie = "; W[..., 1] = -W[..., 0]" if self.tie else ""
        tie += "; W[..., 0] = 0; W[0, 0, 0, 0] = 4; W[..., 1] = 0.3" if self.spike else ""
        about = f" ({self.note})" if self.note else ""
        return (f"prune_filters(W, b, W_next, {self.n_remove}){about}, with {gen}; "
                f"W = rng.standard_normal({(self.k, self.k, self.cin, self.cout)}).astype(np.float32); "
                f"b = rng.standard_normal({self.cout}).astype(np.float32); "
                f"W_next = rng.standard_normal({self.next_shape}).astype(np.float32){tie},")

    def model(self, W, b, W_next):
        """The network these arrays are the weights of: conv -> ReLU -> conv, or conv -> ReLU ->
        flatten -> dense (input 12x12xcin)."""
        from ...layers import Conv2D, Dense, Flatten, ReLU
        from ...models import Sequential

        tail = [Flatten(), Dense(self.cnext, name="next")] if self.dense_next else [Conv2D(self.cnext, self.k, name="next")]
        m = Sequential([Conv2D(self.cout, self.k), ReLU(), *tail], (12, 12, self.cin), seed=self.seed,
                       name="conv_and_next")
        m.layer("conv1").params.update(W=W.copy(), b=b.copy())
        m.layer("next").params["W"] = W_next.copy()
        return m


def prune_filters_cases():
    """The calls ``prune_filters`` is checked on."""
    return [
        FilterCase(3, 1, 5, 5, 2, SEED + 4000, note="base_cnn's conv1 and conv2"),
        FilterCase(3, 3, 8, 4, 3, SEED + 4001),
        FilterCase(1, 4, 6, 2, 1, SEED + 4002, note="1x1 kernels"),
        FilterCase(3, 2, 6, 3, 0, SEED + 4003, note="nothing removed"),
        FilterCase(3, 2, 4, 3, 3, SEED + 4004, note="all filters but one removed"),
        FilterCase(3, 2, 6, 3, 1, SEED + 4005, tie=True, note="filters 0 and 1 have the same L1 norm: 0 goes first"),
        FilterCase(3, 2, 5, 3, 1, SEED + 4006, spike=True, note="one large weight against many small ones"),
        FilterCase(3, 1, 5, 4, 2, SEED + 4007, dense_next=True, note="a dense layer after a flatten reads conv1"),
        FilterCase(5, 2, 3, 6, 1, SEED + 4008, dense_next=True, note="a dense layer after a flatten reads conv1"),
    ]


def _reference_filters(case, W, b, W_next):
    """efficientnn's structured pruning of the case's network: (kept indices, small model)."""
    model = case.model(W, b, W_next)
    if case.n_remove == 0:
        keep = np.arange(case.cout)
    else:
        keep = pruning.kept_channels(model, {"conv1": case.n_remove / case.cout})["conv1"]
    return keep, pruning.remove_channels(model, {"conv1": keep})


def _filter_slips(W, b, W_next, n):
    """Arrays each recognised slip would return: list of (slip, (W, b, W_next))."""
    order_l1 = np.argsort(np.abs(W).reshape(-1, W.shape[-1]).sum(0), kind="stable")
    keep_of = lambda order: np.sort(order[n:])
    cut = lambda keep: (W[..., keep], b[keep], _next_inputs(W_next, keep, W.shape[-1]))
    strongest = np.sort(order_l1[: W.shape[-1] - n])
    signed = keep_of(np.argsort(W.reshape(-1, W.shape[-1]).sum(0), kind="stable"))
    l2 = keep_of(np.argsort((W.astype(np.float64) ** 2).reshape(-1, W.shape[-1]).sum(0), kind="stable"))
    keep = keep_of(order_l1)
    unsorted = order_l1[n:]
    return [
        ("filters_strongest", cut(strongest)),
        ("filters_signed", cut(signed)),
        ("filters_l2", cut(l2)),
        ("filters_kept_n", cut(np.sort(order_l1[:n]))),
        ("filters_order", cut(unsorted)),
        ("filters_bias", (W[..., keep], b, _next_inputs(W_next, keep, W.shape[-1]))),
        ("filters_next_unchanged", (W[..., keep], b[keep], W_next)),
        ("filters_next_output_axis", (W[..., keep], b[keep], W_next[..., keep] if W_next.shape[-1] == W.shape[-1]
                                      else None)),
        ("filters_flatten_order", (W[..., keep], b[keep], W_next.reshape(W.shape[-1], -1, W_next.shape[-1])[keep]
                                   .reshape(-1, W_next.shape[-1]) if W_next.ndim == 2 else None)),
    ]


def _next_inputs(W_next, keep, cout):
    """The next layer's weights without the rows that read removed channels (NHWC flatten: channel fastest)."""
    if W_next.ndim == 4:
        return W_next[:, :, keep, :]
    return W_next.reshape(-1, cout, W_next.shape[-1])[:, keep, :].reshape(-1, W_next.shape[-1])


def _filter_result_form(result) -> str | None:
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        return f"returned {shown(result)}; return three arrays: (W, b, W_next), pruned"
    for label, arr in zip(("W", "b", "W_next"), result):
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiu":
            return f"returned {shown(arr)} as the new {label}; return a numpy array of numbers"
    return None


def _same_arrays(got, want) -> bool:
    return all(g.shape == w.shape and np.allclose(g, w, rtol=0, atol=1e-6) for g, w in zip(got, want))


def check_prune_filters(fn, allow_reference: bool = False) -> None:
    """Check ``prune_filters(W, b, W_next, n_remove) -> (W, b, W_next)`` against efficientnn's structured pruning.

    For each case the two-convolution network the arrays describe is pruned by
    :func:`efficientnn.pruning.kept_channels` and :func:`efficientnn.pruning.remove_channels` at
    check time; the student's arrays must have the same shapes (structure) and values, and the
    network :func:`efficientnn.pruning.model_with_weights` builds from them the same parameter and
    FLOP counts. The inputs must be left unchanged.

    Example
    -------
    >>> def by_numpy(W, b, W_next, n):
    ...     cout, units = W.shape[-1], W_next.shape[-1]
    ...     keep = np.sort(np.argsort(np.abs(W).sum(axis=(0, 1, 2)), kind="stable")[n:])
    ...     if W_next.ndim == 4:
    ...         return W[..., keep], b[keep], W_next[:, :, keep, :]
    ...     return W[..., keep], b[keep], W_next.reshape(-1, cout, units)[:, keep, :].reshape(-1, units)
    >>> check_prune_filters(by_numpy)
    """
    from ... import cost

    name = "prune_filters"
    _start(fn, name, allow_reference)
    for case in prune_filters_cases():
        W, b, W_next = case.build()
        originals = (W.copy(), b.copy(), W_next.copy())
        result = call_safely(fn, (W, b, W_next, case.n_remove), {}, case.where())
        if not all(np.array_equal(a, o) for a, o in zip((W, b, W_next), originals)):
            raise AssertionError(f"{case.where()} {PRUNING_SLIP_MESSAGES['filters_changed_input']}")
        problem = _filter_result_form(result)
        if problem:
            raise AssertionError(f"{case.where()} {problem}.")
        keep, small = _reference_filters(case, W, b, W_next)
        expected = (small.layer("conv1").params["W"], small.layer("conv1").params["b"], small.layer("next").params["W"])
        if _same_arrays(result, expected):
            built = pruning.model_with_weights(case.model(W, b, W_next), {"conv1": {"W": result[0], "b": result[1]},
                                                                        "next": {"W": result[2]}})
            # Same arrays give the same network; the counts are compared as the exercise reports them.
            assert (cost.total_params(built), cost.total_flops(built)) == (cost.total_params(small),
                                                                          cost.total_flops(small))
            continue
        shapes = ", ".join(f"{label} {np.shape(r)}" for label, r in zip(("W", "b", "W_next"), result))
        slip = next((s for s, arrays in _filter_slips(W, b, W_next, case.n_remove)
                     if all(a is not None for a in arrays) and not _same_arrays(arrays, expected)
                     and _same_arrays(result, arrays)), None)
        text = PRUNING_SLIP_MESSAGES[slip] if slip else (
            "Rank the filters (last axis of W) by L1 norm, keep all but the n_remove weakest in their original "
            "order, and cut W[..., keep], b[keep] and the next layer's inputs: W_next[:, :, keep, :] for a "
            "convolution, the rows of the kept channels for a dense layer after a flatten.")
        raise AssertionError(f"{case.where()} returned arrays of shapes {shapes}, which are not right. {text}")


def check_prune_filters_form(fn) -> None:
    """Visible test: ``prune_filters`` returns three arrays, the first with ``Cout - n_remove`` filters."""
    name = "prune_filters"
    require_function(fn, name)
    case = FilterCase(3, 1, 5, 5, 2, seed=7)
    W, b, W_next = case.build()
    result = call_safely(fn, (W, b, W_next, 2), {}, case.where())
    problem = _filter_result_form(result)
    if problem:
        raise AssertionError(f"{case.where()} {problem}.")
    if result[0].shape != (3, 3, 1, 3):
        raise AssertionError(f"{case.where()} returned W of shape {result[0].shape}: removing 2 of 5 filters leaves "
                             "(3, 3, 1, 3).")
