"""Shared parts of assignment 06's checkers: the slip messages, the input arrays and the call harness.

:data:`PRUNING_SLIP_MESSAGES` holds every slip the checkers of :mod:`efficientnn.quiz.a06_pruning`
recognise; :class:`WeightCase` is one reproducible input array (with the code that rebuilds it for
a message); ``_start``, ``_run``, ``_each_result``, ``_form_check`` and ``_slip`` call a student's
function safely and turn a wrong result into an ``AssertionError`` that names the call.

Example
-------
>>> WeightCase((2, 3), seed=1, sparsity=0.5).call("magnitude_prune")
'magnitude_prune(w, 0.5)'
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import pruning
from ..harness import call_safely, refuse_reference, require_function, shown

__all__ = ["PRUNING_SLIP_MESSAGES", "WeightCase"]

#: Seed of the random cases: fixed, so every student is graded on the same arrays.
SEED = 606


PRUNING_SLIP_MESSAGES = {
    # magnitude_prune
    "largest_pruned": ("The largest weights were removed. Magnitude pruning removes the weights of smallest "
                       "magnitude |w|, the ones that change the layer's outputs least."),
    "signed_order": ("The most negative weights were removed: rank the weights by magnitude, np.abs(w), not by "
                     "signed value. A weight of -3 matters as much as one of +3."),
    "count_floor": ("One weight too few was removed: the count was rounded down. int() cuts the decimals off, and "
                    "sparsity * size is often a hair below a whole number in floating point (0.29 * 100 is "
                    "28.999...). Use round(sparsity * w.size)."),
    "count_ceil": "One weight too many was removed: the count was rounded up. Use round(sparsity * w.size).",
    "count_half_up": ("The count was rounded half up. Python's round sends an exact half to the even neighbour "
                      "(round(2.5) == 2, round(3.5) == 4); use round(sparsity * w.size), as the exercise says."),
    "count_off_by_one": ("Off by one in the number of weights removed: exactly round(sparsity * w.size) must go. "
                         "Check the slice ([:k]) and whether a k - 1 or k + 1 crept in."),
    "kept_share": ("The share of weights *kept* equals the sparsity here. Sparsity is the share *removed*: after "
                   "pruning to sparsity 0.9, 90% of the weights are zero."),
    "ties_threshold": ("Every weight whose magnitude equals the threshold was removed, so where several weights "
                       "have the same magnitude (ties) too many went. Remove exactly round(sparsity * w.size): "
                       "rank the positions with np.argsort(np.abs(w).ravel(), kind='stable') and zero the first k."),
    "ties_kept": ("Every weight whose magnitude equals the threshold was kept, so where several weights have the "
                  "same magnitude (ties) too few went. Remove exactly round(sparsity * w.size): rank the positions "
                  "with np.argsort(np.abs(w).ravel(), kind='stable') and zero the first k."),
    "k_zero_threshold": ("Nothing should be removed here (round(sparsity * w.size) is 0), but weights were. Careful "
                         "with an index k - 1 when k is 0: in Python [-1] is the last element, the largest."),
    "tie_order": ("The right number of weights went, with the right magnitudes, but not the right ones among "
                  "equal magnitudes. The rule: among equal |w| the weight that comes first in the flattened "
                  "(C-order) array goes first. np.argsort(..., kind='stable') keeps that order; numpy's default "
                  "sort does not promise it."),
    "not_smallest": ("The right number of weights went, but not those of smallest magnitude: some weight was "
                     "removed while a weight of smaller |w| was kept."),
    "kept_changed": ("Some of the kept weights changed value. Pruning sets the removed weights to zero and leaves "
                     "every other weight exactly as it was (no scaling, no rounding)."),
    "in_place": ("changed its input w: pruning must return a new array and leave the original weights as they "
                 "were (start from w.copy(), or use np.where)."),
    "aliased": ("returned w itself (or a view of it), not a new array: a later change to the result would change "
                "the original weights. Return a copy."),
    # weight_sparsity
    "density_for_sparsity": ("This is the density, the share of weights that are not zero. Sparsity is the share "
                             "that are zero: zeros / elements."),
    "len_not_size": ("len(w) is the length of w's first axis (its rows), not its number of entries: divide the "
                     "zeros by w.size, which counts every entry whatever the shape."),
    "count_not_share": ("This is the number of zeros. Sparsity is a share: divide by the number of elements "
                        "(w.size)."),
    "percent": "This looks like a percentage; return a share between 0 and 1 (0.9, not 90).",
    "nonpositive_counted": ("The negative weights were counted as zeros. A weight counts as pruned only when it is "
                            "exactly 0: count w == 0 (np.count_nonzero(w == 0))."),
    # csr_bytes
    "indices_forgotten": ("The column indices are missing. Next to each kept value CSR stores the column it sits in: "
                          "one int32 (4 bytes) per kept weight."),
    "row_pointers_forgotten": "The row pointers are missing: CSR also stores where each row starts, rows + 1 int32s.",
    "row_pointers_off_by_one": ("Count rows + 1 row pointers, not rows: one where each row starts, plus one where the "
                                "last row ends."),
    "rows_wrong_axis": ("The number of rows comes from the wrong axis. Here a row is one output channel, the last "
                        "axis: rows = w.shape[-1] (a dense W (inputs, units) has `units` rows, a conv W (kh, kw, "
                        "Cin, Cout) has Cout rows)."),
    "zeros_stored": ("The zeros were stored too. CSR keeps only the weights that are not zero: "
                     "nnz = np.count_nonzero(w)."),
    "dense_bytes": "This is the size of the dense array (4 bytes for every element, zeros included), not of its CSR form.",
    "bits": "This looks like a size in bits; return bytes (8 bits each).",
    "saving_returned": "This is the saving (dense bytes minus CSR bytes); return the CSR size itself.",
    "values_only": ("Only the values were counted. Add the column indices (4 bytes per kept weight) and the row "
                    "pointers (rows + 1 of them, 4 bytes each)."),
    # structured pruning questions
    "next_layer_unchanged": ("This is the value before pruning. Removing a layer's filters also removes their output "
                             "channels, so the next layer has fewer inputs: each of a convolution's kernels loses the "
                             "slices that read the removed channels (its kernels get shallower), and after a flatten "
                             "the dense layer loses every input that came from them."),
    "removed_for_kept": ("This counts the removed channels as if they were the ones left. The next layer reads the "
                         "channels that were kept."),
    "next_layer_pruned": ("The filters were removed from the layer before, not from this one: this layer keeps all "
                          "of its filters (or units) and loses the inputs that read the removed channels."),
    "pruned_layer_answered": ("This is the cost of the pruned layer itself; the question asks about the layer after "
                              "it, which reads the pruned layer's output."),
}

#: efficientnn functions a student's function may not call: they are what it is graded against.
_FORBIDDEN = {
    "magnitude_prune": ("magnitude_mask", "global_magnitude_masks", "prune_magnitude"),
    "weight_sparsity": ("sparsity", "layer_sparsity", "model_sparsity", "sparsity_report"),
    "csr_bytes": ("csr_bytes", "model_csr_bytes", "sparsity_report"),
}


# --------------------------------------------------------------------------- input arrays
@dataclass(frozen=True)
class WeightCase:
    """One input array (and, for ``magnitude_prune``, a sparsity) of a checker.

    Parameters
    ----------
    shape : tuple of int
    fill : how the values are drawn, each reproducible from the message:
        "normal" (standard normal float32, no ties), "integers" (whole numbers -3..3 as float32:
        many ties and zeros), "rounded" (normal values rounded to one decimal: some ties),
        "alternating" (0.5, -0.5, 0.5, ...: every magnitude equal), "sparse" (normal values, a share
        ``zeros`` of them set to 0), "zeros" (all 0), "int" (int64 values -2..2)
    seed : int
    sparsity : float or None, the second argument of ``magnitude_prune``
    zeros : float, share of entries zeroed by the "sparse" fill
    note : str, what the case is about, added to a failure message
    """

    shape: tuple
    fill: str = "normal"
    seed: int = SEED
    sparsity: float | None = None
    zeros: float = 0.0
    note: str = ""

    def build(self) -> np.ndarray:
        """The input array (a new one at each call)."""
        rng = np.random.default_rng(self.seed)
        if self.fill == "normal":
            return rng.standard_normal(self.shape).astype(np.float32)
        if self.fill == "integers":
            return rng.integers(-3, 4, self.shape).astype(np.float32)
        if self.fill == "rounded":
            return np.round(rng.standard_normal(self.shape), 1).astype(np.float32)
        if self.fill == "alternating":
            return np.resize(np.float32([0.5, -0.5]), self.shape)
        if self.fill == "sparse":
            w = rng.standard_normal(self.shape).astype(np.float32)
            w[np.random.default_rng(self.seed + 1).random(self.shape) < self.zeros] = 0
            return w
        if self.fill == "zeros":
            return np.zeros(self.shape, np.float32)
        if self.fill == "int":
            return rng.integers(-2, 3, self.shape)
        raise ValueError(f"unknown fill {self.fill!r}.")

    def recipe(self) -> str:
        """Python code that rebuilds the array as ``w``."""
        gen, shape = f"np.random.default_rng({self.seed})", repr(tuple(self.shape))
        return {
            "normal": f"w = {gen}.standard_normal({shape}).astype(np.float32)",
            "integers": f"w = {gen}.integers(-3, 4, {shape}).astype(np.float32)",
            "rounded": f"w = np.round({gen}.standard_normal({shape}), 1).astype(np.float32)",
            "alternating": f"w = np.resize(np.float32([0.5, -0.5]), {shape})",
            "sparse": (f"w = {gen}.standard_normal({shape}).astype(np.float32); "
                       f"w[np.random.default_rng({self.seed + 1}).random({shape}) < {self.zeros}] = 0"),
            "zeros": f"w = np.zeros({shape}, np.float32)",
            "int": f"w = {gen}.integers(-2, 3, {shape})",
        }[self.fill]

    def call(self, name: str) -> str:
        """The call as code: ``magnitude_prune(w, 0.5)`` or ``csr_bytes(w)``."""
        return f"{name}(w, {self.sparsity!r})" if self.sparsity is not None else f"{name}(w)"

    def where(self, name: str) -> str:
        """The call, its note and how to rebuild its input, for a message."""
        about = f" ({self.note})" if self.note else ""
        return f"{self.call(name)}{about}, with {self.recipe()},"


def _start(fn, name, allow_reference):
    require_function(fn, name)
    if not allow_reference:
        refuse_reference(fn, name, _FORBIDDEN[name], "efficientnn.pruning's",
                         "which it is graded against: write it with numpy operations.", module=pruning)


def _run(fn, case: WeightCase, name: str):
    """Call ``fn`` on a fresh copy of the case's array; return (w, result), checking ``w`` is left alone."""
    w = case.build()
    original = w.copy()
    args = (w,) if case.sparsity is None else (w, case.sparsity)
    result = call_safely(fn, args, {}, case.where(name))
    if not np.array_equal(w, original):
        raise AssertionError(f"{case.where(name)} {PRUNING_SLIP_MESSAGES['in_place']}")
    return w, result


def _each_result(fn, name: str, cases, form):
    """``(case, w, result)`` for each case, once ``form(result, w)`` (None or what is wrong) found no problem."""
    for case in cases:
        w, result = _run(fn, case, name)
        problem = form(result, w)
        if problem:
            raise AssertionError(f"{case.where(name)} {problem}.")
        yield case, w, result


def _form_check(fn, name: str, case, form):
    """A visible test: one call on ``case``, checking only the result's form; returns the result."""
    require_function(fn, name)
    return next(_each_result(fn, name, [case], form))[2]


def _slip(case, name, result, slip, text=None) -> AssertionError:
    said = f"returned {shown(result)}, which is not right"
    if isinstance(result, np.ndarray) and result.shape == tuple(case.shape):
        said = f"returned an array of the right shape, {result.shape}, with values that are not right"
    return AssertionError(f"{case.where(name)} {said}. {text or PRUNING_SLIP_MESSAGES[slip]}")


# --------------------------------------------------------------------------- sensitivity_scan (part 6)
#: What the scan and filter-pruning checkers recognise (added to the messages above).
PRUNING_SLIP_MESSAGES.update({
    "scan_model_changed": ("changed the model it was given: prune a copy (model.copy()) for every layer and "
                           "sparsity, so that each measurement starts from the trained weights."),
    "scan_global": ("These are the accuracies of the whole model pruned to each sparsity (every layer at once). The "
                    "scan prunes one layer at a time, the others untouched: prune_magnitude(copy, {name: s})."),
    "scan_shared_copy": ("The layers' prunings piled up: one copy served several layers, so a later layer was "
                         "measured with the earlier ones still pruned. Make a fresh copy for each layer (or each "
                         "sparsity)."),
    "scan_percent": "These look like percentages; give accuracies as shares between 0 and 1 (0.95, not 95).",
    "filters_strongest": ("The filters of largest L1 norm were removed. Remove the weakest: the n_remove filters "
                          "whose sum of |weights| is smallest."),
    "filters_signed": ("The filters were ranked by the plain sum of their weights. Rank them by the L1 norm, the sum "
                       "of magnitudes: np.abs(W).sum(axis=(0, 1, 2)), one number per filter (the last axis)."),
    "filters_l2": ("The filters were ranked by the L2 norm (root of the sum of squares). This exercise ranks them by "
                   "the L1 norm, the sum of |weights| (Li et al. 2017)."),
    "filters_kept_n": "n_remove filters were kept instead of removed: keep Cout - n_remove of them.",
    "filters_order": ("The right filters were kept, but not in their original order. Keep them in increasing index "
                      "order (np.sort the kept indices), so that filter i of the new layer is the i-th survivor."),
    "filters_bias": "The bias must lose the removed filters' entries too: b[keep].",
    "filters_next_unchanged": ("The next layer still reads every channel. Each removed filter's output channel is "
                               "gone, so the next convolution's kernels lose that input slice: W_next[:, :, keep, :]."),
    "filters_next_output_axis": ("The next layer lost output channels (its last axis). It must keep all its filters "
                                 "and lose the *input* channels that read the removed ones: axis 2, "
                                 "W_next[:, :, keep, :]."),
    "filters_flatten_order": ("The dense layer's rows were cut as if the flatten put channels first (C, H, W). "
                              "efficientnn flattens NHWC, channel fastest: row (h * width + w) * Cout + c reads "
                              "channel c, so W_next.reshape(-1, Cout, units)[:, keep, :].reshape(-1, units)."),
    "filters_changed_input": ("changed an input array: return new arrays and leave W, b and W_next as they were "
                              "(indexing with a list of indices, W[..., keep], makes a copy)."),
})

_FORBIDDEN.update({
    "sensitivity_scan": ("layer_sensitivity", "sparsity_sweep", "choose_sparsities"),
    "prune_filters": ("prune_channels", "kept_channels", "weakest_channels", "channel_l1_norms", "remove_channels",
                      "mask_channels"),
})
