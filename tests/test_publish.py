"""publish without an engine or a registry: what it builds, what stops it, what it pushes and how."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagger import dag

from pipeline import Dev8
from pipeline.errors import Failed
from pipeline.publish_plan import PublishError
from tests.support import small_catalog
from tests.support.fake_engine import digest_of
from tests.support.graph import Op
from tests.support.small_catalog import engine_for
from tests.support.trivy_json import report, vuln

SHA = "0123456789abcdef0123456789abcdef01234567"
IMAGES = ["base", "a", "b", "c"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return small_catalog.write(tmp_path)


@pytest.fixture
def module() -> Dev8:
    """The version is the tag's, as publish builds it, so the fake engine knows the images' chains."""
    return Dev8(source=dag.directory(), version="1.2.3", revision=SHA)


async def publish(module: Dev8, **options: object) -> str:
    """Signing has tests of its own (tests/test_signing.py)."""
    options.setdefault("sign", False)
    return await module.publish(
        registry="ghcr.io/acme",
        username="bot",
        password=dag.secret("env:TOKEN"),
        tag="v1.2.3",
        **options,  # type: ignore[arg-type]
    )


def first(chain: list[Op], op: str) -> dict[str, object]:
    return next(args for name, args in chain if name == op)


def supervisor_env(variant: list[Op]) -> dict[str, str]:
    """The build variables of the supervisor binary copied into a variant."""
    binary = next(args["source"] for name, args in variant if name == "withFile" and "supervisor" in args["path"])
    return {args["name"]: args["value"] for name, args in binary if name == "withEnvVariable"}


def pushed_lines(text: str) -> list[str]:
    """The references under "Pushed:" in publish's report."""
    section = text.split("Pushed:\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in section.splitlines()]


async def test_publish_pushes_every_image_for_both_platforms_under_each_tag(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch)
    text = await publish(module, latest=True)
    addresses = sorted(address for address, _, _ in engine.published)
    assert addresses == sorted(f"ghcr.io/acme/dev8-{n}:{t}" for n in IMAGES for t in ("1.2.3", "0123456", "latest"))
    assert sorted(line.split("@")[0] for line in pushed_lines(text)) == addresses
    assert all("@sha256:" in line for line in pushed_lines(text))
    for image in IMAGES:
        line = f"- ghcr.io/acme/dev8-{image}: tested on linux/amd64; built, not tested: linux/arm64"
        assert line in text.splitlines()
    for address, publisher, (native, arm64) in engine.published:
        image = address.split("/dev8-")[1].split(":")[0]
        # The engine's own platform pushes the very container the gate built, tested and scanned.
        assert native == engine.images[image]
        assert first(arm64, "container").get("platform") == "linux/arm64"
        # Cross-compiled, not emulated: the Go stage runs natively with GOARCH set.
        assert supervisor_env(arm64).get("GOARCH") == "arm64"
        assert supervisor_env(arm64)["GOOS"] == "linux"
        for variant in (native, arm64):
            labels = {args["name"]: args["value"] for name, args in variant if name == "withLabel"}
            assert labels["org.opencontainers.image.version"] == "1.2.3"
            assert labels["org.opencontainers.image.revision"] == SHA
        auth = first(publisher, "withRegistryAuth")
        assert (auth["address"], auth["username"]) == ("ghcr.io", "bot")
        assert auth["secret"] == [("secret", {"uri": "env:TOKEN"})]  # a secret reference, never its value


async def test_a_failed_push_says_what_reached_the_registry_and_moves_no_version_tag(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch, fail_push={"ghcr.io/acme/dev8-b:0123456"})
    with pytest.raises(Failed) as failed:
        await publish(module, latest=True)
    text = str(failed.value)
    assert sorted(pushed_lines(text)) == sorted(
        f"ghcr.io/acme/dev8-{n}:0123456@{digest_of(n)}" for n in IMAGES if n != "b"
    )
    assert "Not pushed (failed):\n  ghcr.io/acme/dev8-b:0123456: push ghcr.io/acme/dev8-b:0123456 failed" in text
    held_back = text.split("Not pushed (held back because a push failed):\n")[1].split()
    assert sorted(held_back) == sorted(f"ghcr.io/acme/dev8-{n}:{t}" for n in IMAGES for t in ("1.2.3", "latest"))
    # The commit tags went first; no version or latest tag moved.
    assert all(address.endswith(":0123456") for address, _, _ in engine.published)


async def test_everything_is_built_tested_and_scanned_before_the_first_push(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch)
    await publish(module)
    kinds = [entry[0] for entry in engine.log]
    first_push = kinds.index("publish")
    assert set(kinds[first_push:]) == {"publish"}
    for name in IMAGES:
        for step in ("build", "test", "scan", "sbom"):
            assert (step, name) in engine.log[:first_push]
    assert ("supervisor", "go test") in engine.log[:first_push]


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ({"fail_tests": {"b"}}, r"- image 'b': test: 0/1 passed"),
        ({"trivy": {"c": report([vuln("CVE-2026-1", "HIGH")])}}, r"- image 'c': scan: 1 HIGH; fails on CRITICAL,HIGH"),
        ({"fail_build": {"a"}}, r"- image 'a': build failed"),
        ({"go_test_fails": True}, r"- supervisor: go test failed"),
    ],
)
async def test_a_failed_test_scan_or_build_pushes_nothing(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch, script: dict[str, object], reason: str
) -> None:
    engine = engine_for(tree, module, monkeypatch, **script)
    with pytest.raises(Failed, match=r"(?s)^publish: nothing pushed; fix these first:\n.*" + reason):
        await publish(module)
    assert engine.published == []


async def test_dry_run_runs_the_checks_and_prints_the_references(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch)
    text = await publish(module, dry_run=True, images=["base"], platform=["linux/arm64"])
    assert text.splitlines() == [
        "dry run: built, tested and scanned; would push:",
        "  ghcr.io/acme/dev8-base:1.2.3  [linux/arm64 (built, not tested)]",
        "  ghcr.io/acme/dev8-base:0123456  [linux/arm64 (built, not tested)]",
    ]
    assert engine.published == []
    assert ("scan", "base") in engine.log


async def test_a_bad_argument_fails_before_anything_is_built(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = Dev8(source=dag.directory())  # revision "unknown": no SHA to tag with
    engine = engine_for(tree, module, monkeypatch)
    with pytest.raises(PublishError, match=r"^sha: 'unknown' is not a git commit SHA"):
        await publish(module)
    with pytest.raises(PublishError, match=r"^platform: linux/mips not supported"):
        await publish(module, sha=SHA, platform=["linux/mips"])
    assert engine.log == []


async def test_the_sha_option_overrides_the_revision(tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_for(tree, module, monkeypatch)
    await publish(module, sha="fedcba9876543210", images=["base"], platform=["linux/amd64"])
    assert sorted(a for a, _, _ in engine.published) == [
        "ghcr.io/acme/dev8-base:1.2.3",
        "ghcr.io/acme/dev8-base:fedcba9",
    ]


async def test_the_images_are_built_with_the_tags_version(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = Dev8(source=dag.directory(), revision=SHA)  # version "dev"
    engine = engine_for(tree, module, monkeypatch)
    await publish(module, images=["base"], platform=["linux/arm64"])
    [variant] = engine.published[0][2]
    labels = {args["name"]: args["value"] for name, args in variant if name == "withLabel"}
    assert labels["org.opencontainers.image.version"] == "1.2.3"
    binary = next(args["source"] for name, args in variant if name == "withFile" and "supervisor" in args["path"])
    go_build = next(args["args"] for name, args in binary if name == "withExec")
    assert "-X main.version=1.2.3" in go_build[go_build.index("-ldflags") + 1]
