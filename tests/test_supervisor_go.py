"""The supervisor's own Go tests, with the real S3 (moto) and Azure Blob (Azurite) servers they start."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.podman import CACHE_DIR, REPO_ROOT


def integration_env() -> dict[str, str]:
    """Where the servers are; in CI a missing server fails the Go tests instead of skipping them."""
    env = dict(os.environ)
    moto = Path(sys.executable).parent / "moto_server"
    azurite = CACHE_DIR / "azurite/node_modules/.bin/azurite-blob"
    if moto.is_file():
        env.setdefault("DEV8_MOTO_SERVER", str(moto))
    if azurite.is_file():
        env.setdefault("DEV8_AZURITE_BLOB", str(azurite))
    elif found := shutil.which("azurite-blob"):
        env.setdefault("DEV8_AZURITE_BLOB", found)
    if os.environ.get("CI") == "true":
        env["DEV8_REQUIRE_INTEGRATION"] = "1"
    return env


def test_go_test_passes() -> None:
    result = subprocess.run(
        ["go", "test", "-count=1", "-timeout=10m", "./..."],
        cwd=REPO_ROOT / "apps/supervisor",
        env=integration_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"go test failed:\n{result.stdout[-20000:]}\n{result.stderr[-5000:]}"
