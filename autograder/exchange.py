"""nbgrader's exchange, for the instructor: publish, collect and return an assignment.

The course runs on one Jupyter server (or a JupyterHub) where every student has
an account, and nbgrader's exchange folder is shared by all of them::

    python -m autograder publish A      # release/A -> exchange (nbgrader release_assignment)
        students: nbgrader fetch_assignment A, work, nbgrader submit A
                  (or the Assignments tab of JupyterLab)
    python -m autograder collect A      # exchange -> COURSE/submitted (nbgrader collect --update)
    python -m autograder grade --assignment A
    python -m autograder return A       # COURSE/feedback -> exchange (nbgrader release_feedback)
        students: nbgrader fetch_feedback A (or the Assignments tab)

Each command runs nbgrader's own exchange step with the course folder as
``CourseDirectory.root`` and ``release/`` (``python -m autograder release``'s
output) as its release folder, and adds what nbgrader lacks: ``publish`` refuses
a ``release/`` that is older than ``source/``; ``collect`` lists who submitted
and who did not; ``return`` gives a feedback page the submission's
``timestamp.txt`` and ``submission_secret.txt`` (nbgrader's release_feedback
needs both, and a page written for a submission that could not be graded has
neither) and names every collected student it cannot return feedback to.

nbgrader knows a student by the account that runs it (``nbgrader.utils.get_username``),
so every student needs an OS account: see ``course/DEPLOY.md``.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder.settings import GradingError, assignments_in, subprocess_env

#: nbgrader's default exchange folder (``Exchange.root``).
DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")
DEFAULT_COURSE_ID = "efficientnn"


class ExchangeError(GradingError):
    """An nbgrader exchange step failed; the message holds nbgrader's own log."""


@dataclass
class Exchange:
    """Where one course meets nbgrader's exchange.

    ``root`` is the repository (``release/`` is published from it), ``course``
    the runtime course folder (``submitted/``, ``feedback/``, the gradebook),
    ``folder`` the exchange folder (``Exchange.root``), ``course_id`` the
    course's name in it, ``db`` the gradebook URL (default ``course/gradebook.db``).
    """
    root: Path
    course: Path
    folder: Path = DEFAULT_EXCHANGE
    course_id: str = DEFAULT_COURSE_ID
    db: str | None = None

    def options(self) -> list[str]:
        db = self.db if self.db and "://" in self.db else f"sqlite:///{Path(self.db or self.course / 'gradebook.db').resolve()}"
        return [f"--CourseDirectory.root={self.course}",
                f"--CourseDirectory.release_directory={self.root / 'release'}",
                f"--CourseDirectory.course_id={self.course_id}",
                f"--CourseDirectory.db_url={db}",
                f"--Exchange.root={self.folder}"]

    def inbound(self) -> Path:
        return self.folder / self.course_id / "inbound"

    def nbgrader(self, step: str, assignment: str, *extra: str) -> str:
        """Run ``nbgrader STEP ASSIGNMENT`` for this course; return its log, raise ExchangeError on failure."""
        self.course.mkdir(parents=True, exist_ok=True)
        out = subprocess.run([sys.executable, "-m", "nbgrader", step, assignment, *self.options(), *extra],
                             cwd=self.course, env=subprocess_env(), capture_output=True, text=True, timeout=600)
        log = out.stdout + out.stderr
        if out.returncode != 0:
            raise ExchangeError(f"nbgrader {step} {assignment} failed (exit code {out.returncode}):\n{log[-3000:]}")
        return log


@dataclass
class StepReport:
    """What one exchange step did: students it handled and one line per problem."""
    students: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    log: str = ""

    def warnings(self) -> list[str]:
        """nbgrader's own warnings (e.g. a submission owned by another account than its name)."""
        return [line.strip() for line in self.log.splitlines() if "WARNING" in line or "cheating" in line]


def _check_assignment(ex: Exchange, assignment: str) -> None:
    known = assignments_in(ex.root / "source")
    if assignment not in known:
        raise ExchangeError(f"no assignment {assignment!r} in {ex.root / 'source'}; known: {known}")


def publish(ex: Exchange, assignment: str, check: bool = True, force: bool = False) -> StepReport:
    """Copy ``release/<assignment>/`` into the exchange for students to fetch.

    With ``check``, first rebuild the release from ``source/`` and refuse when
    ``release/`` differs (students would fetch an out-of-date notebook);
    ``force`` replaces an assignment already in the exchange.
    """
    _check_assignment(ex, assignment)
    if check:
        from autograder.release import release
        stale = release(ex.root, [assignment], check=True)
        if stale:
            raise ExchangeError(f"release/{assignment} is out of date with source/ "
                                f"(run `python -m autograder release {assignment}` first):\n" + "\n".join(stale))
    log = ex.nbgrader("release_assignment", assignment, *(["--force"] if force else []))
    return StepReport([], [], log)


def submitters(ex: Exchange, assignment: str) -> set[str]:
    """Students with at least one submission of ``assignment`` in the exchange's inbound folder."""
    inbound = ex.inbound()
    if not inbound.is_dir():
        return set()
    return {p.name.split("+")[0] for p in inbound.glob(f"*+{assignment}+*")}


def collect(ex: Exchange, assignment: str, roster: list[str] | None = None) -> StepReport:
    """Copy each student's newest submission into ``course/submitted/<student>/<assignment>/``.

    ``roster`` (student ids) adds a line for every student who has not submitted.
    """
    _check_assignment(ex, assignment)
    log = ex.nbgrader("collect", assignment, "--update")
    submitted = ex.course / "submitted"
    senders = submitters(ex, assignment)
    got = sorted(s for s in senders if (submitted / s / assignment).is_dir())
    notes = [f"{s}: in the exchange but not collected (see nbgrader's log)" for s in sorted(senders - set(got))]
    notes += [f"{s}: no submission in the exchange" for s in sorted(set(roster or []) - senders)]
    return StepReport(got, notes, log)


def _complete_feedback(ex: Exchange, assignment: str) -> tuple[list[str], list[str]]:
    """Give each feedback folder the submission's timestamp and secret; return (ready, notes)."""
    ready, notes = [], []
    submitted = ex.course / "submitted"
    students = sorted(s.name for s in submitted.iterdir() if (s / assignment).is_dir()) if submitted.is_dir() else []
    for student in students:
        feedback = ex.course / "feedback" / student / assignment
        if not any(feedback.glob("*.html")):
            notes.append(f"{student}: submitted but has no feedback yet "
                         f"(run `python -m autograder grade --assignment {assignment}` first)")
            continue
        missing = [name for name in ("timestamp.txt", "submission_secret.txt")
                   if not (feedback / name).is_file()]
        for name in missing:
            src = submitted / student / assignment / name
            if src.is_file():
                shutil.copyfile(src, feedback / name)
        if not (feedback / "submission_secret.txt").is_file():
            notes.append(f"{student}: the submission has no submission_secret.txt (not submitted through the "
                         "exchange?): nbgrader cannot return its feedback")
            continue
        ready.append(student)
    return ready, notes


def return_feedback(ex: Exchange, assignment: str) -> StepReport:
    """Put every graded student's feedback pages where ``nbgrader fetch_feedback`` finds them."""
    _check_assignment(ex, assignment)
    ready, notes = _complete_feedback(ex, assignment)
    if not ready:
        return StepReport([], notes + ["no feedback to return"], "")
    # nbgrader's release_feedback stops at the first folder without a secret: leave those out
    excluded = sorted(f.parent.name for f in (ex.course / "feedback").glob(f"*/{assignment}")
                      if f.parent.name not in ready)
    extra = [f"--CourseDirectory.student_id_exclude={','.join(excluded)}"] if excluded else []
    log = ex.nbgrader("release_feedback", assignment, *extra)
    return StepReport(ready, notes, log)


def student_config(folder: Path, course_id: str = DEFAULT_COURSE_ID) -> str:
    """The ``nbgrader_config.py`` a student's (or the whole server's) Jupyter needs to reach the exchange.

    Examples
    --------
    >>> print(student_config(Path("/srv/nbgrader/exchange")))
    c = get_config()  # noqa: F821
    c.CourseDirectory.course_id = 'efficientnn'
    c.Exchange.root = '/srv/nbgrader/exchange'
    <BLANKLINE>
    """
    return (f"c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = {course_id!r}\n"
            f"c.Exchange.root = {str(folder)!r}\n")


# --------------------------------------------------------------------------- command line
def add_commands(sub) -> None:
    """Add ``publish``, ``collect`` and ``return`` to ``python -m autograder``'s subcommands."""
    specs = [
        ("publish", "release an assignment to nbgrader's exchange for students to fetch",
         "Copy release/A into the exchange (nbgrader release_assignment), after checking that release/A "
         "matches a fresh build from source/.", _publish_command),
        ("collect", "copy students' submissions from the exchange into COURSE/submitted",
         "Copy each student's newest submission of A from the exchange into COURSE/submitted/<student>/A "
         "(nbgrader collect --update); then grade them with `python -m autograder grade --assignment A`.",
         _collect_command),
        ("return", "return graded feedback to the students through the exchange",
         "Put each graded student's COURSE/feedback/<student>/A pages in the exchange (nbgrader "
         "release_feedback); students get them with `nbgrader fetch_feedback A` or the Assignments tab.",
         _return_command),
    ]
    for name, help_text, description, run in specs:
        p = sub.add_parser(name, help=help_text, description=description)
        p.add_argument("assignment", metavar="A")
        p.add_argument("--exchange", type=Path, default=DEFAULT_EXCHANGE, metavar="DIR",
                       help=f"nbgrader's exchange folder, Exchange.root (default {DEFAULT_EXCHANGE})")
        p.add_argument("--course-id", default=DEFAULT_COURSE_ID, help=f"course name in the exchange "
                                                                       f"(default {DEFAULT_COURSE_ID})")
        p.add_argument("--course", type=Path, help="runtime course folder (default: ROOT/course)")
        p.add_argument("--db", metavar="URL", help="the course gradebook (as for grade; default COURSE/gradebook.db)")
        if name == "publish":
            p.add_argument("--force", action="store_true", help="replace the assignment if already published")
            p.add_argument("--no-check", action="store_true", help="do not compare release/ with source/ first")
        if name == "collect":
            p.add_argument("--roster", type=Path, metavar="FILE",
                           help="student ids, one a line (or a CSV with student_id): name who has not submitted")
        p.set_defaults(run=run)


def _exchange(root: Path, args) -> Exchange:
    return Exchange(root, (args.course or root / "course").resolve(), args.exchange.resolve(), args.course_id, args.db)


def _print(report: StepReport, what: str) -> None:
    print(f"{what}: {len(report.students)} student(s)" + (f": {', '.join(report.students)}" if report.students else ""))
    for w in report.warnings():
        print(f"nbgrader: {w}")
    for n in report.notes:
        print(f"note: {n}")


def _publish_command(root: Path, args) -> int:
    ex = _exchange(root, args)
    publish(ex, args.assignment, check=not args.no_check, force=args.force)
    print(f"published {args.assignment} to {ex.folder / ex.course_id / 'outbound' / args.assignment}")
    print(f"students: nbgrader fetch_assignment {args.assignment}  (then: nbgrader submit {args.assignment})")
    return 0


def _read_roster(path: Path | None) -> list[str]:
    if path is None:
        return []
    import csv
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    if lines and "student_id" in lines[0]:
        return [row["student_id"].strip() for row in csv.DictReader(lines) if row.get("student_id")]
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _collect_command(root: Path, args) -> int:
    ex = _exchange(root, args)
    report = collect(ex, args.assignment, _read_roster(args.roster))
    _print(report, f"collected {args.assignment} into {ex.course / 'submitted'}")
    print(f"next: python -m autograder grade --assignment {args.assignment}"
          + (f" --course {ex.course}" if args.course else ""))
    return 0


def _return_command(root: Path, args) -> int:
    ex = _exchange(root, args)
    report = return_feedback(ex, args.assignment)
    _print(report, f"returned feedback on {args.assignment}")
    print(f"students: nbgrader fetch_feedback {args.assignment}")
    return 0 if report.students else 1
