"""One call's view of the repository: the catalog as it is in the source, the feature options, the
build's labels, and how each image and its tests are made from them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import dagger
from dagger import dag

from pipeline import container, publish_plan, supervisor
from pipeline.caches import GO_CACHES
from pipeline.catalog import Catalog, Image
from pipeline.errors import checked
from pipeline.options import Overrides
from pipeline.plan import GO_CACHES_DIGEST, BuildInfo, Step, digest_of, plan
from pipeline.structure_tests import Suite, load_suite


@dataclasses.dataclass(frozen=True)
class Build:
    source: dagger.Directory
    catalog: Catalog
    overrides: Overrides
    info: BuildInfo
    go_image: str  # empty: the catalog's pin
    go_seed: dagger.Directory | None = None  # the Go caches pulled from a registry, to start the volumes from
    # (image, platform or None for the engine's own) -> its feature layers pulled from a registry
    reused: Mapping[tuple[str, str | None], dagger.Container] = dataclasses.field(
        default_factory=dict[tuple[str, str | None], dagger.Container]
    )

    def go(self) -> dagger.Container:
        """The supervisor's build container."""
        image = self.go_image or self.catalog.go_image
        return supervisor.go_container(image, self.source.directory(self.catalog.supervisor_dir), self.go_seed)

    def go_caches_digest(self, platform: str) -> str:
        """What the Go caches' contents depend on: the toolchain image, the platform, go.mod and go.sum; and
        their layout (a folder per volume), so that a seed of another layout is never looked up."""
        layout = [f"{cache.volume}:{cache.path}" for cache in GO_CACHES]
        return digest_of([self.go_image or self.catalog.go_image, platform, self.catalog.go_modules_digest, *layout])

    def go_caches(self, platform: str) -> dagger.Container:
        """The Go caches filled by this build, as an image labelled with their digest, to seed the next."""
        snapshot = supervisor.caches_snapshot(self.go(), self.info.version)
        # Copied onto an empty image: as a rootfs, a folder of the Go container is published with the
        # Go image's layers and at its path there (v0.21.8), not at the image's root.
        image = dag.container().with_directory("/", snapshot)
        return image.with_label(GO_CACHES_DIGEST, self.go_caches_digest(platform))

    def supervisor(self, goarch: str | None = None) -> dagger.File:
        return supervisor.build(self.go(), self.info.version, goarch)

    def steps(self, name: str) -> list[Step]:
        image = self.catalog.image(name)
        return plan(self.catalog, image, self.info, self.overrides.for_image(image))

    def features(self, name: str, platform: str | None = None) -> dagger.Container:
        """The image's feature layers, ending with its features-digest label: from the registry where
        reused (its own or its nearest ancestor's), the rest built."""
        image = self.catalog.image(name)
        end = len(image.features) + 1  # the features and their digest label
        ctr, done = self._start(image, platform)
        return container.apply(ctr, self.steps(name)[done:end], self.source, None)

    def render(self, name: str, platform: str | None = None) -> dagger.Container:
        """The image, on the engine's platform unless `platform` (e.g. linux/arm64) is given."""
        image = self.catalog.image(name)
        binary = self.supervisor(publish_plan.goarch(platform) if platform else None) if image.supervisor else None
        tail = self.steps(name)[len(image.features) + 1 :]
        return container.apply(self.features(name, platform), tail, self.source, binary)

    def _start(self, image: Image, platform: str | None) -> tuple[dagger.Container, int]:
        """Where the image's feature layers start, and how many of its steps are already in it."""
        ancestor: Image | None = image
        while ancestor is not None:
            reused = self.reused.get((ancestor.name, platform))
            if reused is not None:
                return reused, len(ancestor.features) + (1 if ancestor is image else 0)
            ancestor = self.catalog.image(ancestor.parent) if ancestor.parent else None
        return container.start(image.base, platform), 0

    async def suites(self, name: str) -> list[Suite]:
        """The image's structure-test suites, without those of features an option turned off."""
        paths = self.overrides.suites(self.catalog.image(name))
        return [load_suite(path, await checked(self.source.file(path).contents(), f"read {path}")) for path in paths]
