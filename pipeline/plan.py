"""One image as an ordered list of build steps: the single source both renderers read.

Features come first, in catalog order; the tail (supervisor binary, copied files, runtime
config, labels) comes last, so a change to the supervisor or the entrypoint rebuilds no feature
layer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Final

from pipeline.catalog import Catalog, Image, OptionValue, format_value

FEATURE_MOUNT: Final = "/tmp/dev8-feature"
SUPERVISOR_PATH: Final = "/usr/local/bin/workspace-supervisor"
DEFAULT_SOURCE_URL: Final = "https://github.com/dev8/images"
# What an image's layers were made from, stamped on it: the features part (base reference, each
# feature's folder digest and options, in order: the parent's included) ends the feature layers, so an
# image with only those can be reused from a registry; the tail part (supervisor source, copied files,
# runtime config, labels other than the build's own) is stamped last. Dockerfile builds get them as
# build arguments (`python -m pipeline digests`), so that editing the supervisor or the entrypoint
# does not change the committed Dockerfiles.
FEATURES_DIGEST: Final = ("dev8.digest.features", "FEATURES_DIGEST")
TAIL_DIGEST: Final = ("dev8.digest.tail", "TAIL_DIGEST")
GO_CACHES_DIGEST: Final = "dev8.digest.go-caches"  # on the published Go caches, for --reuse-from


@dataclasses.dataclass(frozen=True)
class BuildInfo:
    """What the OCI labels say of a build; each is a build ARG in the Dockerfile."""

    version: str = "dev"
    revision: str = "unknown"
    created: str = ""
    source: str = DEFAULT_SOURCE_URL

    def labels(self) -> list[tuple[str, str, str]]:
        """(label, Dockerfile ARG, value) for each OCI label taken from the build."""
        return [
            ("org.opencontainers.image.version", "IMAGE_VERSION", self.version),
            ("org.opencontainers.image.revision", "IMAGE_REVISION", self.revision),
            ("org.opencontainers.image.created", "IMAGE_CREATED", self.created),
            ("org.opencontainers.image.source", "IMAGE_SOURCE", self.source),
        ]


@dataclasses.dataclass(frozen=True)
class RunFeature:
    name: str
    directory: str
    env: tuple[tuple[str, str], ...]  # option variables, also the Dockerfile's ARGs
    digest: str  # of the feature's folder, labelled on the image before its install runs

    @property
    def label(self) -> str:
        return f"dev8.feature.{self.name}.digest"

    @property
    def argv(self) -> list[str]:
        return [f"{FEATURE_MOUNT}/install.sh"]


@dataclasses.dataclass(frozen=True)
class CopySupervisor:
    destination: str = SUPERVISOR_PATH


@dataclasses.dataclass(frozen=True)
class CopyFile:
    source: str
    destination: str
    mode: int
    digest: str = ""  # of the content


@dataclasses.dataclass(frozen=True)
class SetEnv:
    key: str
    value: str


@dataclasses.dataclass(frozen=True)
class SetWorkdir:
    path: str


@dataclasses.dataclass(frozen=True)
class SetUser:
    name: str


@dataclasses.dataclass(frozen=True)
class ExposePort:
    port: int


@dataclasses.dataclass(frozen=True)
class SetEntrypoint:
    args: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class SetCmd:
    args: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class SetLabel:
    key: str
    value: str
    arg: str | None = None  # the Dockerfile ARG that carries the value, for labels from the build
    computed: bool = False  # by the builder from the sources: the Dockerfile's ARG defaults to empty


Step = (
    RunFeature
    | CopySupervisor
    | CopyFile
    | SetEnv
    | SetWorkdir
    | SetUser
    | ExposePort
    | SetEntrypoint
    | SetCmd
    | SetLabel
)


def plan(
    catalog: Catalog, image: Image, build: BuildInfo, overrides: Mapping[str, OptionValue] | None = None
) -> list[Step]:
    """The image's steps in build order; `overrides` maps OPTION_VARIABLE to a value."""
    overrides = overrides or {}
    features: list[Step] = []
    for use in image.features:
        env = tuple(
            (key, format_value(overrides[key]) if key in overrides else value)
            for key, value in use.feature.env(use.options)
        )
        features.append(RunFeature(use.feature.name, use.feature.directory, env, use.feature.digest))
    tail: list[Step] = [CopySupervisor()] if image.supervisor else []
    tail += [CopyFile(f.source, f.destination, f.mode, f.digest) for f in image.files]
    tail += [SetEnv(key, value) for key, value in image.env.items()]
    tail += [SetWorkdir(image.workdir), SetUser(image.user)]
    tail += [ExposePort(port) for port in image.ports]
    if image.entrypoint:
        tail.append(SetEntrypoint(image.entrypoint))
    if image.cmd:
        tail.append(SetCmd(image.cmd))
    tail += [SetLabel(key, value) for key, value in image.labels.items()]
    supervisor = [catalog.go_image, catalog.supervisor_digest] if image.supervisor else []
    labels = [
        SetLabel(FEATURES_DIGEST[0], digest_of([image.base, *features]), FEATURES_DIGEST[1], computed=True),
        SetLabel(TAIL_DIGEST[0], digest_of([*supervisor, *tail]), TAIL_DIGEST[1], computed=True),
    ]
    build_labels = [SetLabel(key, value, arg) for key, arg, value in build.labels()]
    return [*features, labels[0], *tail, labels[1], *build_labels]


def digest_of(parts: Sequence[str | Step]) -> str:
    """SHA-256 of the parts in order (steps by kind and fields)."""
    encoded = [part if isinstance(part, str) else [type(part).__name__, dataclasses.asdict(part)] for part in parts]
    return "sha256:" + hashlib.sha256(json.dumps(encoded, sort_keys=True).encode()).hexdigest()


def digests(steps: Sequence[Step]) -> tuple[str, str]:
    """(features digest, tail digest) stamped in a plan."""
    found = {step.key: step.value for step in steps if isinstance(step, SetLabel)}
    return found[FEATURES_DIGEST[0]], found[TAIL_DIGEST[0]]
