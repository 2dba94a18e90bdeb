"""dev8 images: build, test, scan and publish the Dev8 workspace images."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Final

import dagger
from dagger import DefaultPath, Doc, Ignore, dag, function, object_type

from pipeline import container, dockerfile, image_checks, publish, publish_plan, scan, source, supervisor
from pipeline.build_all import Runner
from pipeline.catalog import Catalog
from pipeline.errors import Failed, checked
from pipeline.plan import BuildInfo, parse_overrides, plan
from pipeline.reports import summary_markdown
from pipeline.scan_report import (
    DEFAULT_FAIL_ON,
    IGNORE_FILE,
    Policy,
    parse_ignore_file,
    parse_severities,
    summary,
)
from pipeline.structure_tests import Suite, load_suite

Source = Annotated[
    dagger.Directory,
    Doc("The repository root: the image catalog, its features and the supervisor's source"),
    DefaultPath("/"),
    Ignore(source.INCLUDE),
]
ImageName = Annotated[str, Doc("Image name in docker/images.yaml")]
Options = Annotated[list[str] | None, Doc("Feature options as feature.option=value, e.g. github-cli.source=distro")]
Images = Annotated[list[str] | None, Doc("Images to include; empty: the whole catalog")]
Severity = Annotated[str, Doc("Severities that fail the scan, comma-separated; empty: none fails")]
IgnoreUnfixed = Annotated[bool, Doc("Leave out vulnerabilities with no fixed version")]
ScanFormat = Annotated[str, Doc("Output: table (for people), json (Trivy's) or sarif (GitHub code scanning)")]
TestFormat = Annotated[str, Doc("Output: text or junit (JUnit XML)")]
_SCAN_FILES: Final = {"table": "trivy.txt", "json": "trivy.json", "sarif": "trivy.sarif"}


@object_type
class Dev8:
    """Builds the Dev8 workspace images from docker/images.yaml."""

    source: Source
    version: Annotated[str, Doc("Version stamped into the supervisor and the OCI version label")] = "dev"
    revision: Annotated[str, Doc("Git revision for the org.opencontainers.image.revision label")] = "unknown"
    created: Annotated[str, Doc("Build time (RFC 3339) for the org.opencontainers.image.created label")] = ""
    go_image: Annotated[str, Doc("Go build image; empty takes the catalog's pinned one")] = ""
    trivy_image: Annotated[str, Doc("Trivy image that scans and makes SBOMs")] = scan.TRIVY_IMAGE
    db_repository: Annotated[
        str, Doc("Trivy vulnerability database repositories (OCI), comma-separated in order of priority")
    ] = scan.DB_REPOSITORY
    java_db_repository: Annotated[
        str, Doc("Trivy Java database repositories (OCI), comma-separated in order of priority")
    ] = scan.JAVA_DB_REPOSITORY

    @function
    async def supervisor(self) -> dagger.File:
        """The workspace-supervisor binary, built static with its version stamped."""
        return supervisor.build(self._go(await source.load_catalog(self.source)), self.version)

    @function
    async def supervisor_test(self) -> str:
        """Run go vet and go test of the supervisor in its build container."""
        ctr = supervisor.test(self._go(await source.load_catalog(self.source)))
        return await checked(ctr.stdout(), "supervisor: go test")

    @function
    async def image(self, name: ImageName, option: Options = None) -> dagger.Container:
        """Any image of the catalog, by name."""
        return self._render(await source.load_catalog(self.source), name, option or [])

    @function
    async def base(self, option: Options = None) -> dagger.Container:
        """The base image: system tools, hardened SSH, the dev8 user, the supervisor and entrypoint."""
        return await self.image("base", option)

    @function
    async def workspace(self, option: Options = None) -> dagger.Container:
        """The workspace image: base plus language toolchains, editors and cloud CLIs."""
        return await self.image("workspace", option)

    @function
    async def dockerfile(self, name: ImageName) -> dagger.File:
        """The image's rendered Dockerfile, as committed under docker/<name>/Dockerfile."""
        catalog = await source.load_catalog(self.source)
        return dag.file("Dockerfile", dockerfile.render(catalog, catalog.image(name)))

    @function
    async def test(self, name: ImageName, option: Options = None, format: TestFormat = "text") -> str:
        """Run the image's structure tests; fails with their summary when one fails."""
        if format not in ("text", "junit"):
            raise ValueError(f"format: {format!r} is not text or junit")
        catalog = await source.load_catalog(self.source)
        ctr = self._render(catalog, name, option or [])
        tests = await image_checks.run_tests(ctr, await self._suites(catalog, name))
        if not tests.passed:
            raise Failed(f"image '{name}': test failed:\n{tests.summary()}")
        return tests.junit(name) if format == "junit" else tests.summary()

    @function
    async def test_all(self, images: Images = None, option: Options = None) -> dagger.Directory:
        """Every image's structure tests: <image>/tests.xml (JUnit) and summary.md; failures are reported."""
        catalog = await source.load_catalog(self.source)
        runner = self._runner(catalog, option or [], scans=False, go_tests=False, title="test-all")
        await runner.run_all(self._names(catalog, images))
        return runner.directory()

    @function
    async def scan(
        self,
        name: ImageName,
        option: Options = None,
        severity: Severity = DEFAULT_FAIL_ON,
        ignore_unfixed: IgnoreUnfixed = True,
        format: ScanFormat = "table",
    ) -> str:
        """Trivy scan of the image; fails with a summary of the findings at or above --severity."""
        if format not in _SCAN_FILES:
            raise ValueError(f"format: {format!r} is not one of {', '.join(_SCAN_FILES)}")
        catalog = await source.load_catalog(self.source)
        tarball = self._render(catalog, name, option or []).as_tarball()
        policy = await self._policy(severity, ignore_unfixed)
        scanned = await image_checks.run_scan(name, tarball, self._trivy(), policy, self._ignore_file())
        if not scanned.decision.passed:
            raise Failed(summary(scanned.decision, policy))
        return scanned.files[_SCAN_FILES[format]]

    @function
    async def sbom(self, name: ImageName, option: Options = None) -> dagger.File:
        """A CycloneDX SBOM (JSON) of the image, made by Trivy."""
        catalog = await source.load_catalog(self.source)
        return scan.sbom(self._trivy().with_databases(), self._render(catalog, name, option or []).as_tarball())

    @function
    async def build_all(
        self,
        *,
        images: Images = None,
        option: Options = None,
        skip_scan: Annotated[bool, Doc("Build and test only: no Trivy scan or SBOM")] = False,
        severity: Severity = DEFAULT_FAIL_ON,
        ignore_unfixed: IgnoreUnfixed = True,
        fail_on_error: Annotated[bool, Doc("Fail with the summary instead of returning the reports")] = False,
    ) -> dagger.Directory:
        """Build, test and scan every image in dependency order; a Directory of reports and summary.md."""
        catalog = await source.load_catalog(self.source)
        policy = None if skip_scan else await self._policy(severity, ignore_unfixed)
        runner = self._runner(catalog, option or [], scans=not skip_scan, policy=policy)
        run = await runner.run_all(self._names(catalog, images))
        if fail_on_error and not run.passed:
            raise Failed(summary_markdown(run))
        return runner.directory()

    @function
    async def publish(
        self,
        *,
        registry: Annotated[str, Doc("Registry and namespace to push to, e.g. ghcr.io/ORG")],
        username: Annotated[str, Doc("Registry user name")],
        password: Annotated[dagger.Secret, Doc("Registry password or token, as a secret: env:TOKEN")],
        tag: Annotated[str, Doc("Version tag, e.g. v1.2.3 (pushed as 1.2.3); also the images' version")],
        sha: Annotated[str, Doc("Git commit for the short-SHA tag; empty takes --revision")] = "",
        latest: Annotated[bool, Doc("Also tag latest")] = False,
        platform: Annotated[list[str] | None, Doc("Platforms; empty: linux/amd64 and linux/arm64")] = None,
        images: Images = None,
        option: Options = None,
        severity: Severity = DEFAULT_FAIL_ON,
        ignore_unfixed: IgnoreUnfixed = True,
        dry_run: Annotated[bool, Doc("Build, test and scan, then print what would be pushed")] = False,
    ) -> str:
        """Build, test and scan, then push each image for every platform; the pushed references with digests."""
        catalog = await source.load_catalog(self.source)
        names = self._names(catalog, images)
        pushes = publish_plan.plan(
            registry, images=names, version=tag, sha=sha or self.revision, latest=latest, arch=platform
        )
        release = dataclasses.replace(self, version=publish_plan.version_tag(tag))
        runner = release._runner(catalog, option or [], policy=await self._policy(severity, ignore_unfixed))
        publish.gate(await runner.run_all(names))
        if dry_run:
            return publish_plan.dry_run_text(pushes)

        def variant(name: str, platform: str) -> dagger.Container:
            return release._render(catalog, name, option or [], platform)

        return "\n".join(await publish.push_all(pushes, variant, registry, username, password)) + "\n"

    def _go(self, catalog: Catalog) -> dagger.Container:
        go_image = self.go_image or catalog.go_image
        return supervisor.go_container(go_image, self.source.directory(catalog.supervisor_dir))

    def _render(self, catalog: Catalog, name: str, options: list[str], platform: str | None = None) -> dagger.Container:
        image = catalog.image(name)
        build = BuildInfo(version=self.version, revision=self.revision, created=self.created)
        steps = plan(image, build, parse_overrides(image, options))
        goarch = publish_plan.goarch(platform) if platform else None
        binary = supervisor.build(self._go(catalog), self.version, goarch) if image.supervisor else None
        return container.render(image.base, steps, self.source, binary, platform)

    def _trivy(self) -> image_checks.Trivy:
        return image_checks.Trivy(self.trivy_image, self.db_repository, self.java_db_repository)

    def _ignore_file(self) -> dagger.File:
        return self.source.file(IGNORE_FILE)

    async def _policy(self, severity: str, ignore_unfixed: bool) -> Policy:
        """The scan policy; the repository's .trivyignore must give a reason for every entry."""
        text = await checked(self._ignore_file().contents(), f"read {IGNORE_FILE}")
        return Policy(parse_severities(severity), ignore_unfixed, parse_ignore_file(text))

    def _names(self, catalog: Catalog, images: list[str] | None) -> list[str]:
        """The chosen images in catalog (build) order; every name checked against the catalog."""
        for name in images or []:
            catalog.image(name)
        return [name for name in catalog.images if not images or name in images]

    async def _suites(self, catalog: Catalog, name: str) -> list[Suite]:
        files = catalog.image(name).tests
        return [load_suite(path, await checked(self.source.file(path).contents(), f"read {path}")) for path in files]

    def _runner(
        self,
        catalog: Catalog,
        options: list[str],
        *,
        scans: bool = True,
        go_tests: bool = True,
        policy: Policy | None = None,
        title: str = "build-all",
    ) -> Runner:
        go = self._go(catalog)

        async def suites(name: str) -> list[Suite]:
            return await self._suites(catalog, name)

        return Runner(
            catalog=catalog,
            render=lambda name: self._render(catalog, name, options),
            supervisor=supervisor.build(go, self.version),
            supervisor_test=supervisor.test(go) if go_tests else None,
            suites=suites,
            trivy=self._trivy(),
            policy=policy or Policy(),
            ignore_file=self._ignore_file() if scans else None,
            scans=scans,
            title=title,
        )
