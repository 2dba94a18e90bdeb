"""Feature layers already published: where `REGISTRY/dev8-<image>` has a tag for an image's features
digest, the image starts from it and only its tail (or a child's own features) is built.

A pulled image is used only when its `dev8.digest.features` label is the digest its tag names; else it
is built, and the report says why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import anyio
import dagger

from pipeline import container
from pipeline.build import Build
from pipeline.plan import FEATURES_DIGEST, digests
from pipeline.publish_plan import REPOSITORY_PREFIX, features_tag


@dataclasses.dataclass(frozen=True)
class Lookup:
    image: str
    reference: str
    reused: bool
    why: str  # when not reused


def reference(registry: str, image: str, digest: str) -> str:
    return f"{registry.rstrip('/')}/{REPOSITORY_PREFIX}{image}:{features_tag(digest)}"


async def pull(
    build: Build, registry: str, images: Sequence[str], platforms: Sequence[str | None] = (None,)
) -> tuple[Build, list[Lookup]]:
    """The build with every image's published feature layers it can reuse, and what was looked up. An
    image is reused on every platform or on none, so that its variants match."""
    found: dict[tuple[str, str | None], dagger.Container | str] = {}  # a container, or why not

    async def one(image: str, platform: str | None) -> None:
        digest = digests(build.steps(image))[0]
        ctr = container.start(reference(registry, image, digest), platform)
        try:
            label = await ctr.label(FEATURES_DIGEST[0])
        except dagger.DaggerError as e:
            found[(image, platform)] = f"not in the registry: {_first_line(e)}"
            return
        ok = label == digest
        found[(image, platform)] = ctr if ok else f"its {FEATURES_DIGEST[0]} label is {label or 'missing'}"

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


def notes(lookups: Sequence[Lookup]) -> list[str]:
    """For the summary: which images started from published feature layers, and why the others did not."""
    return [
        f"{item.image}: feature layers reused from `{item.reference}`"
        if item.reused
        else f"{item.image}: feature layers built ({item.why})"
        for item in lookups
    ]


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or ["unknown error"])[0][:200]
