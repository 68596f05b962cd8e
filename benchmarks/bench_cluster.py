"""Grading a class on Dask and into PostgreSQL: what the engines cost, in one run.

1. **Dask against local.** The same 40 submissions (copies of the toy assignment's quick example
   hand-ins: the cheapest real submissions, so the engine's own cost weighs most) graded by ``autograder.grade.grade`` with ``workers=2``,
   then on a real cluster on this machine (``dask scheduler`` and two ``dask worker
   --nthreads 1`` processes) with ``scheduler=``. The ratio of wall times is the engine's cost
   (goal: at most 1.15x).
2. **A killed worker.** The same batch on a fresh two-worker cluster; when a quarter of the
   grades are in, one worker and everything it started are killed (SIGKILL). Wall time, and
   whether the batch still ends with every grade exactly once.
3. **PostgreSQL under four graders.** Four ``python -m autograder grade --db postgresql://...``
   processes start together on one fresh database (each its own course folder and a share of
   the class) and grade for real. Then the merge path alone, at scale: 200 students' graded
   results (the real job gradebooks of step 3's students, copied under new student ids) are
   merged by four processes at once with ``autograder.gradebook.merge``, the call the parent
   makes once per finished submission; the time of each merge is the time the gradebook adds
   per submission (against the same merges into a SQLite file by one process). Both end with a
   count of rows: none lost, none twice.

``ENN_BENCH_CLUSTER_N`` (40), ``ENN_BENCH_CLUSTER_ASSIGNMENT`` (``toy``, or a course assignment
such as ``01-measuring-cost``, graded from ``course/examples/submitted``), ``ENN_BENCH_CLUSTER_REAL_PG`` (submissions per grader in step 3, 5)
and ``ENN_BENCH_CLUSTER_MERGES`` (200) change the load. Run with
``python -m benchmarks --only cluster``.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
N_SUBMISSIONS = int(os.environ.get("ENN_BENCH_CLUSTER_N", 40))
ASSIGNMENT = os.environ.get("ENN_BENCH_CLUSTER_ASSIGNMENT", "toy")
REAL_PER_GRADER = int(os.environ.get("ENN_BENCH_CLUSTER_REAL_PG", 5))
N_MERGES = int(os.environ.get("ENN_BENCH_CLUSTER_MERGES", 200))
GRADERS = 4
TARGET_RATIO = 1.15


def _services():
    sys.path.insert(0, str(REPO / "tests"))
    import services
    return services


def _graded_once(course: Path, students: set[str]) -> bool:
    with sqlite3.connect(course / "gradebook.db") as con:
        ids = [r[0] for r in con.execute("SELECT student_id FROM submitted_assignment")]
    return sorted(ids) == sorted(students)


def _timed_grade(submissions, course, root, **kw) -> tuple[float, list]:
    from autograder.grade import grade
    start = time.perf_counter()
    outcomes, _, warnings = grade(submissions, course, root / "source", progress=False, **kw)
    return time.perf_counter() - start, outcomes


def dask_against_local(tmp: Path, n: int, assignment: str) -> dict:
    services = _services()
    root, submissions = _class(assignment, n, tmp / "submitted")
    students = {p.name for p in submissions.iterdir()}
    local_s, local = _timed_grade(submissions, tmp / "course-local", root, workers=2)
    with services.dask_cluster(n_workers=2, threads=1) as dask:
        dask_s, remote = _timed_grade(submissions, tmp / "course-dask", root, scheduler=dask.address)
    same = _scores(tmp / "course-local") == _scores(tmp / "course-dask")

    with services.dask_cluster(n_workers=2, threads=1) as dask:
        course = tmp / "course-killed"
        killed_at = {}

        def kill_when_a_quarter_is_in():
            while len(list((course / "logs" / assignment).glob("*.log"))) < n // 4:
                time.sleep(0.2)
            killed_at["s"] = time.perf_counter() - start
            dask.kill_worker("w1")

        start = time.perf_counter()
        threading.Thread(target=kill_when_a_quarter_is_in, daemon=True).start()
        killed_s, killed = _timed_grade(submissions, course, root, scheduler=dask.address)
    return {
        "assignment": assignment, "submissions": n,
        "local_2_workers_s": local_s, "dask_2_workers_s": dask_s, "ratio": dask_s / local_s,
        "target_ratio": TARGET_RATIO, "same_scores": same,
        "local_graded": sum(o.status == "graded" for o in local),
        "dask_graded": sum(o.status == "graded" for o in remote),
        "killed_worker_s": killed_s, "killed_after_s": killed_at.get("s"),
        "killed_graded": sum(o.status == "graded" for o in killed),
        "killed_every_grade_once": _graded_once(course, students) and _graded_once(tmp / "course-dask", students),
        "killed_same_scores": _scores(course) == _scores(tmp / "course-local"),
    }


def _class(assignment: str, n: int, dest: Path) -> tuple[Path, Path]:
    """(course root with source/, submissions folder) holding ``n`` copies of example hand-ins."""
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


def _scores(course: Path) -> dict:
    import csv
    with open(course / "grades.csv", newline="") as fh:
        return {(r["student_id"], r["assignment"]): (r["score"], r["note"]) for r in csv.DictReader(fh)}


# ---------------------------------------------------------------- PostgreSQL

def _real_graders(tmp: Path, db: str) -> dict:
    """Four grading processes at once on one fresh PostgreSQL gradebook (toy assignment)."""
    toy = REPO / "tests" / "fixtures" / "toy-assignment"
    examples = toy / "course" / "examples" / "submitted"
    quick = ("alice", "bob", "carol", "grace", "ivan")
    procs, students = [], {}
    start = time.perf_counter()
    for g in range(GRADERS):
        share = tmp / f"share{g}"
        for i in range(REAL_PER_GRADER):
            student, original = f"g{g}s{i:02d}", quick[(g * REAL_PER_GRADER + i) % len(quick)]
            shutil.copytree(examples / original, share / student)
            students[student] = original
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "autograder", "--root", str(toy), "grade", str(share), "--course",
             str(tmp / f"course{g}"), "--db", db, "--workers", "1", "--no-progress", "--keep-temp"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate() for p in procs]
    wall = time.perf_counter() - start
    failed = [o[0][-500:] + o[1][-2000:] for p, o in zip(procs, outputs) if p.returncode != 0]
    kept = [line.split(" kept in ", 1)[1].strip() for _, err in outputs for line in err.splitlines()
            if "temporary grading folders kept in" in line]
    return {"wall_s": wall, "failed": failed, "students": students, "kept": kept}


def _job_gradebooks(kept: list[str]) -> dict[str, Path]:
    """{student: that student's real job gradebook} from the graders' kept job folders."""
    found = {}
    for folder in kept:
        for db in Path(folder).glob("jobs/*/gradebook.db"):
            with sqlite3.connect(db) as con:
                row = con.execute("SELECT student_id FROM submitted_assignment").fetchone()
            if row:
                found[row[0]] = db
    return found


def _renamed_copy(db: Path, old: str, new: str, dest: Path) -> Path:
    shutil.copyfile(db, dest)
    with sqlite3.connect(dest) as con:
        con.execute("PRAGMA foreign_keys = OFF")
        con.execute("UPDATE student SET id = ? WHERE id = ?", (new, old))
        con.execute("UPDATE submitted_assignment SET student_id = ? WHERE student_id = ?", (new, old))
    return dest


def _merge_share(args) -> list[float]:
    course_db, jobs = args
    from autograder import gradebook
    gradebook.rows(course_db, {})  # imports and a first connection: a grading parent has them already
    times = []
    for student, job_db in jobs:
        start = time.perf_counter()
        gradebook.merge(course_db, "toy", student, Path(job_db))
        times.append(time.perf_counter() - start)
    return times


def _count(db_url: str) -> tuple[int, int, float]:
    from sqlalchemy import create_engine, text
    engine = create_engine(db_url)
    with engine.connect() as con:
        n, distinct = con.execute(text("SELECT count(*), count(DISTINCT student_id) FROM submitted_assignment "
                                       "WHERE student_id LIKE 'm%'")).one()
        total = con.execute(text(
            "SELECT coalesce(sum(g.auto_score), 0) FROM grade g JOIN submitted_notebook nb ON g.notebook_id = nb.id "
            "JOIN submitted_assignment sa ON nb.assignment_id = sa.id WHERE sa.student_id LIKE 'm%'")).scalar()
    engine.dispose()
    return n, distinct, float(total)


def _ms(times: list[float]) -> dict:
    times = sorted(times)
    return {"median_ms": 1000 * statistics.median(times), "p95_ms": 1000 * times[int(0.95 * (len(times) - 1))],
            "mean_ms": 1000 * statistics.fmean(times)}


def postgres_graders(tmp: Path) -> dict:
    from autograder.settings import use_local_path

    services = _services()
    use_local_path()
    with services.postgres_server() as pg:
        db = pg.create_database("bench_course")
        real = _real_graders(tmp, db)
        real_rows = _count_real(db, real["students"])
        jobs = _job_gradebooks(real["kept"])
        if not jobs:
            raise RuntimeError("no graded job gradebook to replay: " + "\n".join(real["failed"]))
        originals = sorted(jobs)
        score_of = {s: _job_score(jobs[s]) for s in originals}
        replay = tmp / "replay"
        replay.mkdir()
        plan = []
        for i in range(N_MERGES):
            source = originals[i % len(originals)]
            new = f"m{i:03d}"
            plan.append((new, str(_renamed_copy(jobs[source], source, new, replay / f"{new}.db")), score_of[source]))
        expected_total = sum(score for _, _, score in plan)
        shares = [(db, [(s, j) for s, j, _ in plan[g::GRADERS]]) for g in range(GRADERS)]
        start = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(GRADERS) as pool:
            times = [t for share in pool.map(_merge_share, shares) for t in share]
        merge_wall = time.perf_counter() - start
        n, distinct, total = _count(db)

        sqlite_db = tmp / "sqlite-course.db"
        shutil.copyfile(next(iter(jobs.values())), sqlite_db)  # holds the assignment, like a course gradebook
        sqlite_times = _merge_share((str(sqlite_db), [(s, j) for s, j, _ in plan]))
        for real_kept in real["kept"]:
            shutil.rmtree(real_kept, ignore_errors=True)
    return {
        "real": {"graders": GRADERS, "submissions": len(real["students"]), "wall_s": real["wall_s"],
                 "failed": real["failed"], **real_rows},
        "merges": N_MERGES, "merge_processes": GRADERS, "merge_wall_s": merge_wall,
        "postgres": _ms(times), "sqlite_one_process": _ms(sqlite_times),
        "rows": n, "distinct_students": distinct, "score_total": total, "expected_score_total": expected_total,
        "none_lost_or_twice": n == N_MERGES and distinct == N_MERGES and total == expected_total,
    }


def _job_score(db: Path) -> float:
    with sqlite3.connect(db) as con:
        return float(con.execute("SELECT coalesce(sum(auto_score), 0) FROM grade").fetchone()[0])


def _count_real(db: str, students: dict) -> dict:
    from sqlalchemy import create_engine, text
    engine = create_engine(db)
    with engine.connect() as con:
        ids = [r[0] for r in con.execute(text("SELECT student_id FROM submitted_assignment WHERE student_id LIKE 'g%'"))]
        assignments = con.execute(text("SELECT count(*) FROM assignment")).scalar()
    engine.dispose()
    return {"rows": len(ids), "every_grade_once": sorted(ids) == sorted(students), "assignments": assignments}


def run(n: int = N_SUBMISSIONS, assignment: str = ASSIGNMENT) -> dict:
    from autograder.settings import use_local_path

    use_local_path()  # nbgrader runs `alembic` by name
    results = {"cpu_count": os.cpu_count(), "load_average_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        (Path(tmp) / "dask").mkdir()
        (Path(tmp) / "pg").mkdir()
        results["dask"] = dask_against_local(Path(tmp) / "dask", n, assignment)
        results["postgres"] = postgres_graders(Path(tmp) / "pg")
    results["load_average_after"] = os.getloadavg()[0]
    return results


def format_results(r: dict) -> str:
    d, p = r["dask"], r["postgres"]
    verdict = "meets" if d["ratio"] <= d["target_ratio"] else "misses"
    lines = [
        f"{d['submissions']} submissions of {d['assignment']} on {r['cpu_count']} cores "
        f"(load average {r['load_average_before']:.1f} before, {r['load_average_after']:.1f} after)",
        f"  local, --workers 2:          {d['local_2_workers_s']:7.1f} s  ({d['local_graded']} graded)",
        f"  Dask, 2 workers x 1 thread:  {d['dask_2_workers_s']:7.1f} s  ({d['dask_graded']} graded)   "
        f"ratio {d['ratio']:.2f}x ({verdict} the {d['target_ratio']}x goal); same grades: {d['same_scores']}",
        f"  Dask, one worker killed at {d['killed_after_s'] or 0:.0f} s: {d['killed_worker_s']:7.1f} s "
        f"({d['killed_graded']} graded; every grade once: {d['killed_every_grade_once']}; "
        f"same grades as local: {d['killed_same_scores']})",
        f"PostgreSQL: {p['real']['graders']} graders at once, {p['real']['submissions']} real submissions: "
        f"{p['real']['wall_s']:.1f} s, every grade once: {p['real']['every_grade_once']}, "
        f"assignment rows: {p['real']['assignments']}, failed graders: {len(p['real']['failed'])}",
        f"  {p['merges']} replayed results merged by {p['merge_processes']} processes in {p['merge_wall_s']:.1f} s: "
        f"{p['rows']} rows, {p['distinct_students']} students, score total {p['score_total']:g} "
        f"(expected {p['expected_score_total']:g}): none lost or twice: {p['none_lost_or_twice']}",
        f"  merge per submission: PostgreSQL (4 at once) median {p['postgres']['median_ms']:.0f} ms, "
        f"p95 {p['postgres']['p95_ms']:.0f} ms; SQLite file (1 process) median "
        f"{p['sqlite_one_process']['median_ms']:.0f} ms, p95 {p['sqlite_one_process']['p95_ms']:.0f} ms",
    ]
    return "\n".join(lines)


def main():
    """Run the benchmark, print its table, return the results dict."""
    results = run()
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
