"""Helpers for tests/test_browser.py: a student's copy of a course, a JupyterLab server, Chromium.

Nothing here installs anything: CI (``.ci/run``) installs Debian's ``chromium`` and the
``[browser]`` extra (playwright) before the tests run.
"""
from __future__ import annotations

import ast
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat

from services import stop_process, wait_for_http

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "artifacts" / "browser"

#: Without the background-networking flags Chromium keeps dialling Google's hosts, which this
#: closed network refuses; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]

# JupyterLab user settings for the test: attach every cell to the DOM (the default windowing
# leaves off-screen cells unrendered or unlaid-out) and never fetch news or update checks.
_LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}


def chromium_path() -> str | None:
    """Debian's Chromium (``/usr/bin/chromium``), or None when it is not installed."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@contextmanager
def chromium_browser():
    """Playwright's Chromium, headless, on Debian's binary with :data:`CHROMIUM_ARGS`; closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def started_in_ci() -> bool:
    """Whether the test run was started with CI=true (recorded by tests/conftest.py before it
    sets CI=true itself to silence OpenVINO's telemetry)."""
    return os.environ.get("ENN_STARTED_IN_CI") == "1"


# --------------------------------------------------------------------------- the course copy
def solve_release_notebook(release_nb: Path, source_nb: Path, target: Path) -> None:
    """Write ``release_nb`` to ``target`` with each solution cell holding the instructor's code.

    This is the notebook of a student who did every task: Run All only reaches the self-check
    widgets at the end when no earlier check raises (NotImplementedError stops the run).
    """
    release = nbformat.read(release_nb, as_version=4)
    solutions = {}
    for cell in nbformat.read(source_nb, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            lines = [line for line in cell.source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
            solutions[meta["grade_id"]] = "\n".join(lines)
    filled = 0
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in solutions:
            cell.source = solutions[grade_id]
            filled += 1
    if filled != len(solutions):
        raise ValueError(f"{release_nb}: filled {filled} of {len(solutions)} solution cells from {source_nb}")
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(release, target)


def make_course_root(tmp: Path, assignment: str) -> Path:
    """A server root for one student and the instructor, laid out the way nbgrader wants it.

    ``<root>/<assignment>/<assignment>.ipynb``: the student's solved copy of the release notebook;
    ``<root>/unsolved/<assignment>.ipynb``: the release notebook as a student first gets it;
    ``<root>/course/source/<a>/``: every assignment of the course (what formgrader lists);
    ``<root>/nbgrader_config.py``: the grader's config plus ``CourseDirectory.root`` and an
    exchange folder inside ``tmp`` (nbgrader reads the file from the server's working folder,
    for Validate and for formgrader alike).
    """
    root = tmp / "root"
    release_nb = REPO / "release" / assignment / f"{assignment}.ipynb"
    solve_release_notebook(release_nb, REPO / "source" / assignment / f"{assignment}.ipynb",
                           root / assignment / f"{assignment}.ipynb")
    (root / "unsolved").mkdir()
    shutil.copyfile(release_nb, root / "unsolved" / release_nb.name)
    shutil.copytree(REPO / "source", root / "course" / "source",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc"))
    config = REPO / "autograder" / "nbgrader_config.py"
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({config.name!r}, path={str(config.parent)!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(root / 'course')!r}\n"
        f"c.CourseDirectory.course_id = 'efficientnn'\n"
        f"c.Exchange.root = {str(tmp / 'exchange')!r}\n")
    (tmp / "exchange").mkdir()
    return root


def drill_call_kwargs(notebook: Path) -> dict:
    """Keyword arguments of the ``drill(...)`` call in ``notebook`` (seed, kinds, layer_kinds).

    Read from the notebook itself, so the test poses the same questions as the page.
    """
    calls = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code" or "drill(" not in cell.source:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "drill":
                calls.append({kw.arg: ast.literal_eval(kw.value) for kw in node.keywords})
    if len(calls) != 1:
        raise ValueError(f"{notebook}: expected one drill(...) call, found {len(calls)}")
    return calls[0]


# --------------------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(home: Path) -> dict[str, str]:
    """The environment for JupyterLab and Chromium: every home-folder write lands in ``home``."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bindir] + [p for p in env.get("PATH", "").split(os.pathsep) if p != bindir])
    env.update({
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "lab-workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
        "MPLCONFIGDIR": str(home / "matplotlib"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "CI": "true",  # OpenVINO: no telemetry files in HOME
        "PYTHONPATH": os.pathsep.join([str(REPO)] + [p for p in [env.get("PYTHONPATH")] if p]),
    })
    return env


@dataclass
class LabServer:
    process: subprocess.Popen
    url: str
    token: str
    root: Path
    log: Path

    def page_url(self, path: str, **query) -> str:
        params = "".join(f"&{k}" if v is None else f"&{k}={v}" for k, v in query.items())
        return f"{self.url}{path}?token={self.token}{params}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def start_lab(root: Path, home: Path, timeout_s: float = 60) -> LabServer:
    """Start ``jupyter lab`` in ``root`` on a free loopback port with a random token; wait until it answers."""
    for rel, settings in _LAB_SETTINGS.items():
        path = home / "lab-settings" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    token, port = secrets.token_hex(16), free_port()
    log = home / "jupyter-server.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.token={token}", f"--port={port}", "--ServerApp.port_retries=0",
           f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, cwd=root, env=isolated_env(home), stdout=out, stderr=subprocess.STDOUT)
    server = LabServer(process, f"http://127.0.0.1:{port}", token, root, log)
    wait_for_http(server.page_url("/api/status"), process, "jupyter lab", server.log_tail, timeout_s)
    return server


def stop_lab(server: LabServer, grace_s: float = 10) -> None:
    """Stop the server by its PID: terminate, wait, then kill."""
    stop_process(server.process, grace_s)
