"""Re-check graded cells in a clean interpreter, from what the kernel's checkers recorded.

A test cell's verdict comes from the student's kernel, which the student's code controls: it
can patch :mod:`efficientnn` or numpy so a wrong answer "matches", replace a checker by one
that always passes, or swallow the error a failed test raises. So after autograding, the
worker (a process that never ran student code) runs every graded cell's instructor code again:

- names the notebook's own imports bind (``np``, ``parse_shape``) are imported afresh;
- names the instructor's locked cells compute (05's measurement ``this_run``) are computed
  afresh too, by running those cells here, after the kernel has gone: measured truths come
  from the grader's own measurements (the same models on the same machine; the checkers' tie
  rule, and up to :data:`MEASUREMENTS` fresh measurements before an answer loses its points,
  absorb the noise between runs), never from the kernel, which a notebook can make measure
  anything;
- the student's names (answers, functions) come from the kernel's ledger
  (:mod:`efficientnn.quiz.ledger`): an answer is its recorded value, and a call a checker makes
  to a student function returns the result recorded in the kernel for the same arguments;
- every expected value is computed here, by a fresh import of efficientnn.

A cell whose test code does not use efficientnn (like the toy's plain ``assert``), or calls a
student function itself rather than through a checker, cannot be re-checked and keeps the
kernel's score. Otherwise the cell keeps the lower of the two scores: a kernel that scored a
cell higher than the clean re-check, scored it without its checker recording anything, or left
records for it that disagree with each other (records written ahead of the checker's, or calls
the checker never made) was tampered with. The re-check never raises a score, so a failure in
the kernel (a timeout, a crash) always stands. What the re-check proves, and what it cannot,
is said in :mod:`efficientnn.quiz.ledger`.
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

from autograder import cells
from efficientnn.quiz.ledger import MAX_LEDGER_BYTES

#: Seconds one cell's clean re-check may take.
CELL_SECONDS = 30


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


class Plan:
    """What re-checking one notebook needs from its source: test code, imports, the student's names."""

    def __init__(self, source_nb):
        self.tests = {cells.grade_id(c): c.source for c in source_nb.cells if cells.is_test(c)}
        solution_names, self.imports, instructor = set(), {}, []
        for cell in source_nb.cells:
            if cell.cell_type != "code":
                continue
            tree = _parse(cell.source)
            if tree is None:
                continue
            if cells.is_solution(cell):
                solution_names |= _bound(tree)
            elif cells.is_locked(cell) and not cells.is_grade(cell):
                instructor.append((cell.source, _bound(tree), _mutated(tree), free_names(cell.source)))
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
        #: Names read by test cells that only the instructor's locked cells bind: the grader computes them.
        self.truths = sorted({n for n in needed - self.library - solution_names
                              if any(n in bound for _, bound, _, _ in instructor)})
        #: The locked cells that compute the truths, with those they need, in notebook order.
        self.truth_cells = _needed_cells(instructor, set(self.truths))
        #: Names whose values only the student's kernel knows.
        self.student = sorted(needed - self.library - set(self.truths))
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


def _mutated(tree) -> set[str]:
    """Names a cell changes in place: ``x[k] = v``, ``x.a = v``, ``x.update(...)``."""
    out = set()
    for node in ast.walk(tree):
        target = None
        if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, (ast.Store, ast.Del)):
            target = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
        if isinstance(target, ast.Name):
            out.add(target.id)
    return out


def _needed_cells(instructor: list, names: set) -> list[str]:
    """Sources of the cells (of ``instructor``: (source, bound, mutated, free) in order) that bind or
    change ``names``, and, going back, of the cells that bind what those read."""
    chosen, wanted = [], set(names)
    for source, bound, mutated, free in reversed(instructor):
        if bound & wanted or mutated & names:
            chosen.append(source)
            wanted |= free
    return chosen[::-1]


#: Seconds the grader's own run of the instructor's measuring cells may take.
TRUTH_SECONDS = 300


class _Shell:
    """Stands in for IPython in the grader's run of instructor cells: magics do nothing."""

    def run_line_magic(self, *args, **kwargs):
        return None

    run_cell_magic = run_line_magic


def truths(plan: Plan) -> tuple[dict, str]:
    """({name: value} for ``plan.truths``, computed by running the instructor's cells here; error or "")."""
    if not plan.truths:
        return {}, ""
    ns = {"__name__": "__main__", "display": lambda *a, **k: None, "get_ipython": _Shell}
    out = io.StringIO()
    old = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.alarm(TRUTH_SECONDS)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            for source in plan.truth_cells:
                exec(compile(_python(source), "<instructor cell>", "exec"), ns)
        error = ""
    except BaseException as exc:  # the grader could not measure: the cells that need it cannot pass
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return {n: ns[n] for n in plan.truths if n in ns}, error


def read_ledger(path: Path) -> dict:
    """{cell key: {"names": dict or None, "calls": [records], "conflict": bool}} from a ledger file.

    Damaged lines are skipped. ``conflict`` is True when the cell holds "names" records that
    disagree: one of them was not the checker's.
    """
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
        entry = by_cell.setdefault(record["cell"], {"names": None, "calls": [], "conflict": False})
        if record.get("event") == "names":
            values = record.get("values")
            if not isinstance(values, dict) or (entry["names"] is not None and values != entry["names"]):
                entry["conflict"] = True
            elif entry["names"] is None:
                entry["names"] = values
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


def clean_run(source: str, namespace: dict, calls: list, max_points: float) -> tuple[float | None, str, int]:
    """Run one test cell's code in ``namespace``; return (score, error or "", recorded calls never replayed).

    The score is None when the cell cannot be re-checked (it calls a student function itself).
    """
    from efficientnn.quiz import ledger

    tree = _parse(source)
    if tree is None:
        return None, "the test code does not parse", 0
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    out = io.StringIO()
    old = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.alarm(CELL_SECONDS)
    replay = None
    try:
        with ledger.replaying(calls) as replay, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
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
    unused = sum(max(0, len(queue) - replay.used.get(key, 0)) for key, queue in replay.outcomes.items()
                 if key is not None) if replay else 0
    return score, error, unused


def _namespace(plan: Plan, names: dict | None, truth: dict) -> dict:
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
    ns.update(truth)  # never the kernel's word for these
    return ns


class Measurements:
    """The grader's own measurements of a plan's truths, made when first needed, at most :data:`MEASUREMENTS`.

    ``errors`` lists why a measurement failed. Timings vary between two runs (on a busy machine, a
    lot), so a measured answer that disagrees with one measurement is checked against fresh ones
    before it loses its points: the checkers' tie rule, applied across runs.
    """

    def __init__(self, plan: Plan):
        self.plan, self.made, self.errors = plan, [], []

    def __getitem__(self, i: int) -> dict:
        while len(self.made) <= i:
            values, error = truths(self.plan)
            self.made.append(values)
            if error:
                self.errors.append(error)
        return self.made[i]


#: Measurements an answer read off a measurement is checked against before it scores less than in the kernel.
MEASUREMENTS = 3


def _recheck(plan: Plan, grade_id: str, entry: dict, max_points: float, kernel: float, measured) -> tuple:
    """(clean score, error, unused calls, measured): the best of the re-checks of one cell."""
    uses = bool(free_names(plan.tests[grade_id]) & set(plan.truths))
    best = None
    for i in range(MEASUREMENTS if uses else 1):
        truth = measured[i] if uses else {}
        clean, error, unused = clean_run(plan.tests[grade_id], _namespace(plan, entry["names"], truth),
                                         entry["calls"], max_points)
        if best is None or (clean is not None and (best[0] is None or clean > best[0])):
            best = (clean, error, unused)
        if clean is None or clean >= kernel - 1e-9 or unused:
            break
    return (*best, uses)


def audit_notebook(plan: Plan, graded, records: dict, kernel_scores: dict[str, tuple[float, float]],
                   measured: Measurements | None = None) -> list[Change]:
    """Re-check the graded cells of one autograded notebook; return the cells whose score must drop.

    ``plan`` comes from the source notebook, ``graded`` is the autograded notebook, ``records``
    is :func:`read_ledger`'s, ``kernel_scores`` maps grade_id to (score given by nbgrader, max score),
    ``measured`` the grader's own measurements of ``plan.truths``.
    """
    from efficientnn.quiz import ledger

    measured = measured if measured is not None else Measurements(plan)
    changes = []
    for cell in graded.cells:
        if not cells.is_test(cell):
            continue
        grade_id = cells.grade_id(cell)
        if grade_id not in plan.tests or grade_id not in kernel_scores:
            continue
        kernel, max_points = kernel_scores[grade_id]
        if grade_id not in plan.checked or not kernel:
            continue  # its verdict does not come from efficientnn (or it already scores 0): it stands
        entry = records.get(ledger.cell_key(cell.source), {"names": None, "calls": [], "conflict": False})
        if entry["conflict"]:
            changes.append(Change(grade_id, kernel, 0.0, "the checks were tampered with: the kernel's records "
                                                          "for it disagree (some were not the checker's)"))
            continue
        if entry["names"] is None and not entry["calls"]:
            changes.append(Change(grade_id, kernel, 0.0, "the checks were tampered with: it scored without "
                                                          "its checker running"))
            continue
        clean, error, unused, uses = _recheck(plan, grade_id, entry, max_points, kernel, measured)
        if clean is None:
            continue
        if clean < kernel - 1e-9 and uses:
            changes.append(Change(grade_id, kernel, clean, f"the answer does not match the grader's own "
                                                           f"measurements ({len(measured.made)}, taken outside the "
                                                           "kernel, with the tie rule)", error))
        elif clean < kernel - 1e-9:
            changes.append(Change(grade_id, kernel, clean, "the checks were tampered with: a re-check in a clean "
                                                           "interpreter disagrees", error))
        elif unused:  # it passed on records its checker never asked for: forged ahead
            changes.append(Change(grade_id, kernel, 0.0, "the checks were tampered with: the kernel recorded "
                                                          "calls its checker never made"))
    return changes
