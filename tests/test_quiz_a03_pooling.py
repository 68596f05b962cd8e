"""Tests for efficientnn.quiz.a03_pooling: the checker and questions of assignment 03.

The right max pooling below is written from the definition with plain numpy loops
(independently of efficientnn.layers), and every expected number is derived here from the
textbook formulas, so a slip in the package or in a checker would show.
"""
import re

import numpy as np
import pytest
from quiz_support import assert_message_rebuilds_last_call, assert_prose, fails, recording, side

from efficientnn.models import base_cnn, base_cnn_pooled, base_cnn_separable
from efficientnn.quiz import SLIP_MESSAGES, check
from efficientnn.quiz import a03_pooling as lx
from efficientnn.quiz.a03_pooling import POOLING_SLIP_MESSAGES as MSG


# --------------------------------------------------------------------------- right implementation
def max_pool(x, pool_size, stride=None):
    s = pool_size if stride is None else stride
    n, h, w, c = x.shape
    ho, wo = side(h, pool_size, s), side(w, pool_size, s)
    out = np.empty((n, ho, wo, c), dtype=x.dtype)
    for i in range(ho):
        for j in range(wo):
            out[:, i, j, :] = x[:, i * s : i * s + pool_size, j * s : j * s + pool_size, :].max(axis=(1, 2))
    return out



# --------------------------------------------------------------------------- max_pool
def test_right_max_pool_passes_every_case_set():
    for cases in lx.MAX_POOL_CASE_SETS:
        assert lx.check_max_pool(max_pool, cases) is None


def test_max_pool_cases_cover_the_brief():
    cases = lx.max_pool_cases("all")
    shapes = [c.arrays[0][1] for c in cases]
    assert any(c.kwargs.get("stride") not in (None, c.kwargs["pool_size"]) for c in cases)
    assert any(h != w for _, h, w, _ in shapes)
    assert any(ch > 1 for *_, ch in shapes) and any(n > 1 for n, *_ in shapes)
    assert any(c.arrays[0][2] == "negative" for c in cases)
    with pytest.raises(ValueError):
        lx.max_pool_cases("everything")


def average_pool(x, k, stride=None):
    s = k if stride is None else stride
    n, h, w, c = x.shape
    out = np.empty((n, side(h, k, s), side(w, k, s), c))
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            out[:, i, j, :] = x[:, i * s : i * s + k, j * s : j * s + k, :].mean(axis=(1, 2))
    return out


def max_from_zero(x, k, stride=None):
    return np.maximum(max_pool(x, k, stride), 0)


def stride_as_pool_size(x, k, stride=None):
    return max_pool(x, k, None)


def stride_none_as_one(x, k, stride=None):
    return max_pool(x, k, 1 if stride is None else stride)


def partial_windows(x, k, stride=None):
    s = k if stride is None else stride
    n, h, w, c = x.shape
    ho, wo = -(-(h - k) // s) + 1, -(-(w - k) // s) + 1
    out = np.empty((n, ho, wo, c), dtype=x.dtype)
    for i in range(ho):
        for j in range(wo):
            out[:, i, j, :] = x[:, i * s : i * s + k, j * s : j * s + k, :].max(axis=(1, 2))
    return out


def windows_step_k(x, k, stride=None):
    s = k if stride is None else stride
    n, h, w, c = x.shape
    out = np.empty((n, side(h, k, s), side(w, k, s), c), dtype=x.dtype)
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            out[:, i, j, :] = x[:, i * k : i * k + k, j * k : j * k + k, :].max(axis=(1, 2))
    return out


@pytest.mark.parametrize("slipped, cases, message", [
    (average_pool, "basic", MSG["average_for_max"]),
    (max_from_zero, "basic", MSG["max_from_zero"]),
    (stride_as_pool_size, "general", MSG["stride_as_pool_size"]),
    (stride_none_as_one, "basic", MSG["stride_none_as_one"]),
    (partial_windows, "general", MSG["partial_windows_kept"]),
    (windows_step_k, "general", MSG["windows_step_pool_size"]),
])
def test_max_pool_slips_are_named(slipped, cases, message):
    assert message in fails(lx.check_max_pool, slipped, cases)


def test_max_pool_over_channels_is_named_when_channels_are_kept_as_an_axis():
    text = fails(lx.check_max_pool, lambda x, k, stride=None: max_pool(x, k, stride).max(axis=3, keepdims=True))
    assert MSG["channels_pooled"] in text


def test_max_pool_missing_plus_one_uses_the_quiz_message():
    def no_plus_one(x, k, stride=None):
        return max_pool(x, k, stride)[:, :-1, :-1, :]

    assert SLIP_MESSAGES["plus_one_missing"] in fails(lx.check_max_pool, no_plus_one, "basic")


def test_message_names_the_input_but_not_the_right_output():
    def one_value_off(x, k, stride=None):
        y = max_pool(x, k, stride).copy()
        y[0, 0, 0, 0] += 1.0
        return y

    text = fails(lx.check_max_pool, one_value_off)
    case = lx.max_pool_cases("basic")[0]
    x = case.build()["x"]
    right = max_pool(x, case.kwargs["pool_size"])
    assert case.recipe() in text and "index (0, 0, 0, 0)" in text
    assert f"{right[0, 0, 0, 0]:.4g}" not in text
    assert f"{right[0, 0, 0, 0] + 1:.4g}" in text  # the student's own value is fine to show
    # The recipe really rebuilds the input.
    namespace = {"np": np}
    exec(case.recipe(), namespace)
    np.testing.assert_array_equal(namespace["x"], x)


def test_shape_messages_never_hold_the_right_shape():
    text = fails(lx.check_max_pool, stride_none_as_one)
    case = lx.max_pool_cases("basic")[0]
    n, h, w, c = case.arrays[0][1]
    k = case.kwargs["pool_size"]
    right = (n, side(h, k, k), side(w, k, k), c)
    assert str(right) not in text and "x".join(map(str, right[1:])) not in text


@pytest.mark.parametrize("bad, expected", [
    (lambda x, k, stride=None: None, "returned None"),
    (lambda x, k, stride=None: max_pool(x, k, stride).tolist(), "not a numpy array"),
    (lambda x, k, stride=None: max_pool(x, k, stride)[..., 0], "3 axes"),
    (lambda x, k, stride=None: max_pool(x, k, stride)[:1], "the first axis is the batch"),
    (lambda x, k, stride=None: max_pool(x, k, stride).astype(str), "dtype"),
    (lambda x, k, stride=None: max_pool(x, k, stride) * np.nan, "nan"),
    (lambda x, k, stride=None: 1 / 0, "raised ZeroDivisionError"),
])
def test_garbage_gets_a_clear_message(bad, expected):
    # A batch-of-one case cannot reveal a dropped batch: use the whole set.
    assert expected in fails(lx.check_max_pool, bad)


def test_not_implemented_and_not_callable():
    def stub(x, pool_size, stride=None):
        raise NotImplementedError()

    assert "replace the `raise NotImplementedError()`" in fails(lx.check_max_pool, stub)
    assert "not a function" in fails(lx.check_max_pool, 42)


def test_changing_the_input_is_reported():
    def in_place(x, k, stride=None):
        y = max_pool(x, k, stride)
        x[...] = 0
        return y

    assert "changed its input x" in fails(lx.check_max_pool, in_place)


def test_calling_the_reference_layer_is_refused_unless_allowed():
    from efficientnn.layers import MaxPool2D

    def borrowed(x, pool_size, stride=None):
        layer = MaxPool2D(pool_size, stride)
        layer.build(x.shape[1:])
        return layer.forward(x)

    assert "MaxPool2D" in fails(lx.check_max_pool, borrowed)
    assert lx.check_max_pool(borrowed, allow_reference=True) is None


def test_max_pool_form_checks_form_only():
    assert lx.check_max_pool_form(max_pool) is None
    assert lx.check_max_pool_form(max_pool, stride=True) is None
    assert lx.check_max_pool_form(average_pool) is None  # wrong values, right form: passes
    assert "returned None" in fails(lx.check_max_pool_form, lambda x, k, stride=None: None)
    assert "3 axes" in fails(lx.check_max_pool_form, lambda x, k, stride=None: x[..., 0])


# --------------------------------------------------------------------------- questions about the models
def test_pooling_questions_expected_values_from_formulas():
    qs = lx.pooling_questions()
    c1 = side(28, 3)
    p1 = side(c1, 2, 2)
    c2 = side(p1, 3)
    p2 = side(c2, 2, 2)
    right = {
        "pool1_output_shape": f"{p1}x{p1}x5",
        "pooled_conv2_flops": 2 * c2 * c2 * 5 * 3 * 3 * 5,
        "pooled_fc1_flops": 2 * p2 * p2 * 5 * 128,
        "pool1_flops": p1 * p1 * 5 * (2 * 2 - 1),
    }
    for name, answer in right.items():
        assert lx.check_pooled(name, answer).correct, name
        assert check(qs[name], answer).correct
    # Prompts describe the model, never the layer's input (which would give away pool1's shape).
    assert f"{p1}x{p1}" not in qs["pooled_conv2_flops"].prompt()


def test_pooling_ignored_is_named_and_scores_zero():
    c1 = side(28, 3)
    c2 = side(c1, 3)
    unpooled = {
        "pool1_output_shape": (c1, c1, 5),
        "pooled_conv2_flops": 2 * c2 * c2 * 5 * 9 * 5,
        "pooled_fc1_flops": 2 * c2 * c2 * 5 * 128,
    }
    for name, answer in unpooled.items():
        verdict = lx.check_pooled(name, answer)
        assert not verdict.correct and verdict.points == 0 and verdict.slip == "pooling_ignored"
        with pytest.raises(AssertionError, match="without pooling"):
            lx.assert_pooled(name, answer)


def test_assert_pooling_not_ignored_raises_only_for_that_slip():
    c1 = side(28, 3)
    p1 = side(c1, 2, 2)
    with pytest.raises(AssertionError, match="without pooling"):
        lx.assert_pooling_not_ignored("pool1_output_shape", f"{c1}x{c1}x5")
    assert lx.assert_pooling_not_ignored("pool1_output_shape", f"{p1}x{p1}x5") is None  # right
    assert lx.assert_pooling_not_ignored("pool1_output_shape", "1x1x1") is None  # wrong, another slip
    assert lx.assert_pooling_not_ignored("pool1_output_shape", "not a shape") is None


def test_pooled_grading_keeps_the_quiz_rules():
    p1 = side(side(28, 3), 2, 2)
    partial = lx.grade_pooled("pool1_output_shape", (p1, p1, 1), points=2)
    assert partial.points == 1.0 and partial.max_points == 2.0
    c2 = side(p1, 3)
    macs = c2 * c2 * 5 * 9 * 5
    assert lx.check_pooled("pooled_conv2_flops", macs).slip == "macs_for_flops"
    assert lx.check_pooled("pooled_conv2_flops", "lots").slip == "format"
    assert lx.assert_pooled("pooled_conv2_flops", 2 * macs) is None
    with pytest.raises(ValueError):
        lx.check_pooled("conv9_flops", 1)
    with pytest.raises(ValueError):
        lx.grade_pooled("pool1_output_shape", "1x1x1", points=0)


def test_pooled_widget_uses_the_same_checker():
    c1 = side(28, 3)
    widget = lx.pooled_widget("pool1_output_shape")
    widget.answer_box.value = f"{c1}x{c1}x5"
    widget.check_button.click()
    assert widget.last_verdict.slip == "pooling_ignored"
    assert "without pooling" in widget.feedback.value


def test_conv_vs_dense_choices_are_computed():
    qs = lx.conv_vs_dense_questions()
    conv2_params, fc2_params = 3 * 3 * 5 * 5 + 5, 128 * 10 + 10
    conv2_macs, fc2_macs = side(side(28, 3), 3) ** 2 * 5 * 9 * 5, 128 * 10
    assert qs["more_params"].choices[qs["more_params"].correct_index()] == (
        "conv2" if conv2_params > fc2_params else "fc2")
    assert qs["more_macs"].choices[qs["more_macs"].correct_index()] == ("conv2" if conv2_macs > fc2_macs else "fc2")
    for q in qs.values():
        assert "conv2" not in q.explanation and "fc2" not in q.explanation


def test_questions_follow_the_model_given():
    # Built from the model's layers: a different model gives different questions.
    from efficientnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
    from efficientnn.models import Sequential

    model = Sequential([Conv2D(4, 3), ReLU(), MaxPool2D(3), Conv2D(4, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(8),
                        ReLU(), Dense(10)], (30, 30, 1), name="other")
    qs = lx.pooling_questions(model)
    assert check(qs["pool1_output_shape"], (side(28, 3, 3),) * 2 + (4,)).correct
    assert base_cnn_pooled().layer("pool1").pool_size == (2, 2)
    assert base_cnn().layer("conv2").filters == base_cnn_separable().layer("sepconv2").filters


# --------------------------------------------------------------------------- the per-layer plot
def test_compare_layers_matches_layers_by_name():
    from efficientnn.plots import compare_layers

    fig = compare_layers([base_cnn(), base_cnn_pooled()], "flops")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2"]
    assert len(ax.patches) == 4 + 6  # base_cnn has no pooling bars
    fig = compare_layers([base_cnn(), base_cnn_separable()], "params", log=False)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["conv1", "conv2", "fc1", "fc2"]
    with pytest.raises(ValueError):
        compare_layers([base_cnn()], "ops")
    with pytest.raises(ValueError):
        compare_layers([], "flops")


# --------------------------------------------------------------------------- what the messages say
def _shape_slips(h, w, k, s=None, c=3):
    kwargs = {"pool_size": k} if s is None else {"pool_size": k, "stride": s}
    return dict(lx._maxpool_shape_slips({"x": np.zeros((1, h, w, c), np.float32)}, kwargs))


@pytest.mark.parametrize("h, w, k, s", [(7, 6, 2, 2), (6, 7, 2, 2), (10, 10, 2, 3), (10, 5, 2, 3), (5, 10, 2, 3),
                                        (9, 9, 3, 3), (8, 11, 3, 4)])
def test_partial_windows_are_recognised_whichever_side_runs_off(h, w, k, s):
    # Keeping the partial windows gives ceil((n - k) / s) + 1 positions a side instead of floor(...) + 1.
    # k channels: the channel count tiles, so only the height and width decide.
    ceil = (-(-(h - k) // s) + 1, -(-(w - k) // s) + 1, k)
    floor = (side(h, k, s), side(w, k, s), k)
    slips = _shape_slips(h, w, k, s, c=k)
    if ceil != floor:
        assert slips["partial_windows_kept"] == ceil
    else:
        assert slips.get("partial_windows_kept", floor) == floor  # nothing to tell apart


def test_stride_none_slip_only_when_the_stride_was_left_out():
    assert _shape_slips(9, 9, 3)["stride_none_as_one"] == (side(9, 3), side(9, 3), 3)
    assert "stride_none_as_one" not in _shape_slips(9, 9, 3, 2)
    assert "stride_none_as_one" not in _shape_slips(9, 9, 1)  # 1x1 windows: stride 1 is right

    def always_stride_one(x, k, stride=None):
        return max_pool(x, k, 1)

    # Given stride=2, a stride of 1 is not the "stride=None" slip.
    assert not re.search(r"stride=None", fails(lx.check_max_pool, always_stride_one, "general"))
    assert re.search(r"stride=None means", fails(lx.check_max_pool, always_stride_one, "basic"))


def test_a_shift_on_stride_one_cases_is_named_even_where_windows_stepped_by_k_run_off_the_input():
    # The windows-step slip is built for every stride that is not the pool size; stepping by k past the
    # input's edge must not break the diagnosis (case (1, 8, 8, 2), pool 2, stride 1).
    def shifted_at_stride_one(x, k, stride=None):
        return max_pool(x, k, stride) + (1.0 if stride == 1 else 0.0)

    assert re.search(r"shifted by a constant", fails(lx.check_max_pool, shifted_at_stride_one, "general"))


def test_windows_stepping_by_pool_size_is_named_on_a_batch_with_channels():
    def step_k_with_channels(x, k, stride=None):
        return windows_step_k(x, k, stride) if x.shape[0] * x.shape[3] > 1 else max_pool(x, k, stride)

    text = fails(lx.check_max_pool, step_k_with_channels, "general")
    assert re.search(r"windows move by pool_size", text)


def test_every_case_is_a_valid_input():
    for case in lx.max_pool_cases("all"):
        (name, (n, h, w, c), fill), = case.arrays
        k = case.kwargs["pool_size"]
        assert name == "x" and n >= 1 and c >= 1 and h >= k and w >= k, case
    for case in lx.max_pool_cases("basic"):
        (_, (n, h, w, c), _), = case.arrays
        k = case.kwargs["pool_size"]
        assert case.kwargs.get("stride") is None and h % k == 0 and w % k == 0, "basic windows tile the input"


def test_failure_messages_name_the_call_and_rebuild_its_input():
    wrong = recording(lambda x, k, stride=None: max_pool(x, k, stride) + 1.0)
    text = fails(lx.check_max_pool, wrong)
    assert_message_rebuilds_last_call(text, "max_pool", wrong.calls[-1], ["x"])
    for stride in (False, True):
        broken = recording(lambda x, k, stride=None: None)
        text = fails(lx.check_max_pool_form, broken, stride=stride)
        assert_message_rebuilds_last_call(text, "max_pool", broken.calls[-1], ["x"])
        x, k = broken.calls[-1]
        assert k == 3 and (x.shape[1] != x.shape[2]) if stride else k == 2, "the documented form cases"


def test_default_form_check_calls_without_a_stride():
    def no_stride(x, pool_size):  # an early draft without the stride argument
        return max_pool(x, pool_size)

    assert lx.check_max_pool_form(no_stride) is None
    calls = []
    lx.check_max_pool_form(lambda x, k, **kw: calls.append(kw) or max_pool(x, k, **kw), stride=True)
    assert calls[-1]["stride"] != 3, "a stride other than the pool size"


def test_conv_vs_dense_prompts_choices_and_explanations():
    qs = lx.conv_vs_dense_questions()
    layer_names = {layer.name for layer in base_cnn().layers}
    assert set(qs) == {"more_params", "more_macs"}
    for key, q in qs.items():
        assert q.name == key
        assert q.choices == ("conv2", "fc2") and set(q.choices) <= layer_names
        assert_prose(q.prompt(), r"\bbase_cnn\b", r"conv2 or fc2\?$")
    assert_prose(qs["more_params"].prompt(), r"trainable parameters")
    assert_prose(qs["more_macs"].prompt(), r"\bMACs\b", r"one image")
    assert_prose(qs["more_params"].explanation, r"kernels", r"one weight per input-output pair")
    assert_prose(qs["more_macs"].explanation, r"\bMACs\b", r"output position", r"each weight once")


def test_conv_vs_dense_follows_the_model_given():
    from efficientnn.layers import Conv2D, Dense, Flatten, ReLU
    from efficientnn.models import Sequential

    # conv2 with 64 filters of 3x3x4 (2,368 weights and biases) against fc2 with 10x3 (33): conv2 has more
    # parameters; and fc2 has more MACs than a 1x1 conv2 on a 1x1 input.
    big_conv = Sequential([Conv2D(4, 3, name="conv1"), ReLU(), Conv2D(64, 3, name="conv2"), Flatten(),
                           Dense(3, name="fc1"), Dense(10, name="fc2")], (6, 6, 1), name="big_conv")
    qs = lx.conv_vs_dense_questions(big_conv)
    assert qs["more_params"].choices[qs["more_params"].correct_index()] == "conv2"
    tiny_conv = Sequential([Conv2D(1, 1, name="conv1"), Conv2D(1, 1, name="conv2"), Flatten(), Dense(50, name="fc1"),
                            Dense(40, name="fc2")], (1, 1, 1), name="tiny_conv")
    qs = lx.conv_vs_dense_questions(tiny_conv)
    assert qs["more_macs"].choices[qs["more_macs"].correct_index()] == "fc2"
    assert qs["more_params"].choices[qs["more_params"].correct_index()] == "fc2"


def test_pooled_prompts_add_the_counting_note_only_where_they_count_flops():
    qs = lx.pooling_questions()
    note = r"Bias additions are not counted"
    assert not re.search(note, qs["pool1_flops"].prompt()), "pool1's prompt says what its FLOPs count itself"
    assert not re.search(note, qs["pool1_output_shape"].prompt())
    for name in ("pooled_conv2_flops", "pooled_fc1_flops"):
        assert re.search(note, qs[name].prompt())


def test_pooled_widget_shows_its_title():
    widget = lx.pooled_widget("pool1_output_shape", title="Question 2")
    assert "Question 2" in widget.children[0].value


def test_the_stride_form_check_uses_the_input_the_notebook_announces():
    import nbformat
    from pathlib import Path

    nb = nbformat.read(Path(__file__).resolve().parents[1] / "source/03-pooling/03-pooling.ipynb", as_version=4)
    cell = next(c.source for c in nb.cells if "check_max_pool_form(max_pool, stride=True)" in c.source)
    h, w = map(int, re.search(r"a stride other than the pool size on a (\d+)x(\d+) input", cell).groups())
    fn = recording(max_pool)
    lx.check_max_pool_form(fn, stride=True)
    x, k = fn.calls[-1]
    assert x.shape[1:3] == (h, w) and x.shape[0] > 1, "a batch of several shows a dropped batch axis"


def test_graded_and_visible_inputs_are_the_ones_students_were_graded_on():
    # See quiz_support.fingerprint: a change to these inputs must be deliberate.
    from quiz_support import fingerprint

    def recorded(**kwargs):
        fn = recording(lambda x, k, stride=None: None)
        with pytest.raises(AssertionError):
            lx.check_max_pool_form(fn, **kwargs)
        return fn.calls

    cases = lambda s: [(c.arrays, c.kwargs, c.seed, c.note, c.positional) for c in lx.max_pool_cases(s)]  # noqa: E731
    assert {s: fingerprint(cases(s)) for s in lx.MAX_POOL_CASE_SETS} == {
        "basic": "d56f35fe782d19ab", "general": "b09cd756984c63c8", "all": "5e2edc9c6163acc6"}
    assert fingerprint(recorded()) == "12107e74d7bc2fbf"
    assert fingerprint(recorded(stride=True)) == "287cfab8be99397d"


def test_average_pooling_is_named_with_a_stride_too():
    assert re.search(r"average pooling", fails(lx.check_max_pool, average_pool, "general"))


def test_case_sets_and_questions_refuse_unknown_names():
    from quiz_support import fingerprint

    same = lambda cs: fingerprint([(c.arrays, c.kwargs, c.seed) for c in cs])  # noqa: E731
    assert same(lx.max_pool_cases()) == same(lx.max_pool_cases("all"))
    with pytest.raises(ValueError, match=r"^cases must be one of basic, general, all, got 'everything'\.$"):
        lx.max_pool_cases("everything")
    with pytest.raises(ValueError, match=r"^no pooling question named 'conv9_flops'; the names are: "
                                         r"pool1_output_shape, pooled_conv2_flops, pooled_fc1_flops, pool1_flops\.$"):
        lx.check_pooled("conv9_flops", 1)


def test_pooling_questions_are_named_and_ask_their_question():
    qs = lx.pooling_questions()
    asks = {"pool1_output_shape": r"output shape of the first pooling layer \(pool1\)\? Write it as HxWxD",
            "pooled_conv2_flops": r"How many FLOPs does the second convolutional layer \(conv2\) perform",
            "pooled_fc1_flops": r"How many FLOPs does the first fully connected layer \(fc1\) perform",
            "pool1_flops": r"comparisons count as FLOPs"}
    for name, ask in asks.items():
        assert qs[name].name == name and re.search(ask, qs[name].prompt())


def test_check_pooled_follows_the_model_given():
    from efficientnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
    from efficientnn.models import Sequential

    model = Sequential([Conv2D(4, 3), ReLU(), MaxPool2D(3), Conv2D(4, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(8),
                        ReLU(), Dense(10)], (30, 30, 1), name="other")
    p1 = side(side(30, 3), 3, 3)
    assert lx.check_pooled("pool1_output_shape", f"{p1}x{p1}x4", model=model).correct
    assert not lx.check_pooled("pool1_output_shape", f"{p1}x{p1}x4").correct  # base_cnn_pooled's is another


def test_pool1_flops_has_no_unpooled_slip_and_still_checks():
    p1 = side(side(28, 3), 2, 2)
    verdict = lx.check_pooled("pool1_flops", 1)
    assert not verdict.correct and verdict.slip != "pooling_ignored"
    assert lx.check_pooled("pool1_flops", p1 * p1 * 5 * 3).correct  # 3 comparisons per 2x2 window
