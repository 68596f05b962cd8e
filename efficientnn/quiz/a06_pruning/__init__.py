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

A package, one module per concept: :mod:`.slips` (the slip messages, the input arrays and the
call harness every checker shares), :mod:`.magnitude` (magnitude_prune, weight_sparsity,
csr_bytes), :mod:`.filter_questions` (the structured-pruning questions),
:mod:`.sensitivity_scan` and :mod:`.prune_filters` (parts 6 and 7). Every name is imported from
here, as before the split.

Example
-------
>>> import numpy as np
>>> from efficientnn.pruning import magnitude_mask
>>> check_magnitude_prune(lambda w, s: w * magnitude_mask(w, s), allow_reference=True)  # None: all pass
"""
from __future__ import annotations

from .filter_questions import (CONV1_FILTERS_REMOVED, CONV2_FILTERS_REMOVED, _pruning_slip_values,
                               assert_filter_pruning, assert_filter_pruning_understood, check_filter_pruning,
                               pruned_base_cnn, pruning_questions, pruning_slip_values, pruning_widget)
from .magnitude import (MAGNITUDE_PRUNE_CASE_SETS, check_csr_bytes, check_csr_bytes_form, check_magnitude_prune,
                        check_magnitude_prune_form, check_weight_sparsity, check_weight_sparsity_form,
                        csr_bytes_cases, magnitude_prune_cases, weight_sparsity_cases)
from .prune_filters import FilterCase, check_prune_filters, check_prune_filters_form, prune_filters_cases
from .sensitivity_scan import (SCAN_CHECK_SPARSITIES, check_sensitivity_scan, check_sensitivity_scan_form,
                               sensitivity_scan_cases)
from .slips import PRUNING_SLIP_MESSAGES, SEED, WeightCase

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
    "pruning_slip_values",
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
