"""What build-all reports of a built image besides its checks: the OCI manifest digest and two sizes.

Needs no scanner: the digest is read from the image tarball's index.json with the `tar` of the
supervisor's build image, which every build pulls anyway.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Final, cast

import dagger

from pipeline.errors import checked

TARBALL: Final = "/tmp/dev8-image.tar"


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    digest: str  # of the OCI manifest in the image tarball
    compressed: int  # bytes of the tarball: config and compressed layers, about what a pull downloads
    unpacked: int  # bytes of the image's files (`du` of its root), comparable to `podman images`


async def describe(name: str, ctr: dagger.Container, tarball: dagger.File, tool: dagger.Container) -> ImageInfo:
    """The image's digest and sizes; `tool` is any container with `tar`."""
    index = tool.with_mounted_file(TARBALL, tarball).with_exec(["tar", "-xOf", TARBALL, "index.json"])
    du = ctr.with_user("root").with_exec(["du", "-sxb", "/"])
    return ImageInfo(
        digest=manifest_digest(await checked(index.stdout(), f"image '{name}': digest")),
        compressed=await checked(tarball.size(), f"image '{name}': size"),
        unpacked=int((await checked(du.stdout(), f"image '{name}': unpacked size")).split()[0]),
    )


def manifest_digest(index_json: str) -> str:
    """The first manifest's digest in an OCI image index."""
    manifests = cast(dict[str, list[dict[str, str]]], json.loads(index_json)).get("manifests") or [{}]
    return manifests[0].get("digest", "")
