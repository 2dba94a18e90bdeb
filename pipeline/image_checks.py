"""An image's structure tests and Trivy scan over a built container, with their report files."""

from __future__ import annotations

import dataclasses

import dagger

from pipeline import scan
from pipeline.errors import checked
from pipeline.scan_report import Decision, Policy, decide, junit_xml, parse_report, sarif, text_report
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


@dataclasses.dataclass(frozen=True)
class ScanResult:
    decision: Decision
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


async def run_tests(ctr: dagger.Container, suites: list[Suite]) -> TestRun:
    """Every suite of the image, in order, against the built container."""
    executor = DaggerExecutor(ctr)
    return TestRun(tuple([await run_suite(suite, executor) for suite in suites]))


async def run_scan(
    name: str, tarball: dagger.File, trivy: Trivy, policy: Policy, ignore_file: dagger.File | None
) -> ScanResult:
    """Trivy's JSON of the image, judged by the policy, with the SARIF, table and JUnit made from it."""
    report = scan.scan(trivy.with_databases(), tarball, ignore_file, policy.ignore_unfixed)
    text = await checked(report.contents(), f"image '{name}': scan")
    decision = decide(name, parse_report(text, f"{name}/trivy.json"), policy)
    files = {
        "trivy.json": text,
        "trivy.sarif": sarif(decision, scan.tool_version(trivy.image)),
        "trivy.txt": text_report(decision, policy),
        "trivy-junit.xml": junit_xml(decision),
    }
    return ScanResult(decision, files)


async def image_digest(name: str, tarball: dagger.File, trivy: Trivy) -> str:
    """The OCI manifest digest of the image tarball."""
    index = await checked(scan.index(trivy.container(), tarball).stdout(), f"image '{name}': digest")
    return scan.manifest_digest(index)
