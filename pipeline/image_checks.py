"""An image's structure tests and Trivy scan over a built container, with their report files."""

from __future__ import annotations

import dataclasses
from typing import Final

import dagger

from pipeline import scan
from pipeline.errors import checked
from pipeline.scan_report import Policy, counts, summary, with_category
from pipeline.structure_tests import Report, Suite, run_suite
from pipeline.structure_tests import junit_xml as tests_junit
from pipeline.structure_tests_dagger import DaggerExecutor


@dataclasses.dataclass(frozen=True)
class Trivy:
    """Which Trivy image runs, and where its databases come from."""

    image: str = scan.TRIVY_IMAGE
    db_repository: str = scan.DB_REPOSITORY
    java_db_repository: str = scan.JAVA_DB_REPOSITORY

    def container(self) -> dagger.Container:
        return scan.trivy(self.image)

    def with_databases(self) -> dagger.Container:
        return scan.with_databases(self.container(), self.db_repository, self.java_db_repository)

    def for_policy(self, policy: Policy) -> dagger.Container:
        """Trivy with the databases only where the policy scans for vulnerabilities."""
        return self.with_databases() if policy.needs_database else self.container()


@dataclasses.dataclass(frozen=True)
class ScanResult:
    passed: bool  # Trivy's gate: no finding at the threshold
    summary: str  # the counts and threshold; when failed, Trivy's table of what fails it
    files: dict[str, str]  # report name -> contents: trivy.json, trivy.sarif, trivy.txt, trivy-junit.xml


@dataclasses.dataclass(frozen=True)
class TestRun:
    reports: tuple[Report, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.reports)

    def failures(self) -> list[str]:
        return [f"{r.source}: {f.name}" for r in self.reports for f in r.failures]

    def summary(self) -> str:
        return "\n".join(r.summary() for r in self.reports)

    def counts(self) -> str:
        """`41/42 passed`."""
        total = sum(len(r.results) for r in self.reports)
        return f"{total - len(self.failures())}/{total} passed"

    def junit(self, name: str) -> str:
        return tests_junit(self.reports, f"{name}: structure tests")


# Command tests at once per suite: each is an exec of its own on the engine, which runs them in parallel.
TEST_CONCURRENCY: Final = 8


async def run_tests(ctr: dagger.Container, suites: list[Suite]) -> TestRun:
    """Every suite of the image against the built container; reported in order."""
    executor = DaggerExecutor(ctr)
    return TestRun(tuple([await run_suite(suite, executor, TEST_CONCURRENCY) for suite in suites]))


async def run_scan(
    name: str, tarball: dagger.File, trivy: Trivy, policy: Policy, ignore_file: dagger.File | None
) -> ScanResult:
    """One Trivy scan of the image, its reports by `trivy convert`, and Trivy's verdict on the threshold."""
    made = scan.reports(scan.scanned(trivy.for_policy(policy), tarball, policy, name), ignore_file, policy)
    out = made.directory(scan.OUT)
    files = {"trivy.json": await checked(out.file("trivy.json").contents(), f"image '{name}': scan")}
    for file in scan.report_argvs(scan.REPORT, scan.OUT, policy, None):
        files[file] = await checked(out.file(file).contents(), f"image '{name}': scan: {file}")
    found = counts(files.pop("findings.json"), f"{name}/findings.json")
    files["trivy.sarif"] = with_category(files["trivy.sarif"], name)
    if not policy.fail_on:
        return ScanResult(True, summary(name, found, policy), files)
    gate = scan.gate(made, policy, ignore_file is not None)
    code = await checked(gate.exit_code(), f"image '{name}': scan")
    if code not in (0, scan.FINDINGS_EXIT):
        stderr = await checked(gate.stderr(), f"image '{name}': scan")
        raise RuntimeError(f"image '{name}': scan: trivy convert exited {code}: {stderr.strip()}")
    table = await checked(gate.stdout(), f"image '{name}': scan") if code else ""
    return ScanResult(code == 0, summary(name, found, policy, table), files)


def sbom(name: str, tarball: dagger.File, trivy: Trivy, policy: Policy) -> dagger.File:
    """The CycloneDX SBOM converted from the image's scan: the same scan as run_scan's with the same
    policy, so the engine runs it once for both."""
    return scan.sbom(scan.scanned(trivy.for_policy(policy), tarball, policy, name))
