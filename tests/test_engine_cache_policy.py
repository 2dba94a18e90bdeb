"""scripts/engine-cache-policy.sh: the kit's engine keeps what a run builds, even on a nearly full disk."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.support import engine as e
from tests.support import podman
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


def engine_container() -> tuple[str, str]:
    """The kit's engine container: its ID and when it last started."""
    shown = podman.podman("inspect", "--format", "{{.Id}} {{.State.StartedAt}}", e.KIT_ENGINE).stdout.split(" ", 1)
    return shown[0], shown[1].strip()


@pytest.mark.engine
def test_the_kits_engine_keeps_the_policy_it_was_given_across_its_restart() -> None:
    found = e.find()
    if isinstance(found, str):
        pytest.skip(found)
    if not found.kit:
        pytest.skip("the policy is set on the kit's engine (../shared/dagger-kit)")

    def reserved_space() -> float:
        return float(found.run("core", "engine", "local-cache", "reserved-space").stdout.strip())

    container, started = engine_container()
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with e.using_the_engine(restarting=True):
        changed = policy(DEV8_ENGINE_CACHE_RESERVED="21GB")  # another policy: the engine restarts
        assert changed.returncode == 0, changed.stderr
        assert reserved_space() == 21 * 2**30
        restored = policy()
        assert restored.returncode == 0, restored.stderr
        assert "in place" in policy().stderr
        assert reserved_space() == 20 * 2**30
    # Restarted in place, not replaced (that would drop the policy), and stopped cleanly: an engine
    # killed mid-stop wipes its whole cache when it starts again.
    restarted_container, restarted = engine_container()
    assert restarted_container == container
    assert restarted != started
    shown = podman.podman("logs", "--since", since, e.KIT_ENGINE)
    log = shown.stdout + shown.stderr
    assert "successfully marked clean shutdown" in log, log[-3000:]
    assert "marked unclean" not in log, log[-3000:]
