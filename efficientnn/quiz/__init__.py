"""Questions, answer parsing, checking with slip diagnosis, self-check widgets and a drill.

One checker, two users: the widgets a student clicks and the hidden tests nbgrader runs both
call :func:`check`, which computes the right answer from the question's parameters (with
:mod:`efficientnn.shapes` and :mod:`efficientnn.cost`), reads the answer and returns a
:class:`Verdict` whose message names the likely slip without giving the answer away.

Modules: ``parse`` (reading answers), ``questions`` (questions as data, the lesson's questions),
``check`` (tolerance, slips, verdicts), ``widgets`` and ``drill`` (ipywidgets front ends).

Example
-------
>>> from efficientnn.quiz import base_cnn_questions, check
>>> check(base_cnn_questions()["conv1_output_shape"], "26x26x5").correct
True
"""
from .check import (APPROX_MAX_REL_ERROR, APPROX_REL_TOL, PARTIAL_SHAPE_CREDIT, SLIP_MESSAGES, Verdict,
                    assert_correct, check, grade, matches, slip_candidates)
from .drill import DRILL_KINDS, DRILL_LAYER_KINDS, DrillWidget, drill, random_layer_question
from .parse import AnswerFormatError, ParsedNumber, parse_number, parse_shape
from .questions import (LAYER_KINDS, QUESTION_KINDS, ChoiceQuestion, LayerSpec, Question, base_cnn_questions,
                        describe_model, expected, get_question, lesson_choice_questions, lesson_questions,
                        quantity_or_rate)
from .widgets import ChoiceWidget, QuizWidget, choice_widget, quiz_widget

__all__ = [
    # parsing
    "AnswerFormatError", "ParsedNumber", "parse_shape", "parse_number",
    # questions
    "LAYER_KINDS", "QUESTION_KINDS", "LayerSpec", "Question", "ChoiceQuestion", "expected",
    "quantity_or_rate", "describe_model", "lesson_questions", "lesson_choice_questions",
    "base_cnn_questions", "get_question",
    # checking
    "APPROX_REL_TOL", "APPROX_MAX_REL_ERROR", "PARTIAL_SHAPE_CREDIT", "SLIP_MESSAGES", "Verdict",
    "check", "grade", "assert_correct", "matches", "slip_candidates",
    # widgets
    "QuizWidget", "ChoiceWidget", "quiz_widget", "choice_widget",
    "DRILL_KINDS", "DRILL_LAYER_KINDS", "DrillWidget", "drill", "random_layer_question",
]
