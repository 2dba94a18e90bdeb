"""A small catalog for the orchestration tests: base; a and b on base; c on a. Dependency order,
parallel siblings and how far a failure reaches show on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import Dev8, catalog
from pipeline.build import Build
from pipeline.options import Overrides
from pipeline.plan import BuildInfo
from tests.support import fake_export
from tests.support.fake_engine import FakeEngine
from tests.support.graph import ops

IMAGES_YAML = """\
build:
  go-image: golang:1.26.8-bookworm
  supervisor: apps/supervisor
images:
  base:
    description: the base
    from: debian:bookworm
    features: [tools]
    supervisor: true
    user: dev8
    labels: {org.opencontainers.image.title: dev8-base}
    tests: docker/base/tests.yaml
  a: {description: a, parent: base, features: [lang-a]}
  b: {description: b, parent: base, features: [lang-b]}
  c: {description: c, parent: a, features: [lang-c]}
"""


def write(tmp_path: Path) -> Path:
    """A repository with the small catalog, at `tmp_path`."""
    (tmp_path / "apps/supervisor").mkdir(parents=True)
    (tmp_path / "docker/base").mkdir(parents=True)
    (tmp_path / "docker/images.yaml").write_text(IMAGES_YAML)
    (tmp_path / "docker/base/tests.yaml").write_text('schemaVersion: "2.0.0"\n')
    for feature in ("tools", "lang-a", "lang-b", "lang-c"):
        directory = tmp_path / "docker/features" / feature
        directory.mkdir(parents=True)
        (directory / "feature.yaml").write_text(f"description: {feature}\n")
        (directory / "install.sh").write_text("#!/bin/sh\n")
    (tmp_path / ".trivyignore.yaml").write_text("vulnerabilities: []\n")
    return tmp_path


def engine_for(root: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch, **script: object) -> FakeEngine:
    fake_export.install(monkeypatch, root)
    loaded = catalog.load(root)
    info = BuildInfo(version=module.version, revision=module.revision, created=module.created)
    build = Build(module.source, loaded, Overrides(), info, module.go_image)
    signatures = {name: ops(build.render(name)) for name in loaded.images}
    engine = FakeEngine(root, signatures, **script)  # type: ignore[arg-type]
    engine.install(monkeypatch)
    return engine
