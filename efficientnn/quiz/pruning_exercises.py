"""Checkers and questions for assignment 06 (pruning).

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

- "conv2_macs_after_conv1_pruning": conv2's MACs after removing some of conv1's filters (graded);
- "fc1_macs_after_conv2_pruning": fc1's MACs after removing some of conv2's filters (practice).

:func:`check_filter_pruning` adds the slips the quiz cannot know about (the next layer's input
left as it was before pruning, the removed channels taken for the kept ones, the pruned layer's
own cost given); :func:`assert_filter_pruning_understood` raises for those only, for a hidden test
that then calls :func:`efficientnn.quiz.assert_correct`; :func:`pruning_widget` is the self-check.

Example
-------
>>> import numpy as np
>>> from efficientnn.pruning import magnitude_mask
>>> check_magnitude_prune(lambda w, s: w * magnitude_mask(w, s), allow_reference=True)  # None: all pass
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace

import numpy as np

from .. import pruning
from .check import SLIP_MESSAGES, Verdict, check, matches
from .exercises import _call, require_function
from .parse import AnswerFormatError, parse_number
from .questions import LayerSpec, Question, describe_model
from .widgets import QuizWidget, feedback_html

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
]

#: Seed of the random cases: fixed, so every student is graded on the same arrays.
SEED = 606

#: How many filters the structured-pruning questions remove (conv1 and conv2 of base_cnn have 5).
CONV1_FILTERS_REMOVED = 2
CONV2_FILTERS_REMOVED = 2

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


def _uses_reference(fn, names) -> str | None:
    """The first of ``names`` that the function's code (or a function nested in it) takes from efficientnn.pruning.

    A name counts when it is efficientnn.pruning's own function in the function's globals, or when the
    code also names the module (``pruning.csr_bytes``, ``from efficientnn.pruning import ...``); a
    function of the student's that happens to share the name does not.
    """
    scope = getattr(fn, "__globals__", {})
    stack = [getattr(fn, "__code__", None)]
    while stack:
        code = stack.pop()
        if code is None:
            continue
        mentions_module = any(n == "pruning" or n.startswith("efficientnn") or scope.get(n) is pruning
                              for n in code.co_names + code.co_freevars)
        for name in code.co_names + code.co_freevars:
            if name in names and (mentions_module or scope.get(name) is getattr(pruning, name, None)):
                return name
        stack.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    return None


def _start(fn, name, allow_reference):
    require_function(fn, name)
    used = None if allow_reference else _uses_reference(fn, _FORBIDDEN[name])
    if used:
        raise AssertionError(f"{name} uses efficientnn.pruning's {used}, which it is graded against: write it with "
                             "numpy operations.")


def _run(fn, case: WeightCase, name: str):
    """Call ``fn`` on a fresh copy of the case's array; return (w, result), checking ``w`` is left alone."""
    w = case.build()
    original = w.copy()
    args = (w,) if case.sparsity is None else (w, case.sparsity)
    result = _call(fn, args, {}, case.where(name))
    if not np.array_equal(w, original):
        raise AssertionError(f"{case.where(name)} {PRUNING_SLIP_MESSAGES['in_place']}")
    return w, result


def _slip(case, name, result, slip, text=None) -> AssertionError:
    return AssertionError(f"{case.where(name)} returned {_short(result)}, which is not right. "
                          f"{text or PRUNING_SLIP_MESSAGES[slip]}")


def _short(value, limit=60) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    for case in magnitude_prune_cases(cases):
        w, result = _run(fn, case, name)
        problem = _array_form(result, w)
        if problem:
            raise AssertionError(f"{case.where(name)} {problem}.")
        if np.shares_memory(result, w):
            raise AssertionError(f"{case.where(name)} {PRUNING_SLIP_MESSAGES['aliased']}")
        expected = _reference_prune(w, case.sparsity)
        if not np.array_equal(result, expected):
            raise _diagnose_prune(case, w, result, expected)


def check_magnitude_prune_form(fn) -> None:
    """Visible test: ``magnitude_prune`` returns a new numeric array shaped like ``w`` and leaves ``w`` alone.

    Not whether the right weights were removed.
    """
    name = "magnitude_prune"
    require_function(fn, name)
    case = WeightCase((3, 4), "normal", seed=7, sparsity=0.5)
    w, result = _run(fn, case, name)
    problem = _array_form(result, w)
    if problem:
        raise AssertionError(f"{case.where(name)} {problem}.")
    if np.shares_memory(result, w):
        raise AssertionError(f"{case.where(name)} {PRUNING_SLIP_MESSAGES['aliased']}")


# --------------------------------------------------------------------------- weight_sparsity
_SPARSITY_FIXED = [
    ((10,), "sparse", 0.3, "a few zeros"),
    ((4, 6), "sparse", 0.5, "a dense layer's weights"),
    ((3, 3, 2, 4), "sparse", 0.9, "a convolution's kernels, mostly zero"),
    ((5, 5), "zeros", 0.0, "every weight zero"),
    ((7,), "normal", 0.0, "no zeros at all"),
    ((6, 4), "int", 0.0, "an integer array"),
]


def weight_sparsity_cases(n_random: int = 4, seed: int = SEED + 2000) -> list[WeightCase]:
    """The arrays ``weight_sparsity(w)`` is checked on: fixed ones, then seeded random sparse ones."""
    rng = np.random.default_rng(seed)
    out = [WeightCase(shape, fill, seed + 10 * i, zeros=z, note=note)
           for i, (shape, fill, z, note) in enumerate(_SPARSITY_FIXED)]
    for i in range(n_random):
        shape = [(30,), (8, 12), (3, 3, 5, 5)][int(rng.integers(3))]
        out.append(WeightCase(shape, "sparse", seed + 500 + 10 * i, zeros=round(float(rng.uniform(0.1, 0.95)), 2)))
    return out


def _number_form(result) -> str | None:
    if result is None:
        return "returned None (is a `return` missing?)"
    if isinstance(result, np.ndarray) and result.ndim == 0:
        result = result.item()
    if isinstance(result, (bool, np.bool_)) or not isinstance(result, (numbers.Real, np.integer, np.floating)):
        return f"returned {type(result).__name__} {_short(result)}; return a number"
    if not math.isfinite(float(result)):
        return f"returned {result!r}; return a finite number"
    return None


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
    for case in weight_sparsity_cases():
        w, result = _run(fn, case, name)
        problem = _number_form(result)
        if problem:
            raise AssertionError(f"{case.where(name)} {problem}.")
        expected = pruning.sparsity(w)
        if _same(result, expected):
            continue
        zeros = int(np.count_nonzero(w == 0))
        slips = [("density_for_sparsity", 1 - expected), ("count_not_share", zeros), ("percent", 100 * expected),
                 ("nonpositive_counted", float(np.mean(w <= 0)))]
        slip = next((s for s, v in slips if not _same(v, expected) and _same(result, v)), None)
        if slip is None and not 0 <= float(result) <= 1:
            slip = "count_not_share" if float(result) > 1 and float(result) == int(float(result)) else "percent"
        text = None if slip else ("Count the zeros (entries exactly equal to 0, whatever their sign) and divide by "
                                  "the number of elements.")
        raise _slip(case, name, result, slip, text)


def check_weight_sparsity_form(fn) -> None:
    """Visible test: ``weight_sparsity`` returns a number between 0 and 1 (not whether it is right)."""
    name = "weight_sparsity"
    require_function(fn, name)
    case = WeightCase((4, 5), "sparse", seed=7, zeros=0.5)
    _, result = _run(fn, case, name)
    problem = _number_form(result)
    if problem:
        raise AssertionError(f"{case.where(name)} {problem}.")
    if not 0 <= float(result) <= 1:
        raise AssertionError(f"{case.where(name)} returned {result!r}: a sparsity is a share between 0 and 1.")


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
    rng = np.random.default_rng(seed)
    out = [WeightCase(shape, fill, seed + 10 * i, zeros=z, note=note)
           for i, (shape, fill, z, note) in enumerate(_CSR_FIXED)]
    for i in range(n_random):
        shape = [(48, 16), (3, 3, 4, 6), (100, 10), (5, 5, 1, 8)][int(rng.integers(4))]
        out.append(WeightCase(shape, "sparse", seed + 500 + 10 * i, zeros=round(float(rng.uniform(0.3, 0.97)), 2)))
    return out


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


def _bytes_form(result) -> str | None:
    problem = _number_form(result)
    if problem:
        return problem
    if float(result) != int(float(result)):
        return f"returned {_short(result)}, which is not a whole number; a number of bytes is an int"
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
    for case in csr_bytes_cases():
        w, result = _run(fn, case, name)
        problem = _bytes_form(result)
        if problem:
            raise AssertionError(f"{case.where(name)} {problem}.")
        expected = pruning.csr_bytes(w)
        if float(result) == expected:
            continue
        slip = next((s for s, v in _csr_slips(w, expected) if float(result) == v), None)
        text = None if slip else ("Add up three arrays: the kept values (4 bytes each), their column indices (4 bytes "
                                  "each) and the rows + 1 row pointers (4 bytes each).")
        raise _slip(case, name, result, slip, text)


def check_csr_bytes_form(fn) -> None:
    """Visible test: ``csr_bytes`` returns a whole number (not whether it is right)."""
    name = "csr_bytes"
    require_function(fn, name)
    case = WeightCase((6, 4), "sparse", seed=7, zeros=0.5)
    _, result = _run(fn, case, name)
    problem = _bytes_form(result)
    if problem:
        raise AssertionError(f"{case.where(name)} {problem}.")


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
                 f"{'units' if model.layer(asked).kind == 'dense' else 'filters'}")
        text = (f"{model.name}: {arch}. Structured pruning removes {removed} of {pruned}'s {filters} filters (their "
                f"weights, biases and output channels); {keeps}. How many MACs does {asked} perform for one image "
                "after this? Bias additions are not counted; a rounded answer may use K for thousand.")
        out[name] = Question("macs", LayerSpec.from_layer(small.layer(asked)), name, text)
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
    verdict = check(question, answer)
    if verdict.correct or verdict.slip in ("format", "no_answer"):
        return verdict
    try:
        parsed = parse_number(answer)
    except AnswerFormatError:
        return verdict
    right = question.layer.macs()
    for slip, value in _pruning_slip_values(name, model):
        for factor, prefix in ((1, ""), (2, "flops_for_macs+")):
            if value * factor != right and matches(parsed, value * factor):
                parts = [SLIP_MESSAGES["flops_for_macs"]] if prefix else []
                message = " ".join(["Not yet.", *parts, PRUNING_SLIP_MESSAGES[slip]])
                return replace(verdict, points=0.0, slip=prefix + slip, message=message)
    return verdict


def assert_filter_pruning_understood(name: str, answer) -> None:
    """Raise AssertionError if ``answer`` shows one of the structured-pruning slips; None otherwise.

    A hidden test calls this first and then :func:`efficientnn.quiz.assert_correct` on
    ``pruning_questions()[name]``, so that the quiz decides the score and the slips the quiz cannot
    know about (the question is about a pruned model) still get their own message.
    """
    verdict = check_filter_pruning(name, answer)
    if verdict.slip and verdict.slip.split("+")[-1] in PRUNING_SLIP_MESSAGES:
        raise AssertionError(verdict.message)


def assert_filter_pruning(name: str, answer) -> None:
    """Raise AssertionError with :func:`check_filter_pruning`'s message unless the answer is fully right."""
    verdict = check_filter_pruning(name, answer)
    if not verdict.correct:
        raise AssertionError(verdict.message)


class _PruningWidget(QuizWidget):
    def __init__(self, name, title=None):
        self.question_name = name
        super().__init__(pruning_questions()[name], title)

    def _on_check(self, _button=None):
        self.last_verdict = check_filter_pruning(self.question_name, self.answer_box.value)
        self.feedback.value = feedback_html(self.last_verdict)


def pruning_widget(name: str, title=None) -> QuizWidget:
    """Self-check widget for ``pruning_questions()[name]``, checked by :func:`check_filter_pruning` like the hidden test."""
    return _PruningWidget(name, title)
