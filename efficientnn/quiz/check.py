"""The one checker: the self-check widgets and nbgrader's hidden tests both call :func:`check`.

It computes the right answer from the question's parameters, reads the student's answer, and
returns a :class:`Verdict`. When the answer is wrong it also computes the typical wrong answers
from the same parameters (MACs given for FLOPs, the missing +1, ...) and names the one that
matches. Feedback never contains the right answer, so it cannot be read out of a message.

Tolerance
---------
- A **plain number** (``60840``, ``"60,840"``, ``60840.0``) is a claim of the exact count and
  must equal it.
- A number **marked as rounded** (a K/M/G suffix, a leading ``~``, or scientific notation) is
  accepted when its error is at most the larger of

  * half a unit in its last written digit (``"61K"``: 500, ``"60.8K"``: 50), so any correctly
    rounded value is accepted, and
  * ``APPROX_REL_TOL`` (1 %) of the exact value, so ``~61000`` is accepted too,

  but never when it is more than ``APPROX_MAX_REL_ERROR`` (5 %) off, so a coarse ``"0.1M"``
  does not pass for 69,984. For 69,984: 70K, ~70K, 69.98K, 7.00e4 pass; 69K (1.4 % off, not a
  rounding of 69.98K) and 35K (the MAC count) do not. For 123,456: 123K passes.
- A **ratio** answer is always treated as rounded, by the same rule (a Python float has no
  written digits, so it gets the 1 %).
- An **output shape** must match exactly. With height and width right and the depth wrong or
  missing it earns ``PARTIAL_SHAPE_CREDIT`` (half) of the points.

About 700 lines because it is the one slip model for every question kind (numbers, shapes,
choices, for every layer kind): about 100 are the slip messages and hints, about 280 compute
the typical wrong answers (:func:`slip_candidates`, including slips made upstream of the layer
asked about), and the rest is the tolerance rule and the checking itself. The candidates and the
messages are kept together so that each slip a checker can report has its text beside it.

Example
-------
>>> from efficientnn.quiz import LayerSpec, Question
>>> check(Question("flops", LayerSpec("conv", (20, 20, 2), 3, filters=6)), "35.0K").slip
'macs_for_flops'
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field, replace

from . import ledger
from .parse import AnswerFormatError, ParsedNumber, is_blank, parse_number, parse_shape
from .questions import ChoiceQuestion, LayerSpec, Question, expected, quantity_or_rate

__all__ = [
    "APPROX_REL_TOL",
    "APPROX_MAX_REL_ERROR",
    "PARTIAL_SHAPE_CREDIT",
    "SLIP_MESSAGES",
    "Verdict",
    "check",
    "grade",
    "assert_correct",
    "matches",
    "slip_candidates",
    "slip_values",
]

APPROX_REL_TOL = 0.01
APPROX_MAX_REL_ERROR = 0.05
PARTIAL_SHAPE_CREDIT = 0.5

SLIP_MESSAGES = {
    "macs_for_flops": ("This looks like the number of MACs, but the question asks for FLOPs: every MAC is "
                       "one multiplication and one addition, two FLOPs."),
    "flops_for_macs": ("This looks like the number of FLOPs, but the question asks for MACs: one MAC "
                       "(a multiply-accumulate) is two FLOPs, so there are half as many MACs."),
    "plus_one_missing": ("Looks like the +1 is missing: a kernel of size k fits n - k + 1 positions along a "
                         "side of n pixels (stride 1, no padding), counting the first position."),
    "depth_subtracted": ("Looks like the input depth was subtracted from the height and width. A side shrinks "
                         "by the kernel's height (or width) minus one; the kernel's depth always equals the "
                         "input depth and does not slide."),
    "bias_counted": ("Looks like the bias additions were counted. In this course (as in the lesson, fvcore "
                     "and thop) MACs and FLOPs count the weight multiplications only, not the bias adds."),
    "input_depth_left_out": ("Looks like the input depth was left out: every input channel is convolved, so "
                             "each output value takes kernel height x width x input depth MACs."),
    "filters_left_out": ("Looks like only one filter was counted: each filter makes its own output channel, "
                         "so multiply by the number of filters."),
    "units_confused": ("Off by a factor of a thousand: check the suffix (K = thousand, M = million, "
                       "G = billion)."),
    "depth_from_input": ("The output depth of a convolution is its number of filters, not the input depth: "
                         "each filter (as deep as the input) makes one output channel."),
    "depth_multiplier_ignored": ("A depthwise convolution with depth multiplier M makes M output channels "
                                 "from each input channel."),
    "stride_ignored": ("Looks like the stride was left out: with stride s the window moves s pixels at a "
                       "time, so a side is floor((n + 2p - k) / s) + 1."),
    "padding_ignored": ("Looks like the padding was left out: padding p adds p pixels on each side, so use "
                        "n + 2p in place of n."),
    "shrink_by_one": ("Looks like each side was shrunk by one pixel. A kernel of size k fits n - k + 1 positions along "
                      "a side of n pixels: the side shrinks by k - 1, the kernel size minus one."),
    "padding_one_side": ("Looks like the padding was added on one side only: padding p adds p pixels on each side "
                         "(top and bottom, left and right), so use n + 2p in place of n."),
    "stride_not_floored": ("Looks like the division by the stride was rounded up (or to the nearest). Only whole "
                           "windows count, so round down: floor((n + 2p - k) / s) + 1, the +1 after the floor."),
    "layer_skipped": ("Looks like this layer's input was taken from an earlier layer's output, skipping a layer in "
                      "between. Follow the shapes layer by layer: each layer's output is the next layer's input."),
    "pooling_forgotten": ("Looks like a pooling layer was left out: each pooling layer shrinks the feature map, and "
                          "every layer after it works on the smaller map."),
    "ceil_pooling": ("Looks like a pooling layer kept a partial window at the edge (its size rounded up). Pooling "
                     "without padding keeps only whole windows: floor((n - k) / s) + 1."),
    "pool_before_conv": ("Looks like the pooling was applied to the image itself, before the convolution (or to a "
                         "convolution output that kept the image's size). In this model each pooling layer pools "
                         "its convolution's output, which is smaller than the convolution's input."),
    "flatten_depth_left_out": ("Looks like the flatten was given only the height x width of the feature map. It "
                               "hands the dense layer every value of it: height x width x depth inputs."),
    "batch": ("This looks like the count for a whole batch of images, but the question asks for one image "
              "(one example): leave the batch size out."),
    "coarse_rounding": ("Rounded correctly, but too coarsely: a rounded answer may be at most "
                        f"{APPROX_MAX_REL_ERROR:.0%} off, so keep more digits (three significant digits are "
                        "always close enough), and mark it as rounded with K, M, G or a leading ~."),
    "depthwise_bias": ("Looks like the depthwise step was given biases too. Here only the pointwise step has a "
                       "bias, one per filter; the depthwise kernels have none."),
    "depth_is_filters": ("The height and width are right; the depth is not. The output depth of a convolution is "
                         "its number of filters: each filter, as deep as the input, makes one output channel."),
    "pool_keeps_depth": ("The height and width are right; the depth is not. Pooling works on each channel on its "
                         "own, so the output has as many channels as the input."),
    "padding_assumed": ("Looks like the output was taken to keep the input's size. Without padding, the kernel "
                        "cannot be centred on the border pixels, so the output is smaller."),
    "channels_first": "The numbers look right but not their order: write the shape as height x width x depth.",
    "standard_conv_counted": ("This is what a standard convolution would cost. A depthwise convolution gives "
                              "each input channel its own kernel and does not sum across channels."),
    "pointwise_left_out": ("Looks like only the depthwise part was counted: a separable convolution is a "
                           "depthwise convolution followed by a 1x1 pointwise one; add both."),
    "depthwise_left_out": ("Looks like only the 1x1 pointwise part was counted: add the depthwise part "
                           "that comes before it."),
    "pool_count_off_by_one": ("Max pooling takes k*k - 1 comparisons per output value (finding the largest "
                              "of k*k values); average pooling takes k*k - 1 additions and one division."),
    "pool_has_macs": "Pooling multiplies by no weights, so it performs no MACs.",
    "bias_forgotten": "Looks like the biases were left out: each filter (or unit) has one bias parameter.",
    "ratio_inverted": ("Upside down: the question asks for the layer's MACs divided by the standard "
                       "convolution's MACs, which is below 1."),
    "percent_as_number": "Give the ratio as a fraction below 1, or add a % sign.",
    "time_from_macs": ("Looks like the MACs were divided by the FLOPS. The machine's speed counts FLOPs, and "
                       "every MAC is two FLOPs (a multiplication and an addition): turn the MACs into FLOPs first."),
    "rate_inverted": ("Upside down: FLOPS (capital S) is the machine's speed, FLOPs per second, and the model's "
                      "FLOPs (small s) are the work. Time = work / speed = FLOPs / FLOPS; the speed divided by "
                      "the work is a number of images per second, not a time."),
    "time_units": ("Off by a factor of a thousand (or a million): FLOPs / FLOPS is in seconds; 1 s = 1000 ms = "
                   "1,000,000 µs, and G (giga) is 10^9, M (mega) 10^6. Give the time in the unit asked."),
    "close_time": "Close, but more than 1% off: keep more digits (three significant digits are enough).",
    "close": ("Close, but not exact. Give the exact count, or, if you rounded, say so with K, M or G or a "
              "leading ~, and round to the nearest rather than cutting digits off."),
    "close_ratio": "Close, but more than 1% off: keep more digits in the ratio.",
    "wrong_depth": "The height and width are right; the depth is not.",
    "depth_missing": "The height and width are right; now add the depth: write the shape as HxWxD.",
    "wrong_length": "Count the numbers in the shape: a spatial layer's output is HxWxD, a dense layer's (N,).",
}

_HINTS = {
    "output_shape": ("Work out each side with floor((n + 2p - k) / s) + 1. The depth is the number of filters "
                     "(for pooling, the input depth; for depthwise, the input depth times the multiplier)."),
    "macs": ("Count one MAC per weight used per output value: the number of output values times the weights "
             "each one uses."),
    "flops": "Work out the MACs first (one per weight used per output value), then turn them into FLOPs.",
    "pool_flops": ("Pooling has no weights: count the comparisons (max) or the additions and the division "
                   "(average) for each output value."),
    "params": ("Count the weights (kernel height x width x input depth x filters for a convolution, inputs x "
               "units for a dense layer) plus one bias per filter or unit."),
    "ratio": "Compute both MAC counts for the same input and output shapes and divide.",
    "choice": "Not this one.",
}


@dataclass(frozen=True)
class Verdict:
    """The result of checking one answer.

    Attributes
    ----------
    correct : bool, full marks
    points : float, points earned (partial credit for a shape with the right height and width)
    max_points : float
    message : str, feedback for the student; never contains the expected value
    slip : str or None, the key in :data:`SLIP_MESSAGES` of the diagnosed mistake, "format"
        or "no_answer" for an unreadable or missing answer
    expected : the right answer, only with ``check(..., reveal=True)``; hidden from ``repr``

    In IPython the plain-text form of a Verdict is its points, so a hidden-test cell that ends
    with ``grade(question, answer, points)`` gives nbgrader partial credit; notebooks show the
    message as HTML.
    """

    correct: bool
    points: float
    max_points: float
    message: str
    slip: str | None = None
    expected: object = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.message

    def _repr_pretty_(self, printer, cycle):
        # nbgrader reads a test cell's text/plain result as its partial score; anything that is
        # not a number would count as full marks.
        printer.text(repr(float(self.points)))

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.correct else ("#9a6700" if self.points > 0 else "#cf222e")
        return f'<div class="enn-verdict" style="color: {colour}">{html.escape(self.message)}</div>'


# --------------------------------------------------------------------------- tolerance
def matches(parsed: ParsedNumber, target: float, rounded: bool | None = None) -> bool:
    """Whether a numeric answer counts as ``target`` under the module's tolerance rule.

    Parameters
    ----------
    parsed : ParsedNumber
    target : float, the exact value
    rounded : bool or None, treat the answer as rounded; None means ``parsed.approximate``
    """
    rounded = parsed.approximate if rounded is None else rounded
    error = abs(parsed.value - target)
    slack = 1e-9 * max(1.0, abs(target))  # float noise from "60.8" * 1000
    if not rounded:
        return error <= slack
    if error > APPROX_MAX_REL_ERROR * abs(target) + slack:
        return False
    half_unit = 0.5 * parsed.resolution if parsed.resolution else 0.0
    return error <= max(half_unit, APPROX_REL_TOL * abs(target)) + slack


# --------------------------------------------------------------------------- typical wrong answers
def _value(layer: LayerSpec, kind: str):
    return {"macs": layer.macs, "flops": layer.flops}[kind]()  # structural slips are asked of counts only


def _try(fn):
    try:
        return fn()
    except ValueError:  # the slipped layer may not exist (e.g. a kernel larger than the input)
        return None


def _side(n, k, s, p, rounding=math.floor):
    return int(rounding((n + 2 * p - k) / s)) + 1


def _spatial_variants(layer: LayerSpec, per_position, out_hw):
    """Slips in the output height and width, as (slip, value) with value = per_position(h, w).

    Each slip is one wrong rule for a side; the rules give different numbers as soon as the
    padding is 2, the input depth above 1 and the stride leaves a remainder.
    """
    (h, w), (ho, wo) = layer.input_shape[:2], out_hw
    s, (ph, pw), c, (kh, kw) = layer.effective_stride, layer.pads, layer.in_channels, layer.kernel_size
    conv_like = layer.kind in ("conv", "depthwise", "separable")
    out = []
    if ho > 1 and wo > 1:
        out.append(("plus_one_missing", per_position(ho - 1, wo - 1)))
    if conv_like and (ph, pw) == (0, 0) and s == 1 and c > 1 and c != kh:
        # with one input channel, "depth subtracted" is indistinguishable from "shrunk by one"
        for extra in (0, 1):
            if h - c + extra > 0 and w - c + extra > 0:
                out.append(("depth_subtracted", per_position(h - c + extra, w - c + extra)))
    if conv_like and s == 1:  # for a 2-wide kernel n - 1 is right: slip_candidates drops it then
        out.append(("shrink_by_one", per_position(h + 2 * ph - 1, w + 2 * pw - 1)))
    if s != 1:
        hw = _try(lambda: layer.replace(stride=1).output_shape()[:2])
        if hw:
            out.append(("stride_ignored", per_position(*hw)))
        out.append(("stride_not_floored", per_position(_side(h, kh, s, ph, math.ceil), _side(w, kw, s, pw, math.ceil))))
    if (ph, pw) != (0, 0):
        one_side = (_side(h - ph, kh, s, ph), _side(w - pw, kw, s, pw))
        if min(one_side) > 0:
            out.append(("padding_one_side", per_position(*one_side)))
        hw = _try(lambda: layer.replace(padding=0).output_shape()[:2])
        if hw:
            out.append(("padding_ignored", per_position(*hw)))
    elif conv_like:
        out.append(("padding_assumed", per_position(-(-h // s), -(-w // s))))
    return out


# --------------------------------------------------------------------------- slips upstream
_POOLS = ("maxpool", "avgpool")


def _feed(spec: LayerSpec, shape, ceil: bool):
    """``spec`` applied to an input of ``shape`` (a dense layer flattens a map); its output shape or None."""
    if not spec.is_spatial and len(shape) == 3:
        shape = (math.prod(shape),)
    if spec.is_spatial != (len(shape) == 3):
        return None
    layer = _try(lambda: spec.replace(input_shape=shape))
    if layer is None:
        return None
    if ceil and spec.kind in _POOLS:
        (h, w, c), (kh, kw), (ph, pw), st = shape, spec.kernel_size, layer.pads, layer.effective_stride
        return (_side(h, kh, st, ph, math.ceil), _side(w, kw, st, pw, math.ceil), c)
    return tuple(layer.output_shape())


def _run(specs, shape, ceil_at=()):
    for i, spec in enumerate(specs):
        shape = _feed(spec, shape, ceil=i in ceil_at) if shape is not None else None
    return shape


def _same_size(spec: LayerSpec, shape):
    """A convolution that keeps its input's size (as if padded): the 'no shrink' slip upstream."""
    layer = _try(lambda: spec.replace(input_shape=shape, padding="same", stride=1))
    return tuple(layer.output_shape()) if layer is not None else None


def _upstream_inputs(question: Question):
    """Wrong input shapes of the asked layer, each from one slip made in a layer before it.

    ``question.upstream`` holds the layers from the model's input to the asked layer (flatten
    and activations left out, as they change no shape but the flatten's, which :func:`_feed`
    does). Returns (slip, input shape) pairs.
    """
    up = list(getattr(question, "upstream", ()) or ())
    if not up:
        return []
    start = up[0].input_shape
    pools = [i for i, spec in enumerate(up) if spec.kind in _POOLS]
    out = []
    for i in pools:  # pooling rounded up, one layer at a time and all together
        out.append(("ceil_pooling", _run(up, start, ceil_at={i})))
    if len(pools) > 1:
        out.append(("ceil_pooling", _run(up, start, ceil_at=set(pools))))
    for i in pools:
        out.append(("pooling_forgotten", _run(up[:i] + up[i + 1:], start)))
        if i > 0 and up[i - 1].kind in ("conv", "depthwise", "separable"):
            swapped = up[:i - 1] + [up[i], up[i - 1]] + up[i + 1:]
            out.append(("pool_before_conv", _run(swapped, start)))
    if len(pools) > 1:
        out.append(("pooling_forgotten", _run([spec for spec in up if spec.kind not in _POOLS], start)))
    for j in range(len(up) - 1):
        out.append(("layer_skipped", _run(up[:j + 1], start)))
    for i, spec in enumerate(up):
        if spec.kind in ("conv", "depthwise", "separable") and spec.pads == (0, 0):
            shape = _run(up[:i], start)
            same = _same_size(spec, shape) if shape is not None else None
            out.append(("padding_assumed", _run(up[i + 1:], same)))  # None stays None: dropped below
    return [(slip, shape) for slip, shape in out if shape is not None]


def _asked_value(question: Question, input_shape):
    layer = question.layer
    if not layer.is_spatial and len(input_shape) == 3:
        input_shape = (math.prod(input_shape),)
    spec = _try(lambda: layer.replace(input_shape=input_shape))
    if spec is None:
        return None
    if question.kind == "output_shape":
        return tuple(spec.output_shape())
    return {"macs": spec.macs, "flops": spec.flops, "params": spec.params}[question.kind]()


def _upstream_variants(question: Question):
    out = []
    up = list(getattr(question, "upstream", ()) or ())
    if question.layer.kind in _POOLS and up and up[-1].kind in ("conv", "depthwise", "separable"):
        # this pooling layer applied to its convolution's input, with either depth
        before = up[-1].input_shape
        for depth in (before[2], up[-1].output_shape()[2]):
            value = _asked_value(question, (*before[:2], depth))
            if value is not None:
                out.append(("pool_before_conv", value))
    for slip, shape in _upstream_inputs(question):
        value = _asked_value(question, shape)
        if value is not None:
            out.append((slip, value))
    if not question.layer.is_spatial and up:  # (a dense layer's output shape is its units: dropped as right)
        last = _run(up, up[0].input_shape)
        if last is not None and len(last) == 3 and last[2] > 1:
            value = _asked_value(question, (last[0] * last[1],))
            if value is not None:
                out.append(("flatten_depth_left_out", value))
    return out


def _count_variants(layer: LayerSpec, kind: str):
    """Structural slips for a MACs or FLOPs question, valued in the question's unit."""
    value = _value(layer, kind)
    out = []
    if layer.is_spatial:
        ho, wo = layer.output_shape()[:2]
        per = value // (ho * wo)  # every formula here is (output positions) x (cost per position)
        out += _spatial_variants(layer, lambda a, b: per * a * b, (ho, wo))
    h, w, c = layer.input_shape if layer.is_spatial else (0, 0, 0)
    if layer.kind == "conv":
        if c > 1:
            out.append(("input_depth_left_out", _value(layer.replace(input_shape=(h, w, 1)), kind)))
        if layer.filters > 1:
            out.append(("filters_left_out", _value(layer.replace(filters=1), kind)))
    if layer.kind == "depthwise":
        out.append(("standard_conv_counted", _value(layer.standard_equivalent(), kind)))
        if c > 1:
            out.append(("input_depth_left_out", _value(layer.replace(input_shape=(h, w, 1)), kind)))
    if layer.kind == "separable":
        depthwise = LayerSpec("depthwise", layer.input_shape, layer.kernel_size, stride=layer.stride,
                              padding=layer.padding, depth_multiplier=layer.depth_multiplier)
        out.append(("standard_conv_counted", _value(layer.standard_equivalent(), kind)))
        out.append(("pointwise_left_out", _value(depthwise, kind)))
        out.append(("depthwise_left_out", value - _value(depthwise, kind)))
    if layer.kind in ("maxpool", "avgpool") and kind == "flops":
        other = layer.replace(kind="avgpool" if layer.kind == "maxpool" else "maxpool")
        out.append(("pool_count_off_by_one", other.flops()))
    if layer.kind not in ("maxpool", "avgpool") and layer.use_bias:
        out.append(("bias_counted", value + math.prod(layer.output_shape())))
    return out


def _number_candidates(question: Question):
    layer, kind, exact = question.layer, question.kind, expected(question)
    pool = layer.kind in ("maxpool", "avgpool")
    out = []
    if kind == "ratio":
        standard = layer.standard_equivalent().macs()
        out.append(("ratio_inverted", 1.0 / exact))
        if layer.kind == "separable":
            depthwise = LayerSpec("depthwise", layer.input_shape, layer.kernel_size, stride=layer.stride,
                                  padding=layer.padding, depth_multiplier=layer.depth_multiplier)
            out.append(("pointwise_left_out", depthwise.macs() / standard))
            out.append(("depthwise_left_out", (layer.macs() - depthwise.macs()) / standard))
        out.append(("percent_as_number", exact * 100))
        return out
    if kind == "params":
        if layer.kind == "separable":
            out += _separable_param_variants(layer)
        if layer.use_bias and not pool:
            out.append(("bias_forgotten", layer.replace(use_bias=False).params()))
        if layer.kind == "conv" and layer.in_channels > 1:
            h, w, _ = layer.input_shape
            out.append(("input_depth_left_out", layer.replace(input_shape=(h, w, 1)).params()))
    elif kind == "macs" and pool:
        out.append(("pool_has_macs", layer.flops()))
    else:
        structural = _count_variants(layer, kind)
        if kind == "flops" and not pool:
            out.append(("macs_for_flops", layer.macs()))
        if kind == "macs":
            out.append(("flops_for_macs", layer.flops()))
        out += structural
        if not pool:  # the same slips, combined with giving the other unit
            unit_slip, factor = ("macs_for_flops", 0.5) if kind == "flops" else ("flops_for_macs", 2)
            out += [(f"{unit_slip}+{slip}", value * factor) for slip, value in structural]
    out += _upstream_variants(question)
    if kind in ("macs", "flops"):
        out += [("batch", exact * size) for size in _BATCH_SIZES]
    out += [("units_confused", exact * 1000), ("units_confused", exact / 1000)]
    return out


#: Batch sizes a count for "a batch instead of one image" is recognised by.
_BATCH_SIZES = (8, 10, 16, 32, 64, 100, 128, 256)


def _separable_param_variants(layer: LayerSpec):
    """Parameter slips of a separable layer: standard, one step only, biases on the depthwise step."""
    h, w, c = layer.input_shape
    m = layer.depth_multiplier
    depthwise = LayerSpec("depthwise", layer.input_shape, layer.kernel_size, depth_multiplier=m, use_bias=False)
    pointwise = LayerSpec("conv", (h, w, c * m), 1, filters=layer.filters, use_bias=layer.use_bias)
    out = [("standard_conv_counted", layer.standard_equivalent().params()),
           ("depthwise_left_out", pointwise.params()), ("pointwise_left_out", depthwise.params())]
    if layer.use_bias:
        out.append(("depthwise_bias", layer.params() + c * m))
    return out


def _shape_candidates(question: Question):
    layer = question.layer
    exact = expected(question)
    if not layer.is_spatial:
        return []
    ho, wo, d = exact
    h, w, c = layer.input_shape
    out = _spatial_variants(layer, lambda a, b: (a, b, d), (ho, wo))
    if layer.kind in ("conv", "separable") and c != d:
        out.append(("depth_from_input", (ho, wo, c)))
    if layer.kind == "depthwise" and layer.depth_multiplier != 1:
        out.append(("depth_multiplier_ignored", (ho, wo, c)))
    out.append(("channels_first", (d, ho, wo)))
    out += _upstream_variants(question)
    return out


def slip_values(question: Question) -> list[tuple[str, object]]:
    """Every typical wrong answer to ``question`` as (slip name, value), before :func:`slip_candidates`
    drops those equal to the answer or to an earlier one.

    For tools that must see those collisions: per-student variants (:mod:`efficientnn.quiz.variants`)
    keep only draws whose slips stay apart.

    Example
    -------
    >>> q = Question("output_shape", LayerSpec("conv", (20, 20, 2), 3, filters=6))
    >>> len(slip_values(q)) >= len(slip_candidates(q))
    True
    """
    return list(_shape_candidates(question) if question.kind == "output_shape" else _number_candidates(question))


def slip_candidates(question: Question) -> list[tuple[str, object]]:
    """Typical wrong answers to ``question``, as (slip name, value) pairs, most likely first.

    Values are computed from the question's parameters; any equal to the right answer are
    dropped (they are not mistakes for this layer). Combined slips are named "a+b".
    A question of its own kind (with a ``slip_candidates`` method) gives its own.
    """
    own = None if isinstance(question, (Question, ChoiceQuestion)) else getattr(question, "slip_candidates", None)
    if callable(own):
        return own()
    exact = expected(question)
    raw = _shape_candidates(question) if question.kind == "output_shape" else _number_candidates(question)
    out, seen = [], set()
    for slip, value in raw:
        if question.kind == "output_shape":
            key = value = tuple(int(v) for v in value)
            valid = value != exact and min(value) > 0
        else:
            key = round(float(value), 9)
            valid = not math.isclose(value, exact) and value > 0  # within 1e-9 (rel_tol's default)
        if valid and key not in seen:
            seen.add(key)
            out.append((slip, value))
    return out


def _slip_message(slip: str) -> str:
    return " ".join(SLIP_MESSAGES[part] for part in slip.split("+"))


# --------------------------------------------------------------------------- checking
def check(question, answer, reveal: bool = False) -> Verdict:
    """Check a student's answer to a :class:`Question` or :class:`ChoiceQuestion`.

    Parameters
    ----------
    question : Question or ChoiceQuestion, or a question of its own kind with ``points``,
        ``expected()`` and ``check_answer(answer, max_points) -> Verdict`` (for example
        :class:`efficientnn.quiz.a01_measuring_cost.InferenceTimeQuestion`)
    answer : the student's answer, in any form :func:`parse_shape` / :func:`parse_number` read
        (a choice's text or index for a ChoiceQuestion)
    reveal : bool, put the right answer in ``Verdict.expected`` (for instructors; never shown)

    Returns
    -------
    Verdict
        Never raises for a bad answer: an unreadable one gets ``slip="format"`` and a message
        saying what form is expected.

    Example
    -------
    >>> from efficientnn.quiz import lesson_questions
    >>> check(lesson_questions()["kernel_7x7x9_one_filter"], "16x16x1").slip
    'depth_subtracted'
    """
    own = None if isinstance(question, (Question, ChoiceQuestion)) else getattr(question, "check_answer", None)
    if not isinstance(question, (Question, ChoiceQuestion)) and not callable(own):
        raise ValueError(f"question must be a Question, a ChoiceQuestion or have a check_answer method, "
                         f"got {type(question).__name__}.")
    ledger.touch()  # while grading: the student's answers are recorded for a re-check outside the kernel
    max_points = float(question.points)
    if is_blank(answer):
        form = ("pick one of the choices" if isinstance(question, ChoiceQuestion)
                else "write a shape as HxWxD" if getattr(question, "kind", None) == "output_shape" else "write a number")
        return Verdict(False, 0.0, max_points, f"There is no answer yet: {form}.", "no_answer")
    if own is not None:  # a question of its own kind (a01's InferenceTimeQuestion): its own parse and slips
        verdict = own(answer, max_points)
        return replace(verdict, expected=question.expected()) if reveal else verdict
    if isinstance(question, ChoiceQuestion):
        verdict = _check_choice(question, answer, max_points)
    elif question.kind == "output_shape":
        verdict = _check_shape(question, answer, max_points)
    else:
        verdict = _check_number(question, answer, max_points)
    return replace(verdict, expected=expected(question)) if reveal else verdict


def _wrong(max_points, slip, hint_key=None) -> Verdict:
    text = _slip_message(slip) if slip else _HINTS[hint_key]
    return Verdict(False, 0.0, max_points, f"Not yet. {text}", slip)


def _check_choice(question: ChoiceQuestion, answer, max_points) -> Verdict:
    if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer < len(question.choices):
        index = answer
    else:
        folded = [c.casefold() for c in question.choices]
        text = str(answer).strip().casefold()
        if text not in folded:
            options = ", ".join(f'"{c}"' for c in question.choices)
            return Verdict(False, 0.0, max_points, f'Could not read "{answer}" as a choice: pick one of {options}.',
                           "format")
        index = folded.index(text)
    if index == question.correct_index():
        return Verdict(True, max_points, max_points, "Correct.")
    return Verdict(False, 0.0, max_points, f"Not yet. {question.explanation or _HINTS['choice']}", "choice")


def _check_shape(question: Question, answer, max_points) -> Verdict:
    try:
        got = parse_shape(answer)
    except AnswerFormatError as err:
        return Verdict(False, 0.0, max_points, str(err), "format")
    exact = expected(question)
    if got == exact:
        return Verdict(True, max_points, max_points, "Correct.")
    candidates = slip_candidates(question)
    slip = next((name for name, value in candidates if value == got), None)
    if len(exact) == 3 and len(got) in (2, 3) and got[:2] == exact[:2]:
        slip = slip or ("depth_missing" if len(got) == 2 else _DEPTH_SLIPS.get(question.layer.kind, "wrong_depth"))
        message = _slip_message(slip)
        if slip not in ("depth_missing", "wrong_depth", *_DEPTH_SLIPS.values()):
            message = f"{SLIP_MESSAGES['wrong_depth']} {message}"
        return Verdict(False, PARTIAL_SHAPE_CREDIT * max_points, max_points, f"Partly right. {message}", slip)
    if slip is None and len(got) == 3:  # the height and width of a slip, with a depth that is wrong as well
        slip = next((name for name, value in candidates if len(value) == 3 and value[:2] == got[:2]), None)
    if slip is None and len(got) != len(exact):
        slip = "wrong_length"
    return _wrong(max_points, slip, "output_shape")


#: The rule a wrong depth breaks, by layer kind.
_DEPTH_SLIPS = {"conv": "depth_is_filters", "separable": "depth_is_filters", "maxpool": "pool_keeps_depth",
                "avgpool": "pool_keeps_depth", "depthwise": "depth_multiplier_ignored"}


def _unit_note(question: Question, parsed: ParsedNumber) -> str:
    if not parsed.unit or question.kind not in ("macs", "flops"):
        return ""
    unit = parsed.unit
    try:
        if quantity_or_rate(f"1 {unit}") == "rate":
            return f' Note: "{unit}" with a capital S is a rate (per second); a count of operations is FLOPs.'
    except ValueError:  # an all-lower-case "flops" is ambiguous; "params" or "x" name no operations at all
        return ' Note: write FLOPs (small s) for a count; "flops" in lower case is ambiguous.' if unit == "flops" else ""
    said = "macs" if unit.lower().startswith("mac") else "flops"  # the only counts quantity_or_rate accepts
    if said != question.kind:
        asked = "MACs" if question.kind == "macs" else "FLOPs"
        return f' Note: the question asks for {asked}, but the answer is labelled "{unit}".'
    return ""


def _check_number(question: Question, answer, max_points) -> Verdict:
    try:
        parsed = parse_number(answer)
    except AnswerFormatError as err:
        return Verdict(False, 0.0, max_points, str(err), "format")
    rounded = True if question.kind == "ratio" else None
    note = _unit_note(question, parsed)
    exact = expected(question)
    if matches(parsed, exact, rounded):
        return Verdict(True, max_points, max_points, "Correct." + note)
    # A marked rounding of the right count is a rounding slip, whatever slip it also comes close to; a
    # plain number with trailing zeros is one only if no slip gives it exactly.
    coarse = question.kind != "ratio" and _rounded_from(parsed, exact) and not matches(parsed, exact, True)
    slip = "coarse_rounding" if coarse and parsed.approximate else None
    slip = slip or next((name for name, value in slip_candidates(question) if matches(parsed, value, rounded)), None)
    slip = slip or ("coarse_rounding" if coarse else None)
    if slip is None and abs(parsed.value - exact) <= APPROX_MAX_REL_ERROR * abs(exact):
        slip = "close_ratio" if question.kind == "ratio" else "close"
    hint = "pool_flops" if question.kind == "flops" and question.layer.kind in ("maxpool", "avgpool") else question.kind
    verdict = _wrong(max_points, slip, hint)
    return replace(verdict, message=verdict.message + note)


def _rounded_from(parsed: ParsedNumber, exact) -> bool:
    """Whether the answer is ``exact`` rounded to the nearest at the answer's last written digit
    (or at its last nonzero digit, for a whole number such as 700000)."""
    step = parsed.resolution or 1.0
    value = parsed.value
    if value == int(value) and value != 0:
        zeros = len(str(int(abs(value)))) - len(str(int(abs(value))).rstrip("0"))
        if parsed.approximate or zeros >= 3:  # "80" is a count, "700000" a rounding
            step = max(step, 10.0 ** zeros)
    if step <= 1.0:
        return False
    return math.isclose(round(exact / step) * step, value)  # within float noise (math.isclose's 1e-9)


def grade(question, answer, points=None) -> Verdict:
    """Check an answer for a hidden test, scaled to the cell's points.

    Parameters
    ----------
    question : Question or ChoiceQuestion
    answer : the student's answer
    points : float or None, the grade cell's points (default: ``question.points``)

    Returns
    -------
    Verdict
        Its IPython plain-text form is the points earned, so a hidden-test cell whose last line is
        ``grade(q, answer, points=<the cell's points>)`` gets nbgrader partial credit. Give the
        cell's own points: a smaller value caps the score below the cell's maximum.
    """
    return scaled(check(question, answer), points)


def scaled(verdict: Verdict, points=None) -> Verdict:
    """``verdict`` with its points rescaled to a grade cell worth ``points`` (None: unchanged)."""
    if points is None:
        return verdict
    if points <= 0:
        raise ValueError(f"points must be positive, got {points}.")
    scale = float(points) / verdict.max_points
    return replace(verdict, points=verdict.points * scale, max_points=float(points))


def assert_correct(question, answer) -> None:
    """Raise AssertionError with the teaching message unless the answer is fully right.

    This is what nbgrader hidden tests call; the message appears in the student's feedback and,
    like every Verdict message, does not contain the expected value. Returns None so that a cell
    ending with this call shows no number that nbgrader could read as a partial score.
    """
    verdict = check(question, answer)
    if not verdict.correct:
        raise AssertionError(verdict.message)
