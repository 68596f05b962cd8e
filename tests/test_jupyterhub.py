"""The course on a real JupyterHub, driven in Debian's Chromium.

JupyterHub from PyPI with its configurable-http-proxy from npm, LocalProcessSpawner running
each user's server as that user's OS account, SharedPasswordAuthenticator with a test
password, and the course's roles: the ``students`` group gets course/jupyter/student (nbgrader's
Assignments and Validate only), the ``instructors`` group course/jupyter/instructor.

A student logs in, fetches 02-base-cnn from the Assignments tab, types the answers into the
notebook, saves and submits; the course's grader collects, grades and returns with
``python -m autograder``; the student fetches the feedback and it shows full marks. The
instructor's JupyterLab has Formgrader and Create Assignment, the student's has neither.
Screenshots go to artifacts/jupyterhub/.

Also here, without a browser: ``make lab``'s JupyterLab serves the settings that keep the news
pop-up away, and the role folders switch nbgrader's server extensions as they say.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

import browser_support as bs
import exchange_support as xs
import hub_support as hs

REPO = Path(__file__).resolve().parents[1]
A = "02-base-cnn"
SHOTS = REPO / "artifacts" / "jupyterhub"
STUDENT, TEACHER = "ennhubstu", "ennhubteach"
NEWS_PROMPT = "Would you like to get notified about official Jupyter news?"
INSTRUCTOR_ONLY = ["nbgrader:open-formgrader", "nbgrader:open-create-assignment", "nbgrader:open-course-list"]


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


# --------------------------------------------------------------------------- without a browser
def _lab_command_from_makefile() -> list[str]:
    """The ``jupyter lab ...`` line ``make lab`` runs, as make prints it (nothing is run)."""
    out = subprocess.run(["make", "-n", "lab", "LAB_DIR=."], cwd=REPO, capture_output=True, text=True, check=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("jupyter lab")]
    assert len(lines) == 1, out.stdout
    return lines[0].split()[2:]


def _start_server(root: Path, home: Path, args: list[str], extra_env: dict | None = None):
    token, port = secrets.token_hex(16), bs.free_port()
    home.mkdir(parents=True, exist_ok=True)
    env = bs.isolated_env(home)
    env.update(extra_env or {})
    log = home / "server.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.token={token}", f"--port={port}", "--ServerApp.port_retries=0", *args]
    if os.geteuid() == 0 and "--allow-root" not in cmd:
        cmd.append("--allow-root")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            return proc, url, token
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"jupyter lab did not answer:\n{log.read_text()[-3000:]}")


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def _stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(15)


@pytest.mark.slow
@pytest.mark.parametrize("with_makefile_settings", [True, False], ids=["make-lab", "plain-jupyter-lab"])
def test_make_lab_turns_the_news_prompt_off(tmp_path, with_makefile_settings):
    """JupyterLab asks about news when fetchNews is "none"; make lab's settings make it "false"."""
    args = [a for a in _lab_command_from_makefile() if a.startswith("--LabApp.")] if with_makefile_settings else []
    assert not with_makefile_settings or args, "make lab passes no JupyterLab settings"
    proc, url, token = _start_server(tmp_path, tmp_path / "home", args)
    try:
        status, body = _get(f"{url}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}")
    finally:
        _stop(proc)
    assert status == 200
    reply = json.loads(body)
    # what the page computes: the user's settings over the schema's defaults (where overrides land)
    composite = {key: reply["settings"].get(key, prop.get("default"))
                 for key, prop in reply["schema"]["properties"].items()}
    if with_makefile_settings:
        assert composite["fetchNews"] == "false" and composite["checkForUpdates"] is False
    else:  # the control: without the settings JupyterLab would ask
        assert composite["fetchNews"] == "none"


@pytest.mark.slow
@pytest.mark.parametrize("role,formgrader", [("student", 404), ("instructor", 200)])
def test_role_folders_switch_formgrader(tmp_path, role, formgrader):
    """The role folder on JUPYTER_CONFIG_PATH decides whether nbgrader's formgrader is served."""
    root = tmp_path / "root"
    root.mkdir()
    roles = hs.ROLES / role
    proc, url, token = _start_server(root, tmp_path / "home", [], {
        "JUPYTER_CONFIG_PATH": os.pathsep.join([str(roles), str(Path(sys.prefix) / "etc" / "jupyter")]),
        "ENN_ROOT": str(REPO), "ENN_EXCHANGE": str(tmp_path / "exchange")})
    try:
        status, _ = _get(f"{url}/formgrader?token={token}")
        assignments, _ = _get(f"{url}/assignments?course_id=efficientnn&token={token}")
        lab_status, lab = _get(f"{url}/lab?token={token}")
    finally:
        _stop(proc)
    assert status == formgrader
    assert assignments == 200  # both roles keep the Assignments tab's server side
    page_config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>\s*(\{.*?\})\s*</script>', lab, re.S)[1])
    disabled = page_config.get("disabledExtensions", [])
    hidden = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"}
    assert hidden <= set(disabled) if role == "student" else not hidden & set(disabled)


# --------------------------------------------------------------------------- the hub in a browser
def _solutions() -> dict[str, str]:
    """The instructor's code for each solution cell of A, as a student who did every task types it."""
    out = {}
    for cell in nbformat.read(REPO / "source" / A / f"{A}.ipynb", as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            out[meta["grade_id"]] = "\n".join(line for line in cell.source.splitlines()
                                              if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return out


def _points() -> float:
    cells = nbformat.read(REPO / "source" / A / f"{A}.ipynb", as_version=4).cells
    return sum(float(c.metadata.nbgrader["points"]) for c in cells if c.metadata.get("nbgrader", {}).get("grade"))


@pytest.fixture(scope="module")
def hub():
    xs.require_root()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        xs.skip_or_fail("the hub test needs playwright (pip install -e '.[browser]')")
    if bs.chromium_path() is None:
        xs.skip_or_fail("the hub test needs Debian's chromium (apt-get install chromium)")
    if hs.proxy_path() is None:
        xs.skip_or_fail("JupyterHub's proxy is missing (npm install -g configurable-http-proxy; .ci/run does it)")
    with xs.reachable_checkout():
        yield from _hub()


def _hub():
    base = xs.shared_folder("enn-hub-")
    accounts = [xs.Account(name, base / f"home-{name}") for name in (STUDENT, TEACHER)]
    for acc in accounts:
        # every cell attached to the page, so the test can reach each one
        acc.write(".config/jupyter/lab/user-settings/@jupyterlab/notebook-extension/tracker.jupyterlab-settings",
                  json.dumps({"windowingMode": "none"}))
    grader_home = base / "home-grader"
    grader_home.mkdir()
    env = dict(os.environ, HOME=str(grader_home), PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                                                       os.environ["PATH"]]))
    server = None
    try:
        server = hs.start_hub(base, [STUDENT], [TEACHER], base / "exchange", REPO)
        yield server, base, env
    finally:
        if server is not None:
            hs.stop_hub(server)
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / "jupyterhub.log").write_text(server.log_tail(400_000))
        for acc in accounts:
            acc.remove()
        import shutil
        shutil.rmtree(base, ignore_errors=True)


def grader(env, base, *args):
    """``python -m autograder`` as the course's grader (root, with a home of its own)."""
    extra = ["--exchange", str(base / "exchange")] if args[0] in ("publish", "collect", "return") else []
    out = subprocess.run([sys.executable, "-m", "autograder", *args, *extra, "--course", str(base / "course")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, f"{args}: {out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="module")
def browser():
    with bs.chromium_browser() as chromium:
        yield chromium


def _login(browser, server, user):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(60_000)
    page = ctx.new_page()
    page.goto(f"{server.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", server.password)
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=240_000)  # the hub spawns the server first
    page.locator(".jp-LabShell").wait_for()
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands.hasCommand('nbgrader:open-assignment-list')")
    return ctx, page


def _commands(page) -> dict[str, bool]:
    return page.evaluate("ids => Object.fromEntries(ids.map(c => [c, window.jupyterapp.commands.hasCommand(c)]))",
                         INSTRUCTOR_ONLY + ["nbgrader:open-assignment-list"])


def _open_assignment_list(page):
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("Assignment List")).click()
    page.locator("#released_assignments_list").wait_for()


@pytest.mark.slow
@pytest.mark.browser
def test_a_student_fetches_answers_submits_and_sees_feedback(hub, browser):
    server, base, env = hub
    grader(env, base, "publish", A)

    ctx, page = _login(browser, server, STUDENT)
    try:
        _shot(page, "01-student-lab")
        commands = _commands(page)
        assert commands == {**{c: False for c in INSTRUCTOR_ONLY}, "nbgrader:open-assignment-list": True}

        _open_assignment_list(page)
        released = page.locator("#released_assignments_list")
        released.locator(".list_item", has_text=A).get_by_role("button", name="Fetch").click()
        fetched = page.locator("#fetched_assignments_list .list_item", has_text=A).first
        fetched.wait_for()
        _shot(page, "02-fetched")
        fetched.locator("a.assignment-notebooks-link").click()
        fetched.locator(".nested_list_item a", has_text=A).click()

        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        panel.locator(".jp-Notebook .jp-Cell").first.wait_for()
        # the student's Validate button is there (nbgrader's student side)
        panel.locator(".validate-button").wait_for()
        release = nbformat.read(REPO / "release" / A / f"{A}.ipynb", as_version=4)
        position = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(release.cells)}
        cells = panel.locator(".jp-Notebook .jp-Cell")
        try:  # cells are attached as the notebook renders
            page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length === n",
                                   arg=[".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell", len(release.cells)])
        except Exception:
            _shot(page, "03-notebook-FAILED")
            raise AssertionError(f"the notebook shows {cells.count()} of {len(release.cells)} cells")
        for grade_id, code in _solutions().items():
            editor = cells.nth(position[grade_id]).locator(".cm-content")
            editor.click()
            page.keyboard.press("Control+A")
            page.keyboard.insert_text(code)
        page.keyboard.press("Control+S")
        _shot(page, "03-answered")
        saved_path = base / f"home-{STUDENT}" / A / f"{A}.ipynb"
        deadline = time.monotonic() + 60
        while True:  # the save is asynchronous: wait for the answers to reach the student's file
            saved = nbformat.read(saved_path, as_version=4)
            if all(saved.cells[position[g]].source == code for g, code in _solutions().items()):
                break
            assert time.monotonic() < deadline, "the answers typed in the browser never reached the saved notebook"
            time.sleep(0.5)

        _open_assignment_list(page)
        page.locator("#fetched_assignments_list .list_item", has_text=A).first.get_by_role(
            "button", name="Submit").click()
        page.locator("#submitted_assignments_list .list_item", has_text=A).first.wait_for()
        _shot(page, "04-submitted")
        assert NEWS_PROMPT not in page.inner_text("body")

        out = grader(env, base, "collect", A)
        assert STUDENT in out.stdout
        grader(env, base, "grade", "--assignment", A, "--no-progress")
        out = grader(env, base, "return", A)
        assert "returned feedback on 02-base-cnn: 1 student(s)" in out.stdout

        page.reload()  # the list shows what the exchange held when it was drawn
        page.locator(".jp-LabShell").wait_for()
        _open_assignment_list(page)
        submitted = page.locator("#submitted_assignments_list .list_item", has_text=A).first
        submitted.get_by_role("button", name="Fetch Feedback").click()
        page.locator("#submitted_assignments_list", has_text="view feedback").wait_for()
        _shot(page, "05-feedback-fetched")
        pages = list((base / f"home-{STUDENT}" / A / "feedback").glob(f"*/{A}.html"))
        assert len(pages) == 1
        assert xs.feedback_score(pages[0].read_text()) == (_points(), _points())
    finally:
        ctx.close()


@pytest.mark.slow
@pytest.mark.browser
def test_the_instructor_sees_formgrader_and_create_assignment(hub, browser):
    server, _, _ = hub
    ctx, page = _login(browser, server, TEACHER)
    try:
        assert all(_commands(page).values()), _commands(page)
        page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
        menu = page.locator(".lm-Menu").last.inner_text()
        _shot(page, "06-instructor-menu")
        assert "Formgrader" in menu and "Assignment List" in menu
    finally:
        ctx.close()
