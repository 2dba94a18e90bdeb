"""Push an image as one multi-platform manifest under each of its tags."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import dagger
from dagger import dag

from pipeline.errors import Failed, checked
from pipeline.publish_plan import Push, registry_host
from pipeline.reports import Run


def gate(run: Run) -> None:
    """Refuse to push anything when any step of the run failed; the error lists each failure."""
    failures = run.failures()
    if failures:
        raise Failed("publish: nothing pushed; fix these first:\n" + "\n".join(f"- {f}" for f in failures))


async def push_all(
    pushes: list[Push],
    variant: Callable[[str, str], dagger.Container],
    registry: str,
    username: str,
    password: dagger.Secret,
) -> list[str]:
    """Push every image in parallel; `variant(image, platform)` builds one platform's container."""
    pushed: dict[str, list[str]] = {}

    async def one(push: Push) -> None:
        variants = [variant(push.image, platform) for platform in push.platforms]
        ctr = dag.container().with_registry_auth(registry_host(registry), username, password)
        pushed[push.image] = [
            await checked(ctr.publish(ref, platform_variants=variants), f"image '{push.image}': publish {ref}")
            for ref in push.references
        ]

    async with anyio.create_task_group() as tg:
        for push in pushes:
            tg.start_soon(one, push)
    return [ref for push in pushes for ref in pushed[push.image]]
