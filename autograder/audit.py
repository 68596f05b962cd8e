"""Re-check graded cells in a clean interpreter, from what the kernel's checkers recorded.

A test cell's verdict comes from the student's kernel, which the student's code controls: it
can patch :mod:`efficientnn` or numpy so a wrong answer "matches", replace a checker by one
that always passes, or swallow the error a failed test raises. So after autograding, the
worker (a process that never ran student code) runs every graded cell's instructor code again:

- names the notebook's own imports bind (``np``, ``parse_shape``) are imported afresh;
- the student's names (answers, functions) come from the kernel's ledger
  (:mod:`efficientnn.quiz.ledger`): an answer is its recorded value, and a call a checker makes
  to a student function returns the result recorded in the kernel for the same arguments;
- every expected value is computed here, by a fresh import of efficientnn.

A cell whose test code does not use efficientnn (like the toy's plain ``assert``), or calls a
student function itself rather than through a checker, cannot be re-checked and keeps the
kernel's score. Otherwise the cell keeps the lower of the two scores: a kernel that scored a
cell higher than the clean re-check, or scored it without its checker recording anything, was
tampered with. The re-check never raises a score, so a failure in the kernel (a timeout, a
crash) always stands.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import io
import json
import signal
from dataclasses import dataclass
from pathlib import Path

import nbformat

#: Seconds one cell's clean re-check may take.
CELL_SECONDS = 30
#: Bytes of ledger read; a kernel that wrote more was up to something.
MAX_LEDGER_BYTES = 64 * 2**20


@dataclass
class Change:
    """One graded cell whose kernel score did not survive the re-check.

    ``reason`` is short (for the grade report); ``detail`` is what the clean run said (the
    checker's message, which never holds an expected value), for the student's feedback.
    """
    grade_id: str
    kernel_score: float
    clean_score: float
    reason: str
    detail: str = ""


def _python(source: str) -> str:
    """Cell source as plain Python (IPython's %magics and !shell lines translated)."""
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(source)


def _parse(source: str):
    try:
        return ast.parse(_python(source))
    except SyntaxError:
        return None


def _bound(tree) -> set[str]:
    """Names a cell binds: assignments, imports, definitions, loop and exception targets."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
    return out


def free_names(source: str) -> set[str]:
    """Names a cell reads but does not bind itself (nor are builtins)."""
    tree = _parse(source)
    if tree is None:
        return set()
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loaded - _bound(tree) - set(dir(builtins))


def _is_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


class Plan:
    """What re-checking one notebook needs from its source: test code, imports, the student's names."""

    def __init__(self, source_nb):
        self.tests = {c.metadata.nbgrader["grade_id"]: c.source for c in source_nb.cells if _is_test(c)}
        solution_names, self.imports = set(), {}
        for cell in source_nb.cells:
            if cell.cell_type != "code":
                continue
            tree = _parse(cell.source)
            if tree is None:
                continue
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                solution_names |= _bound(tree)
            for node in tree.body:
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    for alias in node.names:
                        name = (alias.asname or alias.name).split(".")[0]
                        single = (ast.Import(names=[alias]) if isinstance(node, ast.Import)
                                  else ast.ImportFrom(module=node.module, names=[alias], level=node.level))
                        self.imports.setdefault(name, ast.unparse(single))
        needed = set().union(*map(free_names, self.tests.values())) if self.tests else set()
        #: Names read by test cells that the instructor's imports bind (and no solution redefines).
        self.library = {n for n in needed if n in self.imports and n not in solution_names}
        #: Names whose values only the student's kernel knows.
        self.student = sorted(needed - self.library)
        #: Test cells whose verdict comes from efficientnn (and so can be re-checked).
        self.checked = {gid for gid, code in self.tests.items() if self._uses_efficientnn(code)}

    def _uses_efficientnn(self, code: str) -> bool:
        tree = _parse(code)
        if tree is None:
            return False
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("efficientnn"):
                return True
            if isinstance(node, ast.Import) and any(a.name.startswith("efficientnn") for a in node.names):
                return True
        return any("efficientnn" in self.imports[n] for n in free_names(code) & self.library)


def names_to_record(source_notebooks) -> list[str]:
    """The student's names the kernel must record (``EFFICIENTNN_LEDGER_NAMES``), for these notebooks."""
    out = set()
    for path in source_notebooks:
        out |= set(Plan(nbformat.read(str(path), as_version=4)).student)
    return sorted(out)


def read_ledger(path: Path) -> dict:
    """{cell key: {"names": dict or None, "calls": [records]}} from a ledger file (damaged lines skipped)."""
    by_cell = {}
    if not path or not Path(path).is_file():
        return by_cell
    with open(path, "rb") as fh:
        data = fh.read(MAX_LEDGER_BYTES)
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(record, dict) or not isinstance(record.get("cell"), str):
            continue
        entry = by_cell.setdefault(record["cell"], {"names": None, "calls": []})
        if record.get("event") == "names" and entry["names"] is None and isinstance(record.get("values"), dict):
            entry["names"] = record["values"]
        elif record.get("event") == "call":
            entry["calls"].append(record)
    return by_cell


class _DirectCall(BaseException):
    """The test code called a student function itself, not through a checker: no record to replay."""


class _Replayed:
    """A student function in the clean run: it only answers calls the kernel recorded."""

    def __init__(self, name: str):
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        from efficientnn.quiz import ledger
        replay = ledger.current_replay()
        try:
            return replay(args, kwargs)
        except ledger.NotRecorded:
            raise _DirectCall(self.__name__) from None

    def __repr__(self) -> str:
        return f"<function {self.__name__} (replayed from the graded kernel)>"


class _Timeout(BaseException):
    pass


def _raise_timeout(signum, frame):
    raise _Timeout()


def _points(value, max_points: float) -> float:
    """nbgrader's rule for a test cell that ran without error and ended with ``value``."""
    if value is None:
        return max_points
    from IPython.lib.pretty import pretty
    try:
        grade = float(pretty(value))
    except (TypeError, ValueError):
        return max_points
    return max_points if grade < 0 else min(grade, max_points)


def clean_run(source: str, namespace: dict, calls: list, max_points: float) -> tuple[float | None, str]:
    """Run one test cell's code in ``namespace``; return (score, error or "").

    The score is None when the cell cannot be re-checked (it calls a student function itself).
    """
    from efficientnn.quiz import ledger

    tree = _parse(source)
    if tree is None:
        return None, "the test code does not parse"
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    out = io.StringIO()
    old = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.alarm(CELL_SECONDS)
    try:
        with ledger.replaying(calls), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            exec(compile(tree, "<graded cell>", "exec"), namespace)
            value = eval(compile(ast.Expression(last.value), "<graded cell>", "eval"), namespace) if last else None
        score = _points(value, max_points)
        error = ""
    except _Timeout:
        score, error = 0.0, f"the re-check took longer than {CELL_SECONDS} s"
    except _DirectCall:
        score, error = None, "calls a student function outside a checker: cannot be re-checked"
    except BaseException as exc:  # the student's data made the instructor's test fail: that is the verdict
        score, error = 0.0, f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return score, error


def _namespace(plan: Plan, names: dict | None) -> dict:
    from efficientnn.quiz import ledger

    ns = {"__name__": "__main__", "display": lambda *a, **k: None}
    for name in sorted(plan.library):
        with contextlib.suppress(Exception):
            exec(plan.imports[name], ns)
    for name, encoded in (names or {}).items():
        if name not in plan.student:
            continue  # only the names the grader asked for; never anything else the kernel wrote
        if isinstance(encoded, list) and encoded[:1] == ["fn"]:
            ns[name] = _Replayed(name)
        else:
            ns[name] = ledger.decode(encoded)
    return ns


def audit_notebook(source_path: Path, autograded_path: Path, ledger_path: Path,
                   kernel_scores: dict[str, tuple[float, float]]) -> list[Change]:
    """Re-check the graded cells of one autograded notebook; return the cells whose score must drop.

    ``kernel_scores`` maps grade_id to (score given by nbgrader, max score).
    """
    from efficientnn.quiz import ledger

    plan = Plan(nbformat.read(str(source_path), as_version=4))
    graded = nbformat.read(str(autograded_path), as_version=4)
    records = read_ledger(ledger_path)
    changes = []
    for cell in graded.cells:
        if not _is_test(cell):
            continue
        grade_id = cell.metadata.nbgrader["grade_id"]
        if grade_id not in plan.tests or grade_id not in kernel_scores:
            continue
        kernel, max_points = kernel_scores[grade_id]
        if grade_id not in plan.checked or not kernel:
            continue  # its verdict does not come from efficientnn (or it already scores 0): it stands
        entry = records.get(ledger.cell_key(cell.source), {"names": None, "calls": []})
        if entry["names"] is None and not entry["calls"]:
            changes.append(Change(grade_id, kernel, 0.0, "the checks were tampered with: it scored without "
                                                          "its checker running"))
            continue
        clean, error = clean_run(plan.tests[grade_id], _namespace(plan, entry["names"]), entry["calls"], max_points)
        if clean is not None and clean < kernel - 1e-9:
            changes.append(Change(grade_id, kernel, clean, "the checks were tampered with: a re-check in a clean "
                                                           "interpreter disagrees", error))
    return changes
