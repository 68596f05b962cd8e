"""Per-student variants: every student their own numbers for an assignment's graded questions.

A variant is data: (student id, assignment) seeds a numpy Generator (through a SHA-256 hash, so
the same pair always gives the same numbers on every machine), the generator draws the
hyper-parameters of the assignment's questions, and the questions are built by the very
builders that make the common ones (``base_cnn_questions(model)``, ``pooling_questions(model)``,
...), so the same question classes, checker and slip model serve every variant.

A draw is kept only if it passes :func:`problems` (which the tests re-run on every variant):

- a valid network: no kernel larger than the input it slides over;
- the same number of steps as the common question (same question and layer kinds, same layers
  before it, same stride, padding and bias pattern);
- numbers a student can do on paper (small hyper-parameters, counts below ten million);
- a diagnosis at least as good as the common question's: every slip that the common question
  tells apart (its value differs from the answer and from every other slip) is told apart in
  the variant too. Slips that are void by the structure itself (for example "padding assumed"
  in a layer after a dense layer, which changes nothing) are void in every variant alike.

Otherwise the generator draws again. Self-learners without an id get a fresh random variant on
every call, like the drill.

In a notebook: :func:`show_variant` prints the student's own questions (never their answers),
:func:`check_variant` / :func:`grade_variant` check an answer (the self-check and the hidden
test), with the truth computed at check time from (id, assignment). The id is :func:`whoami`'s:
while grading, the grader's (:data:`GRADER_VARIABLE`, set by :func:`graded_as` for the kernel and
for its clean re-check) always wins over the notebook's ``STUDENT_ID``; a notebook without any id
keeps one random variant per session (:func:`new_variant` draws another).

Example
-------
>>> questions = variant("alice", "02-base-cnn")
>>> sorted(questions) == sorted(variant("alice", "02-base-cnn"))
True
>>> questions["variant_conv1_output_shape"].kind
'output_shape'
"""
from __future__ import annotations

import hashlib
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import numpy as np

from ..layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, SeparableConv2D
from ..models import Sequential
from .check import APPROX_REL_TOL, Verdict, check, scaled, slip_values
from .questions import LayerSpec, Question, base_cnn_questions, expected

__all__ = [
    "ASSIGNMENTS",
    "PREFIX",
    "MAX_PAPER_COUNT",
    "Variant",
    "draw",
    "variant",
    "known_slips",
    "problems",
    "steps",
    "told_apart",
    "answer_sources",
    "whoami",
    "GRADER_VARIABLE",
    "ANSWER_PREFIX",
    "answer_variable",
    "graded_as",
    "my_variant",
    "new_variant",
    "show_variant",
    "check_variant",
    "grade_variant",
]

#: Name prefix of every variant question, so it never clashes with the common question it mirrors.
PREFIX = "variant_"
#: The largest count (MACs, FLOPs, parameters) a variant may ask for: a student can still do it on paper.
MAX_PAPER_COUNT = 10_000_000
_MAX_HYPER = 256  # no hyper-parameter larger than this
_ATTEMPTS = 400  # draws tried before giving up (the tests measure how many are needed)


# --------------------------------------------------------------------------- models of a variant
def _cnn(p: dict, pooled=False, separable=False, name="your_cnn") -> Sequential:
    """The lesson's base_cnn shape of network with the variant's sizes (weights seeded, never trained)."""
    return _cnn_of(tuple(sorted(p.items())), pooled, separable, name)


@lru_cache(maxsize=64)  # one draw builds the same model for several questions and their slips
def _cnn_of(items: tuple, pooled: bool, separable: bool, name: str) -> Sequential:
    p = dict(items)
    conv = SeparableConv2D if separable else Conv2D
    def pool():
        return [MaxPool2D(p["pool"])] if pooled else []

    layers = [conv(p["f1"], p["k1"]), ReLU(), *pool(), conv(p["f2"], p["k2"]), ReLU(), *pool(),
              Flatten(), Dense(p["u1"]), ReLU(), Dense(p["u2"])]
    return Sequential(layers, input_shape=(p["side"], p["side"], 1), seed=0, name=name)


_CNN_COMMON = {"side": 28, "k1": 3, "f1": 5, "k2": 3, "f2": 5, "u1": 128, "u2": 10, "pool": 2}


def _depth(rng, low: int, high: int, kernel: int) -> int:
    """An input depth in low..high-1 that is not within one of the kernel size: otherwise "the depth
    subtracted from the side" would give the answer or the "+1 missing" value, and could not be told apart."""
    return int(rng.choice([d for d in range(low, high) if abs(d - kernel) > 1]))


def _draw_cnn(rng) -> dict:
    k1, k2 = int(rng.choice((3, 5))), int(rng.choice((3, 5)))
    # fc1's weights are drawn at random for every model built (and 06 builds several): keep them few.
    return {"side": int(rng.integers(16, 29)), "k1": k1, "f1": _depth(rng, 4, 13, k2), "k2": k2,
            "f2": int(rng.integers(4, 13)), "u1": 8 * int(rng.integers(4, 17)), "u2": int(rng.integers(4, 21)),
            "pool": 2}


def _draw_pooled(rng) -> dict:
    """As :func:`_draw_cnn` with larger images and more conv1 filters (pooling halves the sizes, so the
    pooled shapes would repeat too often between students), and conv2's pooled input wider than its
    depth (so "depth subtracted" exists)."""
    while True:  # cheap: no model is built here
        p = _draw_cnn(rng)
        p.update(side=int(rng.integers(16, 41)), f1=_depth(rng, 4, 17, p["k2"]))
        if p["f1"] < (p["side"] - p["k1"] + 1) // p["pool"] - 1:
            return p


# --------------------------------------------------------------------------- assignment templates
def _lesson(p: dict) -> dict:
    """01: the lesson's worked questions (one filter, many filters, an RGB image, a separable ratio)."""
    one = LayerSpec("conv", (p["h"], p["h"], p["c"]), kernel_size=p["k"], filters=1)
    rgb = LayerSpec("conv", (p["rgb_h"], p["rgb_h"], 3), kernel_size=p["rgb_k"], filters=p["rgb_f"])
    sep = LayerSpec("separable", (p["sep_h"], p["sep_h"], p["sep_c"]), kernel_size=p["sep_k"],
                    filters=p["sep_f"], padding="same")
    return {
        "kernel_one_filter": Question("output_shape", one),
        "kernel_many_filters": Question("output_shape", one.replace(filters=p["f"])),
        "rgb_shape": Question("output_shape", rgb),
        "rgb_macs": Question("macs", rgb),
        "rgb_flops": Question("flops", rgb),
        "separable_ratio": Question("ratio", sep),
    }


def _draw_lesson(rng) -> dict:
    k = int(rng.choice((3, 5, 7)))
    return {"h": int(rng.integers(12, 41)), "c": _depth(rng, 2, 17, k), "k": k,
            "f": 4 * int(rng.integers(2, 33)),
            "rgb_h": int(rng.integers(6, 17)), "rgb_k": int(rng.choice((3, 5))), "rgb_f": 8 * int(rng.integers(2, 33)),
            "sep_h": int(rng.integers(7, 65)), "sep_c": 8 * int(rng.integers(1, 9)), "sep_k": int(rng.choice((3, 5, 7))),
            "sep_f": int(rng.choice((8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128)))}


_LESSON_COMMON = {"h": 25, "c": 9, "k": 7, "f": 64, "rgb_h": 10, "rgb_k": 3, "rgb_f": 128,
                  "sep_h": 56, "sep_c": 64, "sep_k": 3, "sep_f": 64}


def _base_cnn(p: dict) -> dict:
    """02: the six base_cnn questions, about the student's own base_cnn."""
    return base_cnn_questions(_cnn(p))


def _pooling(p: dict) -> dict:
    """03: the pooled-model questions, about the student's own base_cnn_pooled."""
    from .a03_pooling import pooling_questions

    return pooling_questions(_cnn(p, pooled=True, name="your_cnn_pooled"))


def _pooling_slips(p: dict, name: str) -> list:
    """03's own slip: the value of the same question about the model without pooling."""
    from .a03_pooling import _POOLED_ASK

    row = next(r for r in _POOLED_ASK if r[0] == name)
    if row[3] is None:
        return []
    spec = LayerSpec.from_layer(_cnn(p).layer(row[3]))
    return [("pooling_ignored", spec.output_shape() if row[2] == "output_shape" else spec.flops())]


def _separable(p: dict) -> dict:
    """04: a separable ratio and sepconv2's parameters, about the student's own base_cnn_separable."""
    from .a04_separable_convolutions import separable_questions

    common = separable_questions(_cnn(p, separable=True, name="your_cnn_separable"))
    sep = LayerSpec("separable", (p["sep_h"], p["sep_h"], p["sep_c"]), kernel_size=p["sep_k"],
                    filters=p["sep_f"], padding="same")
    return {**common, "separable_ratio": Question("ratio", sep, "separable_ratio")}


_SEPARABLE_COMMON = {**_CNN_COMMON, "sep_h": 56, "sep_c": 32, "sep_k": 3, "sep_f": 64}


def _draw_separable(rng) -> dict:
    lesson = _draw_lesson(rng)
    return {**_draw_cnn(rng), **{k: lesson[k] for k in ("sep_h", "sep_c", "sep_k", "sep_f")}}


def _pruning(p: dict) -> dict:
    """06: MACs after structured pruning, about the student's own base_cnn."""
    from .a06_pruning import pruning_questions

    return pruning_questions(_cnn(p))


def _pruning_slips(p: dict, name: str) -> list:
    """06's own slips, with their FLOPs twins, as check_filter_pruning adds them."""
    from .a06_pruning import pruning_slip_values

    out = []
    for slip, value in pruning_slip_values(name, _cnn(p)):
        out += [(slip, value), ("flops_for_macs+" + slip, 2 * value)]
    return out


def _no_slips(p: dict, name: str) -> list:
    return []


def _check_plain(p: dict, name: str, question: Question, answer) -> Verdict:
    return check(question, answer)


def _check_pooled(p: dict, name: str, question: Question, answer) -> Verdict:
    """As 03's checker: the quiz's verdict, and "pooling ignored" named, with the value of the student's
    own unpooled model (03's checker compares with base_cnn's)."""
    from .a03_pooling import POOLING_SLIP_MESSAGES
    from .harness import add_slips

    candidates = [(slip, value, POOLING_SLIP_MESSAGES[slip]) for slip, value in _pooling_slips(p, name)]
    return add_slips(check(question, answer), question, answer, candidates)


def _check_pruning(p: dict, name: str, question: Question, answer) -> Verdict:
    """06's checker, which also names the structured-pruning slips, on the student's own model."""
    from .a06_pruning import check_filter_pruning

    return check_filter_pruning(name, answer, _cnn(p))


def _intensity(p: dict) -> dict:
    """05: part 6, the arithmetic intensity of the student's own "same" depthwise convolution."""
    from .a05_openvino_timing import depthwise_intensity_question

    return {"depthwise_intensity": depthwise_intensity_question(p["side"], p["channels"], p["kernel"])}


# The channels cancel out of the intensity (every count is per channel), so only (kernel, side) vary the
# answer: a pair is drawn uniformly from sides of kernel + 1 to 3 x kernel. Near 3 x kernel the intensity
# flattens towards kernel^2 / 4; this range keeps at least 95 % of pairs of students apart.
_INTENSITY_SIZES = tuple((k, side) for k in (3, 5, 7, 9, 11) for side in range(k + 1, 3 * k + 1))


def _draw_intensity(rng) -> dict:
    kernel, side = _INTENSITY_SIZES[int(rng.integers(len(_INTENSITY_SIZES)))]
    # at most 32 channels: the FLOPs a student multiplies out stay under MAX_PAPER_COUNT
    return {"side": side, "channels": 8 * int(rng.integers(1, 5)), "kernel": kernel}


@dataclass(frozen=True)
class _Template:
    common: dict  # the common question's parameters
    draw: Callable  # rng -> parameters
    build: Callable  # parameters -> {name: Question}, the same builder as the common questions'
    extra_slips: Callable = _no_slips  # (parameters, name) -> [(slip, value)], the assignment's own
    checker: Callable = _check_plain  # (parameters, name, question, answer) -> Verdict, naming those slips too


_TEMPLATES = {
    "01-measuring-cost": _Template(_LESSON_COMMON, _draw_lesson, _lesson),
    "02-base-cnn": _Template(_CNN_COMMON, _draw_cnn, _base_cnn),
    "03-pooling": _Template(_CNN_COMMON, _draw_pooled, _pooling, _pooling_slips, _check_pooled),
    "04-separable-convolutions": _Template(_SEPARABLE_COMMON, _draw_separable, _separable),
    "05-openvino-timing": _Template({"side": 28, "channels": 32, "kernel": 5}, _draw_intensity, _intensity),
    "06-pruning": _Template(_CNN_COMMON, _draw_cnn, _pruning, _pruning_slips, _check_pruning),
}
#: Assignments with variant questions. 05 varies only its computed part 6 (parts 1 to 5 are timings
#: measured on the grading machine); 07 (functions checked on random arrays) has no numeric question to vary.
ASSIGNMENTS = tuple(_TEMPLATES)


# --------------------------------------------------------------------------- a variant
@dataclass(frozen=True)
class Variant:
    """One student's variant of one assignment.

    Attributes
    ----------
    student : str or None (None: a self-learner's random variant)
    assignment : str, e.g. "02-base-cnn"
    params : dict, the drawn hyper-parameters
    questions : dict of name -> Question, names start with :data:`PREFIX`
    common : dict of name -> Question, the common questions they mirror (same names, no prefix)
    attempts : int, draws needed to meet the constraints
    """

    student: str | None
    assignment: str
    params: dict
    questions: dict
    common: dict
    attempts: int

    def extra_slips(self, name: str) -> list:
        """The assignment's own slips for question ``name`` (with or without the prefix)."""
        return _TEMPLATES[self.assignment].extra_slips(self.params, _bare(name))

    def check(self, name: str, answer) -> Verdict:
        """Check ``answer`` to question ``name`` with the assignment's own checker (its own slips named too)."""
        if name not in self.questions:
            raise ValueError(f"no variant question {name!r} in {self.assignment}; the names are: "
                             f"{', '.join(self.questions)}.")
        return _TEMPLATES[self.assignment].checker(self.params, _bare(name), self.questions[name], answer)


def _bare(name: str) -> str:
    return name[len(PREFIX):] if name.startswith(PREFIX) else name


def _template(assignment: str) -> _Template:
    if assignment not in _TEMPLATES:
        raise ValueError(f"no variants for assignment {assignment!r}; the assignments with variants are: "
                         f"{', '.join(ASSIGNMENTS)}.")
    return _TEMPLATES[assignment]


def _seed(student: str, assignment: str) -> int:
    digest = hashlib.sha256(f"efficientnn-variant\0{assignment}\0{student}".encode()).digest()
    return int.from_bytes(digest[:16], "big")


def _student(student_id) -> str | None:
    if student_id is None:
        return None
    if not isinstance(student_id, str) or not student_id.strip():
        raise ValueError(f"student_id must be a non-empty string (or None for a random variant), got {student_id!r}.")
    return student_id.strip()


@lru_cache(maxsize=None)
def _common(assignment: str) -> dict:
    template = _template(assignment)
    return template.build(template.common)


def _make(student, assignment: str, rng) -> Variant:
    template, common = _template(assignment), _common(assignment)
    for attempt in range(1, _ATTEMPTS + 1):
        params = template.draw(rng)
        try:
            built = template.build(params)
        except ValueError:  # a layer that does not fit its input: draw again
            continue
        candidate = Variant(student, assignment, params, {PREFIX + n: q for n, q in built.items()}, common, attempt)
        if next(_problems(candidate), None) is None:
            return candidate
    raise RuntimeError(f"no valid variant of {assignment} for {student!r} in {_ATTEMPTS} draws; "
                       "widen the ranges in efficientnn/quiz/variants.py.")


@lru_cache(maxsize=4096)
def _cached(student: str, assignment: str) -> Variant:
    return _make(student, assignment, np.random.default_rng(_seed(student, assignment)))


def draw(student_id, assignment: str) -> Variant:
    """The :class:`Variant` of ``assignment`` for ``student_id``; a random one if the id is None.

    Parameters
    ----------
    student_id : str or None, e.g. the JupyterHub user name or nbgrader's student id
    assignment : str, one of :data:`ASSIGNMENTS`

    Raises
    ------
    ValueError
        If the assignment has no variants or the id is not a non-empty string.

    Example
    -------
    >>> draw("alice", "03-pooling").params == draw("alice", "03-pooling").params
    True
    """
    student = _student(student_id)
    if student is None:
        return _make(None, assignment, np.random.default_rng())
    return _cached(student, assignment)


def variant(student_id, assignment: str) -> dict:
    """A student's variant questions of ``assignment``, by name (``"variant_conv1_flops"``, ...).

    The same id and assignment always give the same questions; None gives a new random variant
    on each call (for self-learners). Check answers with :func:`efficientnn.quiz.check`.

    Example
    -------
    >>> q = variant("bob", "01-measuring-cost")["variant_rgb_flops"]
    >>> check(q, expected(q)).correct
    True
    """
    return draw(student_id, assignment).questions


# --------------------------------------------------------------------------- constraints
def known_slips(v: Variant, name: str) -> list:
    """Every known slip of question ``name`` of ``v``, as (slip, value) pairs.

    The checker's own candidates (before it drops those equal to the answer or to each other,
    which is what the constraints look at) plus the assignment's own slips.
    """
    return _raw_slips(v.questions[name]) + list(v.extra_slips(name))


def _raw_slips(question: Question) -> list:
    # The checker's candidates before slip_candidates drops duplicates: collisions must be seen.
    own = getattr(question, "slip_values", None)  # a question of its own kind (05's intensity) has its own
    return list(own()) if callable(own) else slip_values(question)


def _same(kind: str, a, b) -> bool:
    """Whether two answers are one for the checker: equal shapes; ratios and intensities within twice the
    1 % tolerance."""
    if kind == "output_shape":
        return tuple(int(x) for x in a) == tuple(int(x) for x in b)
    if kind in ("ratio", "intensity"):
        return abs(a - b) <= 2 * APPROX_REL_TOL * max(abs(a), abs(b))
    return math.isclose(a, b, rel_tol=1e-9)


def told_apart(question: Question, slips: list) -> set:
    """The slip names whose every value differs from the answer and from every other slip's values."""
    answer = expected(question)
    clean = {slip for slip, _ in slips}
    for i, (slip, value) in enumerate(slips):
        if _same(question.kind, value, answer):
            clean.discard(slip)
        for other, other_value in slips[i + 1:]:
            if other != slip and _same(question.kind, value, other_value):
                clean -= {slip, other}
    return clean


def steps(question: Question) -> tuple:
    """What a student has to work through for ``question``: kinds, layers, and which rules apply.

    Two questions with the same steps differ only in their numbers.
    """
    def rules(spec: LayerSpec):
        window = spec.is_spatial
        return (spec.kind, window and spec.effective_stride != 1, window and spec.pads != (0, 0),
                spec.use_bias, spec.depth_multiplier != 1, spec.input_shape[-1] == 1)

    upstream = tuple(getattr(question, "upstream", ()) or ())
    return (question.kind, rules(question.layer), tuple(rules(spec) for spec in upstream))


def _windows(question: Question):
    for spec in (*(getattr(question, "upstream", ()) or ()), question.layer):
        if spec.is_spatial:
            yield spec


def _paper_problem(question: Question) -> str | None:
    for spec in (question.layer, *(getattr(question, "upstream", ()) or ())):
        # A dense layer's inputs are a flattened map, a product the student already has.
        sizes = [*(spec.input_shape if spec.is_spatial else ()), *(spec.kernel_size or ()), spec.filters or 0,
                 spec.units or 0]
        if max(sizes) > _MAX_HYPER:
            return f"a size above {_MAX_HYPER} in {spec.describe()}"
    answer = expected(question)
    if question.kind in ("macs", "flops", "params") and not 0 < answer < MAX_PAPER_COUNT:
        return f"{question.kind} of {answer}, outside 1..{MAX_PAPER_COUNT}"
    if question.kind == "intensity" and not 0 < question.layer.flops() < MAX_PAPER_COUNT:
        return f"an intensity over {question.layer.flops()} FLOPs, outside 1..{MAX_PAPER_COUNT}"
    return None


@lru_cache(maxsize=None)
def _common_told_apart(assignment: str, name: str) -> frozenset:
    template, common = _template(assignment), _common(assignment)
    question = common[name]
    return frozenset(told_apart(question, _raw_slips(question) + list(template.extra_slips(template.common, name))))


def problems(v: Variant) -> list:
    """Why ``v`` breaks the constraints (an empty list when it meets them all)."""
    return list(_problems(v))


def _problems(v: Variant):
    # The cheap checks of every question come first: a draw is dropped at its first problem.
    if set(v.questions) != {PREFIX + n for n in v.common}:
        yield "not the same questions as the common ones"
        return
    for name, question in v.questions.items():
        for spec in _windows(question):
            (h, w), (kh, kw) = spec.input_shape[:2], spec.kernel_size
            if kh > h or kw > w:
                yield f"{name}: a {kh}x{kw} window on a {h}x{w} input"
        if steps(question) != steps(v.common[_bare(name)]):
            yield f"{name}: not the same steps as the common question"
        paper = _paper_problem(question)
        if paper:
            yield f"{name}: {paper}"
    for name, question in v.questions.items():
        lost = _common_told_apart(v.assignment, _bare(name)) - told_apart(question, known_slips(v, name))
        if lost:
            yield f"{name}: slips no longer told apart: {', '.join(sorted(lost))}"


# --------------------------------------------------------------------------- copied answers
def answer_sources(assignment: str, name: str, answer, student_id: str, roster) -> list:
    """The other students whose variant ``answer`` is right for, when it is wrong for ``student_id``.

    Parameters
    ----------
    assignment : str
    name : str, a variant question's name, e.g. "variant_conv1_flops"
    answer : the answer handed in by ``student_id``
    student_id : str, whose submission it is
    roster : iterable of str, the class

    Returns
    -------
    list of str, in roster order; empty when the answer is right for the student's own variant
    (or for nobody else's). Each match is "answer of variant X" for the integrity report.

    Example
    -------
    >>> bob = expected(variant("bob", "02-base-cnn")["variant_fc1_flops"])
    >>> answer_sources("02-base-cnn", "variant_fc1_flops", bob, "alice", ["alice", "bob"])
    ['bob']
    """
    own = variant(student_id, assignment)
    if name not in own:
        raise ValueError(f"no variant question {name!r} in {assignment}; the names are: {', '.join(own)}.")
    if check(own[name], answer).correct:
        return []
    return [other for other in roster
            if other != student_id and check(variant(other, assignment)[name], answer).correct]


# --------------------------------------------------------------------------- which student am I
#: What a release notebook's marked cell holds until the student writes their id.
UNSET_IDS = ("", "your id", "your_id", "student id", "...")


def whoami(student_id=None, nbgrader_user: bool = False) -> tuple:
    """The id whose variant a notebook shows, and where it came from.

    In order: the grader's id while grading (:data:`GRADER_VARIABLE`, the submission folder's
    name: it always wins), the ``STUDENT_ID`` the student wrote in the marked cell (passed here),
    the JupyterHub user name (``JUPYTERHUB_USER``), and, with ``nbgrader_user=True``, the
    account name nbgrader's exchange submits under (:func:`nbgrader.utils.get_username`).

    Returns
    -------
    (id, source) : (str, "grader" | "cell" | "jupyterhub" | "nbgrader"), or (None, "none") for
        a self-learner, who then gets a random variant per session

    Example
    -------
    >>> whoami("  ana ")
    ('ana', 'cell')
    """
    grader = os.environ.get(GRADER_VARIABLE, "").strip()
    if grader:
        return grader, "grader"
    return _claimed(student_id, nbgrader_user)


def _claimed(student_id, nbgrader_user: bool = False) -> tuple:
    """The id the notebook itself names (the cell, the hub, nbgrader's account), never the grader's."""
    if student_id is not None and not isinstance(student_id, str):
        raise ValueError(f'STUDENT_ID must be text such as "ana", got {type(student_id).__name__} {student_id!r}.')
    if student_id is not None and student_id.strip().casefold() not in UNSET_IDS:
        return student_id.strip(), "cell"
    hub = os.environ.get("JUPYTERHUB_USER", "").strip()
    if hub:
        return hub, "jupyterhub"
    if nbgrader_user:
        from nbgrader.utils import get_username

        return get_username(), "nbgrader"
    return None, "none"


# --------------------------------------------------------------------------- a notebook's own variant
#: The environment variable through which the grader names the student whose variant is graded
#: (the submission folder's name). The grader sets it for the kernel and for its clean re-check,
#: so an id written in the notebook never decides what the answers are checked against.
GRADER_VARIABLE = "EFFICIENTNN_STUDENT"
#: A variant question ``variant_x`` is answered in the notebook variable ``answer_variant_x``.
ANSWER_PREFIX = "answer_"

# A kernel's own variants: {assignment: Variant} (a self-learner's random one stays for the session)
# and {assignment: (id, source)} the notebook said it was answered for (:func:`show_variant`).
_session: dict = {}
_claims: dict = {}


def answer_variable(name: str) -> str:
    """The notebook variable that holds the answer to variant question ``name``.

    Example
    -------
    >>> answer_variable("variant_conv1_flops")
    'answer_variant_conv1_flops'
    """
    return ANSWER_PREFIX + name


@contextmanager
def graded_as(student_id: str):
    """Within the block, every variant is the one of ``student_id`` (the grader's id), whatever the notebook says.

    The grader wraps the kernel and its clean re-check in this; processes started inside inherit it.
    """
    student = _student(student_id)
    previous = os.environ.get(GRADER_VARIABLE)
    os.environ[GRADER_VARIABLE] = student
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(GRADER_VARIABLE, None)
        else:
            os.environ[GRADER_VARIABLE] = previous


def my_variant(assignment: str, student_id=None) -> Variant:
    """The variant a notebook shows and checks: of :func:`whoami`'s id, or, with no id, a random one
    drawn once per session (:func:`new_variant` draws another).

    Example
    -------
    >>> my_variant("02-base-cnn", "ana").params == draw("ana", "02-base-cnn").params
    True
    """
    student, _ = whoami(student_id)
    if student is not None:
        return draw(student, assignment)
    if assignment not in _session:
        _session[assignment] = draw(None, assignment)
    return _session[assignment]


def new_variant(assignment: str) -> Variant:
    """A new random variant for a self-learner (no id): the notebook shows and checks it from now on.

    Raises
    ------
    ValueError
        If the notebook has a student id: a student's variant is fixed by the id.
    """
    student, source = whoami(_claims.get(assignment, (None, ""))[0])
    if student is not None:
        raise ValueError(f"your variant is fixed by your student id {student!r} (from {_SOURCES[source]}); "
                         "only a notebook without an id gets random variants.")
    _session[assignment] = draw(None, assignment)
    return _session[assignment]


_SOURCES = {"grader": "the grader: the name of your submission's folder", "cell": "your STUDENT_ID cell",
            "jupyterhub": "your JupyterHub account", "nbgrader": "your nbgrader account",
            "none": "nowhere: no id"}


def _shared_start(prompts: list) -> str:
    """The sentence(s) every prompt starts with (the network they are about), or ""."""
    if len(prompts) < 2:
        return ""
    start = os.path.commonprefix(prompts)
    cut = start.rfind(". ")
    return start[:cut + 1] if cut > 0 else ""


def show_variant(assignment: str, student_id=None) -> Variant:
    """Print the student's own variant questions of ``assignment`` (prompts and answer names, never answers).

    Remembers ``student_id`` as the id the notebook is answered for, so that a check against
    another id (the grader's) can say so.

    Parameters
    ----------
    assignment : str, e.g. "02-base-cnn"
    student_id : str or None, the ``STUDENT_ID`` of the notebook's marked cell ("" when unset)

    Returns
    -------
    Variant, the one shown (its ``params`` are the sizes the prompts give)
    """
    _claims[assignment] = _claimed(student_id)
    v = my_variant(assignment, student_id)
    student, source = whoami(student_id)
    claimed = _claims[assignment][0]
    if student is None:
        print(f"No student id: a random variant, kept while this kernel runs. "
              f'new_variant("{assignment}") draws another; a STUDENT_ID fixes yours.')
    else:
        print(f"Your variant, for student id {student!r} (from {_SOURCES[source]}).")
        if source == "grader" and claimed not in (None, student):
            print(f"This notebook was answered for {claimed!r}: it is graded for {student!r}.")
    prompts = [q.prompt() for q in v.questions.values()]
    shared = _shared_start(prompts)
    if shared:
        print("\n" + shared)
    for number, (name, question) in enumerate(v.questions.items(), start=1):
        print(f"\nV{number} ({question.points:g} point(s)), answer in {answer_variable(name)}:\n  "
              f"{question.prompt()[len(shared):].strip()}")
    return v


def _id_note(assignment: str, student_id) -> str:
    """What a verdict adds when the notebook names another id than the one it is graded for."""
    student, source = whoami(student_id)
    claimed = _claimed(student_id)[0] if student_id is not None else _claims.get(assignment, (None, ""))[0]
    if source != "grader" or claimed in (None, student):
        return ""
    return (f" (This notebook was answered for {claimed!r}; it is graded against the variant of {student!r}, "
            "the id of your submission.)")


def check_variant(assignment: str, name: str, answer, student_id=None) -> Verdict:
    """Check ``answer`` to the student's own variant question ``name``: the truth is computed now,
    from (the student's id, ``assignment``), the grader's id winning (:func:`whoami`).

    Parameters
    ----------
    assignment : str, e.g. "02-base-cnn"
    name : str, e.g. "variant_conv1_flops"
    answer : the student's answer, in any form :func:`efficientnn.quiz.check` reads
    student_id : str or None, the notebook's ``STUDENT_ID``; None: the one :func:`show_variant` was given

    Returns
    -------
    Verdict, whose message never holds the expected value

    Raises
    ------
    ValueError
        If the assignment has no variants or ``name`` is not one of its questions.

    Example
    -------
    >>> right = expected(variant("ana", "02-base-cnn")["variant_fc2_flops"])
    >>> check_variant("02-base-cnn", "variant_fc2_flops", right, student_id="ana").correct
    True
    """
    verdict = my_variant(assignment, student_id if student_id is not None
                         else _claims.get(assignment, (None, ""))[0]).check(name, answer)
    note = _id_note(assignment, student_id)
    return replace(verdict, message=verdict.message + note) if note else verdict


def grade_variant(assignment: str, name: str, answer, points=None, student_id=None) -> Verdict:
    """:func:`check_variant` scaled to a hidden-test cell's ``points`` (its plain-text form is the points earned).

    Example
    -------
    >>> grade_variant("02-base-cnn", "variant_fc2_flops", "12", points=2, student_id="ana").points
    0.0
    """
    return scaled(check_variant(assignment, name, answer, student_id), points)
