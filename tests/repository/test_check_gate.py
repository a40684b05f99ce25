"""The check gate (scripts/check) holds the import direction: proven by breaking it on a copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="import-linter is not installed (pip install -e '.[check]')"
)


def _lint_imports(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "wsltui", tree / "wsltui", ignore=shutil.ignore_patterns("__pycache__", "demos"))
    shutil.copy(ROOT / "pyproject.toml", tree)
    return tree


def test_the_repository_keeps_its_import_contracts(tmp_path):
    result = _lint_imports(_copy(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize(
    "module, upward",
    [
        ("facts/base.py", "import wsltui.simulation.trace"),  # facts must not know the simulator
        ("simulation/trace.py", "import wsltui.tui.app"),  # nor the simulator the app
        ("probes/runner.py", "import wsltui.facts.base"),  # probes only write records
    ],
)
def test_a_deliberate_upward_import_fails_the_gate(tmp_path, module, upward):
    tree = _copy(tmp_path)
    path = tree / "wsltui" / module
    path.write_text(path.read_text() + f"\n{upward}  # deliberately upward\n")
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout


RUFF = Path(sys.executable).with_name("ruff")


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed (pip install -e '.[check]')")
def test_the_format_check_holds_and_catches_a_misformatted_file(tmp_path):
    tree = _copy(tmp_path)
    check = [str(RUFF), "format", "--check", "--no-cache", "wsltui"]
    assert subprocess.run(check, cwd=tree, capture_output=True, timeout=120).returncode == 0
    path = tree / "wsltui" / "quoting.py"
    path.write_text(path.read_text() + "\nmisformatted = {  'a':1 }\n")
    result = subprocess.run(check, cwd=tree, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "quoting.py" in result.stdout
