"""Tests for assignment 06's weight_sparsity and csr_bytes checkers, prune_filters, the scan and the filter questions.

Every expected number comes from a definition written here: zeros counted one by one, a CSR
matrix built entry by entry (values, column indices, row pointers), a hand-worked array. Messages
are checked for the concept they teach (regexes), never against the dictionary that wrote them.
The graded inputs are pinned with :func:`quiz_support.fingerprint` (a change must be deliberate).
"""
import re

import numpy as np
import pytest
from quiz_support import assert_message_rebuilds_last_call, assert_prose, fails, fingerprint, recording
from test_quiz_a06_pruning import prune_filters  # the reference written from the definition

from efficientnn import pruning
from efficientnn.layers import Conv2D, Dense, Flatten, ReLU
from efficientnn.models import Sequential, base_cnn
from efficientnn.quiz import a06_pruning as px


# --------------------------------------------------------------------------- right implementations
def weight_sparsity(w):
    """zeros / elements, each entry looked at once."""
    zeros = 0
    for v in np.asarray(w).ravel():
        zeros += int(v == 0)
    return zeros / np.asarray(w).size


def csr_bytes(w):
    """The CSR arrays built entry by entry, one row per output channel (the last axis); 4 bytes an entry."""
    matrix = w.reshape(-1, w.shape[-1]).T
    values, columns, row_pointers = [], [], [0]
    for row in matrix:
        for j, v in enumerate(row):
            if v != 0:
                values.append(np.float32(v))
                columns.append(np.int32(j))
        row_pointers.append(np.int32(len(values)))
    return 4 * len(values) + 4 * len(columns) + 4 * len(row_pointers)


def test_the_brute_forces_agree_with_hand_worked_arrays():
    w = np.float32([[0, 1.5], [2, 0], [0, 0]])  # 4 zeros of 6; rows = 2 channels, 2 kept values
    assert weight_sparsity(w) == 4 / 6
    assert csr_bytes(w) == 2 * 4 + 2 * 4 + 3 * 4  # values, column indices, rows + 1 pointers
    assert weight_sparsity(np.zeros((2, 3))) == 1.0 and csr_bytes(np.zeros((2, 3))) == 4 * 4


# --------------------------------------------------------------------------- weight_sparsity
def test_right_weight_sparsity_passes_and_the_reference_only_when_allowed():
    assert px.check_weight_sparsity(weight_sparsity) is None
    assert px.check_weight_sparsity(lambda w: pruning.sparsity(w), allow_reference=True) is None
    assert re.search(r"sparsity.*graded against", fails(px.check_weight_sparsity, lambda w: pruning.sparsity(w)))


def test_float_noise_is_accepted_and_a_real_difference_is_not():
    assert px.check_weight_sparsity(lambda w: weight_sparsity(w) + 1e-13) is None  # also where the answer is 0
    assert px.check_weight_sparsity(lambda w: weight_sparsity(w) * (1 + 1e-10)) is None
    fails(px.check_weight_sparsity, lambda w: weight_sparsity(w) + 1e-6)


def test_weight_sparsity_cases_hold_the_edges():
    cases = px.weight_sparsity_cases()
    built = [c.build() for c in cases]
    shares = [weight_sparsity(w) for w in built]
    assert 0.0 in shares and 1.0 in shares, "no zeros at all, every weight zero"
    assert any(w.dtype.kind == "i" for w in built) and {w.ndim for w in built} >= {1, 2, 4}
    assert any(w.ndim > 1 and len(w) != w.size and 0 < s < 1 for w, s in zip(built, shares)), "len(w) != w.size"
    assert any(np.any(w < 0) and 0 < s < 1 for w, s in zip(built, shares)), "negative weights next to zeros"
    randoms = [(c, w) for c, w in zip(cases, built) if not c.note]
    assert len(randoms) == 4 and all(0 < weight_sparsity(w) < 1 for _, w in randoms)
    assert len({fingerprint(w) for w in built}) == len(built)


def _right_but_not_on(test, slipped, right=weight_sparsity):
    return lambda w: slipped(w) if test(w) else right(w)


@pytest.mark.parametrize("slipped, concepts", [
    (lambda w: np.count_nonzero(w) / w.size, [r"density", r"not zero", r"zeros / elements"]),
    (lambda w: np.count_nonzero(w == 0) / len(w), [r"^len\(w\)", r"w\.size"]),
    (lambda w: int(np.count_nonzero(w == 0)), [r"number of zeros", r"divide"]),
    (lambda w: 100 * np.count_nonzero(w == 0) / w.size, [r"percentage", r"between 0 and 1"]),
    (lambda w: np.count_nonzero(w <= 0) / w.size, [r"negative weights were counted", r"exactly 0"]),
    # right on the 1-, 2- and 4-axis float arrays, wrong on the integer one only
    (_right_but_not_on(lambda w: w.dtype.kind == "i", lambda w: np.count_nonzero(w) / w.size), [r"density"]),
])
def test_each_weight_sparsity_slip_is_named_with_the_call(slipped, concepts):
    fn = recording(slipped)
    message = fails(px.check_weight_sparsity, fn)
    assert_message_rebuilds_last_call(message, "weight_sparsity", fn.calls[-1], ["w"])
    w = fn.calls[-1][0]
    assert f"returned {slipped(w)}, which is not right." in message
    text = message.split("which is not right. ", 1)[1]
    assert_prose(text, *concepts)
    assert repr(weight_sparsity(w)) not in text


@pytest.mark.parametrize("slipped, concept", [
    (lambda w: 0.5, r"^Count the zeros \(entries exactly equal to 0, whatever their sign\) and divide by the number "
                    r"of elements\.$"),
    (lambda w: 0.0, r"^Count the zeros"),
    (lambda w: 1.0, r"^Count the zeros"),
    (lambda w: 1.5, r"percentage"),
    (lambda w: 37.5, r"percentage"),
    (lambda w: 7, r"number of zeros"),
    (_right_but_not_on(lambda w: w.ndim == 4, lambda w: 2.0), r"number of zeros"),
])
def test_a_value_no_slip_explains_is_told_the_rule_or_the_unit(slipped, concept):
    fn = recording(slipped)
    message = fails(px.check_weight_sparsity, fn)
    assert f"returned {slipped(fn.calls[-1][0])}, which is not right." in message
    assert message.startswith("weight_sparsity(w)")
    text = message.split("which is not right. ", 1)[1]
    assert_prose(text, concept)
    assert not re.search(r"percentage|number of zeros", text) or not concept.startswith("^Count")


def test_weight_sparsity_form_accepts_any_share_and_rejects_the_rest():
    for share in (0.0, 0.5, 1.0, np.float32(0.25)):
        assert px.check_weight_sparsity_form(lambda w, s=share: s) is None
    for wrong in (1.5, -0.1, 42):
        message = fails(px.check_weight_sparsity_form, lambda w, v=wrong: v)
        assert message.startswith("weight_sparsity(w)") and f"returned {wrong!r}: a sparsity is a share" in message
        assert "between 0 and 1" in message and "len(w)" not in message
        assert message.endswith("a sparsity is a share between 0 and 1.")
    for checker in (px.check_weight_sparsity, px.check_weight_sparsity_form):
        message = fails(checker, lambda w: None)
        assert re.search(r"^weight_sparsity\(w\)( \(a few zeros\))?, with w = .*returned None", message)
        assert re.search(r"^weight_sparsity\(w\).*return a number", fails(checker, lambda w: "0.5"))


def test_weight_sparsity_form_names_len_for_size():
    fn = recording(lambda w: np.count_nonzero(w == 0) / len(w))
    message = fails(px.check_weight_sparsity_form, fn)
    (w,) = fn.calls[-1]
    assert w.ndim == 2 and len(w) < w.size and 0 < np.count_nonzero(w == 0) < w.size
    assert_message_rebuilds_last_call(message, "weight_sparsity", fn.calls[-1], ["w"])
    assert_prose(message.split("between 0 and 1. ", 1)[1], r"^len\(w\)", r"w\.size")


# --------------------------------------------------------------------------- csr_bytes
def test_right_csr_bytes_passes_and_the_reference_only_when_allowed():
    assert px.check_csr_bytes(csr_bytes) is None
    assert px.check_csr_bytes(lambda w: np.int64(csr_bytes(w))) is None
    assert px.check_csr_bytes(lambda w: float(csr_bytes(w))) is None  # a whole float is a whole number
    assert px.check_csr_bytes(lambda w: pruning.csr_bytes(w), allow_reference=True) is None
    assert re.search(r"csr_bytes.*graded against", fails(px.check_csr_bytes, lambda w: pruning.csr_bytes(w)))


def test_csr_bytes_cases_tell_the_slips_apart():
    cases = px.csr_bytes_cases()
    built = [c.build() for c in cases]
    assert all(w.ndim >= 2 and w.shape[0] != w.shape[-1] and w.size // w.shape[-1] != w.shape[-1] for w in built)
    assert any(np.count_nonzero(w) == 0 for w in built) and any(np.count_nonzero(w) == w.size for w in built)
    assert any(w.ndim == 4 and w.shape[0] != w.size // w.shape[-1] for w in built), "rows from axis 0 or flattened"
    assert built[0].ndim == 2 and any(w.ndim == 4 for w in built[1:])
    randoms = [w for c, w in zip(cases, built) if not c.note]
    assert len(randoms) >= 4 and all(0 < np.count_nonzero(w) < w.size for w in randoms)


def _on_4d(slipped):
    """Right on 2-axis arrays (the first case passes), ``slipped`` on a convolution's 4-axis kernels."""
    return lambda w: slipped(w) if w.ndim == 4 else csr_bytes(w)


def _nnz(w):
    return sum(1 for v in w.ravel() if v != 0)


@pytest.mark.parametrize("slipped, concepts", [
    (lambda w: 4 * _nnz(w), [r"Only the values", r"column indices", r"row\s+pointers"]),
    (lambda w: 4 * _nnz(w) + 4 * (w.shape[-1] + 1), [r"column indices are missing", r"int32"]),
    (lambda w: 8 * _nnz(w), [r"row pointers are missing", r"rows \+ 1"]),
    (lambda w: 8 * _nnz(w) + 4 * w.shape[-1], [r"rows \+ 1 row pointers, not rows"]),
    (lambda w: 8 * _nnz(w) + 4 * (w.shape[-1] + 2), [r"rows \+ 1 row pointers, not rows"]),
    (lambda w: 8 * _nnz(w) + 4 * (w.shape[0] + 1), [r"wrong axis", r"w\.shape\[-1\]"]),
    (lambda w: 8 * _nnz(w) + 4 * (w.size // w.shape[-1] + 1), [r"wrong axis", r"w\.shape\[-1\]"]),
    (lambda w: 8 * w.size + 4 * (w.shape[-1] + 1), [r"zeros were stored", r"count_nonzero"]),
    (lambda w: 4 * w.size, [r"dense array"]),
    (lambda w: 8 * csr_bytes(w), [r"bits"]),
])
def test_each_csr_slip_is_named_on_a_convolution_with_the_call(slipped, concepts):
    fn = recording(_on_4d(slipped))
    message = fails(px.check_csr_bytes, fn)
    (w,) = fn.calls[-1]
    assert w.ndim == 4, "the 2-axis case before passed"
    _named(message, fn, slipped, concepts)


def test_the_saving_slip_is_named():
    # Not on the first 4-axis case: there 4 * size - csr equals 8 * nnz + 4 * (kh * kw * Cin + 1), rows_wrong_axis.
    slipped = lambda w: 4 * w.size - csr_bytes(w)  # noqa: E731
    fn = recording(slipped)
    _named(fails(px.check_csr_bytes, fn), fn, slipped, [r"saving", r"dense bytes minus CSR bytes"])


def _named(message, fn, slipped, concepts):
    (w,) = fn.calls[-1]
    assert_message_rebuilds_last_call(message, "csr_bytes", fn.calls[-1], ["w"])
    assert f"returned {slipped(w)}, which is not right." in message
    text = message.split("which is not right. ", 1)[1]
    assert_prose(text, *concepts)
    assert str(csr_bytes(w)) not in text


def test_a_byte_count_no_slip_explains_is_told_the_three_arrays():
    fn = recording(lambda w: 8 * _nnz(w) + 3)
    message = fails(px.check_csr_bytes, fn)
    (w,) = fn.calls[-1]
    assert f"returned {8 * _nnz(w) + 3}, which is not right." in message
    assert message.startswith("csr_bytes(w)")
    assert_prose(message.split("which is not right. ", 1)[1],
                 r"^Add up three arrays: the kept values \(4 bytes each\), their column indices \(4 bytes each\) and "
                 r"the rows \+ 1 row pointers \(4 bytes each\)\.$")


@pytest.mark.parametrize("bad, concept", [
    (lambda w: None, r"returned None"),
    (lambda w: "96", r"return a number"),
    (lambda w: csr_bytes(w) + 0.5, r"returned \d+\.5, which is not a whole number; a number of bytes is an int"),
])
def test_csr_bytes_of_the_wrong_form_is_named(bad, concept):
    for checker in (px.check_csr_bytes, px.check_csr_bytes_form):
        message = fails(checker, bad)
        assert message.startswith("csr_bytes(w)") and re.search(concept, message), message


def test_csr_bytes_form_checks_form_only_on_a_sparse_matrix():
    fn = recording(lambda w: 7)
    assert px.check_csr_bytes_form(fn) is None  # wrong, but a whole number
    (w,) = fn.calls[-1]
    assert w.ndim == 2 and w.shape[0] != w.shape[-1] and 0 < np.count_nonzero(w) < w.size


# --------------------------------------------------------------------------- pinned inputs
def test_graded_and_visible_inputs_are_the_ones_students_were_graded_on():
    # See quiz_support.fingerprint: a change to these inputs must be deliberate.
    pin = lambda cs, name: fingerprint([(c.build(), c.where(name)) for c in cs])  # noqa: E731
    assert pin(px.weight_sparsity_cases(), "weight_sparsity") == "ee97a2fad6aaef68"
    assert pin(px.csr_bytes_cases(), "csr_bytes") == "f2fd87510cd6dca3"
    calls = {}
    for label, check, right in [("ws", px.check_weight_sparsity, weight_sparsity),
                                ("ws_form", px.check_weight_sparsity_form, weight_sparsity),
                                ("csr", px.check_csr_bytes, csr_bytes),
                                ("csr_form", px.check_csr_bytes_form, csr_bytes)]:
        fn = recording(right)
        check(fn)
        calls[label] = fingerprint(fn.calls)
    assert calls == {"ws": "aee9a2fa45c9a35f", "ws_form": "c7462289d9ba3ccc", "csr": "94186e755123d0ce",
                     "csr_form": "3cfaac00053f6924"}


# --------------------------------------------------------------------------- prune_filters (part 7)
def test_each_filter_case_rebuilds_from_its_message_and_the_inputs_are_pinned():
    from quiz_support import rebuilt

    cases = px.prune_filters_cases()
    for case in cases:
        scope = rebuilt(case.where())
        for name, arr in zip(("W", "b", "W_next"), case.build()):
            np.testing.assert_array_equal(scope[name], arr)
            assert scope[name].dtype == arr.dtype == np.float32, (case, name)
        assert case.where().startswith(f"prune_filters(W, b, W_next, {case.n_remove})")
    spike = next(c for c in cases if c.spike).build()[0]
    assert sorted(np.abs(spike[..., 0]).ravel())[-2:] == [0, 4] and np.all(spike[..., 1] == np.float32(0.3))
    tie = next(c for c in cases if c.tie).build()[0]
    assert np.array_equal(tie[..., 1], -tie[..., 0])
    # See quiz_support.fingerprint: a change to these inputs must be deliberate.
    assert fingerprint([(c.build(), c.where(), repr(c)) for c in cases]) == "84b9750da7033578"
    graded, visible = recording(prune_filters), recording(prune_filters)
    px.check_prune_filters(graded)
    px.check_prune_filters_form(visible)
    assert (fingerprint(graded.calls), fingerprint(visible.calls)) == ("7314a2065b9f53b2", "8f9b73b4845bedf2")
    assert visible.calls[0][3] == 2 and visible.calls[0][0].shape == (3, 3, 1, 5)


def test_notes_say_what_each_filter_case_is_about():
    for case in px.prune_filters_cases():
        note = case.note
        if case.k == 1:
            assert "1x1" in note
        if case.n_remove == 0:
            assert "nothing removed" in note
        if case.n_remove == case.cout - 1:
            assert "all filters but one" in note
        if case.tie:
            assert "same L1 norm" in note
        if case.spike:
            assert "one large weight" in note
        if case.dense_next:
            assert "dense layer after a flatten" in note


def test_prune_filters_passes_within_float32_rounding_only():
    assert px.check_prune_filters(lambda *a: [x.astype(np.float64) + 1e-7 for x in prune_filters(*a)]) is None
    message = fails(px.check_prune_filters, lambda *a: tuple(x * (1 + 5e-6) for x in prune_filters(*a)))
    assert "which are not right" in message


def _right_on_convolutions(slipped):
    """Right where the next layer is a convolution; ``slipped`` where it is a dense layer after a flatten."""
    return lambda W, b, Wn, n: slipped(W, b, Wn, n) if Wn.ndim == 2 else prune_filters(W, b, Wn, n)


def _keep(W, n):
    return np.sort(np.argsort(np.abs(W).reshape(-1, W.shape[-1]).sum(0), kind="stable")[n:])


@pytest.mark.parametrize("slipped, concept", [
    (lambda W, b, Wn, n: (W[..., _keep(W, n)], b, prune_filters(W, b, Wn, n)[2]), r"bias.*b\[keep\]"),
    (lambda W, b, Wn, n: (W[..., _keep(W, n)], b[_keep(W, n)], Wn), r"still reads every channel"),
    (lambda W, b, Wn, n: (W[..., _keep(W, n)], b[_keep(W, n)],
                          Wn.reshape(W.shape[-1], -1, Wn.shape[-1])[_keep(W, n)].reshape(-1, Wn.shape[-1])),
     r"channels first.*NHWC"),
])
def test_dense_next_slips_are_named_after_the_convolution_cases_pass(slipped, concept):
    fn = recording(_right_on_convolutions(slipped))
    message = fails(px.check_prune_filters, fn)
    W, b, Wn, n = fn.calls[-1]
    assert Wn.ndim == 2 and message.startswith(f"prune_filters(W, b, W_next, {n}) (a dense layer after a flatten")
    got = slipped(W, b, Wn, n)
    assert f"returned arrays of shapes W {got[0].shape}, b {got[1].shape}, W_next {got[2].shape}, which" in message
    assert re.search(concept, message.split("which are not right. ", 1)[1])


def test_wrong_values_no_slip_explains_are_told_the_recipe():
    fn = recording(lambda *a: tuple(2 * x for x in prune_filters(*a)))
    message = fails(px.check_prune_filters, fn)
    assert message.startswith("prune_filters(W, b, W_next, 2) (base_cnn's conv1 and conv2), with rng")
    assert "returned arrays of shapes W (3, 3, 1, 3), b (3,), W_next (3, 3, 3, 5), which are not right." in message
    assert_prose(message.split("which are not right. ", 1)[1],
                 r"^Rank the filters \(last axis of W\) by L1 norm, keep all but the n_remove weakest in their "
                 r"original order, and cut W\[\.\.\., keep\], b\[keep\] and the next layer's inputs: "
                 r"W_next\[:, :, keep, :\] for a convolution, the rows of the kept channels for a dense layer "
                 r"after a flatten\.$")


@pytest.mark.parametrize("bad, concept", [
    (lambda W, b, Wn, n: (W, b), r"returned \(array\(.*; return three arrays: \(W, b, W_next\), pruned\.$"),
    (lambda W, b, Wn, n: ("W", b, Wn), r"returned 'W' as the new W; return a numpy array of numbers\.$"),
    (lambda W, b, Wn, n: (W, [0.5], Wn), r"returned \[0\.5\] as the new b; return a numpy array of numbers\.$"),
    (lambda W, b, Wn, n: (W, b, None), r"returned None as the new W_next; return a numpy array of numbers\.$"),
    (lambda W, b, Wn, n: (W, b, Wn > 0), r"as the new W_next; return a numpy array of numbers\.$"),
    (lambda W, b, Wn, n: 1 / 0, r"raised ZeroDivisionError"),
])
def test_prune_filters_of_the_wrong_form_is_named_with_the_call(bad, concept):
    for checker in (px.check_prune_filters, px.check_prune_filters_form):
        message = fails(checker, bad)
        assert message.startswith("prune_filters(W, b, W_next, 2)") and re.search(concept, message), message


def test_prune_filters_form_checks_the_filter_count_only():
    assert px.check_prune_filters_form(lambda W, b, Wn, n: (W[..., :3] * 0, b[:3], Wn)) is None  # form only
    message = fails(px.check_prune_filters_form, lambda W, b, Wn, n: (W, b[:3], Wn))
    assert message.startswith("prune_filters(W, b, W_next, 2), with rng")
    assert message.endswith("returned W of shape (3, 3, 1, 5): removing 2 of 5 filters leaves (3, 3, 1, 3).")
    assert re.search(r"^prune_filters is str, not a function", fails(px.check_prune_filters_form, "prune_filters"))


def test_prune_filters_reference_is_refused_unless_allowed():
    def by_efficientnn(W, b, W_next, n):
        if n < 0:  # never: the name alone is refused
            pruning.channel_l1_norms(None)
        return prune_filters(W, b, W_next, n)

    assert re.search(r"channel_l1_norms.*graded against", fails(px.check_prune_filters, by_efficientnn))
    assert px.check_prune_filters(by_efficientnn, allow_reference=True) is None


# --------------------------------------------------------------------------- sensitivity_scan (part 6)
def _prune_copy(model, layer, s):
    copy = model.copy()
    w = copy.layer(layer).params["W"]
    flat = w.ravel()
    order = sorted(range(flat.size), key=lambda i: (abs(float(flat[i])), i))[: round(s * flat.size)]
    flat[order] = 0
    return copy


def sparsity_sweep(model, layer, sparsities, x, y):
    """The student's own helper: it shares a name with efficientnn.pruning's, which is no use of it."""
    return [float(np.mean(np.argmax(_prune_copy(model, layer, s).predict(x), axis=1) == y)) for s in sparsities]


def scan(model, sparsities, x, y):
    return {l.name: sparsity_sweep(model, l.name, sparsities, x, y) for l in model.layers if "W" in l.params}


def test_a_scan_with_its_own_helper_of_a_forbidden_name_passes():
    assert px.check_sensitivity_scan(scan) is None and px.check_sensitivity_scan_form(scan) is None


def test_the_scan_reference_is_refused_with_what_to_do_instead():
    message = fails(px.check_sensitivity_scan, lambda m, s, x, y: pruning.layer_sensitivity(m, s, x, y))
    assert_prose(message, r"^sensitivity_scan uses efficientnn\.pruning's layer_sensitivity, which it is graded "
                          r"against: loop over the layers and sparsities yourself \(pruning\.prune_magnitude and "
                          r"accuracy are allowed\)\.$")
    assert px.check_sensitivity_scan(lambda m, s, x, y: pruning.layer_sensitivity(m, s, x, y),
                                     allow_reference=True) is None
    assert re.search(r"^sensitivity_scan is int, not a function", fails(px.check_sensitivity_scan, 3))
    assert re.search(r"^sensitivity_scan is str, not a function", fails(px.check_sensitivity_scan_form, "scan"))


def _layers(m):
    return [l.name for l in m.layers if "W" in l.params]


@pytest.mark.parametrize("value, concept", [
    (1.5, r"percentages"),
    (1.0, r"^For each layer and each sparsity s: copy the model, prune only that layer \(pruning\.prune_magnitude"
          r"\(copy, \{name: s\}\)\) and score the copy with accuracy\(copy, x, y\)\.$"),
])
def test_a_constant_scan_is_told_the_unit_or_the_recipe(value, concept):
    fn = recording(lambda m, s, x, y: {n: [value] * len(s) for n in _layers(m)})
    message = fails(px.check_sensitivity_scan, fn)
    assert message.startswith("sensitivity_scan(model, [0.2, 0.5, 0.8], x, y), with model = ")
    assert "(seeded, untrained) and 120 8x8 test digits labelled by the unpruned model's own predictions, gave " \
           f"[{value}, {value}, {value}] for conv1, which is not right. " in message
    assert_prose(message.split("which is not right. ", 1)[1], concept)


@pytest.mark.parametrize("bad, concept", [
    (lambda m, s, x, y: [0.9] * len(s), r"returned list \[0\.9(, 0\.9)*\]; return a dict of layer name -> list of "
                                         r"accuracies, one per sparsity\.$"),
    (lambda m, s, x, y: {n: "abc"[: len(s)] for n in _layers(m)}, r"gave 'a(bc)?' for conv1; give a list of \d "
                                                                  r"accuracies, one per sparsity, in order\.$"),
    (lambda m, s, x, y: {n: 0.9 for n in _layers(m)}, r"gave 0\.9 for conv1; give a list"),
    (lambda m, s, x, y: {n: [None] * len(s) for n in _layers(m)}, r"gave \[None(, None)*\] for conv1: one entry "
                                                                  r"returned None"),
])
def test_scans_of_the_wrong_form_are_named_with_the_call(bad, concept):
    for checker in (px.check_sensitivity_scan, px.check_sensitivity_scan_form):
        message = fails(checker, bad)
        assert message.startswith("sensitivity_scan(model, [") and re.search(concept, message), message
    assert re.search(r"^sensitivity_scan\(model, \[0\.5\], x, y\), with a small model and 20 digits, returned list",
                     fails(px.check_sensitivity_scan_form, lambda m, s, x, y: [0.9]))


def test_the_scan_inputs_are_pinned():
    graded, visible = recording(scan), recording(scan)
    px.check_sensitivity_scan(graded)
    px.check_sensitivity_scan_form(visible)
    (model, s, x, y), = visible.calls
    assert s == [0.5] and len(x) == len(y) == 20 and _layers(model) == ["conv1", "fc1", "fc2"]
    assert [c[1] for c in graded.calls] == [[0.2, 0.5, 0.8]] * 2
    pin = lambda calls: fingerprint([(m.name, _layers(m), [l.params.get("W") for l in m.layers], list(s), x, y)  # noqa
                                     for m, s, x, y in calls])
    assert (pin(graded.calls), pin(visible.calls)) == ("6d95e4b3d0c860b7", "65a11b4e50accf49")


# --------------------------------------------------------------------------- structured pruning questions
def _small_cnn():
    return Sequential([Conv2D(8, 3), ReLU(), Conv2D(6, 3), ReLU(), Flatten(), Dense(32), ReLU(), Dense(10)],
                      input_shape=(20, 20, 1))


def _conv_macs(h, w, c, k, f):
    return (h - k + 1) * (w - k + 1) * f * k * k * c


def test_the_questions_and_their_slips_follow_the_model_given():
    model = _small_cnn()
    questions = px.pruning_questions(model)
    for name, q in questions.items():
        assert q.name == name and [u.name for u in q.upstream][:1] == ["conv1"]
    conv2, fc1 = questions["conv2_macs_after_conv1_pruning"], questions["fc1_macs_after_conv2_pruning"]
    assert "conv2 keeps all of its 6 filters" in conv2.prompt() and "fc1 keeps all of its 32 units" in fc1.prompt()
    for q, asked in ((conv2, "conv2"), (fc1, "fc1")):
        assert re.search(r"conv1.*conv2.*fc1.*fc2.*Structured pruning", q.prompt())
        assert q.prompt().endswith(f"How many MACs does {asked} perform for one image after this? Bias additions are "
                                   "not counted; a rounded answer may use K for thousand.")
    unchanged = _conv_macs(18, 18, 8, 3, 6)  # conv2 reading all 8 of conv1's channels
    removed_for_kept = _conv_macs(18, 18, px.CONV1_FILTERS_REMOVED, 3, 6)
    for answer, slip in ((unchanged, "next_layer_unchanged"), (removed_for_kept, "removed_for_kept"),
                         (2 * unchanged, "flops_for_macs+next_layer_unchanged")):
        verdict = px.check_filter_pruning("conv2_macs_after_conv1_pruning", answer, model)
        assert verdict.slip == slip and verdict.points == 0
    fc1_unchanged = dict(px.pruning_slip_values("fc1_macs_after_conv2_pruning", model))["next_layer_unchanged"]
    assert fc1_unchanged == 16 * 16 * 6 * 32
    conv2_slips = dict(px.pruning_slip_values("conv2_macs_after_conv1_pruning", model))
    assert conv2_slips["pruned_layer_answered"] == _conv_macs(20, 20, 1, 3, 8 - px.CONV1_FILTERS_REMOVED)
    assert conv2_slips["next_layer_pruned"] == _conv_macs(18, 18, 8, 3, 6 - px.CONV1_FILTERS_REMOVED)
    fc1_slips = dict(px.pruning_slip_values("fc1_macs_after_conv2_pruning", model))
    assert fc1_slips["next_layer_pruned"] == 16 * 16 * 6 * (32 - px.CONV2_FILTERS_REMOVED)
    right = _conv_macs(18, 18, 8 - px.CONV1_FILTERS_REMOVED, 3, 6)
    assert px.check_filter_pruning("conv2_macs_after_conv1_pruning", right, model).correct


def test_unknown_questions_and_impossible_counts_are_refused_with_the_range():
    with pytest.raises(ValueError, match=r"^no pruning question named 'conv9'; the names are: "
                                         r"conv2_macs_after_conv1_pruning, fc1_macs_after_conv2_pruning\.$"):
        px.check_filter_pruning("conv9", 1)
    model = base_cnn()
    assert px.pruned_base_cnn("conv1", 1, model).layer("conv1").filters == 4
    assert px.pruned_base_cnn("conv1", 4, model).layer("conv1").filters == 1
    for removed in (0, 5, -1):
        with pytest.raises(ValueError, match=rf"^removed must be between 1 and 4 for conv1, got {removed}\.$"):
            px.pruned_base_cnn("conv1", removed, model)


def test_the_pruning_widget_shows_its_title():
    widget = px.pruning_widget("fc1_macs_after_conv2_pruning", title="Part 5")
    assert "<b>Part 5</b>" in widget.children[0].value
    assert "<b>" not in px.pruning_widget("fc1_macs_after_conv2_pruning").children[0].value


def test_losing_the_asked_layers_filters_is_no_slip_where_it_gives_the_answer():
    # conv1 and conv2 equally wide: conv2 losing r of its 6 filters costs what conv2 reading 6 - r channels does
    model = Sequential([Conv2D(6, 3), ReLU(), Conv2D(6, 3), ReLU(), Flatten(), Dense(10)], input_shape=(10, 10, 1))
    slips = dict(px.pruning_slip_values("conv2_macs_after_conv1_pruning", model))
    assert "next_layer_pruned" not in slips
    assert slips["next_layer_unchanged"] == _conv_macs(8, 8, 6, 3, 6)
    assert slips["removed_for_kept"] == _conv_macs(8, 8, px.CONV1_FILTERS_REMOVED, 3, 6)


def test_a_scan_wrong_on_one_layer_is_shown_that_layers_values():
    def first_layer_off(model, sparsities, x, y):
        out = scan(model, sparsities, x, y)
        out["conv1"] = [v / 2 for v in out["conv1"]]
        return out

    fn = recording(first_layer_off)
    message = fails(px.check_sensitivity_scan, fn)
    model, s, x, y = fn.calls[-1]
    shown = re.search(r"gave (\[.*?) for (\w+), which is not right\.", message)
    first_value = first_layer_off(model, s, x, y)["conv1"][0]
    assert shown.group(2) == "conv1" and shown.group(1).startswith(f"[{first_value!r}, ")


def test_a_crashing_scan_is_named_with_the_call():
    for checker, call in ((px.check_sensitivity_scan, "[0.2, 0.5, 0.8]"), (px.check_sensitivity_scan_form, "[0.5]")):
        message = fails(checker, lambda m, s, x, y: 1 / 0)
        assert message.startswith(f"sensitivity_scan(model, {call}, x, y), with ")
        assert "raised ZeroDivisionError" in message


def test_taking_the_removed_filters_for_the_kept_is_no_slip_when_as_many_are_kept_as_removed():
    kept = px.CONV1_FILTERS_REMOVED  # conv1 of 2 * removed filters: removed and kept channels are as many
    model = Sequential([Conv2D(2 * kept, 3), ReLU(), Conv2D(5, 3), ReLU(), Flatten(), Dense(10)],
                       input_shape=(10, 10, 1))
    slips = dict(px.pruning_slip_values("conv2_macs_after_conv1_pruning", model))
    assert "removed_for_kept" not in slips and slips["next_layer_unchanged"] == _conv_macs(8, 8, 2 * kept, 3, 5)
