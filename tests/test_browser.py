"""The student's flow in a real browser: JupyterLab in Debian's Chromium, driven by playwright.

A student opens a release notebook (solved, as if every task were done), runs all cells,
answers a self-check quiz wrongly then rightly, practises with the drill and presses
nbgrader's Validate button; the instructor opens formgrader. Screenshots of every step go to
artifacts/browser/.

Installs nothing: ``.ci/run`` installs Debian's chromium and the ``[browser]`` extra. Outside
CI the tests skip when either is missing; in CI (CI=true) they fail instead, so CI cannot
skip them silently.
"""
from __future__ import annotations

import html
import re

import nbformat
import numpy as np
import pytest

from autograder.settings import assignments_in
from efficientnn.quiz import check, drill, get_question, random_layer_question, slip_candidates
from efficientnn.quiz.questions import expected
from efficientnn.quiz.widgets import feedback_html

import browser_support as bs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ASSIGNMENT = "01-measuring-cost"
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
QUIZ_QUESTION = "kernel_7x7x9_64_filters"  # shown in the notebook as "Question 2"
QUIZ_SLIP = "plus_one_missing"
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
TIMEOUT_MS = 30_000


def _text(s: str) -> str:
    """Whitespace-normalised text, as a browser lays it out."""
    return " ".join(s.split())


def _shown(answer) -> str:
    """An answer as a student types it: HxWxD for a shape, the plain count for a number."""
    return "x".join(str(v) for v in answer) if isinstance(answer, tuple) else str(answer)


def _verdict_text(verdict) -> str:
    """The feedback line's text for a verdict: the widget's own HTML without its tags."""
    return _text(html.unescape(re.sub(r"<[^>]+>", "", feedback_html(verdict))))


def _shot(target, name: str) -> None:
    bs.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(bs.ARTIFACTS / f"{name}.png"))


# --------------------------------------------------------------------------- fixtures
def _missing_tools() -> list[str]:
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[browser]')")
    if bs.chromium_path() is None:
        missing.append("Debian's chromium (apt-get install chromium)")
    return missing


def _skip_or_fail_without_tools() -> None:
    missing = _missing_tools()
    if missing:
        reason = "browser tests need " + " and ".join(missing)
        if bs.started_in_ci():
            pytest.fail(f"{reason}; CI=true, so this fails instead of skipping (.ci/run installs both)")
        pytest.skip(reason)


def test_browser_tools_are_installed():
    """Fails in CI (skips elsewhere) when chromium or playwright is missing, before any other test errors."""
    _skip_or_fail_without_tools()
    assert bs.chromium_path() is not None


@pytest.fixture(scope="module")
def chromium():
    """Playwright's Chromium on Debian's binary; skip (fail in CI) when either is missing."""
    _skip_or_fail_without_tools()
    with bs.chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def lab(chromium, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    home = tmp / "home"
    home.mkdir()
    server = bs.start_lab(bs.make_course_root(tmp, ASSIGNMENT), home)
    try:
        yield server
    finally:
        bs.stop_lab(server)
        bs.ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (bs.ARTIFACTS / "jupyter-server.log").write_text(server.log_tail(200_000))


@pytest.fixture(scope="module")
def context(chromium):
    ctx = chromium.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


def _open_notebook(context, lab, path):
    """A new page with ``path`` open in JupyterLab, its kernel idle; returns (page, panel)."""
    page = context.new_page()
    page.goto(lab.page_url(f"/lab/tree/{path}", reset=None))
    panel = page.locator(PANEL)
    panel.locator(".jp-Notebook .jp-Cell").first.wait_for()
    # Cells run before the session has its kernel are skipped, their prompts left blank. The
    # status bar says "<kernel> | Idle" only once the kernel is connected (it goes through
    # Initializing and Unknown first); the toolbar's execution indicator says "idle" from the
    # start, so it cannot tell.
    page.locator("#jp-main-statusbar .jp-StatusBar-TextItem[title^='Change kernel for']",
                 has_text=re.compile(r"\| Idle$")).wait_for()
    return page, panel


def _validate(page):
    """Press nbgrader's Validate button; return the verdict's #validation-message element."""
    page.locator(f"{PANEL} .validate-button").click()
    message = page.locator(".jp-Dialog #validation-message")
    message.wait_for(timeout=90_000)  # the server runs the whole notebook in a fresh kernel
    return message


@pytest.fixture(scope="module")
def notebook(lab, context):
    """The solved release notebook open in JupyterLab, after Run > Run All Cells."""
    page, panel = _open_notebook(context, lab, NOTEBOOK)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    # Run All stops at the first error, so wait until every code cell has its number.
    try:
        page.wait_for_function(
            """sel => { const p = [...document.querySelectorAll(sel)].map(e => e.textContent.trim());
                        return p.length > 0 && p.every(t => /^\\[\\d+\\]:$/.test(t)); }""",
            arg=f"{PANEL} .jp-CodeCell .jp-InputArea-prompt", timeout=60_000)
    except Exception:
        _shot(page, "01-run-all-cells-FAILED")
        prompts = [p.strip() for p in panel.locator(".jp-CodeCell .jp-InputArea-prompt").all_text_contents()]
        raise AssertionError(f"Run All did not number every code cell; prompts: {prompts}; kernel status: "
                             f"{page.locator('#jp-main-statusbar').inner_text()!r}")
    panel.locator(".enn-drill").wait_for()
    _shot(page, "01-run-all-cells")
    yield page, panel
    page.close()


# --------------------------------------------------------------------------- the student
def test_run_all_cells_executes_every_cell_without_error(notebook):
    page, panel = notebook
    cells = nbformat.read(bs.REPO / "release" / NOTEBOOK, as_version=4).cells
    numbers = [p.strip() for p in panel.locator(".jp-CodeCell .jp-InputArea-prompt").all_text_contents()]
    assert len(numbers) == sum(cell.cell_type == "code" for cell in cells)
    assert all(re.fullmatch(r"\[\d+\]:", n) for n in numbers), numbers
    assert panel.locator(".jp-OutputArea-output", has_text="Traceback (most recent call last)").count() == 0


def test_quiz_widget_feedback_wrong_then_right(notebook):
    page, panel = notebook
    question = get_question(QUIZ_QUESTION)
    right = expected(question)
    wrong = dict(slip_candidates(question))[QUIZ_SLIP]
    quiz = panel.locator(".enn-quiz").filter(
        has=page.locator(".enn-quiz-prompt", has_text=_text(question.prompt())[:60]))
    assert quiz.count() == 1
    assert _text(question.prompt()) in _text(quiz.locator(".enn-quiz-prompt").inner_text())
    box, feedback = quiz.locator(".enn-quiz-input input"), quiz.locator(".enn-quiz-feedback")

    wrong_verdict, right_verdict = check(question, _shown(wrong)), check(question, _shown(right))
    assert (wrong_verdict.slip, wrong_verdict.points, right_verdict.correct) == (QUIZ_SLIP, 0, True)

    for answer, verdict, state, name in [(wrong, wrong_verdict, "enn-wrong", "02-quiz-wrong"),
                                         (right, right_verdict, "enn-correct", "03-quiz-right")]:
        box.fill(_shown(answer))
        quiz.locator(".enn-quiz-check").click()
        feedback.locator(f".{state}").wait_for()
        quiz.scroll_into_view_if_needed()
        _shot(quiz, name)
        assert _text(feedback.inner_text()) == _verdict_text(verdict)


def test_drill_poses_the_seeded_questions_and_keeps_score(notebook):
    page, panel = notebook
    kwargs = bs.drill_call_kwargs(bs.REPO / "release" / NOTEBOOK)
    # The notebook's drill and its twin here draw from the same seed: the page must show the
    # same questions, and the twin fed the same answers gives the score the page must show.
    twin = drill(**kwargs)
    widget = panel.locator(".enn-drill")
    prompt, score = widget.locator(".enn-quiz-prompt"), widget.locator(".enn-drill-score")
    assert _text(prompt.inner_text()) == _text(twin.question.prompt())

    widget.locator(".enn-drill-new").click()
    question = twin.new_question()
    page.wait_for_function("([el, want]) => el.innerText.replace(/\\s+/g, ' ').trim() === want",
                           arg=[prompt.element_handle(), _text(question.prompt())])
    answer = _shown(expected(question))
    widget.locator(".enn-quiz-input input").fill(answer)
    widget.locator(".enn-quiz-check").click()
    verdict = twin.check_answer(answer)
    assert verdict.correct
    widget.locator(".enn-quiz-feedback .enn-correct").wait_for()
    want_score = _text(html.unescape(re.sub(r"<[^>]+>", "", twin.score_label.value)))
    page.wait_for_function("([el, want]) => el.innerText.replace(/\\s+/g, ' ').trim() === want",
                           arg=[score.element_handle(), want_score])
    widget.scroll_into_view_if_needed()
    _shot(widget, "04-drill")
    assert _text(widget.locator(".enn-quiz-feedback").inner_text()) == _verdict_text(verdict)
    # Independent of the twin: the question after New is the seed's second draw.
    rng = np.random.default_rng(kwargs["seed"])
    draws = [random_layer_question(rng, kwargs["kinds"], kwargs["layer_kinds"]) for _ in range(2)]
    assert question.prompt() == draws[1].prompt()


def test_validate_button_reports_success(notebook):
    page, _ = notebook
    message = _validate(page)
    _shot(page, "05-validate-success")
    assert "validation-success" in (message.get_attribute("class") or ""), message.inner_text()
    assert "Success! Your notebook passes all the tests." in message.inner_text()
    page.locator(".jp-Dialog").get_by_role("button", name="Ok").click()


def test_validate_button_lists_the_failing_tests_of_an_unsolved_notebook(lab, context):
    path = f"unsolved/{ASSIGNMENT}.ipynb"
    # Every graded test cell calls a function or reads a variable the student has not written yet.
    tests = [c for c in nbformat.read(lab.root / path, as_version=4).cells
             if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    page, _ = _open_notebook(context, lab, path)
    try:
        message = _validate(page)
        _shot(page, "06-validate-failed")
        assert "validation-failed" in (message.get_attribute("class") or ""), message.inner_text()
        assert message.get_by_text("The following cell failed:").count() == len(tests)
        assert "NotImplementedError" in message.inner_text()
    finally:
        page.close()


# --------------------------------------------------------------------------- the instructor
def test_formgrader_lists_the_course_assignments(lab, context):
    page = context.new_page()
    try:
        page.goto(lab.page_url("/formgrader"))
        names = assignments_in(lab.root / "course" / "source")
        table = page.locator("#main-table")
        for name in names:
            table.get_by_text(name, exact=True).first.wait_for()
        _shot(page, "07-formgrader")
        shown = _text(table.inner_text())
        assert all(name in shown for name in names), (names, shown)
        assert "Manage Assignments" in page.inner_text("body")
    finally:
        page.close()
