"""Every assignment notebook, generically: source/<a>/<a>.ipynb and its release/<a>/<a>.ipynb.

- each source notebook runs top to bottom (solutions in) without an error, and every graded cell
  earns its points;
- each source notebook passes ``nbgrader validate``;
- each release notebook fails as a blank submission should: every graded test cell raises;
- release/ is what ``python -m autograder release`` builds from source/;
- no release notebook holds a solution body, hidden-test code, or any graded answer value (in
  the forms people write them: 19x19x1, (19, 19, 1), 60840, 60,840, 60.8K, ...).

The graded answers are found generically: every question a graded cell passes to
``efficientnn.quiz``'s check / grade / assert_correct while the source notebook runs is recorded
(see ``_RECORDER``), together with the question names the graded cells mention.

Every notebook runs once per session in a separate process; the runs of the selected tests start
together on a small pool, so the whole file takes about as long as the slowest notebooks.
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
import time
from pathlib import Path

import nbformat
import pytest
from notebook_text import between, count_patterns, meaningful, recording_hook

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for p in ROOT.glob("source/*/*.ipynb") if p.stem == p.parent.name)
ASSIGNMENTS = [p.parent.name for p in SOURCES]
CELL_TIMEOUT_S = 120
NBGRADER_KEYS = {"schema_version", "grade", "solution", "locked", "grade_id", "points"}
_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


# --------------------------------------------------------------------------- helpers
def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _is_test(cell) -> bool:
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _release_path(assignment: str) -> Path:
    return ROOT / "release" / assignment / f"{assignment}.ipynb"


def _env() -> dict:
    env = dict(os.environ)
    # nbgrader runs `alembic` and the kernel spec runs `python` by name: use this interpreter's.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("CI", "true")
    return env


# --------------------------------------------------------------------------- running notebooks
# Injected before the first cell of a source notebook: records every Question a graded cell
# hands to efficientnn.quiz (directly from the cell, not from inside a function checker).
_RECORDER = recording_hook('''
_enn_graded, _enn_cell = [], None

def _enn_record(question, args, kwargs, caller):
    _enn_graded.append(question)
''')

_DUMP = '''
import json as _enn_json
from efficientnn.quiz import Question as _enn_Question
from efficientnn.quiz.questions import expected as _enn_expected
_enn_answers = []
for _enn_q in _enn_graded:
    if isinstance(_enn_q, _enn_Question):
        _enn_value = _enn_expected(_enn_q)
        _enn_answers.append({"name": _enn_q.name, "kind": _enn_q.kind,
                             "expected": list(_enn_value) if isinstance(_enn_value, tuple) else _enn_value})
with open(_ENN_PATH, "w") as _enn_file:
    _enn_json.dump(_enn_answers, _enn_file)
'''

_RUNNER = '''
import sys, time, nbformat
from nbclient import NotebookClient
path, out, cwd, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
nb = nbformat.read(path, as_version=4)
start = time.perf_counter()
NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
               resources={"metadata": {"path": cwd}}).execute()
nb.metadata["enn_seconds"] = time.perf_counter() - start
nbformat.write(nb, out)
'''

_INJECTED = "enn-injected-"


def _instrumented(nb, answers_path: Path):
    """A copy of ``nb`` with the recorder cells added around its cells."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    cells = [nbformat.v4.new_code_cell(_RECORDER, id=f"{_INJECTED}recorder")]
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            flag = repr(_nbgrader(cell).get("grade_id")) if _is_test(cell) else "None"
            cells.append(nbformat.v4.new_code_cell(f"_enn_cell = {flag}", id=f"{_INJECTED}{i}"))
        cells.append(cell)
    cells.append(nbformat.v4.new_code_cell(f"_ENN_PATH = {str(answers_path)!r}\n" + _DUMP, id=f"{_INJECTED}dump"))
    nb.cells = cells
    return nb


class Run:
    """An executed notebook (injected cells removed), its run time and the answers it graded."""

    def __init__(self, nb, seconds: float, answers: list, log: str):
        self.nb, self.seconds, self.answers, self.log = nb, seconds, answers, log

    def errors(self, cells=None) -> list[tuple[str, str]]:
        """(cell id, "Error: message") of every cell that raised."""
        out = []
        for cell in cells if cells is not None else self.nb.cells:
            for o in cell.get("outputs", []):
                if o.output_type == "error":
                    out.append((cell.get("id", "?"), f"{o.ename}: {o.evalue}"[:500]))
        return out


def _execute(notebook: Path, work: Path, record: bool) -> Run:
    """Run a copy of ``notebook`` (in a copy of its folder) in its own process."""
    folder = work / notebook.parent.name
    shutil.copytree(notebook.parent, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    answers_path = work / f"{notebook.stem}.answers.json"
    nb = nbformat.read(notebook, as_version=4)
    run_path = folder / f"_run_{notebook.name}"
    nbformat.write(_instrumented(nb, answers_path) if record else nb, run_path)
    out = work / f"{notebook.stem}.executed.ipynb"
    proc = subprocess.run([sys.executable, "-c", _RUNNER, str(run_path), str(out), str(folder), str(CELL_TIMEOUT_S)],
                          capture_output=True, text=True, env=_env(), timeout=30 * 60)
    if proc.returncode != 0 or not out.is_file():
        raise RuntimeError(f"could not execute {notebook}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    done = nbformat.read(out, as_version=4)
    seconds = done.metadata.get("enn_seconds", float("nan"))
    if record:
        injected = [c for c in done.cells if c.get("id", "").startswith(_INJECTED)]
        problems = Run(done, seconds, [], "").errors(injected)
        if problems:
            raise RuntimeError(f"the answer recorder failed in {notebook}: {problems}")
        done.cells = [c for c in done.cells if not c.get("id", "").startswith(_INJECTED)]
    answers = json.loads(answers_path.read_text()) if record and answers_path.is_file() else []
    return Run(done, seconds, answers, proc.stderr)


def _validate(notebook: Path, work: Path) -> str:
    """``nbgrader validate``'s output (it exits 0 whether the notebook passes or not)."""
    work.mkdir(parents=True, exist_ok=True)  # no nbgrader_config.py here: nbgrader's defaults
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(notebook)], cwd=work,
                          capture_output=True, text=True, env=_env(), timeout=30 * 60)
    return proc.stdout + proc.stderr


def _release_check(work: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "release", "--check"], cwd=ROOT,
                          capture_output=True, text=True, env=_env(), timeout=30 * 60)


class Jobs:
    """Notebook runs shared by the tests of this module, each done once, started in parallel."""

    def __init__(self, work: Path):
        self.work = work
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))
        self.futures = {}

    def submit(self, kind: str, assignment: str | None = None):
        key = (kind, assignment)
        if key not in self.futures:
            folder = self.work / f"{kind}-{assignment or 'all'}"
            folder.mkdir(parents=True, exist_ok=True)
            if kind == "source":
                job = (_execute, SOURCES[ASSIGNMENTS.index(assignment)], folder, True)
            elif kind == "release":
                job = (_execute, _release_path(assignment), folder, False)
            elif kind == "validate":
                job = (_validate, SOURCES[ASSIGNMENTS.index(assignment)], folder)
            elif kind == "release_check":
                job = (_release_check, folder)
            else:
                raise ValueError(kind)
            self.futures[key] = self.pool.submit(*job)
        return self.futures[key]

    def get(self, kind: str, assignment: str | None = None):
        return self.submit(kind, assignment).result()


# Which jobs each test needs, so the fixture can start every selected test's jobs at once.
NEEDS = {
    "test_source_runs_without_error": lambda a: [("source", a)],
    "test_source_graded_cells_earn_their_points": lambda a: [("source", a)],
    "test_source_passes_nbgrader_validate": lambda a: [("validate", a)],
    "test_blank_release_fails_every_test": lambda a: [("release", a)] if _release_path(a).is_file() else [],
    "test_release_holds_no_graded_answer": lambda a: [("source", b) for b in ASSIGNMENTS],
    "test_release_is_up_to_date": lambda a: [("release_check", None)],
}


@pytest.fixture(scope="module")
def jobs(request, tmp_path_factory):
    runner = Jobs(tmp_path_factory.mktemp("notebook-runs"))
    for item in request.session.items:
        if item.module is request.module and item.originalname in NEEDS:
            params = getattr(item, "callspec", None)
            for job in NEEDS[item.originalname](params.params.get("assignment") if params else None):
                runner.submit(*job)
    yield runner
    runner.pool.shutdown(wait=True, cancel_futures=True)


def _by_assignment(test):
    return pytest.mark.parametrize("assignment", ASSIGNMENTS)(test)


# --------------------------------------------------------------------------- static checks (fast)
def test_there_are_source_notebooks():
    assert SOURCES, "no source/<a>/<a>.ipynb found"


@_by_assignment
def test_source_nbgrader_metadata_is_well_formed(assignment):
    nb = nbformat.read(SOURCES[ASSIGNMENTS.index(assignment)], as_version=4)
    nbformat.validate(nb)
    seen = set()
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if not meta:
            continue
        where = f"cell {cell.get('id')}"
        assert set(meta) <= NBGRADER_KEYS, f"{where}: unexpected nbgrader keys {set(meta) - NBGRADER_KEYS}"
        assert meta.get("schema_version") == 3, f"{where}: schema_version must be 3"
        assert all(isinstance(meta.get(k), bool) for k in ("grade", "solution", "locked")), \
            f"{where}: grade, solution and locked must all be given as true/false"
        if meta["grade"] or meta["solution"] or meta["locked"]:
            gid = meta.get("grade_id")
            assert gid and re.fullmatch(r"[a-z0-9_]+", gid), f"{where}: grade_id {gid!r} must be snake_case"
            assert gid not in seen, f"{where}: grade_id {gid!r} is used twice"
            seen.add(gid)
        if meta["grade"]:
            assert isinstance(meta.get("points"), (int, float)) and meta["points"] > 0, f"{where}: points must be > 0"
            assert meta["locked"] or meta["solution"], f"{where}: an autograder test cell must be locked"
        if meta["solution"] and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source, f"{where}: a solution cell needs ### BEGIN SOLUTION"
    assert any(_is_test(c) for c in nb.cells), "the notebook has no graded test cell"


@_by_assignment
def test_release_holds_no_solution_or_hidden_test(assignment):
    release = _release_path(assignment)
    if not release.is_file():
        pytest.skip(f"release/{assignment}/{assignment}.ipynb is missing: run `python -m autograder release`")
    source = nbformat.read(SOURCES[ASSIGNMENTS.index(assignment)], as_version=4)
    released = nbformat.read(release, as_version=4)
    text = release.read_text()
    for marker in _MARKERS:
        assert marker not in text, f"release/{assignment} contains '### {marker}'"
    released_code = "\n".join(c.source for c in released.cells if c.cell_type == "code")
    for cell in source.cells:
        for line in meaningful(between(cell.source, "BEGIN SOLUTION", "END SOLUTION")):
            assert line not in released_code, f"a solution line of cell {cell.get('id')} is in the release: {line!r}"
    released_tests = {_nbgrader(c).get("grade_id"): c.source for c in released.cells if _is_test(c)}
    for cell in filter(_is_test, source.cells):
        gid = _nbgrader(cell)["grade_id"]
        assert gid in released_tests, f"test cell {gid} is missing from the release"
        for line in meaningful(between(cell.source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")):
            assert line not in released_tests[gid], f"hidden test line of {gid} is in the release: {line!r}"


# --------------------------------------------------------------------------- running (slow)
@pytest.mark.slow
@_by_assignment
def test_source_runs_without_error(jobs, assignment):
    run = jobs.get("source", assignment)
    print(f"{assignment}: executed in {run.seconds:.1f} s")
    assert not run.errors(), f"{assignment} raised with the solutions in: {run.errors()}"


@pytest.mark.slow
@_by_assignment
def test_source_graded_cells_earn_their_points(jobs, assignment):
    """With solutions in, each test cell passes, writes nothing to stderr (nbgrader would score
    it 0) and, if it shows a number (partial credit), shows its full points."""
    run = jobs.get("source", assignment)
    for cell in filter(_is_test, run.nb.cells):
        gid, points = _nbgrader(cell)["grade_id"], _nbgrader(cell)["points"]
        assert not run.errors([cell]), f"{gid} fails with the solutions in: {run.errors([cell])}"
        for o in cell.outputs:
            assert not (o.output_type == "stream" and o.name == "stderr"), f"{gid} writes to stderr: {o.text[:300]}"
            plain = o.get("data", {}).get("text/plain") if o.output_type in ("execute_result", "display_data") else None
            if plain is not None:
                try:
                    score = float(plain)
                except ValueError:
                    continue
                assert score == pytest.approx(points), f"{gid} shows {score}, not its {points} points"


@pytest.mark.slow
@_by_assignment
def test_source_passes_nbgrader_validate(jobs, assignment):
    output = jobs.get("validate", assignment)
    assert "VALIDATION FAILED" not in output and "Success!" in output, output[-3000:]


@pytest.mark.slow
@_by_assignment
def test_blank_release_fails_every_test(jobs, assignment):
    if not _release_path(assignment).is_file():
        pytest.skip(f"release/{assignment}/{assignment}.ipynb is missing: run `python -m autograder release`")
    run = jobs.get("release", assignment)
    tests = [c for c in run.nb.cells if _is_test(c)]
    assert tests, "the release has no graded test cell"
    passing = [_nbgrader(c)["grade_id"] for c in tests if not run.errors([c])]
    assert not passing, f"these test cells pass on a blank submission: {passing}"


@pytest.mark.slow
def test_release_is_up_to_date(jobs):
    if importlib.util.find_spec("autograder.release") is None:
        pytest.skip("autograder.release is not available")
    proc = jobs.get("release_check")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]


# --------------------------------------------------------------------------- answer values
_NAME_IN_CELL = re.compile(r"""(?:get_question\(\s*|questions\(\s*\)\s*\[\s*)["']([A-Za-z0-9_]+)["']""")


def _named_answers(assignment: str) -> list:
    """Answers of the registry questions a graded cell names, e.g. get_question("conv1_flops")."""
    from efficientnn.quiz import Question, get_question
    from efficientnn.quiz.questions import expected

    nb = nbformat.read(SOURCES[ASSIGNMENTS.index(assignment)], as_version=4)
    out = []
    for name in {m for c in nb.cells if _is_test(c) for m in _NAME_IN_CELL.findall(c.source)}:
        try:
            question = get_question(name)
        except ValueError:
            continue  # built outside the registry: the recorder sees it
        if isinstance(question, Question):
            out.append({"name": name, "kind": question.kind, "expected": expected(question)})
    return out


def written_forms(value) -> list[tuple[str, re.Pattern]]:
    """(description, pattern) for the usual ways to write ``value``: a shape or a count above 999.

    Example: (19, 19, 1) matches "19x19x1", "19 X 19 X 1", "(19, 19, 1)", "[19,19,1]", "19×19×1"
    and the height x width "19x19"; 60840 matches "60840", "60,840", "60 840", "60.8K", "61K",
    "60.84K".
    """
    if isinstance(value, (list, tuple)):
        dims = [int(v) for v in value]
        if len(dims) < 2:
            return []
        sep = r"\s*[x×X*,]\s*"
        full = sep.join(map(str, dims))
        forms = [(f"shape {dims}", re.compile(rf"(?<!\d)(?<!\d\.){full}(?!\d|\.\d)"))]
        if len(dims) == 3:
            hw = r"\s*[x×X]\s*".join(map(str, dims[:2]))
            forms.append((f"height x width of {dims}", re.compile(rf"(?<!\d)(?<!\d\.){hw}(?!\.\d|\s*[x×X*,]?\s*\d)")))
        return forms
    if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
        return []
    n = int(value)
    if abs(n) <= 999:
        return []
    return [(f"{n} written as {text!r}", re.compile(pattern)) for text, pattern in count_patterns(n)]


def _release_texts(nb) -> list[tuple[str, str]]:
    """(where, text) of every cell source and output of a notebook (never its metadata)."""
    out = []
    for cell in nb.cells:
        out.append((f"cell {cell.get('id')}", cell.source))
        for o in cell.get("outputs", []):
            out.append((f"output of cell {cell.get('id')}", json.dumps(o.get("data", o.get("text", "")))))
    return out


@pytest.mark.slow
@_by_assignment
def test_release_holds_no_graded_answer(jobs, assignment):
    release = _release_path(assignment)
    if not release.is_file():
        pytest.skip(f"release/{assignment}/{assignment}.ipynb is missing: run `python -m autograder release`")
    answers = []
    for other in ASSIGNMENTS:  # an answer graded anywhere in the course must not show up here
        answers += [(other, a) for a in jobs.get("source", other).answers + _named_answers(other)]
    texts = _release_texts(nbformat.read(release, as_version=4))
    leaks = []
    for other, answer in answers:
        for what, pattern in written_forms(answer["expected"]):
            for where, text in texts:
                match = pattern.search(text)
                if match:
                    leaks.append(f"{where}: {match.group(0)!r} ({what}, the answer to {other}'s {answer['name']})")
    assert not leaks, "graded answers in release/" + assignment + ":\n" + "\n".join(sorted(set(leaks)))


def test_written_forms_find_the_usual_spellings():
    def found(value, text):
        return any(p.search(text) for _, p in written_forms(value))

    shape = (19, 19, 1)
    for text in ["is 19x19x1.", "19 X 19 X 1", "(19, 19, 1)", "[19,19,1]", "19×19×1", "a 19x19 map"]:
        assert found(shape, text), text
    for text in ["19x19x10", "119x19x1", "(19, 19, 12)", "1.19x19"]:
        assert not found(shape, text), text
    count = 60840
    for text in ["60840", "60,840 FLOPs", "about 60.8K", "~61K", "60.84k", "60 840"]:
        assert found(count, text), text
    for text in ["608400", "160840", "60.85K", "0.060840", "161K"]:
        assert not found(count, text), text
    assert written_forms(999) == [] and written_forms(0.5) == []


# --------------------------------------------------------------------------- the example class
def _example_builder():
    spec = importlib.util.spec_from_file_location("examples_build", ROOT / "course" / "examples" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _with_release(names):
    return [a for a in names if _release_path(a).is_file() and a in ASSIGNMENTS]


def test_example_class_is_generated_from_the_answers_files():
    build = _example_builder()
    names = _with_release(build.answer_files(ROOT))
    if not names:
        pytest.skip("no assignment has both an answers file and a release notebook")
    stale = build.build(ROOT, names, check=True)
    assert not stale, "run `python course/examples/build.py`; stale: " + ", ".join(map(str, stale))


def test_example_plans_give_solutions_blanks_and_replacements():
    build = _example_builder()
    names = _with_release(build.answer_files(ROOT))
    if not names:
        pytest.skip("no assignment has both an answers file and a release notebook")
    a = names[0]
    release = nbformat.read(_release_path(a), as_version=4)
    source = nbformat.read(SOURCES[ASSIGNMENTS.index(a)], as_version=4)
    answer_ids = [_nbgrader(c)["grade_id"] for c in source.cells if _nbgrader(c).get("solution")]
    blank = build.submission(release, source, "blank")
    assert [c.source for c in blank.cells] == [c.source for c in release.cells]
    solved = build.submission(release, source, "solution")
    for cell in solved.cells:
        if _nbgrader(cell).get("grade_id") in answer_ids:
            assert "### BEGIN SOLUTION" not in cell.source and "NotImplementedError" not in cell.source
    one = build.submission(release, source, {"__base__": "solution", answer_ids[0]: "x = 1"})
    assert [c.source for c in one.cells if _nbgrader(c).get("grade_id") == answer_ids[0]] == ["x = 1"]
    with pytest.raises(build.BuildError, match="no answer cell"):
        build.submission(release, source, {"no_such_cell": "x = 1"})
