"""build-all: the supervisor, then every image after its parent, each image's tests, scan and SBOM in
parallel. A failed step is recorded against its image and step; the other images carry on."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Generator

import anyio
import dagger
from dagger import dag

from pipeline import image_checks, image_info
from pipeline.catalog import Catalog
from pipeline.errors import checked, task_group
from pipeline.reports import SUPERVISOR, ImageResult, Run, summary_markdown
from pipeline.scan_report import Policy
from pipeline.structure_tests import Suite

# What a failed step raises: a Dagger failure (RuntimeError from `checked`) or a bad report or suite.
StepError = (RuntimeError, ValueError)
log = logging.getLogger(__name__)


@contextlib.contextmanager
def recording(result: ImageResult, step: str) -> Generator[None]:
    """Record any failure of `step` against the image, so the other images and steps carry on; an
    unexpected error (a bug) is recorded with its type and logged with its traceback."""
    try:
        yield
    except Exception as e:
        record_error(result, step, e)


def record_error(result: ImageResult, step: str, error: Exception) -> None:
    if isinstance(error, StepError):
        result.record(step, "failed", str(error))
    else:
        log.error("image '%s': %s", result.name, step, exc_info=error)
        result.record(step, "failed", f"{type(error).__name__}: {error}")


@dataclasses.dataclass
class Runner:
    """One run over the chosen images; `files` and `texts` collect the reports by path."""

    catalog: Catalog
    render: Callable[[str], dagger.Container]
    supervisor: dagger.File
    supervisor_test: dagger.Container | None  # None: skip the Go tests
    suites: Callable[[str], Awaitable[list[Suite]]]
    tool: dagger.Container  # has tar: reads the image tarball's index
    trivy: image_checks.Trivy
    policy: Policy
    ignore_file: dagger.File | None
    scans: bool = True
    title: str = "build-all"
    run: Run = dataclasses.field(init=False)
    texts: dict[str, str] = dataclasses.field(default_factory=dict[str, str])
    files: dict[str, dagger.File] = dataclasses.field(default_factory=dict[str, dagger.File])
    _built: dict[str, bool] = dataclasses.field(default_factory=dict[str, bool])

    def __post_init__(self) -> None:
        self.run = Run(self.title)

    async def run_all(self, names: list[str]) -> Run:
        """Run every step; never raises for a failed step."""
        for name in names:
            self.catalog.image(name)  # an unknown name fails the call before anything runs
        events = {name: anyio.Event() for name in [SUPERVISOR, *names]}
        async with task_group(self.title) as tg:
            tg.start_soon(self._supervisor, events[SUPERVISOR])
            for name in names:
                tg.start_soon(self._image, name, events)
        return self.run

    def directory(self) -> dagger.Directory:
        """summary.md, failures.txt and every report file."""
        out = dag.directory().with_new_file("summary.md", summary_markdown(self.run))
        first_lines = [failure.splitlines()[0] for failure in self.run.failures()]
        out = out.with_new_file("failures.txt", "".join(f"{line}\n" for line in first_lines))
        for path, text in sorted(self.texts.items()):
            out = out.with_new_file(path, text)
        for path, file in sorted(self.files.items()):
            out = out.with_file(path, file)
        return out

    async def _supervisor(self, done: anyio.Event) -> None:
        result = self.run.result(SUPERVISOR)
        try:
            with recording(result, "build"):
                await checked(self.supervisor.sync(), "supervisor: build")
                result.record("build", "passed")
                self._built[SUPERVISOR] = True
        finally:
            done.set()
        if self.supervisor_test is None:
            result.record("go test", "skipped")
            return
        with recording(result, "go test"):
            output = await checked(self.supervisor_test.stdout(), "supervisor: go test")
            result.record("go test", "passed")
            self.texts["supervisor/go-test.txt"] = output

    async def _image(self, name: str, events: dict[str, anyio.Event]) -> None:
        result = self.run.result(name)
        image = self.catalog.image(name)
        needs = [n for n in (SUPERVISOR if image.supervisor else None, image.parent) if n and n in events]
        try:
            for need in needs:
                await events[need].wait()
            blocked = [n for n in needs if not self._built.get(n)]
            if blocked:
                for step in ("build", "test", "scan", "sbom"):
                    result.record(step, "skipped", f"{blocked[0]} did not build")
                return
            await self._build(name, result)
        except Exception as e:
            record_error(result, "checks" if self._built.get(name) else "build", e)
        finally:
            events[name].set()

    async def _build(self, name: str, result: ImageResult) -> None:
        ctr = self.render(name)
        try:
            await checked(ctr.sync(), f"image '{name}': build")
        except StepError as e:
            result.record("build", "failed", str(e))
            for step in ("test", "scan", "sbom"):
                result.record(step, "skipped", "the build failed")
            return
        result.record("build", "passed")
        self._built[name] = True
        tarball = ctr.as_tarball()
        async with task_group(f"image '{name}'") as tg:
            tg.start_soon(self._describe, name, result, ctr, tarball)
            tg.start_soon(self._test, name, result, ctr)
            if self.scans:
                tg.start_soon(self._scan, name, result, tarball)
                tg.start_soon(self._sbom, name, result, tarball)
            else:
                why = "--skip-scan" if self.title == "build-all" else f"not in {self.title}"
                result.record("scan", "skipped", why)
                result.record("sbom", "skipped", why)

    async def _describe(self, name: str, result: ImageResult, ctr: dagger.Container, tarball: dagger.File) -> None:
        with recording(result, "digest"):
            result.info = await image_info.describe(name, ctr, tarball, self.tool)

    async def _test(self, name: str, result: ImageResult, ctr: dagger.Container) -> None:
        with recording(result, "test"):
            tests = await image_checks.run_tests(ctr, await self.suites(name))
        if "test" in result.steps:  # the tests could not run
            return
        self.texts[f"{name}/tests.xml"] = tests.junit(name)
        result.record("test", "passed" if tests.passed else "failed", tests.counts())
        if not tests.passed:
            result.steps["test"].detail += "\n" + tests.summary()

    async def _scan(self, name: str, result: ImageResult, tarball: dagger.File) -> None:
        try:
            scanned = await image_checks.run_scan(name, tarball, self.trivy, self.policy, self.ignore_file)
        except StepError as e:
            result.record("scan", "failed", str(e))
            return
        self.texts.update({f"{name}/{file}": text for file, text in scanned.files.items()})
        result.record("scan", "passed" if scanned.passed else "failed", scanned.summary)

    async def _sbom(self, name: str, result: ImageResult, tarball: dagger.File) -> None:
        sbom = image_checks.sbom(name, tarball, self.trivy, self.policy)
        try:
            await checked(sbom.sync(), f"image '{name}': sbom")
        except StepError as e:
            result.record("sbom", "failed", str(e))
            return
        result.record("sbom", "passed")
        self.files[f"{name}/sbom.cdx.json"] = sbom
