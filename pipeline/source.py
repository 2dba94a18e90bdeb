"""The repository files a build reads, and the catalog loaded from them."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Final

import dagger

from pipeline import catalog

# What a `dagger call` uploads: the catalog with its features and files, the supervisor's source and
# the accepted scan findings. Everything else stays out, a new top-level file included, so a change to
# it neither uploads nor reruns anything (tests/test_engine.py checks both ways on the engine).
INCLUDE_ONLY: Final = ["*", "!docker/**", "!apps/supervisor/**", "!.trivyignore.yaml"]


async def load_catalog(source: dagger.Directory) -> catalog.Catalog:
    """Validate the catalog as it is in `source`, so a call checks exactly what it builds."""
    with tempfile.TemporaryDirectory(prefix="dev8-source-") as tmp:
        await source.directory("docker").export(str(Path(tmp) / "docker"))
        await source.directory("apps/supervisor").export(str(Path(tmp) / "apps/supervisor"))
        return catalog.load(Path(tmp))
