"""Check a notebook before handing it in: run it, report the visible tests.

``nbgrader validate`` prints its verdict and exits 0 either way; this wraps
nbgrader's Validator and turns its result into one clear verdict and an exit
status a script can use.
"""
from __future__ import annotations

import re
from pathlib import Path

from autograder.settings import load_config, use_local_path

ANSI = re.compile(r"\x1b\[[0-9;]*m")

PASSED, FAILED, UNUSABLE = 0, 1, 2


def _excerpt(source: str, lines: int = 6) -> str:
    rows = source.strip().splitlines()
    cut = rows[:lines] + (["..."] if len(rows) > lines else [])
    return "\n".join("    | " + r for r in cut)


def _error_tail(error: str, lines: int = 8) -> str:
    rows = [r for r in ANSI.sub("", error).splitlines() if r.strip()]
    return "\n".join("    " + r for r in rows[-lines:])


def validate(notebook: Path, timeout: int | None = None) -> tuple[int, str]:
    """Run ``notebook`` as nbgrader validate does; return (exit status, report).

    Status 0: every visible test passed. 1: a test failed, a read-only cell was
    edited, or a cell's type was changed. 2: the notebook could not be run
    (not found, not JSON, nbgrader error).
    """
    from nbformat.reader import NotJSONError
    from nbgrader.validator import Validator

    name = notebook.name
    if not notebook.is_file():
        return UNUSABLE, f"{notebook}: no such notebook"
    if notebook.stat().st_size == 0:
        return UNUSABLE, f"{name}: INVALID - the file is empty. Download it again from release/."
    use_local_path()
    overrides = {} if timeout is None else {"ExecutePreprocessor.timeout": int(timeout)}
    validator = Validator(config=load_config(**overrides))
    try:
        results = validator.validate(str(notebook.resolve()))
    except NotJSONError:
        return UNUSABLE, f"{name}: INVALID - not a notebook (the file is not valid JSON)."
    except Exception as exc:  # nbgrader's own failures: report, don't dump a traceback
        return UNUSABLE, f"{name}: COULD NOT VALIDATE - {type(exc).__name__}: {exc}"

    if results.get("type_changed"):
        cells = results["type_changed"]
        body = "\n\n".join(f"  was {c['new_type']}, now {c['old_type']}:\n{_excerpt(c['source'])}" for c in cells)
        return FAILED, (f"{name}: FAILED - the type of {len(cells)} graded cell(s) changed; "
                        f"change them back or the grader cannot score them.\n{body}")
    if results.get("changed"):
        cells = results["changed"]
        body = "\n\n".join(_excerpt(c["source"]) for c in cells)
        return FAILED, (f"{name}: FAILED - {len(cells)} read-only cell(s) were edited; "
                        f"the grader puts the original back, so copy it from the released notebook.\n{body}")
    if results.get("failed"):
        cells = results["failed"]
        body = "\n\n".join(f"{_excerpt(c['source'])}\n{_error_tail(c['raw_error'])}" for c in cells)
        return FAILED, f"{name}: FAILED - {len(cells)} test cell(s) did not pass.\n\n{body}"
    return PASSED, (f"{name}: PASSED - every visible test passes. Hidden tests run when "
                    "the notebook is graded, so a pass here is not yet a full score.")
