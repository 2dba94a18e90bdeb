"""What `publish` pushes: tags from a version and a git SHA, references, platforms. Engine-free."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Final, Literal

from pipeline.catalog import GO_CACHES

PLATFORMS: Final = ("linux/amd64", "linux/arm64")
REPOSITORY_PREFIX: Final = "dev8-"
_TAG: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_SHA: Final = re.compile(r"^[0-9a-f]{7,40}$")
_PLATFORM: Final = re.compile(r"^linux/(amd64|arm64|arm/v7|ppc64le|s390x|riscv64)$")
_REGISTRY: Final = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$")


class PublishError(ValueError):
    """A publish argument that cannot make a valid reference; the message names it."""


@dataclasses.dataclass(frozen=True)
class Push:
    image: str
    repository: str  # registry/dev8-<image>
    tags: tuple[str, ...]
    platforms: tuple[str, ...]
    # For --reuse-from, under their digest's tag: the feature layers alone, or the Go caches
    content: Literal["image", "features", "go-caches"] = "image"

    @property
    def references(self) -> list[str]:
        return [f"{self.repository}:{tag}" for tag in self.tags]

    def phases(self) -> tuple[list[str], list[str]]:
        """(the commit tag, the other tags): the commit tag names exactly this build and goes first; the
        version and `latest` are what people pull, and move only after every commit tag is pushed."""
        if self.content != "image":  # named by content: never moves
            return self.references, []
        commit = [ref for ref, tag in zip(self.references, self.tags, strict=True) if _SHA.match(tag)]
        return commit, [ref for ref in self.references if ref not in commit]


def version_tag(version: str) -> str:
    """v1.2.3 -> 1.2.3; anything else must already be a valid tag."""
    tag = version[1:] if re.match(r"^v\d", version) else version
    if not _TAG.match(tag):
        raise PublishError(f"tag: {version!r} is not a valid image tag")
    return tag


def tags(version: str, sha: str, latest: bool) -> tuple[str, ...]:
    """The version, the short SHA (7 hex digits) and, when asked, latest; in that order."""
    if not _SHA.match(sha):
        raise PublishError(f"sha: {sha!r} is not a git commit SHA (7 to 40 lowercase hex digits)")
    found = [version_tag(version), sha[:7]]
    return tuple(dict.fromkeys([*found, "latest"] if latest else found))


def platforms(names: Sequence[str] | None) -> tuple[str, ...]:
    chosen = tuple(names or PLATFORMS)
    bad = [p for p in chosen if not _PLATFORM.match(p)]
    if bad:
        raise PublishError(f"platform: {', '.join(bad)} not supported (e.g. {', '.join(PLATFORMS)})")
    return tuple(dict.fromkeys(chosen))


def goarch(platform: str) -> str:
    """linux/arm64 -> arm64, linux/arm/v7 -> arm (GOARM is left at its default)."""
    return platform.split("/")[1]


def registry_host(registry: str) -> str:
    """ghcr.io/org -> ghcr.io: the address the credentials are for."""
    return registry.split("/", 1)[0]


def plan(
    registry: str, *, images: Sequence[str], version: str, sha: str, latest: bool, arch: Sequence[str] | None
) -> list[Push]:
    """One push per image: every tag, every platform."""
    registry = registry.rstrip("/")
    if not _REGISTRY.match(registry):
        raise PublishError(f"registry: {registry!r} is not a registry address such as ghcr.io/org")
    chosen, tag_list = platforms(arch), tags(version, sha, latest)
    return [Push(name, repository(registry, name), tag_list, chosen) for name in images]


def repository(registry: str, name: str) -> str:
    """ghcr.io/org, base -> ghcr.io/org/dev8-base: where an image (or the Go caches) is pushed."""
    return f"{registry.rstrip('/')}/{REPOSITORY_PREFIX}{name}"


def features_tag(digest: str) -> str:
    """The tag of an image's feature layers: its features digest, sha256:abc... -> features-abc..."""
    return "features-" + digest.removeprefix("sha256:")


def features_pushes(pushes: Sequence[Push], digests: Mapping[str, str]) -> list[Push]:
    """For each image, its feature layers under their digest's tag, for the same platforms."""
    return [
        dataclasses.replace(p, tags=(features_tag(digests[p.image]),), content="features")
        for p in pushes
        if p.image in digests
    ]


def go_caches_tag(digest: str) -> str:
    """The Go caches' tag: sha256:abc... -> go-abc..."""
    return "go-" + digest.removeprefix("sha256:")


def go_caches_push(registry: str, digest: str, platform: str) -> Push:
    """The Go caches this build filled, for the engine's platform only (they are that platform's)."""
    return Push(GO_CACHES, repository(registry, GO_CACHES), (go_caches_tag(digest),), (platform,), content="go-caches")


def dry_run_text(pushes: Sequence[Push], native: str) -> str:
    """What would be pushed, one reference a line with its platforms; only `native` is tested."""
    lines = ["dry run: built, tested and scanned; would push:"]
    for push in pushes:
        variants = ", ".join(p if p == native else f"{p} (built, not tested)" for p in push.platforms)
        lines += [f"  {ref}  [{variants}]" for ref in push.references]
    return "\n".join(lines) + "\n"
