"""dev8 images: build, test, scan and publish the Dev8 workspace images."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated, Final

import dagger
from dagger import Doc, dag, function, object_type

from pipeline import (
    caching,
    dockerfile,
    image_checks,
    options,
    plan,
    publish,
    publish_plan,
    release,
    reuse,
    scan,
    signing,
    source,
    supervisor,
)
from pipeline.arguments import (
    IgnoreUnfixed,
    ImageName,
    Images,
    Options,
    ReuseFrom,
    ScanFormat,
    Scanners,
    Severity,
    Source,
    TestFormat,
)
from pipeline.build import Build
from pipeline.build_all import Runner
from pipeline.catalog import Catalog
from pipeline.errors import Failed, checked
from pipeline.plan import BuildInfo
from pipeline.provenance import LOCAL_BUILDER
from pipeline.reports import summary_markdown
from pipeline.scan_report import (
    DEFAULT_FAIL_ON,
    IGNORE_FILE,
    Policy,
    check_ignore_file,
    parse_scanners,
    parse_severities,
)

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
    cosign_image: Annotated[str, Doc("cosign image that signs and verifies")] = signing.COSIGN_IMAGE
    db_repository: Annotated[
        str, Doc("Trivy vulnerability database repositories (OCI), comma-separated in order of priority")
    ] = scan.DB_REPOSITORY
    java_db_repository: Annotated[
        str, Doc("Trivy Java database repositories (OCI), comma-separated in order of priority")
    ] = scan.JAVA_DB_REPOSITORY
    options_file: Annotated[
        dagger.File | None,
        Doc("Feature options as NAME=value lines (the Dockerfiles' build arguments), e.g. scripts/offline-build-args"),
    ] = None

    @function
    async def supervisor(self) -> dagger.File:
        """The workspace-supervisor binary, built static with its version stamped."""
        return (await self._build([])).supervisor()

    @function
    async def supervisor_test(self) -> str:
        """Run go vet and go test of the supervisor in its build container."""
        ctr = supervisor.test((await self._build([])).go())
        return await checked(ctr.stdout(), "supervisor: go test")

    @function
    async def image(self, name: ImageName, option: Options = None) -> dagger.Container:
        """Any image of the catalog, by name."""
        return (await self._build([name], option)).render(name)

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
        build = await self._build([name], option)
        tests = await image_checks.run_tests(build.render(name), await build.suites(name))
        if not tests.passed:
            raise Failed(f"image '{name}': test failed:\n{tests.summary()}")
        return tests.junit(name) if format == "junit" else tests.summary()

    # Structure tests are hermetic: the same image and suites give the same result, so they are cached
    # like a build (the default, up to 7 days) and run again whenever either changes.
    @function
    async def test_all(self, images: Images = None, option: Options = None) -> dagger.Directory:
        """Every image's structure tests: <image>/tests.xml (JUnit) and summary.md; failures are reported."""
        build = await self._build(images, option)
        runner = self._runner(build, scans=False, go_tests=False, title="test-all")
        await runner.run_all(self._names(build.catalog, images))
        return runner.directory()

    # A scan re-checks the world, so it is never answered from an earlier call; within a call its steps
    # are cached, and the database download is keyed by the UTC day, so each day's first call rescans.
    @caching.function(cache="session")
    async def scan(
        self,
        name: ImageName,
        *,
        option: Options = None,
        severity: Severity = DEFAULT_FAIL_ON,
        ignore_unfixed: IgnoreUnfixed = True,
        format: ScanFormat = "table",
        scanners: Scanners = "vuln,secret",
    ) -> str:
        """Trivy scan of the image; fails with a summary of the findings at or above --severity."""
        if format not in _SCAN_FILES:
            raise ValueError(f"format: {format!r} is not one of {', '.join(_SCAN_FILES)}")
        tarball = (await self._build([name], option)).render(name).as_tarball()
        policy = await self._policy(severity, ignore_unfixed, scanners)
        scanned = await image_checks.run_scan(name, tarball, self._trivy(), policy, self._ignore_file())
        if not scanned.passed:
            raise Failed(scanned.summary)
        return scanned.files[_SCAN_FILES[format]]

    @function
    async def sbom(self, name: ImageName, option: Options = None, scanners: Scanners = "vuln,secret") -> dagger.File:
        """A CycloneDX SBOM (JSON) of the image, made by Trivy."""
        tarball = (await self._build([name], option)).render(name).as_tarball()
        return image_checks.sbom(name, tarball, self._trivy(), Policy(scanners=parse_scanners(scanners)))

    # Reruns within the hour return the same reports, so a no-op costs only the module's load; later
    # calls run again (a new day's database rescans), while unchanged build and test steps are cached.
    @caching.function(cache="1h")
    async def build_all(
        self,
        *,
        images: Images = None,
        option: Options = None,
        skip_scan: Annotated[bool, Doc("Build and test only: no Trivy scan or SBOM")] = False,
        severity: Severity = DEFAULT_FAIL_ON,
        ignore_unfixed: IgnoreUnfixed = True,
        fail_on_error: Annotated[bool, Doc("Fail with the summary instead of returning the reports")] = False,
        reuse_from: ReuseFrom = "",
        scanners: Scanners = "vuln,secret",
    ) -> dagger.Directory:
        """Build, test and scan every image in dependency order; a Directory of reports and summary.md."""
        build = await self._build(images, option)
        names = self._names(build.catalog, images)
        build, notes = await self._reuse(build, reuse_from, names)
        policy = None if skip_scan else await self._policy(severity, ignore_unfixed, scanners)
        runner = self._runner(build, scans=not skip_scan, policy=policy)
        runner.run.notes += notes
        run = await runner.run_all(names)
        if fail_on_error and not run.passed:
            raise Failed(summary_markdown(run))
        return runner.directory()

    # Pushes to a registry: a side effect, never answered from the cache.
    @caching.function(cache="never")
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
        reuse_from: ReuseFrom = "",
        scanners: Scanners = "vuln,secret",
        sign: Annotated[bool, Doc("Sign each image by digest and attest its SBOM and provenance (cosign)")] = True,
        cosign_key: Annotated[
            dagger.Secret | None, Doc("cosign private key (PEM), as a secret: file:cosign.key")
        ] = None,
        cosign_password: Annotated[dagger.Secret | None, Doc("The cosign key's password, as a secret")] = None,
        identity_token: Annotated[dagger.Secret | None, Doc("OIDC token for keyless signing, as a secret")] = None,
        actions_oidc_request_url: Annotated[
            dagger.Secret | None, Doc("Keyless in GitHub Actions: env:ACTIONS_ID_TOKEN_REQUEST_URL")
        ] = None,
        actions_oidc_request_token: Annotated[
            dagger.Secret | None, Doc("Keyless in GitHub Actions: env:ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        ] = None,
        transparency_log: Annotated[bool, Doc("Record signatures in Rekor; off: offline signing")] = True,
        insecure_registry: Annotated[bool, Doc("cosign may use plain HTTP: a local test registry")] = False,
        container_registry: Annotated[
            str, Doc("Where containers (cosign) reach --registry, when not at the engine's address")
        ] = "",
        builder_id: Annotated[str, Doc("Provenance builder id, e.g. the workflow's URL; empty: a local build")] = "",
        invocation_id: Annotated[str, Doc("Provenance invocation id, e.g. the workflow run's URL")] = "",
    ) -> str:
        """Build, test and scan, then push each image for every platform; what was pushed, with digests."""
        request = None
        if actions_oidc_request_url is not None and actions_oidc_request_token is not None:
            request = (actions_oidc_request_url, actions_oidc_request_token)
        how = release.Signing(
            signing.Cosign(self.cosign_image, transparency_log, insecure_registry),
            signing.Identity(cosign_key, cosign_password, identity_token, request),
            container_registry, builder_id or LOCAL_BUILDER, invocation_id,
        )  # fmt: skip
        if sign:
            how.check()
        versioned = dataclasses.replace(self, version=publish_plan.version_tag(tag))
        build = await versioned._build(images, option)
        names = self._names(build.catalog, images)
        pushes = publish_plan.plan(
            registry, images=names, version=tag, sha=sha or self.revision, latest=latest, arch=platform
        )
        native = str(await dag.default_platform())
        targets: list[str | None] = [None if p == native else p for p in pushes[0].platforms] if pushes else [None]
        build, notes = await self._reuse(build, reuse_from, names, targets)
        runner = versioned._runner(build, policy=await self._policy(severity, ignore_unfixed, scanners))
        publish.gate(await runner.run_all(names))
        if reuse_from:  # publish the feature layers and Go caches built here, for the next run to reuse
            built = {name: plan.digests(build.steps(name))[0] for name in names if (name, None) not in build.reused}
            pushes += publish_plan.features_pushes(pushes, built)
            if build.go_seed is None:
                pushes.append(publish_plan.go_caches_push(registry, build.go_caches_digest(native), native))
        if dry_run:
            return "\n".join([*notes, publish_plan.dry_run_text(pushes, native)])
        auth = (registry, username, password)
        return await release.push_and_sign(build, runner, pushes, native=native, auth=auth, how=how if sign else None)

    # Checks a registry as it is now: never answered from the cache.
    @caching.function(cache="never")
    async def verify(
        self,
        *,
        image: Annotated[str, Doc("Image reference to check (tag or digest), as containers reach the registry")],
        key: Annotated[dagger.File | None, Doc("cosign public key (PEM); empty: keyless, by certificate")] = None,
        certificate_identity: Annotated[str, Doc("Keyless: the signing workflow's identity (URL@ref)")] = "",
        certificate_oidc_issuer: Annotated[str, Doc("Keyless: the OIDC issuer of that identity")] = "",
        username: Annotated[str, Doc("Registry user name, for a private registry")] = "",
        password: Annotated[dagger.Secret | None, Doc("Registry password or token, as a secret")] = None,
        transparency_log: Annotated[bool, Doc("Require the signatures in Rekor; off: offline signing")] = True,
        insecure_registry: Annotated[bool, Doc("cosign may use plain HTTP: a local test registry")] = False,
    ) -> str:
        """Check an image's cosign signature and its SBOM and provenance attestations; fails naming what did not."""
        identity = signing.identity_flags(key is not None, certificate_identity, certificate_oidc_issuer)
        cosign = signing.Cosign(self.cosign_image, transparency_log, insecure_registry)
        host = image.split("/", 1)[0]
        ctr = cosign.container(await signing.registry_auth(host, username, password) if password else None)
        if key is not None:
            ctr = ctr.with_mounted_file(signing.PUBLIC_KEY, key)
        return await signing.verify(cosign, ctr, identity, image)

    async def _build(self, images: list[str] | None, option: list[str] | None = None) -> Build:
        """The catalog as it is in the source, with the options checked against the chosen images."""
        catalog = await source.load_catalog(self.source)
        names = self._names(catalog, images)
        lines: list[str] = []
        if self.options_file is not None:
            lines = (await checked(self.options_file.contents(), "read --options-file")).splitlines()
        overrides = options.parse(catalog, names, option or [], lines, "--options-file")
        info = BuildInfo(version=self.version, revision=self.revision, created=self.created)
        return Build(self.source, catalog, overrides, info, self.go_image)

    async def _reuse(
        self, build: Build, registry: str, names: list[str], platforms: Sequence[str | None] = (None,)
    ) -> tuple[Build, list[str]]:
        """With --reuse-from, the build starting from the feature layers and Go caches published there; and
        notes saying what was reused."""
        if not registry:
            return build, []
        build, lookups = await reuse.pull(build, registry, names, platforms)
        build, seed = await reuse.seed_go_caches(build, registry, str(await dag.default_platform()))
        return build, reuse.notes([seed, *lookups])

    def _trivy(self) -> image_checks.Trivy:
        return image_checks.Trivy(self.trivy_image, self.db_repository, self.java_db_repository)

    def _ignore_file(self) -> dagger.File:
        return self.source.file(IGNORE_FILE)

    async def _policy(self, severity: str, ignore_unfixed: bool, scanners: str) -> Policy:
        """The scan policy; every entry of the repository's .trivyignore.yaml must have a statement."""
        text = await checked(self._ignore_file().contents(), f"read {IGNORE_FILE}")
        check_ignore_file(text)
        return Policy(parse_severities(severity), ignore_unfixed, parse_scanners(scanners))

    def _names(self, catalog: Catalog, images: list[str] | None) -> list[str]:
        """The chosen images in catalog (build) order; every name checked against the catalog."""
        for name in images or []:
            catalog.image(name)
        return [name for name in catalog.images if not images or name in images]

    def _runner(
        self,
        build: Build,
        *,
        scans: bool = True,
        go_tests: bool = True,
        policy: Policy | None = None,
        title: str = "build-all",
    ) -> Runner:
        return Runner(
            catalog=build.catalog,
            render=build.render,
            supervisor=build.supervisor(),
            supervisor_test=supervisor.test(build.go()) if go_tests else None,
            suites=build.suites,
            tool=build.go(),
            trivy=self._trivy(),
            policy=policy or Policy(),
            ignore_file=self._ignore_file() if scans else None,
            scans=scans,
            title=title,
        )
