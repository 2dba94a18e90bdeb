"""docker/build.sh: its switches, options and errors with stand-in dagger, docker and podman that
record their arguments, and one real run through podman on the offline stand-in base."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.catalog import Catalog
from tests.support import podman
from tests.support.dagger_cli import check_call

REPO_ROOT = podman.REPO_ROOT
SCRIPT = REPO_ROOT / "docker/build.sh"
SEP = "\x1f"
# A stand-in tool: records `name arg...` (one line per call, arguments separated by SEP).
RECORDER = f"""#!{shutil.which("bash")}
(IFS=$'{SEP}'; printf '%s\\n' "${{0##*/}}$IFS$*") >>"$BUILD_SH_LOG"
"""
NO_BUILDX = f"""#!{shutil.which("bash")}
[[ "$1" != buildx ]] || {{ echo "docker: unknown command: docker buildx" >&2; exit 1; }}
"""


@dataclass
class Run:
    returncode: int
    output: str
    calls: list[list[str]]

    def of(self, tool: str) -> list[list[str]]:
        return [call[1:] for call in self.calls if call[0] == tool]


BuildSh = Callable[..., Run]


@pytest.fixture
def build_sh(tmp_path: Path) -> BuildSh:
    """Run build.sh with only bash, cat and the named stand-in tools on PATH."""

    def run(*args: str, tools: dict[str, str] | None = None, cwd: Path = REPO_ROOT, **env: str) -> Run:
        bin_dir = tmp_path / "bin"
        shutil.rmtree(bin_dir, ignore_errors=True)
        bin_dir.mkdir()
        for real in ("bash", "cat"):
            (bin_dir / real).symlink_to(shutil.which(real) or real)
        for name, script in (tools or {}).items():
            (bin_dir / name).write_text(script)
            (bin_dir / name).chmod(0o755)
        log = tmp_path / "calls.log"
        log.write_text("")
        result = subprocess.run(
            [str(SCRIPT), *args],
            cwd=cwd,
            env={"PATH": str(bin_dir), "BUILD_SH_LOG": str(log), "HOME": str(tmp_path), **env},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        calls = [line.split(SEP) for line in log.read_text().splitlines()]
        return Run(result.returncode, result.stdout + result.stderr, calls)

    return run


def names(loaded_catalog: Catalog) -> list[str]:
    return list(loaded_catalog.images)


def built(run: Run, tool: str) -> list[str]:
    """The images a Dockerfile build was run for, from each call's -f docker/<image>/Dockerfile."""
    return [call[call.index("-f") + 1].split("/")[1] for call in run.of(tool) if "-f" in call]


def dagger_args(run: Run) -> list[str]:
    [call] = run.of("dagger")
    assert call[0] == "call"
    assert check_call(call[1:]) == [], f"dagger {' '.join(call)}"
    return call[1:]


# --- errors ---


def test_wrong_directory_is_a_clear_error(build_sh: BuildSh, tmp_path: Path) -> None:
    run = build_sh(tools={"podman": RECORDER}, cwd=tmp_path)
    assert run.returncode == 2
    assert "run me from the repository root, as ./docker/build.sh" in run.output
    assert run.calls == []


def test_no_build_tool_is_a_clear_error(build_sh: BuildSh) -> None:
    run = build_sh(tools={"docker": NO_BUILDX})
    assert run.returncode == 2
    assert "no build tool found: install Dagger" in run.output
    assert "Docker with buildx, or podman" in run.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--frobnicate"], "unknown option '--frobnicate'"),
        (["--tag"], "--tag needs a value"),
        (["--registry", "--push"], "--registry needs a value"),
        (["--push"], "--push needs --registry"),
        (["no-such-image"], "unknown image 'no-such-image' (known: base"),
        (["--build-arg", "not an assignment"], "--build-arg takes NAME=VALUE"),
        (["--option", "source=distro"], "--option takes feature.option=value"),
        (["--builder", "make"], "--builder must be auto, dagger, docker or podman"),
        (["--builder", "dagger"], "--builder dagger: dagger is not on PATH"),
    ],
)
def test_bad_options_are_clear_errors(build_sh: BuildSh, args: list[str], message: str) -> None:
    run = build_sh(*args, tools={"podman": RECORDER})
    assert run.returncode == 2, run.output
    assert message in run.output
    assert run.calls == []


def test_a_switch_must_be_true_or_false(build_sh: BuildSh) -> None:
    run = build_sh(tools={"podman": RECORDER}, BUILD_BASE="maybe")
    assert run.returncode == 2
    assert "BUILD_BASE must be true or false, not 'maybe'" in run.output


def test_help(build_sh: BuildSh, tmp_path: Path) -> None:
    run = build_sh("--help", cwd=tmp_path)
    assert run.returncode == 0
    for documented in ("BUILD_BASE=false", "BUILD_MVP=false", "BUILD_WORKSPACE", "BUILD_SPECIALISED", "--build-arg"):
        assert documented in run.output


# --- which tool ---


def test_without_dagger_podman_builds_every_committed_dockerfile(build_sh: BuildSh, loaded_catalog: Catalog) -> None:
    run = build_sh(tools={"podman": RECORDER, "docker": NO_BUILDX})
    assert run.returncode == 0, run.output
    assert "with podman" in run.output
    assert sorted(built(run, "podman")) == sorted(names(loaded_catalog))
    assert built(run, "podman")[0] == "base"
    for call in run.of("podman"):
        name = call[call.index("-f") + 1].split("/")[1]
        assert call[:2] == ["build", "--layers"]
        assert call[-3:] == ["-t", f"dev8-{name}:latest", "."], "context: the repository root"
    assert "[1/" in run.output, "progress for each image"


def test_docker_buildx_is_preferred_to_podman(build_sh: BuildSh, loaded_catalog: Catalog) -> None:
    run = build_sh(tools={"podman": RECORDER, "docker": RECORDER})
    assert run.returncode == 0, run.output
    assert "with docker" in run.output
    assert run.of("podman") == []
    builds = [call for call in run.of("docker") if call[:2] == ["buildx", "build"]]
    assert len(builds) == len(names(loaded_catalog))
    assert all("--load" in call and call[-1] == "." for call in builds)


def test_with_dagger_it_calls_build_all_and_exports_the_reports(build_sh: BuildSh) -> None:
    run = build_sh(tools={"dagger": RECORDER, "podman": RECORDER})
    assert run.returncode == 0, run.output
    assert "with dagger" in run.output
    assert dagger_args(run) == ["build-all", "export", "--path", "reports"]
    assert run.of("podman") == []


def test_dagger_failures_fail_the_script(build_sh: BuildSh, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "failures.txt").write_text("image 'base': scan: 2 critical\n")
    run = build_sh("--reports", str(reports), tools={"dagger": RECORDER})
    assert run.returncode == 1
    assert "image 'base': scan: 2 critical" in run.output


# --- switches and options ---


@pytest.mark.parametrize(
    ("env", "skipped"),
    [
        ({"BUILD_BASE": "false"}, {"base"}),
        ({"BUILD_MVP": "false"}, {"workspace"}),
        ({"BUILD_WORKSPACE": "false"}, {"workspace"}),
        ({"BUILD_SPECIALISED": "false"}, "specialised"),
    ],
    ids=["BUILD_BASE", "BUILD_MVP", "BUILD_WORKSPACE", "BUILD_SPECIALISED"],
)
def test_switches_skip_images(
    build_sh: BuildSh, loaded_catalog: Catalog, env: dict[str, str], skipped: set[str] | str
) -> None:
    every = names(loaded_catalog)
    left = [n for n in every if n in {"base", "workspace"}] if skipped == "specialised" else []
    expected = left if skipped == "specialised" else [n for n in every if n not in skipped]
    run = build_sh(tools={"podman": RECORDER}, **env)
    if not expected:
        assert run.returncode == 2
        assert "nothing to build" in run.output
        return
    assert run.returncode == 0, run.output
    assert sorted(built(run, "podman")) == sorted(expected)
    with_dagger = build_sh(tools={"dagger": RECORDER}, **env)
    assert with_dagger.returncode == 0, with_dagger.output
    args = dagger_args(with_dagger)
    if expected != every:
        assert args[args.index("--images") + 1].split(",") == [n for n in built(run, "podman")]


def test_switches_are_also_arguments(build_sh: BuildSh, loaded_catalog: Catalog) -> None:
    run = build_sh("BUILD_BASE=false", tools={"podman": RECORDER})
    assert sorted(built(run, "podman")) == sorted(n for n in names(loaded_catalog) if n != "base")


def test_images_option_overrides_the_switches(build_sh: BuildSh) -> None:
    run = build_sh("--images", "base", tools={"podman": RECORDER}, BUILD_BASE="false")
    assert run.returncode == 0, run.output
    assert built(run, "podman") == ["base"]


def test_registry_tag_platform_push_and_build_args_with_podman(build_sh: BuildSh) -> None:
    run = build_sh(
        "base",
        "--registry", "ghcr.io/acme/",
        "--tag=1.2.3",
        "--platform", "linux/arm64",
        "--push",
        "--option", "github-cli.source=distro",
        "--build-arg", "BASE_IMAGE=debian:bookworm",
        tools={"podman": RECORDER},
    )  # fmt: skip
    assert run.returncode == 0, run.output
    build, push = run.of("podman")
    assert build == [
        "build", "--layers", "--platform", "linux/arm64",
        "--build-arg", "GITHUB_CLI_SOURCE=distro",
        "--build-arg", "BASE_IMAGE=debian:bookworm",
        "--build-arg", "SUPERVISOR_VERSION=1.2.3",
        "--build-arg", "IMAGE_VERSION=1.2.3",
        "-f", "docker/base/Dockerfile", "-t", "ghcr.io/acme/dev8-base:1.2.3", ".",
    ]  # fmt: skip
    assert push == ["push", "ghcr.io/acme/dev8-base:1.2.3"]


def test_several_platforms_make_a_manifest_list_with_podman(build_sh: BuildSh) -> None:
    run = build_sh("base", "--registry", "r.example/x", "--platform", "linux/amd64,linux/arm64", "--push",
                   tools={"podman": RECORDER})  # fmt: skip
    assert run.returncode == 0, run.output
    build = next(call for call in run.of("podman") if call[0] == "build")
    assert build[build.index("--manifest") + 1] == "r.example/x/dev8-base:latest"
    assert ["manifest", "push", "--all", "r.example/x/dev8-base:latest", "docker://r.example/x/dev8-base:latest"] in (
        run.of("podman")
    )


def test_push_with_docker_buildx(build_sh: BuildSh) -> None:
    run = build_sh("base", "--registry", "r.example/x", "--platform", "linux/amd64,linux/arm64", "--push",
                   tools={"docker": RECORDER})  # fmt: skip
    assert run.returncode == 0, run.output
    [build] = [call for call in run.of("docker") if call[:2] == ["buildx", "build"]]
    assert "--push" in build
    assert build[build.index("--platform") + 1] == "linux/amd64,linux/arm64"


def test_options_and_tag_reach_dagger(build_sh: BuildSh) -> None:
    run = build_sh("--tag", "v1.2.3", "--option", "github-cli.source=distro", tools={"dagger": RECORDER})
    assert run.returncode == 0, run.output
    args = dagger_args(run)
    assert args[:2] == ["--version", "v1.2.3"]
    assert args[args.index("--option") + 1] == "github-cli.source=distro"


def test_push_with_dagger_calls_publish_with_the_token_as_a_secret(build_sh: BuildSh) -> None:
    git = f"#!{shutil.which('bash')}\necho 0123456789abcdef0123456789abcdef01234567\n"
    run = build_sh(
        "--registry", "ghcr.io/acme", "--tag", "v1.2.3", "--platform", "linux/amd64", "--push",
        tools={"dagger": RECORDER, "git": git}, REGISTRY_USERNAME="me", REGISTRY_PASSWORD="s3cret",
    )  # fmt: skip
    assert run.returncode == 0, run.output
    args = dagger_args(run)
    assert "publish" in args
    assert args[args.index("--password") + 1] == "env:REGISTRY_PASSWORD"
    assert "s3cret" not in " ".join(args) + run.output


def test_dagger_refuses_build_args(build_sh: BuildSh) -> None:
    run = build_sh("--build-arg", "BASE_IMAGE=x", tools={"dagger": RECORDER})
    assert run.returncode == 2
    assert "with Dagger use --option" in run.output


# --- a real build ---


@pytest.mark.podman
def test_real_build_of_base_through_podman_reuses_the_layer_cache(
    build_sh: BuildSh, base_image: str, offline_build_args: dict[str, str]
) -> None:
    """The same Dockerfile and build arguments as the offline image tests: the feature layers are cache hits."""
    assert base_image, "the offline tests' build fills the layer cache first"
    registry = "localhost/dev8-build-sh"
    args = [f"--build-arg={name}={value}" for name, value in offline_build_args.items()]
    result = subprocess.run(
        [str(SCRIPT), "--builder", "podman", "--registry", registry, *args, "base"],
        cwd=REPO_ROOT,
        env={k: v for k, v in podman.env().items() if k not in {"REGISTRY", "TAG", "PLATFORMS", "PUSH", "BUILDER"}},
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "with podman" in output
    assert output.count("Using cache") >= 4, "the feature layers come from the cache"
    ref = f"{registry}/dev8-base:latest"
    title = podman.podman("image", "inspect", "--format", '{{index .Labels "org.opencontainers.image.title"}}', ref)
    assert title.stdout.strip() == "dev8-base"
    podman.podman("untag", ref, ref)
