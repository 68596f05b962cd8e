"""The harness every assignment's checkers share (efficientnn.quiz.harness).

Most of the harness is exercised through the assignments' checkers (tests/test_quiz_a0*.py);
here are the parts a notebook calls directly (visible form checks, self-checks) and the generic
helpers.
"""
import re

import numpy as np
import pytest
from test_quiz_a01_measuring_cost import flops_as_macs, ref_output_shape, shape_no_plus_one

from efficientnn import cost
from efficientnn.quiz import LayerSpec, Question, check
from efficientnn.quiz.a01_measuring_cost import check_dense_macs
from efficientnn.quiz.harness import (ArrayCase, FunctionCase, add_slips, assert_no_slip, assert_right,
                                      call_safely, call_text, check_array_form, check_array_function, check_form,
                                      check_function, number_problem, refuse_reference, require_function, self_check,
                                      shown, uses_reference)


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


def test_check_form_names_the_call_that_raised():
    with pytest.raises(AssertionError, match=r"^f\(\(12, 10, 2\), 3, 4\) raised ZeroDivisionError: division by zero$"):
        check_form(lambda *a: 1 / 0, ((12, 10, 2), 3, 4), "count", name="f")


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


# --------------------------------------------------------------------------- calling, and what messages show
def test_require_function_names_what_was_given_instead():
    assert require_function(len, "len") is None
    with pytest.raises(AssertionError, match=r"^conv_macs is int, not a function: define it with `def`\.$"):
        require_function(3, "conv_macs")


def test_call_safely_turns_any_failure_into_a_message_naming_the_call():
    assert call_safely(lambda a, b=0: a + b, (2,), {"b": 3}, "add(2, b=3)") == 5
    with pytest.raises(AssertionError) as err:
        call_safely(lambda x: 1 / x, (0,), {}, "inverse(0)")
    assert str(err.value) == "inverse(0) raised ZeroDivisionError: division by zero"
    assert isinstance(err.value.__cause__, ZeroDivisionError)

    def unfinished():
        raise NotImplementedError()
    with pytest.raises(AssertionError) as err:
        call_safely(unfinished, (), {}, "f()")
    assert re.match(r"f\(\) raised NotImplementedError: replace the `raise NotImplementedError\(\)` line",
                    str(err.value))
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_call_text_is_the_call_as_python_code():
    assert call_text("f") == "f()"
    assert call_text("f", (1, "a"), {"s": 2, "p": (1, 1)}) == "f(1, 'a', s=2, p=(1, 1))"
    assert call_text("dense_macs", (784, 10), None, ("in_units",)) == "dense_macs(in_units=784, 10)"
    assert call_text("g", (1, 2), {"k": 3}, ("a", "b", "c")) == "g(a=1, b=2, k=3)"


def test_shown_gives_arrays_by_shape_and_cuts_long_values():
    assert shown(np.zeros((3, 4))) == "an array of shape (3, 4)"
    assert shown(np.zeros(2, np.uint8), dtype=True) == "an array of shape (2,) and dtype uint8"
    assert shown(np.float32(0.5)) == "0.5" and shown(np.int64(7)) == "7"
    assert shown("x" * 60) == repr("x" * 60)[:57] + "..." and len(shown("x" * 60)) == 60
    assert shown("x" * 58) == repr("x" * 58)  # 60 characters with the quotes: shown in full
    assert shown(list(range(5)), limit=8) == "[0, 1..."


@pytest.mark.parametrize("result, pattern", [
    (None, r"^returned None \(is a `return` missing\?\)$"),
    ("0.25", r"^returned str '0\.25'; return a number$"),
    (True, r"^returned bool True; return a number$"),
    (np.bool_(False), r"^returned bool_? False; return a number$"),
    (np.zeros(3), r"^returned ndarray an array of shape \(3,\); return a number$"),
    (float("nan"), r"^returned nan; return a finite number$"),
    (float("-inf"), r"^returned -inf; return a finite number$"),
])
def test_number_problem_says_what_is_wrong(result, pattern):
    assert re.search(pattern, number_problem(result))


def test_number_problem_accepts_one_finite_number():
    for result in (0.25, 3, np.int64(3), np.float32(0.5), np.array(2.0), -1e300):
        assert number_problem(result) is None
    assert number_problem(np.zeros(2, np.uint8), dtype=True) == ("returned ndarray an array of shape (2,) and dtype "
                                                                 "uint8; return a number")


@pytest.mark.parametrize("result, kind, pattern", [
    (5, "output_shape", r"^f\(\) returned int 5; return a tuple of ints such as \(H, W, D\)\.$"),
    ("6x6x4", "output_shape", r"^f\(\) returned a string; return a tuple of ints such as \(H, W, D\)\.$"),
    ((6, 6.5, 4), "output_shape", r"^f\(\) returned \(6, 6\.5, 4\); return a tuple of whole numbers"),
    ([6, 6], "output_shape", r"^f\(\) returned 2 number\(s\), \[6, 6\]; return three, \(H, W, D\)\.$"),
    (np.array([1, 2, 3, 4]), "output_shape", r"returned 4 number\(s\)"),
    ("36", "count", r"^f\(\) returned str '36'; return a number \(an int\)\.$"),
    (False, "count", r"returned bool False; return a number"),
    (float("inf"), "count", r"^f\(\) returned inf; return a whole number\.$"),
    (2.5, "count", r"^f\(\) returned 2\.5, which is not a whole number; a count of operations is an int\.$"),
])
def test_check_form_says_what_form_was_wrong(result, kind, pattern):
    with pytest.raises(AssertionError) as err:
        check_form(lambda: result, (), kind, name="f")
    assert re.search(pattern, str(err.value)), str(err.value)


def test_check_form_accepts_whole_floats_and_arrays_and_names_the_function():
    assert check_form(lambda: 36.0, (), "count") is None
    assert check_form(lambda: np.array([6, 6, 4]), (), "output_shape") is None

    def conv_macs(shape, k, stride):
        return None
    with pytest.raises(AssertionError, match=r"^conv_macs\(\(9, 9, 2\), 3, stride=2\) returned None"):
        check_form(conv_macs, [(9, 9, 2), 3], "count", kwargs={"stride": 2})

    class Anonymous:
        def __call__(self):
            return "x"
    with pytest.raises(AssertionError, match=r"^your function\(\) returned"):
        check_form(Anonymous(), (), "count")
    with pytest.raises(AssertionError, match=r"^shape is list, not a function"):
        check_form([1], (), "count", name="shape")


def test_a_long_result_is_cut_to_80_characters_in_a_message():
    long = tuple(range(1, 40))
    with pytest.raises(AssertionError) as err:
        check_form(lambda: long, (), "output_shape", name="f")
    assert f"returned 39 number(s), {repr(long)[:77]}...; return three" in str(err.value)
    fits = tuple(range(10, 30))  # exactly 80 characters written out: shown in full
    assert len(repr(fits)) == 80
    with pytest.raises(AssertionError) as err:
        check_form(lambda: fits, (), "output_shape", name="f")
    assert f"number(s), {repr(fits)}; return three" in str(err.value)


# --------------------------------------------------------------------------- check_function's messages
LAYER = LayerSpec("conv", (12, 10, 2), kernel_size=3, filters=4)
RIGHT = (12 - 3 + 1, 10 - 3 + 1, 4)


def test_check_function_message_has_the_call_the_result_and_the_slip_without_a_lead():
    cases = [FunctionCase(((12, 10, 2), 3), Question("output_shape", LAYER), {"filters": 4}, note="a 3x3 kernel")]
    assert check_function(lambda s, k, filters: RIGHT, cases, name="out") is None
    assert check_function(lambda s, k, filters: np.array(RIGHT), cases, name="out") is None
    with pytest.raises(AssertionError) as err:
        check_function(lambda s, k, filters: (RIGHT[0] - 1, RIGHT[1] - 1, 4), cases, name="out",
                       arg_names=("input_shape",))
    text = str(err.value)
    assert text.startswith("out(input_shape=(12, 10, 2), 3, filters=4) (a 3x3 kernel) returned (9, 7, 4), "
                           "which is not right. ")
    assert re.search(r"\+1", text) and "Not yet" not in text
    with pytest.raises(AssertionError) as err:  # the right height and width: "Partly right" is left off too
        check_function(lambda s, k, filters: (RIGHT[0], RIGHT[1], 2), cases, name="out")
    assert "which is not right. The height and width are right" in str(err.value)
    assert "Partly right" not in str(err.value)
    with pytest.raises(AssertionError, match=r"^out\(\(12, 10, 2\), 3, filters=4\) \(a 3x3 kernel\) returned None "
                                             r"\(is a `return` missing\?\)\.$"):
        check_function(lambda s, k, filters: None, cases, name="out")
    with pytest.raises(AssertionError, match=r"^f is NoneType, not a function"):
        check_function(None, cases, name="f")


def test_check_function_reads_counts_and_stops_at_the_first_wrong_case():
    macs = (12 - 3 + 1) * (10 - 3 + 1) * 4 * 3 * 3 * 2
    cases = [FunctionCase((1,), Question("macs", LAYER)), FunctionCase((2,), Question("flops", LAYER))]
    seen = []

    def half_right(n):
        seen.append(n)
        return macs
    with pytest.raises(AssertionError, match=rf"^half_right\(2\) returned {macs}, which is not right\. .*MACs"):
        check_function(half_right, cases)
    assert seen == [1, 2]
    assert check_function(lambda n: macs * n, cases) is None


# --------------------------------------------------------------------------- array cases
def test_an_array_case_can_be_rebuilt_from_its_recipe():
    case = ArrayCase((("x", (2, 3, 4, 1), "normal"), ("w", (3, 3), "negative")), {"pool_size": 2, "stride": 1},
                     seed=5, positional=("pool_size",))
    arrays = case.build()
    namespace = {"np": np}
    exec(case.recipe(), namespace)
    for name in ("x", "w"):
        assert arrays[name].dtype == np.float32 and np.array_equal(arrays[name], namespace[name])
    assert np.array_equal(arrays["x"], np.random.default_rng(5).standard_normal((2, 3, 4, 1)).astype(np.float32))
    assert np.array_equal(arrays["w"], (-1 - np.random.default_rng(6).random((3, 3))).astype(np.float32))
    assert np.all((arrays["w"] > -2) & (arrays["w"] <= -1))
    assert case.call("pool") == "pool(x, w, 2, stride=1)"
    args, kwargs = case.args_kwargs(arrays)
    assert args[0] is arrays["x"] and args[1] is arrays["w"] and args[2:] == (2,) and kwargs == {"stride": 1}


def reference_pool(arrays, kwargs):
    """kxk max pooling, stride k (2 unless the case gives pool_size), written with a reshape."""
    x, k = arrays["x"], kwargs.get("pool_size", 2)
    n, h, w, c = x.shape
    return x[:, :h // k * k, :w // k * k].reshape(n, h // k, k, w // k, k, c).max(axis=(2, 4))


def pool_question(case, arrays):
    return Question("output_shape", LayerSpec("maxpool", arrays["x"].shape[1:], kernel_size=case.kwargs.get(
        "pool_size", 2)))


def value_slips(arrays, kwargs, expected):
    x, k = arrays["x"], kwargs.get("pool_size", 2)  # the case's own arguments: 2x2 windows unless given
    n, h, w, c = x.shape
    return [("averaged", x.reshape(n, h // k, k, w // k, k, c).mean(axis=(2, 4)))]


def shape_slips(arrays, kwargs):
    _, h, w, c = arrays["x"].shape
    k = kwargs.get("pool_size", 2)
    return [("stride_one", (h - k + 1, w - k + 1, c)), ("summed", (h // k, w // k, 1))]


MESSAGES = {"averaged": "These are averages: max pooling keeps the largest value.",
            "stride_one": "The window moved one pixel at a time: the stride is 2.",
            "summed": "The channels were added together: pool each channel on its own."}
CASE = ArrayCase((("x", (2, 4, 6, 3), "normal"),), {}, seed=11, note="three channels")


def run_pool(fn, **options):
    settings = dict(value_slips=value_slips, shape_slips=shape_slips, messages=MESSAGES)
    settings.update(options)
    with pytest.raises(AssertionError) as err:
        check_array_function(fn, [CASE], "pool", reference_pool, pool_question, **settings)
    return str(err.value)


def own_pool(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


WHERE = r"^pool\(x\) \(three channels\), with x = np\.random\.default_rng\(11\)\.standard_normal\(\(2, 4, 6, 3\)\)"


def test_a_right_array_function_passes():
    assert check_array_function(own_pool, [CASE], "pool", reference_pool, pool_question) is None
    assert check_array_function(lambda x: own_pool(x) + 5e-5, [CASE], "pool", reference_pool, pool_question) is None


@pytest.mark.parametrize("fn, pattern", [
    (lambda x: None, r"returned None \(is a `return` missing\?\)\.$"),
    (lambda x: own_pool(x).tolist(), r"returned a list, not a numpy array; return an array"),
    (lambda x: own_pool(x) > 0, r"returned an array of dtype bool; return an array of numbers"),
    (lambda x: own_pool(x)[0], r"returned an array with 3 axes, shape \(2, 3, 3\); return 4 axes, \(N, Ho, Wo, C\)"),
    (lambda x: own_pool(x)[:1], r"returned 1 example\(s\) for a batch of 2 \(shape \(1, 2, 3, 3\)\); the first axis"),
    (lambda x: own_pool(x) + np.inf, r"returned an array holding nan or inf\.$"),
])
def test_an_array_of_the_wrong_form_is_described(fn, pattern):
    text = run_pool(fn)
    assert re.search(WHERE, text) and re.search(pattern, text), text


def test_an_input_changed_in_place_is_refused():
    def in_place(x):
        out = own_pool(x)
        x[0, 0, 0, 0] = 99.0
        return out
    assert re.search(WHERE + r"\.astype\(np\.float32\), changed its input x: leave the inputs as they are and "
                             r"write the output into a new array\.$", run_pool(in_place))


def test_shape_slips_have_their_own_message_else_the_quizs():
    assert run_pool(lambda x: x[:, 1:, 1:, :]).endswith("returned an array of shape (2, 3, 5, 3), which is not "
                                                        "right. The window moved one pixel at a time: the stride is 2.")
    text = run_pool(lambda x: own_pool(x)[:, :, :, :2])  # no slip of its own: the quiz's depth message
    assert re.search(r"shape \(2, 2, 3, 2\), which is not right\. The height and width are right", text)
    assert "Partly right" not in text
    text = run_pool(lambda x: own_pool(x).sum(axis=3))  # the channel axis lost: the flat-shape slip
    assert text.endswith("returned an array of shape (2, 2, 3), which is not right. The channels were added "
                         "together: pool each channel on its own.")
    assert re.search(r"with 3 axes", run_pool(lambda x: own_pool(x).sum(axis=3), shape_slips=None))


def test_wrong_values_are_diagnosed_or_located():
    text = run_pool(lambda x: x.reshape(2, 2, 2, 3, 2, 3).mean(axis=(2, 4)))
    assert text.endswith("returned the right shape but wrong values. These are averages: max pooling keeps the "
                         "largest value.")
    text = run_pool(lambda x: own_pool(x) + 0.5)
    assert re.search(r"wrong values\. The values are shifted by a constant: this layer has no bias", text)

    def one_off(x):
        out = own_pool(x).copy()
        out[1, 0, 2, 1] = 7.0
        return out
    text = run_pool(one_off)
    assert re.search(r"wrong values: 1 of 36 differ, the first at index \(1, 0, 2, 1\), where it returned 7\. "
                     r"Work that output out by hand", text), text
    text = run_pool(lambda x: own_pool(x) * 2, value_slips=None)
    assert re.search(r"wrong values: \d+ of 36 differ", text)


def test_a_function_that_uses_the_layer_is_refused_unless_allowed():
    from efficientnn.layers import MaxPool2D  # noqa: F401 - named by the function below

    def borrowed(x):
        return MaxPool2D(2)(x)
    text = run_pool(borrowed)
    assert text.startswith("pool uses efficientnn's MaxPool2D, the layer it is graded against: write it with numpy")
    with pytest.raises(AssertionError, match=r"^pool uses efficientnn's own_pool, the layer"):
        check_array_function(lambda x: own_pool(x), [CASE], "pool", reference_pool, pool_question,
                             forbidden=("own_pool",))
    assert check_array_function(lambda x: own_pool(x), [CASE], "pool", reference_pool, pool_question,
                                allow_reference=True, forbidden=("own_pool",)) is None


def test_check_array_form_checks_only_the_form():
    assert check_array_form(lambda x: own_pool(x) * 3, CASE, name="pool") is None
    with pytest.raises(AssertionError) as err:
        check_array_form(lambda x: own_pool(x)[0], CASE, name="pool")
    assert re.search(r"^pool\(x\) with x = np\.random.*returned an array with 3 axes", str(err.value))

    def max_pool(x):
        return None
    with pytest.raises(AssertionError, match=r"^max_pool\(x\) with x = .*returned None"):
        check_array_form(max_pool, CASE)
    with pytest.raises(AssertionError, match=r"^pool is str, not a function"):
        check_array_form("own_pool", CASE, name="pool")


    class Anonymous:
        def __call__(self, x, stride):
            return own_pool(x)[0]
    strided = ArrayCase((("x", (2, 4, 6, 3), "normal"),), {"stride": 2}, seed=11)
    with pytest.raises(AssertionError, match=r"^your function\(x, stride=2\) with x = .*returned an array with 3 axes"):
        check_array_form(Anonymous(), strided)
    with pytest.raises(AssertionError, match=r"^pool\(x, stride=2\) with x = np\.random.* raised ZeroDivisionError"):
        check_array_form(lambda x, stride: 1 / 0, strided, name="pool")


# --------------------------------------------------------------------------- uses_reference, in every form
def test_uses_reference_finds_names_in_nested_code_and_closures():
    def outer(x):
        def inner():
            return Conv2D(3)  # noqa: F821 - never run
        return inner

    def closure():
        Conv2D = object  # noqa: N806

        def uses():
            return Conv2D
        return uses
    assert uses_reference(outer, ("Conv2D",)) == "Conv2D"
    assert uses_reference(closure(), ("Conv2D",)) == "Conv2D"  # a free variable
    assert uses_reference(lambda x: x, ("Conv2D",)) is None
    assert uses_reference(len, ("len",)) is None  # no code to read


def test_uses_reference_with_a_module_sees_imports_and_aliases():
    from efficientnn import pruning
    from efficientnn.pruning import sparsity as imported

    def from_import(w):
        from efficientnn.pruning import sparsity
        return sparsity(w)

    def aliased(w):
        return prn.sparsity(w)

    def through_globals(w):
        return imported(w)
    assert uses_reference(from_import, ("sparsity",), module=pruning) == "sparsity"
    globals()["prn"] = pruning
    try:
        assert uses_reference(aliased, ("sparsity",), module=pruning) == "sparsity"
    finally:
        del globals()["prn"]
    globals()["sparsity"] = imported
    try:
        def by_name(w):
            return sparsity(w)  # noqa: F821 - the module's own function, imported under its name
        assert uses_reference(by_name, ("sparsity",), module=pruning) == "sparsity"
    finally:
        del globals()["sparsity"]
    assert uses_reference(through_globals, ("sparsity",), module=pruning) is None  # another name: not a use


def test_refuse_reference_names_the_use():
    from efficientnn import pruning

    def borrowed(w):
        return pruning.sparsity(w)
    with pytest.raises(AssertionError, match=r"^sparsity_of uses efficientnn's sparsity, write your own\.$"):
        refuse_reference(borrowed, "sparsity_of", ("sparsity",), "efficientnn's", "write your own.", module=pruning)
    assert refuse_reference(lambda w: w, "f", ("sparsity",), "x", "y") is None


# --------------------------------------------------------------------------- wrappers
def test_add_slips_reads_numbers_within_the_tolerance_and_keeps_the_first_candidate():
    count = Question("macs", LayerSpec("dense", (100,), units=10))  # 1000 MACs
    verdict = check(count, "2.01K")
    named = add_slips(verdict, count, "2.01K", [("tripled", 3000, "Three."), ("doubled", 2000, "Twice."),
                                                 ("doubled_again", 2000, "Again.")])
    assert (named.slip, named.points, named.message) == ("doubled", 0.0, "Not yet. Twice.")
    assert add_slips(verdict, count, "2.01K", [("tripled", 3000, "Three.")]) is verdict
    partial = check(Question("output_shape", LAYER), (RIGHT[0], RIGHT[1], 9))
    assert partial.points > 0
    named = add_slips(partial, Question("output_shape", LAYER), (RIGHT[0], RIGHT[1], 9),
                      [("other", [RIGHT[0], RIGHT[1], 9], "Other.")])
    assert (named.points, named.slip) == (0.0, "other")


def test_assert_no_slip_looks_at_the_last_part_of_a_combined_slip():
    from efficientnn.quiz.check import Verdict
    combined = Verdict(False, 0.0, 1.0, "Not yet. Both.", "macs_for_flops+doubled")
    with pytest.raises(AssertionError, match="^Not yet. Both.$"):
        assert_no_slip(combined, ("doubled",))
    assert assert_no_slip(combined, ("macs_for_flops",)) is None
    assert assert_no_slip(Verdict(False, 0.0, 1.0, "x", None), ("doubled",)) is None
    with pytest.raises(AssertionError, match="^Not yet. Both.$"):
        assert_right(combined)
    partial = Verdict(False, 0.5, 1.0, "Partly right. Depth.", "wrong_depth")
    with pytest.raises(AssertionError, match="^Depth.$"):
        assert_right(partial, lead=False)


def test_self_check_passes_extra_arguments_and_shows_the_failure_as_its_message():
    good = self_check(require_function, len, "len")
    assert (good.correct, good.points, good.max_points, good.message, good.slip) == (True, 1.0, 1.0,
                                                                                      "All checks pass.", None)
    bad = self_check(require_function, 3, "conv_macs")
    assert (bad.correct, bad.points, bad.max_points, bad.slip) == (False, 0.0, 1.0, "function")
    assert bad.message == "Not yet. conv_macs is int, not a function: define it with `def`."
    with pytest.raises(ZeroDivisionError):  # only a failed check becomes a verdict; a bug in the checker does not
        self_check(lambda fn: 1 / 0, len)


def test_an_array_result_is_shown_as_a_list_in_a_message():
    cases = [FunctionCase(((12, 10, 2), 3), Question("output_shape", LAYER))]
    with pytest.raises(AssertionError, match=r"^out\(\(12, 10, 2\), 3\) returned \[9, 7, 4\], which is not right"):
        check_function(lambda s, k: np.array([9, 7, 4]), cases, name="out")


def test_a_shift_is_named_only_when_every_value_moved_by_the_same_amount():
    def uneven(x):
        out = own_pool(x) + 0.5
        out[0, 0, 0, 0] += 0.3
        return out
    assert re.search(r"wrong values: 36 of 36 differ", run_pool(uneven))
    with pytest.raises(AssertionError, match=r"wrong values\. The values are shifted by a constant"):
        check_array_function(lambda x: own_pool(x) - 0.25, [CASE], "pool", reference_pool, pool_question)


def test_a_value_slip_equal_to_the_right_output_is_skipped():
    def slips(arrays, kwargs, expected):
        return [("same", expected), ("averaged", value_slips(arrays, kwargs, expected)[0][1])]
    messages = {**MESSAGES, "same": "This is the right output."}
    text = run_pool(lambda x: x.reshape(2, 2, 2, 3, 2, 3).mean(axis=(2, 4)), value_slips=slips, messages=messages)
    assert text.endswith("These are averages: max pooling keeps the largest value.")


def test_one_channel_has_no_flat_shape_slip_and_the_call_can_be_named():
    single = ArrayCase((("x", (2, 4, 6, 1), "normal"),), {}, seed=3)
    with pytest.raises(AssertionError) as err:
        check_array_function(lambda x: own_pool(x).sum(axis=3), [single], "pool", reference_pool, pool_question,
                             shape_slips=shape_slips, messages=MESSAGES, call="pool(x, 2)")
    assert re.search(r"^pool\(x, 2\), with x = np\.random\.default_rng\(3\).*returned an array with 3 axes",
                     str(err.value))


def test_add_slips_never_overrules_a_right_unreadable_or_blank_verdict():
    from efficientnn.quiz.check import Verdict
    question = Question("output_shape", LayerSpec("conv", (28, 28, 1), kernel_size=3, filters=5))
    right = check(question, "26x26x5")
    assert add_slips(right, question, "26x26x5", [("same", (26, 26, 5), "Never shown.")]) is right
    for slip in ("format", "no_answer"):  # the quiz's word on the form of the answer stands, whatever it holds
        verdict = Verdict(False, 0.0, 1.0, "Could not read it.", slip)
        assert add_slips(verdict, question, "13x13x5", [("other", (13, 13, 5), "Other.")]) is verdict


def test_array_outputs_match_to_one_part_in_ten_thousand():
    def scaled(arrays, kwargs):
        return reference_pool(arrays, kwargs) * 1000  # values in the thousands: the relative tolerance decides
    close = check_array_function(lambda x: own_pool(x) * 1000 * (1 + 5e-5), [CASE], "pool", scaled, pool_question)
    assert close is None
    with pytest.raises(AssertionError, match=r"wrong values: \d+ of 36 differ"):
        check_array_function(lambda x: own_pool(x) * 1000 * (1 + 3e-4), [CASE], "pool", scaled, pool_question)
    with pytest.raises(AssertionError, match=r"^pool is int, not a function"):
        check_array_function(3, [CASE], "pool", scaled, pool_question)


def test_the_cases_arguments_reach_the_function_the_reference_and_the_slips():
    threes = ArrayCase((("x", (2, 6, 6, 3), "normal"),), {"pool_size": 3}, seed=4, note="3x3 windows")

    def pool(x, pool_size):
        n, h, w, c = x.shape
        k = pool_size
        return x.reshape(n, h // k, k, w // k, k, c).max(axis=(2, 4))
    assert check_array_function(pool, [threes], "pool", reference_pool, pool_question, value_slips, shape_slips,
                                messages=MESSAGES) is None
    with pytest.raises(AssertionError) as err:  # a 3x3 window moved one pixel at a time: (6 - 3 + 1) a side
        check_array_function(lambda x, pool_size: x[:, 2:, 2:, :], [threes], "pool", reference_pool, pool_question,
                             value_slips, shape_slips, messages=MESSAGES)
    assert str(err.value).endswith("shape (2, 4, 4, 3), which is not right. The window moved one pixel at a time: "
                                   "the stride is 2.")
    with pytest.raises(AssertionError) as err:
        check_array_function(lambda x, pool_size: 1 / 0, [threes], "pool", reference_pool, pool_question)
    assert re.search(r"^pool\(x, pool_size=3\) \(3x3 windows\), with x = np\.random\.default_rng\(4\).* raised "
                     r"ZeroDivisionError: division by zero$", str(err.value))


def test_refuse_reference_with_a_module_lets_the_students_own_function_of_that_name_pass():
    from efficientnn import pruning

    def sparsity(w):
        return 0.0

    def own(w):
        return sparsity(w)
    assert refuse_reference(own, "f", ("sparsity",), "x", "y", module=pruning) is None
    with pytest.raises(AssertionError, match=r"^f uses x sparsity, y$"):
        refuse_reference(own, "f", ("sparsity",), "x", "y")


def test_check_function_names_the_call_that_raised_and_self_check_passes_keywords():
    cases = [FunctionCase(((12, 10, 2), 3), Question("output_shape", LAYER), {"filters": 4})]
    with pytest.raises(AssertionError, match=r"^out\(\(12, 10, 2\), 3, filters=4\) raised KeyError: 'h'$"):
        check_function(lambda s, k, filters: {}["h"], cases, name="out")
    verdict = self_check(require_function, 3, name="conv_macs")
    assert verdict.message == "Not yet. conv_macs is int, not a function: define it with `def`."


def test_value_slips_are_computed_from_the_right_output():
    def negated(arrays, kwargs, expected):
        return [("negated", -expected)]
    text = run_pool(lambda x: -own_pool(x), value_slips=negated, messages={"negated": "The sign is flipped."})
    assert text.endswith("returned the right shape but wrong values. The sign is flipped.")


def test_only_the_values_outside_the_tolerance_are_counted():
    def scaled(arrays, kwargs):
        return reference_pool(arrays, kwargs) * 1000

    def nearly(x):
        out = own_pool(x) * 1000 * (1 + 5e-5) + 5e-5  # every value within 1e-4 of itself, relatively and absolutely
        out[1, 0, 2, 1] = 7e6
        return out
    with pytest.raises(AssertionError, match=r"wrong values: 1 of 36 differ, the first at index \(1, 0, 2, 1\)"):
        check_array_function(nearly, [CASE], "pool", scaled, pool_question)
    def tiny(arrays, kwargs):
        return reference_pool(arrays, kwargs) / 1000   # values near 0: the absolute 1e-4 decides

    def nearly_tiny(x):
        out = own_pool(x) / 1000 + 5e-5
        out[0, 1, 0, 2] = 7.0
        return out
    with pytest.raises(AssertionError, match=r"wrong values: 1 of 36 differ, the first at index \(0, 1, 0, 2\)"):
        check_array_function(nearly_tiny, [CASE], "pool", tiny, pool_question)


def test_uses_reference_with_a_module_ignores_names_the_module_does_not_have():
    from efficientnn import pruning
    from efficientnn.quiz import ledger

    def unknown(w):
        return not_in_pruning(w)  # noqa: F821 - a name neither the module nor the globals have
    assert uses_reference(unknown, ("not_in_pruning",), module=pruning) is None
    globals()["not_in_pruning"] = len  # the student's own global of that name: still not the module's
    try:
        assert uses_reference(unknown, ("not_in_pruning",), module=pruning) is None
    finally:
        del globals()["not_in_pruning"]

    def recorded(fn):
        return ledger.call(fn, ())
    # a module three levels deep is named by its last part
    assert uses_reference(recorded, ("call",), module=ledger) == "call"
