"""Questions as data: a layer, a quantity asked about it, and the rule that computes the answer.

No answer is ever typed here. :func:`expected` computes it from the question's parameters with
:mod:`efficientnn.shapes` and :mod:`efficientnn.cost`, and the lesson's questions about
``base_cnn`` are built from the layers of :func:`efficientnn.models.base_cnn` itself.

Example
-------
>>> q = Question("output_shape", LayerSpec("conv", (12, 12, 3), kernel_size=5, filters=8))
>>> expected(q)
(8, 8, 8)
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field, fields
from typing import Callable

from .. import shapes
from ..layers import LAYER_CLASSES, Layer, WindowLayer

__all__ = [
    "LAYER_KINDS",
    "QUESTION_KINDS",
    "LayerSpec",
    "Question",
    "ChoiceQuestion",
    "expected",
    "quantity_or_rate",
    "describe_model",
    "lesson_questions",
    "lesson_choice_questions",
    "base_cnn_questions",
    "model_question",
    "get_question",
    "upstream_of",
]


def _asked_kinds() -> tuple:
    """The layer kinds questions can be asked about: every layer class with a fixed input rank."""
    return tuple(kind for kind, cls in LAYER_CLASSES.items() if cls.input_ndim)


#: The layer kinds of :mod:`efficientnn.layers` questions are asked about.
LAYER_KINDS = _asked_kinds()
QUESTION_KINDS = ("output_shape", "macs", "flops", "params", "ratio")


def _dims(shape) -> str:
    return "x".join(str(d) for d in shape)


#: What each hyper-parameter a layer kind cannot do without means, for the error message.
_NEEDS = {
    "kernel_size": "the pool size for pooling",
    "filters": "the number of output channels",
    "units": "the number of outputs",
}
#: The quiz calls every window "kernel_size"; pooling layers take it as "pool_size" (the Keras name).
_ARGUMENT = {"pool_size": "kernel_size"}


@dataclass(frozen=True)
class LayerSpec:
    """One layer, described by its hyper-parameters and the shape of its input.

    A thin quiz-facing name for a layer of :mod:`efficientnn.layers` bound to its input shape:
    the spec makes that layer (:meth:`as_layer`) and asks it for every shape, count and word,
    so no formula is written twice.

    Parameters
    ----------
    kind : {"conv", "depthwise", "separable", "dense", "maxpool", "avgpool"}, any layer kind
        with a fixed input rank (:data:`LAYER_KINDS`)
    input_shape : (H, W, C) for spatial layers, (in_units,) for dense; no batch dimension
    kernel_size : int or (kh, kw); the pool size for pooling layers
    filters : int, output channels of "conv" and "separable"
    stride : int or None; None means the layer's default: 1 for convolutions, the pool size for pooling
    padding : int, (ph, pw), "valid" or "same"
    depth_multiplier : int, for "depthwise" and "separable"
    units : int, for "dense"
    use_bias : bool, only changes the parameter count (bias adds are never counted as MACs)
    name : str or None, e.g. "conv1"

    Raises
    ------
    ValueError
        If the kind is unknown, a needed hyper-parameter is missing, or the layer cannot be
        applied to its input (for example a kernel larger than the padded input).

    Example
    -------
    >>> LayerSpec("conv", (20, 20, 2), kernel_size=3, filters=6).output_shape()
    (18, 18, 6)
    """

    kind: str
    input_shape: tuple
    kernel_size: int | tuple | None = None
    filters: int | None = None
    stride: int | None = None
    padding: int | tuple | str = 0
    depth_multiplier: int = 1
    units: int | None = None
    use_bias: bool = True
    name: str | None = None
    _layer: Layer = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.kind not in _asked_kinds():
            raise ValueError(f"LayerSpec kind must be one of {', '.join(_asked_kinds())}, got {self.kind!r}.")
        cls = LAYER_CLASSES[self.kind]
        object.__setattr__(self, "input_shape", shapes.as_shape(self.input_shape, ndim=cls.input_ndim))
        params = inspect.signature(cls).parameters
        feeds = {arg: _ARGUMENT.get(arg, arg) for arg in params if arg != "name"}  # argument -> spec field
        missing = [f for arg, f in feeds.items()
                   if params[arg].default is inspect.Parameter.empty and getattr(self, f) is None]
        if missing:
            first = min(missing, key=lambda f: list(_NEEDS).index(f) if f in _NEEDS else len(_NEEDS))
            raise ValueError(f"a {self.kind} layer needs {first}" + (f" ({_NEEDS[first]})." if first in _NEEDS else "."))
        if issubclass(cls, WindowLayer):
            object.__setattr__(self, "kernel_size", shapes.as_pair(self.kernel_size, "kernel_size"))
        args = {arg: getattr(self, f) for arg, f in feeds.items() if getattr(self, f) is not None}
        layer = cls(**args, name=self.name)
        layer.bind(self.input_shape)  # validates the whole layer with the shapes module's messages
        object.__setattr__(self, "_layer", layer)

    def as_layer(self) -> Layer:
        """The :mod:`efficientnn.layers` layer this spec describes, bound to its input (no weights)."""
        return self._layer

    # ---------------------------------------------------------------- derived values
    @property
    def effective_stride(self) -> int:
        """The stride actually used: 1 for convolutions and the pool size for pooling if None."""
        return int(self.stride) if self.stride is not None else getattr(self._layer, "stride", 1)

    @property
    def pads(self) -> tuple[int, int]:
        """Padding in pixels per side, (ph, pw)."""
        return getattr(self._layer, "padding", (0, 0))

    @property
    def in_channels(self) -> int:
        return self.input_shape[-1]

    @property
    def is_spatial(self) -> bool:
        """Whether the layer slides a kh x kw window over an (H, W, C) input (convolutions, pooling)."""
        return isinstance(self._layer, WindowLayer)

    def replace(self, **changes) -> "LayerSpec":
        """A copy with some hyper-parameters changed (used to compute typical wrong answers)."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        values.update(changes)
        return LayerSpec(**values)

    def output_shape(self) -> tuple:
        """Output shape, from :mod:`efficientnn.shapes`."""
        return self._layer.output_shape

    def macs(self) -> int:
        """MACs for one example, from :mod:`efficientnn.cost` (pooling has none)."""
        return self._layer.macs()

    def flops(self) -> int:
        """FLOPs for one example: 2 x MACs, or the pooling count of :func:`efficientnn.cost.pool_flops`."""
        return self._layer.flops()

    def params(self) -> int:
        """Trainable parameters (weights, plus biases if ``use_bias``)."""
        return self._layer.param_count()

    def standard_equivalent(self) -> "LayerSpec":
        """The standard convolution with the same input, kernel, stride, padding and output shape."""
        standard = self._layer.standard_equivalent()
        return LayerSpec("conv", self.input_shape, self.kernel_size, standard.filters, self.stride, self.padding,
                         use_bias=self.use_bias, name=self.name)

    def has_standard_equivalent(self) -> bool:
        """Whether the layer replaces a standard convolution (depthwise and separable ones do)."""
        return type(self._layer).standard_equivalent is not Layer.standard_equivalent

    def mac_ratio(self) -> float:
        """MACs of this separable (or depthwise) layer divided by those of its standard equivalent."""
        return self.macs() / self.standard_equivalent().macs()

    # ---------------------------------------------------------------- words
    def describe(self) -> str:
        """The layer in words, as a question states it (never any computed result).

        Example
        -------
        >>> LayerSpec("conv", (25, 25, 9), 7, filters=1).describe()
        'a convolution with 1 filter, a 7x7x9 kernel (HxWxD), stride 1, no padding, applied to a 25x25x9 input (HxWxD)'
        """
        return self._layer.describe()

    @classmethod
    def from_layer(cls, layer) -> "LayerSpec":
        """The spec of a built :mod:`efficientnn.layers` layer (e.g. ``model.layer("conv1")``)."""
        kind = layer.kind
        if kind not in _asked_kinds():
            raise ValueError(f"no questions are asked about {kind} layers; use one of {', '.join(_asked_kinds())}.")
        if layer.input_shape is None:
            raise ValueError(f"layer {layer.name or kind} is not built: put it in a Sequential model first.")
        hyper = {f.name: getattr(layer, f.name) for f in fields(cls)
                 if f.init and f.name not in ("kind", "input_shape", "name") and hasattr(layer, f.name)}
        return cls(kind, tuple(layer.input_shape), name=layer.name, **hyper)


_ASK = {
    "output_shape": "What is the output shape? Write it as HxWxD.",
    "macs": "How many MACs (multiply-accumulates) does it perform for one example? Do not count bias additions.",
    "flops": "How many FLOPs does it perform for one example? Do not count bias additions.",
    "params": "How many trainable parameters (weights and biases) does it have?",
    "ratio": ("What fraction of the MACs of a standard convolution with the same input and output shapes "
              "does it need? Give its MACs divided by the standard convolution's MACs (a number below 1)."),
}


@dataclass(frozen=True)
class Question:
    """A question with a computed answer.

    Parameters
    ----------
    kind : {"output_shape", "macs", "flops", "params", "ratio"}
        "ratio" is the MACs of a separable (or depthwise) layer over those of the standard
        convolution with the same shapes.
    layer : LayerSpec
    name : str or None, a stable id such as "conv1_flops"
    prompt_text : str or None, replaces the generated prompt (used when the layer's input shape
        would give away another question's answer)
    points : float, the points :func:`efficientnn.quiz.check` awards for a right answer

    Example
    -------
    >>> Question("macs", LayerSpec("dense", (2880,), units=128)).prompt()
    'Take a dense (fully connected) layer with 128 units and 2880 inputs. How many MACs (multiply-accumulates) does it perform for one example? Do not count bias additions.'
    """

    kind: str
    layer: LayerSpec
    name: str | None = None
    prompt_text: str | None = None
    points: float = 1.0
    upstream: tuple = field(default=(), repr=False, compare=False)

    def __post_init__(self):
        if self.kind not in QUESTION_KINDS:
            raise ValueError(f"Question kind must be one of {', '.join(QUESTION_KINDS)}, got {self.kind!r}.")
        if not isinstance(self.layer, LayerSpec):
            raise ValueError(f"Question layer must be a LayerSpec, got {type(self.layer).__name__}.")
        if self.kind == "ratio" and not self.layer.has_standard_equivalent():
            raise ValueError("a ratio question needs a separable or depthwise layer.")
        if self.points <= 0:
            raise ValueError(f"points must be positive, got {self.points}.")

    def prompt(self) -> str:
        """The question in words: the layer's description and what is asked."""
        if self.prompt_text:
            return self.prompt_text
        ask = _ASK[self.kind]
        if self.kind == "output_shape" and len(self.layer.output_shape()) == 1:
            ask = "What is the output shape? Write it as (N,)."
        return f"Take {self.layer.describe()}. {ask}"


@dataclass(frozen=True)
class ChoiceQuestion:
    """A multiple-choice question whose right choice is computed by a rule, not typed.

    Parameters
    ----------
    prompt_text : str
    choices : tuple of str
    answer_fn : callable () -> str or int, returns the right choice (its text or index)
    explanation : str, the rule, shown when an answer is wrong (it must teach, not name the choice)
    name : str or None
    points : float

    Example
    -------
    >>> q = ChoiceQuestion('Is "100 FLOPS" a quantity or a rate?', ("quantity", "rate"),
    ...                    lambda: quantity_or_rate("100 FLOPS"))
    >>> q.correct_index()
    1
    """

    prompt_text: str
    choices: tuple
    answer_fn: Callable[[], object] = field(repr=False)
    explanation: str = ""
    name: str | None = None
    points: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "choices", tuple(str(c) for c in self.choices))
        if len(self.choices) < 2:
            raise ValueError("a ChoiceQuestion needs at least two choices.")

    def prompt(self) -> str:
        return self.prompt_text

    def correct_index(self) -> int:
        """Index of the right choice, computed now by ``answer_fn``."""
        answer = self.answer_fn()
        if isinstance(answer, int) and not isinstance(answer, bool):
            if not 0 <= answer < len(self.choices):
                raise ValueError(f"answer_fn returned index {answer}, outside the {len(self.choices)} choices.")
            return answer
        folded = [c.casefold() for c in self.choices]
        if str(answer).casefold() not in folded:
            raise ValueError(f"answer_fn returned {answer!r}, which is not one of the choices {self.choices}.")
        return folded.index(str(answer).casefold())


def expected(question):
    """The right answer to ``question``, computed now from its parameters.

    Returns
    -------
    tuple of int for "output_shape", int for "macs", "flops" and "params", float for "ratio",
    the right choice's text for a :class:`ChoiceQuestion`.

    Example
    -------
    >>> expected(Question("flops", LayerSpec("conv", (20, 20, 2), 3, filters=6)))
    69984
    """
    if isinstance(question, ChoiceQuestion):
        return question.choices[question.correct_index()]
    if not isinstance(question, Question) and callable(getattr(question, "expected", None)):
        return question.expected()  # a question of its own kind, e.g. 05's IntensityQuestion
    layer = question.layer
    if question.kind == "output_shape":
        return tuple(int(d) for d in layer.output_shape())
    if question.kind == "macs":
        return int(layer.macs())
    if question.kind == "flops":
        return int(layer.flops())
    if question.kind == "params":
        return int(layer.params())
    return float(layer.mac_ratio())


# --------------------------------------------------------------------------- quantity or rate
_RATE = re.compile(r"(/\s*s(ec(ond)?)?|\bper\s+second|\bps)$", re.IGNORECASE)
_OPS = re.compile(r"^[kmgtp]?(flop|mac|op)s?$", re.IGNORECASE)


def quantity_or_rate(phrase: str) -> str:
    """Whether a phrase such as "100 FLOPS" names a quantity or a rate.

    The rule: an upper-case S after FLOP or OP (FLOPS, GFLOPS, TOPS) means "per second", so it is
    a rate; so is any unit written per second (FLOP/s, MAC/s, "per second"). FLOPs (lower-case
    s), MACs and plain operation counts are quantities. An all-lower-case "flops" is ambiguous
    and refused.

    Parameters
    ----------
    phrase : str, a number and a unit, e.g. "100 MACs", "3.2 GFLOPS", "60.8K FLOPs"

    Returns
    -------
    "quantity" or "rate"

    Example
    -------
    >>> [quantity_or_rate(p) for p in ("100 MACs", "100 FLOPS", "100 FLOPs")]
    ['quantity', 'rate', 'quantity']
    """
    if not isinstance(phrase, str) or not phrase.strip():
        raise ValueError(f'phrase must be a number and a unit such as "100 FLOPs", got {phrase!r}.')
    unit = re.sub(r"^[\s~≈\d.,_]*", "", phrase.strip())
    if _RATE.search(unit):
        return "rate"
    word = unit.split()[-1] if unit.split() else ""
    if not _OPS.match(word):
        raise ValueError(f'no unit of operations in {phrase!r}: expected MACs, FLOPs, FLOPS or FLOP/s.')
    stem = word.rstrip("sS")
    if word.endswith("S") and stem[-1:].isupper() and stem.upper().endswith(("FLOP", "OP")):
        return "rate"
    if word.endswith("s") and word == word.lower() and stem.lower().endswith("flop"):
        raise ValueError(f'{phrase!r} is ambiguous: write FLOPs for a count or FLOPS (or FLOP/s) for a rate.')
    return "quantity"


# --------------------------------------------------------------------------- the lesson's questions
def lesson_questions() -> dict[str, Question]:
    """The lesson's worked questions, by name.

    - "kernel_7x7x9_one_filter": output shape of a 7x7x9 kernel on a 25x25x9 input, 1 filter
    - "kernel_7x7x9_64_filters": the same layer with 64 filters
    - "rgb_10x10_128_filters_shape", "_macs", "_flops": 128 3x3x3 filters on a 10x10 RGB image
    - "separable_56x56x64_ratio": MAC ratio of a 3x3 separable convolution, 64 -> 64 channels
    """
    one = LayerSpec("conv", (25, 25, 9), kernel_size=7, filters=1)
    many = one.replace(filters=64)
    rgb = LayerSpec("conv", (10, 10, 3), kernel_size=3, filters=128)
    sep = LayerSpec("separable", (56, 56, 64), kernel_size=3, filters=64, padding="same")
    questions = [
        Question("output_shape", one, "kernel_7x7x9_one_filter"),
        Question("output_shape", many, "kernel_7x7x9_64_filters"),
        Question("output_shape", rgb, "rgb_10x10_128_filters_shape"),
        Question("macs", rgb, "rgb_10x10_128_filters_macs"),
        Question("flops", rgb, "rgb_10x10_128_filters_flops"),
        Question("ratio", sep, "separable_56x56x64_ratio"),
    ]
    return {q.name: q for q in questions}


_RATE_RULE = ("Look at the unit's last letter. FLOPS with a capital S means floating-point operations "
              "per second, a speed; FLOPs with a small s, like MACs, counts operations.")


def lesson_choice_questions() -> dict[str, ChoiceQuestion]:
    """The lesson's quantity-or-rate table as multiple-choice questions, answered by :func:`quantity_or_rate`."""
    out = {}
    for phrase, name in (("100 MACs", "phrase_100_MACs"), ("100 FLOPS", "phrase_100_FLOPS"),
                         ("100 FLOPs", "phrase_100_FLOPs")):
        out[name] = ChoiceQuestion(f'Is "{phrase}" a quantity or a rate?', ("quantity", "rate"),
                                   lambda p=phrase: quantity_or_rate(p), _RATE_RULE, name)
    return out


def describe_model(model) -> str:
    """A model's architecture in words (hyper-parameters only, no computed shapes or costs)."""
    parts = [f"input {_dims(model.input_shape)} (HxWxD)"] + [layer.brief() for layer in model.layers]
    return " -> ".join(parts)


_BASE_CNN_ASK = [
    ("conv1", "output_shape", "What is the output shape of the first convolutional layer (conv1)? Write it as HxWxD."),
    ("conv1", "flops", "How many FLOPs does the first convolutional layer (conv1) perform for one image?"),
    ("conv2", "output_shape", "What is the output shape of the second convolutional layer (conv2)? Write it as HxWxD."),
    ("conv2", "flops", "How many FLOPs does the second convolutional layer (conv2) perform for one image?"),
    ("fc1", "flops", "How many FLOPs does the first fully connected layer (fc1) perform for one image?"),
    ("fc2", "flops", "How many FLOPs does the last fully connected layer (fc2) perform for one image?"),
]


def base_cnn_questions(model=None) -> dict[str, Question]:
    """The lesson's six-question base_cnn quiz, in order, built from the model's own layers.

    Names: "conv1_output_shape", "conv1_flops", "conv2_output_shape", "conv2_flops",
    "fc1_flops", "fc2_flops". Prompts describe the model, not the layer's input shape, which
    for conv2 would give away the answer to the first question.

    Parameters
    ----------
    model : Sequential or None, defaults to :func:`efficientnn.models.base_cnn`
    """
    if model is None:
        from ..models import base_cnn

        model = base_cnn()
    return {f"{layer_name}_{kind}": model_question(model, layer_name, kind, f"{layer_name}_{kind}", ask)
            for layer_name, kind, ask in _BASE_CNN_ASK}


#: Said after a question about a layer's FLOPs: what is not counted, and how an answer may be rounded.
COUNT_NOTE = " Bias additions are not counted; a rounded answer may use K for thousand."


def model_question(model, layer_name: str, kind: str, name: str, ask: str, about=None, note=True) -> Question:
    """A ``kind`` question about ``model``'s layer ``layer_name``, its prompt describing the whole model.

    The prompt is ``"{about}: {describe_model(model)}. {ask}"`` (``about`` defaults to the model's
    name), then :data:`COUNT_NOTE` for a FLOPs question unless ``note`` is False. It describes the
    model, not the layer's input, which would give away the answers about earlier layers; the
    layers before the asked one are the question's ``upstream`` (:func:`upstream_of`).

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> q = model_question(base_cnn(), "conv2", "flops", "conv2_flops", "How many FLOPs does conv2 perform?")
    >>> expected(q), [spec.name for spec in q.upstream], q.prompt_text.endswith("K for thousand.")
    (259200, ['conv1'], True)
    """
    text = f"{about or model.name}: {describe_model(model)}. {ask}" + (COUNT_NOTE if note and kind == "flops" else "")
    return Question(kind, LayerSpec.from_layer(model.layer(layer_name)), name, text,
                    upstream=upstream_of(model, layer_name))


def upstream_of(model, layer_name: str) -> tuple:
    """The layers of ``model`` before ``layer_name`` that questions are asked about, as LayerSpecs.

    Flatten and activation layers are left out (a dense layer flattens its input anyway); the
    checker replays these layers with one slip at a time to recognise a mistake made upstream.

    Example
    -------
    >>> from efficientnn.models import base_cnn
    >>> [spec.name for spec in upstream_of(base_cnn(), "fc2")]
    ['conv1', 'conv2', 'fc1']
    """
    out = []
    for layer in model.layers:
        if layer.name == layer_name:
            return tuple(out)
        if layer.kind in LAYER_KINDS:
            out.append(LayerSpec.from_layer(layer))
    raise ValueError(f"{model.name} has no layer named {layer_name!r}.")


def get_question(name: str):
    """Any canonical question by name (lesson, quantity-or-rate, or base_cnn)."""
    for source in (lesson_questions, lesson_choice_questions, base_cnn_questions):
        found = source().get(name)
        if found is not None:
            return found
    names = [*lesson_questions(), *lesson_choice_questions(), *base_cnn_questions()]
    raise ValueError(f"no question named {name!r}; the names are: {', '.join(names)}.")

