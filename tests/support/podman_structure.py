"""A structure-test executor over podman: each container is `podman run` of the image with its
entrypoint replaced by `sleep` (container-structure-test replaces it too), removed when the test is
done; commands run in it with `podman exec`; files are stat'ed and read as root, so a 0600 file
still reads; the config comes from `podman image inspect`."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import cast

from pipeline.structure_tests import STAT_FORMAT, ExecResult, FileStat, ImageConfig, stat_paths

# podman exec's own error when the runtime cannot start the command (exit 126 or 127).
_NOT_STARTED = "unable to start container process"
# Command tests at once: each has a container of its own, and most of a test's time is podman's start.
PODMAN_TEST_CONCURRENCY = 4


async def podman(args: Sequence[str], env: Mapping[str, str] | None = None, *, check: bool = True) -> ExecResult:
    """Runs `podman args...`; with check, a non-zero exit raises with the command and stderr."""
    out, err, code = await podman_bytes(args, env)
    result = ExecResult(out.decode(errors="replace"), err.decode(errors="replace"), code)
    if check and result.exit_code != 0:
        raise RuntimeError(f"podman {' '.join(args)} exited {result.exit_code}: {result.stderr.strip()}")
    return result


async def podman_bytes(args: Sequence[str], env: Mapping[str, str] | None = None) -> tuple[bytes, bytes, int]:
    process = await asyncio.create_subprocess_exec(
        "podman",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env) if env is not None else None,
    )
    out, err = await process.communicate()
    return out, err, process.returncode or 0


class PodmanContainer:
    """One running container of the image."""

    def __init__(self, name: str, podman_env: Mapping[str, str] | None) -> None:
        self.name, self._env = name, podman_env

    async def run(self, argv: Sequence[str], env: Mapping[str, str]) -> ExecResult:
        flags = [f"--env={key}={value}" for key, value in env.items()]
        result = await podman(["exec", *flags, self.name, *argv], self._env, check=False)
        if result.exit_code in (126, 127) and result.stderr.startswith("Error: ") and _NOT_STARTED in result.stderr:
            return ExecResult("", result.stderr, -1, result.stderr.strip())
        return result

    async def stat(self, paths: Sequence[str]) -> list[FileStat]:
        return await stat_paths(paths, self._run_stat)

    async def _run_stat(self, paths: Sequence[str]) -> ExecResult:
        argv = ["exec", "--user", "root", self.name, "stat", "-c", STAT_FORMAT, "--", *paths]
        return await podman(argv, self._env, check=False)

    async def read_file(self, path: str) -> bytes:
        out, err, code = await podman_bytes(["exec", "--user", "root", self.name, "cat", "--", path], self._env)
        if code != 0:
            raise FileNotFoundError(f"{path}: {err.decode(errors='replace').strip()}")
        return out


class PodmanExecutor:
    """Executor for pipeline.structure_tests.run_suite over a podman image."""

    def __init__(self, image: str, podman_env: Mapping[str, str] | None = None) -> None:
        self.image, self._env = image, podman_env
        self._config: dict[str, object] | None = None

    @asynccontextmanager
    async def container(self, env: Mapping[str, str]) -> AsyncGenerator[PodmanContainer]:
        name = f"dev8-structure-{uuid.uuid4().hex[:12]}"
        flags = [f"--env={key}={value}" for key, value in env.items()]
        run = ["run", "-d", "--name", name, *flags, "--entrypoint", "/bin/sleep", self.image, "infinity"]
        try:
            await podman(run, self._env)
            yield PodmanContainer(name, self._env)
        finally:
            await podman(["rm", "-f", "-v", "-t", "0", name], self._env, check=False)

    async def _inspect(self) -> dict[str, object]:
        if self._config is None:
            result = await podman(["image", "inspect", "--format", "{{json .Config}}", self.image], self._env)
            self._config = cast(dict[str, object], json.loads(result.stdout) or {})
        return self._config

    async def image_config(self) -> ImageConfig:
        config = await self._inspect()

        def strings(key: str) -> tuple[str, ...]:
            return tuple(str(v) for v in cast(list[object], config.get(key) or []))

        env = dict(item.split("=", 1) for item in strings("Env") if "=" in item)
        labels = {str(k): str(v) for k, v in cast(dict[str, object], config.get("Labels") or {}).items()}
        return ImageConfig(
            user=str(config.get("User") or ""),
            entrypoint=strings("Entrypoint"),
            cmd=strings("Cmd"),
            env=env,
            exposed_ports=tuple(str(k) for k in cast(dict[str, object], config.get("ExposedPorts") or {})),
            workdir=str(config.get("WorkingDir") or ""),
            labels=labels,
        )

    async def volumes(self) -> tuple[str, ...]:
        return tuple(sorted(str(k) for k in cast(dict[str, object], (await self._inspect()).get("Volumes") or {})))


@asynccontextmanager
async def structure_container(
    image: str, podman_env: Mapping[str, str] | None = None
) -> AsyncGenerator[PodmanExecutor]:
    """The executor for `image` (kept as a context manager: each test makes and removes its own container)."""
    yield PodmanExecutor(image, podman_env)
