"""Tests for efficientnn.quiz.a06_pruning: the checkers and questions of assignment 06.

The right implementations below are written from the definitions (sorting with explicit tie keys,
building the CSR arrays, counting by hand), independently of efficientnn.pruning, and every
expected number is derived here from the formulas, so a slip in the package or in a checker shows.
"""
import math

import numpy as np
import pytest
from quiz_support import fails

from efficientnn.layers import Conv2D, Dense, Flatten, ReLU
from efficientnn.models import Sequential, base_cnn
from efficientnn.quiz import SLIP_MESSAGES, check
from efficientnn.quiz import a06_pruning as px
from efficientnn.quiz.a06_pruning import PRUNING_SLIP_MESSAGES as MSG
from efficientnn.quiz.harness import self_check


# --------------------------------------------------------------------------- right implementations
def magnitude_prune(w, sparsity):
    flat = w.ravel()
    k = round(sparsity * flat.size)
    # Sort by (magnitude, position): the tie rule written out instead of relying on a stable sort.
    order = sorted(range(flat.size), key=lambda i: (abs(float(flat[i])), i))
    out = flat.copy()
    for i in order[:k]:
        out[i] = 0
    return out.reshape(w.shape)


def weight_sparsity(w):
    zeros = sum(1 for v in np.asarray(w).ravel() if v == 0)
    return zeros / np.asarray(w).size


def csr_bytes(w):
    matrix = w.reshape(-1, w.shape[-1]).T  # one row per output channel
    values = [v for row in matrix for v in row if v != 0]
    columns = [j for row in matrix for j, v in enumerate(row) if v != 0]
    row_pointers = [0]
    for row in matrix:
        row_pointers.append(row_pointers[-1] + sum(1 for v in row if v != 0))
    return 4 * len(values) + 4 * len(columns) + 4 * len(row_pointers)


def _zero_order(w, order, k):
    out = w.ravel().copy()
    out[np.asarray(order[:k], dtype=int)] = 0
    return out.reshape(w.shape)


# --------------------------------------------------------------------------- magnitude_prune
def test_right_magnitude_prune_passes_every_case_set():
    for cases in px.MAGNITUDE_PRUNE_CASE_SETS:
        assert px.check_magnitude_prune(magnitude_prune, cases) is None
    assert self_check(px.check_magnitude_prune, magnitude_prune).correct


def test_other_right_implementations_pass():
    def with_where(w, sparsity):
        order = np.lexsort((np.arange(w.size), np.abs(w).ravel()))  # magnitude, then position
        keep = np.ones(w.size, bool)
        keep[order[: round(sparsity * w.size)]] = False
        return np.where(keep.reshape(w.shape), w, 0.0)  # float64 result: a different dtype is fine

    assert px.check_magnitude_prune(with_where) is None


def test_magnitude_prune_cases_cover_the_brief():
    basic, edge = px.magnitude_prune_cases("basic"), px.magnitude_prune_cases("edge")
    for case in basic:
        w = case.build()
        assert np.unique(np.abs(w)).size == w.size, "basic cases have no ties"
        assert abs(case.sparsity * w.size % 1 - 0.5) > 1e-6, "exact halves belong to the edge cases"
    built = [(c, c.build()) for c in edge]
    assert any(c.sparsity == 0 for c, _ in built)
    assert any(w.size == 1 for _, w in built)
    assert any(np.unique(np.abs(w)).size < w.size for _, w in built), "ties"
    assert any(np.any(w == 0) for _, w in built), "arrays that already hold zeros"
    assert any(c.sparsity * w.size % 1 == 0.5 for c, w in built), "an exact half to round"
    assert any(len(c.shape) == 4 for c in basic) and any(len(c.shape) == 2 for c in basic)
    assert len(px.magnitude_prune_cases("all")) == len(basic) + len(edge)
    with pytest.raises(ValueError):
        px.magnitude_prune_cases("everything")


def test_every_case_removes_exactly_round_s_n_weights():
    for case in px.magnitude_prune_cases("all"):
        w = case.build()
        k = round(case.sparsity * w.size)
        # Weights already at zero are the first to go, so they count among the k removed.
        expected_zeros = max(k, int(np.count_nonzero(w == 0)))
        assert np.count_nonzero(magnitude_prune(w, case.sparsity) == 0) == expected_zeros, case


def test_recipes_rebuild_the_inputs():
    cases = px.magnitude_prune_cases("all") + px.weight_sparsity_cases() + px.csr_bytes_cases()
    for case in cases:
        scope = {"np": np}
        exec(case.recipe(), scope)
        assert np.array_equal(scope["w"], case.build()) and scope["w"].dtype == case.build().dtype, case


def largest(w, s):
    return _zero_order(w, np.argsort(-np.abs(w).ravel(), kind="stable"), round(s * w.size))


def signed(w, s):
    return _zero_order(w, np.argsort(w.ravel(), kind="stable"), round(s * w.size))


def floor_count(w, s):
    return _zero_order(w, np.argsort(np.abs(w).ravel(), kind="stable"), int(s * w.size))


def half_up(w, s):
    return _zero_order(w, np.argsort(np.abs(w).ravel(), kind="stable"), math.floor(s * w.size + 0.5))


def one_more(w, s):
    return _zero_order(w, np.argsort(np.abs(w).ravel(), kind="stable"), round(s * w.size) + 1)


def kept_share(w, s):
    return _zero_order(w, np.argsort(np.abs(w).ravel(), kind="stable"), round((1 - s) * w.size))


def threshold(w, s):
    k = round(s * w.size)
    t = np.sort(np.abs(w).ravel())[k - 1]
    return np.where(np.abs(w) <= t, 0, w)


def threshold_keeping_ties(w, s):
    k = round(s * w.size)
    if k == w.size:
        return np.zeros_like(w)
    t = np.sort(np.abs(w).ravel())[k]  # the smallest magnitude kept
    return np.where(np.abs(w) < t, 0, w)


def ties_last_first(w, s):
    # Among equal magnitudes, the later position goes first: the opposite of the rule.
    order = np.lexsort((-np.arange(w.size), np.abs(w).ravel()))
    return _zero_order(w, order, round(s * w.size))


def rounded_values(w, s):
    return np.round(magnitude_prune(w, s), 2)


@pytest.mark.parametrize("slipped, cases, slip", [
    (largest, "basic", "largest_pruned"),
    (signed, "basic", "signed_order"),
    (floor_count, "basic", "count_floor"),
    (one_more, "basic", "count_off_by_one"),
    (kept_share, "basic", "kept_share"),
    (rounded_values, "basic", "kept_changed"),
    (half_up, "edge", "count_half_up"),
    (threshold, "edge", "k_zero_threshold"),
    (ties_last_first, "edge", "tie_order"),
])
def test_magnitude_prune_slips_are_named(slipped, cases, slip):
    message = fails(px.check_magnitude_prune, slipped, cases)
    assert MSG[slip] in message


def test_threshold_slips_are_named_when_ties_meet_the_threshold():
    def threshold_from_one(w, s):  # the threshold slip, with sparsity 0 handled
        return w.copy() if round(s * w.size) == 0 else threshold(w, s)

    assert MSG["ties_threshold"] in fails(px.check_magnitude_prune, threshold_from_one, "edge")
    assert MSG["ties_kept"] in fails(px.check_magnitude_prune, threshold_keeping_ties, "edge")
    # Without ties a threshold is right: part 1 passes it.
    assert px.check_magnitude_prune(threshold_from_one, "basic") is None


def test_the_threshold_slip_passes_part_one_but_not_part_two():
    assert px.check_magnitude_prune(threshold, "basic") is None
    fails(px.check_magnitude_prune, threshold, "edge")


def test_magnitude_prune_message_names_the_input_but_not_the_right_output():
    message = fails(px.check_magnitude_prune, largest, "basic")
    case = px.magnitude_prune_cases("basic")[0]
    assert case.call("magnitude_prune") in message and case.recipe() in message
    expected = magnitude_prune(case.build(), case.sparsity)
    assert np.array2string(expected) not in message and str(expected.tolist()) not in message


def test_unexplained_wrong_counts_state_the_rule_not_the_count():
    def two_fewer(w, s):
        return _zero_order(w, np.argsort(np.abs(w).ravel(), kind="stable"), max(round(s * w.size) - 2, 0))

    message = fails(px.check_magnitude_prune, two_fewer, "basic")
    case = px.magnitude_prune_cases("basic")[0]
    assert f"round({case.sparsity} * {case.build().size})" in message
    assert f" {round(case.sparsity * case.build().size)} " not in message.replace(case.recipe(), "")


def test_wrong_weights_with_the_right_count_are_not_smallest():
    def skip_the_smallest(w, s):
        order = np.argsort(np.abs(w).ravel(), kind="stable")
        k = round(s * w.size)
        return _zero_order(w, np.concatenate([order[1:k + 1], order[:1]]), k)

    assert MSG["not_smallest"] in fails(px.check_magnitude_prune, skip_the_smallest, "basic")


@pytest.mark.parametrize("bad, expected", [
    (lambda w, s: None, "returned None"),
    (lambda w, s: magnitude_prune(w, s).tolist(), "not a numpy array"),
    (lambda w, s: magnitude_prune(w, s) != 0, "bool array"),
    (lambda w, s: magnitude_prune(w, s).ravel(), "keep w's shape"),
    (lambda w, s: np.full(w.shape, np.nan), "nan or inf"),
    (lambda w, s: 1 / 0, "raised ZeroDivisionError"),
])
def test_garbage_gets_a_clear_message(bad, expected):
    assert expected in fails(px.check_magnitude_prune, bad)


def test_not_implemented_and_not_callable():
    def stub(w, sparsity):
        raise NotImplementedError()

    assert "replace the `raise NotImplementedError()`" in fails(px.check_magnitude_prune, stub)
    assert "not a function" in fails(px.check_magnitude_prune, 3)
    assert "not a function" in fails(px.check_magnitude_prune_form, "magnitude_prune")
    assert not self_check(px.check_magnitude_prune, stub).correct


def test_changing_the_input_or_returning_it_is_reported():
    def in_place(w, s):
        flat = w.reshape(-1)
        flat[np.argsort(np.abs(flat), kind="stable")[: round(s * w.size)]] = 0
        return w.copy()

    def returns_w_when_nothing_to_do(w, s):
        return w if round(s * w.size) == 0 else magnitude_prune(w, s)

    assert MSG["in_place"] in fails(px.check_magnitude_prune, in_place)
    assert MSG["aliased"] in fails(px.check_magnitude_prune, returns_w_when_nothing_to_do, "edge")


def test_calling_efficientnn_pruning_is_refused_unless_allowed():
    from efficientnn import pruning

    def uses_mask(w, s):
        return w * pruning.magnitude_mask(w, s)

    assert "magnitude_mask" in fails(px.check_magnitude_prune, uses_mask)
    assert px.check_magnitude_prune(uses_mask, allow_reference=True) is None


def test_magnitude_prune_form_checks_form_only():
    assert px.check_magnitude_prune_form(magnitude_prune) is None
    assert px.check_magnitude_prune_form(largest) is None  # wrong, but of the right form
    assert "returned None" in fails(px.check_magnitude_prune_form, lambda w, s: None)
    assert MSG["aliased"] in fails(px.check_magnitude_prune_form, lambda w, s: w)


# --------------------------------------------------------------------------- weight_sparsity
def test_right_weight_sparsity_passes():
    assert px.check_weight_sparsity(weight_sparsity) is None
    assert px.check_weight_sparsity(lambda w: 1 - np.count_nonzero(w) / w.size) is None


def test_weight_sparsity_cases_cover_the_edges():
    built = [c.build() for c in px.weight_sparsity_cases()]
    values = [weight_sparsity(w) for w in built]
    assert 0.0 in values and 1.0 in values and any(0 < v < 1 for v in values)
    assert any(w.dtype.kind == "i" for w in built) and any(w.ndim == 4 for w in built)


@pytest.mark.parametrize("slipped, slip", [
    (lambda w: np.count_nonzero(w) / w.size, "density_for_sparsity"),
    (lambda w: int(np.count_nonzero(w == 0)), "count_not_share"),
    (lambda w: 100 * np.count_nonzero(w == 0) / w.size, "percent"),
    (lambda w: np.count_nonzero(w <= 0) / w.size, "nonpositive_counted"),
])
def test_weight_sparsity_slips_are_named(slipped, slip):
    assert MSG[slip] in fails(px.check_weight_sparsity, slipped)


def test_weight_sparsity_message_never_holds_the_right_value():
    for slipped in (lambda w: np.count_nonzero(w) / w.size, lambda w: 0.123):
        message = fails(px.check_weight_sparsity, slipped)
        case = next(c for c in px.weight_sparsity_cases() if c.call("weight_sparsity") in message and c.recipe() in message)
        right = weight_sparsity(case.build())
        rest = message.replace(case.recipe(), "")
        assert repr(right) not in rest and f"{right:.2f}" not in rest


def test_weight_sparsity_garbage_and_form():
    assert "return a number" in fails(px.check_weight_sparsity, lambda w: "0.5")
    assert "returned None" in fails(px.check_weight_sparsity, lambda w: None)
    assert px.check_weight_sparsity_form(weight_sparsity) is None
    assert px.check_weight_sparsity_form(lambda w: 0.99) is None  # form only
    assert "between 0 and 1" in fails(px.check_weight_sparsity_form, lambda w: 42)
    assert "sparsity" in fails(px.check_weight_sparsity, lambda w: __import__("efficientnn").pruning.sparsity(w))


# --------------------------------------------------------------------------- csr_bytes
def test_right_csr_bytes_passes():
    assert px.check_csr_bytes(csr_bytes) is None
    assert px.check_csr_bytes(lambda w: np.int64(8 * np.count_nonzero(w) + 4 * (w.shape[-1] + 1))) is None


def test_csr_cases_tell_the_axes_apart():
    for case in px.csr_bytes_cases():
        w = case.build()
        assert w.ndim >= 2 and w.shape[0] != w.shape[-1] and w.size // w.shape[-1] != w.shape[-1]
    built = [c.build() for c in px.csr_bytes_cases()]
    assert any(np.count_nonzero(w) == 0 for w in built) and any(np.count_nonzero(w) == w.size for w in built)
    assert any(w.ndim == 4 for w in built)


def _nnz_rows(w):
    return int(np.count_nonzero(w)), w.shape[-1]


@pytest.mark.parametrize("slipped, slip", [
    (lambda w: 4 * _nnz_rows(w)[0], "values_only"),
    (lambda w: 4 * _nnz_rows(w)[0] + 4 * (_nnz_rows(w)[1] + 1), "indices_forgotten"),
    (lambda w: 8 * _nnz_rows(w)[0], "row_pointers_forgotten"),
    (lambda w: 8 * _nnz_rows(w)[0] + 4 * _nnz_rows(w)[1], "row_pointers_off_by_one"),
    (lambda w: 8 * _nnz_rows(w)[0] + 4 * (w.shape[0] + 1), "rows_wrong_axis"),
    (lambda w: 8 * w.size + 4 * (w.shape[-1] + 1), "zeros_stored"),
    (lambda w: 4 * w.size, "dense_bytes"),
    (lambda w: 8 * csr_bytes(w), "bits"),
    (lambda w: 4 * w.size - csr_bytes(w), "saving_returned"),
])
def test_csr_bytes_slips_are_named(slipped, slip):
    assert MSG[slip] in fails(px.check_csr_bytes, slipped)


def test_csr_bytes_messages_never_hold_the_right_value():
    message = fails(px.check_csr_bytes, lambda w: 8 * np.count_nonzero(w) + 3)
    case = px.csr_bytes_cases()[0]
    assert case.recipe() in message and str(csr_bytes(case.build())) not in message.replace(case.recipe(), "")
    assert "Add up three arrays" in message


def test_csr_bytes_garbage_and_form():
    assert "not a whole number" in fails(px.check_csr_bytes, lambda w: csr_bytes(w) + 0.5)
    assert "a number of bytes" in fails(px.check_csr_bytes_form, lambda w: 1.5)
    assert px.check_csr_bytes_form(lambda w: 7) is None  # form only
    assert "csr_bytes" in fails(px.check_csr_bytes, lambda w: __import__("efficientnn").pruning.csr_bytes(w))


# --------------------------------------------------------------------------- structured pruning questions
def conv_macs(h, w, c, k, f):
    return (h - k + 1) * (w - k + 1) * f * k * k * c


def test_conv2_question_expects_the_shallower_kernels():
    q = px.pruning_questions()["conv2_macs_after_conv1_pruning"]
    side = 28 - 3 + 1
    kept = 5 - px.CONV1_FILTERS_REMOVED
    assert q.layer.input_shape == (side, side, kept)
    assert check(q, conv_macs(side, side, kept, 3, 5)).correct
    prompt = q.prompt()
    assert f"{side}x{side}" not in prompt and str(conv_macs(side, side, kept, 3, 5)) not in prompt
    assert "removes 2 of conv1's 5 filters" in prompt and "conv2 keeps all of its 5 filters" in prompt


def test_fc1_question_expects_the_smaller_flatten():
    q = px.pruning_questions()["fc1_macs_after_conv2_pruning"]
    side = 28 - 2 * (3 - 1)
    inputs = side * side * (5 - px.CONV2_FILTERS_REMOVED)
    assert check(q, inputs * 128).correct


def test_filter_pruning_slips_are_named_and_score_zero():
    name = "conv2_macs_after_conv1_pruning"
    side = 26
    kept, removed = 5 - px.CONV1_FILTERS_REMOVED, px.CONV1_FILTERS_REMOVED
    right = conv_macs(side, side, kept, 3, 5)
    cases = {
        conv_macs(side, side, 5, 3, 5): "next_layer_unchanged",
        2 * conv_macs(side, side, 5, 3, 5): "flops_for_macs+next_layer_unchanged",
        conv_macs(side, side, removed, 3, 5): "removed_for_kept",
        conv_macs(28, 28, 1, 3, kept): "pruned_layer_answered",
    }
    for answer, slip in cases.items():
        verdict = px.check_filter_pruning(name, answer)
        assert verdict.slip == slip and verdict.points == 0 and not verdict.correct
        for part in slip.split("+"):
            assert (MSG.get(part) or SLIP_MESSAGES[part]) in verdict.message
        assert str(right) not in verdict.message and f"{right:,}" not in verdict.message
    assert px.check_filter_pruning(name, 2 * right).slip == "flops_for_macs"  # the quiz's own slip
    assert px.check_filter_pruning(name, right).correct
    assert px.check_filter_pruning(name, f"~{right / 1000:.1f}K").correct
    assert px.check_filter_pruning(name, "many").slip == "format"
    with pytest.raises(ValueError):
        px.check_filter_pruning("no_such_question", 1)


def test_assert_filter_pruning_understood_raises_only_for_those_slips():
    name = "conv2_macs_after_conv1_pruning"
    right = conv_macs(26, 26, 3, 3, 5)
    with pytest.raises(AssertionError, match="value before pruning"):
        px.assert_filter_pruning_understood(name, conv_macs(26, 26, 5, 3, 5))
    assert px.assert_filter_pruning_understood(name, right) is None
    assert px.assert_filter_pruning_understood(name, 2 * right) is None  # left to assert_correct
    assert px.assert_filter_pruning_understood(name, 17) is None
    with pytest.raises(AssertionError):
        px.assert_filter_pruning(name, 17)
    assert px.assert_filter_pruning(name, right) is None


def test_pruning_widget_uses_the_same_checker():
    widget = px.pruning_widget("conv2_macs_after_conv1_pruning", title="Part 5")
    widget.answer_box.value = str(conv_macs(26, 26, 5, 3, 5))
    widget._on_check()
    assert widget.last_verdict.slip == "next_layer_unchanged"
    assert MSG["next_layer_unchanged"][:40] in widget.feedback.value


def test_questions_follow_the_model_given():
    model = Sequential([Conv2D(8, 3), ReLU(), Conv2D(6, 3), ReLU(), Flatten(), Dense(32), ReLU(), Dense(10)],
                       input_shape=(20, 20, 1))
    questions = px.pruning_questions(model)
    conv2 = questions["conv2_macs_after_conv1_pruning"]
    assert check(conv2, conv_macs(18, 18, 8 - px.CONV1_FILTERS_REMOVED, 3, 6)).correct
    fc1 = questions["fc1_macs_after_conv2_pruning"]
    assert check(fc1, 16 * 16 * (6 - px.CONV2_FILTERS_REMOVED) * 32).correct
    assert "removes 2 of conv1's 8 filters" in conv2.prompt()
    with pytest.raises(ValueError):
        px.pruned_base_cnn("conv1", 5)


def test_pruned_base_cnn_removes_the_weakest_filters():
    model = base_cnn()
    norms = np.abs(model.layer("conv1").params["W"]).sum(axis=(0, 1, 2))
    small = px.pruned_base_cnn("conv1", 2, model)
    kept = np.sort(np.argsort(norms, kind="stable")[2:])
    assert np.array_equal(small.layer("conv1").params["W"], model.layer("conv1").params["W"][..., kept])
    assert np.array_equal(small.layer("conv2").params["W"], model.layer("conv2").params["W"][:, :, kept, :])


# --------------------------------------------------------------------------- the plot added for the notebook
def test_storage_by_sparsity_draws_dense_and_csr_sizes():
    import matplotlib

    matplotlib.use("Agg")
    from efficientnn.plots import storage_by_sparsity

    fig = storage_by_sparsity((40, 8), [0.0, 0.5, 0.9])
    dense_line, csr_line = fig.axes[0].get_lines()[:2]
    assert np.allclose(dense_line.get_ydata(), 4 * 40 * 8 / 1e6)
    nnz = [40 * 8 - round(s * 40 * 8) for s in (0.0, 0.5, 0.9)]
    assert np.allclose(csr_line.get_ydata(), [(8 * n + 4 * (8 + 1)) / 1e6 for n in nnz])
    with pytest.raises(ValueError):
        storage_by_sparsity((4, 4), [])


# --------------------------------------------------------------------------- sensitivity_scan (part 6)
def _scan_by_hand(model, sparsities, x, y):
    """Each layer alone, pruned with an explicitly tie-keyed magnitude order, scored by hand."""
    scan = {}
    for layer in [l for l in model.layers if "W" in l.params]:
        row = []
        for s in sparsities:
            copy = model.copy()
            w = copy.layer(layer.name).params["W"]
            w[...] = magnitude_prune(w, s)
            row.append(sum(int(p == t) for p, t in zip(np.argmax(copy.predict(x), axis=1), y)) / len(y))
        scan[layer.name] = row
    return scan


def test_right_sensitivity_scan_passes():
    px.check_sensitivity_scan(_scan_by_hand)
    px.check_sensitivity_scan_form(_scan_by_hand)


def test_scan_cases_are_two_models_whose_layers_differ():
    cases = px.sensitivity_scan_cases()
    assert len(cases) == 2
    assert [[l.name for l in m.layers if "W" in l.params] for m, _, _ in cases] == [
        ["conv1", "fc1", "fc2"], ["conv1", "conv2", "fc1"]]
    (m1, x1, y1), (m2, x2, y2) = cases
    assert not np.array_equal(x1, x2)  # the ledger tells the two calls apart by their arrays
    for model, x, y in cases:  # labels are the unpruned model's answers: it scores 1 on them
        assert np.array_equal(np.argmax(model.predict(x), axis=1), y)
        scan = _scan_by_hand(model, list(px.SCAN_CHECK_SPARSITIES), x, y)
        # The curves differ between layers, so a scan that mixes layers up cannot pass.
        assert len({tuple(v) for v in scan.values()}) == len(scan)


def _scan_everything_at_once(model, sparsities, x, y):
    from efficientnn import pruning
    from efficientnn.train import accuracy
    return {l.name: [accuracy(pruning.prune_magnitude(model.copy(), s), x, y) for s in sparsities]
            for l in pruning.prunable_layers(model)}


def _scan_one_copy(model, sparsities, x, y):
    shared = model.copy()
    out = {}
    for layer in [l for l in model.layers if "W" in l.params]:
        row = []
        for s in sparsities:
            w = shared.layer(layer.name).params["W"]
            w[...] = magnitude_prune(w, s)
            row.append(float(np.mean(np.argmax(shared.predict(x), axis=1) == y)))
        out[layer.name] = row
    return out


def _scan_percent(model, sparsities, x, y):
    return {k: [100 * v for v in row] for k, row in _scan_by_hand(model, sparsities, x, y).items()}


@pytest.mark.parametrize("slipped, slip", [(_scan_everything_at_once, "scan_global"),
                                           (_scan_one_copy, "scan_shared_copy"),
                                           (_scan_percent, "scan_percent")])
def test_sensitivity_scan_slips_are_named(slipped, slip):
    with pytest.raises(AssertionError) as err:
        px.check_sensitivity_scan(slipped)
    assert MSG[slip] in str(err.value)


def test_scan_that_prunes_the_given_model_is_caught_after_it_did():
    touched = []

    def in_place(model, sparsities, x, y):
        w = model.layers[0].params["W"]
        w[...] = magnitude_prune(w, sparsities[-1])
        touched.append(int(np.count_nonzero(w == 0)))
        return _scan_by_hand(model, sparsities, x, y)

    with pytest.raises(AssertionError, match="changed the model it was given"):
        px.check_sensitivity_scan(in_place)
    assert touched and touched[0] > 0  # the attack ran: the model really lost weights


@pytest.mark.parametrize("bad, expected", [
    (lambda m, s, x, y: [0.9] * len(s), "return a dict"),
    (lambda m, s, x, y: {"conv1": [0.9] * len(s)}, "one key for each layer with weights"),
    (lambda m, s, x, y: {l.name: [0.9] for l in m.layers if "W" in l.params}, "one per sparsity"),
    (lambda m, s, x, y: {l.name: ["high"] * len(s) for l in m.layers if "W" in l.params}, "return a number"),
])
def test_scan_garbage_gets_a_clear_message(bad, expected):
    with pytest.raises(AssertionError, match=expected):
        px.check_sensitivity_scan(bad)


def test_scan_wrong_values_message_holds_no_right_value():
    def off(model, sparsities, x, y):
        return {k: [v * 0.5 for v in row] for k, row in _scan_by_hand(model, sparsities, x, y).items()}

    with pytest.raises(AssertionError) as err:
        px.check_sensitivity_scan(off)
    model, x, y = px.sensitivity_scan_cases()[0]
    right = _scan_by_hand(model, list(px.SCAN_CHECK_SPARSITIES), x, y)
    assert "prune_magnitude(copy, {name: s})" in str(err.value)
    assert not any(repr(v) in str(err.value) for row in right.values() for v in row)


def test_scan_calling_the_reference_is_refused():
    from efficientnn import pruning

    with pytest.raises(AssertionError, match="layer_sensitivity"):
        px.check_sensitivity_scan(lambda m, s, x, y: pruning.layer_sensitivity(m, s, x, y))


# --------------------------------------------------------------------------- prune_filters (part 7)
def prune_filters(W, b, W_next, n_remove):
    """From the definition: L1 norms summed by hand, ties by index, NHWC rows found one by one."""
    cout = W.shape[-1]
    norms = [float(sum(abs(float(v)) for v in W[..., f].ravel())) for f in range(cout)]
    removed = set(sorted(range(cout), key=lambda f: (norms[f], f))[:n_remove])
    keep = [f for f in range(cout) if f not in removed]
    if W_next.ndim == 4:
        W_next_kept = W_next[:, :, keep, :]
    else:  # row r of the flattened NHWC map reads channel r % cout
        W_next_kept = W_next[[r for r in range(W_next.shape[0]) if r % cout in keep]]
    return W[..., keep], b[keep], W_next_kept


def test_right_prune_filters_passes():
    px.check_prune_filters(prune_filters)
    px.check_prune_filters_form(prune_filters)


def test_filter_cases_cover_both_next_layers_ties_and_l1_against_l2():
    cases = px.prune_filters_cases()
    assert {c.dense_next for c in cases} == {False, True}
    assert any(c.tie for c in cases) and any(c.spike for c in cases)
    assert {c.n_remove for c in cases} >= {0}
    assert any(c.n_remove == c.cout - 1 for c in cases)
    spike = next(c for c in cases if c.spike)
    W, _, _ = spike.build()
    l1 = np.abs(W).reshape(-1, W.shape[-1]).sum(0)
    l2 = np.sqrt((W.astype(np.float64) ** 2).reshape(-1, W.shape[-1]).sum(0))
    assert np.argmin(l1) != np.argmin(l2)


def _filters_with(rank=None, keep_order=True, cut_bias=True, cut_next=True, next_axis=2, channels_first=False):
    def fn(W, b, W_next, n_remove):
        cout = W.shape[-1]
        norms = rank(W) if rank else np.abs(W).reshape(-1, cout).sum(0)
        order = np.argsort(norms, kind="stable")[n_remove:]
        keep = np.sort(order) if keep_order else order
        if not cut_next:
            nxt = W_next
        elif W_next.ndim == 4:
            nxt = np.take(W_next, keep, axis=next_axis)
        elif channels_first:
            nxt = W_next.reshape(cout, -1, W_next.shape[-1])[keep].reshape(-1, W_next.shape[-1])
        else:
            nxt = W_next.reshape(-1, cout, W_next.shape[-1])[:, keep, :].reshape(-1, W_next.shape[-1])
        return W[..., keep], (b[keep] if cut_bias else b), nxt
    return fn


@pytest.mark.parametrize("slipped, slip", [
    (_filters_with(rank=lambda W: -np.abs(W).reshape(-1, W.shape[-1]).sum(0)), "filters_strongest"),
    (_filters_with(rank=lambda W: W.reshape(-1, W.shape[-1]).sum(0)), "filters_signed"),
    (_filters_with(rank=lambda W: (W ** 2).reshape(-1, W.shape[-1]).sum(0)), "filters_l2"),
    (_filters_with(keep_order=False), "filters_order"),
    (_filters_with(cut_bias=False), "filters_bias"),
    (_filters_with(cut_next=False), "filters_next_unchanged"),
    (_filters_with(next_axis=3), "filters_next_output_axis"),
    (_filters_with(channels_first=True), "filters_flatten_order"),
])
def test_prune_filters_slips_are_named(slipped, slip):
    with pytest.raises(AssertionError) as err:
        px.check_prune_filters(slipped)
    assert MSG[slip] in str(err.value)


def test_keeping_n_remove_filters_is_named():
    def kept_n(W, b, W_next, n_remove):
        keep = np.sort(np.argsort(np.abs(W).reshape(-1, W.shape[-1]).sum(0), kind="stable")[:n_remove])
        return W[..., keep], b[keep], W_next[:, :, keep, :]

    with pytest.raises(AssertionError) as err:
        px.check_prune_filters(kept_n)
    assert MSG["filters_kept_n"] in str(err.value)


def test_prune_filters_that_changes_its_input_is_caught_after_it_did():
    changed = []

    def in_place(W, b, W_next, n_remove):
        W[..., 0] = 0
        changed.append(float(np.abs(W[..., 0]).sum()))
        return prune_filters(W, b, W_next, n_remove)

    with pytest.raises(AssertionError, match="changed an input array"):
        px.check_prune_filters(in_place)
    assert changed == [0.0]


@pytest.mark.parametrize("bad, expected", [
    (lambda W, b, Wn, n: W, "return three arrays"),
    (lambda W, b, Wn, n: (W, b), "return three arrays"),
    (lambda W, b, Wn, n: (W, b, "next"), "numpy array of numbers"),
])
def test_prune_filters_garbage_gets_a_clear_message(bad, expected):
    with pytest.raises(AssertionError, match=expected):
        px.check_prune_filters(bad)


def test_prune_filters_calling_the_reference_is_refused():
    from efficientnn import pruning

    def cheat(W, b, W_next, n_remove):
        pruning.channel_l1_norms(None)

    with pytest.raises(AssertionError, match="channel_l1_norms"):
        px.check_prune_filters(cheat)
