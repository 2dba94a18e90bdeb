"""The scan policy on Trivy JSON reports the tests generate: threshold, ignore file, ignore-unfixed,
summaries, SARIF, JUnit and the text table."""

from __future__ import annotations

import datetime
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pipeline import scan_report as sr
from tests.support.trivy_json import report, secret, vuln

TODAY = datetime.date(2026, 11, 27)
REPO = Path(__file__).resolve().parent.parent


def decide(text: str, policy: sr.Policy | None = None) -> sr.Decision:
    return sr.decide("base", sr.parse_report(text), policy or sr.Policy(), today=TODAY)


def ids(findings: tuple[sr.Finding, ...]) -> list[str]:
    return [f.id for f in findings]


MIXED = report(
    [
        vuln("CVE-2026-0001", "CRITICAL"),
        vuln("CVE-2026-0002", "HIGH", package="curl"),
        vuln("CVE-2026-0003", "MEDIUM"),
        vuln("CVE-2026-0004", "LOW"),
        vuln("CVE-2026-0005", "CRITICAL", fixed="", status="affected"),
        vuln("CVE-2026-0006", "HIGH", fixed="", status="will_not_fix"),
    ]
)


def test_parse_reads_every_field_the_decision_and_reports_use() -> None:
    [first, *_] = sr.parse_report(MIXED)
    assert first == sr.Finding(
        id="CVE-2026-0001",
        kind="vulnerability",
        severity="CRITICAL",
        target="dev8-base (ubuntu 22.04)",
        package="openssl",
        installed="3.0.2-0ubuntu1.10",
        fixed="3.0.2-0ubuntu1.15",
        status="fixed",
        title="openssl: a problem (CVE-2026-0001)",
        url="https://avd.aquasec.com/nvd/cve-2026-0001",
    )


def test_default_policy_fails_on_fixed_critical_and_high_only() -> None:
    decision = decide(MIXED)
    assert not decision.passed
    assert ids(decision.blocking) == ["CVE-2026-0001", "CVE-2026-0002"]
    assert ids(decision.reported) == ["CVE-2026-0003", "CVE-2026-0004"]
    assert ids(decision.ignored) == ["CVE-2026-0005", "CVE-2026-0006"]  # no fix: ignore-unfixed
    assert decision.counts() == "1 CRITICAL, 1 HIGH, 1 MEDIUM, 1 LOW (2 below threshold, 2 ignored)"


def test_without_ignore_unfixed_unfixed_findings_block() -> None:
    decision = decide(MIXED, sr.Policy(ignore_unfixed=False))
    assert ids(decision.blocking) == ["CVE-2026-0001", "CVE-2026-0005", "CVE-2026-0002", "CVE-2026-0006"]
    assert decision.ignored == ()


@pytest.mark.parametrize(
    ("severity", "blocking"),
    [
        ("CRITICAL", ["CVE-2026-0001"]),
        ("critical, medium", ["CVE-2026-0001", "CVE-2026-0003"]),
        ("", []),
        ("CRITICAL,HIGH,MEDIUM,LOW,UNKNOWN", ["CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003", "CVE-2026-0004"]),
    ],
)
def test_the_threshold_is_a_set_of_severities(severity: str, blocking: list[str]) -> None:
    decision = decide(MIXED, sr.Policy(fail_on=sr.parse_severities(severity)))
    assert ids(decision.blocking) == blocking
    assert decision.passed == (not blocking)


def test_an_unknown_severity_is_refused() -> None:
    with pytest.raises(sr.ScanReportError, match=r"severity: unknown SEVERE \(known: CRITICAL, HIGH"):
        sr.parse_severities("CRITICAL,SEVERE")


def test_a_clean_report_passes_and_says_so() -> None:
    decision = decide(report([]))
    assert decision.passed
    assert sr.summary(decision, sr.Policy()) == "image 'base': scan: no findings; fails on CRITICAL,HIGH"


def test_secrets_are_findings_too_and_never_unfixed() -> None:
    decision = decide(report([], [secret()]))
    [found] = decision.blocking
    assert (found.id, found.kind, found.target) == ("aws-access-key-id", "secret", "/home/dev8/deploy.sh")
    assert found.title == "AWS Access Key ID (line 3)"


def test_the_same_finding_twice_counts_once() -> None:
    assert len(decide(report([vuln("CVE-2026-0001", "HIGH")] * 2)).blocking) == 1


def test_an_unknown_or_missing_severity_is_unknown() -> None:
    raw = vuln("CVE-2026-0009", "HIGH")
    del raw["Severity"]
    [found] = sr.parse_report(report([raw, vuln("CVE-2026-0010", "WEIRD")]))[:1]
    assert found.severity == "UNKNOWN"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "trivy.json: not JSON"),
        ('{"SchemaVersion": 1, "Results": []}', "trivy.json: SchemaVersion 1, expected 2"),
        ('{"SchemaVersion": 2, "Results": {}}', "trivy.json: Results: expected a list"),
        ('{"SchemaVersion": 2, "Results": [{"Vulnerabilities": [3]}]}', r"Results\[0\].Vulnerabilities\[\]: expected"),
    ],
)
def test_a_report_that_is_not_trivys_is_refused(text: str, message: str) -> None:
    with pytest.raises(sr.ScanReportError, match=message):
        sr.parse_report(text)


def test_a_report_without_results_has_no_findings() -> None:
    assert sr.parse_report('{"SchemaVersion": 2, "ArtifactName": "x"}') == ()


# --- .trivyignore ----------------------------------------------------------------------------

IGNORES = """\
# Header: explains the file; not a reason for anything below the blank line.

# curl's vulnerable code path (HTTP/3) is not built in Ubuntu's package
CVE-2026-0002
CVE-2026-0001 exp:2026-01-01  # expired: must block again
aws-access-key-id  # the example key of the AWS documentation, in a test fixture
"""


def test_ignore_entries_carry_their_reason_line_and_expiry() -> None:
    entries = sr.parse_ignore_file(IGNORES)
    assert entries == (
        sr.IgnoreEntry("CVE-2026-0002", "curl's vulnerable code path (HTTP/3) is not built in Ubuntu's package", 4),
        sr.IgnoreEntry("CVE-2026-0001", "expired: must block again", 5, datetime.date(2026, 1, 1)),
        sr.IgnoreEntry("aws-access-key-id", "the example key of the AWS documentation, in a test fixture", 6),
    )


def test_ignored_findings_leave_the_threshold_until_they_expire() -> None:
    policy = sr.Policy(ignores=sr.parse_ignore_file(IGNORES))
    decision = decide(report([vuln("CVE-2026-0001", "CRITICAL"), vuln("CVE-2026-0002", "HIGH")], [secret()]), policy)
    assert ids(decision.blocking) == ["CVE-2026-0001"]
    assert ids(decision.ignored) == ["CVE-2026-0002", "aws-access-key-id"]
    before_expiry = sr.decide("base", sr.parse_report(report([vuln("CVE-2026-0001", "CRITICAL")])), policy,
                              today=datetime.date(2025, 12, 31))  # fmt: skip
    assert before_expiry.passed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CVE-2026-0001\n", r"^\.trivyignore:1: CVE-2026-0001: no reason; add '# why it is safe to ignore'$"),
        ("# a reason\nCVE-1\n\nCVE-2\n", r"^\.trivyignore:4: CVE-2: no reason"),
        ("# reason\n\nCVE-3\n", r"^\.trivyignore:3: CVE-3: no reason"),  # a blank line ends the comment
        ("CVE-4 #\n", r"^\.trivyignore:1: CVE-4: no reason"),
        ("CVE-5 exp:2026-13-01 # r\n", r"^\.trivyignore:1: CVE-5: 'exp:2026-13-01' is not exp:YYYY-MM-DD$"),
        ("CVE-6 later # r\n", r"^\.trivyignore:1: CVE-6: unexpected 'later'"),
    ],
)
def test_an_entry_without_a_reason_or_with_a_bad_field_names_its_line(text: str, message: str) -> None:
    with pytest.raises(sr.ScanReportError, match=message):
        sr.parse_ignore_file(text)


def test_the_repositorys_ignore_file_is_valid() -> None:
    sr.parse_ignore_file((REPO / sr.IGNORE_FILE).read_text())


# --- what people and tools read ----------------------------------------------------------------


def test_the_summary_lists_the_blocking_findings_as_a_table() -> None:
    text = sr.summary(decide(MIXED), sr.Policy())
    lines = text.splitlines()
    assert lines[0] == (
        "image 'base': scan: 1 CRITICAL, 1 HIGH, 1 MEDIUM, 1 LOW (2 below threshold, 2 ignored); fails on CRITICAL,HIGH"
    )
    assert lines[1].split() == ["SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED", "TITLE"]
    assert lines[2].split()[:5] == ["CRITICAL", "CVE-2026-0001", "openssl", "3.0.2-0ubuntu1.10", "3.0.2-0ubuntu1.15"]
    assert lines[3].split()[:3] == ["HIGH", "CVE-2026-0002", "curl"]
    assert len(lines) == 4
    assert "Traceback" not in text


def test_a_long_summary_is_cut_and_points_to_the_full_table() -> None:
    many = report([vuln(f"CVE-2026-{i:04}", "HIGH") for i in range(30)])
    lines = sr.summary(decide(many), sr.Policy(), limit=5).splitlines()
    assert len(lines) == 1 + 1 + 5 + 1
    assert lines[-1] == "... and 25 more (see trivy.txt)"


def test_the_text_report_lists_every_finding_not_ignored() -> None:
    text = sr.text_report(decide(MIXED), sr.Policy())
    assert [line.split()[1] for line in text.splitlines()[3:]] == [
        "CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003", "CVE-2026-0004",
    ]  # fmt: skip


def test_sarif_has_what_github_code_scanning_requires() -> None:
    log = json.loads(sr.sarif(decide(MIXED), "0.74.0"))
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("Trivy", "0.74.0")
    rules = {rule["id"]: rule for rule in driver["rules"]}
    assert list(rules) == ["CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003", "CVE-2026-0004"]
    for rule in rules.values():
        assert float(rule["properties"]["security-severity"]) >= 0
        assert rule["shortDescription"]["text"]
        assert rule["helpUri"].startswith("https://")
    levels = [(r["ruleId"], r["level"]) for r in run["results"]]
    assert levels == [
        ("CVE-2026-0001", "error"), ("CVE-2026-0002", "error"), ("CVE-2026-0003", "warning"), ("CVE-2026-0004", "note"),
    ]  # fmt: skip
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"].startswith(f"base: {result['ruleId']}")
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == "base/dev8-base%20%28ubuntu%2022.04%29"
        assert location["region"]["startLine"] >= 1
    assert run["automationDetails"]["id"] == "dev8-images/base/"  # a category per image: up to the last /


def test_sarif_of_a_clean_image_has_no_results() -> None:
    [run] = json.loads(sr.sarif(decide(report([])), "0.74.0"))["runs"]
    assert run["results"] == []
    assert run["tool"]["driver"]["rules"] == []


def test_scan_junit_fails_one_case_per_blocking_finding() -> None:
    root = ET.fromstring(sr.junit_xml(decide(MIXED)))
    assert (root.get("tests"), root.get("failures")) == ("3", "2")
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert cases[0].get("name", "").startswith("scan: 1 CRITICAL")
    assert cases[0].find("failure") is None
    failed = [(c.get("name"), c.find("failure")) for c in cases[1:]]
    assert [name for name, _ in failed] == ["CVE-2026-0001 openssl", "CVE-2026-0002 curl"]
    assert all(f is not None and f.get("message", "").startswith(("CRITICAL:", "HIGH:")) for _, f in failed)


def trivy_golden(name: str) -> Path | None:
    found = sorted(Path.home().glob(f"go/pkg/mod/github.com/aquasecurity/trivy@v*/integration/testdata/{name}"))
    return found[-1] if found else None


@pytest.mark.parametrize(
    ("golden", "kind"), [("alpine-310.json.golden", "vulnerability"), ("secrets.json.golden", "secret")]
)
def test_trivys_own_json_test_reports_parse(golden: str, kind: str) -> None:
    """Trivy's integration-test reports, when its module source is on this machine (go install)."""
    path = trivy_golden(golden)
    if path is None:
        pytest.skip("Trivy's source is not in the Go module cache")
    findings = sr.parse_report(path.read_text(), golden)
    assert findings
    assert {f.kind for f in findings} == {kind}
    assert all(f.id and f.severity in sr.SEVERITIES for f in findings)
