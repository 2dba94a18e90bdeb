"""scripts/engine-cache-policy.sh: the kit's engine keeps what a run builds, even on a nearly full disk."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support import engine as e
from tests.support.podman import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts/engine-cache-policy.sh"


def policy(**variables: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **variables}
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("variable", ["DEV8_ENGINE_CACHE_RESERVED", "DEV8_ENGINE_MIN_FREE", "DEV8_ENGINE_CACHE_MAX"])
def test_a_size_that_is_not_one_is_refused_naming_its_variable(variable: str) -> None:
    result = policy(**{variable: "lots"})
    assert result.returncode == 1
    assert f"{variable}=lots: expected a size" in result.stderr


@pytest.mark.engine
def test_the_kits_engine_keeps_the_reserved_space_it_was_given() -> None:
    found = e.find()
    if isinstance(found, str):
        pytest.skip(found)
    if not found.kit:
        pytest.skip("the policy is set on the kit's engine (../shared/dagger-kit)")
    result = policy()
    assert result.returncode == 0, result.stderr
    rerun = policy()
    assert "in place" in rerun.stderr, rerun.stderr
    shown = found.run("core", "engine", "local-cache", "reserved-space").stdout.strip()
    assert float(shown) == 20 * 2**30, shown
