"""Checkers and questions of assignment 03 (source/03-pooling).

Function exercise (the signature the notebook's stub defines), arrays NHWC:

- ``max_pool(x, pool_size, stride=None)``: x (N, H, W, C), square ``pool_size`` x ``pool_size``
  windows, ``stride=None`` meaning stride = pool_size, no padding; checked against
  :class:`efficientnn.layers.MaxPool2D` by :func:`check_max_pool` (visible test:
  :func:`check_max_pool_form`).

The checker runs the function on fixed and seeded random inputs through
:func:`efficientnn.quiz.harness.check_array_function`, which computes the right output with
:mod:`efficientnn.layers` at check time and on the first mismatch raises ``AssertionError``
naming the call, how to rebuild its input, and the slip. Shape slips are the quiz's; the value
and pooling-specific shape slips are in :data:`POOLING_SLIP_MESSAGES`. No message contains the
right output.

Questions about layers inside the course's models (built with :meth:`LayerSpec.from_layer`):
:func:`pooling_questions` (``base_cnn_pooled``) and :func:`conv_vs_dense_questions`
(``base_cnn``). Answers to the pooling questions are checked by :func:`check_pooled`, which adds
one slip to :func:`efficientnn.quiz.check`: the value for ``base_cnn``, pooling ignored.
:func:`pooled_widget` is the self-check widget that uses the same checker.

Example
-------
>>> from efficientnn.layers import MaxPool2D
>>> def max_pool(x, pool_size, stride=None):
...     layer = MaxPool2D(pool_size, stride)
...     layer.build(x.shape[1:])
...     return layer.forward(x)
>>> check_max_pool(max_pool, allow_reference=True)  # None when every case passes
>>> check_pooled("pool1_output_shape", "14x14x1").slip
'pool_before_conv'
"""
from __future__ import annotations

from functools import partial

import numpy as np

from .. import layers as _layers
from .check import Verdict, check, scaled
from .harness import ArrayCase, add_slips, assert_no_slip, assert_right, check_array_form, check_array_function
from .questions import LayerSpec, Question, model_question
from .widgets import QuizWidget

__all__ = [
    "POOLING_SLIP_MESSAGES",
    "max_pool_cases",
    "MAX_POOL_CASE_SETS",
    "check_max_pool",
    "check_max_pool_form",
    "pooling_questions",
    "check_pooled",
    "grade_pooled",
    "assert_pooling_not_ignored",
    "assert_pooled",
    "pooled_widget",
    "conv_vs_dense_questions",
]

#: Seed of the random cases: fixed, so every student is graded on the same inputs.
SEED = 303

#: Slips of max pooling and of the pooled model's questions (shape slips come from the quiz's SLIP_MESSAGES).
POOLING_SLIP_MESSAGES = {
    "average_for_max": ("This is average pooling: each window's values were averaged. Max pooling keeps the "
                        "largest value of each window."),
    "max_from_zero": ("Right wherever a window holds a positive value, wrong where all its values are negative: "
                      "the running maximum seems to start at 0. Start it from the window's first value (or -inf), "
                      "or take the window's max with numpy."),
    "windows_step_pool_size": ("The windows move by pool_size instead of by the stride: output (i, j) reads the "
                               "window whose top-left corner is (i * stride, j * stride)."),
    "partial_windows_kept": ("A window that runs off the edge of the input was kept. Like a convolution without "
                             "padding, pooling only uses windows that fit inside the input: floor((n - k) / s) + 1 "
                             "per side."),
    "stride_as_pool_size": ("The stride was not used: with stride s the windows start s pixels apart, whatever "
                            "the pool size, so a side is floor((n - k) / s) + 1."),
    "stride_none_as_one": ("stride=None means the stride equals pool_size (windows side by side, not "
                           "overlapping), as in Keras and efficientnn.layers.MaxPool2D."),
    "channels_pooled": ("The channels were pooled together. Pooling works on each channel separately: the output "
                        "has as many channels as the input."),
    "pooling_ignored": ("This is the value for base_cnn, without pooling. In base_cnn_pooled every pooling layer "
                        "shrinks the height and width before the next layer, so work through the pooled model "
                        "layer by layer."),
}


# --------------------------------------------------------------------------- max pooling
def _pool_shape(hw_c, k, s, mode="floor"):
    h, w, c = hw_c
    side = (lambda n: (n - k) // s + 1) if mode == "floor" else (lambda n: -(-(n - k) // s) + 1)
    return (side(h), side(w), c)


def _strided_max(x, k, step, out_hw):
    """Max over windows whose corners step by ``step``, clipped at the edge (a slip's output)."""
    n, h, w, c = x.shape
    ho, wo = out_hw
    out = np.empty((n, ho, wo, c), dtype=np.float64)
    for i in range(ho):
        for j in range(wo):
            window = x[:, i * step : i * step + k, j * step : j * step + k, :]
            if window.shape[1] == 0 or window.shape[2] == 0:
                return None
            out[:, i, j, :] = window.max(axis=(1, 2))
    return out


def _maxpool_reference(arrays, kwargs):
    layer = _layers.MaxPool2D(kwargs["pool_size"], kwargs.get("stride"))
    layer.build(arrays["x"].shape[1:])
    return layer.forward(arrays["x"])


def _maxpool_question(case, arrays):
    return Question("output_shape", LayerSpec("maxpool", arrays["x"].shape[1:], kernel_size=case.kwargs["pool_size"],
                                              stride=case.kwargs.get("stride")))


def _maxpool_shape_slips(arrays, kwargs):
    x, k = arrays["x"], kwargs["pool_size"]
    s = kwargs.get("stride") or k
    out = [("channels_pooled", _pool_shape(x.shape[1:3] + (1,), k, s))]
    if (x.shape[1] - k) % s or (x.shape[2] - k) % s:
        out.append(("partial_windows_kept", _pool_shape(x.shape[1:], k, s, "ceil")))
    if s != k:
        out.append(("stride_as_pool_size", _pool_shape(x.shape[1:], k, k)))
    if kwargs.get("stride") is None and k > 1:
        out.append(("stride_none_as_one", _pool_shape(x.shape[1:], k, 1)))
    return out


def _maxpool_value_slips(arrays, kwargs, expected):
    x, k = arrays["x"], kwargs["pool_size"]
    avg = _layers.AvgPool2D(k, kwargs.get("stride"))
    avg.build(x.shape[1:])
    out = [("average_for_max", avg.forward(x)), ("max_from_zero", np.maximum(expected, 0.0))]
    s = kwargs.get("stride") or k
    if s != k:
        stepped = _strided_max(x, k, k, expected.shape[1:3])
        if stepped is not None:
            out.append(("windows_step_pool_size", stepped))
    return out


# (x shape, pool_size, stride, fill, note); simple ones first, so the first failure is the telling one.
_POOL_BASIC = [
    ((1, 4, 4, 1), 2, None, "normal", "one 4x4 image, one channel"),
    ((2, 6, 6, 3), 2, None, "normal", "a batch of two, three channels"),
    ((1, 9, 9, 2), 3, None, "normal", "3x3 windows"),
    ((3, 8, 8, 4), 4, None, "normal", "4x4 windows"),
    ((2, 6, 6, 2), 2, None, "negative", "every value negative"),
    ((1, 5, 5, 1), 1, None, "normal", "1x1 windows: nothing changes"),
]
_POOL_GENERAL = [
    ((1, 7, 7, 1), 3, 2, "normal", "overlapping windows: stride 2 < pool_size 3"),
    ((2, 6, 10, 3), 2, None, "normal", "height and width differ"),
    ((1, 7, 9, 2), 2, None, "normal", "windows that do not tile the input: the last row and column are left out"),
    ((2, 10, 7, 3), 2, 3, "normal", "stride 3 > pool_size 2: gaps between windows"),
    ((1, 8, 8, 2), 2, 1, "normal", "stride 1"),
    ((2, 9, 6, 3), 3, 2, "negative", "every value negative, overlapping windows"),
]
MAX_POOL_CASE_SETS = ("basic", "general", "all")


def max_pool_cases(cases: str = "all", n_random: int = 4, seed: int = SEED) -> list[ArrayCase]:
    """The inputs ``max_pool(x, pool_size, stride=None)`` is checked on.

    ``"basic"``: stride None (windows side by side) on inputs they tile; ``"general"``: strides
    other than the pool size, inputs of unequal height and width, windows that do not tile.
    """
    if cases not in MAX_POOL_CASE_SETS:
        raise ValueError(f"cases must be one of {', '.join(MAX_POOL_CASE_SETS)}, got {cases!r}.")
    rng = np.random.default_rng(seed)
    rows = []
    if cases in ("basic", "all"):
        rows += _POOL_BASIC
        for _ in range(n_random):
            k = int(rng.choice([2, 3]))
            rows.append(((int(rng.integers(1, 4)), k * int(rng.integers(1, 6)), k * int(rng.integers(1, 6)),
                          int(rng.choice([1, 3, 5]))), k, None, "normal", ""))
    if cases in ("general", "all"):
        rows += _POOL_GENERAL
        for _ in range(n_random):
            k = int(rng.choice([2, 3, 4]))
            s = int(rng.choice([1, 2, 3]))
            rows.append(((int(rng.integers(1, 4)), int(rng.integers(k, 15)), int(rng.integers(k, 15)),
                          int(rng.choice([1, 2, 4]))), k, s, "normal", ""))
    out = []
    for i, (shape, k, s, fill, note) in enumerate(rows):
        kwargs = {"pool_size": k} if s is None else {"pool_size": k, "stride": s}
        out.append(ArrayCase((("x", shape, fill),), kwargs, seed + 10 * i, note, positional=("pool_size",)))
    return out


def check_max_pool(fn, cases: str = "all", allow_reference: bool = False) -> None:
    """Check ``max_pool(x, pool_size, stride=None)`` against :class:`efficientnn.layers.MaxPool2D`.

    Parameters
    ----------
    fn : the student's function
    cases : "basic", "general" or "all" (see :func:`max_pool_cases`)
    allow_reference : accept a function that calls MaxPool2D itself (for tests of this module)
    """
    check_array_function(fn, max_pool_cases(cases), "max_pool", _maxpool_reference, _maxpool_question,
                         _maxpool_value_slips, _maxpool_shape_slips, allow_reference, messages=POOLING_SLIP_MESSAGES)


def check_max_pool_form(fn, stride: bool = False) -> None:
    """Visible test: ``max_pool`` returns a 4-D array with the batch kept (not whether it is right).

    ``stride=True`` calls it with a stride other than the pool size on an input of unequal sides.
    """
    if stride:
        case = ArrayCase((("x", (2, 7, 5, 2), "normal"),), {"pool_size": 3, "stride": 2}, seed=7,
                         positional=("pool_size",))
    else:
        case = ArrayCase((("x", (2, 4, 4, 3), "normal"),), {"pool_size": 2}, seed=7, positional=("pool_size",))
    check_array_form(fn, case, "max_pool")



# --------------------------------------------------------------------------- questions about the models
_POOLED_ASK = [
    ("pool1_output_shape", "pool1", "output_shape", "conv1",
     "What is the output shape of the first pooling layer (pool1)? Write it as HxWxD."),
    ("pooled_conv2_flops", "conv2", "flops", "conv2",
     "How many FLOPs does the second convolutional layer (conv2) perform for one image?"),
    ("pooled_fc1_flops", "fc1", "flops", "fc1",
     "How many FLOPs does the first fully connected layer (fc1) perform for one image?"),
    ("pool1_flops", "pool1", "flops", None,
     "How many FLOPs does the first pooling layer (pool1) perform for one image (comparisons count as FLOPs)?"),
]


def pooling_questions(model=None) -> dict[str, Question]:
    """Questions about layers of ``base_cnn_pooled``, built from the model's own layers.

    Names: "pool1_output_shape", "pooled_conv2_flops", "pooled_fc1_flops", "pool1_flops". The
    prompts describe the model, not the layer's input (which would give away earlier answers).

    Parameters
    ----------
    model : Sequential or None, defaults to :func:`efficientnn.models.base_cnn_pooled`
    """
    if model is None:
        from ..models import base_cnn_pooled

        model = base_cnn_pooled()
    # pool1's own prompt says what its FLOPs count (the comparisons), so it gets no note.
    return {name: model_question(model, layer, kind, name, ask, note=layer != "pool1")
            for name, layer, kind, _, ask in _POOLED_ASK}


def _unpooled_value(name: str):
    """The answer to the same question about base_cnn (pooling left out), or None."""
    from ..models import base_cnn

    row = next(r for r in _POOLED_ASK if r[0] == name)
    if row[3] is None:
        return None
    spec = LayerSpec.from_layer(base_cnn().layer(row[3]))
    return spec.output_shape() if row[2] == "output_shape" else spec.flops()


def check_pooled(name: str, answer, model=None) -> Verdict:
    """Check an answer to ``pooling_questions()[name]``.

    :func:`efficientnn.quiz.check` decides and explains; one slip is added: an answer equal to the
    ``base_cnn`` value (as if there were no pooling) gets the "pooling_ignored" message.
    """
    questions = pooling_questions(model)
    if name not in questions:
        raise ValueError(f"no pooling question named {name!r}; the names are: {', '.join(questions)}.")
    question = questions[name]
    unpooled = _unpooled_value(name)
    candidates = [] if unpooled is None else [("pooling_ignored", unpooled, POOLING_SLIP_MESSAGES["pooling_ignored"])]
    return add_slips(check(question, answer), question, answer, candidates)


def assert_pooling_not_ignored(name: str, answer) -> None:
    """Raise AssertionError with the "pooling_ignored" message if ``answer`` is the ``base_cnn`` value.

    Returns None otherwise, right or wrong. A hidden test calls this first and then
    :func:`efficientnn.quiz.assert_correct` or :func:`efficientnn.quiz.grade` on
    ``pooling_questions()[name]``, so that the quiz decides the score and the one slip the quiz
    cannot know (the question is about a pooled model) still gets its own message.
    """
    assert_no_slip(check_pooled(name, answer), ("pooling_ignored",))


def grade_pooled(name: str, answer, points=None) -> Verdict:
    """:func:`check_pooled` scaled to a grade cell's points (a hidden test's last line, for partial credit)."""
    return scaled(check_pooled(name, answer), points)


def assert_pooled(name: str, answer) -> None:
    """Raise AssertionError with :func:`check_pooled`'s message unless the answer is fully right."""
    assert_right(check_pooled(name, answer))


def pooled_widget(name: str, title=None) -> QuizWidget:
    """Self-check widget for ``pooling_questions()[name]``, checked by :func:`check_pooled` like the hidden test."""
    return QuizWidget(pooling_questions()[name], title, checker=partial(check_pooled, name))


def conv_vs_dense_questions(model=None):
    """Two multiple-choice questions on ``base_cnn``: which of conv2 and fc2 has more parameters,
    and which performs more MACs. The right choice is computed from :func:`efficientnn.cost.profile`.
    """
    from ..cost import profile
    from ..models import base_cnn
    from .questions import ChoiceQuestion

    model = base_cnn() if model is None else model
    rows = {r.name: r for r in profile(model)}

    def more(attr):
        return lambda: "conv2" if getattr(rows["conv2"], attr) > getattr(rows["fc2"], attr) else "fc2"

    return {
        "more_params": ChoiceQuestion(
            "In base_cnn, which layer has more trainable parameters: conv2 or fc2?", ("conv2", "fc2"), more("params"),
            "Count the weights: a convolution's weights are its kernels only (kh x kw x input depth x filters), "
            "however large the image; a dense layer has one weight per input-output pair.", "more_params"),
        "more_macs": ChoiceQuestion(
            "In base_cnn, which layer performs more MACs for one image: conv2 or fc2?", ("conv2", "fc2"), more("macs"),
            "A convolution uses every weight once per output position: its MACs are its weights times the "
            "number of output positions. A dense layer uses each weight once.", "more_macs"),
    }

