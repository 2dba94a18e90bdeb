"""Shared fixtures: the repository, the catalog, and the images built offline with podman."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline import catalog
from tests.support import podman

# What the offline build changes from the catalog's defaults, besides the stand-in base and Go
# images: one file, shared with bench/images.sh.
OFFLINE_BUILD_ARGS = podman.offline_build_args()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return podman.REPO_ROOT


@pytest.fixture(scope="session")
def loaded_catalog(repo_root: Path) -> catalog.Catalog:
    return catalog.load(repo_root)


@pytest.fixture(scope="session")
def podman_env() -> dict[str, str]:
    return podman.env()


@pytest.fixture(scope="session")
def standin_images() -> tuple[str, str]:
    """(Debian bookworm, Go toolchain) images made without a registry; cached between runs."""
    return podman.standin_images()


@pytest.fixture(scope="session")
def offline_build_args(standin_images: tuple[str, str]) -> dict[str, str]:
    debian, go = standin_images
    return {"BASE_IMAGE": debian, "GO_IMAGE": go, **OFFLINE_BUILD_ARGS}


@pytest.fixture(scope="session")
def offline_image(repo_root: Path, offline_build_args: dict[str, str]) -> Callable[[str], str]:
    """Build a catalog image offline from its committed Dockerfile (once a session); returns its tag."""
    built: dict[str, str] = {}

    def build(name: str) -> str:
        if name not in built:
            tag = f"localhost/dev8/{name}:test"
            podman.build(repo_root / "docker" / name / "Dockerfile", tag, offline_build_args)
            built[name] = tag
        return built[name]

    return build


@pytest.fixture(scope="session")
def base_image(offline_image: Callable[[str], str]) -> str:
    """The base image built offline from the committed docker/base/Dockerfile."""
    return offline_image("base")
