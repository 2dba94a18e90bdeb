"""A structure-test executor over a dagger.Container: each command is a `with_exec` on the
container (entrypoint not used, as container-structure-test overrides it); stat runs as root so
that modes and owners of private files are seen; files are read through `Container.file`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dagger

from pipeline.structure_tests import ExecResult, FileStat, ImageConfig

_MISSING = "No such file or directory"


class DaggerExecutor:
    """Executor for pipeline.structure_tests.run_suite over a built container."""

    def __init__(self, ctr: dagger.Container) -> None:
        self._ctr = ctr

    async def run(self, argv: Sequence[str], env: Mapping[str, str]) -> ExecResult:
        ctr = self._ctr
        for key, value in env.items():
            ctr = ctr.with_env_variable(key, value)
        ran = ctr.with_exec(list(argv), expect=dagger.ReturnType.ANY)
        try:
            return ExecResult(await ran.stdout(), await ran.stderr(), await ran.exit_code())
        except dagger.ExecError as e:  # ANY excludes 128-191: the command died by a signal
            return ExecResult(e.stdout, e.stderr, e.exit_code)

    async def stat(self, path: str) -> FileStat:
        ran = self._ctr.with_user("root").with_exec(
            ["stat", "-c", "%f %u %g", "--", path], expect=dagger.ReturnType.ANY
        )
        if await ran.exit_code() != 0:
            stderr = await ran.stderr()
            if _MISSING in stderr:
                return FileStat(exists=False)
            raise RuntimeError(f"stat {path} failed: {stderr.strip()}")
        mode, uid, gid = (await ran.stdout()).split()
        return FileStat(exists=True, mode=int(mode, 16), uid=int(uid), gid=int(gid))

    async def read_file(self, path: str) -> bytes:
        return (await self._ctr.file(path).contents()).encode()

    async def image_config(self) -> ImageConfig:
        ctr = self._ctr
        env = {await v.name(): await v.value() for v in await ctr.env_variables()}
        labels = {await label.name(): await label.value() for label in await ctr.labels()}
        ports = [f"{await p.port()}/{(await p.protocol()).value.lower()}" for p in await ctr.exposed_ports()]
        return ImageConfig(
            user=await ctr.user(),
            entrypoint=tuple(await ctr.entrypoint()),
            cmd=tuple(await ctr.default_args()),
            env=env,
            exposed_ports=tuple(ports),
            workdir=await ctr.workdir(),
            labels=labels,
        )
