"""The release after the checks: each image pushed, then signed by digest with its SBOM and provenance
attested (cosign)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import dagger

from pipeline import container, publish, signing
from pipeline.build import Build
from pipeline.build_all import Runner
from pipeline.catalog import format_value
from pipeline.errors import Failed, checked, task_group
from pipeline.plan import digests
from pipeline.provenance import LOCAL_BUILDER, Provenance
from pipeline.publish_plan import Push


@dataclasses.dataclass(frozen=True)
class Signing:
    """How `publish` signs: a key pair, or keyless with the workflow's OIDC token; and where cosign,
    in a container, reaches the registry (`container_registry` when that differs from the engine's)."""

    cosign: signing.Cosign
    identity: signing.Identity
    container_registry: str = ""
    builder_id: str = LOCAL_BUILDER
    invocation_id: str = ""

    def check(self) -> None:
        """Refuse before anything is built: no way to sign, or keyless without the transparency log."""
        if self.identity.key is None and not self.identity.keyless:
            raise ValueError(
                "publish: give --cosign-key (a key pair), --identity-token or --actions-oidc-request-url and "
                "--actions-oidc-request-token (keyless), or --sign=false"
            )
        if self.identity.keyless and not self.cosign.tlog:
            raise ValueError("publish: keyless signing needs the transparency log (--transparency-log)")


async def push_and_sign(
    build: Build,
    runner: Runner,
    pushes: Sequence[Push],
    *,
    native: str,
    auth: tuple[str, str, dagger.Secret],  # registry, username, password
    how: Signing | None,
) -> str:
    """Push what the gate passed, then sign it (unless `how` is None); publish's report. A failed push
    fails with the report, which says what is in the registry and what is not."""
    registry, username, password = auth

    def variant(push: Push, platform: str) -> dagger.Container:
        # The engine's own platform: the very container the gate tested (same chain, same result).
        target = None if platform == native else platform
        if push.content == "go-caches":
            return build.go_caches(platform)
        return build.features(push.image, target) if push.content == "features" else build.render(push.image, target)

    outcome = await publish.push_all(pushes, variant, registry, username, password)
    if how is not None and not outcome.failed:
        images = [push for push in pushes if push.content == "image"]
        sboms = {push.image: runner.files[f"{push.image}/sbom.cdx.json"] for push in images}
        outcome.signed = await sign_all(build, images, outcome.pushed, sboms=sboms, auth=auth, how=how)
    text = publish.report(pushes, outcome, native)
    if outcome.failed:
        raise Failed(text)
    return text


async def sign_all(
    build: Build,
    pushes: Sequence[Push],
    pushed: Sequence[str],
    *,
    sboms: Mapping[str, dagger.File],
    auth: tuple[str, str, dagger.Secret],  # registry, username, password
    how: Signing,
) -> list[str]:
    """Sign every pushed image once, by the digest its tags name; the references signed."""
    registry, username, password = auth
    ctr = how.cosign.container(
        await signing.registry_auth(_host(how.container_registry or registry), username, password)
    )
    ctr, key_flags = how.identity.apply(ctr)
    dependencies = await _resolved(build, [p.image for p in pushes])
    signed: list[str] = []

    async def one(push: Push) -> None:
        reference = next(ref for ref in pushed if ref.startswith(f"{push.repository}:"))
        pinned = f"{push.repository}@{reference.rsplit('@', 1)[1]}"
        if how.container_registry:
            pinned = how.container_registry.rstrip("/") + pinned.removeprefix(registry.rstrip("/"))
        statement = provenance(build, push.image, dependencies, how).json()
        await signing.sign(how.cosign, ctr, key_flags, pinned, sbom=sboms[push.image], provenance=statement)
        signed.append(pinned)

    async with task_group("sign") as tg:
        for push in pushes:
            tg.start_soon(one, push)
    return sorted(signed)


def provenance(build: Build, image: str, dependencies: Mapping[str, str], how: Signing) -> Provenance:
    values = build.overrides.for_image(build.catalog.image(image))
    return Provenance(
        source=build.info.source,
        revision=build.info.revision,
        image=image,
        version=build.info.version,
        options={key: format_value(value) for key, value in values.items()},
        digests=digests(build.steps(image)),
        dependencies=dependencies,
        builder_id=how.builder_id,
        invocation_id=how.invocation_id,
    )


async def _resolved(build: Build, images: Sequence[str]) -> dict[str, str]:
    """The base references and the Go image, each with the digest the engine resolved it to."""
    references = {build.catalog.image(name).base for name in images}
    references.add(build.go_image or build.catalog.go_image)
    resolved: dict[str, str] = {}

    async def one(reference: str) -> None:
        resolved[reference] = await checked(container.start(reference).image_ref(), f"resolve {reference}")

    async with task_group("resolve the base images") as tg:
        for reference in sorted(references):
            tg.start_soon(one, reference)
    return resolved


def _host(registry: str) -> str:
    return registry.split("/", 1)[0]
