"""The repository files a build reads, and the catalog loaded from them."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Final

import dagger

from pipeline import catalog

# What a build reads from the repository: the catalog with its features and files, the supervisor's
# source and the accepted scan findings.
READ: Final = ("docker", "apps", ".trivyignore.yaml")
# What a `dagger call` leaves out: every other top-level entry, by literal name. v0.21.8's engine never
# answers a function from its cache when this list has a wildcard or a negation (an include list such
# as ["*", "!docker/**"]: measured with a probe module), so it is the exact names of everything else;
# tests/test_module.py fails when a new top-level entry is in neither list.
EXCLUDE: Final = [
    ".git", ".github", ".ci", ".venv", ".env", ".pytest_cache", ".ruff_cache",
    ".gitignore", ".gitattributes", ".dockerignore", ".yamllint",
    "README.md", "pyproject.toml", "uv.lock", "dagger.json",
    "pipeline", "sdk", "tests", "bench", "scripts", "reports",
]  # fmt: skip


async def load_catalog(source: dagger.Directory) -> catalog.Catalog:
    """Validate the catalog as it is in `source`, so a call checks exactly what it builds."""
    with tempfile.TemporaryDirectory(prefix="dev8-source-") as tmp:
        await source.directory("docker").export(str(Path(tmp) / "docker"))
        await source.directory("apps/supervisor").export(str(Path(tmp) / "apps/supervisor"))
        return catalog.load(Path(tmp))
