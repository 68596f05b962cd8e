"""Gradual pruning: Zhu & Gupta's sparsity schedule, and pruning with fine-tuning in between.

Example
-------
>>> [round(zhu_gupta_sparsity(t, 0.9, 4), 4) for t in range(5)]
[0.0, 0.5203, 0.7875, 0.8859, 0.9]
"""
from __future__ import annotations

from dataclasses import dataclass

from ..validation import positive_int, whole_number
from .masks import _check_sparsity, prune_magnitude
from .reports import model_sparsity

__all__ = ["zhu_gupta_sparsity", "PruneStep", "gradual_prune", "SweepPoint", "sparsity_sweep"]


def zhu_gupta_sparsity(step, final_sparsity, n_steps, initial_sparsity=0.0, start_step=0, step_interval=1) -> float:
    """Target sparsity at ``step`` on Zhu & Gupta's (2017) cubic schedule.

    ``s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt))**3`` for ``t0 <= t <= t0 + n * dt``;
    ``s_i`` before ``t0`` and ``s_f`` after. It prunes fast while many redundant weights remain
    and slowly near the end, when each removal hurts more.

    Parameters
    ----------
    step : int, t (here: pruning steps, each followed by fine-tuning)
    final_sparsity : float in [0, 1), s_f
    n_steps : int, n, pruning steps from s_i to s_f
    initial_sparsity : float in [0, 1), s_i
    start_step : int, t0
    step_interval : int, dt, steps between two prunings

    Example
    -------
    >>> [round(zhu_gupta_sparsity(t, 0.9, 4), 4) for t in range(5)]
    [0.0, 0.5203, 0.7875, 0.8859, 0.9]
    """
    s_f = _check_sparsity(final_sparsity, "final_sparsity")
    s_i = _check_sparsity(initial_sparsity, "initial_sparsity")
    n = positive_int(n_steps, "n_steps")
    dt = positive_int(step_interval, "step_interval")
    step = whole_number(step, "step")
    start_step = whole_number(start_step, "start_step")
    progress = min(max((step - start_step) / (n * dt), 0.0), 1.0)
    return s_f + (s_i - s_f) * (1.0 - progress) ** 3


@dataclass(frozen=True)
class PruneStep:
    """One step of :func:`gradual_prune`.

    Attributes
    ----------
    step : int, 1..n_steps, then n_steps + 1 for the final fine-tuning (if any)
    sparsity : float, the model's sparsity after the step (zeros / weights)
    accuracy : float or None, on (x_val, y_val) after the step's fine-tuning; None without data
    epochs : int, fine-tuning epochs run in the step
    """

    step: int
    sparsity: float
    accuracy: float | None
    epochs: int


def _finetune(model, x, y, epochs, lr, batch_size, seed, progress):
    from ..train import Adam, fit

    if epochs:
        fit(model, x, y, epochs=epochs, batch_size=batch_size, optimizer=Adam(lr=lr), seed=seed, progress=progress)


def _accuracy(model, x, y):
    from ..train import accuracy

    return None if x is None else accuracy(model, x, y)


def gradual_prune(
    model,
    final_sparsity,
    x,
    y,
    n_steps=4,
    epochs_per_step=1,
    final_epochs=0,
    initial_sparsity=0.0,
    scope="global",
    lr=5e-4,
    batch_size=64,
    seed=0,
    x_val=None,
    y_val=None,
    progress=False,
):
    """Prune ``model`` in place to ``final_sparsity`` in ``n_steps`` steps, fine-tuning after each.

    Step t = 1..n prunes by magnitude to :func:`zhu_gupta_sparsity` ``(t, final_sparsity,
    n_steps, initial_sparsity)`` (t0 = 0, dt = 1) and trains ``epochs_per_step`` epochs with the
    masks held; ``final_epochs`` more epochs follow the last step.

    Parameters
    ----------
    model : efficientnn Sequential, trained
    final_sparsity : float in [0, 1)
    x, y : training data, (N, *input_shape) float32 and (N,) int
    n_steps, epochs_per_step, final_epochs : int
    initial_sparsity : float in [0, 1), s_i
    scope : "global" or "layer", see :func:`prune_magnitude`
    lr : float, Adam learning rate for fine-tuning
    batch_size, seed : passed to :func:`efficientnn.train.fit`
    x_val, y_val : optional held-out data, scored after each step
    progress : bool, show training progress bars

    Returns
    -------
    list of :class:`PruneStep`

    Example
    -------
    >>> steps = gradual_prune(model, 0.9, x_train, y_train, x_val=x_test, y_val=y_test)  # doctest: +SKIP
    >>> [round(s.sparsity, 3) for s in steps]                                            # doctest: +SKIP
    [0.52, 0.787, 0.886, 0.9]
    """
    n_steps = positive_int(n_steps, "n_steps")
    epochs_per_step = positive_int(epochs_per_step, "epochs_per_step", allow_zero=True)
    final_epochs = positive_int(final_epochs, "final_epochs", allow_zero=True)
    if (x_val is None) != (y_val is None):
        raise ValueError("give both x_val and y_val, or neither.")
    steps = []
    for t in range(1, n_steps + 1):
        target = zhu_gupta_sparsity(t, final_sparsity, n_steps, initial_sparsity)
        prune_magnitude(model, target, scope=scope)
        _finetune(model, x, y, epochs_per_step, lr, batch_size, seed + t, progress)
        steps.append(PruneStep(t, model_sparsity(model), _accuracy(model, x_val, y_val), epochs_per_step))
    if final_epochs:
        _finetune(model, x, y, final_epochs, lr, batch_size, seed + n_steps + 1, progress)
        steps.append(PruneStep(n_steps + 1, model_sparsity(model), _accuracy(model, x_val, y_val), final_epochs))
    return steps


@dataclass(frozen=True)
class SweepPoint:
    """Accuracy of a model pruned in one shot to ``sparsity``, before and after fine-tuning.

    Attributes
    ----------
    sparsity : float, target (and achieved) sparsity of the weights
    accuracy : float in [0, 1], right after pruning, no retraining
    accuracy_finetuned : float in [0, 1], after ``epochs`` of fine-tuning with the masks held
    epochs : int
    """

    sparsity: float
    accuracy: float
    accuracy_finetuned: float
    epochs: int


def sparsity_sweep(model, sparsities, x_train, y_train, x_test, y_test, epochs=2, scope="global", lr=5e-4,
                   batch_size=64, seed=0, progress=False):
    """Prune copies of a trained ``model`` to each sparsity; score them before and after fine-tuning.

    ``model`` itself is not changed.

    Parameters
    ----------
    model : efficientnn Sequential, trained
    sparsities : iterable of floats in [0, 1)
    x_train, y_train : data for fine-tuning
    x_test, y_test : data for scoring
    epochs : int >= 0, fine-tuning epochs per sparsity
    scope, lr, batch_size, seed : as for :func:`gradual_prune`

    Returns
    -------
    list of :class:`SweepPoint`, in the order of ``sparsities``

    Example
    -------
    >>> points = sparsity_sweep(model, [0, 0.5, 0.9], x_train, y_train, x_test, y_test)  # doctest: +SKIP
    >>> sparsity_accuracy_plot(points)                                                 # doctest: +SKIP
    """
    sparsities = [_check_sparsity(s) for s in sparsities]
    if not sparsities:
        raise ValueError("sparsities is empty: give at least one sparsity to try.")
    epochs = positive_int(epochs, "epochs", allow_zero=True)
    points = []
    for s in sparsities:
        pruned = prune_magnitude(model.copy(), s, scope=scope)
        before = _accuracy(pruned, x_test, y_test)
        _finetune(pruned, x_train, y_train, int(epochs), lr, batch_size, seed, progress)
        points.append(SweepPoint(s, before, _accuracy(pruned, x_test, y_test), int(epochs)))
    return points
