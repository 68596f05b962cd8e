"""Self-check widgets: the student types or picks an answer, clicks Check, and reads a verdict.

The question lives only in the Python object behind the widget; the right answer is computed by
:func:`efficientnn.quiz.check` on each click and never stored in any widget's state, so it is
neither in the notebook's saved widget state nor in the browser.

A widget checks with :func:`efficientnn.quiz.check` unless given a ``checker``: a function of
the answer returning a Verdict, such as an assignment's own checker that knows more slips
(``quiz_widget(q, checker=partial(check_pooled, "pool1_flops"))``), so that the widget and the
hidden test still give the same verdict.

Stable CSS classes for browser tests: ``enn-quiz`` (the whole widget), ``enn-quiz-prompt``,
``enn-quiz-input``, ``enn-quiz-check``, ``enn-quiz-feedback`` (an HTML widget), and
``enn-quiz-choice`` (the choices of a multiple-choice question).
"""
from __future__ import annotations

import html

import ipywidgets as widgets

from functools import partial

from .check import check
from .questions import ChoiceQuestion

__all__ = ["QuizWidget", "ChoiceWidget", "quiz_widget", "choice_widget", "feedback_html"]

_PLACEHOLDER = {
    "output_shape": "height x width x depth",
    "ratio": "a fraction, or a percentage with %",
    "intensity": "FLOPs per byte, e.g. 1.23",
}
_NUMBER_PLACEHOLDER = "exact count, or rounded with K / M / G or ~"


def feedback_html(verdict) -> str:
    """The verdict's message as coloured HTML (green right, amber partly right, red wrong)."""
    if verdict.correct:
        colour, mark, state = "#1a7f37", "&#10004;", "enn-correct"
    elif verdict.points > 0:
        colour, mark, state = "#9a6700", "&#9680;", "enn-partial"
    else:
        colour, mark, state = "#cf222e", "&#10008;", "enn-wrong"
    return f'<div class="{state}" style="color: {colour}">{mark} {html.escape(verdict.message)}</div>'


def _prompt(question, title=None) -> widgets.HTML:
    head = f"<b>{html.escape(title)}</b><br>" if title else ""
    box = widgets.HTML(value=f"{head}{html.escape(question.prompt())}", layout=widgets.Layout(width="auto"))
    box.add_class("enn-quiz-prompt")
    return box


def _feedback() -> widgets.HTML:
    box = widgets.HTML(value="")
    box.add_class("enn-quiz-feedback")
    return box


def _check_button() -> widgets.Button:
    button = widgets.Button(description="Check", button_style="primary", tooltip="Check your answer")
    button.add_class("enn-quiz-check")
    return button


class _SelfCheck(widgets.VBox):
    """What both widgets do: a prompt, the inputs, a feedback line; a click on Check puts the
    checker's verdict on :meth:`_answer` into the feedback."""

    def __init__(self, question, title, checker, inputs):
        button, feedback = _check_button(), _feedback()
        super().__init__(children=[_prompt(question, title), *inputs(button), feedback])
        self.add_class("enn-quiz")
        self.question, self.check_button, self.feedback = question, button, feedback
        self.checker = checker or partial(check, question)
        self.last_verdict = None
        button.on_click(self._on_check)

    def _answer(self):
        raise NotImplementedError

    def _on_check(self, _button=None):
        self.last_verdict = self.checker(self._answer())
        self.feedback.value = feedback_html(self.last_verdict)


class QuizWidget(_SelfCheck):
    """Free-entry self-check for a :class:`~efficientnn.quiz.Question` (see :func:`quiz_widget`).

    Attributes (Python only, not synced to the browser): ``question``, ``checker`` (answer ->
    Verdict), ``answer_box`` (Text), ``check_button``, ``feedback`` (HTML), ``last_verdict``.
    """

    def __init__(self, question, title=None, checker=None):
        answer_box = widgets.Text(value="", placeholder=_PLACEHOLDER.get(question.kind, _NUMBER_PLACEHOLDER),
                                  description="Answer:", layout=widgets.Layout(width="22em"))
        answer_box.add_class("enn-quiz-input")
        super().__init__(question, title, checker, lambda button: [widgets.HBox([answer_box, button])])
        self.answer_box = answer_box

    def _answer(self):
        return self.answer_box.value


class ChoiceWidget(_SelfCheck):
    """Multiple-choice self-check for a :class:`~efficientnn.quiz.ChoiceQuestion` (see :func:`choice_widget`).

    Attributes (Python only): ``question``, ``checker`` (index of the choice -> Verdict),
    ``options`` (RadioButtons), ``check_button``, ``feedback`` (HTML), ``last_verdict``.
    """

    def __init__(self, question, title=None, checker=None):
        options = widgets.RadioButtons(options=list(question.choices), value=None)
        options.add_class("enn-quiz-choice")
        super().__init__(question, title, checker, lambda button: [options, button])
        self.options = options

    def _answer(self):
        return self.options.index


def quiz_widget(question, title=None, checker=None) -> QuizWidget:
    """A text box, a Check button and a feedback line for one question.

    Parameters
    ----------
    question : Question (a ChoiceQuestion gets :func:`choice_widget`)
    title : str or None, shown in bold above the prompt (e.g. "Question 1 of 6")
    checker : callable (answer) -> Verdict, or None for ``check(question, answer)``; give the
        checker the hidden test uses when it adds slips of its own

    Returns
    -------
    QuizWidget (an ipywidgets VBox; display it as a cell's last expression)

    Example
    -------
    >>> from efficientnn.quiz import LayerSpec, Question
    >>> w = quiz_widget(Question("output_shape", LayerSpec("conv", (12, 12, 3), 5, filters=8)))
    >>> w.answer_box.value = "8x8x8"; w.check_button.click(); w.last_verdict.correct
    True
    """
    if isinstance(question, ChoiceQuestion):
        return ChoiceWidget(question, title, checker)
    return QuizWidget(question, title, checker)


def choice_widget(choice_question, title=None, checker=None) -> ChoiceWidget:
    """Radio buttons and a Check button for a multiple-choice question (``checker`` as in :func:`quiz_widget`)."""
    return ChoiceWidget(choice_question, title, checker)
