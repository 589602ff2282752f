"""The repository explains itself: the README's map names every service module and blueprint, and nothing
points outside the repository for its rules."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _map() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme[readme.index("## Architecture") :].split("\n## ", 1)[0]


def test_the_architecture_map_names_every_service_module_and_blueprint():
    shown = set(re.findall(r"^\s+(\w+\.py)\s", _map(), re.M))
    services = {p.name for p in (ROOT / "booking" / "services").glob("*.py") if p.name != "__init__.py"}
    blueprints = {p.name for p in (ROOT / "booking" / "web").glob("*.py") if "Blueprint(" in p.read_text()}
    assert services - shown == set() and blueprints - shown == set()


def test_nothing_points_outside_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    pointing = [
        name
        for name in files
        if (ROOT / name).is_file()
        and not name.startswith("tests/data/")
        and re.search(
            r"\.\./shared|\bFORMAT\.md|\bDESIGN\.md|\bSTYLE\.md",
            (ROOT / name).read_text(encoding="utf-8", errors="replace"),
        )
    ]
    assert pointing == []
