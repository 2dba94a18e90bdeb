"""The Go build stage of the workspace supervisor, mirrored by the Dockerfile's `supervisor` stage."""

from __future__ import annotations

import dagger
from dagger import dag

from pipeline.caches import GO_CACHES, mount
from pipeline.dockerfile import SUPERVISOR_OUT


def go_container(go_image: str, source: dagger.Directory) -> dagger.Container:
    """A Go toolchain with the supervisor's source at /src and the module and build caches mounted."""
    return (
        dag.container()
        .from_(go_image)
        .with_(mount(GO_CACHES))
        .with_workdir("/src")
        .with_directory("/src", source)
        .with_env_variable("CGO_ENABLED", "0")
    )


def build(go: dagger.Container, version: str, goarch: str | None = None) -> dagger.File:
    """The static supervisor binary, its version stamped at link time; cross-compiled for `goarch`."""
    ldflags = f"-s -w -X main.version={version}"
    argv = ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", SUPERVISOR_OUT, "./cmd/supervisor"]
    if goarch:
        go = go.with_env_variable("GOOS", "linux").with_env_variable("GOARCH", goarch)
    return go.with_exec(argv).file(SUPERVISOR_OUT)


def test(go: dagger.Container) -> dagger.Container:
    """`go vet` and `go test` of every package; integration tests skip without their servers. Go's test
    cache (in the build cache volume) skips the packages whose code, files and environment are unchanged."""
    return go.with_exec(["go", "vet", "./..."]).with_exec(["go", "test", "./..."])
