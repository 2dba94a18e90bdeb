"""The real Trivy (v0.74.0, built from source by .ci/run) where no vulnerability database can be had:
secret scans and CycloneDX SBOMs need none. They run the pipeline's own Trivy commands
(pipeline.scan) and read the output with the pipeline's own code (pipeline.scan_report)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from pipeline import image_checks, scan, scan_report
from pipeline.catalog import Catalog
from pipeline.reports import ImageResult, Run, summary_markdown
from pipeline.structure_tests import load_suite, run_suite
from tests.support.podman import CACHE_DIR, podman
from tests.support.podman import env as podman_env
from tests.support.podman_structure import structure_container

REPO = Path(__file__).resolve().parents[1]
AWS_KEY = "AKIA2E0A8F3B244C9986"  # made up, in the shape Trivy's aws-access-key-id rule matches


@pytest.fixture(scope="session")
def trivy() -> str:
    found = shutil.which("trivy") or str(CACHE_DIR / "bin/trivy")
    if not os.access(found, os.X_OK):
        pytest.skip("trivy is not installed: bash .ci/run installs it")
    return found


def run_trivy(trivy: str, argv: list[str], cache: Path) -> None:
    """Run one of pipeline.scan's commands (argv[0] is "trivy") with this machine's binary, offline."""
    result = subprocess.run(
        [trivy, *argv[1:], "--cache-dir", str(cache), "--quiet"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"trivy {' '.join(argv[1:])}:\n{result.stderr}"


def secrets_only(argv: list[str]) -> list[str]:
    """The pipeline's scan command with the vulnerability scanner off: no database here."""
    argv = list(argv)
    argv[argv.index("--scanners") + 1] = "secret"
    return argv


def test_trivy_is_the_pinned_version(trivy: str) -> None:
    result = subprocess.run([trivy, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[0] == "Version: 0.74.0"
    assert scan.tool_version(scan.TRIVY_IMAGE) == "0.74.0"  # the image the module runs is the same release


def test_a_planted_key_fails_the_scan_until_ignored_with_a_reason(trivy: str, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/deploy.sh").write_text(f"#!/bin/sh\nexport AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    out = tmp_path / "trivy.json"
    argv = secrets_only(scan.scan_argv(str(tmp_path / "src"), str(out), ignore_unfixed=True, ignore_file=None))
    at = argv.index("--input")  # the same flags over a directory instead of an image
    argv = ["trivy", "fs", *argv[2:at], *argv[at + 2 :], argv[at + 1]]
    run_trivy(trivy, argv, tmp_path / "cache")
    policy = scan_report.Policy()
    decision = scan_report.decide("fixture", scan_report.parse_report(out.read_text()), policy)
    [found] = decision.blocking
    assert (found.id, found.kind, found.severity, found.target) == (
        "aws-access-key-id",
        "secret",
        "CRITICAL",
        "deploy.sh",
    )
    assert scan_report.summary(decision, policy).startswith("image 'fixture': scan: 1 CRITICAL; fails on CRITICAL,HIGH")

    # Trivy and the pipeline read the same .trivyignore: a trailing `# reason` is a comment to Trivy.
    ignore = tmp_path / ".trivyignore"
    ignore.write_text("aws-access-key-id  # a made-up key in a test fixture\n")
    run_trivy(trivy, [*argv, "--ignorefile", str(ignore)], tmp_path / "cache")
    assert scan_report.parse_report(out.read_text()) == ()
    policy = scan_report.Policy(ignores=scan_report.parse_ignore_file(ignore.read_text()))
    assert scan_report.decide("fixture", (found,), policy).passed


@pytest.fixture(scope="module")
def base_layout(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The offline-built base image as an OCI tarball (what Dagger's as_tarball gives), unpacked as
    the pipeline's scan container unpacks it; returns the layout and the tarball's size."""
    directory = tmp_path_factory.mktemp("trivy-base")
    tarball = directory / "image.tar"
    podman("image", "save", "--format", "oci-archive", "-o", str(tarball), base_image, timeout=900)
    with tarfile.open(tarball) as archive:
        archive.extractall(directory / "image", filter="data")
    return directory / "image", tarball.stat().st_size


async def structure_tests(image: str, suites: tuple[str, ...]) -> image_checks.TestRun:
    async with structure_container(image, podman_env()) as executor:
        return image_checks.TestRun(tuple([await run_suite(load_suite(REPO / s), executor) for s in suites]))


@pytest.mark.podman
def test_base_image_secret_scan_and_sbom(
    trivy: str, base_image: str, base_layout: tuple[Path, int], loaded_catalog: Catalog, tmp_path: Path
) -> None:
    layout, size = base_layout
    repo_ignore = REPO / ".trivyignore"
    report = tmp_path / "trivy.json"
    argv = scan.scan_argv(str(layout), str(report), ignore_unfixed=True, ignore_file=str(repo_ignore))
    run_trivy(trivy, secrets_only(argv), tmp_path / "cache")
    policy = scan_report.Policy(ignores=scan_report.parse_ignore_file(repo_ignore.read_text()))
    decision = scan_report.decide("base", scan_report.parse_report(report.read_text()), policy)
    assert decision.passed, scan_report.summary(decision, policy)
    assert json.loads(report.read_text())["ArtifactType"] == "container_image"

    sbom = tmp_path / "sbom.cdx.json"
    run_trivy(trivy, scan.sbom_argv(str(layout), str(sbom)), tmp_path / "cache")
    bom = json.loads(sbom.read_text())
    assert bom["bomFormat"] == "CycloneDX"
    names = {c["name"] for c in bom["components"]}
    assert {"openssh-server", "tini", "github.com/dev8/images/apps/supervisor"} <= names

    # The summary build-all writes, from this offline run (no vulnerability database: secrets only).
    digest = scan.manifest_digest((layout / "index.json").read_text())
    assert digest.startswith("sha256:")
    result = ImageResult("base", size=size, digest=digest)
    result.record("build", "passed")
    tests = asyncio.run(structure_tests(base_image, loaded_catalog.image("base").tests))
    result.record("test", "passed" if tests.passed else "failed", tests.counts())
    result.record("scan", "passed", scan_report.summary(decision, policy) + " (secrets only, offline)")
    result.record("sbom", "passed", f"CycloneDX {bom['specVersion']}, {len(bom['components'])} components")
    summary = summary_markdown(Run("build-all (offline sample)", {"base": result}))
    (tmp_path / "summary.md").write_text(summary)
    assert f"| base | {size / 2**20:.1f} MiB | `{digest[:19]}…` | ✅ passed |" in summary
    print(summary)
