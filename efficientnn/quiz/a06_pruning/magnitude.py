"""Checkers of the unstructured-pruning exercises of assignment 06: magnitude_prune, weight_sparsity, csr_bytes.

Each runs the student's function on fixed and seeded random arrays, computes the right result with
:mod:`efficientnn.pruning` at check time and names the slip it recognises on the first mismatch.

Example
-------
>>> import numpy as np
>>> check_weight_sparsity(lambda w: float(np.mean(w == 0)))  # None: all pass
"""
from __future__ import annotations

import math

import numpy as np

from ... import pruning
from ..harness import number_problem, shown
from .slips import PRUNING_SLIP_MESSAGES, SEED, WeightCase, _each_result, _form_check, _slip, _start

__all__ = [
    "magnitude_prune_cases", "MAGNITUDE_PRUNE_CASE_SETS", "check_magnitude_prune", "check_magnitude_prune_form",
    "weight_sparsity_cases", "check_weight_sparsity", "check_weight_sparsity_form", "csr_bytes_cases",
    "check_csr_bytes", "check_csr_bytes_form",
]

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
        out.append(("k_zero_threshold", np.where(a <= ordered[-1], 0, w)))
    else:
        out.append(("ties_threshold", np.where(a <= ordered[k - 1], 0, w)))
    if k < n:
        out.append(("ties_kept", np.where(a < ordered[k], 0, w)))
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
    _form_check(fn, "magnitude_prune", WeightCase((3, 4), seed=7, sparsity=0.5), _array_form)


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
    return math.isclose(float(a), float(b), abs_tol=1e-12)  # and isclose's default rel_tol, 1e-9


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


