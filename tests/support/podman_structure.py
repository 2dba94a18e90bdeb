"""A structure-test executor over podman: commands run with `podman exec` in a container whose
entrypoint is replaced by `sleep` (as container-structure-test replaces it); files are stat'ed
and read as root, so a 0600 file still reads; the config comes from `podman image inspect`."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import cast

from pipeline.structure_tests import ExecResult, FileStat, ImageConfig


async def podman(args: Sequence[str], env: Mapping[str, str] | None = None, *, check: bool = True) -> ExecResult:
    """Runs `podman args...`; with check, a non-zero exit raises with the command and stderr."""
    process = await asyncio.create_subprocess_exec(
        "podman",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env) if env is not None else None,
    )
    out, err = await process.communicate()
    result = ExecResult(out.decode(errors="replace"), err.decode(errors="replace"), process.returncode or 0)
    if check and result.exit_code != 0:
        raise RuntimeError(f"podman {' '.join(args)} exited {result.exit_code}: {result.stderr.strip()}")
    return result


class PodmanExecutor:
    """Executor for pipeline.structure_tests.run_suite over a running podman container."""

    def __init__(self, container: str, image: str, podman_env: Mapping[str, str] | None = None) -> None:
        self.container, self.image, self._env = container, image, podman_env

    async def run(self, argv: Sequence[str], env: Mapping[str, str]) -> ExecResult:
        flags = [f"--env={key}={value}" for key, value in env.items()]
        return await podman(["exec", *flags, self.container, *argv], self._env, check=False)

    async def stat(self, path: str) -> FileStat:
        result = await podman(
            ["exec", "--user", "root", self.container, "stat", "-c", "%f %u %g", "--", path],
            self._env,
            check=False,
        )
        if result.exit_code != 0:
            if "No such file or directory" in result.stderr:
                return FileStat(exists=False)
            raise RuntimeError(f"stat {path} failed: {result.stderr.strip()}")
        mode, uid, gid = result.stdout.split()
        return FileStat(exists=True, mode=int(mode, 16), uid=int(uid), gid=int(gid))

    async def read_file(self, path: str) -> bytes:
        process = await asyncio.create_subprocess_exec(
            "podman",
            "exec",
            "--user",
            "root",
            self.container,
            "cat",
            "--",
            path,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(self._env) if self._env is not None else None,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            raise FileNotFoundError(f"{path}: {err.decode(errors='replace').strip()}")
        return out

    async def image_config(self) -> ImageConfig:
        return await inspect_image(self.image, self._env)


async def inspect_image(image: str, podman_env: Mapping[str, str] | None = None) -> ImageConfig:
    result = await podman(["image", "inspect", "--format", "{{json .Config}}", image], podman_env)
    config = cast(dict[str, object], json.loads(result.stdout) or {})

    def strings(key: str) -> tuple[str, ...]:
        return tuple(str(v) for v in cast(list[object], config.get(key) or []))

    def keys(key: str) -> tuple[str, ...]:
        return tuple(str(k) for k in cast(dict[str, object], config.get(key) or {}))

    env = dict(item.split("=", 1) for item in strings("Env") if "=" in item)
    labels = {str(k): str(v) for k, v in cast(dict[str, object], config.get("Labels") or {}).items()}
    return ImageConfig(
        user=str(config.get("User") or ""),
        entrypoint=strings("Entrypoint"),
        cmd=strings("Cmd"),
        env=env,
        exposed_ports=keys("ExposedPorts"),
        workdir=str(config.get("WorkingDir") or ""),
        labels=labels,
        volumes=keys("Volumes"),
    )


@asynccontextmanager
async def structure_container(
    image: str, podman_env: Mapping[str, str] | None = None
) -> AsyncGenerator[PodmanExecutor]:
    """A container of `image` idling in `sleep`, removed on exit."""
    name = f"dev8-structure-{uuid.uuid4().hex[:12]}"
    await podman(["run", "-d", "--name", name, "--entrypoint", "/bin/sleep", image, "infinity"], podman_env)
    try:
        yield PodmanExecutor(name, image, podman_env)
    finally:
        await podman(["rm", "-f", "-t", "0", name], podman_env, check=False)
