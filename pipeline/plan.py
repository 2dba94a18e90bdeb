"""One image as an ordered list of build steps: the single source both renderers read.

Features come first, in catalog order; the tail (supervisor binary, copied files, runtime
config, labels) comes last, so a change to the supervisor or the entrypoint rebuilds no feature
layer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final

from pipeline.catalog import CATALOG_PATH, CatalogError, Image, OptionValue, format_value, option_variable

FEATURE_MOUNT: Final = "/tmp/dev8-feature"
SUPERVISOR_PATH: Final = "/usr/local/bin/workspace-supervisor"
DEFAULT_SOURCE_URL: Final = "https://github.com/dev8/images"


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


def plan(image: Image, build: BuildInfo, overrides: Mapping[str, OptionValue] | None = None) -> list[Step]:
    """The image's steps in build order; `overrides` maps OPTION_VARIABLE to a value."""
    overrides = overrides or {}
    steps: list[Step] = []
    for use in image.features:
        env = tuple(
            (key, format_value(overrides[key]) if key in overrides else value)
            for key, value in use.feature.env(use.options)
        )
        steps.append(RunFeature(use.feature.name, use.feature.directory, env, use.feature.digest))
    if image.supervisor:
        steps.append(CopySupervisor())
    steps += [CopyFile(f.source, f.destination, f.mode) for f in image.files]
    steps += [SetEnv(key, value) for key, value in image.env.items()]
    steps += [SetWorkdir(image.workdir), SetUser(image.user)]
    steps += [ExposePort(port) for port in image.ports]
    if image.entrypoint:
        steps.append(SetEntrypoint(image.entrypoint))
    if image.cmd:
        steps.append(SetCmd(image.cmd))
    steps += [SetLabel(key, value) for key, value in image.labels.items()]
    steps += [SetLabel(key, value, arg) for key, arg, value in build.labels()]
    return steps


def parse_overrides(image: Image, assignments: list[str]) -> dict[str, OptionValue]:
    """`feature.option=value` strings, checked against the image's features, as option variables."""
    options = {
        f"{use.feature.name}.{name}": option for use in image.features for name, option in use.feature.options.items()
    }
    overrides: dict[str, OptionValue] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        option = options.get(key)
        if not sep or option is None:
            known = ", ".join(sorted(options)) or "none"
            raise CatalogError(
                CATALOG_PATH, f"option '{key}'", f"not an option of this image's features (known: {known})", image.name
            )
        value: OptionValue = text
        if option.type == "boolean":
            if text not in ("true", "false"):
                raise CatalogError(CATALOG_PATH, f"option '{key}'", f"expected true or false, got {text!r}", image.name)
            value = text == "true"
        elif option.type == "integer":
            if not text.lstrip("-").isdigit():
                raise CatalogError(CATALOG_PATH, f"option '{key}'", f"expected an integer, got {text!r}", image.name)
            value = int(text)
        if option.choices and text not in option.choices:
            raise CatalogError(
                CATALOG_PATH, f"option '{key}'", f"{text!r} is not one of {', '.join(option.choices)}", image.name
            )
        feature, _, name = key.partition(".")
        overrides[option_variable(feature, name)] = value
    return overrides
