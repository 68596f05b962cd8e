"""Questions of assignment 06 on structured pruning: a layer's cost after the filters before it were removed.

Built from a ``base_cnn`` whose filters were really removed with
:func:`efficientnn.pruning.prune_channels`; :func:`check_filter_pruning` adds the slips the quiz
cannot know about.

Example
-------
>>> sorted(pruning_questions())
['conv2_macs_after_conv1_pruning', 'fc1_macs_after_conv2_pruning']
"""
from __future__ import annotations

from functools import partial

from ... import pruning
from ..check import SLIP_MESSAGES, Verdict, check
from ..harness import add_slips, assert_no_slip, assert_right
from ..questions import LayerSpec, Question, describe_model, upstream_of
from ..widgets import QuizWidget
from .slips import PRUNING_SLIP_MESSAGES

__all__ = [
    "CONV1_FILTERS_REMOVED", "CONV2_FILTERS_REMOVED", "pruned_base_cnn", "pruning_questions",
    "check_filter_pruning", "assert_filter_pruning_understood", "assert_filter_pruning", "pruning_widget",
    "pruning_slip_values",
]

#: How many filters the structured-pruning questions remove (conv1 and conv2 of base_cnn have 5).
CONV1_FILTERS_REMOVED = 2
# 3, not 2: fc1 after 2 removed has 221,184 MACs, the MACs of the lesson's worked example in 01
CONV2_FILTERS_REMOVED = 3


# --------------------------------------------------------------------------- structured pruning questions
# (question name, layer whose filters are removed, layer asked about, filters removed)
_FILTER_QUESTIONS = [
    ("conv2_macs_after_conv1_pruning", "conv1", "conv2", CONV1_FILTERS_REMOVED),
    ("fc1_macs_after_conv2_pruning", "conv2", "fc1", CONV2_FILTERS_REMOVED),
]


def _base(model):
    if model is None:
        from ...models import base_cnn

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


def pruning_slip_values(name: str, model=None) -> list:
    """(slip, MACs) of the wrong answers specific to the structured-pruning question ``name``.

    Every value, before any is dropped for equalling the answer (a slip void for this model), so
    that per-student variants (:mod:`efficientnn.quiz.variants`) can check which slips stay apart.

    Parameters
    ----------
    name : str, a key of :func:`pruning_questions`
    model : Sequential or None, the unpruned model (default :func:`efficientnn.models.base_cnn`)

    Example
    -------
    >>> dict(pruning_slip_values("fc1_macs_after_conv2_pruning"))["next_layer_unchanged"]
    368640
    """
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


_pruning_slip_values = pruning_slip_values  # its former private name


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
    for slip, value in pruning_slip_values(name, model):
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


