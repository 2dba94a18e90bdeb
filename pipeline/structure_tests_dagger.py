"""A structure-test executor over a dagger.Container: a "container" is the image's chain with the
test's environment; each command is a `with_exec` on it (entrypoint not used, as
container-structure-test overrides it), and the next command continues from its filesystem. stat
runs as root so that modes and owners of private files are seen; files are read through
`Container.file`. The config comes from Dagger's Container API, except the volumes, which that API
does not expose: they are read from the image config in the container's OCI tarball."""

from __future__ import annotations

import json
import re
import tarfile
import tempfile
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final, cast

import dagger

from pipeline.structure_tests import STAT_FORMAT, ExecResult, FileStat, ImageConfig, stat_paths

# How Dagger's exec shim reports a command it could not start: exit 1 and this one line on stderr.
_NOT_STARTED: Final = re.compile(r'exec: "[^\n]*": executable file not found in \$PATH|fork/exec [^\n]*: [^\n]*')


class DaggerContainer:
    """One test's container: `run` keeps the filesystem a command leaves, not its environment."""

    def __init__(self, ctr: dagger.Container, env: Mapping[str, str]) -> None:
        self._ctr, self._env = ctr, env

    async def run(self, argv: Sequence[str], env: Mapping[str, str]) -> ExecResult:
        ctr = self._ctr
        for key, value in env.items():
            ctr = ctr.with_env_variable(key, value)
        ran = ctr.with_exec(list(argv), expect=dagger.ReturnType.ANY)
        try:
            result = ExecResult(await ran.stdout(), await ran.stderr(), await ran.exit_code())
        except dagger.ExecError as e:  # ANY excludes 128-191: the command died by a signal
            result = ExecResult(e.stdout, e.stderr, e.exit_code)
            ran = None
        if result.exit_code == 1 and not result.stdout and _NOT_STARTED.fullmatch(result.stderr.strip()):
            return ExecResult("", result.stderr, -1, result.stderr.strip())
        if ran is not None:
            self._ctr = self._restored(ran, env)
        return result

    def _restored(self, ran: dagger.Container, env: Mapping[str, str]) -> dagger.Container:
        """`ran` with this container's own environment again."""
        for key in env:
            ran = ran.with_env_variable(key, self._env[key]) if key in self._env else ran.without_env_variable(key)
        return ran

    async def stat(self, paths: Sequence[str]) -> list[FileStat]:
        return await stat_paths(paths, self._run_stat)

    async def _run_stat(self, paths: Sequence[str]) -> ExecResult:
        ran = self._ctr.with_user("root").with_exec(
            ["stat", "-c", STAT_FORMAT, "--", *paths], expect=dagger.ReturnType.ANY
        )
        return ExecResult(await ran.stdout(), await ran.stderr(), await ran.exit_code())

    async def read_file(self, path: str) -> bytes:
        return (await self._ctr.file(path).contents()).encode()


class DaggerExecutor:
    """Executor for pipeline.structure_tests.run_suite over a built container."""

    def __init__(self, ctr: dagger.Container) -> None:
        self._ctr = ctr
        self._config: ImageConfig | None = None

    @asynccontextmanager
    async def container(self, env: Mapping[str, str]) -> AsyncGenerator[DaggerContainer]:
        ctr = self._ctr
        for key, value in env.items():
            ctr = ctr.with_env_variable(key, value)
        yield DaggerContainer(ctr, {**(await self.image_config()).env, **env})

    async def image_config(self) -> ImageConfig:
        if self._config is None:
            ctr = self._ctr
            env = {await v.name(): await v.value() for v in await ctr.env_variables()}
            labels = {await label.name(): await label.value() for label in await ctr.labels()}
            ports = [f"{await p.port()}/{(await p.protocol()).value.lower()}" for p in await ctr.exposed_ports()]
            self._config = ImageConfig(
                user=await ctr.user(),
                entrypoint=tuple(await ctr.entrypoint()),
                cmd=tuple(await ctr.default_args()),
                env=env,
                exposed_ports=tuple(ports),
                workdir=await ctr.workdir(),
                labels=labels,
            )
        return self._config

    async def volumes(self) -> tuple[str, ...]:
        """Exports the image (all of it: only when a test asks) and reads Volumes from its config."""
        with tempfile.TemporaryDirectory(prefix="dev8-volumes-") as tmp:
            tarball = Path(tmp) / "image.tar"
            await self._ctr.as_tarball().export(str(tarball))
            return oci_volumes(tarball)


def oci_volumes(tarball: Path) -> tuple[str, ...]:
    """config.Volumes of the (first) image in an OCI image tarball."""
    with tarfile.open(tarball) as archive:

        def blob(digest: str) -> dict[str, object]:
            member = archive.extractfile(f"blobs/{digest.replace(':', '/', 1)}")
            if member is None:
                raise RuntimeError(f"{tarball.name}: no blob {digest}")
            return cast(dict[str, object], json.load(member))

        index_file = archive.extractfile("index.json")
        if index_file is None:
            raise RuntimeError(f"{tarball.name}: no index.json")
        index = cast(dict[str, list[dict[str, str]]], json.load(index_file))
        manifest = cast(dict[str, dict[str, str]], blob(index["manifests"][0]["digest"]))
        config = cast(dict[str, dict[str, object]], blob(manifest["config"]["digest"]))
        return tuple(sorted(cast(dict[str, object], config.get("config", {}).get("Volumes") or {})))
