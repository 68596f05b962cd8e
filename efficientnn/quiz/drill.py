"""A practice drill: random layers, asked about their output shape, MACs or FLOPs.

Each "New question" draws a fresh valid layer from a seeded generator (the same seed gives the
same questions) and each Check goes through :func:`efficientnn.quiz.check`, like every other
question in the course.
"""
from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from .check import check
from .questions import LayerSpec, Question
from .widgets import _check_button, _feedback, feedback_html

__all__ = ["DRILL_KINDS", "DRILL_LAYER_KINDS", "random_layer_question", "DrillWidget", "drill"]

DRILL_KINDS = ("output_shape", "macs", "flops")
DRILL_LAYER_KINDS = ("conv", "depthwise", "separable", "dense", "maxpool", "avgpool")

# Which layers each kind of question makes sense for (a dense layer's shape is just its units,
# pooling has no MACs), and how often each layer is drawn.
_FITS = {
    "output_shape": ("conv", "depthwise", "separable", "maxpool", "avgpool"),
    "macs": ("conv", "depthwise", "separable", "dense"),
    "flops": ("conv", "depthwise", "separable", "dense", "maxpool", "avgpool"),
    "params": ("conv", "depthwise", "separable", "dense"),
    "ratio": ("separable",),
}
_WEIGHT = {"conv": 4, "depthwise": 2, "separable": 1, "dense": 1, "maxpool": 1, "avgpool": 1}


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _random_layer(kind: str, rng) -> LayerSpec:
    if kind == "dense":
        inputs = _pick(rng, (64, 128, 256, 512, 784, 1024, int(rng.integers(2, 13)) ** 2 * _pick(rng, (1, 4, 5, 8))))
        return LayerSpec("dense", (inputs,), units=_pick(rng, (10, 16, 32, 64, 128, 256)))
    channels = _pick(rng, (1, 3, 4, 8, 16, 32))
    if kind in ("maxpool", "avgpool"):
        size = _pick(rng, (2, 2, 3))
        stride = _pick(rng, (None, None, None, 1, 2))
        low = size
    else:
        size = _pick(rng, (1, 3, 3, 3, 5, 7))
        stride = _pick(rng, (1, 1, 1, 2))
        low = max(size, 5)
    # The input is at least as large as the kernel, so the layer is valid with any padding >= 0.
    h = int(rng.integers(low, 33))
    w = h if rng.random() < 0.8 else int(rng.integers(low, 33))
    if kind in ("maxpool", "avgpool"):
        return LayerSpec(kind, (h, w, channels), kernel_size=size, stride=stride)
    padding = _pick(rng, (0, 0, "same", 1))
    filters = _pick(rng, (4, 8, 16, 32, 64))
    multiplier = _pick(rng, (1, 1, 1, 2))
    if kind == "conv":
        return LayerSpec("conv", (h, w, channels), kernel_size=size, filters=filters, stride=stride, padding=padding)
    if kind == "depthwise":
        return LayerSpec("depthwise", (h, w, channels), kernel_size=size, stride=stride, padding=padding,
                         depth_multiplier=multiplier)
    return LayerSpec("separable", (h, w, channels), kernel_size=size, filters=filters, stride=stride,
                     padding=padding, depth_multiplier=multiplier)


def random_layer_question(rng, kinds=DRILL_KINDS, layer_kinds=DRILL_LAYER_KINDS) -> Question:
    """A random, valid question: a layer that fits its input and a quantity to compute.

    Parameters
    ----------
    rng : numpy.random.Generator (or an int seed)
    kinds : question kinds to draw from ("output_shape", "macs", "flops", "params", "ratio")
    layer_kinds : layer kinds to draw from; each question kind uses the ones it fits

    Example
    -------
    >>> q = random_layer_question(np.random.default_rng(0))
    >>> q.kind in DRILL_KINDS
    True
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    kinds = tuple(kinds)
    if not kinds:
        raise ValueError("kinds is empty: give at least one of output_shape, macs, flops, params, ratio.")
    unknown = [k for k in kinds if k not in _FITS]
    if unknown:
        raise ValueError(f"unknown question kinds {unknown}; use some of {', '.join(_FITS)}.")
    usable = [k for k in kinds if any(layer in layer_kinds for layer in _FITS[k])]
    if not usable:
        raise ValueError(f"no layer in {tuple(layer_kinds)} fits the question kinds {kinds}.")
    kind = _pick(rng, usable)
    layers = [layer for layer in _FITS[kind] if layer in layer_kinds]
    weights = np.array([_WEIGHT[layer] for layer in layers], dtype=float)
    layer_kind = layers[int(rng.choice(len(layers), p=weights / weights.sum()))]
    return Question(kind, _random_layer(layer_kind, rng), name=f"drill_{kind}")


class DrillWidget(widgets.VBox):
    """The drill's widget (see :func:`drill`).

    Attributes (Python only, not synced to the browser): ``question``, ``answer_box``,
    ``check_button``, ``new_button``, ``feedback``, ``score_label``, ``asked``, ``right_first_try``,
    ``last_verdict``.
    """

    def __init__(self, seed=None, kinds=DRILL_KINDS, layer_kinds=DRILL_LAYER_KINDS):
        self._rng = np.random.default_rng(seed)
        self._kinds, self._layer_kinds = tuple(kinds), tuple(layer_kinds)
        random_layer_question(np.random.default_rng(0), self._kinds, self._layer_kinds)  # fail early on bad kinds
        prompt = widgets.HTML(value="")
        prompt.add_class("enn-quiz-prompt")
        answer_box = widgets.Text(value="", placeholder="your answer", description="Answer:",
                                  layout=widgets.Layout(width="22em"))
        answer_box.add_class("enn-quiz-input")
        check_button, feedback = _check_button(), _feedback()
        new_button = widgets.Button(description="New question", tooltip="Pose a new random layer")
        new_button.add_class("enn-drill-new")
        score = widgets.HTML(value="")
        score.add_class("enn-drill-score")
        super().__init__(children=[prompt, widgets.HBox([answer_box, check_button, new_button]), feedback, score])
        self.add_class("enn-drill")
        self.prompt, self.answer_box, self.feedback, self.score_label = prompt, answer_box, feedback, score
        self.check_button, self.new_button = check_button, new_button
        self.asked = self.right_first_try = 0
        self.question = self.last_verdict = None
        self._scored = False
        check_button.on_click(lambda _b: self.check_answer())
        new_button.on_click(lambda _b: self.new_question())
        self.new_question()

    def new_question(self) -> Question:
        """Pose the next random question and clear the answer box."""
        self.question = random_layer_question(self._rng, self._kinds, self._layer_kinds)
        self._scored = False
        self.prompt.value = html.escape(self.question.prompt())
        self.answer_box.value = ""
        self.feedback.value = ""
        self._show_score()
        return self.question

    def check_answer(self, answer=None):
        """Check ``answer`` (default: the text box). Only the first check of a question is scored."""
        if answer is not None:
            self.answer_box.value = str(answer)
        self.last_verdict = check(self.question, self.answer_box.value)
        if not self._scored and self.last_verdict.slip not in ("no_answer", "format"):
            self._scored = True
            self.asked += 1
            self.right_first_try += int(self.last_verdict.correct)
        self.feedback.value = feedback_html(self.last_verdict)
        self._show_score()
        return self.last_verdict

    def _show_score(self):
        self.score_label.value = f"Score: {self.right_first_try} of {self.asked} right at the first try"


def drill(seed=None, kinds=DRILL_KINDS, layer_kinds=DRILL_LAYER_KINDS) -> DrillWidget:
    """A practice drill widget: New question poses a random layer, Check checks the answer.

    Parameters
    ----------
    seed : int or None, the same seed poses the same sequence of questions
    kinds : question kinds to ask, a subset of ("output_shape", "macs", "flops", "params", "ratio")
    layer_kinds : layer kinds to draw, a subset of ("conv", "depthwise", "separable", "dense",
        "maxpool", "avgpool")

    Returns
    -------
    DrillWidget (display it as a cell's last expression); it keeps the score of first tries.

    Example
    -------
    >>> d = drill(seed=1, kinds=("output_shape",))
    >>> d.question.kind
    'output_shape'
    """
    return DrillWidget(seed, kinds, layer_kinds)
