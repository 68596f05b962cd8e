"""What a grading worker is given and what it gives back: typed, and sent as JSON.

A :class:`GradingJob` is one student's submission of one assignment with everything a worker
needs to grade it (where the files are, the limits, the sandbox); a worker process reads it from
a JSON file (:meth:`GradingJob.read`) and writes a :class:`Result`. The parent turns results into
:class:`Outcome` objects. A runner (:mod:`autograder.runner`) takes a list of jobs and yields
outcomes; where the workers run (local processes, or elsewhere) is the runner's business.

Example
-------
>>> job = GradingJob(student="alice", assignment="toy", notebooks=("toy",), submission_dir="s",
...                  source_dir="src", release_dir="rel", template_db="t.db", workdir="w")
>>> GradingJob.from_dict(job.to_dict()) == job
True
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from autograder.sandbox import SandboxSpec
from autograder.settings import CELL_TIMEOUT_S, MEMORY_LIMIT_MB, SUBMISSION_TIMEOUT_S

#: Outcome statuses: a score was computed (graded, failed), or the submission scored 0 without
#: being run (refused: links, devices, ...; unreadable: no notebook), or its process ended badly.
STATUSES = ("graded", "failed", "refused", "unreadable", "timeout", "crashed")


@dataclass
class Limits:
    """Resource limits for one submission: seconds a cell, MB of address space, seconds in all."""
    cell_timeout_s: int = CELL_TIMEOUT_S
    memory_mb: int = MEMORY_LIMIT_MB
    submission_timeout_s: int = SUBMISSION_TIMEOUT_S


@dataclass
class Submission:
    """One student's folder for one assignment, as found in SUBMISSIONS."""
    student: str
    assignment: str
    folder: Path


@dataclass(frozen=True)
class GradingJob:
    """Everything one worker needs to grade one submission.

    submission_dir : the student's folder (``SUBMISSIONS/<student>/<assignment>``), or "" for none
    source_dir : ``source/<assignment>`` (its non-notebook files, and the clean re-check)
    release_dir : the released notebooks, to restore the submission's structure
    template_db : a gradebook that holds the assignment, copied for this job
    workdir : an empty folder the worker grades in
    sandbox : how the kernel is sandboxed, or None for no sandbox
    nproc : processes the kernel's uid may have (root-mode sandbox only; 0 for no limit)
    file_mb : largest file a kernel may write
    """
    student: str
    assignment: str
    notebooks: tuple[str, ...]
    submission_dir: str
    source_dir: str
    release_dir: str
    template_db: str
    workdir: str
    cell_timeout_s: int = CELL_TIMEOUT_S
    memory_mb: int = MEMORY_LIMIT_MB
    cpu_s: int = SUBMISSION_TIMEOUT_S
    strict_names: bool = False
    sandbox: SandboxSpec | None = None
    nproc: int = 256
    file_mb: int = 256

    def to_dict(self) -> dict:
        data = asdict(self)
        data["sandbox"] = self.sandbox.to_dict() if self.sandbox else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "GradingJob":
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["notebooks"] = tuple(data.get("notebooks", ()))
        data["sandbox"] = SandboxSpec.from_dict(data["sandbox"]) if data.get("sandbox") else None
        return cls(**data)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def read(cls, path: Path) -> "GradingJob":
        return cls.from_dict(json.loads(Path(path).read_text()))

    @property
    def ledger(self) -> Path:
        """The file the kernel's checkers record to (:mod:`efficientnn.quiz.ledger`)."""
        return Path(self.workdir) / "ledger.jsonl"

    @property
    def result_path(self) -> Path:
        return Path(self.workdir) / "result.json"


@dataclass
class Result:
    """What a worker writes back: a status of :data:`STATUSES`, notes for the report, nbgrader's log,
    and seconds spent in each step (for the benchmark's breakdown)."""
    status: str
    notes: list[str] = field(default_factory=list)
    log: str = ""
    steps: dict[str, float] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def read(cls, path: Path) -> "Result":
        data = json.loads(Path(path).read_text())
        return cls(data["status"], list(data.get("notes", [])), data.get("log", ""), dict(data.get("steps", {})))


@dataclass
class Outcome:
    """What grading one submission produced, as the parent sees it."""
    job: Submission
    status: str
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)
