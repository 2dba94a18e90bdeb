"""Podman on these machines: the settings file it needs, and small helpers the tests share."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
CONTAINERS_CONF: Final = REPO_ROOT / "scripts/podman/containers.conf"
CACHE_DIR: Final = Path(os.environ.get("DEV8_CACHE_DIR", "/var/cache/dev8-images"))
OFFLINE_BUILD_ARGS_FILE: Final = REPO_ROOT / "scripts/offline-build-args"


def offline_build_args() -> dict[str, str]:
    """scripts/offline-build-args: NAME=value lines, # comments."""
    lines = OFFLINE_BUILD_ARGS_FILE.read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name: value for name, value in pairs}


def env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF), "DEV8_CACHE_DIR": str(CACHE_DIR)}


def podman(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run podman; a failure raises with podman's own output, not just its exit code."""
    result = subprocess.run(["podman", *args], env=env(), capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def standin_images() -> tuple[str, str]:
    """Make (or reuse) the stand-in Debian and Go images; returns their references."""
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts/make-standin-images.sh")],
        env=env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"make-standin-images.sh failed:\n{result.stderr}")
    debian, go = result.stdout.split()
    return debian, go


def build(dockerfile: Path, tag: str, build_args: dict[str, str]) -> str:
    """Build a rendered Dockerfile with the repository root as context; returns the build log."""
    args = [f"--build-arg={k}={v}" for k, v in build_args.items()]
    before = image_id(tag)
    result = podman("build", "--layers", "-f", str(dockerfile), *args, "-t", tag, str(REPO_ROOT), timeout=3000)
    if before and before != image_id(tag):
        drop_if_untagged(before)
    return result.stdout + result.stderr


def image_id(reference: str) -> str:
    """The local image's ID, or "" when there is none."""
    result = podman("image", "inspect", "--format", "{{.Id}}", reference, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def drop_if_untagged(image: str) -> None:
    """Remove an image a rebuild untagged, so reruns do not fill the disk with old builds. One that
    still has a tag, a container or a child image is kept (podman refuses, and that is right)."""
    tags = podman("image", "inspect", "--format", "{{len .RepoTags}}", image, check=False).stdout.strip()
    if tags == "0":
        podman("image", "rm", image, check=False)
