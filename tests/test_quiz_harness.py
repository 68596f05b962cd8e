"""The harness every assignment's checkers share (efficientnn.quiz.harness).

Most of the harness is exercised through the assignments' checkers (tests/test_quiz_a0*.py);
here are the parts a notebook calls directly (visible form checks, self-checks) and the generic
helpers.
"""
import re

import pytest
from test_quiz_a01_measuring_cost import flops_as_macs, ref_output_shape, shape_no_plus_one

from efficientnn import cost
from efficientnn.quiz import LayerSpec, Question, check
from efficientnn.quiz.a01_measuring_cost import check_dense_macs
from efficientnn.quiz.harness import (FunctionCase, add_slips, assert_no_slip, assert_right, check_form,
                                      check_function, self_check, uses_reference)


# --------------------------------------------------------------------------- form checks (visible tests)
def test_check_form_accepts_the_right_form_whatever_the_value():
    assert check_form(shape_no_plus_one, ((12, 10, 2), 3, 4), "output_shape") is None
    assert check_form(flops_as_macs, ((12, 10, 2), 3, 4), "count", kwargs={"stride": 2, "padding": 1}) is None


@pytest.mark.parametrize("fn, kind, words", [
    (lambda *a: "6x6x4", "output_shape", "returned a string"),
    (lambda *a: (6, 6), "output_shape", "return three"),
    (lambda *a: None, "count", "returned None"),
    (lambda *a: 1 / 0, "count", "ZeroDivisionError"),
])
def test_check_form_rejects_the_wrong_form(fn, kind, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_form(fn, ((12, 10, 2), 3, 4), kind, name="f")


def test_check_form_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        check_form(ref_output_shape, ((12, 10, 2), 3, 4), "shape")


def test_self_check_turns_the_checker_into_a_verdict():
    good = self_check(check_dense_macs, cost.dense_macs)
    bad = self_check(check_dense_macs, lambda i, o: i + o)
    assert good.correct and good.points == 1.0
    assert not bad.correct and bad.points == 0.0 and "dense_macs(" in bad.message


def test_check_function_works_for_any_question():
    # The generic helper, as the assignments use it: a depthwise layer's MACs.
    layer = LayerSpec("depthwise", (9, 9, 3), kernel_size=3)
    cases = [FunctionCase(((9, 9, 3), 3), Question("macs", layer), note="a depthwise layer")]
    check_function(lambda shape, k: cost.depthwise_macs(shape, k), cases, name="depthwise_macs")
    with pytest.raises(AssertionError, match=r"depthwise_macs\(\(9, 9, 3\), 3\) \(a depthwise layer\) returned"):
        check_function(lambda shape, k: cost.conv2d_macs(shape, k, 3), cases, name="depthwise_macs")


# --------------------------------------------------------------------------- questions with extra slips
def test_add_slips_names_an_extra_slip_only_where_the_quiz_has_none_to_give():
    question = Question("output_shape", LayerSpec("conv", (28, 28, 1), kernel_size=3, filters=5))
    extra = [("other_model", (13, 13, 5), "This is the shape of another model's layer.")]
    named = add_slips(check(question, "13x13x5"), question, "13x13x5", extra)
    assert (named.correct, named.points, named.slip) == (False, 0.0, "other_model")
    assert named.message == "Not yet. This is the shape of another model's layer."
    for answer in ("26x26x5", "not a shape", ""):  # right, unreadable, blank: the quiz's verdict stands
        assert add_slips(check(question, answer), question, answer, extra) == check(question, answer)
    count = Question("macs", LayerSpec("dense", (100,), units=10))
    assert add_slips(check(count, "2K"), count, "2K", [("doubled", 2000, "Twice.")]).slip == "doubled"


def test_assert_wrappers_raise_with_the_verdicts_message():
    question = Question("macs", LayerSpec("dense", (100,), units=10))
    slipped = add_slips(check(question, 2000), question, 2000, [("doubled", 2000, "Twice.")])
    with pytest.raises(AssertionError, match="^Not yet. Twice.$"):
        assert_no_slip(slipped, ("doubled",))
    assert assert_no_slip(slipped, ("other",)) is None
    with pytest.raises(AssertionError, match="^Twice.$"):
        assert_right(slipped, lead=False)
    assert assert_right(check(question, 1000)) is None


def test_uses_reference_with_a_module_counts_only_that_modules_function():
    from efficientnn import pruning

    def sparsity(w):  # the student's own function of the same name
        return 0.0

    def own(w):
        return sparsity(w)

    def borrowed(w):
        return pruning.sparsity(w)

    assert uses_reference(own, ("sparsity",)) == "sparsity"  # without a module, any use counts
    assert uses_reference(own, ("sparsity",), module=pruning) is None
    assert uses_reference(borrowed, ("sparsity",), module=pruning) == "sparsity"
