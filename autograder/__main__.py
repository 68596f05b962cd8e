"""Command line: ``python -m autograder {release,grade,validate,publish,collect,return,import-zip,export-grades} ...``; see --help."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from autograder.settings import (CELL_TIMEOUT_S, MEMORY_LIMIT_MB, SUBMISSION_TIMEOUT_S, GradingError,
                                 find_root)

EPILOG = """\
examples:
  python -m autograder release                 regenerate release/ from source/
  python -m autograder release --check         exit 1 if release/ is stale
  python -m autograder grade --example         grade the example class into course/
  python -m autograder grade course/submitted --workers 2
  python -m autograder grade --db postgresql://grader@dbhost/course --workers 4
  python -m autograder grade --scheduler tcp://HOST:8786   grade on a Dask cluster's workers
  python -m autograder validate release/a1/a1.ipynb
  python -m autograder publish A / collect A / return A     through nbgrader's exchange
  python -m autograder import-zip ZIP --assignment A        a Canvas or Moodle zip, for grading
  python -m autograder variant STUDENT A [--json]         a student's variant questions and answers
  python -m autograder export-grades --lms canvas --assignment A
"""


def _positive(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m autograder", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Release, grade and validate the course's nbgrader notebooks.")
    p.add_argument("--root", type=Path, default=None,
                   help="course repository holding source/, release/ and course/ "
                        "(default: the current folder if it has source/, else this checkout)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("release", help="regenerate release/<a>/ from source/<a>/ with nbgrader",
                       description="Regenerate release/<a>/<a>.ipynb from source/<a>/<a>.ipynb "
                                   "(solutions and hidden tests removed).")
    r.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every assignment in source/")
    r.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if release/ differs from a fresh build")

    g = sub.add_parser("grade", help="autograde submissions, write feedback and grades.csv",
                       description="Autograde SUBMISSIONS/<student>/<assignment>/*.ipynb, each submission "
                                   "in its own limited process. Writes COURSE/autograded, COURSE/feedback, "
                                   "COURSE/gradebook.db, COURSE/grades.csv (with a note column).")
    g.add_argument("submissions", nargs="?", type=Path, metavar="SUBMISSIONS",
                   help="folder of student folders (default: COURSE/submitted)")
    g.add_argument("--course", type=Path, help="runtime course folder (default: ROOT/course)")
    g.add_argument("--example", action="store_true",
                   help="grade the example class shipped in ROOT/course/examples/submitted")
    g.add_argument("--workers", type=_positive, default=1,
                   help="submissions graded at once (0: one per CPU core; default 1)")
    g.add_argument("--assignment", action="append", metavar="A", help="grade only this assignment (repeatable)")
    g.add_argument("--student", action="append", metavar="S", help="grade only this student (repeatable)")
    g.add_argument("--timeout", type=_positive, default=CELL_TIMEOUT_S,
                   help=f"seconds a cell may run (default {CELL_TIMEOUT_S})")
    g.add_argument("--submission-timeout", type=_positive, default=SUBMISSION_TIMEOUT_S,
                   help=f"seconds for one whole submission (default {SUBMISSION_TIMEOUT_S})")
    g.add_argument("--memory-limit", type=_positive, default=MEMORY_LIMIT_MB, metavar="MB",
                   help=f"address space per submission in MB, 0 for none (default {MEMORY_LIMIT_MB})")
    g.add_argument("--scheduler", metavar="tcp://HOST:8786",
                   help="grade each submission as a task on the workers of this Dask distributed cluster "
                        "(each worker machine needs this checkout and its .venv); --workers is then ignored")
    g.add_argument("--db", metavar="URL",
                   help="the course gradebook: a SQLite file or a database URL nbgrader accepts as db_url, "
                        "e.g. postgresql://grader@dbhost/course (default: COURSE/gradebook.db)")
    g.add_argument("--sandbox", choices=("auto", "root", "user", "off"), default="auto",
                   help="how each grading kernel is isolated: root (namespaces and an unprivileged uid; "
                        "needs root), user (unprivileged user namespaces), off; auto picks the strongest "
                        "that works and warns if it is weaker than root (default auto)")
    g.add_argument("--strict-names", action="store_true",
                   help="score a renamed notebook 0 instead of grading it under the released name")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--keep-temp", action="store_true", help="keep the per-submission folders (debugging)")

    v = sub.add_parser("validate", help="run a notebook and check its visible tests before you hand it in",
                       description="Run NOTEBOOK and report whether its visible tests pass. "
                                   "Exit status: 0 passed, 1 failed, 2 could not run.")
    v.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    v.add_argument("--timeout", type=_positive, default=None, help="seconds a cell may run")

    # The delivery channels (each command's own module holds its options and its run function).
    from autograder import exchange, lms, variants
    exchange.add_commands(sub)
    lms.add_commands(sub)
    variants.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    root = (args.root or find_root()).resolve()
    try:
        if hasattr(args, "run"):
            return args.run(root, args)
        if args.command == "release":
            return _release(root, args)
        if args.command == "grade":
            return _grade(root, args)
        from autograder.validate import validate
        status, report = validate(args.notebook, timeout=args.timeout)
        print(report)
        return status
    except GradingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _release(root: Path, args) -> int:
    from autograder.release import release
    found = release(root, args.assignments, check=args.check)
    if args.check:
        if found:
            print("release/ is out of date with source/; run `python -m autograder release`:")
            print("\n".join(found))
            return 1
        print("release/ matches a fresh build from source/")
        return 0
    print("\n".join(f"wrote {f}" for f in found))
    return 0


def _grade(root: Path, args) -> int:
    from autograder.grade import Limits, format_table, grade
    course = (args.course or root / "course").resolve()
    if args.example:
        if args.submissions:
            print("error: give SUBMISSIONS or --example, not both", file=sys.stderr)
            return 2
        submissions = root / "course" / "examples" / "submitted"
    else:
        submissions = args.submissions or course / "submitted"
    limits = Limits(args.timeout, args.memory_limit, args.submission_timeout)
    start = time.monotonic()
    outcomes, table, warnings = grade(submissions, course, root / "source", workers=args.workers or _cores(),
                                      limits=limits, students=args.student, assignments=args.assignment,
                                      strict_names=args.strict_names, progress=not args.no_progress,
                                      keep_temp=args.keep_temp, db=args.db, sandbox=args.sandbox,
                                      scheduler=args.scheduler)
    elapsed = time.monotonic() - start
    from autograder.grade import SUMMARY
    for w in warnings:
        if not w.startswith(SUMMARY):
            print(f"warning: {w}", file=sys.stderr)
    if table:
        print(format_table(table))
    n = len(outcomes)
    print(f"\ngraded {n} submission(s) in {elapsed:.1f} s ({elapsed / max(n, 1):.1f} s each, "
          + (f"on the Dask cluster at {args.scheduler})" if args.scheduler else f"{args.workers or _cores()} worker(s))"))
    slowest = sorted(outcomes, key=lambda o: -o.seconds)[:3]
    if slowest:
        print("slowest: " + ", ".join(f"{o.job.student}/{o.job.assignment} {o.seconds:.1f} s" for o in slowest))
    print("\n".join(w for w in warnings if w.startswith(SUMMARY)))
    print(f"grades: {course / 'grades.csv'}\nfeedback: {course / 'feedback'}\nlogs: {course / 'logs'}")
    print(f"gradebook: {args.db or course / 'gradebook.db'}")
    return 0


def _cores() -> int:
    import os
    return os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
