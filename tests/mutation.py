"""Mutation score of the modules every grade stands on, each against its own tests.

``make mutation`` (or ``python tests/mutation.py [NAME ...]``) runs mutmut on each module listed
in :data:`MODULES`: mutmut changes one thing at a time in the module (``+`` into ``-``, ``<`` into
``<=``, a constant into another, a string into another, an argument dropped) and runs the tests
named for that module; a mutant is *killed* when one of them fails. Only the module's own test
files run, so the score says what the module's tests catch, not what the whole suite happens to
catch. Then it prints one table row a module and lists the surviving mutants, whose reasons
(equivalent or harmless) are kept in ``tests/MUTANTS.md``.

Each module runs in its own scratch folder (``build/mutation/<name>/``): mutmut copies the
code there, writes its mutants next to it and keeps its results there, so runs never touch the
working tree and a second run only re-tests what changed. ``--fresh`` starts from scratch.

mutmut mutates code inside functions and methods; constants at module level (a dictionary of
messages, a credit fraction) are not mutated, so tests pin those by hand (see tests/MUTANTS.md).

Example
-------
    python tests/mutation.py shapes cost        # two modules
    python tests/mutation.py --list             # the modules and their tests
"""
from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: mutmut release this was measured with (``make mutation`` installs it when missing).
MUTMUT = "mutmut==3.8.1"
#: Folders copied into every scratch folder: the packages and the tests (data they read).
COPY = ["efficientnn", "autograder", "tests"]


@dataclass(frozen=True)
class Module:
    """One module (one file, or a package's files) to mutate and the test files that are its own."""
    name: str
    sources: tuple[str, ...]
    tests: tuple[str, ...]
    markers: str = "not slow"
    data: tuple[str, ...] = ()


#: The modules every grade stands on, each with its own fast tests.
MODULES = [
    Module("shapes", ("efficientnn/shapes.py",), ("tests/test_shapes.py", "tests/test_shapes_rules.py")),
    Module("cost", ("efficientnn/cost.py",), ("tests/test_cost.py", "tests/test_cost_rules.py")),
    Module("layers", ("efficientnn/layers/*.py",),
           ("tests/test_layers.py", "tests/test_layers_padding.py", "tests/test_layers_cost.py",
            "tests/test_layers_openvino.py", "tests/test_layers_pruning.py")),
    Module("pruning", ("efficientnn/pruning/*.py",),
           ("tests/test_pruning.py", "tests/test_pruning_masks.py", "tests/test_pruning_sensitivity.py")),
    Module("quiz.parse", ("efficientnn/quiz/parse.py",), ("tests/test_parse.py", "tests/test_quiz.py")),
    # test_quiz.py (the whole package, with a 3 s nbgrader round trip) made each check mutant cost ~20 s
    Module("quiz.check", ("efficientnn/quiz/check.py",), ("tests/test_check.py",)),
    Module("quiz.ledger", ("efficientnn/quiz/ledger.py",), ("tests/test_ledger.py",)),
    Module("quiz.harness", ("efficientnn/quiz/harness.py",), ("tests/test_quiz_harness.py",)),
    Module("quiz.a01", ("efficientnn/quiz/a01_measuring_cost.py",), ("tests/test_quiz_a01_measuring_cost.py",),
           data=("source",)),
    Module("quiz.a03", ("efficientnn/quiz/a03_pooling.py",), ("tests/test_quiz_a03_pooling.py",), data=("source",)),
    Module("quiz.a04", ("efficientnn/quiz/a04_separable_convolutions.py",),
           ("tests/test_quiz_a04_separable_convolutions.py",)),
    Module("quiz.a05", ("efficientnn/quiz/a05_openvino_timing.py",), ("tests/test_quiz_a05_openvino_timing.py",)),
    Module("quiz.a06", ("efficientnn/quiz/a06_pruning/*.py",),
           ("tests/test_quiz_a06_pruning.py", "tests/test_quiz_a06_magnitude_prune.py",
            "tests/test_quiz_a06_sparsity_csr.py")),
    Module("quiz.a07", ("efficientnn/quiz/a07_quantization.py",),
           ("tests/test_quiz_a07_quantization.py", "tests/test_quiz_a07_scales.py",
            "tests/test_quiz_a07_quantize_matmul.py")),
    Module("autograder.structure", ("autograder/structure.py",), ("tests/test_structure.py",)),
    Module("autograder.audit", ("autograder/audit.py",), ("tests/test_audit.py",), data=("source",)),
    Module("autograder.submissions", ("autograder/submissions.py",), ("tests/test_submissions.py",)),
]

#: mutmut's exit codes, grouped the way the table counts them.
KILLED = {1, 3, 36, 24, -24, 152, 255, -11, -9}  # a failing test, a pytest error, a timeout, a crash
SURVIVED = {0}
NO_TESTS = {5, 33}


def scratch(root: Path, module: Module, fresh: bool) -> Path:
    """Set up ``build/mutation/<name>/``: a copy of the code and tests and mutmut's settings."""
    work = root / "build" / "mutation" / module.name
    if fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    for name in COPY + list(module.data):
        src, dest = root / name, work / name
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        elif dest.is_dir():
            shutil.rmtree(dest)
        if src.is_dir():
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        elif src.exists():
            shutil.copy2(src, dest)
    tests = [t for t in module.tests if (root / t.split("::")[0]).exists()]
    missing = sorted(set(module.tests) - set(tests))
    if missing:
        print(f"  {module.name}: no {', '.join(missing)} in {root}", file=sys.stderr)
    settings = {
        "source_paths": ["efficientnn", "autograder"],
        "only_mutate": list(module.sources),
        "also_copy": [n for n in COPY + list(module.data) if n not in ("efficientnn", "autograder")],
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-p", "no:randomly", "-m", module.markers],
        "pytest_add_cli_args_test_selection": tests,
        "use_git_change_detection": False,
        "on_dependency_change": "rerun",
        "timeout_multiplier": 10.0,
        "timeout_constant": 5.0,
    }
    lines = ["[tool.pytest.ini_options]", 'testpaths = ["tests"]',
             'markers = ["slow: slow", "browser: browser"]', "", "[tool.mutmut]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    (work / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return work


def results(work: Path, module: Module) -> dict[str, int | None]:
    """mutmut's verdict for every mutant of the module, by mutant name (None: not checked)."""
    verdicts = {}
    for pattern in module.sources:
        for meta in sorted((work / "mutants").glob(pattern + ".meta")):
            verdicts.update(json.loads(meta.read_text())["exit_code_by_key"])
    return verdicts


def run(root: Path, module: Module, jobs: int, fresh: bool, sample: int = 0,
        again: bool = False) -> tuple[dict, float]:
    """Run mutmut for one module; return its verdicts and the wall time in seconds.

    With ``sample`` > 0, only that many mutants, drawn at random (seed 0), are tested. With
    ``again``, only the last run's survivors are tested again (after tests were added); the other
    mutants keep their earlier verdicts in what is returned (mutmut itself forgets them when a
    test file changed), so a full run, best ``--fresh``, is still what a score is quoted from.
    """
    before = results(root / "build" / "mutation" / module.name, module) if again else {}
    work = scratch(root, module, fresh)
    env = dict(os.environ, PYTHONPATH="", CI="true", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    mutmut = [str(Path(sys.executable).with_name("mutmut")), "run", "--max-children", str(jobs)]
    start = time.monotonic()
    chosen = []
    if again:
        chosen = survivors(before)
        if not chosen:
            return before, 0.0
        proc = subprocess.run(mutmut + chosen, cwd=work, env=env, capture_output=True, text=True)
        (work / "mutmut.log").write_text(proc.stdout + proc.stderr)
        # mutmut forgets every other verdict when the tests changed; tests were only added, so an
        # earlier kill still stands. Only a fresh full run gives the module's official score.
        after = results(work, module)
        return {name: before[name] if code is None and name in before else code
                for name, code in after.items()}, time.monotonic() - start
    if sample:
        # A name that matches no mutant makes mutmut write every mutant, then stop.
        subprocess.run(mutmut + ["no-such-mutant"], cwd=work, env=env, capture_output=True, text=True)
        names = sorted(results(work, module))
        chosen = random.Random(0).sample(names, min(sample, len(names)))
    proc = subprocess.run(mutmut + chosen, cwd=work, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    (work / "mutmut.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        print(f"  {module.name}: mutmut exited {proc.returncode}; see {work / 'mutmut.log'}", file=sys.stderr)
    verdicts = results(work, module)
    return ({name: verdicts[name] for name in chosen} if chosen else verdicts), elapsed


def score_row(name: str, verdicts: dict, seconds: float) -> tuple:
    """One table row: counts and the score, killed / (mutants tested); unchecked ones are left out."""
    codes = [c for c in verdicts.values() if c is not None]
    killed = sum(c in KILLED for c in codes)
    no_tests = sum(c in NO_TESTS for c in codes)
    survived = len(codes) - killed - no_tests
    score = f"{100 * killed / len(codes):.1f}%" if codes else "-"
    return name, len(codes), killed, survived, no_tests, len(verdicts) - len(codes), score, f"{seconds:.0f}s"


def changed_lines(work: Path, names: list[str]) -> dict[str, list[str]]:
    """The lines each named mutant changes, read from mutmut's mutated copies of the sources.

    mutmut writes every mutant of a function ``f`` as a function ``x_f__mutmut_<n>`` beside the
    original ``x_f__mutmut_orig``; comparing the two is what ``mutmut show`` does, without starting
    a Python process per mutant (a module with 600 survivors took 10 minutes that way).
    """
    wanted = {name.rsplit(".", 1)[-1]: name for name in names}
    sources = {}
    for path in (work / "mutants").rglob("*.py"):
        text = path.read_text()
        if "__mutmut_" not in text:
            continue
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and "__mutmut_" in node.name:
                body = lines[node.lineno - 1:node.end_lineno]
                sources[node.name] = [body[0].replace(node.name, "f", 1)] + body[1:]  # a default may change
    out = {}
    for short, name in wanted.items():
        orig = sources.get(short.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", [])
        diff = difflib.unified_diff(orig, sources.get(short, []), lineterm="", n=0)
        out[name] = [line for line in diff if line[:1] in "-+" and line[:3] not in ("---", "+++")]
    return out


def write_survivors(work: Path, names: list[str]) -> Path:
    """``survivors.txt`` in the scratch folder: each surviving mutant with its changed line(s)."""
    lines = changed_lines(work, names)
    out = [name + "\n" + "\n".join("    " + line for line in lines[name]) for name in names]
    path = work / "survivors.txt"
    path.write_text("\n".join(out) + "\n")
    return path


def survivors(verdicts: dict) -> list[str]:
    """Mutant names that no test killed (survived, no test ran it, or undecided)."""
    return sorted(name for name, code in verdicts.items() if code is not None and code not in KILLED)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="modules to run (default: all); see --list")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository to measure (default: this one)")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                        help="mutants tested at once")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument("--sample", type=int, default=0, help="test only this many mutants a module, at random")
    parser.add_argument("--survivors", action="store_true",
                        help="test again only the last run's survivors (after writing tests for them)")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests")
    parser.add_argument("--report", action="store_true", help="print the last results without running anything")
    parser.add_argument("--json", type=Path, help="also write the table and survivors here")
    parser.add_argument("--min-score", type=float, default=0.0,
                        help="exit 1 if a module scores below this percentage")
    args = parser.parse_args(argv)
    chosen = [m for m in MODULES if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MODULES}
    if unknown:
        parser.error(f"unknown module(s) {sorted(unknown)}; known: {[m.name for m in MODULES]}")
    if args.list:
        for m in chosen:
            print(f"{m.name:26} {' '.join(m.sources):40} {' '.join(m.tests)}")
        return 0
    rows, report, failing = [], {}, []
    total_start = time.monotonic()
    for module in chosen:
        if not args.report:
            print(f"mutating {' '.join(module.sources)} against {' '.join(module.tests)} ...", flush=True)
        if args.report:
            work = args.root.resolve() / "build" / "mutation" / module.name
            verdicts, seconds = results(work, module), 0.0
        else:
            verdicts, seconds = run(args.root.resolve(), module, args.jobs, args.fresh, args.sample, args.survivors)
        row = score_row(module.name, verdicts, seconds)
        rows.append(row)
        report[module.name] = {"sources": list(module.sources), "tests": list(module.tests), "mutants": row[1],
                               "killed": row[2], "survived": row[3], "no_tests": row[4], "score": row[6],
                               "seconds": round(seconds), "survivors": survivors(verdicts)}
        if not row[1] or 100 * row[2] / row[1] < args.min_score:
            failing.append(module.name)
    header = ("module", "mutants", "killed", "survived", "no tests", "unchecked", "score", "time")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    print()
    for r in [header] + rows:
        print("  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths))))
    print(f"total time {time.monotonic() - total_start:.0f}s")
    for name, data in report.items():
        if data["survivors"]:
            work = args.root.resolve() / "build" / "mutation" / name
            where = work / "survivors.txt" if args.report else write_survivors(work, data["survivors"])
            print(f"{name}: {len(data['survivors'])} survivors, with their changes in {where}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    if failing:
        print(f"\nbelow {args.min_score}%: {', '.join(failing)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
