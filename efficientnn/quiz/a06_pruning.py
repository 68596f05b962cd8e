"""Checkers and questions of assignment 06 (source/06-pruning).

Function exercises (the signatures the notebook's stubs define):

- ``magnitude_prune(w, sparsity)``: a pruned copy of the array ``w`` in which exactly
  ``round(sparsity * w.size)`` weights of smallest magnitude are zero (ties: the weight earlier in
  C order goes first), every other weight unchanged and ``w`` itself left alone; checked against
  :func:`efficientnn.pruning.magnitude_mask` by :func:`check_magnitude_prune`.
- ``weight_sparsity(w)``: ``zeros / elements`` as a float in [0, 1]; checked against
  :func:`efficientnn.pruning.sparsity` by :func:`check_weight_sparsity`.
- ``csr_bytes(w)``: bytes of ``w`` (at least two axes) stored in CSR with one row per output
  channel (the last axis), float32 values and int32 indices:
  ``4 * nnz + 4 * nnz + 4 * (rows + 1)``; checked against :func:`efficientnn.pruning.csr_bytes` by
  :func:`check_csr_bytes`.

Each checker runs the function on fixed and seeded random arrays, computes the right result with
:mod:`efficientnn.pruning` at check time and, on the first mismatch, raises ``AssertionError``
with a message that names the call, says how to rebuild its input (a seeded numpy generator) and
names the slip it recognises (:data:`PRUNING_SLIP_MESSAGES`). No message holds the right result.

Questions on structured pruning (:func:`pruning_questions`), built from a ``base_cnn`` whose
filters were really removed with :func:`efficientnn.pruning.prune_channels`, so their answers are
computed at check time by :func:`efficientnn.quiz.check`:

- "conv2_macs_after_conv1_pruning": conv2's MACs after removing some of conv1's filters (practice);
- "fc1_macs_after_conv2_pruning": fc1's MACs after removing some of conv2's filters (graded: asymmetric, so
  "fc1 lost units" gives another number).

:func:`check_filter_pruning` adds the slips the quiz cannot know about (the next layer's input
left as it was before pruning, the removed channels taken for the kept ones, the pruned layer's
own cost given); :func:`assert_filter_pruning_understood` raises for those only, for a hidden test
that then calls :func:`efficientnn.quiz.assert_correct`; :func:`pruning_widget` is the self-check.

About 700 lines because it is all of assignment 06's checking (three function exercises with
some thirty diagnosed slips, and the structured-pruning questions), one module for one notebook;
about 360 of them are code, the rest docstrings, slip messages and blank lines.

Example
-------
>>> import numpy as np
>>> from efficientnn.pruning import magnitude_mask
>>> check_magnitude_prune(lambda w, s: w * magnitude_mask(w, s), allow_reference=True)  # None: all pass
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np

from .. import pruning
from .check import SLIP_MESSAGES, Verdict, check
from .harness import (add_slips, assert_no_slip, assert_right, call_safely, number_problem, refuse_reference,
                      require_function, shown)
from .questions import LayerSpec, Question, describe_model, upstream_of
from .widgets import QuizWidget

__all__ = [
    "PRUNING_SLIP_MESSAGES",
    "WeightCase",
    "magnitude_prune_cases",
    "MAGNITUDE_PRUNE_CASE_SETS",
    "check_magnitude_prune",
    "check_magnitude_prune_form",
    "weight_sparsity_cases",
    "check_weight_sparsity",
    "check_weight_sparsity_form",
    "csr_bytes_cases",
    "check_csr_bytes",
    "check_csr_bytes_form",
    "CONV1_FILTERS_REMOVED",
    "CONV2_FILTERS_REMOVED",
    "pruned_base_cnn",
    "pruning_questions",
    "check_filter_pruning",
    "assert_filter_pruning_understood",
    "assert_filter_pruning",
    "pruning_widget",
    "SCAN_CHECK_SPARSITIES",
    "sensitivity_scan_cases",
    "check_sensitivity_scan",
    "check_sensitivity_scan_form",
    "FilterCase",
    "prune_filters_cases",
    "check_prune_filters",
    "check_prune_filters_form",
]

#: Seed of the random cases: fixed, so every student is graded on the same arrays.
SEED = 606

#: How many filters the structured-pruning questions remove (conv1 and conv2 of base_cnn have 5).
CONV1_FILTERS_REMOVED = 2
# 3, not 2: fc1 after 2 removed has 221,184 MACs, the MACs of the lesson's worked example in 01
CONV2_FILTERS_REMOVED = 3

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


# --------------------------------------------------------------------------- magnitude_prune
_PRUNE_BASIC = [
    ((10,), 0.5, "normal", "ten weights in a row"),
    ((4, 6), 0.25, "normal", "a dense layer's (inputs, units) matrix"),
    ((3, 3, 2, 4), 0.9, "normal", "a convolution's (kh, kw, Cin, Cout) kernels"),
    ((100,), 0.29, "normal", "0.29 * 100 is not exactly 29 in floating point"),
    ((16, 8), 0.75, "normal", ""),
    ((7, 3), 0.6, "normal", ""),
]
_PRUNE_EDGE = [
    ((6,), 0.0, "normal", "sparsity 0: nothing is removed"),
    ((1,), 0.4, "normal", "a single weight"),
    ((1,), 0.6, "normal", "a single weight"),
    ((2,), 0.5, "normal", "two weights"),
    ((5,), 0.5, "normal", "half of 5 weights: an exact half to round"),
    ((7,), 0.4, "alternating", "every weight has the same magnitude"),
    ((6, 5), 0.5, "integers", "many equal magnitudes, and zeros already"),
    ((3, 3, 2, 4), 0.6, "rounded", "weights rounded to one decimal: some equal magnitudes"),
    ((4, 5), 0.3, "sparse", "an array that already holds zeros"),
    ((3, 4), 0.5, "integers", "ties at the threshold"),
]
MAGNITUDE_PRUNE_CASE_SETS = ("basic", "edge", "all")


def magnitude_prune_cases(cases: str = "all", n_random: int = 6, seed: int = SEED) -> list[WeightCase]:
    """The calls ``magnitude_prune(w, sparsity)`` is checked on.

    ``"basic"``: float arrays without ties, of several shapes and sparsities, plus seeded random
    ones; ``"edge"``: sparsity 0, arrays of one or two weights, an exact half to round, ties,
    arrays that already hold zeros.
    """
    if cases not in MAGNITUDE_PRUNE_CASE_SETS:
        raise ValueError(f"cases must be one of {', '.join(MAGNITUDE_PRUNE_CASE_SETS)}, got {cases!r}.")
    rng = np.random.default_rng(seed)
    out = []
    if cases in ("basic", "all"):
        out += [WeightCase(shape, fill, seed + 10 * i, s, note=note) for i, (shape, s, fill, note) in
                enumerate(_PRUNE_BASIC)]
        shapes = [(50,), (12, 10), (3, 3, 4, 6), (64, 16), (5, 5, 1, 8)]
        for i in range(n_random):
            shape = shapes[int(rng.integers(len(shapes)))]
            s = round(float(rng.uniform(0.05, 0.98)), 2)
            while abs(s * math.prod(shape) % 1 - 0.5) < 1e-6:  # exact halves belong to the edge cases
                s = round(s + 0.01, 2)
            out.append(WeightCase(shape, "normal", seed + 500 + 10 * i, s))
    if cases in ("edge", "all"):
        out += [WeightCase(shape, fill, seed + 1000 + 10 * i, s, zeros=0.4 if fill == "sparse" else 0.0, note=note)
                for i, (shape, s, fill, note) in enumerate(_PRUNE_EDGE)]
    return out


def _reference_prune(w, sparsity):
    return w * pruning.magnitude_mask(w, sparsity)


def _zero_first(w, order, k):
    """``w`` with the flat positions ``order[:k]`` set to zero."""
    out = w.ravel().copy()
    out[order[:k]] = 0
    return out.reshape(w.shape)


def _prune_slips(w, s, expected):
    """Typical wrong results, as (slip, array), for ``magnitude_prune(w, s)``."""
    n, k = w.size, round(s * w.size)
    flat = w.ravel()
    by_magnitude = np.argsort(np.abs(flat), kind="stable")
    out = [
        ("largest_pruned", _zero_first(w, np.argsort(-np.abs(flat), kind="stable"), k)),
        ("signed_order", _zero_first(w, np.argsort(flat, kind="stable"), k)),
    ]
    # A threshold on |w| instead of a count: right without ties, wrong with them (or with k = 0).
    a = np.abs(w)
    ordered = np.sort(a.ravel())
    if k == 0:
        out.append(("k_zero_threshold", np.where(a <= ordered[-1], 0, w).astype(w.dtype)))
    else:
        out.append(("ties_threshold", np.where(a <= ordered[k - 1], 0, w).astype(w.dtype)))
    if k < n:
        out.append(("ties_kept", np.where(a < ordered[k], 0, w).astype(w.dtype)))
    # Wrong counts; at an exact half, rounding up is the half-up slip rather than a ceiling.
    counts = [("count_floor", math.floor(s * n)), ("count_half_up", math.floor(s * n + 0.5)),
              ("count_ceil", math.ceil(s * n)), ("kept_share", round((1 - s) * n)), ("kept_share", n - k),
              ("count_off_by_one", k - 1), ("count_off_by_one", k + 1)]
    for slip, other in counts:
        if 0 <= other <= n and other != k:
            out.append((slip, _zero_first(w, by_magnitude, other)))
    return [(slip, arr) for slip, arr in out if not np.array_equal(arr, expected)]


def _array_form(result, w) -> str | None:
    """None if ``result`` can be a pruned copy of ``w``, else what is wrong (a sentence)."""
    if result is None:
        return "returned None (is a `return` missing?)"
    if not isinstance(result, np.ndarray):
        return f"returned a {type(result).__name__}, not a numpy array; return an array shaped like w"
    if result.dtype == bool:
        return ("returned a bool array (a mask?); return the pruned weights: a copy of w with the removed "
                "weights set to 0")
    if result.dtype.kind not in "fiu":
        return f"returned an array of dtype {result.dtype}; return an array of numbers like w"
    if result.shape != w.shape:
        return f"returned an array of shape {result.shape} for w of shape {w.shape}; keep w's shape"
    if not np.all(np.isfinite(result)):
        return "returned an array holding nan or inf"
    if np.shares_memory(result, w):
        return PRUNING_SLIP_MESSAGES["aliased"].rstrip(".")
    return None


def _diagnose_prune(case, w, result, expected):
    name = "magnitude_prune"
    kept = result != 0
    if np.any(kept & (result != w)):
        return _slip(case, name, result, "kept_changed")
    for slip, candidate in _prune_slips(w, case.sparsity, expected):
        if np.array_equal(result, candidate):
            return _slip(case, name, result, slip)
    got_zeros, want_zeros = result == 0, expected == 0
    if got_zeros.sum() != want_zeros.sum():
        text = (f"It holds {int(got_zeros.sum())} zeros among {w.size} weights. Pruning to sparsity {case.sparsity} "
                f"removes exactly round({case.sparsity} * {w.size}) weights, those of smallest magnitude (a weight "
                "that is already 0 has the smallest magnitude of all).")
        return _slip(case, name, result, None, text)
    a = np.abs(w)
    if np.array_equal(np.sort(a[got_zeros]), np.sort(a[want_zeros])):
        return _slip(case, name, result, "tie_order")
    return _slip(case, name, result, "not_smallest")


def check_magnitude_prune(fn, cases: str = "all", allow_reference: bool = False) -> None:
    """Check ``magnitude_prune(w, sparsity)`` against :func:`efficientnn.pruning.magnitude_mask`.

    The result must be a new array shaped like ``w``, equal to ``w * magnitude_mask(w, sparsity)``
    (any numeric dtype), and ``w`` must be left unchanged.

    Parameters
    ----------
    fn : the student's function
    cases : "basic", "edge" or "all" (see :func:`magnitude_prune_cases`)
    allow_reference : accept a function that calls efficientnn.pruning itself (for tests)

    Returns
    -------
    None, so that a hidden-test cell ending with this call is all-or-nothing.

    Example
    -------
    >>> from efficientnn.pruning import magnitude_mask
    >>> check_magnitude_prune(lambda w, s: w * magnitude_mask(w, s), allow_reference=True)
    """
    name = "magnitude_prune"
    _start(fn, name, allow_reference)
    for case, w, result in _each_result(fn, name, magnitude_prune_cases(cases), _array_form):
        expected = _reference_prune(w, case.sparsity)
        if not np.array_equal(result, expected):
            raise _diagnose_prune(case, w, result, expected)


def check_magnitude_prune_form(fn) -> None:
    """Visible test: ``magnitude_prune`` returns a new numeric array shaped like ``w`` and leaves ``w`` alone.

    Not whether the right weights were removed.
    """
    _form_check(fn, "magnitude_prune", WeightCase((3, 4), "normal", seed=7, sparsity=0.5), _array_form)


# --------------------------------------------------------------------------- weight_sparsity
_SPARSITY_FIXED = [
    ((10,), "sparse", 0.3, "a few zeros"),
    ((4, 6), "sparse", 0.5, "a dense layer's weights"),
    ((3, 3, 2, 4), "sparse", 0.9, "a convolution's kernels, mostly zero"),
    ((5, 5), "zeros", 0.0, "every weight zero"),
    ((7,), "normal", 0.0, "no zeros at all"),
    ((6, 4), "int", 0.0, "an integer array"),
]


def _fixed_then_sparse(fixed, shapes, zeros, n_random: int, seed: int) -> list[WeightCase]:
    """The ``fixed`` cases (shape, fill, share of zeros, note), then ``n_random`` sparse arrays of
    one of ``shapes``, with a share of zeros drawn from the range ``zeros``; all seeded from ``seed``."""
    rng = np.random.default_rng(seed)
    out = [WeightCase(shape, fill, seed + 10 * i, zeros=z, note=note) for i, (shape, fill, z, note) in enumerate(fixed)]
    for i in range(n_random):
        shape = shapes[int(rng.integers(len(shapes)))]
        out.append(WeightCase(shape, "sparse", seed + 500 + 10 * i, zeros=round(float(rng.uniform(*zeros)), 2)))
    return out


def weight_sparsity_cases(n_random: int = 4, seed: int = SEED + 2000) -> list[WeightCase]:
    """The arrays ``weight_sparsity(w)`` is checked on: fixed ones, then seeded random sparse ones."""
    return _fixed_then_sparse(_SPARSITY_FIXED, [(30,), (8, 12), (3, 3, 5, 5)], (0.1, 0.95), n_random, seed)


def _number_form(result, w=None) -> str | None:
    return number_problem(result)


def _same(a, b) -> bool:
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def check_weight_sparsity(fn, allow_reference: bool = False) -> None:
    """Check ``weight_sparsity(w) -> float`` (zeros / elements) against :func:`efficientnn.pruning.sparsity`.

    Example
    -------
    >>> check_weight_sparsity(lambda w: float(np.mean(w == 0)))
    """
    name = "weight_sparsity"
    _start(fn, name, allow_reference)
    for case, w, result in _each_result(fn, name, weight_sparsity_cases(), _number_form):
        expected = pruning.sparsity(w)
        if _same(result, expected):
            continue
        zeros = int(np.count_nonzero(w == 0))
        slips = [("density_for_sparsity", 1 - expected), ("len_not_size", zeros / len(w)),
                 ("count_not_share", zeros), ("percent", 100 * expected),
                 ("nonpositive_counted", float(np.mean(w <= 0)))]
        slip = next((s for s, v in slips if not _same(v, expected) and _same(result, v)), None)
        if slip is None and not 0 <= float(result) <= 1:
            slip = "count_not_share" if float(result) > 1 and float(result) == int(float(result)) else "percent"
        text = None if slip else ("Count the zeros (entries exactly equal to 0, whatever their sign) and divide by "
                                  "the number of elements.")
        raise _slip(case, name, result, slip, text)


def check_weight_sparsity_form(fn) -> None:
    """Visible test: ``weight_sparsity`` returns a number between 0 and 1 (not whether it is right)."""
    name, case = "weight_sparsity", WeightCase((4, 5), "sparse", seed=7, zeros=0.5)
    result = _form_check(fn, name, case, _number_form)
    if not 0 <= float(result) <= 1:
        w = case.build()
        hint = f" {PRUNING_SLIP_MESSAGES['len_not_size']}" if _same(result, np.count_nonzero(w == 0) / len(w)) else ""
        raise AssertionError(f"{case.where(name)} returned {result!r}: a sparsity is a share between 0 and 1.{hint}")


# --------------------------------------------------------------------------- csr_bytes
_CSR_FIXED = [
    ((6, 4), "sparse", 0.5, "a dense layer's (inputs, units) weights: 4 rows"),
    ((3, 3, 2, 8), "sparse", 0.8, "a convolution's (kh, kw, Cin, Cout) kernels: 8 rows"),
    ((20, 10), "sparse", 0.9, "90% zeros"),
    ((5, 3), "zeros", 0.0, "every weight zero"),
    ((4, 7), "normal", 0.0, "no zeros at all"),
    ((2, 9), "sparse", 0.3, ""),
]


def csr_bytes_cases(n_random: int = 4, seed: int = SEED + 3000) -> list[WeightCase]:
    """The arrays ``csr_bytes(w)`` is checked on (each with at least two axes, first and last axes differing)."""
    return _fixed_then_sparse(_CSR_FIXED, [(48, 16), (3, 3, 4, 6), (100, 10), (5, 5, 1, 8)], (0.3, 0.97), n_random,
                              seed)


def _csr_slips(w, expected):
    nnz, size, rows = int(np.count_nonzero(w)), w.size, w.shape[-1]
    out = [
        ("values_only", 4 * nnz),
        ("indices_forgotten", 4 * nnz + 4 * (rows + 1)),
        ("row_pointers_forgotten", 8 * nnz),
        ("row_pointers_off_by_one", 8 * nnz + 4 * rows),
        ("row_pointers_off_by_one", 8 * nnz + 4 * (rows + 2)),
        ("rows_wrong_axis", 8 * nnz + 4 * (w.shape[0] + 1)),
        ("rows_wrong_axis", 8 * nnz + 4 * (size // rows + 1)),
        ("zeros_stored", 8 * size + 4 * (rows + 1)),
        ("dense_bytes", 4 * size),
        ("bits", 8 * expected),
        ("saving_returned", 4 * size - expected),
    ]
    return [(slip, value) for slip, value in out if value != expected]


def _bytes_form(result, w=None) -> str | None:
    problem = _number_form(result)
    if problem:
        return problem
    if float(result) != int(float(result)):
        return f"returned {shown(result)}, which is not a whole number; a number of bytes is an int"
    return None


def check_csr_bytes(fn, allow_reference: bool = False) -> None:
    """Check ``csr_bytes(w) -> int`` against :func:`efficientnn.pruning.csr_bytes`.

    ``w`` has at least two axes; the CSR matrix has one row per output channel (``w.shape[-1]``),
    float32 values and int32 column indices and row pointers.

    Example
    -------
    >>> check_csr_bytes(lambda w: 8 * int(np.count_nonzero(w)) + 4 * (w.shape[-1] + 1))
    """
    name = "csr_bytes"
    _start(fn, name, allow_reference)
    for case, w, result in _each_result(fn, name, csr_bytes_cases(), _bytes_form):
        expected = pruning.csr_bytes(w)
        if float(result) == expected:
            continue
        slip = next((s for s, v in _csr_slips(w, expected) if float(result) == v), None)
        text = None if slip else ("Add up three arrays: the kept values (4 bytes each), their column indices (4 bytes "
                                  "each) and the rows + 1 row pointers (4 bytes each).")
        raise _slip(case, name, result, slip, text)


def check_csr_bytes_form(fn) -> None:
    """Visible test: ``csr_bytes`` returns a whole number (not whether it is right)."""
    _form_check(fn, "csr_bytes", WeightCase((6, 4), "sparse", seed=7, zeros=0.5), _bytes_form)


# --------------------------------------------------------------------------- structured pruning questions
# (question name, layer whose filters are removed, layer asked about, filters removed)
_FILTER_QUESTIONS = [
    ("conv2_macs_after_conv1_pruning", "conv1", "conv2", CONV1_FILTERS_REMOVED),
    ("fc1_macs_after_conv2_pruning", "conv2", "fc1", CONV2_FILTERS_REMOVED),
]


def _base(model):
    if model is None:
        from ..models import base_cnn

        model = base_cnn()
    return model


def pruned_base_cnn(layer: str, removed: int, model=None):
    """``model`` (default ``base_cnn()``) with ``removed`` of ``layer``'s filters cut out by L1 norm.

    Built with :func:`efficientnn.pruning.prune_channels`: the filters, their biases and the
    next layer's inputs that read them are gone.

    Example
    -------
    >>> pruned_base_cnn("conv1", 2).layer("conv1").filters
    3
    """
    model = _base(model)
    filters = model.layer(layer).params["W"].shape[-1]
    if not 0 < removed < filters:
        raise ValueError(f"removed must be between 1 and {filters - 1} for {layer}, got {removed}.")
    small, keep = pruning.prune_channels(model, {layer: removed / filters})
    if keep[layer].size != filters - removed:  # round(fraction * filters) must give back `removed`
        raise ValueError(f"could not remove exactly {removed} of {layer}'s {filters} filters.")
    return small


def pruning_questions(model=None) -> dict[str, Question]:
    """The structured-pruning questions of assignment 06, built from the pruned model's own layers.

    - "conv2_macs_after_conv1_pruning": MACs of conv2 for one image after :data:`CONV1_FILTERS_REMOVED`
      of conv1's filters are removed (conv2 keeps all of its filters);
    - "fc1_macs_after_conv2_pruning": MACs of fc1 after :data:`CONV2_FILTERS_REMOVED` of conv2's
      filters are removed (fc1 keeps all of its units).

    The prompts describe the unpruned model and what was removed, never the asked layer's new
    input shape (that is what the question is about).

    Parameters
    ----------
    model : Sequential or None, defaults to :func:`efficientnn.models.base_cnn`
    """
    model = _base(model)
    arch = describe_model(model)
    out = {}
    for name, pruned, asked, removed in _FILTER_QUESTIONS:
        small = pruned_base_cnn(pruned, removed, model)
        filters = model.layer(pruned).params["W"].shape[-1]
        keeps = (f"{asked} keeps all of its {model.layer(asked).params['W'].shape[-1]} "
                 f"{model.layer(asked).out_channels_attr}")
        text = (f"{model.name}: {arch}. Structured pruning removes {removed} of {pruned}'s {filters} filters (their "
                f"weights, biases and output channels); {keeps}. How many MACs does {asked} perform for one image "
                "after this? Bias additions are not counted; a rounded answer may use K for thousand.")
        out[name] = Question("macs", LayerSpec.from_layer(small.layer(asked)), name, text,
                             upstream=upstream_of(small, asked))
    return out


def _pruning_slip_values(name, model):
    """(slip, MACs) of the wrong answers specific to a structured-pruning question."""
    model = _base(model)
    row = next(r for r in _FILTER_QUESTIONS if r[0] == name)
    _, pruned, asked, removed = row
    filters = model.layer(pruned).params["W"].shape[-1]
    out = [("next_layer_unchanged", LayerSpec.from_layer(model.layer(asked)).macs())]
    if filters - removed != removed:
        swapped = pruned_base_cnn(pruned, filters - removed, model)
        out.append(("removed_for_kept", LayerSpec.from_layer(swapped.layer(asked)).macs()))
    out.append(("pruned_layer_answered", LayerSpec.from_layer(pruned_base_cnn(pruned, removed, model).layer(pruned)).macs()))
    asked_spec = LayerSpec.from_layer(model.layer(asked))
    width = "units" if asked_spec.kind == "dense" else "filters"
    lost = asked_spec.replace(**{width: getattr(asked_spec, width) - removed}).macs()
    if lost != LayerSpec.from_layer(pruned_base_cnn(pruned, removed, model).layer(asked)).macs():
        out.append(("next_layer_pruned", lost))  # for conv1 -> conv2 (5 and 5 filters) it is the right answer
    return out


def check_filter_pruning(name: str, answer, model=None) -> Verdict:
    """Check an answer to ``pruning_questions()[name]``.

    :func:`efficientnn.quiz.check` decides and explains; the slips specific to structured
    pruning are added: the value before pruning ("next_layer_unchanged"), the removed channels
    taken for the kept ones ("removed_for_kept"), the pruned layer's own MACs
    ("pruned_layer_answered"), each also as FLOPs (twice the MACs).
    """
    questions = pruning_questions(model)
    if name not in questions:
        raise ValueError(f"no pruning question named {name!r}; the names are: {', '.join(questions)}.")
    question = questions[name]
    right = question.layer.macs()
    candidates = []
    for slip, value in _pruning_slip_values(name, model):
        candidates.append((slip, value, PRUNING_SLIP_MESSAGES[slip]))
        candidates.append(("flops_for_macs+" + slip, 2 * value,
                           f"{SLIP_MESSAGES['flops_for_macs']} {PRUNING_SLIP_MESSAGES[slip]}"))
    candidates = [c for c in candidates if c[1] != right]
    return add_slips(check(question, answer), question, answer, candidates)


def assert_filter_pruning_understood(name: str, answer) -> None:
    """Raise AssertionError if ``answer`` shows one of the structured-pruning slips; None otherwise.

    A hidden test calls this first and then :func:`efficientnn.quiz.assert_correct` on
    ``pruning_questions()[name]``, so that the quiz decides the score and the slips the quiz cannot
    know about (the question is about a pruned model) still get their own message.
    """
    assert_no_slip(check_filter_pruning(name, answer), PRUNING_SLIP_MESSAGES)


def assert_filter_pruning(name: str, answer) -> None:
    """Raise AssertionError with :func:`check_filter_pruning`'s message unless the answer is fully right."""
    assert_right(check_filter_pruning(name, answer))


def pruning_widget(name: str, title=None) -> QuizWidget:
    """Self-check widget for ``pruning_questions()[name]``, checked by :func:`check_filter_pruning` like the hidden test."""
    return QuizWidget(pruning_questions()[name], title, checker=partial(check_filter_pruning, name))


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

#: The sparsities a student's sensitivity_scan is checked at.
SCAN_CHECK_SPARSITIES = (0.2, 0.5, 0.8)


def _scan_models():
    """Small untrained models, seeded, for :func:`check_sensitivity_scan` (no training: fast, reproducible)."""
    from ..layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
    from ..models import Sequential

    return [
        Sequential([Conv2D(4, 3), ReLU(), Flatten(), Dense(16), ReLU(), Dense(10)], (8, 8, 1), seed=SEED,
                   name="scan_case_1"),
        Sequential([Conv2D(3, 3), ReLU(), Conv2D(4, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(10)], (8, 8, 1),
                   seed=SEED + 1, name="scan_case_2"),
    ]


def sensitivity_scan_cases(n: int = 120):
    """``(model, x, y)`` triples the scan is checked on: ``n`` test digits (8x8, as scikit-learn has them)
    labelled with the unpruned model's own predictions, so every accuracy is the share of answers that
    pruning one layer leaves unchanged."""
    from ..data import load_digits

    x_test = load_digits(size=8)[2]
    # A different slice per model: the ledger tells calls apart by their arrays (a model it cannot record).
    cases = []
    for i, model in enumerate(_scan_models()):
        x = x_test[i * n:(i + 1) * n]
        cases.append((model, x, np.argmax(model.predict(x), axis=1)))
    return cases


def _scan_form(result, names, n_points) -> str | None:
    if not isinstance(result, dict):
        return (f"returned {type(result).__name__} {shown(result)}; return a dict of layer name -> list of "
                "accuracies, one per sparsity")
    if set(result) != set(names):
        return (f"returned a dict with keys {sorted(map(str, result))}; there must be one key for each layer with "
                f"weights: {names}")
    for name in names:
        values = result[name]
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) != n_points:
            return f"gave {shown(values)} for {name}; give a list of {n_points} accuracies, one per sparsity, in order"
        for v in values:
            problem = number_problem(v)
            if problem:
                return f"gave {shown(values)} for {name}: one entry {problem}"
    return None


def _scan_slips(model, sparsities, x, y, result):
    """The slip whose accuracies ``result`` reproduces, or None."""
    from ..train import accuracy

    names = [l.name for l in pruning.prunable_layers(model)]
    every = [accuracy(pruning.prune_magnitude(model.copy(), s), x, y) for s in sparsities]
    shared, piled = model.copy(), {}
    for name in names:
        piled[name] = [accuracy(pruning.prune_magnitude(shared, {name: s}), x, y) for s in sparsities]
    candidates = [("scan_global", {n: every for n in names}), ("scan_shared_copy", piled)]
    for slip, values in candidates:
        if all(np.allclose(np.asarray(result[n], float), values[n]) for n in names):
            return slip
    if all(max(np.asarray(result[n], float)) > 1 for n in names):
        return "scan_percent"
    return None


def _params_of(model):
    return [{k: v.copy() for k, v in layer.params.items()} for layer in model.layers]


def _same_params(a, b) -> bool:
    return all(p.keys() == q.keys() and all(np.array_equal(p[k], q[k]) for k in p) for p, q in zip(a, b))


def check_sensitivity_scan(fn, allow_reference: bool = False) -> None:
    """Check ``sensitivity_scan(model, sparsities, x, y)`` against :func:`efficientnn.pruning.layer_sensitivity`.

    The function must return ``{layer name: [accuracy at each sparsity]}`` for every layer with
    weights, each layer pruned alone by magnitude on a fresh copy, and leave ``model`` unchanged.
    It runs on the small seeded models of :func:`sensitivity_scan_cases`; the right accuracies
    are computed at check time.

    Example
    -------
    >>> check_sensitivity_scan(pruning.layer_sensitivity, allow_reference=True)
    """
    name = "sensitivity_scan"
    require_function(fn, name)
    if not allow_reference:
        refuse_reference(fn, name, _FORBIDDEN[name], "efficientnn.pruning's",
                         "which it is graded against: loop over the layers and sparsities yourself "
                         "(pruning.prune_magnitude and accuracy are allowed).", module=pruning)
    grid = list(SCAN_CHECK_SPARSITIES)
    for model, x, y in sensitivity_scan_cases():
        where = (f"{name}(model, {grid}, x, y), with model = {model!r} (seeded, untrained) and {len(x)} 8x8 test "
                 "digits labelled by the unpruned model's own predictions,")
        before = _params_of(model)
        result = call_safely(fn, (model, grid, x, y), {}, where)
        if not _same_params(before, _params_of(model)):
            raise AssertionError(f"{where} {PRUNING_SLIP_MESSAGES['scan_model_changed']}")
        names = [l.name for l in pruning.prunable_layers(model)]
        problem = _scan_form(result, names, len(grid))
        if problem:
            raise AssertionError(f"{where} {problem}.")
        expected = pruning.layer_sensitivity(model, grid, x, y)
        wrong = [n for n in names if not np.allclose(np.asarray(result[n], float), expected[n], atol=1e-9)]
        if wrong:
            slip = _scan_slips(model, grid, x, y, result)
            text = PRUNING_SLIP_MESSAGES[slip] if slip else (
                "For each layer and each sparsity s: copy the model, prune only that layer "
                "(pruning.prune_magnitude(copy, {name: s})) and score the copy with accuracy(copy, x, y).")
            raise AssertionError(f"{where} gave {shown(result[wrong[0]])} for {wrong[0]}, which is not right. {text}")


def check_sensitivity_scan_form(fn) -> None:
    """Visible test: ``sensitivity_scan`` returns one list of accuracies per layer (not whether they are right)."""
    name = "sensitivity_scan"
    require_function(fn, name)
    model, x, y = sensitivity_scan_cases(n=20)[0]
    where = f"{name}(model, [0.5], x, y), with a small model and {len(x)} digits,"
    result = call_safely(fn, (model, [0.5], x, y), {}, where)
    problem = _scan_form(result, [l.name for l in pruning.prunable_layers(model)], 1)
    if problem:
        raise AssertionError(f"{where} {problem}.")


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
        from ..layers import Conv2D, Dense, Flatten, ReLU
        from ..models import Sequential

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


def _filter_slips(W, b, W_next, n, expected):
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
    from .. import cost

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
        slip = next((s for s, arrays in _filter_slips(W, b, W_next, case.n_remove, expected)
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
