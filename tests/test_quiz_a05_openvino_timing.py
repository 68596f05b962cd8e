"""Tests for efficientnn.quiz.a05_openvino_timing: the checkers of assignment 05 (layerwise timing).

No OpenVINO needed: the measurements are built here as LayerTime rows (or plain dicts) with
chosen times and statuses, named and costed after efficientnn's own base_cnn, so every accepted
answer is known from the rows themselves. The intensity's right value and its slips are derived
here from the definition (values counted by hand), independently of the module.
"""
import math
import re

import pytest
from quiz_support import assert_prose, fails

from efficientnn.cost import profile
from efficientnn.models import base_cnn
from efficientnn.openvino_timing import LayerTime
from efficientnn.quiz import ledger
from efficientnn.quiz import a05_openvino_timing as tx
from efficientnn.quiz.a05_openvino_timing import INTENSITY_SLIP_MESSAGES as IMSG
from efficientnn.quiz.harness import self_check
from efficientnn.quiz.questions import LayerSpec

# --------------------------------------------------------------------------- synthetic measurements
FUSED_INTO = {"relu1": "conv1", "relu2": "conv2", "relu3": "fc1"}


def row(name, kind, status="EXECUTED", median=0.0, flops=0, fused_into=None, inserted=False):
    spread = 0.1 * median
    return LayerTime(name=name, kind=kind, status=status, fused_into=fused_into, node_type="", exec_type="",
                     nodes=(name,), median_us=median, p10_us=median - spread, p90_us=median + spread, runs=40,
                     batch_size=1, macs=flops // 2, flops=flops, bytes_moved=1, flops_per_byte=float(flops),
                     predicted_us=flops / 1e5)


def base_rows(times, statuses=None, inserted=()):
    """base_cnn's layers (names, kinds and FLOPs from efficientnn) with the given medians (us).

    Layers missing from ``times`` are the ReLUs (FUSED into the layer before them) and the flatten
    (NOT_RUN), unless ``statuses`` says otherwise. ``inserted`` adds (name, median) Reorder rows.
    """
    statuses = statuses or {}
    out = []
    for cost in profile(base_cnn()):
        status = statuses.get(cost.name)
        if status is None:
            status = "EXECUTED" if cost.name in times else ("FUSED" if cost.name in FUSED_INTO else "NOT_RUN")
        out.append(row(cost.name, cost.kind, status, times.get(cost.name, 0.0), cost.flops,
                       FUSED_INTO.get(cost.name) if status == "FUSED" else None))
    for name, median in inserted:
        out.append(LayerTime(name=name, kind="reorder", status="EXECUTED", fused_into=None, node_type="Reorder",
                             exec_type="reorder_f32", nodes=(name,), median_us=median, p10_us=median,
                             p90_us=median, runs=40, batch_size=1, macs=0, flops=0, bytes_moved=8,
                             flops_per_byte=0.0, predicted_us=0.0, inserted=True))
    return out


# conv1 is slower than conv2 although conv2 has more FLOPs; fc1 dominates by far.
TYPICAL = {"conv1": 18.0, "conv2": 9.0, "fc1": 57.0, "fc2": 5.0}


def run_of(times=TYPICAL, **kwargs):
    return {"base_cnn": tx.layer_records(base_rows(times, **kwargs))}


def flops_of(name):
    return next(c.flops for c in profile(base_cnn()) if c.name == name)


# --------------------------------------------------------------------------- the measurement as data
def test_layer_records_keep_the_fields_the_checkers_read():
    rows = base_rows(TYPICAL, inserted=[("conv2_reorder", 3.0)])
    records = tx.layer_records(rows)
    assert [r["name"] for r in records] == [r.name for r in rows]
    for record, source in zip(records, rows):
        assert record == {"name": source.name, "kind": source.kind, "status": source.status,
                          "fused_into": source.fused_into, "median_us": source.median_us, "flops": source.flops,
                          "inserted": source.inserted}
    assert tx.layer_records(records) == records  # plain records are read back unchanged


def test_layer_records_survive_the_ledger():
    """The grader's clean re-check decodes this_run from the ledger and must reach the same verdict."""
    this_run = {**run_of(), "wide_layer": tx.speedup_record(1.4, 0.36, 7.89)}
    decoded = ledger.decode(ledger.encode(this_run))
    assert decoded == this_run
    tx.check_dominant_layer("fc1", decoded)
    tx.check_speedup_sign("faster", decoded)
    assert fails(tx.check_slower_conv, "conv2", decoded) == fails(tx.check_slower_conv, "conv2", this_run)


def test_layer_records_reject_rows_without_times():
    with pytest.raises(ValueError, match="median_us"):
        tx.layer_records([{"name": "conv1", "status": "EXECUTED"}])


def test_speedup_record_computes_the_speedup_and_validates():
    record = tx.speedup_record(2.0, 0.5, 8.0)
    assert record["speedup"] == pytest.approx(2.0 / 0.5)
    for bad in [(0, 1, 1), (1, -1, 1), (1, 1, float("nan")), ("1", 1, 1), (True, 1, 1)]:
        with pytest.raises(ValueError, match="positive number"):
            tx.speedup_record(*bad)


# --------------------------------------------------------------------------- part 1: the dominant layer
def test_dominant_layer_accepts_the_slowest_layer_written_loosely():
    this_run = run_of()
    slowest = max(TYPICAL, key=TYPICAL.get)
    for answer in [slowest, slowest.upper(), f"  {slowest} ", f"'{slowest}'"]:
        tx.check_dominant_layer(answer, this_run)


def test_dominant_layer_tie_rule_accepts_a_layer_within_tolerance():
    top = 50.0
    inside = top * (1 - tx.TIE_TOLERANCE) + 0.5
    outside = top * (1 - tx.TIE_TOLERANCE) - 0.5
    tx.check_dominant_layer("conv1", run_of({"conv1": inside, "conv2": 9.0, "fc1": top, "fc2": 5.0}))
    tx.check_dominant_layer("fc1", run_of({"conv1": inside, "conv2": 9.0, "fc1": top, "fc2": 5.0}))
    message = fails(tx.check_dominant_layer, "conv1", run_of({"conv1": outside, "conv2": 9.0, "fc1": top, "fc2": 5.0}))
    assert "conv1" in message and "within 20%" in message
    assert tx.accepted_slowest(base_rows({"conv1": inside, "conv2": 9.0, "fc1": top, "fc2": 5.0})) == {"conv1", "fc1"}


def test_dominant_layer_ignores_inserted_nodes():
    rows = base_rows(TYPICAL, inserted=[("conv1_reorder", 500.0)])
    assert tx.accepted_slowest(rows) == {"fc1"}
    message = fails(tx.check_dominant_layer, "conv1_reorder", {"base_cnn": tx.layer_records(rows)})
    assert "inserted" in message and "not a layer" in message


def test_dominant_layer_names_the_slips_without_the_answer():
    this_run = run_of()
    fused = fails(tx.check_dominant_layer, "relu3", this_run)
    assert "FUSED" in fused and "no time of its own" in fused
    idle = fails(tx.check_dominant_layer, "flatten", this_run)
    assert "NOT_RUN" in idle
    plain = fails(tx.check_dominant_layer, "conv2", this_run)
    assert "within 20%" in plain
    for message in (fused, idle, plain):
        assert "fc1" not in message


def test_dominant_layer_most_flops_slip():
    # fc1 has the most FLOPs of base_cnn; here conv1 took clearly longer.
    assert max(profile(base_cnn()), key=lambda c: c.flops).name == "fc1"
    this_run = run_of({"conv1": 100.0, "conv2": 9.0, "fc1": 40.0, "fc2": 5.0})
    message = fails(tx.check_dominant_layer, "fc1", this_run)
    assert "most FLOPs" in message and "conv1" not in message


def test_dominant_layer_unknown_name_lists_the_layers():
    message = fails(tx.check_dominant_layer, "dense1", run_of())
    assert "'dense1' is not a layer of base_cnn" in message
    for cost in profile(base_cnn()):
        assert cost.name in message


@pytest.mark.parametrize("answer, words", [(..., "no answer"), (None, "no answer"), ("", "no answer"),
                                           (3, "as a string"), (["fc1"], "as a string")])
def test_dominant_layer_form(answer, words):
    assert words in fails(tx.check_dominant_layer, answer, run_of())
    assert words in fails(tx.check_layer_name_form, answer)


# --------------------------------------------------------------------------- part 2: the slower convolution
def test_slower_conv_follows_the_measurement_not_the_flops():
    assert flops_of("conv2") > flops_of("conv1")
    this_run = run_of()  # conv1 18 us, conv2 9 us
    tx.check_slower_conv("conv1", this_run)
    message = fails(tx.check_slower_conv, "conv2", this_run)
    assert "most FLOPs" in message and "conv1" not in message
    tx.check_slower_conv("conv2", run_of({"conv1": 8.0, "conv2": 12.0, "fc1": 50.0, "fc2": 4.0}))


def test_slower_conv_tie_accepts_both():
    this_run = run_of({"conv1": 10.0, "conv2": 9.0, "fc1": 50.0, "fc2": 4.0})
    tx.check_slower_conv("conv1", this_run)
    tx.check_slower_conv("conv2", this_run)


def test_slower_conv_rejects_a_layer_that_is_no_convolution():
    message = fails(tx.check_slower_conv, "fc1", run_of())
    assert "not one of base_cnn's convolutions: conv1, conv2" in message


# --------------------------------------------------------------------------- part 3: fused layers
def test_fused_layers_accepts_the_set_in_any_container():
    this_run = run_of()
    fused = {name for name in FUSED_INTO}
    assert tx.fused_layers(base_rows(TYPICAL)) == fused
    for answer in [fused, sorted(fused), tuple(fused), frozenset(fused), ", ".join(sorted(fused)),
                   {n.upper() for n in fused}, " ".join(sorted(fused))]:
        tx.check_fused_layers(answer, this_run)


def test_fused_layers_slips():
    this_run = run_of()
    fused = set(FUSED_INTO)
    missing = fails(tx.check_fused_layers, fused - {"relu3"}, this_run)
    assert "Not every layer whose status is FUSED" in missing and "relu3" not in missing
    empty = fails(tx.check_fused_layers, set(), this_run)
    assert "says no layer was fused" in empty
    not_run = fails(tx.check_fused_layers, fused | {"flatten"}, this_run)
    assert "flatten's status is NOT_RUN, not FUSED" in not_run
    executed = fails(tx.check_fused_layers, fused | {"conv1"}, this_run)
    assert "conv1 ran as a node of its own" in executed
    unknown = fails(tx.check_fused_layers, fused | {"bias1"}, this_run)
    assert "'bias1' is not a layer" in unknown
    for message in (missing, empty, not_run, executed):
        assert not any(name in message for name in fused)


def test_fused_layers_follow_the_run():
    # A run where OpenVINO also fused fc2 into fc1 (as it does with other thread settings).
    statuses = {"fc2": "FUSED"}
    rows = base_rows({"conv1": 18.0, "conv2": 9.0, "fc1": 57.0}, statuses=statuses)
    this_run = {"base_cnn": tx.layer_records(rows)}
    tx.check_fused_layers(set(FUSED_INTO) | {"fc2"}, this_run)
    assert "Not every layer" in fails(tx.check_fused_layers, set(FUSED_INTO), this_run)
    # and a run with nothing fused: the empty set is right
    nothing = base_rows({"conv1": 1.0, "relu1": 1.0, "conv2": 1.0, "relu2": 1.0, "fc1": 1.0, "relu3": 1.0,
                         "fc2": 1.0})
    tx.check_fused_layers(set(), {"base_cnn": tx.layer_records(nothing)})


def test_fused_layers_form():
    assert "{} is an empty dict" in fails(tx.check_layer_set_form, {})
    assert "not a layer name" in fails(tx.check_layer_set_form, {"relu1", 3})
    assert "no answer" in fails(tx.check_layer_set_form, ...)
    assert "write a set of layer names" in fails(tx.check_layer_set_form, 12)
    tx.check_layer_set_form(set())
    tx.check_layer_set_form("relu1, relu2")


# --------------------------------------------------------------------------- parts 4 and 5: speed-up
def wide(standard_ms, separable_ms, mac_ratio=7.89):
    return {"wide_layer": tx.speedup_record(standard_ms, separable_ms, mac_ratio)}


def test_speedup_sign_follows_the_measurement_with_the_tie_rule():
    tx.check_speedup_sign("faster", wide(1.4, 0.36))
    tx.check_speedup_sign(" Faster ", wide(1.4, 0.36))
    tx.check_speedup_sign("slower", wide(0.36, 1.4))
    wrong_faster = fails(tx.check_speedup_sign, "faster", wide(0.36, 1.4))
    wrong_slower = fails(tx.check_speedup_sign, "slower", wide(1.4, 0.36))
    assert wrong_faster == wrong_slower  # the message does not depend on the right answer
    close = wide(1.0, 1.0 / (1 - tx.TIE_TOLERANCE) - 0.01)  # separable a little slower, within the tie
    tx.check_speedup_sign("faster", close)
    tx.check_speedup_sign("slower", close)
    assert tx.accepted_speedup_signs(close["wide_layer"]) == {"faster", "slower"}


def test_speedup_vs_macs_follows_the_measurement_with_the_tie_rule():
    below = wide(1.4, 0.36, 7.89)  # speed-up about 3.9 against a MAC ratio of 7.89
    tx.check_speedup_vs_macs("smaller", below)
    for synonym in ("less", "Lower", "below"):
        tx.check_speedup_vs_macs(synonym, below)
    above = wide(8.0, 0.5, 7.89)  # 16 against 7.89
    tx.check_speedup_vs_macs("larger", above)
    tx.check_speedup_vs_macs("more", above)
    assert fails(tx.check_speedup_vs_macs, "larger", below) == fails(tx.check_speedup_vs_macs, "smaller", above)
    tie = wide(7.0, 1.0, 7.89)
    tx.check_speedup_vs_macs("smaller", tie)
    tx.check_speedup_vs_macs("larger", tie)


def test_choice_form():
    assert '"faster" or "slower"' in fails(tx.check_choice_form, "quicker", tx.SPEEDUP_CHOICES)
    assert '"smaller" or "larger"' in fails(tx.check_choice_form, 3.9, tx.MAC_RATIO_CHOICES)
    assert "no answer" in fails(tx.check_choice_form, ..., tx.SPEEDUP_CHOICES)
    tx.check_choice_form("Slower", tx.SPEEDUP_CHOICES)
    tx.check_choice_form("above", tx.MAC_RATIO_CHOICES)


# --------------------------------------------------------------------------- no measurement
@pytest.mark.parametrize("checker, answer", [(tx.check_dominant_layer, "fc1"), (tx.check_slower_conv, "conv1"),
                                             (tx.check_fused_layers, {"relu1"}),
                                             (tx.check_speedup_sign, "faster"),
                                             (tx.check_speedup_vs_macs, "smaller")])
def test_without_openvino_the_measured_parts_fail_and_say_why(checker, answer):
    this_run = {"openvino_error": "OpenVINO cannot be imported (No module named 'openvino')."}
    message = fails(checker, answer, this_run)
    assert "needs OpenVINO" in message and "No module named 'openvino'" in message
    assert "needs OpenVINO" in fails(checker, answer, {})


def test_an_overwritten_or_damaged_measurement_is_reported():
    assert "was it overwritten" in fails(tx.check_dominant_layer, "fc1", [1, 2])
    assert "does not hold layer_times rows" in fails(tx.check_dominant_layer, "fc1", {"base_cnn": [{"name": "x"}]})
    assert "does not hold the comparison" in fails(tx.check_speedup_sign, "faster", {"wide_layer": {"speedup": 2}})


# --------------------------------------------------------------------------- self-checks and the ledger
def test_self_check_turns_a_checker_into_a_verdict():
    this_run = run_of()
    assert self_check(tx.check_dominant_layer, "fc1", this_run).correct
    verdict = self_check(tx.check_slower_conv, "conv2", this_run)
    assert not verdict.correct and verdict.message.startswith("Not yet.")


@pytest.mark.parametrize("checker, args", [
    (tx.check_dominant_layer, ("fc1", run_of())), (tx.check_slower_conv, ("conv1", run_of())),
    (tx.check_fused_layers, (set(FUSED_INTO), run_of())), (tx.check_speedup_sign, ("faster", wide(1.4, 0.36))),
    (tx.check_speedup_vs_macs, ("smaller", wide(1.4, 0.36))), (tx.check_depthwise_intensity, (6.0,)),
    (tx.check_layer_name_form, ("fc1",)), (tx.check_layer_set_form, (set(),)),
    (tx.check_choice_form, ("faster", tx.SPEEDUP_CHOICES)), (tx.require_measurement, (run_of(), "base_cnn"))])
def test_every_checker_is_seen_by_the_grader(checker, args):
    """Every check touches the ledger, so the grader's clean re-check knows the cell made one."""
    seen = []
    with ledger.observing(lambda: seen.append(1)):
        try:
            checker(*args)
        except AssertionError:
            pass
    assert seen


# --------------------------------------------------------------------------- part 6: intensity
def by_hand(h, w, c, k, same=True, bias=False):
    """(FLOPs, input values, weights, output values) of a depthwise k x k layer, counted from the definition."""
    ho, wo = (h, w) if same else (h - k + 1, w - k + 1)
    macs = ho * wo * c * k * k  # one k x k window per output value, no sum over channels
    return 2 * macs, h * w * c, k * k * c + (c if bias else 0), ho * wo * c


def test_intensity_is_flops_over_bytes():
    flops, ins, weights, outs = by_hand(28, 28, 32, 5)
    right = flops / (4 * (ins + weights + outs))
    question = tx.depthwise_intensity_question()
    assert tx.layer_intensity(question.layer) == pytest.approx(right, rel=1e-12)
    for answer in [right, f"{right:.3g}", f"{right:.4f}", round(right, 2)]:
        tx.check_depthwise_intensity(answer)
        assert tx.intensity_verdict(answer).correct


def test_layer_intensity_counts_biases_when_the_layer_has_them():
    flops, ins, weights, outs = by_hand(10, 12, 3, 3, same=False, bias=True)
    spec = LayerSpec("depthwise", (10, 12, 3), kernel_size=3, use_bias=True)
    assert tx.layer_intensity(spec) == pytest.approx(flops / (4 * (ins + weights + outs)))
    dense = LayerSpec("dense", (100,), units=10, use_bias=False)
    assert tx.layer_intensity(dense) == pytest.approx(2 * 100 * 10 / (4 * (100 + 1000 + 10)))


def test_intensity_slips_are_named_and_never_show_the_answer():
    flops, ins, weights, outs = by_hand(28, 28, 32, 5)
    right = flops / (4 * (ins + weights + outs))
    valid = by_hand(28, 28, 32, 5, same=False)
    standard_flops = flops * 32  # every output value sums over all 32 channels
    slips = {
        "macs_per_byte": right / 2,
        "elements_not_bytes": flops / (ins + weights + outs),
        "activation_left_out": flops / (4 * (ins + weights)),
        "weights_left_out": flops / (4 * (ins + outs)),
        "padding_ignored": valid[0] / (4 * (valid[1] + valid[2] + valid[3])),
        "standard_conv": standard_flops / (4 * (ins + 5 * 5 * 32 * 32 + outs)),
        "inverted": 1 / right,
    }
    for slip, value in slips.items():
        verdict = tx.intensity_verdict(value)
        assert not verdict.correct and verdict.slip == slip, (slip, verdict)
        message = fails(tx.check_depthwise_intensity, value)
        assert message == IMSG[slip]
        for shown in (f"{right:.3g}", f"{right:.2f}", f"{right:.1f}", f"{right:.4f}"):
            assert shown not in message


def test_intensity_close_format_and_blank():
    right = tx.layer_intensity(tx.depthwise_intensity_question().layer)
    assert tx.intensity_verdict(right * 1.03).slip == "close"
    assert tx.intensity_verdict(right * 3).slip is None
    assert "Count the FLOPs" in fails(tx.check_depthwise_intensity, right * 3)
    assert tx.intensity_verdict("about six").slip == "format"
    assert tx.intensity_verdict(...).slip == "no_answer"
    assert not tx.intensity_verdict(True).correct


def test_intensity_widget_checks_like_the_hidden_test():
    widget = tx.intensity_widget(title="Part 6")
    right = tx.layer_intensity(widget.question.layer)
    widget.answer_box.value = f"{right:.3g}"
    widget.check_button.click()
    assert widget.last_verdict.correct
    widget.answer_box.value = f"{right / 2:.3g}"
    widget.check_button.click()
    assert widget.last_verdict.slip == "macs_per_byte"
    assert f"{right:.3g}" not in widget.feedback.value
    assert "5x5" in widget.question.prompt() and "28x28x32" in widget.question.prompt()


def test_tie_rule_is_symmetric_and_bounded():
    assert math.isclose(tx.TIE_TOLERANCE, 0.2)
    assert tx._ties(10.0, 8.0) and tx._ties(8.0, 10.0)
    assert not tx._ties(10.0, 7.9) and not tx._ties(7.9, 10.0)


def test_require_measurement_fails_only_without_a_measurement():
    tx.require_measurement(run_of(), "base_cnn")
    tx.require_measurement(wide(1.4, 0.36), "wide_layer")
    message = fails(tx.require_measurement, {"openvino_error": "no openvino here"}, "base_cnn")
    assert "needs OpenVINO" in message and "no openvino here" in message
    assert "standard and separable" in fails(tx.require_measurement, run_of(), "wide_layer")
    assert "was it overwritten" in fails(tx.require_measurement, None, "base_cnn")


# --------------------------------------------------------------------------- what the messages say
ALL_LAYERS = r"Its layers are conv1, relu1, conv2, relu2, flatten, fc1, relu3, fc2\."


def _scenarios():
    """(message, concepts) for every kind of message the checkers give, each from a run built here."""
    typical, reordered = run_of(), {"base_cnn": tx.layer_records(base_rows(TYPICAL, inserted=[("fc1_reorder", 2.0)]))}
    conv2_slowest = run_of({"conv1": 5.0, "conv2": 20.0, "fc1": 57.0, "fc2": 4.0})
    return [
        (fails(tx.check_dominant_layer, "dense1", typical), [r"^'dense1' is not a layer of base_cnn\.", ALL_LAYERS]),
        (fails(tx.check_dominant_layer, "fc1_reorder", reordered),
         [r"^'fc1_reorder' is a node OpenVINO inserted", r"not a layer of base_cnn", ALL_LAYERS]),
        (fails(tx.check_slower_conv, "fc1", typical),
         [r"^'fc1' is not one of base_cnn's convolutions: conv1, conv2\.$"]),
        (fails(tx.check_dominant_layer, "relu3", typical), [r"^relu3's work ran inside", r"FUSED", r"median column",
                                                            r"measurement taken when the notebook runs for grading"]),
        (fails(tx.check_dominant_layer, "flatten", typical), [r"^flatten did no work", r"status is NOT_RUN",
                                                              r"median column"]),
        (fails(tx.check_dominant_layer, "conv2", typical), [r"^In this run conv2's median time is not within 20% of "
                                                            r"the largest among base_cnn's layers\."]),
        (fails(tx.check_slower_conv, "conv1", conv2_slowest), [r"^In this run conv1's median time is not within 20% "
                                                                r"of the largest among convolutions\."]),
        (fails(tx.check_slower_conv, "conv2", typical), [r"^conv2 is the one with the most FLOPs", r"within 20%"]),
        (fails(tx.check_fused_layers, {"relu1", "fc1_reorder"}, reordered), [r"^'fc1_reorder' is a node OpenVINO "
                                                                             r"inserted", ALL_LAYERS]),
        (fails(tx.check_fused_layers, {"dense9"}, typical), [r"^'dense9' is not a layer of base_cnn\.", ALL_LAYERS]),
        (fails(tx.check_fused_layers, {"conv1"} | set(FUSED_INTO), typical), [r"^conv1 ran as a node of its own"]),
        (fails(tx.check_fused_layers, {"flatten"} | set(FUSED_INTO), typical), [r"^flatten's status is NOT_RUN"]),
        (fails(tx.check_fused_layers, {"relu1"}, typical), [r"^Not every layer whose status is FUSED"]),
        (fails(tx.check_fused_layers, set(), typical), [r"^Your answer says no layer was fused"]),
        (fails(tx.check_speedup_sign, "slower", wide(1.4, 0.36)), [r"^Not what this run measured\.", r"speed-up"]),
        (fails(tx.check_speedup_vs_macs, "larger", wide(1.4, 0.36)), [r"^Not what this run measured\.", r"MAC ratio"]),
        (fails(tx.check_speedup_sign, "faster", {}), [r"standard and separable layers", r"needs OpenVINO"]),
        (fails(tx.check_dominant_layer, "fc1", {}), [r"measurement of base_cnn", r"needs OpenVINO"]),
        (fails(tx.check_layer_set_form, {}), [r"^The answer is a dict\.", r"set\(\)"]),
        (fails(tx.check_layer_set_form, 12), [r"^The answer is int 12; write a set of layer names",
                                              r'\{"conv1", "conv2"\}\.$']),
        (fails(tx.check_layer_set_form, ["relu1", 3]), [r"^3 in your answer is not a layer name",
                                                        r'\{"conv1", "conv2"\}\.$']),
        (fails(tx.check_layer_name_form, 3), [r"^The answer is int 3; write the layer's name as a string",
                                              r'"conv1"\.$']),
        (fails(tx.check_layer_name_form, None), [r"^There is no answer yet"]),
        (fails(tx.check_choice_form, 3.9, tx.SPEEDUP_CHOICES), [r'^The answer is float 3\.9; write one of the '
                                                                r'words "faster" or "slower"\.$']),
        (fails(tx.check_choice_form, "quicker", tx.SPEEDUP_CHOICES), [r"^'quicker' is not one of the answers",
                                                                      r'"faster" or "slower"\.$']),
    ]


def test_every_message_reads_well_and_says_its_concept():
    for message, concepts in _scenarios():
        assert_prose(message, *concepts)


def test_times_below_a_microsecond_are_measurements_too():
    # Fast layers on a fast machine: every median below 1 us, and still only those within 20% tie.
    assert not tx._ties(0.5, 0.1) and tx._ties(0.5, 0.45) and tx._ties(0.0, 0.0)
    rows = base_rows({"conv1": 0.3, "conv2": 0.28, "fc1": 0.9, "fc2": 0.1})
    assert tx.accepted_slowest(rows) == {"fc1"}
    assert tx.accepted_slowest(base_rows({"conv1": 0.3, "conv2": 0.28, "fc1": 0.2, "fc2": 0.1}), ("conv",)) == {
        "conv1", "conv2"}
    tx.check_dominant_layer("fc1", {"base_cnn": tx.layer_records(rows)})
    assert "within 20%" in fails(tx.check_dominant_layer, "conv1", {"base_cnn": tx.layer_records(rows)})
    tx.check_speedup_sign("faster", wide(0.9, 0.2))
    assert tx.accepted_speedup_signs(wide(0.9, 0.2)["wide_layer"]) == {"faster"}
    assert tx.accepted_mac_ratio_answers(wide(0.9, 0.3, 0.5)["wide_layer"]) == {"larger"}  # 3 against 0.5


def test_intensity_messages_and_points():
    right = tx.layer_intensity(tx.depthwise_intensity_question().layer)
    close = tx.intensity_verdict(right * 1.03)
    assert close.points == 0.0 and close.max_points == 1.0
    assert_prose(close.message, r"^Not yet\. Close", r"1%")
    blank = tx.intensity_verdict(None, points=2)
    assert (blank.points, blank.max_points) == (0.0, 2.0)
    assert_prose(blank.message, r"^Not yet\. There is no answer yet", r"number")
    assert_prose(tx.intensity_verdict("about six").message, r"^Not yet\.")
    assert_prose(tx.intensity_verdict(right * 3).message, r"^Not yet\. Count the FLOPs", r"4 per float32")
    message = fails(tx.check_depthwise_intensity, right * 3)
    assert message.startswith("Count the FLOPs")  # the hidden test's message, without the lead
    assert tx.intensity_verdict(right, points=3).points == 3.0


def test_intensity_prompt_says_bias_or_not():
    q = tx.depthwise_intensity_question()
    assert_prose(q.prompt(), r"\bwithout bias\b", r"5x5", r"28x28x32", r"FLOPs \(2 per MAC\)",
                 r"4 bytes per float32 value", r"3 significant digits\)\.$")
    with_bias = tx.IntensityQuestion(LayerSpec("depthwise", (10, 10, 3), kernel_size=3, use_bias=True))
    assert re.search(r", with bias, one image", with_bias.prompt())


def test_intensity_widget_checks_its_own_question():
    dense = tx.IntensityQuestion(LayerSpec("dense", (100,), units=10, use_bias=False), name="dense_intensity")
    widget = tx.intensity_widget(dense, title="Part 7")
    assert "Part 7" in widget.children[0].value
    widget.answer_box.value = f"{2 * 100 * 10 / (4 * (100 + 1000 + 10)):.3g}"  # FLOPs / bytes, counted by hand
    widget.check_button.click()
    assert widget.last_verdict.correct


def test_require_measurement_names_what_is_missing():
    assert re.search(r"but it is list: was it overwritten\?", fails(tx.require_measurement, [1], "base_cnn"))
    message = fails(tx.require_measurement, {}, "base_cnn_pooled")
    assert re.search(r"measurement of base_cnn_pooled taken earlier", message)
    assert_prose(message, r"needs OpenVINO", r"run the notebook again from the top")
    assert re.search(r"measurement of the standard and separable layers taken", fails(tx.require_measurement, {},
                                                                                       "wide_layer"))


def test_every_intensity_verdict_keeps_the_points_and_says_not_yet():
    right = tx.layer_intensity(tx.depthwise_intensity_question().layer)
    ok = tx.intensity_verdict(right, points=2)
    assert (ok.correct, ok.points, ok.max_points, ok.message) == (True, 2.0, 2.0, "Right.")
    for answer in (None, "about six", right / 2, right * 1.03, right * 3):
        verdict = tx.intensity_verdict(answer, points=2)
        assert verdict.correct is False and verdict.points == 0.0 and verdict.max_points == 2.0, answer
        assert_prose(verdict.message, r"^Not yet\. ")
    assert tx.intensity_verdict(right * 3).slip is None


def test_intensity_slips_of_a_layer_with_bias_and_no_padding():
    flops, ins, weights, outs = by_hand(10, 12, 3, 3, same=False, bias=True)
    q = tx.IntensityQuestion(LayerSpec("depthwise", (10, 12, 3), kernel_size=3, use_bias=True))
    standard_flops = flops * 3  # every output value sums over the 3 channels
    standard_weights = 3 * 3 * 3 * 3 + 3  # 3 filters of 3x3x3, and their biases
    slips = {
        "activation_left_out": flops / (4 * (weights + outs)),  # the input left out
        "weights_left_out": flops / (4 * (ins + outs)),
        "standard_conv": standard_flops / (4 * (ins + standard_weights + outs)),
    }
    for slip, value in slips.items():
        assert tx.intensity_verdict(value, q).slip == slip, slip
    assert tx.intensity_verdict(flops / (4 * (ins + weights)), q).slip == "activation_left_out"  # the output


def test_speedup_messages_name_what_is_wrong():
    assert re.search(r"but it is list: was it overwritten\?", fails(tx.check_speedup_sign, "faster", [1]))
    message = fails(tx.check_speedup_sign, "faster", {"wide_layer": {"speedup": 2}})
    assert_prose(message, r"^this_run\[.wide_layer.\] does not hold the comparison",
                 r"Run the notebook again from the top\.$")
    assert tx.accepted_speedup_signs({"standard_ms": 1.0, "separable_ms": 0.1, "mac_ratio": 8.0}) == {"faster"}


def test_answers_in_quotes_are_read():
    tx.check_choice_form("'faster'", tx.SPEEDUP_CHOICES)
    tx.check_speedup_sign('"faster".', wide(1.4, 0.36))
    tx.check_fused_layers({f"'{n}'" for n in FUSED_INTO}, run_of())
    assert "was it overwritten" in fails(tx.check_fused_layers, set(FUSED_INTO), [1])
    assert re.search(r"but it is list:", fails(tx.check_fused_layers, set(FUSED_INTO), [1]))
    message = fails(tx.check_fused_layers, set(FUSED_INTO), {"base_cnn": [{"name": "x"}]})
    assert_prose(message, r"^this_run\['base_cnn'\] does not hold layer_times rows", r"from the top\.$")


def test_far_off_intensities_are_not_called_close():
    right = tx.layer_intensity(tx.depthwise_intensity_question().layer)
    assert tx.intensity_verdict(right * 1.5).slip is None


def test_layer_records_read_objects_with_missing_fields():
    from types import SimpleNamespace

    record, = tx.layer_records([SimpleNamespace(name="conv1", status="EXECUTED", median_us=2.0)])
    assert record == {"name": "conv1", "kind": "", "status": "EXECUTED", "fused_into": None, "median_us": 2.0,
                      "flops": 0, "inserted": False}
    with pytest.raises(ValueError, match=r"^a layer_times row needs the fields name, kind, status, fused_into, "
                                         r"median_us, flops, inserted; this one lacks status, median_us: "):
        tx.layer_records([{"name": "conv1"}])
