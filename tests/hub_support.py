"""A real JupyterHub for tests: configurable-http-proxy, LocalProcessSpawner, real accounts.

The hub runs as root on loopback ports; each user's server runs as that user's OS account
(LocalProcessSpawner), so nbgrader's exchange sees one student per account. Users log in with
JupyterHub's SharedPasswordAuthenticator (a test password). The group a user is in
(``instructors`` or ``students``) picks the Jupyter config folder of ``course/jupyter/`` their
server starts with, as course/DEPLOY.md describes.
"""
from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import exchange_support as xs
from browser_support import free_port
from services import stop_process, wait_for_http

REPO = Path(__file__).resolve().parents[1]
ROLES = REPO / "course" / "jupyter"

CONFIG = '''\
# Written by tests/hub_support.py: the course's JupyterHub, on loopback only.
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.db_url = "sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{state}/jupyterhub_cookie_secret"
c.ConfigurableHTTPProxy.pid_file = "{state}/jupyterhub-proxy.pid"

c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {password!r}
c.Authenticator.allowed_users = {users!r}
c.JupyterHub.load_groups = {groups!r}

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{python!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.args = ["--LabApp.app_settings_dir={roles}/lab-settings", "--LabApp.expose_app_in_browser=True"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180


def role_config(spawner):
    """A user's Jupyter config folder: course/jupyter/instructor or course/jupyter/student."""
    role = "instructor" if any(g.name == "instructors" for g in spawner.user.groups) else "student"
    return ":".join(["{roles}/" + role] + {config_path!r})


c.Spawner.environment = {{
    "JUPYTER_CONFIG_PATH": role_config,
    "ENN_EXCHANGE": {exchange!r},
    "ENN_ROOT": {root!r},
    "JUPYTER_PLATFORM_DIRS": "1",
    "MPLBACKEND": "Agg",
    "CI": "true",
    **{extra_env!r},
}}
'''


@dataclass
class Hub:
    process: subprocess.Popen
    url: str
    password: str
    log: Path

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def proxy_path() -> str | None:
    return shutil.which("configurable-http-proxy")


def start_hub(base: Path, students: list[str], instructors: list[str], exchange: Path, root: Path,
              timeout_s: float = 120) -> Hub:
    """Write a hub config into ``base/hub`` and start JupyterHub; wait until it answers."""
    state = base / "hub"
    state.mkdir()
    python, py_env = xs.student_python()
    password = secrets.token_hex(12)
    port = free_port()
    config = state / "jupyterhub_config.py"
    config.write_text(CONFIG.format(
        port=port, hub_port=free_port(), api_port=free_port(), proxy=proxy_path(), state=state,
        password=password, users=set(students + instructors),
        groups={"students": {"users": students}, "instructors": {"users": instructors}},
        python=python, roles=ROLES, exchange=str(exchange), root=str(root),
        config_path=[p for p in [py_env.pop("JUPYTER_CONFIG_PATH", "")] if p], extra_env=py_env))
    log = state / "jupyterhub.log"
    env = {"PATH": ":".join([str(Path(sys.executable).parent), str(Path(proxy_path()).parent), "/usr/bin", "/bin"]),
           "HOME": str(state), "LANG": "C.UTF-8", "CI": "true", "JUPYTER_PLATFORM_DIRS": "1"}
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=state, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    hub = Hub(process, f"http://127.0.0.1:{port}", password, log)
    wait_for_http(f"{hub.url}/hub/api", process, "jupyterhub", hub.log_tail, timeout_s, poll_s=0.5, grace_s=20)
    return hub


def stop_hub(hub: Hub, grace_s: float = 20) -> None:
    """Stop the hub by its PID (it stops the users' servers and its proxy on the way out)."""
    stop_process(hub.process, grace_s)
