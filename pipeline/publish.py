"""Push each image as one multi-platform manifest under each of its tags, and say what was pushed.

The variant for the engine's own platform is the very container the gate built, tested and scanned;
the other platforms are built from the same plan and pushed as built, not tested, and the report says
so. The version and `latest` tags move only once every image's commit tag is in the registry, and a
failed push is reported with what did and did not reach the registry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import dagger
from dagger import dag

from pipeline.errors import Failed, checked, task_group
from pipeline.publish_plan import Push, registry_host
from pipeline.reports import Run


def gate(run: Run) -> None:
    """Refuse to push anything when any step of the run failed; the error lists each failure."""
    failures = run.failures()
    if failures:
        raise Failed("publish: nothing pushed; fix these first:\n" + "\n".join(f"- {f}" for f in failures))


@dataclasses.dataclass
class Outcome:
    pushed: list[str] = dataclasses.field(default_factory=list[str])  # reference@digest
    failed: list[str] = dataclasses.field(default_factory=list[str])  # reference: why
    held_back: list[str] = dataclasses.field(default_factory=list[str])  # version and latest tags not moved
    signed: list[str] = dataclasses.field(default_factory=list[str])  # image@digest, with both attestations


async def push_all(
    pushes: Sequence[Push],
    variant: Callable[[Push, str], dagger.Container],
    registry: str,
    username: str,
    password: dagger.Secret,
) -> Outcome:
    """Push every image's commit tag in parallel, then, if none failed, its version and latest tags."""
    outcome = Outcome()
    publisher = dag.container().with_registry_auth(registry_host(registry), username, password)

    async def one(push: Push, reference: str) -> None:
        variants = [variant(push, platform) for platform in push.platforms]
        try:
            pushed = await checked(publisher.publish(reference, platform_variants=variants), f"push {reference}")
            outcome.pushed.append(pushed)
        except RuntimeError as e:
            outcome.failed.append(f"{reference}: {e}")

    for phase in (0, 1):
        refs = [(push, ref) for push in pushes for ref in push.phases()[phase]]
        if phase and outcome.failed:
            outcome.held_back = [ref for _, ref in refs]
            break
        async with task_group("publish") as tg:
            for push, reference in refs:
                tg.start_soon(one, push, reference)
    return outcome


def report(pushes: Sequence[Push], outcome: Outcome, native: str) -> str:
    """What is in the registry now, which platform variants were tested, and what failed."""
    lines = ["# dev8 images: publish", ""]
    for push in (p for p in pushes if p.content == "image"):
        untested = [p for p in push.platforms if p != native]
        tested = f"tested on {native}" if native in push.platforms else "no variant tested"
        built = f"; built, not tested: {', '.join(untested)}" if untested else ""
        lines.append(f"- {push.repository}: {tested}{built}")
    lines += ["", "Pushed:" if outcome.pushed else "Nothing was pushed."]
    lines += [f"  {ref}" for ref in sorted(outcome.pushed)]
    if outcome.failed:
        lines += ["", "Not pushed (failed):", *[f"  {line}" for line in sorted(outcome.failed)]]
    if outcome.signed:
        lines += ["", "Signed by digest, with SBOM and provenance attestations:", *[f"  {r}" for r in outcome.signed]]
    if outcome.held_back:
        lines += ["", "Not pushed (held back because a push failed):", *[f"  {r}" for r in outcome.held_back]]
    return "\n".join(lines) + "\n"
