"""What publish would push: tags from a version and a SHA, references, platforms."""

from __future__ import annotations

import pytest

from pipeline import publish_plan as pp

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("version", "latest", "expected"),
    [
        ("v1.2.3", False, ("1.2.3", "0123456")),
        ("v1.2.3", True, ("1.2.3", "0123456", "latest")),
        ("1.2.3-rc.1", False, ("1.2.3-rc.1", "0123456")),
        ("nightly", True, ("nightly", "0123456", "latest")),
        ("latest", True, ("latest", "0123456")),  # never twice
        ("v2", False, ("2", "0123456")),
        ("version-1", False, ("version-1", "0123456")),  # a leading v only goes before a digit
    ],
)
def test_tags_are_the_version_the_short_sha_and_optionally_latest(
    version: str, latest: bool, expected: tuple[str, ...]
) -> None:
    assert pp.tags(version, SHA, latest) == expected


@pytest.mark.parametrize("sha", ["unknown", "", "0123", "0123456Z", "ABCDEF0"])
def test_a_sha_that_is_not_a_commit_is_refused(sha: str) -> None:
    with pytest.raises(pp.PublishError, match=r"^sha: .* is not a git commit SHA"):
        pp.tags("v1.0.0", sha, latest=False)


@pytest.mark.parametrize("version", ["", "v1.2.3+build", "-1", "a" * 129, "1.2 3"])
def test_a_version_that_is_not_a_tag_is_refused(version: str) -> None:
    with pytest.raises(pp.PublishError, match=r"^tag: .* is not a valid image tag"):
        pp.version_tag(version)


def test_the_plan_pushes_every_image_under_every_tag_for_every_platform() -> None:
    pushes = pp.plan("ghcr.io/acme/", images=["base", "workspace"], version="v1.2.3", sha=SHA, latest=True, arch=None)
    assert [p.image for p in pushes] == ["base", "workspace"]
    assert pushes[0].references == [
        "ghcr.io/acme/dev8-base:1.2.3", "ghcr.io/acme/dev8-base:0123456", "ghcr.io/acme/dev8-base:latest",
    ]  # fmt: skip
    assert all(p.platforms == ("linux/amd64", "linux/arm64") for p in pushes)


def test_platforms_are_checked_and_deduplicated() -> None:
    assert pp.platforms(["linux/arm64", "linux/arm64"]) == ("linux/arm64",)
    with pytest.raises(pp.PublishError, match=r"^platform: windows/amd64 not supported"):
        pp.platforms(["windows/amd64"])
    assert pp.goarch("linux/arm64") == "arm64"


@pytest.mark.parametrize("registry", ["GHCR.io/Org", "ghcr.io/org:tag", "https://ghcr.io/org", ""])
def test_a_registry_that_is_not_an_address_is_refused(registry: str) -> None:
    with pytest.raises(pp.PublishError, match=r"^registry: "):
        pp.plan(registry, images=["base"], version="v1", sha=SHA, latest=False, arch=None)


def test_credentials_go_to_the_registry_host() -> None:
    assert pp.registry_host("ghcr.io/acme") == "ghcr.io"
    assert pp.registry_host("registry.example.com:5000/team/sub") == "registry.example.com:5000"


def test_the_dry_run_text_lists_each_reference_with_its_platforms() -> None:
    pushes = pp.plan("ghcr.io/acme", images=["base"], version="v1.2.3", sha=SHA, latest=False, arch=None)
    assert pp.dry_run_text(pushes, "linux/amd64").splitlines()[1:] == [
        "  ghcr.io/acme/dev8-base:1.2.3  [linux/amd64, linux/arm64 (built, not tested)]",
        "  ghcr.io/acme/dev8-base:0123456  [linux/amd64, linux/arm64 (built, not tested)]",
    ]


def test_the_commit_tag_is_pushed_before_the_tags_people_pull() -> None:
    [push] = pp.plan("ghcr.io/acme", images=["base"], version="v1.2.3", sha=SHA, latest=True, arch=None)
    assert push.phases() == (
        ["ghcr.io/acme/dev8-base:0123456"],
        ["ghcr.io/acme/dev8-base:1.2.3", "ghcr.io/acme/dev8-base:latest"],
    )
