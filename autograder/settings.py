"""Paths, limits and the environment every nbgrader step runs with."""
from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CONFIG_FILE = PACKAGE / "nbgrader_config.py"

#: Seconds one cell may run (the value in nbgrader_config.py).
CELL_TIMEOUT_S = 60
#: Address space one submission's grading process and its kernel may use.
MEMORY_LIMIT_MB = 2048
#: Seconds for one student's whole assignment: start-up, every cell, feedback.
SUBMISSION_TIMEOUT_S = 900

#: Files never copied from source/ to release/ or into a grading folder.
IGNORED = (".ipynb_checkpoints", "__pycache__", "*.pyc", ".DS_Store")


def is_debris(name: str) -> bool:
    """Whether a file or folder name is editor or cache debris (:data:`IGNORED`)."""
    import fnmatch

    return any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED)


def files_under(folder: Path) -> set[str]:
    """Relative (POSIX) paths of the files under ``folder``, leaving out :data:`IGNORED` debris."""
    folder = Path(folder)
    if not folder.is_dir():
        return set()
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*")
            if path.is_file() and not any(map(is_debris, path.relative_to(folder).parts))}


class GradingError(RuntimeError):
    """The instructor's side is broken (source notebook, config, gradebook).

    Raised for problems no student caused; a broken *submission* never raises,
    it gets a score of zero and a note instead.
    """


def find_root(start: Path | None = None) -> Path:
    """The course repository: the current folder if it holds ``source/``, else
    the checkout that contains this package.
    """
    here = Path.cwd() if start is None else Path(start)
    if (here / "source").is_dir():
        return here.resolve()
    return PACKAGE.parent


def assignments_in(source: Path) -> list[str]:
    """Names of the assignments in ``source``: folders holding a notebook."""
    if not source.is_dir():
        return []
    return sorted(p.name for p in source.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb")))


def notebooks_of(source: Path, assignment: str) -> list[str]:
    """Notebook names (without ``.ipynb``) of one assignment, e.g. ``['toy']``."""
    return sorted(p.stem for p in (source / assignment).glob("*.ipynb"))


def subprocess_env(threads: int | None = None) -> dict[str, str]:
    """The environment for nbgrader and kernel processes.

    nbgrader runs ``alembic`` by name and the kernel spec runs ``python`` by
    name, so this interpreter's folder goes first on PATH: an un-activated
    virtual environment then works like an activated one.
    """
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bindir] + [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bindir])
    # The package is importable even from a checkout that was never pip-installed.
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE.parent)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    if threads is not None:
        # N parallel kernels each running a BLAS with one thread per core would
        # oversubscribe the machine N times over.
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    return env


def use_local_path() -> None:
    """Put this interpreter's folder first on this process's PATH (see subprocess_env)."""
    os.environ["PATH"] = subprocess_env()["PATH"]


def load_config(**overrides):
    """nbgrader's configuration from ``nbgrader_config.py`` plus ``overrides``.

    ``overrides`` maps ``"Section.trait"`` to a value, e.g.
    ``load_config(**{"CourseDirectory.root": "/tmp/c"})``.
    """
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader(CONFIG_FILE.name, path=str(CONFIG_FILE.parent)).load_config()
    extra = Config()
    for key, value in overrides.items():
        section, trait = key.split(".")
        extra[section][trait] = value
    cfg.merge(extra)
    return cfg
