"""Feature layers already published: where `REGISTRY/dev8-<image>` has a tag for an image's features
digest, the image starts from it and only its tail (or a child's own features) is built. Likewise the
supervisor's Go caches: where `REGISTRY/dev8-go-caches` has a tag for their digest, the module and build
cache volumes start from it, so an engine that starts empty does not download and compile every module.

A pulled image is used only when its digest label is the digest its tag names; else it is built, and the
report says why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import anyio
import dagger

from pipeline import container
from pipeline.build import Build
from pipeline.catalog import GO_CACHES
from pipeline.plan import FEATURES_DIGEST, GO_CACHES_DIGEST, digests
from pipeline.publish_plan import features_tag, go_caches_tag, repository


@dataclasses.dataclass(frozen=True)
class Lookup:
    image: str
    reference: str
    reused: bool
    why: str  # when not reused


def reference(registry: str, image: str, digest: str) -> str:
    return f"{repository(registry, image)}:{features_tag(digest)}"


async def pull(
    build: Build, registry: str, images: Sequence[str], platforms: Sequence[str | None] = (None,)
) -> tuple[Build, list[Lookup]]:
    """The build with every image's published feature layers it can reuse, and what was looked up. An
    image is reused on every platform or on none, so that its variants match."""
    found: dict[tuple[str, str | None], dagger.Container | str] = {}  # a container, or why not

    async def one(image: str, platform: str | None) -> None:
        digest = digests(build.steps(image))[0]
        ref = reference(registry, image, digest)
        found[(image, platform)] = await _labelled(container.start(ref, platform), FEATURES_DIGEST[0], digest)

    async with anyio.create_task_group() as tg:
        for image in images:
            for platform in platforms:
                tg.start_soon(one, image, platform)
    reused: dict[tuple[str, str | None], dagger.Container] = {}
    lookups: list[Lookup] = []
    for image in images:
        ref = reference(registry, image, digests(build.steps(image))[0])
        results = [found[(image, platform)] for platform in platforms]
        problems = [result for result in results if isinstance(result, str)]
        if not problems:
            reused |= {(image, p): r for p, r in zip(platforms, results, strict=True) if not isinstance(r, str)}
        lookups.append(Lookup(image, ref, not problems, problems[0] if problems else ""))
    return dataclasses.replace(build, reused=reused), lookups


async def seed_go_caches(build: Build, registry: str, platform: str) -> tuple[Build, Lookup]:
    """The build with its Go cache volumes started from the published caches for `platform`, if any."""
    digest = build.go_caches_digest(platform)
    ref = f"{repository(registry, GO_CACHES)}:{go_caches_tag(digest)}"
    ctr = container.start(ref)
    found = await _labelled(ctr, GO_CACHES_DIGEST, digest)
    if isinstance(found, str):
        return build, Lookup(GO_CACHES, ref, False, found)
    return dataclasses.replace(build, go_seed=found.rootfs()), Lookup(GO_CACHES, ref, True, "")


def notes(lookups: Sequence[Lookup]) -> list[str]:
    """For the summary: which images started from published feature layers, and why the others did not."""
    return [_note(item) for item in lookups]


def _note(item: Lookup) -> str:
    if item.image == GO_CACHES:
        return (
            f"supervisor: Go caches seeded from `{item.reference}`"
            if item.reused
            else f"supervisor: Go caches start empty ({item.why})"
        )
    return (
        f"{item.image}: feature layers reused from `{item.reference}`"
        if item.reused
        else f"{item.image}: feature layers built ({item.why})"
    )


async def _labelled(ctr: dagger.Container, label: str, digest: str) -> dagger.Container | str:
    """`ctr`, pulled, when its `label` is `digest`; else why not."""
    try:
        found = await ctr.label(label)
    except dagger.DaggerError as e:
        return f"not in the registry: {_first_line(e)}"
    return ctr if found == digest else f"its {label} label is {found or 'missing'}"


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or ["unknown error"])[0][:200]
