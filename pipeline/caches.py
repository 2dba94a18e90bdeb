"""Cache volumes shared by every build, named with the module's prefix.

The Dockerfile renderer uses the same names as cache-mount ids, so both paths describe one cache.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Final

import dagger
from dagger import dag


@dataclasses.dataclass(frozen=True)
class Cache:
    volume: str
    path: str
    locked: bool  # apt takes its own lock and fails when two builds share the directory


# Downloaded packages only: package lists are fetched per step and removed in the same layer.
# (Buildah 1.28 also deadlocks on a second locked cache mount in one RUN.)
APT_CACHES: Final = (Cache("dev8-apt-cache", "/var/cache/apt", locked=True),)
ContainerStep = Callable[[dagger.Container], dagger.Container]

GO_CACHES: Final = (
    Cache("dev8-go-mod", "/go/pkg/mod", locked=False),
    Cache("dev8-go-build", "/root/.cache/go-build", locked=False),
)


def mount(caches: tuple[Cache, ...], seed: dagger.Directory | None = None) -> ContainerStep:
    """Mount `caches` on a container: `ctr.with_(mount(APT_CACHES))`. With a `seed`, each volume starts
    as a copy of the seed's folder named like the volume (a volume with a seed is its own volume)."""

    def apply(ctr: dagger.Container) -> dagger.Container:
        for cache in caches:
            sharing = dagger.CacheSharingMode.LOCKED if cache.locked else dagger.CacheSharingMode.SHARED
            source = seed.directory(cache.volume) if seed is not None else None
            ctr = ctr.with_mounted_cache(cache.path, dag.cache_volume(cache.volume, source=source), sharing=sharing)
        return ctr

    return apply


def unmount(caches: tuple[Cache, ...]) -> ContainerStep:
    """Remove the mounts of `caches`, so a later step sees the image as the Dockerfile builds it."""

    def apply(ctr: dagger.Container) -> dagger.Container:
        for cache in caches:
            ctr = ctr.without_mount(cache.path)
        return ctr

    return apply
