"""Checkers of assignment 05 (source/05-openvino-timing): layerwise timing with OpenVINO.

Most of the assignment's answers are read off a measurement, so no formula gives them: which
layer of ``base_cnn`` took the most time, which layers OpenVINO fused into another node, whether
a separable layer ran faster than a standard one. They are checked against **the measurement
taken in the same run**: at grading time the notebook runs again from the top, its locked
measurement cells measure again, and the hidden tests compare the answers with that measurement.
Nothing in these checks depends on how fast the machine is, only on what it measured.

The measurement as plain data
-----------------------------
A locked cell collects the measurement in a dict, ``this_run``, of plain names and numbers:

- ``this_run["base_cnn"]`` (and ``"base_cnn_pooled"``, ``"base_cnn_separable"``):
  :func:`layer_records` of :func:`efficientnn.openvino_timing.layer_times` rows;
- ``this_run["wide_layer"]``: :func:`speedup_record` of the standard and separable layer's times;
- ``this_run["openvino_error"]``: why nothing was measured, when OpenVINO is not available.

Plain data (no LayerTime objects), so that a checker can take it from anywhere. In the student's
kernel a hidden test passes the kernel's ``this_run``; but the kernel runs the student's code,
which can patch the measuring functions or overwrite ``this_run`` in an answer cell (the
measuring cells run before the answer cells and nothing runs them again). So the grader's clean
re-check (``autograder.audit``) runs the same checker with **its own** ``this_run``, made by
running the locked measuring cells again outside the kernel (the same models on the same
machine), and a cell keeps the lower score: a forged measurement earns nothing, and the tie rule
below absorbs the noise between the two runs.

Tie rule
--------
Timings are noisy, most of all on a busy machine. Two times count as a tie when the smaller is at
least ``1 - TIE_TOLERANCE`` (80 %) of the larger. Then either answer is accepted: any layer whose
median time is within 20 % of the largest one, "faster" or "slower" for two layers whose times
tie, "smaller" or "larger" for a speed-up that ties with the MAC ratio.

Checkers (each returns None or raises ``AssertionError`` with a teaching message that never
names the right answer; :func:`efficientnn.quiz.harness.self_check` turns one into a Verdict):

- :func:`check_dominant_layer` ``(answer, this_run, model="base_cnn")``: the layer with the
  largest measured median time;
- :func:`check_slower_conv` ``(answer, this_run, model="base_cnn")``: the slower of the
  convolutions;
- :func:`check_fused_layers` ``(answer, this_run, model="base_cnn")``: the layers whose status is
  FUSED;
- :func:`check_speedup_sign` ``(answer, this_run)``: "faster" or "slower", the separable layer
  against the standard one;
- :func:`check_speedup_vs_macs` ``(answer, this_run)``: "smaller" or "larger", the measured
  speed-up against the MAC ratio;
- :func:`check_depthwise_intensity` ``(answer)``: the arithmetic intensity (FLOPs per byte) of a
  depthwise layer, :func:`depthwise_intensity_question`; machine-independent, computed with
  :mod:`efficientnn.cost`.

Visible tests: :func:`require_measurement` (fails, saying OpenVINO is needed, when the run has no
measurement), and the form checks :func:`check_layer_name_form`, :func:`check_layer_set_form`,
:func:`check_choice_form`.

About 660 lines because it is all of assignment 05's checking (part 6's variant included), one
module for one notebook; fewer than 400 of them are code, the rest docstrings, slip messages and
blank lines.

Example
-------
>>> rows = ({"name": "conv1", "kind": "conv", "status": "EXECUTED", "fused_into": None,
...          "median_us": 10.0, "flops": 100, "inserted": False},
...         {"name": "relu1", "kind": "relu", "status": "FUSED", "fused_into": "conv1",
...          "median_us": 0.0, "flops": 0, "inserted": False})
>>> check_fused_layers({"relu1"}, {"base_cnn": rows})   # None: right
"""
from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass

from . import ledger
from .check import APPROX_REL_TOL, Verdict, matches
from .parse import AnswerFormatError, is_blank, parse_number
from .harness import assert_right
from .questions import LayerSpec
from .widgets import QuizWidget

__all__ = [
    "TIE_TOLERANCE",
    "MODEL_KEYS",
    "WIDE_LAYER_KEY",
    "ERROR_KEY",
    "SPEEDUP_CHOICES",
    "MAC_RATIO_CHOICES",
    "TIMING_SLIP_MESSAGES",
    "INTENSITY_SLIP_MESSAGES",
    "RUN_NOTE",
    "layer_records",
    "speedup_record",
    "openvino_missing",
    "require_measurement",
    "accepted_slowest",
    "fused_layers",
    "accepted_speedup_signs",
    "accepted_mac_ratio_answers",
    "check_layer_name_form",
    "check_layer_set_form",
    "check_choice_form",
    "check_dominant_layer",
    "check_slower_conv",
    "check_fused_layers",
    "check_speedup_sign",
    "check_speedup_vs_macs",
    "IntensityQuestion",
    "depthwise_intensity_question",
    "layer_intensity",
    "check_depthwise_intensity",
    "intensity_verdict",
    "intensity_widget",
]

#: Two times tie when the smaller is at least (1 - TIE_TOLERANCE) of the larger.
TIE_TOLERANCE = 0.2
#: Keys of ``this_run`` that hold layer records, one per model.
MODEL_KEYS = ("base_cnn", "base_cnn_pooled", "base_cnn_separable")
#: Key of ``this_run`` holding the standard-vs-separable comparison (:func:`speedup_record`).
WIDE_LAYER_KEY = "wide_layer"
#: Key of ``this_run`` saying why nothing was measured.
ERROR_KEY = "openvino_error"
SPEEDUP_CHOICES = ("faster", "slower")
MAC_RATIO_CHOICES = ("smaller", "larger")
_SYNONYMS = {"less": "smaller", "lower": "smaller", "below": "smaller", "more": "larger", "greater": "larger",
             "higher": "larger", "above": "larger", "bigger": "larger"}
_STATUSES = ("EXECUTED", "FUSED", "NOT_RUN", "OPTIMIZED_OUT")
_FIELDS = ("name", "kind", "status", "fused_into", "median_us", "flops", "inserted")

#: What the grader's run has to do with the student's, said once in every measured check's message.
RUN_NOTE = ("(Graded against the measurement taken when the notebook runs for grading; computing the answer "
            "from the rows in code keeps it in step with any run.)")

TIMING_SLIP_MESSAGES = {
    "not_a_layer": "{answer!r} is not a layer of {model}. Its layers are {names}.",
    "inserted": ("{answer!r} is a node OpenVINO inserted (a layout change or a transpose), not a layer of {model}. "
                 "Its layers are {names}."),
    "not_in_kinds": "{answer!r} is not one of {model}'s {what}: {names}.",
    "fused_has_no_time": ("{answer}'s work ran inside another layer's node (its status is FUSED), so it has no "
                          "time of its own."),
    "idle_has_no_time": ("{answer} did no work of its own in this run (its status is {status}), so it has no "
                         "time of its own."),
    "most_flops": ("{answer} is the one with the most FLOPs: that is what counting predicts. The question asks "
                   "what the measurement says, and in this run its median time is not within {tie:.0%} of the "
                   "largest. FLOPs are not the whole cost of a layer: memory traffic, layout and how well the "
                   "kernel fills the processor's vector units count too."),
    "not_slowest": ("In this run {answer}'s median time is not within {tie:.0%} of the largest {among}. Read the "
                    "median column (or find the longest bar in the plot)."),
    "executed_not_fused": ("{answer} ran as a node of its own (status EXECUTED): it may be a layer that others "
                           "were fused into, but it is not fused itself."),
    "not_run_not_fused": ("{answer}'s status is {status}, not FUSED: its node had nothing to compute (a flatten "
                          "only relabels the same memory), but its work was not merged into another node."),
    "fused_missing": ("Not every layer whose status is FUSED is in your answer: read the status column of every "
                      "row (FUSED->x means the layer's work ran inside x's node)."),
    "empty_but_fused": ("Your answer says no layer was fused, but in this run some rows say FUSED->x: their work "
                        "ran inside the node of layer x."),
    "sign": ("Not what this run measured. The speed-up is the standard layer's time divided by the separable "
             "layer's: above 1 means the separable layer is faster. Compare the two measured times."),
    "vs_macs": ("Not what this run measured. The MAC ratio (standard MACs / separable MACs) is the speed-up that "
                "counting predicts; the measured speed-up is the standard time / the separable time. Compare the "
                "two numbers."),
}


def _message(key: str, **fields) -> str:
    return TIMING_SLIP_MESSAGES[key].format(tie=TIE_TOLERANCE, **fields)


# --------------------------------------------------------------------------- the measurement as data
def layer_records(rows) -> tuple:
    """Plain-data copies of :func:`efficientnn.openvino_timing.layer_times` rows, for ``this_run``.

    Parameters
    ----------
    rows : list of LayerTime (or of dicts with the same fields)

    Returns
    -------
    tuple of dict, one per row, with ``name``, ``kind``, ``status``, ``fused_into``,
    ``median_us`` (float, microseconds), ``flops`` (int) and ``inserted`` (bool).

    Raises
    ------
    ValueError
        If a row lacks one of those fields.
    """
    out = []
    for row in rows:
        get = row.get if isinstance(row, dict) else (lambda key, r=row: getattr(r, key, None))
        values = {key: get(key) for key in _FIELDS}
        missing = [key for key in ("name", "status", "median_us") if values[key] is None]
        if missing:
            raise ValueError(f"a layer_times row needs the fields {', '.join(_FIELDS)}; this one lacks "
                             f"{', '.join(missing)}: {row!r}")
        out.append({"name": str(values["name"]), "kind": str(values["kind"] or ""), "status": str(values["status"]),
                    "fused_into": None if values["fused_into"] is None else str(values["fused_into"]),
                    "median_us": float(values["median_us"]), "flops": int(values["flops"] or 0),
                    "inserted": bool(values["inserted"])})
    return tuple(out)


def speedup_record(standard_ms, separable_ms, mac_ratio) -> dict:
    """Plain data of the standard-vs-separable comparison, for ``this_run["wide_layer"]``.

    Parameters
    ----------
    standard_ms, separable_ms : float, measured time of one inference of each layer (ms, > 0)
    mac_ratio : float, standard MACs / separable MACs (> 0)

    Returns
    -------
    dict with those three floats and ``speedup = standard_ms / separable_ms``.
    """
    values = {"standard_ms": standard_ms, "separable_ms": separable_ms, "mac_ratio": mac_ratio}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 or not math.isfinite(value):
            raise ValueError(f"{key} must be a positive number, got {value!r}.")
    out = {key: float(value) for key, value in values.items()}
    out["speedup"] = out["standard_ms"] / out["separable_ms"]
    return out


def openvino_missing(this_run, what: str) -> str:
    """The message for a graded check that has no measurement to compare with."""
    reason = ""
    if isinstance(this_run, dict) and this_run.get(ERROR_KEY):
        reason = f" OpenVINO said: {this_run[ERROR_KEY]}"
    return (f"This part is checked against OpenVINO's measurement of {what} taken earlier in this notebook, and "
            f"this run has none, so it cannot be graded here. The computer that runs the notebook needs OpenVINO "
            f"(`python -m pip install \"openvino>=2025.0,<2027\"`, or `make setup`); run the notebook again from "
            f"the top once it is installed.{reason}")


def require_measurement(this_run, key: str) -> None:
    """Visible test: raise AssertionError (OpenVINO is needed) unless ``this_run`` holds ``key``.

    A measured part's test cell calls this first, so that without OpenVINO it fails with a message
    saying so, whatever the answer cell did. Says nothing about the answer.
    """
    ledger.touch()
    if not isinstance(this_run, dict):
        raise AssertionError(f"this_run should be the dict the measurement cells fill, but it is "
                             f"{type(this_run).__name__}: was it overwritten? Run the notebook again from the top.")
    if this_run.get(key) is None:
        what = "the standard and separable layers" if key == WIDE_LAYER_KEY else key
        raise AssertionError(openvino_missing(this_run, what))


def _rows(this_run, key: str) -> list[dict]:
    if not isinstance(this_run, dict):
        raise AssertionError(f"this_run should be the dict the measurement cells fill, but it is "
                             f"{type(this_run).__name__}: was it overwritten? Run the notebook again from the top.")
    rows = this_run.get(key)
    if rows is None:
        raise AssertionError(openvino_missing(this_run, key))
    try:
        return list(layer_records(rows))
    except (TypeError, ValueError) as err:
        raise AssertionError(f"this_run[{key!r}] does not hold layer_times rows ({err}). Run the notebook again "
                             "from the top.") from None


def _speedup(this_run) -> dict:
    if not isinstance(this_run, dict):
        raise AssertionError(f"this_run should be the dict the measurement cells fill, but it is "
                             f"{type(this_run).__name__}: was it overwritten? Run the notebook again from the top.")
    record = this_run.get(WIDE_LAYER_KEY)
    if record is None:
        raise AssertionError(openvino_missing(this_run, "the standard and separable layers"))
    try:
        return speedup_record(record["standard_ms"], record["separable_ms"], record["mac_ratio"])
    except (TypeError, KeyError, ValueError) as err:
        raise AssertionError(f"this_run[{WIDE_LAYER_KEY!r}] does not hold the comparison ({err}). Run the notebook "
                             "again from the top.") from None


def _ties(a: float, b: float) -> bool:
    """Whether two non-negative measurements are within the tie tolerance of each other."""
    low, high = sorted((float(a), float(b)))
    return high <= 0 or low >= (1 - TIE_TOLERANCE) * high


# --------------------------------------------------------------------------- accepted answers
def _layers(rows):
    return [r for r in rows if not r["inserted"]]


def accepted_slowest(rows, kinds=None) -> set:
    """Names of the layers (of ``kinds``, default all) whose median is within the tie rule of the largest.

    Inserted nodes (``inserted=True``) are not layers and are never accepted.
    """
    rows = [r for r in _layers(layer_records(rows)) if kinds is None or r["kind"] in kinds]
    if not rows:
        return set()
    top = max(r["median_us"] for r in rows)
    if top <= 0:
        return set()
    return {r["name"] for r in rows if r["median_us"] > 0 and _ties(r["median_us"], top)}


def fused_layers(rows) -> set:
    """Names of the layers whose status is FUSED (their work ran inside another layer's node)."""
    return {r["name"] for r in _layers(layer_records(rows)) if r["status"] == "FUSED"}


def accepted_speedup_signs(record) -> set:
    """"faster" and/or "slower": the separable layer against the standard one, with the tie rule."""
    record = speedup_record(record["standard_ms"], record["separable_ms"], record["mac_ratio"])
    if _ties(record["standard_ms"], record["separable_ms"]):
        return set(SPEEDUP_CHOICES)
    return {"faster" if record["separable_ms"] < record["standard_ms"] else "slower"}


def accepted_mac_ratio_answers(record) -> set:
    """"smaller" and/or "larger": the measured speed-up against the MAC ratio, with the tie rule."""
    record = speedup_record(record["standard_ms"], record["separable_ms"], record["mac_ratio"])
    if _ties(record["speedup"], record["mac_ratio"]):
        return set(MAC_RATIO_CHOICES)
    return {"smaller" if record["speedup"] < record["mac_ratio"] else "larger"}


# --------------------------------------------------------------------------- reading answers
def _blank_problem(answer):
    if answer is Ellipsis or answer is None or (isinstance(answer, str) and not answer.strip()):
        return "There is no answer yet: replace the `...` (or the `raise NotImplementedError()`) with your answer."
    return None


def _name(answer) -> str:
    """A layer name as written by a student: case and surrounding spaces or quotes do not matter."""
    problem = _blank_problem(answer)
    if problem:
        raise AssertionError(problem)
    if not isinstance(answer, str):
        raise AssertionError(f"The answer is {type(answer).__name__} {answer!r}; write the layer's name as a "
                             'string, e.g. "conv1".')
    return answer.strip().strip("'\"").strip().casefold()


def _names(answer) -> set:
    """A set of layer names: a set, list or tuple of strings, or one string of names separated by commas."""
    problem = _blank_problem(answer)
    if problem:
        raise AssertionError(problem)
    if isinstance(answer, dict):
        raise AssertionError("The answer is a dict. Write a set of names, e.g. {\"conv1\", \"conv2\"}; an empty "
                             "set is set() ({} is an empty dict).")
    if isinstance(answer, str):
        items = [part for part in re.split(r"[,\s;]+", answer) if part]
    elif isinstance(answer, (set, frozenset, list, tuple)):
        items = list(answer)
    else:
        raise AssertionError(f"The answer is {type(answer).__name__} {answer!r}; write a set of layer names, e.g. "
                             '{"conv1", "conv2"}.')
    out = set()
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise AssertionError(f"{item!r} in your answer is not a layer name: write every layer as a string, "
                                 'e.g. {"conv1", "conv2"}.')
        out.add(item.strip().strip("'\"").strip().casefold())
    return out


def _choice(answer, choices) -> str:
    problem = _blank_problem(answer)
    if problem:
        raise AssertionError(problem)
    quoted = " or ".join(f'"{c}"' for c in choices)
    if not isinstance(answer, str):
        raise AssertionError(f"The answer is {type(answer).__name__} {answer!r}; write one of the words {quoted}.")
    word = answer.strip().strip("'\".!").strip().casefold()
    word = _SYNONYMS.get(word, word) if "smaller" in choices else word
    if word not in choices:
        raise AssertionError(f"{answer!r} is not one of the answers this question takes: write {quoted}.")
    return word


# --------------------------------------------------------------------------- form checks (visible tests)
def check_layer_name_form(answer) -> None:
    """Visible test: the answer is one layer name (a non-empty string). Says nothing about its value."""
    ledger.touch()
    _name(answer)


def check_layer_set_form(answer) -> None:
    """Visible test: the answer is a set (or list) of layer names, possibly empty. Says nothing about its value."""
    ledger.touch()
    _names(answer)


def check_choice_form(answer, choices) -> None:
    """Visible test: the answer is one of ``choices`` (e.g. ``SPEEDUP_CHOICES``). Says nothing about which."""
    ledger.touch()
    _choice(answer, tuple(choices))


# --------------------------------------------------------------------------- measured checks
def _fail(text: str):
    raise AssertionError(f"{text} {RUN_NOTE}")


def _check_slowest(answer, this_run, model, kinds, what):
    ledger.touch()  # while grading: record the answer and this_run for the clean re-check
    name = _name(answer)
    rows = _rows(this_run, model)
    layers = _layers(rows)
    by_name = {r["name"].casefold(): r for r in layers}
    all_names = ", ".join(r["name"] for r in layers)
    if name not in by_name:
        if any(r["name"].casefold() == name for r in rows):
            raise AssertionError(_message("inserted", answer=answer, model=model, names=all_names))
        raise AssertionError(_message("not_a_layer", answer=answer, model=model, names=all_names))
    row = by_name[name]
    if kinds is not None and row["kind"] not in kinds:
        names = ", ".join(r["name"] for r in layers if r["kind"] in kinds)
        raise AssertionError(_message("not_in_kinds", answer=answer, model=model, what=what, names=names))
    accepted = accepted_slowest(rows, kinds)
    if row["name"] in accepted:
        return None
    if row["status"] == "FUSED":
        _fail(_message("fused_has_no_time", answer=row["name"]) + " Look for the largest value in the median column.")
    if row["status"] != "EXECUTED":
        _fail(_message("idle_has_no_time", answer=row["name"], status=row["status"])
              + " Look for the largest value in the median column.")
    pool = [r for r in layers if kinds is None or r["kind"] in kinds]
    most_flops = max(pool, key=lambda r: r["flops"])
    if row["name"] == most_flops["name"] and row["flops"] > 0:
        _fail(_message("most_flops", answer=row["name"]))
    among = "among " + (what if kinds is not None else f"{model}'s layers")
    _fail(_message("not_slowest", answer=row["name"], among=among))


def check_dominant_layer(answer, this_run, model: str = "base_cnn") -> None:
    """Check the name of the layer of ``model`` with the largest measured median time.

    Accepted: any layer whose median is within :data:`TIE_TOLERANCE` of the largest, in the rows
    of ``this_run[model]``. Case and surrounding spaces do not matter.

    Raises
    ------
    AssertionError
        For a wrong answer (naming the slip: a fused layer, the layer with most FLOPs, ...), an
        answer of the wrong form, or no measurement in ``this_run`` (OpenVINO missing).
    """
    _check_slowest(answer, this_run, model, None, "layers")


def check_slower_conv(answer, this_run, model: str = "base_cnn") -> None:
    """Check the name of the convolution (kind "conv") of ``model`` with the largest measured median time.

    Same rules as :func:`check_dominant_layer`, among the convolutions only.
    """
    _check_slowest(answer, this_run, model, ("conv",), "convolutions")


def check_fused_layers(answer, this_run, model: str = "base_cnn") -> None:
    """Check the set of layers of ``model`` whose status is FUSED in ``this_run[model]``.

    The answer is a set, list or tuple of names (an empty set ``set()`` says none), or one string
    of names separated by commas. It must hold exactly the fused layers.
    """
    ledger.touch()
    names = _names(answer)
    rows = _rows(this_run, model)
    layers = _layers(rows)
    by_name = {r["name"].casefold(): r for r in layers}
    all_names = ", ".join(r["name"] for r in layers)
    for name in sorted(names):
        if name not in by_name:
            key = "inserted" if any(r["name"].casefold() == name for r in rows) else "not_a_layer"
            raise AssertionError(_message(key, answer=name, model=model, names=all_names))
    fused = {n.casefold() for n in fused_layers(rows)}
    for name in sorted(names - fused):
        row = by_name[name]
        if row["status"] == "EXECUTED":
            _fail(_message("executed_not_fused", answer=row["name"]))
        _fail(_message("not_run_not_fused", answer=row["name"], status=row["status"]))
    if fused - names:
        _fail(_message("empty_but_fused" if not names else "fused_missing"))
    return None


def check_speedup_sign(answer, this_run) -> None:
    """Check "faster" or "slower": the separable layer against the standard one in ``this_run``.

    With the tie rule: when the two times are within :data:`TIE_TOLERANCE`, both are accepted.
    """
    ledger.touch()
    word = _choice(answer, SPEEDUP_CHOICES)
    record = _speedup(this_run)
    if word not in accepted_speedup_signs(record):
        _fail(_message("sign"))


def check_speedup_vs_macs(answer, this_run) -> None:
    """Check "smaller" or "larger": the measured speed-up against the MAC ratio in ``this_run``.

    "less", "lower", "below" count as "smaller"; "more", "greater", "higher", "above" as "larger".
    With the tie rule: when the two are within :data:`TIE_TOLERANCE`, both are accepted.
    """
    ledger.touch()
    word = _choice(answer, MAC_RATIO_CHOICES)
    record = _speedup(this_run)
    if word not in accepted_mac_ratio_answers(record):
        _fail(_message("vs_macs"))


# --------------------------------------------------------------------------- arithmetic intensity
_BYTES = 4  # float32

INTENSITY_SLIP_MESSAGES = {
    "macs_per_byte": ("This is MACs per byte. Arithmetic intensity counts FLOPs, and every MAC is two FLOPs (a "
                      "multiplication and an addition)."),
    "elements_not_bytes": ("This counts values, not bytes: every float32 value takes 4 bytes in memory."),
    "activation_left_out": ("Only one of the input and the output was counted in the bytes: the layer reads "
                            "every input value and writes every output value, so count both."),
    "weights_left_out": ("The weights were left out of the bytes. They are few here, but the question counts "
                         "them: input + weights + output."),
    "padding_ignored": ('The padding was left out: with "same" padding the output has the input\'s height and '
                        "width, so there are more MACs and more output bytes than without."),
    "standard_conv": ("This is what a standard convolution with as many filters as channels would give. A "
                      "depthwise convolution filters every channel on its own: one kernel per channel, no sum "
                      "across channels."),
    "inverted": "Upside down: arithmetic intensity is FLOPs divided by bytes, not bytes per FLOP.",
    "close": "Close, but more than 1% off: keep more digits.",
}
_INTENSITY_HINT = ("Count the FLOPs (2 per MAC; a depthwise layer does kernel height x width MACs per output "
                   "value), count the bytes of the input, the weights and the output (4 per float32 value), and "
                   "divide.")


@dataclass(frozen=True)
class IntensityQuestion:
    """Arithmetic intensity of one layer: FLOPs / bytes of (input + weights + output), float32, batch 1.

    Attributes
    ----------
    layer : LayerSpec (its ``use_bias`` decides whether the biases count as weights)
    name : str
    kind : "intensity" (widgets read it)
    """

    layer: LayerSpec
    name: str = "depthwise_intensity"
    kind: str = "intensity"
    points: float = 1.0

    def expected(self) -> float:
        """The right answer in FLOPs per byte (:func:`layer_intensity`), computed now."""
        return layer_intensity(self.layer)

    def slip_values(self) -> list[tuple[str, float]]:
        """Every typical wrong answer as (slip, value), those equal to the answer or to each other kept."""
        return _intensity_slips(self.layer)

    def slip_candidates(self) -> list[tuple[str, float]]:
        """Typical wrong answers as (slip, value), most likely first, none within the 1 % of the answer."""
        exact, out = self.expected(), []
        for slip, value in self.slip_values():
            if abs(value - exact) > APPROX_REL_TOL * exact and all(value != v for _, v in out):
                out.append((slip, value))
        return out

    def check_answer(self, answer, max_points: float) -> Verdict:
        """The verdict on ``answer`` (what :func:`efficientnn.quiz.check` returns for this question)."""
        return intensity_verdict(answer, self, max_points)

    def prompt(self) -> str:
        bias = "with" if self.layer.use_bias else "without"
        return (f"Take {self.layer.describe()}, {bias} bias, one image. What is its arithmetic intensity: its "
                "FLOPs (2 per MAC) divided by the bytes it moves, counting the input, the weights and the output "
                "once each, 4 bytes per float32 value? Give a number (FLOPs per byte, 3 significant digits).")


def depthwise_intensity_question(side: int = 28, channels: int = 32, kernel: int = 5) -> IntensityQuestion:
    """Part 6 of assignment 05: a ``kernel`` x ``kernel`` depthwise convolution on side x side x channels,
    "same" padding, no bias; by default the common question (5x5 on 28x28x32), other sizes for variants.

    Example
    -------
    >>> round(depthwise_intensity_question().expected(), 3)
    6.152
    """
    return IntensityQuestion(LayerSpec("depthwise", (side, side, channels), kernel_size=kernel, padding="same",
                                       use_bias=False))


def _intensity(flops: float, in_values: int, weights: int, out_values: int, bytes_per_value: int = _BYTES) -> float:
    return flops / (bytes_per_value * (in_values + weights + out_values))


def layer_intensity(layer: LayerSpec) -> float:
    """FLOPs per byte of ``layer`` for one example: ``flops / (4 * (input + weights + output values))``.

    The same convention as :func:`efficientnn.openvino_timing.layer_times` (``flops_per_byte``).

    Example
    -------
    >>> round(layer_intensity(LayerSpec("dense", (100,), units=10, use_bias=False)), 4)
    0.4505
    """
    return _intensity(layer.flops(), math.prod(layer.input_shape), layer.params(), math.prod(layer.output_shape()))


def _intensity_slips(layer: LayerSpec):
    """(slip, value) of the usual wrong intensities of ``layer``."""
    ins, outs, weights = math.prod(layer.input_shape), math.prod(layer.output_shape()), layer.params()
    flops = layer.flops()
    right = layer_intensity(layer)
    out = [("macs_per_byte", right / 2), ("elements_not_bytes", right * _BYTES),
           ("activation_left_out", _intensity(flops, ins, weights, 0)),
           ("activation_left_out", _intensity(flops, 0, weights, outs)),
           ("weights_left_out", _intensity(flops, ins, 0, outs)), ("inverted", 1 / right)]
    if layer.pads != (0, 0):
        valid = layer.replace(padding=0)
        out.append(("padding_ignored", layer_intensity(valid)))
    if layer.kind == "depthwise":
        standard = LayerSpec("conv", layer.input_shape, layer.kernel_size, filters=layer.in_channels,
                             stride=layer.stride, padding=layer.padding, use_bias=layer.use_bias)
        out.append(("standard_conv", layer_intensity(standard)))
    return out


def intensity_verdict(answer, question: IntensityQuestion | None = None, points=None) -> Verdict:
    """Check an arithmetic-intensity answer; a :class:`~efficientnn.quiz.Verdict` (for widgets and self-checks).

    A number (or a string such as ``"1.23"``) is accepted within 1 % of the exact value (or half a
    unit of its last written digit, whichever is larger), as ratios are in
    :func:`efficientnn.quiz.check`.
    """
    ledger.touch()
    question = question or depthwise_intensity_question()
    max_points = float(points if points is not None else question.points)
    if is_blank(answer):
        return Verdict(False, 0.0, max_points, "Not yet. There is no answer yet: write a number.", "no_answer")
    try:
        parsed = parse_number(answer)
    except AnswerFormatError as err:
        return Verdict(False, 0.0, max_points, f"Not yet. {err}", "format")
    right = layer_intensity(question.layer)
    if matches(parsed, right, rounded=True):
        return Verdict(True, max_points, max_points, "Right.")
    for slip, value in _intensity_slips(question.layer):
        if matches(parsed, value, rounded=True):
            return Verdict(False, 0.0, max_points, f"Not yet. {INTENSITY_SLIP_MESSAGES[slip]}", slip)
    if abs(parsed.value - right) <= 0.05 * right:
        return Verdict(False, 0.0, max_points, f"Not yet. {INTENSITY_SLIP_MESSAGES['close']}", "close")
    return Verdict(False, 0.0, max_points, f"Not yet. {_INTENSITY_HINT}", None)


def check_depthwise_intensity(answer) -> None:
    """Hidden test: raise AssertionError with the teaching message unless the intensity is right."""
    assert_right(intensity_verdict(answer), lead=False)


def intensity_widget(question: IntensityQuestion | None = None, title=None) -> QuizWidget:
    """Self-check widget for an intensity question (default :func:`depthwise_intensity_question`),
    checked by :func:`intensity_verdict` like the hidden test."""
    question = question or depthwise_intensity_question()
    return QuizWidget(question, title, checker=lambda answer: intensity_verdict(answer, question))
