"""The import contracts (pyproject.toml [tool.importlinter], docs/decisions/0011-layers.md):
kept by the code, and broken by a forbidden import (checked on a copy of the package)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter not installed")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy(tmp_path) -> Path:
    """The package's Python files and the contracts, in a directory of their own."""
    shutil.copytree(
        ROOT / "garant",
        tmp_path / "garant",
        ignore=lambda d, names: [
            n for n in names if not n.endswith(".py") and not (Path(d) / n).is_dir()
        ],
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def broken_contracts(output: str) -> list[str]:
    """The names of the contracts the summary says are broken, up to a colon or a parenthesis."""
    return [
        line.split(" BROKEN")[0].split(":")[0].split(" (")[0]
        for line in output.splitlines()
        if " BROKEN" in line
    ]


def add_line(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_code_keeps_every_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    assert broken_contracts(result.stdout) == []


def test_the_copy_keeps_them_too(copy):
    assert lint_imports(copy).returncode == 0


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # core importing an app above it
        ("core/views.py", "from garant.registry.models import AISystem", "Layers"),
        # the lifecycle reaching into governance
        ("lifecycle/gates.py", "from garant.governance.models import Decision", "Layers"),
        # peers: compliance and monitoring do not import each other
        ("compliance/rules.py", "import garant.monitoring.models", "Layers"),
        # an app importing the demo
        ("registry/views.py", "from garant.demo import load", "Layers"),
        # the monitoring engine, directly or through a module that imports Django
        (
            "monitoring/engine/drift.py",
            "import django.db",
            "The monitoring engine imports no Django",
        ),
        (
            "monitoring/engine/drift.py",
            "from garant.monitoring import models",
            "The monitoring engine imports no Django",
        ),
        # a cycle inside an app
        (
            "governance/models.py",
            "from garant.governance import decisions",
            "No import cycle between the modules of a package",
        ),
    ],
)
def test_a_forbidden_import_breaks_a_contract(copy, module, line, broken):
    add_line(copy / "garant" / module, line)
    result = lint_imports(copy)
    assert result.returncode == 1
    assert broken in broken_contracts(result.stdout)
    assert Path(module).stem in result.stdout.split("Broken contracts")[1]  # names the importer


def test_a_new_module_under_garant_must_be_placed_in_a_layer(copy):
    (copy / "garant" / "reports.py").write_text("from garant.core import models\n")
    result = lint_imports(copy)
    assert result.returncode == 1
    assert broken_contracts(result.stdout) == ["Layers"]
    assert "garant.reports" in result.stdout
