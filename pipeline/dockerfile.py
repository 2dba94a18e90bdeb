"""Render an image's plan as a Dockerfile whose build context is the repository root."""

from __future__ import annotations

import json
from typing import Final

from pipeline import plan as p
from pipeline.caches import APT_CACHES, GO_CACHES
from pipeline.catalog import CATALOG_PATH, Catalog, Image

SUPERVISOR_STAGE: Final = "supervisor"
SUPERVISOR_OUT: Final = "/out/workspace-supervisor"
HEADER: Final = f"""\
# syntax=docker/dockerfile:1
# Rendered from {CATALOG_PATH} by `python -m pipeline render`; edit the catalog, not this file.
# Build from the repository root: docker build -f docker/{{image}}/Dockerfile .
"""


def render(catalog: Catalog, image: Image) -> str:
    """The Dockerfile of `image`, with the default build information as ARG defaults."""
    steps = p.plan(catalog, image, p.BuildInfo())
    lines = [HEADER.format(image=image.name).rstrip("\n"), f"ARG BASE_IMAGE={image.base}"]
    if image.supervisor:
        lines += [f"ARG GO_IMAGE={catalog.go_image}", "", *_supervisor_stage(catalog)]
    lines += ["", "FROM ${BASE_IMAGE}"]
    for step in steps:
        lines += _instruction(step)
    return "\n".join(lines) + "\n"


def _supervisor_stage(catalog: Catalog) -> list[str]:
    mounts = [f"--mount=type=cache,id={c.volume},target={c.path}" for c in GO_CACHES]
    return [
        f"FROM ${{GO_IMAGE}} AS {SUPERVISOR_STAGE}",
        "WORKDIR /src",
        f"COPY {catalog.supervisor_dir} /src",
        "ARG SUPERVISOR_VERSION=dev",
        _continued(
            "RUN",
            [*mounts, "CGO_ENABLED=0 go build -trimpath", '-ldflags "-s -w -X main.version=${SUPERVISOR_VERSION}"'],
            f"-o {SUPERVISOR_OUT} ./cmd/supervisor",
        ),
    ]


def _instruction(step: p.Step) -> list[str]:
    match step:
        case p.RunFeature():
            mounts = [f"--mount=type=cache,id={c.volume},target={c.path},sharing=locked" for c in APT_CACHES]
            mounts.append(f"--mount=type=bind,source={step.directory},target={p.FEATURE_MOUNT}")
            args = [f"ARG {key}={json.dumps(value)}" for key, value in step.env]
            label = f"LABEL {step.label}={json.dumps(step.digest)}"
            return ["", f"# feature: {step.name}", label, *args, _continued("RUN", mounts, json.dumps(step.argv))]
        case p.CopySupervisor():
            return ["", f"COPY --from={SUPERVISOR_STAGE} --chmod=0755 {SUPERVISOR_OUT} {step.destination}"]
        case p.CopyFile():
            return [f"COPY --chmod={step.mode:04o} {step.source} {step.destination}"]
        case p.SetEnv():
            return [f"ENV {step.key}={json.dumps(step.value)}"]
        case p.SetWorkdir():
            return [f"WORKDIR {step.path}"]
        case p.SetUser():
            return [f"USER {step.name}"]
        case p.ExposePort():
            return [f"EXPOSE {step.port}"]
        case p.SetEntrypoint():
            return [f"ENTRYPOINT {json.dumps(list(step.args))}"]
        case p.SetCmd():
            return [f"CMD {json.dumps(list(step.args))}"]
        case p.SetLabel(arg=None):
            return [f"LABEL {step.key}={json.dumps(step.value)}"]
        case p.SetLabel():
            default = "" if step.computed else step.value
            return [f"ARG {step.arg}={json.dumps(default)}", f'LABEL {step.key}="${{{step.arg}}}"']


def _continued(instruction: str, parts: list[str], last: str) -> str:
    return f"{instruction} " + " \\\n    ".join([*parts, last])
