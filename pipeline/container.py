"""Render an image's plan as a Dagger Container, one native call per Dockerfile instruction."""

from __future__ import annotations

import dagger
from dagger import dag

from pipeline import plan as p
from pipeline.caches import APT_CACHES, ContainerStep, mount, unmount


def start(reference: str, platform: str | None = None) -> dagger.Container:
    """A container from an image reference, on the engine's platform unless `platform` (e.g. linux/arm64)."""
    return (dag.container(platform=dagger.Platform(platform)) if platform else dag.container()).from_(reference)


def apply(
    ctr: dagger.Container, steps: list[p.Step], source: dagger.Directory, supervisor: dagger.File | None
) -> dagger.Container:
    """`steps` on `ctr`; `source` is the repository root."""
    for step in steps:
        ctr = ctr.with_(_call(step, source, supervisor))
    return ctr


def _call(step: p.Step, source: dagger.Directory, supervisor: dagger.File | None) -> ContainerStep:
    match step:
        case p.RunFeature():
            return _run_feature(step, source)
        case p.CopySupervisor():
            if supervisor is None:
                raise ValueError("the plan copies the supervisor, but no supervisor binary was given")
            return lambda c: c.with_file(step.destination, supervisor, permissions=0o755)
        case p.CopyFile():
            return lambda c: c.with_file(step.destination, source.file(step.source), permissions=step.mode)
        case p.SetEnv():
            return lambda c: c.with_env_variable(step.key, step.value)
        case p.SetWorkdir():
            return lambda c: c.with_workdir(step.path)
        case p.SetUser():
            return lambda c: c.with_user(step.name)
        case p.ExposePort():
            return lambda c: c.with_exposed_port(step.port)
        case p.SetEntrypoint():
            return lambda c: c.with_entrypoint(list(step.args))
        case p.SetCmd():
            return lambda c: c.with_default_args(list(step.args))
        case p.SetLabel():
            return lambda c: c.with_label(step.key, step.value)


def _run_feature(step: p.RunFeature, source: dagger.Directory) -> ContainerStep:
    """Mounts and option variables live for this one exec only, like RUN --mount and ARG."""

    def apply(ctr: dagger.Container) -> dagger.Container:
        ctr = ctr.with_label(step.label, step.digest).with_(mount(APT_CACHES))
        ctr = ctr.with_mounted_directory(p.FEATURE_MOUNT, source.directory(step.directory))
        for key, value in step.env:
            ctr = ctr.with_env_variable(key, value)
        ctr = ctr.with_exec(step.argv)
        for key, _ in step.env:
            ctr = ctr.without_env_variable(key)
        return ctr.without_mount(p.FEATURE_MOUNT).with_(unmount(APT_CACHES))

    return apply
