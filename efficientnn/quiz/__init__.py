"""Questions, answer parsing, checking with slip diagnosis, self-check widgets and a drill.

One checker, two users: the widgets a student clicks and the hidden tests nbgrader runs both
call :func:`check`, which computes the right answer from the question's parameters (with
:mod:`efficientnn.shapes` and :mod:`efficientnn.cost`), reads the answer and returns a
:class:`Verdict` whose message names the likely slip without giving the answer away.

Shared by every assignment, one module per concept: ``parse`` (reading answers), ``questions``
(questions as data, the lessons' question sets), ``check`` (tolerance, slips, verdicts),
``widgets`` and ``drill`` (ipywidgets front ends), ``harness`` (calling a student's function
safely, function and array cases, the slip-adding assert wrappers, ``self_check``) and
``ledger`` (what the grader records for its clean re-check).

One module per assignment, named after its folder in ``source/`` (a Python name cannot start
with a digit, hence the ``a``), holding that notebook's checkers, cases and extra slips:

====================================  ================================================================
notebook                              module
====================================  ================================================================
``01-measuring-cost``                 ``a01_measuring_cost`` (and ``questions.lesson_questions``)
``02-base-cnn``                       none: ``questions.base_cnn_questions`` with :func:`grade`
``03-pooling``                        ``a03_pooling``
``04-separable-convolutions``         ``a04_separable_convolutions``
``05-openvino-timing``                ``a05_openvino_timing``
``06-pruning``                        ``a06_pruning``
``07-quantization``                   ``a07_quantization``
====================================  ================================================================

``exercises`` is kept only so that notebooks of 01 released before this layout still import.

Example
-------
>>> from efficientnn.quiz import LayerSpec, Question, check
>>> check(Question("output_shape", LayerSpec("conv", (20, 20, 2), 3, filters=6)), "18x18x6").correct
True
"""
from .check import (APPROX_MAX_REL_ERROR, APPROX_REL_TOL, PARTIAL_SHAPE_CREDIT, SLIP_MESSAGES, Verdict,
                    assert_correct, check, grade, matches, slip_candidates)
from .drill import DRILL_KINDS, DRILL_LAYER_KINDS, DrillWidget, drill, random_layer_question
from .parse import AnswerFormatError, ParsedNumber, parse_number, parse_shape
from .questions import (LAYER_KINDS, QUESTION_KINDS, ChoiceQuestion, LayerSpec, Question, base_cnn_questions,
                        describe_model, get_question, lesson_choice_questions, lesson_questions,
                        quantity_or_rate)
from .widgets import ChoiceWidget, QuizWidget, choice_widget, quiz_widget

__all__ = [
    # parsing
    "AnswerFormatError", "ParsedNumber", "parse_shape", "parse_number",
    # questions
    "LAYER_KINDS", "QUESTION_KINDS", "LayerSpec", "Question", "ChoiceQuestion",
    "quantity_or_rate", "describe_model", "lesson_questions", "lesson_choice_questions",
    "base_cnn_questions", "get_question",
    # checking
    "APPROX_REL_TOL", "APPROX_MAX_REL_ERROR", "PARTIAL_SHAPE_CREDIT", "SLIP_MESSAGES", "Verdict",
    "check", "grade", "assert_correct", "matches", "slip_candidates",
    # widgets
    "QuizWidget", "ChoiceWidget", "quiz_widget", "choice_widget",
    "DRILL_KINDS", "DRILL_LAYER_KINDS", "DrillWidget", "drill", "random_layer_question",
]
