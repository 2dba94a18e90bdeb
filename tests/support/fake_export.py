"""Stand in for the engine's Directory.export: copy the directory's path from this checkout.

Only the export is replaced; the catalog is then loaded and validated by the real code.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dagger
import pytest

from tests.support.graph import ops


def install(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    async def export(self: dagger.Directory, path: str, **_: Any) -> str:
        subpath = "/".join(args["path"] for name, args in ops(self) if name == "directory" and "path" in args)
        shutil.copytree(root / subpath, path, dirs_exist_ok=True)
        return path

    monkeypatch.setattr(dagger.Directory, "export", export)
