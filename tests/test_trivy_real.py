"""The real Trivy (v0.74.0, built from source by .ci/run) on the pipeline's own commands (pipeline.scan).
No vulnerability database can be had here, so the vulnerability cases run the pipeline's
`trivy convert` commands on Trivy JSON results the tests write (tests/support/trivy_json.py); the
secret scan and the CycloneDX SBOM run on a planted key and on the offline-built base image."""

from __future__ import annotations

import asyncio
import datetime
import json
import subprocess
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pipeline import image_checks, scan
from pipeline import scan_report as sr
from pipeline.catalog import Catalog
from pipeline.image_info import ImageInfo, manifest_digest
from pipeline.reports import ImageResult, Run, size_text, summary_markdown
from pipeline.structure_tests import load_suite, run_suite
from tests.support.podman import env as podman_env
from tests.support.podman import podman
from tests.support.podman_structure import structure_container
from tests.support.trivy_json import Converted, convert, local_junit_template, local_trivy, report, vuln

REPO = Path(__file__).resolve().parents[1]
AWS_KEY = "AKIA2E0A8F3B244C9986"  # made up, in the shape Trivy's aws-access-key-id rule matches
POLICY = sr.Policy(("CRITICAL", "HIGH"))
MIXED = report(
    [
        vuln("CVE-2026-0001", "CRITICAL"),
        vuln("CVE-2026-0002", "HIGH", package="curl"),
        vuln("CVE-2026-0003", "MEDIUM"),
        vuln("CVE-2026-0004", "LOW"),
    ]
)


@pytest.fixture(scope="session")
def trivy() -> str:
    found = local_trivy()
    if found is None or local_junit_template() is None:
        pytest.skip("trivy is not installed: bash .ci/run builds it (and its source has the JUnit template)")
    return found


def gate(report_json: str, policy: sr.Policy, ignore_file: Path | None = None) -> Converted:
    argv = scan.gate_argv(scan.REPORT, policy, scan.IGNORE_PATH if ignore_file else None)
    return convert(report_json, [argv], ignore_file)


def reports(report_json: str, policy: sr.Policy, ignore_file: Path | None = None) -> Converted:
    argvs = scan.report_argvs(scan.REPORT, scan.OUT, policy, scan.IGNORE_PATH if ignore_file else None)
    return convert(report_json, list(argvs.values()), ignore_file)


def test_trivy_is_the_pinned_version(trivy: str) -> None:
    result = subprocess.run([trivy, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[0] == "Version: 0.74.0"
    assert scan.TRIVY_IMAGE == "aquasec/trivy:0.74.0"  # the image the module runs is the same release


@pytest.mark.parametrize(
    ("severities", "fails"),
    [(("CRITICAL", "HIGH"), True), (("LOW",), True), (("MEDIUM", "LOW"), True), (("UNKNOWN",), False)],
)
def test_the_gate_is_trivys_severity_filter_and_exit_code(trivy: str, severities: tuple[str, ...], fails: bool) -> None:
    verdict = gate(MIXED, sr.Policy(severities))
    assert verdict.exit_code == (scan.FINDINGS_EXIT if fails else 0), verdict.stderr
    assert ("CVE-2026-0003" in verdict.stdout) == ("MEDIUM" in severities)  # its table: what fails the scan
    assert "CVE-2026-0004" not in gate(MIXED, POLICY).stdout


def test_an_accepted_finding_stops_applying_on_its_expiry_date(trivy: str, tmp_path: Path) -> None:
    today = datetime.datetime.now(datetime.UTC).date()  # Trivy compares expired_at (midnight UTC) with now
    ignore = tmp_path / ".trivyignore.yaml"
    critical = report([vuln("CVE-2026-0001", "CRITICAL")])
    for expired_at, fails in ((today + datetime.timedelta(days=1), False), (today, True), (None, False)):
        expiry = f"    expired_at: {expired_at.isoformat()}\n" if expired_at else ""
        ignore.write_text(f"vulnerabilities:\n  - id: CVE-2026-0001\n    statement: not reachable\n{expiry}")
        assert sr.check_ignore_file(ignore.read_text()) == 1
        verdict = gate(critical, POLICY, ignore)
        assert verdict.exit_code == (scan.FINDINGS_EXIT if fails else 0), (expired_at, verdict.stderr)


def test_the_reports_are_trivys_conversions_with_the_ignore_file(trivy: str, tmp_path: Path) -> None:
    ignore = tmp_path / ".trivyignore.yaml"
    ignore.write_text("vulnerabilities:\n  - id: CVE-2026-0002\n    statement: HTTP/3 is not built in\n")
    made = reports(MIXED, POLICY, ignore)
    assert set(made.files) == {"trivy.sarif", "trivy.txt", "trivy-junit.xml", "findings.json"}

    found = sr.counts(made.files["findings.json"])
    assert found.text() == "1 CRITICAL, 1 MEDIUM, 1 LOW (1 ignored)"

    log = json.loads(sr.with_category(made.files["trivy.sarif"], "base"))
    [run] = log["runs"]
    assert (log["version"], run["tool"]["driver"]["name"], run["tool"]["driver"]["version"]) == (
        "2.1.0",
        "Trivy",
        "0.74.0",
    )
    assert run["automationDetails"] == {"id": "dev8-images/base/"}
    levels = sorted((r["ruleId"], r["level"]) for r in run["results"])
    assert levels == [("CVE-2026-0001", "error"), ("CVE-2026-0003", "warning"), ("CVE-2026-0004", "note")]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert all(float(rules[r]["properties"]["security-severity"]) > 0 for r, _ in levels)

    junit = ET.fromstring(made.files["trivy-junit.xml"])  # Trivy's template: a failed case per finding at the threshold
    cases = [case.get("name") for case in junit.iter("testcase") if case.find("failure") is not None]
    assert cases == ["[CRITICAL] CVE-2026-0001"]

    table = made.files["trivy.txt"]
    assert all(f"CVE-2026-000{i}" in table for i in (1, 3, 4))
    assert "HTTP/3 is not built in" in table  # the suppressed finding, with its statement


def test_a_planted_key_fails_the_scan_until_ignored_for_its_path(trivy: str, tmp_path: Path) -> None:
    (tmp_path / "src/deploy").mkdir(parents=True)
    (tmp_path / "src/deploy/run.sh").write_text(f"#!/bin/sh\nexport AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    out = tmp_path / "trivy.json"
    argv = scan.scan_argv(str(tmp_path / "src"), str(out), SECRETS_ONLY)
    at = argv.index("--input")  # the same flags over a directory instead of an image
    run_trivy(trivy, ["trivy", "fs", *argv[2:at], *argv[at + 2 :], argv[at + 1]], tmp_path / "cache")
    scanned = out.read_text()
    verdict = gate(scanned, POLICY)
    assert verdict.exit_code == scan.FINDINGS_EXIT
    assert "AWS Access Key ID" in verdict.stdout
    assert sr.counts(reports(scanned, POLICY).files["findings.json"]).text() == "1 CRITICAL"

    ignore = tmp_path / ".trivyignore.yaml"
    for paths, fails in ((["other/**"], True), (["deploy/*.sh"], False)):
        ignore.write_text(
            json.dumps({"secrets": [{"id": "aws-access-key-id", "paths": paths, "statement": "made up"}]})
        )
        assert gate(scanned, POLICY, ignore).exit_code == (scan.FINDINGS_EXIT if fails else 0), paths


def run_trivy(trivy: str, argv: list[str], cache: Path, log: str = "--quiet") -> str:
    """Run one of pipeline.scan's commands (argv[0] is "trivy") with this machine's binary, offline;
    returns its log (`log="--debug"` for every step)."""
    result = subprocess.run(
        [trivy, *argv[1:], "--cache-dir", str(cache), log], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"trivy {' '.join(argv[1:])}:\n{result.stderr}"
    return result.stderr


# The pipeline's air-gapped scan (--scanners secret): no vulnerability database here.
SECRETS_ONLY = sr.Policy(scanners=("secret",))


def oci_layout(image: str, directory: Path) -> tuple[Path, int]:
    """`image` as the scan container sees it: an OCI tarball (what Dagger's as_tarball gives) unpacked
    into a layout directory in `directory`; returns the layout and the tarball's size."""
    tarball = directory / "image.tar"
    podman("image", "save", "--format", "oci-archive", "-o", str(tarball), image, timeout=900)
    with tarfile.open(tarball) as archive:
        archive.extractall(directory / "image", filter="data")
    size = tarball.stat().st_size
    tarball.unlink()
    return directory / "image", size


@pytest.fixture(scope="module")
def base_layout(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The offline-built base image as an OCI tarball (what Dagger's as_tarball gives), unpacked as
    the pipeline's scan container unpacks it; returns the layout and the tarball's size."""
    return oci_layout(base_image, tmp_path_factory.mktemp("trivy-base"))


async def structure_tests(image: str, suites: tuple[str, ...]) -> image_checks.TestRun:
    async with structure_container(image, podman_env()) as executor:
        return image_checks.TestRun(tuple([await run_suite(load_suite(REPO / s), executor) for s in suites]))


@pytest.mark.podman
def test_base_image_secret_scan_and_sbom(
    trivy: str, base_image: str, base_layout: tuple[Path, int], loaded_catalog: Catalog, tmp_path: Path
) -> None:
    layout, size = base_layout
    out = tmp_path / "trivy.json"
    run_trivy(trivy, scan.scan_argv(str(layout), str(out), SECRETS_ONLY), tmp_path / "cache")
    scanned = out.read_text()
    assert json.loads(scanned)["ArtifactType"] == "container_image"
    repo_ignore = REPO / sr.IGNORE_FILE
    verdict = gate(scanned, POLICY, repo_ignore)
    assert verdict.exit_code == 0, verdict.stdout
    found = sr.counts(reports(scanned, POLICY, repo_ignore).files["findings.json"])

    sbom = convert(scanned, [scan.convert_argv(scan.REPORT, "cyclonedx", scan.SBOM)], None).files["sbom.cdx.json"]
    bom = json.loads(sbom)
    assert bom["bomFormat"] == "CycloneDX"
    names = {c["name"] for c in bom["components"]}
    assert {"openssh-server", "tini", "github.com/dev8/images/apps/supervisor"} <= names

    # The summary build-all writes, from this offline run (no vulnerability database: secrets only).
    digest = manifest_digest((layout / "index.json").read_text())
    assert digest.startswith("sha256:")
    unpacked = int(podman("image", "inspect", "--format", "{{.Size}}", base_image).stdout)
    result = ImageResult("base", ImageInfo(digest, compressed=size, unpacked=unpacked))
    result.record("build", "passed")
    tests = asyncio.run(structure_tests(base_image, loaded_catalog.image("base").tests))
    result.record("test", "passed" if tests.passed else "failed", tests.counts())
    result.record("scan", "passed", sr.summary("base", found, POLICY) + " (secrets only, offline)")
    result.record("sbom", "passed", f"CycloneDX {bom['specVersion']}, {len(bom['components'])} components")
    summary = summary_markdown(Run("build-all (offline sample)", {"base": result}))
    (tmp_path / "summary.md").write_text(summary)
    assert f"| base | {size_text(size)} | {size_text(unpacked)} | `{digest[:19]}…` | ✅ passed |" in summary
    print(summary)


@pytest.mark.podman
def test_the_layer_cache_analyses_only_a_changed_layer_and_finds_a_key_planted_there(
    trivy: str, base_image: str, tmp_path: Path
) -> None:
    """The scan's layer cache, kept per image between runs: an image rebuilt with its last layer changed
    is analysed in that layer alone, and a key planted there is found."""
    cache = tmp_path / "cache"
    context = tmp_path / "context"
    context.mkdir()
    (context / "Containerfile").write_text(f"FROM {base_image}\nCOPY run.sh /opt/deploy/run.sh\n")
    logs: list[str] = []
    for build, line in enumerate(["echo deploying", f"export AWS_ACCESS_KEY_ID={AWS_KEY}"]):
        (context / "run.sh").write_text(f"#!/bin/sh\n{line}\n")
        tag = f"localhost/dev8/trivy-layers:{build}"
        podman("build", "--pull=never", "-t", tag, str(context), timeout=600)
        (tmp_path / str(build)).mkdir()
        try:
            layout, _ = oci_layout(tag, tmp_path / str(build))
        finally:
            podman("rmi", "-f", tag)
        argv = scan.scan_argv(str(layout), str(tmp_path / f"{build}.json"), SECRETS_ONLY)
        logs.append(run_trivy(trivy, argv, cache, "--debug"))
    first, second = (log.count("Missing diff ID in cache") for log in logs)
    assert first > 1, logs[0][-3000:]
    assert second == 1, logs[1][-3000:]
    found = json.loads((tmp_path / "1.json").read_text())
    secrets = [secret for result in found.get("Results", []) for secret in result.get("Secrets", [])]
    assert [(secret["RuleID"], secret["StartLine"]) for secret in secrets] == [("aws-access-key-id", 2)]
