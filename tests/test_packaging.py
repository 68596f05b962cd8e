"""The ways in (pyproject, environment.yml, Makefile, README, CI script) agree."""

import os
import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10; pytest itself depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _canonical(requirement):
    # Requirement() normalises spacing and specifier order, so "a>=1,<2"
    # and "a <2, >=1" compare equal while a changed range does not.
    return str(Requirement(requirement))


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _conda_env():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _conda_pip_list(env):
    sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml needs exactly one pip: section"
    return sections[0]


def _conda_packages(env):
    return [d for d in env["dependencies"] if isinstance(d, str)]


def test_environment_yml_pins_the_same_requirements_as_pyproject():
    expected = sorted(_canonical(r) for r in _pyproject()["project"]["dependencies"])
    pip_list = [r for r in _conda_pip_list(_conda_env()) if not r.startswith("-e")]
    assert sorted(_canonical(r) for r in pip_list) == expected
    assert len(pip_list) == len(set(pip_list)), "a requirement is listed twice"


def test_environment_yml_installs_the_project_itself():
    pip_list = _conda_pip_list(_conda_env())
    assert "-e ." in pip_list


def test_environment_yml_python_satisfies_requires_python():
    pythons = [p for p in _conda_packages(_conda_env()) if re.fullmatch(r"python[=<>].*", p)]
    assert len(pythons) == 1, f"expected one python pin, found {pythons}"
    version = pythons[0].split("=")[-1]
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert requires.contains(version), f"python {version} is outside requires-python {requires}"


def _make_targets():
    text = (ROOT / "Makefile").read_text()
    # "name:" or "name: deps", but not "NAME := value" assignments.
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, flags=re.MULTILINE))


@pytest.mark.parametrize("target", ["lab", "test", "grade", "release", "bench", "clean"])
def test_makefile_has_target(target):
    assert target in _make_targets()


def test_readme_first_code_block_is_the_two_commands():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^```[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "README.md has no fenced code block"
    commands = [line.split("#")[0].strip() for line in match.group(1).splitlines()]
    assert "make lab" in commands
    assert "make test" in commands


def test_ci_script_is_executable_and_strict():
    script = ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK), ".ci/run must be executable"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in text
    assert "make test" in text
