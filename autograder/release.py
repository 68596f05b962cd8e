"""Regenerate release/ (the student notebooks) from source/ with nbgrader.

``release/<a>/`` is nbgrader generate_assignment's output for
``source/<a>/``: solutions replaced by stubs, hidden tests removed, checksums
added, plus the assignment's non-notebook files. It is built in a temporary
course folder, so no gradebook or log ever lands in release/, and the same
source always gives the same bytes, which is what ``--check`` relies on.
"""
from __future__ import annotations

import difflib
import filecmp
import shutil
import tempfile
from pathlib import Path

from autograder.runner import run_generate
from autograder.settings import IGNORED, GradingError, assignments_in, files_under


def build(source: Path, assignments: list[str], tmp: Path) -> Path:
    """Run generate_assignment for ``assignments`` in ``tmp``; return the release folder."""
    root = tmp / "course"
    for a in assignments:
        shutil.copytree(source / a, root / "source" / a, ignore=shutil.ignore_patterns(*IGNORED))
    spec = {"root": str(root), "dbs": [str(tmp / "gradebook.db")], "assignments": assignments}
    result = run_generate(spec, tmp / "job", timeout_s=600)
    if result is None or not result["ok"]:
        detail = "\n".join(f"--- {a}\n{log}" for a, log in (result or {}).get("errors", {}).items())
        if result is None:
            detail = (tmp / "job" / "worker.log").read_text(errors="replace")[-3000:]
        raise GradingError(f"nbgrader generate_assignment failed:\n{detail}")
    return root / "release"


def _diff(old: Path, new: Path, rel: str) -> str:
    try:
        a = old.read_text().splitlines()
        b = new.read_text().splitlines()
    except UnicodeDecodeError:
        return f"  {rel}: binary file differs"
    lines = list(difflib.unified_diff(a, b, f"release/{rel}", f"fresh build of {rel}", n=1, lineterm=""))
    more = f"\n  ... {len(lines) - 24} more diff lines" if len(lines) > 24 else ""
    return "\n".join("  " + line for line in lines[:24]) + more


def compare(fresh: Path, release: Path, assignments: list[str], everything: bool) -> list[str]:
    """Differences between a fresh build and release/, one message each."""
    problems = []
    for a in assignments:
        new, old = files_under(fresh / a), files_under(release / a)
        for rel in sorted(new - old):
            problems.append(f"release/{a}/{rel} is missing")
        for rel in sorted(old - new):
            problems.append(f"release/{a}/{rel} is not produced from source/{a}/")
        for rel in sorted(new & old):
            if not filecmp.cmp(fresh / a / rel, release / a / rel, shallow=False):
                problems.append(f"release/{a}/{rel} differs from a fresh build:\n"
                                + _diff(release / a / rel, fresh / a / rel, f"{a}/{rel}"))
    if everything and release.is_dir():
        for extra in sorted(p.name for p in release.iterdir() if p.name not in assignments):
            problems.append(f"release/{extra} has no source/{extra}/")
    return problems


def release(root: Path, assignments: list[str] | None = None, check: bool = False) -> list[str]:
    """Regenerate ``root/release`` from ``root/source``, or with ``check`` only compare.

    With no ``assignments``, every assignment in source/ is released and
    folders in release/ without a source are removed (reported by check).
    Returns the differences found (with ``check``) or the files written.
    """
    source, target = root / "source", root / "release"
    known = assignments_in(source)
    everything = not assignments
    assignments = list(assignments or known)
    unknown = sorted(set(assignments) - set(known))
    if unknown:
        raise GradingError(f"no source for {unknown} in {source}; known: {known}")
    if not assignments:
        raise GradingError(f"no assignments in {source}")
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as tmp:
        fresh = build(source, assignments, Path(tmp))
        if check:
            return compare(fresh, target, assignments, everything)
        written = []
        for a in assignments:
            if (target / a).exists():
                shutil.rmtree(target / a)
            for rel in sorted(files_under(fresh / a)):
                (target / a / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(fresh / a / rel, target / a / rel)
                written.append(f"release/{a}/{rel}")
        if everything and target.is_dir():
            for extra in [p for p in target.iterdir() if p.name not in assignments]:
                if extra.is_dir():
                    shutil.rmtree(extra)
                else:
                    extra.unlink()
        return written
