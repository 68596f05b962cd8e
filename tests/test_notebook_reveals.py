"""No release notebook shows a graded value before the student has it.

For every assignment:

1. the source notebook runs with its solutions, and every question a graded cell hands to
   ``efficientnn.quiz`` (check / grade / assert_correct) is recorded with its right answer, as
   the checker itself reports it (``check(question, answer, reveal=True).expected``): no value
   is typed here;
2. the release notebook runs twice, blank and with the example class's wrong answers (carol in
   ``course/examples/answers/<assignment>.py``), each with a first cell that hooks
   ``matplotlib.text.Text.draw`` and records every string a chart draws;
3. no graded value of any assignment may appear in what the student sees: printed text, HTML
   and other rich outputs, error messages, widget state (``metadata.widgets``) and the drawn
   chart text; nor may the expected answer of any per-student variant question, for the id the
   notebooks run as (:data:`SHOWN_ID`, whose variant they show) and for other ids
   (``efficientnn.quiz.variants``, computed here from the ids).

A value is looked for in the forms people write it (see :func:`revealing_forms`): shapes as
``24x24x5`` or ``(24, 24, 5)`` and their height x width, counts above 999 exactly or rounded
(``737,280``, ``737.3K``, ``0.74M``), small counts only on a line that names their layer, and
ratios to three or four significant digits or as "N.Nx".
"""
from __future__ import annotations

import concurrent.futures
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebook_text import count_patterns, recording_hook

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for p in ROOT.glob("source/*/*.ipynb") if p.stem == p.parent.name)
ASSIGNMENTS = [p.parent.name for p in SOURCES]
CELL_TIMEOUT_S = 180
WRONG_STUDENT = "carol"  # the example class's student with a typical slip in every answer
_INJECTED = "enn-reveal-"

# Injected first into a source notebook: records each graded question and its right answer.
_RECORDER = recording_hook('''
import json as _enn_json
_enn_real_check = _enn_check_module.check
_enn_cell = None

def _enn_record(question, args, kwargs, caller):
    answer = args[0] if args else kwargs["answer"]
    value = _enn_real_check(question, answer, reveal=True).expected
    layer = getattr(question, "layer", None)
    with open(_ENN_ANSWERS, "a") as out:
        out.write(_enn_json.dumps({
            "name": getattr(question, "name", None), "kind": getattr(question, "kind", None),
            "layer": getattr(layer, "name", None), "cell": caller.get("_enn_cell"),
            "expected": list(value) if isinstance(value, tuple) else value}, default=str) + "\\n")
''')

# Injected first into a release notebook: every string matplotlib draws is output too.
_DRAW_HOOK = '''
import json as _enn_json
import matplotlib.text as _enn_text
_enn_draw = _enn_text.Text.draw

def _enn_recording_draw(self, renderer):
    text = self.get_text()
    if text and self.get_visible():
        with open(_ENN_DRAWN, "a") as out:
            out.write(_enn_json.dumps(text) + "\\n")
    return _enn_draw(self, renderer)

_enn_text.Text.draw = _enn_recording_draw
'''

_RUNNER = '''
import sys, nbformat
from nbclient import NotebookClient
path, out, cwd, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True, store_widget_state=True,
               resources={"metadata": {"path": cwd}}).execute()
nbformat.write(nb, out)
'''


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _is_test(cell) -> bool:
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


#: The JupyterHub user every notebook here runs as, so the variant a release notebook shows is known.
SHOWN_ID = "reveal-ana"
#: Other students whose variant answers must not show either.
OTHER_IDS = ("reveal-ben", "reveal-cy")


def _env() -> dict:
    env = dict(os.environ)
    env["JUPYTERHUB_USER"] = SHOWN_ID
    env.pop("EFFICIENTNN_STUDENT", None)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("CI", "true")
    return env


# --------------------------------------------------------------------------- running
class Seen:
    """What a student saw in one executed notebook: (where, text) pairs."""

    def __init__(self, nb, drawn: list[str]):
        self.texts = []
        for cell in nb.cells:
            for o in cell.get("outputs", []):
                where = f"output of cell {cell.get('id')}"
                if o.output_type == "stream":
                    self.texts.append((where, o.text))
                elif o.output_type == "error":
                    self.texts.append((where, f"{o.ename}: {o.evalue}\n" + "\n".join(o.traceback)))
                else:
                    for mime, data in o.get("data", {}).items():
                        if not mime.startswith("image/png"):
                            self.texts.append((f"{where} ({mime})", data if isinstance(data, str) else json.dumps(data)))
        widgets = nb.metadata.get("widgets", {})
        for model_id, model in widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state", {}).items():
            state = model.get("state", {})
            for key in ("value", "description", "placeholder", "options", "_options_labels", "tooltip"):
                if state.get(key) not in (None, "", []):
                    self.texts.append((f"widget {model.get('model_name')} {key}", json.dumps(state[key])
                                       if not isinstance(state[key], str) else state[key]))
        self.texts += [("chart text", text) for text in drawn]
        self.widget_count = len(widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state", {}))
        self.drawn_count = len(drawn)


def _execute(nb, folder: Path, first_cell: str, name: str) -> tuple:
    """Run ``nb`` with ``first_cell`` before it, in a copy of ``folder``; (executed nb, log path)."""
    work = folder.parent / f"{name}-{folder.name}"
    shutil.copytree(folder, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.ipynb"))
    log = work / f"_enn_{name}.jsonl"
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    setup = f"_ENN_ANSWERS = _ENN_DRAWN = {str(log)!r}\n" + first_cell
    cells = [nbformat.v4.new_code_cell(setup, id=f"{_INJECTED}first")]
    for i, cell in enumerate(nb.cells):
        if name == "source" and cell.cell_type == "code":
            flag = repr(_nbgrader(cell).get("grade_id")) if _is_test(cell) else "None"
            cells.append(nbformat.v4.new_code_cell(f"_enn_cell = {flag}", id=f"{_INJECTED}{i}"))
        cells.append(cell)
    nb.cells = cells
    run_path, out = work / "_enn_run.ipynb", work / "_enn_done.ipynb"
    nbformat.write(nb, run_path)
    proc = subprocess.run([sys.executable, "-c", _RUNNER, str(run_path), str(out), str(work), str(CELL_TIMEOUT_S)],
                          capture_output=True, text=True, env=_env(), timeout=30 * 60)
    if proc.returncode != 0 or not out.is_file():
        raise RuntimeError(f"could not execute {name} of {folder.name}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    done = nbformat.read(out, as_version=4)
    injected = [c for c in done.cells if c.get("id", "").startswith(_INJECTED)]
    failed = [o.evalue for c in injected for o in c.get("outputs", []) if o.output_type == "error"]
    if failed:
        raise RuntimeError(f"an injected cell failed in {name} of {folder.name}: {failed}")
    done.cells = [c for c in done.cells if not c.get("id", "").startswith(_INJECTED)]
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    return done, records


def _wrong_submission(assignment: str):
    spec = importlib.util.spec_from_file_location("examples_build", ROOT / "course" / "examples" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    plan = build.load_students(build.answer_files(ROOT)[assignment])[WRONG_STUDENT]
    release = nbformat.read(ROOT / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    source = nbformat.read(SOURCES[ASSIGNMENTS.index(assignment)], as_version=4)
    return build.submission(release, source, plan)


def _run_source(assignment: str, work: Path) -> list[dict]:
    path = SOURCES[ASSIGNMENTS.index(assignment)]
    folder = work / assignment
    if not folder.exists():
        shutil.copytree(path.parent, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.ipynb"))
    _, records = _execute(nbformat.read(path, as_version=4), folder, _RECORDER, "source")
    return records


def _run_release(assignment: str, how: str, work: Path) -> Seen:
    release = ROOT / "release" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(release, as_version=4) if how == "blank" else _wrong_submission(assignment)
    folder = work / assignment
    if not folder.exists():
        shutil.copytree(release.parent, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.ipynb"))
    done, drawn = _execute(nb, folder, _DRAW_HOOK, how)
    return Seen(done, drawn)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every notebook run this module needs, started together on a small pool."""
    work = tmp_path_factory.mktemp("reveal-runs")
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))
    futures = {}
    for a in ASSIGNMENTS:
        futures[("source", a)] = pool.submit(_run_source, a, work / "source")
        for how in ("blank", "wrong"):
            futures[(how, a)] = pool.submit(_run_release, a, how, work / how)
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- what counts as shown
def _count_forms(n: int) -> list[str]:
    return [pattern for _, pattern in count_patterns(n)]


def revealing_forms(answer: dict) -> list[tuple[str, re.Pattern, str | None]]:
    """(description, pattern, required word) for the ways ``answer["expected"]`` is written.

    A match counts only on a line that also holds the required word (None: anywhere): small
    counts are common numbers, so they count only next to the name of their layer.
    """
    value, layer = answer["expected"], answer.get("layer")
    if isinstance(value, (list, tuple)):
        dims = [int(v) for v in value]
        if len(dims) < 2:
            return []
        sep = r"\s*[x×X*,]\s*"
        forms = [(f"shape {dims}", re.compile(rf"(?<![\d.]){sep.join(map(str, dims))}(?!\d|\.\d)"), None)]
        if len(dims) == 3:
            hw = r"\s*[x×X]\s*".join(map(str, dims[:2]))
            forms.append((f"height x width of {dims}",
                          re.compile(rf"(?<![\d.]){hw}(?!\.\d|\s*[x×X*,]?\s*\d)"), None))
        return forms
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return []
    if float(value) == int(value) and abs(value) >= 1:
        n = int(value)
        if n > 999:
            return [(f"{n}", re.compile(p), None) for p in _count_forms(n)]
        if n >= 10 and layer:
            return [(f"{n} next to {layer}", re.compile(rf"(?<![\w.,]){n}(?![\d]|[.,]\d)"), layer)]
        return []
    forms = []
    for digits in (3, 4):  # significant digits
        text = f"{value:.{digits}g}"
        forms.append((f"{value} as {text}", re.compile(rf"(?<![\d.]){re.escape(text)}(?!\d)"), None))
        percent = f"{100 * value:.{digits}g}%"
        forms.append((f"{value} as {percent}", re.compile(rf"(?<![\d.]){re.escape(percent)}"), None))
    if 0 < value < 1:
        for digits in (1, 2):
            factor = f"{1 / value:.{digits}f}"
            forms.append((f"{value} as {factor}x", re.compile(rf"(?<![\d.]){re.escape(factor)}\s*(x|×|times)"), None))
    return forms


def _short(what: str) -> bool:
    """Whether a form is a number of at most two significant digits ("4.8", "48%")."""
    written = what.rsplit(" as ", 1)[-1]
    return " as " in what and len(re.sub(r"[^\d]", "", written).lstrip("0")) <= 2


def leaks(seen: Seen, answers: list[tuple[str, dict]], assignment: str | None = None) -> list[str]:
    """Graded values that ``seen`` shows, as (where, text, which answer) lines.

    With ``assignment`` given, an answer of another assignment written with at most two
    significant digits does not count: a run's own measurements (05 prints timings such as
    "4.8") hit such common numbers by chance, and they grade nothing of that other notebook.
    """
    found = set()
    for owner, answer in answers:
        for what, pattern, word in revealing_forms(answer):
            if assignment and owner != assignment and _short(what):
                continue
            for where, text in seen.texts:
                for line in text.splitlines() or [text]:
                    match = pattern.search(line)
                    if match and (word is None or word in line):
                        found.add(f"{where}: {match.group(0)!r} ({what}: {owner}'s {answer['name']})")
    return sorted(found)


_DIRECT = re.compile(r"^\s*(grade|assert_correct|check)\(", re.M)


def _asks_questions(assignment: str) -> bool:
    """Whether a graded cell of the source notebook hands a question to the quiz itself."""
    nb = nbformat.read(SOURCES[ASSIGNMENTS.index(assignment)], as_version=4)
    return any(_DIRECT.search(c.source) for c in nb.cells if _is_test(c))


def _all_answers(runs) -> list[tuple[str, dict]]:
    out = []
    for a in ASSIGNMENTS:
        records = runs[("source", a)].result()
        assert records or not _asks_questions(a), f"no graded question was recorded in source/{a}: the recorder failed"
        out += [(a, r) for r in records]
    return out


# --------------------------------------------------------------------------- tests
def test_revealing_forms_find_the_usual_spellings():
    def shown(answer, line):
        return any(p.search(line) and (w is None or w in line) for _, p, w in revealing_forms(answer))

    shape = {"name": "q", "expected": [24, 24, 5], "layer": "conv2"}
    for text in ["24x24x5", "(None, 24, 24, 5)", "a 24x24 map", "24 × 24 × 5"]:
        assert shown(shape, text), text
    for text in ["24x24x50", "124x24x5", "(24, 24, 15)"]:
        assert not shown(shape, text), text
    count = {"name": "q", "expected": 737280, "layer": "fc1"}
    for text in ["737280", "737,280 FLOPs", "737.3K", "0.74M", "737K"]:
        assert shown(count, text), text
    for text in ["7372800", "737,281", "1737K"]:
        assert not shown(count, text), text
    small = {"name": "q", "expected": 75, "layer": "sepconv2"}
    assert shown(small, "sepconv2 parameters: 230 -> 75")
    assert not shown(small, "75% of the time") and not shown(small, "sepconv2: 175")
    ratio = {"name": "q", "expected": 1 / 64 + 1 / 9}
    for text in ["ratio 0.127", "12.67%", "7.9x fewer MACs", "0.1267"]:
        assert shown(ratio, text), text
    assert not shown(ratio, "0.1271") and not shown(ratio, "17.9x")


def test_a_short_number_of_another_assignment_is_chance_but_of_its_own_a_leak():
    # 05 prints its own timings; "4.8" among them once matched 01's 4.8 ms answer by chance.
    seen = type("Seen", (), {"texts": [("output of cell t", "conv1   4.8   12.25")]})()
    short, precise = {"name": "inference_time", "expected": 4.8}, {"name": "r", "expected": 12.25}
    assert leaks(seen, [("01-a", short)], "05-b") == []
    assert leaks(seen, [("05-b", short)], "05-b") and leaks(seen, [("01-a", short)])
    assert leaks(seen, [("01-a", precise)], "05-b"), "three or more significant digits still count"


def test_seen_reads_outputs_widgets_and_chart_text():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="printed\n"),
                    nbformat.v4.new_output("display_data", data={"text/html": "<td>html</td>"}),
                    nbformat.v4.new_output("error", ename="E", evalue="message", traceback=["trace"])]
    nb.cells = [cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {
        "1": {"model_name": "LabelModel", "state": {"value": "widget text"}}}}}
    texts = " ".join(t for _, t in Seen(nb, ["drawn label"]).texts)
    for word in ("printed", "<td>html</td>", "message", "trace", "widget text", "drawn label"):
        assert word in texts, word


@pytest.mark.slow
@pytest.mark.parametrize("how", ["blank", "wrong"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_reveals_no_graded_value(runs, assignment, how):
    if not (ROOT / "release" / assignment / f"{assignment}.ipynb").is_file():
        pytest.skip(f"release/{assignment} is missing: run `python -m autograder release`")
    answers = _all_answers(runs)
    seen = runs[(how, assignment)].result()
    assert seen.texts, f"the {how} run of {assignment} showed nothing at all: the run did not happen"
    found = leaks(seen, answers, assignment)
    print(f"{assignment} ({how}): {len(seen.texts)} texts, {seen.widget_count} widgets, "
          f"{seen.drawn_count} drawn strings, {len(found)} graded values shown")
    assert not found, f"graded values on screen in the {how} run of release/{assignment}:\n" + "\n".join(found)


def _variant_answers(assignment: str) -> list[tuple[str, dict]]:
    """(owner, answer record) of every variant question of ``assignment`` for the shown and other ids."""
    from efficientnn.quiz.questions import expected
    from efficientnn.quiz.variants import ASSIGNMENTS, variant

    if assignment not in ASSIGNMENTS:
        return []
    out = []
    for student in (SHOWN_ID, *OTHER_IDS):
        for name, question in variant(student, assignment).items():
            value = expected(question)
            out.append((f"variant of {student}", {"name": name, "kind": question.kind, "layer": question.layer.name,
                                                  "expected": list(value) if isinstance(value, tuple) else value}))
    return out


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_notebook_holds_no_variant_answer(assignment):
    from efficientnn.quiz.variants import ASSIGNMENTS as WITH_VARIANTS

    release = ROOT / "release" / assignment / f"{assignment}.ipynb"
    if assignment not in WITH_VARIANTS:
        pytest.skip(f"{assignment} has no variants")
    nb = nbformat.read(release, as_version=4)
    assert any("show_variant" in c.source for c in nb.cells), f"release/{assignment} has no variant section"
    text = [(f"cell {c.get('id')}", c.source) for c in nb.cells]
    found = leaks(type("Seen", (), {"texts": text})(), _variant_answers(assignment))
    assert not found, f"variant answers in release/{assignment}:\n" + "\n".join(found)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["blank", "wrong"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_run_shows_no_variant_answer(runs, assignment, how):
    from efficientnn.quiz.variants import ASSIGNMENTS as WITH_VARIANTS

    if assignment not in WITH_VARIANTS:
        pytest.skip(f"{assignment} has no variants")
    seen = runs[(how, assignment)].result()
    shown = " ".join(text for _, text in seen.texts)
    assert f"for student id '{SHOWN_ID}' (from your JupyterHub account)" in shown, \
        f"the {how} run of {assignment} did not show the variant of {SHOWN_ID}"
    found = leaks(seen, _variant_answers(assignment))
    assert not found, f"variant answers on screen in the {how} run of release/{assignment}:\n" + "\n".join(found)
