"""The linters the project keeps clean, run as tests so one command checks everything."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*argv: str | Path, cwd: Path = REPO_ROOT) -> None:
    result = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(map(str, argv))}:\n{result.stdout}\n{result.stderr}"


def tracked(*patterns: str) -> list[Path]:
    """Files git tracks or would track (untracked but not ignored) matching the patterns."""
    result = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *patterns],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [REPO_ROOT / line for line in result.stdout.splitlines() if (REPO_ROOT / line).is_file()]


def test_ruff_check() -> None:
    run(BIN / "ruff", "check", ".")


def test_ruff_format() -> None:
    run(BIN / "ruff", "format", "--check", ".")


def test_pyright_strict_on_the_module() -> None:
    run(BIN / "pyright", "--pythonpath", sys.executable)


def test_yamllint() -> None:
    files = tracked("*.yaml", "*.yml", ".yamllint")
    assert files
    run(BIN / "yamllint", "--strict", *files)


def test_shellcheck() -> None:
    scripts = [p for p in tracked("*.sh", ".ci/run") if p.suffix == ".sh" or p.name == "run"]
    assert any(p.name == "install.sh" for p in scripts)
    run(BIN / "shellcheck", "--external-sources", *scripts)


def actionlint() -> str | None:
    found = shutil.which("actionlint")
    gopath_bin = Path(os.environ.get("GOPATH", Path.home() / "go")) / "bin/actionlint"
    return found or (str(gopath_bin) if gopath_bin.is_file() else None)


def test_actionlint() -> None:
    workflows = tracked(".github/workflows/*.yml")
    if not workflows:
        pytest.skip("no workflows yet")
    binary = actionlint()
    assert binary, "actionlint missing: go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
    run(binary, "-shellcheck", BIN / "shellcheck", *workflows)


def test_gofmt_and_go_vet() -> None:
    supervisor = REPO_ROOT / "apps/supervisor"
    result = subprocess.run(["gofmt", "-l", "."], cwd=supervisor, capture_output=True, text=True, check=True)
    assert result.stdout == "", f"not gofmt-formatted:\n{result.stdout}"
    run("go", "vet", "./...", cwd=supervisor)
