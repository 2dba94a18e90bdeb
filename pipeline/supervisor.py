"""The Go build stage of the workspace supervisor, mirrored by the Dockerfile's `supervisor` stage."""

from __future__ import annotations

import dagger
from dagger import dag

from pipeline.caches import GO_CACHES, mount
from pipeline.dockerfile import SUPERVISOR_OUT

SNAPSHOT_DIR = "/tmp/dev8-go-caches"  # outside the cache mounts, so the copy lands in the container


def go_container(go_image: str, source: dagger.Directory, seed: dagger.Directory | None = None) -> dagger.Container:
    """A Go toolchain with the supervisor's source at /src and the module and build caches mounted,
    started from `seed` (see `caches_snapshot`) when given."""
    return (
        dag.container()
        .from_(go_image)
        .with_(mount(GO_CACHES, seed))
        .with_workdir("/src")
        .with_directory("/src", source)
        .with_env_variable("CGO_ENABLED", "0")
    )


def build(go: dagger.Container, version: str, goarch: str | None = None) -> dagger.File:
    """The static supervisor binary, its version stamped at link time; cross-compiled for `goarch`."""
    if goarch:
        go = go.with_env_variable("GOOS", "linux").with_env_variable("GOARCH", goarch)
    return go.with_exec(_build_argv(version)).file(SUPERVISOR_OUT)


def caches_snapshot(go: dagger.Container, version: str) -> dagger.Directory:
    """A copy of the module and build caches once vet, test and the build have filled them: a folder per
    cache volume, named like it, for `go_container`'s seed on an engine that starts empty."""
    copies = [f"cp -a {cache.path}/. {SNAPSHOT_DIR}/{cache.volume}/" for cache in GO_CACHES]
    folders = " ".join(f"{SNAPSHOT_DIR}/{cache.volume}" for cache in GO_CACHES)
    script = f"set -eu; mkdir -p {folders}; " + "; ".join(copies)
    filled = test(go).with_exec(_build_argv(version))
    return filled.with_exec(["sh", "-c", script]).directory(SNAPSHOT_DIR)


def _build_argv(version: str) -> list[str]:
    ldflags = f"-s -w -X main.version={version}"
    return ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", SUPERVISOR_OUT, "./cmd/supervisor"]


def test(go: dagger.Container) -> dagger.Container:
    """`go vet` and `go test` of every package; integration tests skip without their servers. Go's test
    cache (in the build cache volume) skips the packages whose code, files and environment are unchanged."""
    return go.with_exec(["go", "vet", "./..."]).with_exec(["go", "test", "./..."])
