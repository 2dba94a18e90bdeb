"""The Dagger graph of every module function, read from the lazy query without an engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagger import dag

from pipeline import Dev8, affected, catalog, dockerfile
from pipeline.caches import APT_CACHES, GO_CACHES
from pipeline.plan import FEATURES_DIGEST, TAIL_DIGEST
from tests.support import fake_export
from tests.support.graph import names, ops
from tests.support.normalize import from_dockerfile, from_graph


@pytest.fixture
def module(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> Dev8:
    fake_export.install(monkeypatch, repo_root)
    return Dev8(source=dag.directory(), version="1.2.3", revision="abc1234", created="2026-11-27T00:00:00Z")


async def test_supervisor_is_a_static_build_with_cached_modules(module: Dev8) -> None:
    chain = ops(await module.supervisor())
    assert [n for n, _ in chain] == [
        "container", "from", "withMountedCache", "withMountedCache",
        "withWorkdir", "withDirectory", "withEnvVariable", "withExec", "file",
    ]  # fmt: skip
    assert chain[1][1] == {"address": "golang:1.26.8-bookworm"}
    volumes = [args["cache"][-1][1]["key"] for name, args in chain if name == "withMountedCache"]
    assert volumes == [c.volume for c in GO_CACHES]
    assert chain[5][1]["source"][-1] == ("directory", {"path": "apps/supervisor"})
    assert chain[6][1] == {"name": "CGO_ENABLED", "value": "0"}
    argv = chain[7][1]["args"]
    assert argv[:3] == ["go", "build", "-trimpath"]
    assert "-X main.version=1.2.3" in argv[argv.index("-ldflags") + 1]
    assert chain[8] == ("file", {"path": "/out/workspace-supervisor"})


async def test_go_image_is_overridable(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_export.install(monkeypatch, repo_root)
    chain = ops(await Dev8(source=dag.directory(), go_image="mirror.example/golang:1.26").supervisor())
    assert chain[1][1] == {"address": "mirror.example/golang:1.26"}


async def test_supervisor_test_runs_vet_then_tests_in_the_build_container(
    module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded: list[list[str]] = []

    async def stdout(self: object) -> str:
        recorded.extend(args["args"] for name, args in ops(self) if name == "withExec")  # type: ignore[arg-type]
        return "ok"

    monkeypatch.setattr("dagger.Container.stdout", stdout)
    assert await module.supervisor_test() == "ok"
    # No -count=1: Go's test cache, in the build cache volume, skips the packages a change left alone.
    assert recorded == [["go", "vet", "./..."], ["go", "test", "./..."]]


async def test_base_runs_features_then_the_tail(module: Dev8, loaded_catalog: catalog.Catalog) -> None:
    chain = ops(await module.base())
    execs = [args["args"] for name, args in chain if name == "withExec"]
    features = [u.feature.name for u in loaded_catalog.image("base").features]
    assert execs == [["/tmp/dev8-feature/install.sh"]] * len(features)
    mounted = [args["source"][-1][1]["path"] for name, args in chain if name == "withMountedDirectory"]
    assert mounted == [f"docker/features/{f}" for f in features]
    caches = [(args["path"], args.get("sharing")) for name, args in chain if name == "withMountedCache"]
    assert caches == [(c.path, "LOCKED") for c in APT_CACHES] * len(features)
    # The supervisor and entrypoint come after the last feature, so changing them rebuilds no feature.
    last_exec = max(i for i, (name, _) in enumerate(chain) if name == "withExec")
    files = [i for i, (name, _) in enumerate(chain) if name == "withFile"]
    assert files
    assert min(files) > last_exec
    labels = {args["name"]: args["value"] for name, args in chain if name == "withLabel"}
    assert labels["org.opencontainers.image.version"] == "1.2.3"
    assert labels["org.opencontainers.image.revision"] == "abc1234"
    assert labels["org.opencontainers.image.created"] == "2026-11-27T00:00:00Z"
    assert names(await module.base())[-1] == "withLabel"


async def test_feature_options_reach_only_their_install_step(module: Dev8) -> None:
    chain = ops(await module.base(["github-cli.source=distro"]))
    sets = [(i, args) for i, (name, args) in enumerate(chain) if name == "withEnvVariable"]
    option = [i for i, args in sets if args == {"name": "GITHUB_CLI_SOURCE", "value": "distro"}]
    assert len(option) == 1
    exec_after = next(i for i, (name, _) in enumerate(chain) if name == "withExec" and i > option[0])
    unset = next(
        i
        for i, (name, args) in enumerate(chain)
        if name == "withoutEnvVariable" and args["name"] == "GITHUB_CLI_SOURCE"
    )
    assert option[0] < exec_after < unset


@pytest.mark.parametrize("image", ["base", "nodejs", "python", "go", "rust", "workspace"])
async def test_graph_and_dockerfile_build_the_same_steps(
    repo_root: Path, monkeypatch: pytest.MonkeyPatch, image: str
) -> None:
    fake_export.install(monkeypatch, repo_root)
    module = Dev8(source=dag.directory())  # default build information, as the Dockerfile's ARG defaults
    text = (repo_root / f"docker/{image}/Dockerfile").read_text()
    features, tail = affected.image_digests(catalog.load(repo_root))[image]
    rendered = from_dockerfile(text, {FEATURES_DIGEST[1]: features, TAIL_DIGEST[1]: tail})
    container = await module.image(image)
    assert from_graph(ops(container)) == rendered["image"]
    supervisor_chain = ops(await module.supervisor())
    assert from_graph(supervisor_chain[:-1], build_stage=True) == rendered["supervisor"]


async def test_dockerfile_function_returns_the_committed_file(module: Dev8, repo_root: Path) -> None:
    file = await module.dockerfile("base")
    [(_, args)] = [op for op in ops(file) if op[0] == "file"]
    assert args["contents"] == (repo_root / "docker/base/Dockerfile").read_text()


def test_committed_dockerfiles_are_rendered_from_the_catalog(loaded_catalog: catalog.Catalog, repo_root: Path) -> None:
    for name, image in loaded_catalog.images.items():
        committed = repo_root / "docker" / name / "Dockerfile"
        assert committed.is_file(), f"{committed} missing: run python -m pipeline render"
        assert committed.read_text() == dockerfile.render(loaded_catalog, image), (
            f"{committed} is out of date with docker/images.yaml: run python -m pipeline render"
        )


async def test_the_comparison_notices_a_drifted_dockerfile(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_export.install(monkeypatch, repo_root)
    text = (repo_root / "docker/base/Dockerfile").read_text()
    container = await Dev8(source=dag.directory()).base()
    for drifted in (text.replace("USER dev8", "USER root"), text.replace("EXPOSE 9000\n", "")):
        assert from_graph(ops(container)) != from_dockerfile(drifted)["image"]
