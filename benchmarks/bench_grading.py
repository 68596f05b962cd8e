"""Grading: plain nbgrader against ``python -m autograder grade``, in one run, and where the time goes.

The class is 8 solution submissions of 02-base-cnn (the released notebook with the source's
solutions typed in). Measured, one after the other on the same machine:

1. **plain nbgrader**: in a course folder where ``nbgrader generate_assignment`` has already
   run (not timed, as an instructor runs it once; ours likewise starts from a course that has
   generated once and keeps it, see :func:`prime`), ``nbgrader autograde`` then ``nbgrader
   generate_feedback`` for the whole class: one process each, one kernel per submission, no
   protection at all;
2. ``python -m autograder grade --workers 1`` on the same hand-ins, every protection on (its check
   that the kept template still matches source/ and the course gradebook, links refused, structure restored, a forked process per submission, bubblewrap
   sandbox with no network, clean re-check, feedback, merging into the course gradebook);
3. the same with ``--workers 2``.

Prints seconds per submission for each, the ratio of (2) to (1) (target: at most 1.3x), the
speed-up of (3) over (2) (target: at least 1.8x on 2 cores), and the breakdown of (2) per
submission from the grader's ``logs/timings.json``: the batch's generate step and merging, and
each job's gradebook copy, structure restore, kernel start, the rest of nbgrader's autograde
(running the cells), the clean re-check and feedback; "process and rest" is what is left
(starting the job's process, nbgrader's set-up, the sandbox's copies).

``ENN_BENCH_GRADING_N`` changes the number of submissions. Run with
``python -m benchmarks --only grading`` or ``python -m benchmarks.bench_grading``.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "02-base-cnn"
N_SUBMISSIONS = int(os.environ.get("ENN_BENCH_GRADING_N", 8))
TARGET_RATIO = 1.3
TARGET_SPEEDUP = 1.8
#: The breakdown's rows, in order: (label, where the seconds come from).
STEPS = ["generate step", "gradebook copy", "structure restore", "kernel start", "autograde", "clean re-check",
         "feedback", "merge"]
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def solution_submission(assignment: str):
    """The released notebook with the source notebook's solutions typed in (markers removed)."""
    from autograder import cells

    release = nbformat.read(REPO / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    source = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {cells.grade_id(c): c.source for c in source.cells if cells.is_solution(c) and not cells.is_grade(c)}
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if cells.grade_id(cell) in answers:
            cell.source = "\n".join(line for line in answers[cells.grade_id(cell)].splitlines() if not _MARKER.match(line))
    return nb


def _env(home: Path) -> dict:
    from autograder.settings import subprocess_env

    env = subprocess_env()
    env.update(HOME=str(home), IPYTHONDIR=str(home / "ipython"), MPLBACKEND="Agg", CI="true",
               JUPYTER_CONFIG_DIR=str(home / "jupyter-config"), JUPYTER_DATA_DIR=str(home / "jupyter-data"),
               JUPYTER_RUNTIME_DIR=str(home / "jupyter-runtime"))
    return env


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (all cores; /proc/stat), None off Linux.

    Machine-wide on purpose: grading's processes are forked from a fork server and its kernels run
    in a sandbox, so neither getrusage nor a process tree sees all of them. On a quiet machine the
    difference over a run is the run's own CPU time.
    """
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _run(cmd, env, cwd, cpu: list | None = None) -> float:
    """Wall seconds of ``cmd``; with ``cpu``, appends the machine's busy CPU seconds during it (or None)."""
    start, cpu_start = time.perf_counter(), _busy_seconds()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    if cpu is not None:
        end = _busy_seconds()
        cpu.append(None if end is None or cpu_start is None else end - cpu_start)
    return time.perf_counter() - start


def plain_nbgrader(tmp: Path, submissions: Path, env: dict) -> dict:
    """nbgrader's own autograde + generate_feedback for the class (generate_assignment done first, untimed)."""
    course = tmp / "plain"
    shutil.copytree(REPO / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    (course / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.root = %r\n" % str(course))
    shutil.copytree(submissions, course / "submitted")
    nbgrader = [sys.executable, "-m", "nbgrader"]
    _run(nbgrader + ["generate_assignment", ASSIGNMENT, "--force"], env, course)
    autograde = _run(nbgrader + ["autograde", ASSIGNMENT, "--force"], env, course)
    feedback = _run(nbgrader + ["generate_feedback", ASSIGNMENT, "--force"], env, course)
    return {"wall_s": autograde + feedback, "autograde_s": autograde, "feedback_s": feedback}


def prime(course: Path) -> float:
    """The course's one-time generate step, as a first ``grade`` runs it; seconds.

    Plain nbgrader's ``generate_assignment`` runs once per assignment, untimed above; ours runs
    once per change of source/ and is kept in the course (:mod:`autograder.templates`), so
    both sides are timed from a course that has generated once.
    """
    from autograder.grade import CACHE, prepare

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-prime-") as tmp:
        prepare(REPO / "source", [ASSIGNMENT], course / "gradebook.db", Path(tmp), course / CACHE)
    return time.perf_counter() - start


def ours(tmp: Path, submissions: Path, env: dict, workers: int) -> dict:
    """``python -m autograder grade --workers N`` for the class, and its logs/timings.json."""
    course = tmp / f"course-{workers}"
    first_generate = prime(course)
    cpu = []
    wall = _run([sys.executable, "-m", "autograder", "--root", str(REPO), "grade", str(submissions),
                 "--course", str(course), "--workers", str(workers), "--no-progress"], env, REPO, cpu)
    timings = json.loads((course / "logs" / "timings.json").read_text())
    with open(course / "grades.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    full = sum(float(r["score"]) == float(r["max_score"]) for r in rows)
    return {"wall_s": wall, "timings": timings, "full_marks": full, "first_generate_s": first_generate,
            "cpu_s": cpu[0]}


def breakdown(run: dict, n: int) -> dict[str, float]:
    """Seconds per submission of each step of one of our runs.

    "job process and set-up" is a job's time outside its named steps (its forked process,
    nbgrader's set-up); "merge" runs in the parent while the next job grades, so it overlaps the
    job rows; "rest" is the wall time per submission not covered by the generate step and jobs.
    """
    batch, jobs = run["timings"]["batch"], list(run["timings"]["jobs"].values())
    rows = {"generate step": batch["generate"] / n}
    for step in STEPS:
        if step not in ("generate step", "merge"):
            rows[step] = sum(j.get(step, 0.0) for j in jobs) / n
    named = sum(v for k, v in rows.items() if k != "generate step")
    rows["job process and set-up"] = sum(j["total"] for j in jobs) / n - named
    rows["merge (overlaps jobs)"] = batch["merge"] / n
    rows["rest"] = run["wall_s"] / n - rows["generate step"] - sum(j["total"] for j in jobs) / n
    return rows


def run(n: int = N_SUBMISSIONS) -> dict:
    results = {"assignment": ASSIGNMENT, "submissions": n, "cpu_count": os.cpu_count(),
               "load_average_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        env = _env(tmp / "home")
        nb = solution_submission(ASSIGNMENT)
        submissions = tmp / "submitted"
        for i in range(n):
            folder = submissions / f"s{i:02d}" / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
        results["plain"] = plain_nbgrader(tmp, submissions, env)
        results["workers_1"] = ours(tmp, submissions, env, 1)
        results["workers_2"] = ours(tmp, submissions, env, 2)
    results["ratio"] = results["workers_1"]["wall_s"] / results["plain"]["wall_s"]
    results["speedup"] = results["workers_1"]["wall_s"] / results["workers_2"]["wall_s"]
    results["breakdown"] = breakdown(results["workers_1"], n)
    results["target_ratio"], results["target_speedup"] = TARGET_RATIO, TARGET_SPEEDUP
    results["load_average_after"] = os.getloadavg()[0]
    return results


def format_results(r: dict) -> str:
    n = r["submissions"]
    lines = [f"grading {n} solution submissions of {r['assignment']} on {r['cpu_count']} cores "
             f"(load average {r['load_average_before']:.1f} before, {r['load_average_after']:.1f} after)",
             f"{'run':<44} {'wall s':>8} {'s/submission':>13}",
             f"{'plain nbgrader autograde + generate_feedback':<44} {r['plain']['wall_s']:>8.1f} "
             f"{r['plain']['wall_s'] / n:>13.2f}"]
    for workers in (1, 2):
        one = r[f"workers_{workers}"]
        lines.append(f"{f'python -m autograder grade --workers {workers}':<44} {one['wall_s']:>8.1f} "
                     f"{one['wall_s'] / n:>13.2f}")
    lines.append(f"full marks: {r['workers_1']['full_marks']}/{n} (1 worker), {r['workers_2']['full_marks']}/{n} (2)")
    lines.append(f"not timed on either side: the first run's generate step, {r['workers_1']['first_generate_s']:.1f} s "
                 "(ours: once per change of source/; plain: generate_assignment)")
    lines.append("where --workers 1 spends its time, s per submission:")
    for step, seconds in r["breakdown"].items():
        lines.append(f"  {step:<24} {seconds:>6.2f}")
    if all(r[f"workers_{w}"]["cpu_s"] is not None for w in (1, 2)):
        for w in (1, 2):
            one = r[f"workers_{w}"]
            lines.append(f"--workers {w}: the machine busy {one['cpu_s']:.1f} CPU s in {one['wall_s']:.1f} s, "
                         f"{one['cpu_s'] / one['wall_s']:.2f} of {r['cpu_count']} cores on average "
                         "(all processes: meaningful on a quiet machine only)")
    ratio = "meets" if r["ratio"] <= r["target_ratio"] else "misses"
    speed = "meets" if r["speedup"] >= r["target_speedup"] else "misses"
    lines.append(f"--workers 1 / plain nbgrader: {r['ratio']:.2f}x ({ratio} the {r['target_ratio']}x target)")
    lines.append(f"speed-up with 2 workers: {r['speedup']:.2f}x ({speed} the {r['target_speedup']}x target)")
    return "\n".join(lines)


def main():
    """Run the benchmark, print its table, return the results dict."""
    results = run()
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
