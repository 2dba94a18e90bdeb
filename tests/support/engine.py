"""The module on a real Dagger engine, called with the `dagger` CLI as a user calls it.

The engine is the one `dagger` reaches: `../shared/dagger-kit` when it is up (its CLI and socket are
used directly, so `eval "$(kit.sh env)"` is not needed), else whatever the user's `dagger` on PATH
connects to. Without either, the tests skip with one line saying why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from tests.support.podman import REPO_ROOT

KIT: Final = REPO_ROOT.parent / "shared/dagger-kit/kit.sh"
KIT_DIR: Final = Path(os.environ.get("DAGGER_KIT_DIR", "/var/cache/dagger-kit"))
KIT_ENGINE: Final = os.environ.get("DAGGER_KIT_ENGINE_NAME", "dagger-kit-engine")
OPTIONS_FILE: Final = "scripts/offline-build-args"
REQUIRED: Final = "DEV8_ENGINE_REQUIRED"
# Between pytest processes (.ci/run runs the engine tests beside the others): held shared while a test
# outside the engine tests uses the engine, exclusively while a test restarts it.
ENGINE_LOCK: Final = Path(tempfile.gettempdir()) / "dev8-engine-tests.lock"
# The changes tests make to a copy carry this run's own mark: an engine that saw the same change in an
# earlier run answers it from its cache, and a test expecting it to run again would fail.
RUN_MARK: Final = f"dev8-tests-{uuid.uuid4().hex}"
ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")
# What the tests give the module on every call: the offline sources where vendor sites are unreachable.
OFFLINE: Final = ("--options-file", str(REPO_ROOT / OPTIONS_FILE))


@dataclasses.dataclass(frozen=True)
class Engine:
    dagger: str
    env: dict[str, str]
    kit: bool  # the kit's engine: its local registry is 127.0.0.1:5000 inside the engine

    def call(
        self, *args: str, cwd: Path = REPO_ROOT, check: bool = True, timeout: float = 3600
    ) -> subprocess.CompletedProcess[str]:
        """`dagger call ARGS` in `cwd`; stdout is the result, stderr the plain progress log."""
        return self.run("call", *args, cwd=cwd, check=check, timeout=timeout)

    def run(
        self, *args: str, cwd: Path = REPO_ROOT, check: bool = True, timeout: float = 3600
    ) -> subprocess.CompletedProcess[str]:
        argv = [self.dagger, "--progress=plain", *args]
        result = subprocess.run(
            argv, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        result.stdout, result.stderr = ANSI.sub("", result.stdout), ANSI.sub("", result.stderr)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{errors(result.stderr)}")
        return result

    def in_engine(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """A command inside the kit's engine container, where its registry is reachable (crane)."""
        return subprocess.run(
            ["podman", "exec", KIT_ENGINE, *argv], capture_output=True, text=True, timeout=300, check=False
        )


def errors(log: str) -> str:
    """The lines of a plain progress log that say what failed, else its tail."""
    lines = log.splitlines()
    picked = [line for line in lines if "Error" in line or "ERROR" in line or " ! " in line]
    return "\n".join((picked or lines)[-40:])


@functools.cache
def find() -> Engine | str:
    """The engine to test against, or one line saying why there is none (an error where
    DEV8_ENGINE_REQUIRED=1: .ci/run sets it once the kit is up, so no engine test skips silently)."""
    found = _find()
    if isinstance(found, str) and os.environ.get(REQUIRED) == "1":
        raise RuntimeError(f"{REQUIRED}=1 but {found}")
    return found


def _find() -> Engine | str:
    env = {**os.environ, "DAGGER_NO_NAG": "1", "DO_NOT_TRACK": "1", "NO_COLOR": "1"}
    socket = KIT_DIR / "run/engine.sock"
    dagger = shutil.which("dagger")
    kit = KIT.is_file() and socket.is_socket() and (KIT_DIR / "cli/dagger").is_file()
    if kit:
        dagger = str(KIT_DIR / "cli/dagger")
        env["_EXPERIMENTAL_DAGGER_RUNNER_HOST"] = f"unix://{socket}"
    if dagger is None:
        return "no Dagger engine: no `dagger` on PATH and ../shared/dagger-kit is not up (kit.sh up)"
    probe = subprocess.run(
        [dagger, "core", "version"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if probe.returncode != 0:
        return f"no Dagger engine: `dagger core version` failed: {errors(probe.stderr).splitlines()[-1:]}"
    return Engine(dagger, env, kit)


@contextlib.contextmanager
def using_the_engine(*, restarting: bool = False) -> Iterator[None]:
    """Hold ENGINE_LOCK: shared to use the engine, exclusive (`restarting`) to restart it."""
    with ENGINE_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if restarting else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def copy_of_repo(under: Path, changes: dict[str, str] | None = None, appends: dict[str, str] | None = None) -> Path:
    """A copy in `under` (a test's tmp_path, which pytest prunes) of the repository's tracked and new
    files (no .git, .venv or sdk/), with files replaced or appended to; the module loads from it exactly
    as from the checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    target = under / "repo"
    target.mkdir()
    for name in listed:
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for name, text in (changes or {}).items():
        (target / name).write_text(text)
    for name, text in (appends or {}).items():
        with (target / name).open("a") as f:
            f.write(text)
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    return target


def flags(name: str, values: Sequence[str]) -> list[str]:
    return [part for value in values for part in (f"--{name}", value)]
