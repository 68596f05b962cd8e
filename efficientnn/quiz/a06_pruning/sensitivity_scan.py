"""Checker of assignment 06's sensitivity_scan (part 6): accuracy after pruning one layer at a time.

Example
-------
>>> SCAN_CHECK_SPARSITIES
(0.2, 0.5, 0.8)
"""
from __future__ import annotations

import numpy as np

from ... import pruning
from ..harness import call_safely, number_problem, refuse_reference, require_function, shown
from .slips import PRUNING_SLIP_MESSAGES, SEED, _FORBIDDEN

__all__ = ["SCAN_CHECK_SPARSITIES", "sensitivity_scan_cases", "check_sensitivity_scan", "check_sensitivity_scan_form"]

#: The sparsities a student's sensitivity_scan is checked at.
SCAN_CHECK_SPARSITIES = (0.2, 0.5, 0.8)


def _scan_models():
    """Small untrained models, seeded, for :func:`check_sensitivity_scan` (no training: fast, reproducible)."""
    from ...layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
    from ...models import Sequential

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
    from ...data import load_digits

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
    from ...train import accuracy

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


