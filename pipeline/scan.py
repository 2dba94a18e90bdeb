"""Trivy in a pinned container over an image's OCI tarball: one scan per image, then every report
made from its JSON by `trivy convert`, and the scan's pass or fail by Trivy's own exit code.

The vulnerability and Java databases live in a cache volume and are downloaded by one step that
every scan of a run shares, so a run downloads them once; the scans then open them read-only in
parallel. Trivy's analysis of each layer is kept in the same volume, one cache per image (Trivy
locks its cache file for the whole scan, so images scanned in parallel do not share one): a rebuild
that changed one layer analyses that layer only (Trivy keys it on its version and options).

The scan applies only what `trivy convert` cannot (ignore-unfixed); the ignore file and the severity
threshold are applied when converting, so trivy.json keeps every finding the scan made and anyone
can re-run the conversions on it.
"""

from __future__ import annotations

import datetime
import os
from typing import Final

import dagger
from dagger import dag

from pipeline.caches import Cache, mount
from pipeline.scan_report import Policy

TRIVY_IMAGE: Final = os.environ.get("DEV8_TRIVY_IMAGE", "aquasec/trivy:0.74.0")
# In order of priority, comma-separated: ghcr.io/aquasecurity is rate-limited, Google's mirror is not.
DB_REPOSITORY: Final = "mirror.gcr.io/aquasec/trivy-db:2,ghcr.io/aquasecurity/trivy-db:2"
JAVA_DB_REPOSITORY: Final = "mirror.gcr.io/aquasec/trivy-java-db:1,ghcr.io/aquasecurity/trivy-java-db:1"
TRIVY_CACHES: Final = (Cache("dev8-trivy-cache", "/root/.cache/trivy", locked=False),)
LAYER_CACHES: Final = f"{TRIVY_CACHES[0].path}/layers"  # LAYER_CACHES/<image>, its databases linked in
IMAGE_TAR: Final = "/scan/image.tar"
LAYOUT: Final = "/scan/image"
IGNORE_PATH: Final = "/scan/.trivyignore.yaml"  # Trivy reads the YAML format by the file's extension
# Trivy's JUnit template, where the official image keeps it (its Dockerfile copies contrib/*.tpl to /contrib).
JUNIT_TEMPLATE: Final = "/contrib/junit.tpl"
OUT: Final = "/out"
REPORT: Final = f"{OUT}/trivy.json"
SBOM: Final = f"{OUT}/sbom.cdx.json"
# The gate's exit code when findings reach the threshold; Trivy exits 1 on its own errors.
FINDINGS_EXIT: Final = 5


def trivy(image: str) -> dagger.Container:
    """The Trivy image with its cache volume; no database yet."""
    return (
        dag.container()
        .from_(image)
        .with_(mount(TRIVY_CACHES))
        .with_env_variable("TRIVY_CACHE_DIR", TRIVY_CACHES[0].path)
        .with_env_variable("TRIVY_NO_PROGRESS", "true")
    )


def with_databases(ctr: dagger.Container, db_repository: str, java_db_repository: str) -> dagger.Container:
    """Download (or refresh) both databases into the cache volume; the day in UTC re-runs it daily."""
    day = datetime.datetime.now(datetime.UTC).date().isoformat()
    return (
        ctr.with_env_variable("DEV8_TRIVY_DB_DAY", day)
        .with_exec(["trivy", "image", "--download-db-only", "--db-repository", db_repository])
        .with_exec(["trivy", "image", "--download-java-db-only", "--java-db-repository", java_db_repository])
    )


def scan_argv(layout: str, output: str, policy: Policy) -> list[str]:
    """Trivy's command for the one JSON report of an OCI layout: the policy's scanners (vulnerabilities
    and secrets) at every severity, and every package (what the CycloneDX SBOM is made from)."""
    argv = [
        "trivy", "image", "--input", layout, "--scanners", ",".join(policy.scanners), "--list-all-pkgs",
        "--skip-db-update", "--skip-java-db-update", "--cache-backend", "fs",
        "--format", "json", "--output", output, "--exit-code", "0",
    ]  # fmt: skip
    return argv + (["--ignore-unfixed"] if policy.ignore_unfixed else [])


def convert_argv(
    report: str,
    fmt: str,
    output: str | None,
    *,
    ignore_file: str | None = None,
    severities: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
) -> list[str]:
    """`trivy convert` of a JSON report into another format, with the ignore file and severities."""
    argv = ["trivy", "convert", "--format", fmt, *extra]
    argv += ["--ignorefile", ignore_file] if ignore_file else []
    argv += ["--severity", ",".join(severities)] if severities else []
    argv += ["--output", output] if output else []
    return [*argv, report]


def report_argvs(
    report: str, out: str, policy: Policy, ignore_file: str | None, junit_template: str = JUNIT_TEMPLATE
) -> dict[str, list[str]]:
    """The reports made from the scan's JSON, by file name in `out`: SARIF and the table list every
    finding not ignored; JUnit (Trivy's template) the ones at the threshold (all when it is empty);
    findings.json is what summary.md counts, with the suppressed findings."""
    junit = ("--template", f"@{junit_template}")
    return {
        "trivy.sarif": convert_argv(report, "sarif", f"{out}/trivy.sarif", ignore_file=ignore_file),
        "trivy.txt": convert_argv(
            report, "table", f"{out}/trivy.txt", ignore_file=ignore_file, extra=("--show-suppressed",)
        ),
        "trivy-junit.xml": convert_argv(
            report,
            "template",
            f"{out}/trivy-junit.xml",
            ignore_file=ignore_file,
            severities=policy.fail_on,
            extra=junit,
        ),
        "findings.json": convert_argv(
            report, "json", f"{out}/findings.json", ignore_file=ignore_file, extra=("--show-suppressed",)
        ),
    }


def gate_argv(report: str, policy: Policy, ignore_file: str | None) -> list[str]:
    """The scan's verdict: Trivy's table of the findings at the threshold, exiting FINDINGS_EXIT if any."""
    extra = ("--exit-code", str(FINDINGS_EXIT))
    return convert_argv(report, "table", None, ignore_file=ignore_file, severities=policy.fail_on, extra=extra)


def layer_cache(image: str) -> str:
    """The image's own Trivy cache directory (TRIVY_CACHE_DIR of its scan)."""
    return f"{LAYER_CACHES}/{image}"


def unpacked(argv: list[str], cache_dir: str) -> list[str]:
    """Unpack the image tarball into an OCI layout directory first, then run argv: Trivy's --input reads
    a layout directory or a Docker archive (manifest.json), and an OCI tarball is neither. The image's
    cache directory gets links to the shared databases, where Trivy looks for them."""
    shared = TRIVY_CACHES[0].path
    links = f"ln -sfn {shared}/db {cache_dir}/db && ln -sfn {shared}/java-db {cache_dir}/java-db"
    script = f'mkdir -p {LAYOUT} {cache_dir} && {links} && tar -xf {IMAGE_TAR} -C {LAYOUT} && exec "$@"'
    return ["sh", "-c", script, "sh", *argv]


def scanned(trivy: dagger.Container, tarball: dagger.File, policy: Policy, image: str) -> dagger.Container:
    """Trivy (with the databases when the policy scans for vulnerabilities) after the one scan of the
    image tarball (REPORT), with the image's layer cache. The reports and the SBOM branch off it, so
    the engine runs the scan once."""
    cache_dir = layer_cache(image)
    ctr = trivy.with_mounted_file(IMAGE_TAR, tarball).with_directory(OUT, dag.directory())
    ctr = ctr.with_env_variable("TRIVY_CACHE_DIR", cache_dir)
    return ctr.with_exec(unpacked(scan_argv(LAYOUT, REPORT, policy), cache_dir))


def reports(scan: dagger.Container, ignore_file: dagger.File | None, policy: Policy) -> dagger.Container:
    """`scanned` after every conversion of report_argvs: the reports are in OUT."""
    ctr = scan if ignore_file is None else scan.with_mounted_file(IGNORE_PATH, ignore_file)
    for argv in report_argvs(REPORT, OUT, policy, IGNORE_PATH if ignore_file else None).values():
        ctr = ctr.with_exec(argv)
    return ctr


def gate(made: dagger.Container, policy: Policy, has_ignore_file: bool) -> dagger.Container:
    """`reports` after the gate, whatever it exits with: FINDINGS_EXIT fails the scan."""
    argv = gate_argv(REPORT, policy, IGNORE_PATH if has_ignore_file else None)
    return made.with_exec(argv, expect=dagger.ReturnType.ANY)


def sbom(scan: dagger.Container) -> dagger.File:
    """The CycloneDX SBOM (JSON) converted from the scan's JSON report."""
    return scan.with_exec(convert_argv(REPORT, "cyclonedx", SBOM)).file(SBOM)
