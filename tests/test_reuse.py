"""--reuse-from without an engine: which published feature layers are reused, how the images are then
built, and what publish pushes for the next run to reuse."""

from __future__ import annotations

from pathlib import Path

import dagger
import pytest
from dagger import dag

from pipeline import Dev8, catalog, publish_plan, reuse
from pipeline.build import Build
from pipeline.options import Overrides
from pipeline.plan import FEATURES_DIGEST, GO_CACHES_DIGEST, BuildInfo, digests
from tests.support import small_catalog
from tests.support.graph import ops
from tests.support.small_catalog import engine_for

REGISTRY = "registry.example/dev8"
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return small_catalog.write(tmp_path)


@pytest.fixture
def build(tree: Path) -> Build:
    return Build(dag.directory(), catalog.load(tree), Overrides(), BuildInfo(), "")


def features_ref(build: Build, image: str) -> str:
    return reuse.reference(REGISTRY, image, digests(build.steps(image))[0])


def installs(chain: list[tuple[str, dict[str, object]]]) -> list[str]:
    """The features whose install runs in a chain, in order (each is preceded by its digest label)."""
    labels = [str(args["name"]) for name, args in chain if name == "withLabel"]
    return [label.split(".")[2] for label in labels if label.startswith("dev8.feature.")]


def published(build: Build, *images: str, wrong: str = "") -> dict[str, dict[str, str]]:
    """A registry holding the images' feature layers; `wrong` is labelled with another digest."""
    return {
        features_ref(build, image): {
            FEATURES_DIGEST[0]: "sha256:other" if image == wrong else digests(build.steps(image))[0]
        }
        for image in images
    }


async def test_a_reused_image_gets_only_its_tail_and_its_children_only_their_own_features(
    tree: Path, build: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = Dev8(source=dag.directory())
    engine = engine_for(tree, module, monkeypatch)
    engine.registry = published(build, "base")
    reused, lookups = await reuse.pull(build, REGISTRY, ["base", "a", "c"])
    assert [(item.image, item.reused) for item in lookups] == [("base", True), ("a", False), ("c", False)]
    assert lookups[1].why.startswith("not in the registry: failed to resolve image")
    base, a, c = (ops(reused.render(name)) for name in ("base", "a", "c"))
    assert base[1] == ("from", {"address": features_ref(build, "base")})
    assert installs(base) == []
    assert a[1] == ("from", {"address": features_ref(build, "base")})
    assert [n for n, args in a if n == "withExec" and "install.sh" in str(args)] != []
    assert installs(a) == ["lang-a"]
    assert installs(c) == ["lang-a", "lang-c"]
    # Without reuse, every feature is installed from the base reference, as the Dockerfile does.
    assert installs(ops(build.render("c"))) == ["tools", "lang-a", "lang-c"]


async def test_a_tag_whose_label_is_not_its_digest_is_not_reused(
    tree: Path, build: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, Dev8(source=dag.directory()), monkeypatch)
    engine.registry = published(build, "base", "a", wrong="a")
    reused, lookups = await reuse.pull(build, REGISTRY, ["base", "a"])
    assert lookups[1].reused is False
    assert lookups[1].why == f"its {FEATURES_DIGEST[0]} label is sha256:other"
    assert set(reused.reused) == {("base", None)}
    assert reuse.notes(lookups)[1].startswith("a: feature layers built (its dev8.digest.features label")


async def test_an_image_is_reused_on_every_platform_or_on_none(
    tree: Path, build: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, Dev8(source=dag.directory()), monkeypatch)
    engine.registry = published(build, "base")
    reused, _ = await reuse.pull(build, REGISTRY, ["base"], [None, "linux/arm64"])
    assert set(reused.reused) == {("base", None), ("base", "linux/arm64")}


async def test_build_all_reports_what_it_reused(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = Dev8(source=dag.directory())
    engine = engine_for(tree, module, monkeypatch)
    build = Build(dag.directory(), catalog.load(tree), Overrides(), BuildInfo(), "")
    engine.registry = published(build, "base")
    directory = await module.build_all(images=["base", "b"], skip_scan=True, reuse_from=REGISTRY)
    summary = next(args["contents"] for name, args in ops(directory) if name == "withNewFile")
    assert f"- base: feature layers reused from `{features_ref(build, 'base')}`" in summary
    assert "- b: feature layers built (not in the registry" in summary


async def test_publish_pushes_the_feature_layers_it_built_for_the_next_run(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = Dev8(source=dag.directory(), version="1.2.3", revision=SHA)
    engine = engine_for(tree, module, monkeypatch)
    build = Build(dag.directory(), catalog.load(tree), Overrides(), BuildInfo(version="1.2.3", revision=SHA), "")
    engine.registry = published(build, "base")
    await module.publish(
        registry=REGISTRY, username="u", password=dag.secret("env:T"), tag="v1.2.3",
        images=["base", "a"], platform=["linux/amd64"], reuse_from=REGISTRY, sign=False,
    )  # fmt: skip
    addresses = sorted(address for address, _, _ in engine.published)
    assert features_ref(build, "a") in addresses  # built here: published for the next run
    assert features_ref(build, "base") not in addresses  # reused: already there
    [(_, _, [layers])] = [p for p in engine.published if p[0] == features_ref(build, "a")]
    assert installs(layers) == ["lang-a"]  # the feature layers alone, without the tail
    assert not any(name == "withEntrypoint" or "supervisor" in str(args) for name, args in layers[2:])


# --- the supervisor's Go caches ------------------------------------------------------------------


def go_caches_ref(build: Build, platform: str = "linux/amd64") -> str:
    return publish_plan.go_caches_push(REGISTRY, build.go_caches_digest(platform), platform).references[0]


def cache_sources(go: dagger.Container) -> dict[str, object]:
    """Each Go cache volume's key and the chain its source comes from (None: it starts empty)."""
    volumes = [args["cache"][0][1] for name, args in ops(go) if name == "withMountedCache"]
    return {str(volume["key"]): volume.get("source") for volume in volumes}


async def test_published_go_caches_seed_the_go_cache_volumes(
    tree: Path, build: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, Dev8(source=dag.directory()), monkeypatch)
    engine.registry = {go_caches_ref(build): {GO_CACHES_DIGEST: build.go_caches_digest("linux/amd64")}}
    seeded, lookup = await reuse.seed_go_caches(build, REGISTRY, "linux/amd64")
    assert lookup.reused
    assert reuse.notes([lookup]) == [f"supervisor: Go caches seeded from `{go_caches_ref(build)}`"]
    pulled = [("container", {}), ("from", {"address": go_caches_ref(build)}), ("rootfs", {})]
    assert cache_sources(seeded.go()) == {
        "dev8-go-mod": [*pulled, ("directory", {"path": "dev8-go-mod"})],
        "dev8-go-build": [*pulled, ("directory", {"path": "dev8-go-build"})],
    }
    assert cache_sources(build.go()) == {"dev8-go-mod": None, "dev8-go-build": None}  # without: the usual volumes


async def test_go_caches_with_another_digest_label_are_not_used(
    tree: Path, build: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, Dev8(source=dag.directory()), monkeypatch)
    engine.registry = {go_caches_ref(build): {GO_CACHES_DIGEST: "sha256:other"}}
    seeded, lookup = await reuse.seed_go_caches(build, REGISTRY, "linux/amd64")
    assert seeded.go_seed is None
    assert reuse.notes([lookup]) == [
        f"supervisor: Go caches start empty (its {GO_CACHES_DIGEST} label is sha256:other)"
    ]


def test_the_go_caches_digest_follows_the_toolchain_platform_and_modules_not_the_source(tree: Path) -> None:
    def digest(go_image: str = "", platform: str = "linux/amd64") -> str:
        loaded = catalog.load(tree)
        return Build(dag.directory(), loaded, Overrides(), BuildInfo(), go_image).go_caches_digest(platform)

    first = digest()
    (tree / "apps/supervisor/main.go").write_text("package main\n")
    assert digest() == first  # the supervisor's own code: the caches still serve it
    assert digest(platform="linux/arm64") != first
    assert digest(go_image="registry.local/golang:1.26") != first
    (tree / "apps/supervisor/go.sum").write_text("example.com/m v1.0.0 h1:abc=\n")
    assert digest() != first


async def test_publish_pushes_the_go_caches_when_it_found_none(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = Dev8(source=dag.directory(), version="1.2.3", revision=SHA)
    engine = engine_for(tree, module, monkeypatch)
    build = Build(dag.directory(), catalog.load(tree), Overrides(), BuildInfo(version="1.2.3", revision=SHA), "")
    await module.publish(
        registry=REGISTRY, username="u", password=dag.secret("env:T"), tag="v1.2.3",
        images=["base"], platform=["linux/amd64"], reuse_from=REGISTRY, sign=False,
    )  # fmt: skip
    [(_, _, [caches])] = [p for p in engine.published if p[0] == go_caches_ref(build)]
    assert caches[-1] == ("withLabel", {"name": GO_CACHES_DIGEST, "value": build.go_caches_digest("linux/amd64")})
    assert caches[:2] == [("container", {}), ("withDirectory", {"path": "/", "source": caches[1][1]["source"]})]
    copied = [args["args"] for name, args in caches[1][1]["source"] if name == "withExec"]
    assert copied[:2] == [["go", "vet", "./..."], ["go", "test", "./..."]]  # filled by what the gate ran
    assert "cp -a /go/pkg/mod/." in copied[-1][2]
    assert "cp -a /root/.cache/go-build/." in copied[-1][2]
    # Found on the next run: seeded from it, and not pushed again.
    engine.registry = {go_caches_ref(build): {GO_CACHES_DIGEST: build.go_caches_digest("linux/amd64")}}
    engine.published.clear()
    await module.publish(
        registry=REGISTRY, username="u", password=dag.secret("env:T"), tag="v1.2.4",
        images=["base"], platform=["linux/amd64"], reuse_from=REGISTRY, sign=False,
    )  # fmt: skip
    addresses = [address for address, _, _ in engine.published]
    assert f"{REGISTRY}/dev8-base:1.2.4" in addresses
    assert go_caches_ref(build) not in addresses
