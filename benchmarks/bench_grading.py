"""Grading a class: 40 submissions with one worker, then with two, in one run.

The 40 submissions are copies of the example class's hand-ins of assignment 01
(``course/examples/submitted/*/01-measuring-cost``: full marks, blank, slips, ...), graded by
``autograder.grade.grade`` exactly as ``python -m autograder grade --workers N`` grades them
(sandboxed kernels, the clean re-check, feedback pages), each run into a fresh course folder.
Prints the wall time, seconds per submission and the speed-up of two workers over one; the
target is 1.6x on a 2-core machine.

What limits the speed-up: every step of a submission is CPU-bound Python (the worker process
importing nbgrader, the kernel starting and importing numpy and matplotlib, the notebook's
cells, nbconvert writing the feedback page), so two workers need two free cores; the per-batch
set-up (nbgrader building the template gradebook, a few seconds) and the parent merging each
result into the gradebook run on one core whatever the number of workers; and on a machine
shared with other work the second core is not always free.

``ENN_BENCH_GRADING_N`` and ``ENN_BENCH_GRADING_ASSIGNMENT`` (``toy`` for the toy assignment,
about half the cost) change the load. Run with ``python -m benchmarks --only grading`` or
``python -m benchmarks.bench_grading``.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
N_SUBMISSIONS = int(os.environ.get("ENN_BENCH_GRADING_N", 40))
ASSIGNMENT = os.environ.get("ENN_BENCH_GRADING_ASSIGNMENT", "01-measuring-cost")
TARGET_SPEEDUP = 1.6


def _class(assignment: str, n: int, dest: Path) -> tuple[Path, Path]:
    """(course root with source/, submissions folder) holding ``n`` copies of the example hand-ins."""
    if assignment == "toy":
        root = REPO / "tests" / "fixtures" / "toy-assignment"
        examples = root / "course" / "examples" / "submitted"
        usable = ("alice", "bob", "carol", "grace", "ivan")  # the toy's quick examples, no timeouts
    else:
        root = REPO
        examples = REPO / "course" / "examples" / "submitted"
        usable = tuple(sorted(p.name for p in examples.iterdir() if (p / assignment).is_dir()))
    if not usable:
        raise RuntimeError(f"no example submissions of {assignment} in {examples}")
    for i in range(n):
        shutil.copytree(examples / usable[i % len(usable)] / assignment, dest / f"s{i:02d}" / assignment)
    return root, dest


def run(n: int = N_SUBMISSIONS, assignment: str = ASSIGNMENT) -> dict:
    from autograder.grade import Limits, grade
    from autograder.settings import use_local_path

    use_local_path()  # nbgrader runs `alembic` by name
    results = {"assignment": assignment, "submissions": n, "cpu_count": os.cpu_count(),
               "load_average_before": os.getloadavg()[0], "runs": {}}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        root, submissions = _class(assignment, n, Path(tmp) / "submitted")
        for workers in (1, 2):
            course = Path(tmp) / f"course-{workers}"
            start = time.perf_counter()
            outcomes, table, warnings = grade(submissions, course, root / "source", workers=workers,
                                              limits=Limits(), progress=False)
            wall = time.perf_counter() - start
            busy = sum(o.seconds for o in outcomes)
            results["runs"][workers] = {
                "wall_s": wall, "per_submission_s": wall / n, "job_s_mean": busy / n,
                "parallelism": busy / wall, "graded": sum(o.status == "graded" for o in outcomes),
                "warnings": warnings,
            }
    results["speedup"] = results["runs"][1]["wall_s"] / results["runs"][2]["wall_s"]
    results["target_speedup"] = TARGET_SPEEDUP
    results["load_average_after"] = os.getloadavg()[0]
    return results


def format_results(r: dict) -> str:
    lines = [f"grading {r['submissions']} submissions of {r['assignment']} on {r['cpu_count']} cores "
             f"(load average {r['load_average_before']:.1f} before, {r['load_average_after']:.1f} after)",
             f"{'workers':>7} {'wall s':>8} {'s/submission':>13} {'s per job':>10} {'jobs at once':>13} {'graded':>7}"]
    for workers, run_ in r["runs"].items():
        lines.append(f"{workers:>7} {run_['wall_s']:>8.1f} {run_['per_submission_s']:>13.2f} "
                     f"{run_['job_s_mean']:>10.2f} {run_['parallelism']:>13.2f} {run_['graded']:>7}")
    verdict = "meets" if r["speedup"] >= r["target_speedup"] else "misses"
    lines.append(f"speed-up with 2 workers: {r['speedup']:.2f}x ({verdict} the {r['target_speedup']}x target)")
    return "\n".join(lines)


def main():
    """Run the benchmark, print its table, return the results dict."""
    results = run()
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
