"""Requirement files made from pyproject.toml, for the test matrix (`scripts/_matrix.sh`).

`lowest`: pip constraints pinning every dependency a user installs (the core `dependencies` and
the user-facing extras, all but the development ones below) to its declared lower bound, each
`name>=X` as `name==X`. The lowest-versions run installs the test extra under them, as
LangChain's partner packages do in their release checks, so each bound in pyproject.toml is one
that a test run has passed with.

`without DIST`: the test extra as a requirements file, less DIST (for a Python on which DIST
does not install: its tests are then left out, with the reason printed).

    python scripts/requirements.py lowest > constraints.txt
    python scripts/requirements.py without ray > requirements.txt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pip vendors the same parser
    from pip._vendor import tomli as tomllib

# Extras for working on this project, not for its users: their tools are not pinned.
DEVELOPMENT_EXTRAS = frozenset({"test", "benchmark", "dev"})
OWN_NAME = "modelslab-integrations"
LOWER_BOUND = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$")


def _project(path: Path) -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
    return project


def user_requirements(project: dict[str, Any]) -> list[str]:
    """The requirements of the core and of every user-facing extra, our own extras left out."""
    found = list(project.get("dependencies", []))
    for extra, requirements in project.get("optional-dependencies", {}).items():
        if extra not in DEVELOPMENT_EXTRAS:
            found.extend(r for r in requirements if not r.startswith(OWN_NAME))
    return found


def pins(requirements: list[str]) -> dict[str, str]:
    """`name` -> its `>=` bound, for each requirement that has one (the same name twice must
    agree: two bounds for one distribution would leave the lowest run ambiguous)."""
    found: dict[str, str] = {}
    for requirement in requirements:
        match = LOWER_BOUND.match(requirement.split(";")[0])
        assert match, requirement
        name = _name(requirement)
        bounds = [
            spec[2:].strip() for spec in match.group(2).split(",") if spec.strip()[:2] == ">="
        ]
        if not bounds:
            continue
        if found.get(name, bounds[0]) != bounds[0]:
            raise SystemExit(f"{name} has two lower bounds: {found[name]} and {bounds[0]}")
        found[name] = bounds[0]
    return found


def test_extra_without(project: dict[str, Any], left_out: str) -> list[str]:
    """The test extra's requirements less `left_out`, our own extras as an editable install."""
    lines = []
    for requirement in project["optional-dependencies"]["test"]:
        if requirement.startswith(OWN_NAME):
            lines.append("-e ." + requirement[len(OWN_NAME) :])
        elif _name(requirement) != _name(left_out):
            lines.append(requirement)
    return lines


def _name(requirement: str) -> str:
    match = LOWER_BOUND.match(requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def main() -> None:
    project = _project(Path(__file__).resolve().parents[1] / "pyproject.toml")
    if sys.argv[1:2] == ["lowest"]:
        for name, version in sorted(pins(user_requirements(project)).items()):
            print(f"{name}=={version}")
    elif sys.argv[1:2] == ["without"] and len(sys.argv) == 3:
        print("\n".join(test_extra_without(project, sys.argv[2])))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
