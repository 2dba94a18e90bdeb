"""What the project adds to Trivy's reports, without Trivy: the ignore file's rule (every entry says
why), the severity list, the per-image counts and summary, the SARIF category per image, and the
Trivy commands the scan runs. Trivy's own behaviour on them: tests/test_trivy_real.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import scan
from pipeline import scan_report as sr

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "severities"),
    [("CRITICAL,HIGH", ("CRITICAL", "HIGH")), ("critical, medium", ("CRITICAL", "MEDIUM")), ("", ())],
)
def test_severities_are_a_list_of_trivys_names(text: str, severities: tuple[str, ...]) -> None:
    assert sr.parse_severities(text) == severities


def test_an_unknown_severity_is_refused() -> None:
    with pytest.raises(sr.ScanReportError, match=r"severity: unknown SEVERE \(known: CRITICAL, HIGH"):
        sr.parse_severities("CRITICAL,SEVERE")


# --- .trivyignore.yaml -----------------------------------------------------------------------

IGNORES = """\
vulnerabilities:
  - id: CVE-2026-0002
    statement: curl's vulnerable code path (HTTP/3) is not built in Ubuntu's package
    expired_at: 2027-01-31
  - id: CVE-2026-0003
    paths: ["usr/lib/node_modules/**"]
    purls: ["pkg:npm/lodash@4.17.20"]
    statement: only in the documentation's examples
secrets:
  - id: aws-access-key-id
    statement: the example key of the AWS documentation, in a test fixture
"""


def test_an_ignore_file_with_a_statement_for_every_entry_passes() -> None:
    assert sr.check_ignore_file(IGNORES) == 3
    assert sr.check_ignore_file("") == 0
    assert sr.check_ignore_file("vulnerabilities: []\n") == 0


def test_the_repositorys_ignore_file_is_valid() -> None:
    sr.check_ignore_file((REPO / sr.IGNORE_FILE).read_text(), sr.IGNORE_FILE)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "vulnerabilities:\n  - id: CVE-1\n    statement: fine\n  - id: CVE-2\n",
            r"^\.trivyignore\.yaml: vulnerabilities\[1\] \(CVE-2\): no statement; "
            r"add 'statement: <why it is safe to ignore>'$",
        ),
        ("secrets:\n  - {id: rule, statement: '  '}\n", r"^\.trivyignore\.yaml: secrets\[0\] \(rule\): no statement"),
        (
            "vulnerabilities:\n  - {id: CVE-1, statement: s, expires: 2026-01-01}\n",
            r"^\.trivyignore\.yaml: vulnerabilities\[0\] \(CVE-1\): expires: unknown key "
            r"\(known: id, paths, purls, expired_at, statement\)$",
        ),
        (
            "vulnerabilities:\n  - {id: CVE-1, statement: s, expired_at: soon}\n",
            r"^\.trivyignore\.yaml: vulnerabilities\[0\] \(CVE-1\): expired_at: 'soon' is not a date "
            r"\(YYYY-MM-DD, unquoted\)$",
        ),
        (  # Trivy itself refuses a quoted date (yaml decode error)
            "vulnerabilities:\n  - {id: CVE-1, statement: s, expired_at: '2026-01-01'}\n",
            r"\(CVE-1\): expired_at: '2026-01-01' is not a date \(YYYY-MM-DD, unquoted\)$",
        ),
        (
            "vulnerabilities:\n  - {id: CVE-1, statement: s, paths: usr/lib}\n",
            r"vulnerabilities\[0\] \(CVE-1\): paths: expected a list of strings$",
        ),
        ("vulnerabilities:\n  - statement: s\n", r"^\.trivyignore\.yaml: vulnerabilities\[0\]: id: required"),
        ("vulnerabilities:\n  - CVE-1\n", r"vulnerabilities\[0\]: expected a mapping with id and statement"),
        ("vulnerability: []\n", r"^\.trivyignore\.yaml: vulnerability: unknown key \(known: vulnerabilities,"),
        ("secrets: {id: x}\n", r"^\.trivyignore\.yaml: secrets: expected a list of entries, got a mapping$"),
        ("- CVE-1\n", r"^\.trivyignore\.yaml: expected a mapping of vulnerabilities, .*, got a list$"),
        ("a: [\n", r"^\.trivyignore\.yaml: not valid YAML"),
    ],
)
def test_an_ignore_file_is_refused_naming_the_file_and_entry(text: str, message: str) -> None:
    with pytest.raises(sr.ScanReportError, match=message):
        sr.check_ignore_file(text)


# --- counts and the summary --------------------------------------------------------------------


def findings_json(*results: dict[str, object]) -> str:
    """A report as `trivy convert --format json --show-suppressed` writes it (the keys counted)."""
    return json.dumps({"SchemaVersion": 2, "ArtifactName": "/scan/image", "Results": list(results)})


def test_counts_are_by_severity_over_every_kind_of_finding_with_the_suppressed_apart() -> None:
    text = findings_json(
        {
            "Target": "debian",
            "Vulnerabilities": [{"Severity": "CRITICAL"}, {"Severity": "MEDIUM"}, {"Severity": "MEDIUM"}],
            "ExperimentalModifiedFindings": [{"Status": "ignored"}],
        },
        {"Target": "deploy.sh", "Secrets": [{"Severity": "CRITICAL"}]},
        {"Target": "empty"},
    )
    found = sr.counts(text)
    assert found == sr.Counts({"CRITICAL": 2, "MEDIUM": 2}, ignored=1)
    assert found.text() == "2 CRITICAL, 2 MEDIUM (1 ignored)"
    assert sr.counts(findings_json()).text() == "no findings"


@pytest.mark.parametrize(("text", "message"), [("{", "not JSON"), ('{"SchemaVersion": 1}', "not a Trivy JSON report")])
def test_a_report_that_is_not_trivys_is_refused(text: str, message: str) -> None:
    with pytest.raises(sr.ScanReportError, match=f"^base/findings.json: {message}"):
        sr.counts(text, "base/findings.json")


def test_the_summary_is_the_counts_then_trivys_table_cut_after_a_screenful() -> None:
    found = sr.Counts({"HIGH": 1}, ignored=0)
    policy = sr.Policy(("CRITICAL", "HIGH"))
    assert sr.summary("base", found, policy) == "image 'base': scan: 1 HIGH; fails on CRITICAL,HIGH"
    table = "\n" + "\n".join(f"row {i}" for i in range(100)) + "\n"
    lines = sr.summary("base", found, policy, table).splitlines()
    assert lines[1:3] == ["row 0", "row 1"]
    assert lines[-1] == "... 40 more lines (see trivy.txt)"
    assert len(lines) == 1 + 60 + 1
    assert sr.headline("base", sr.Counts({}, 0), sr.Policy(())) == "image 'base': scan: no findings; fails on none"


def test_each_images_sarif_gets_its_own_code_scanning_category() -> None:
    sarif = json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Trivy"}}, "results": []}]})
    log = json.loads(sr.with_category(sarif, "base"))
    assert log["runs"][0]["automationDetails"] == {"id": "dev8-images/base/"}
    assert log["runs"][0]["tool"] == {"driver": {"name": "Trivy"}}


# --- the Trivy commands ------------------------------------------------------------------------


def test_one_scan_per_image_every_severity_every_package() -> None:
    argv = scan.scan_argv("/scan/image", "/out/trivy.json", sr.Policy())
    assert argv[:4] == ["trivy", "image", "--input", "/scan/image"]
    assert argv[argv.index("--scanners") + 1] == "vuln,secret"
    assert {"--list-all-pkgs", "--ignore-unfixed", "--skip-db-update", "--skip-java-db-update"} <= set(argv)
    assert "--severity" not in argv
    assert "--ignorefile" not in argv
    unfixed = scan.scan_argv("/scan/image", "/out/trivy.json", sr.Policy(ignore_unfixed=False))
    assert "--ignore-unfixed" not in unfixed


def test_an_air_gapped_scan_runs_the_secret_scanner_alone() -> None:
    policy = sr.Policy(scanners=sr.parse_scanners("secret"))
    argv = scan.scan_argv("/scan/image", "/out/trivy.json", policy)
    assert argv[argv.index("--scanners") + 1] == "secret"
    assert not policy.needs_database
    assert sr.headline("base", sr.Counts({}, 0), policy).endswith("fails on CRITICAL,HIGH (secret only)")
    with pytest.raises(sr.ScanReportError, match=r"^scanners: 'vuln,misconfig': give one or more of vuln, secret"):
        sr.parse_scanners("vuln,misconfig")


def test_every_report_is_converted_from_the_scan_and_the_gate_is_trivys_exit_code() -> None:
    policy = sr.Policy(("CRITICAL", "HIGH"))
    argvs = scan.report_argvs("/out/trivy.json", "/out", policy, "/scan/.trivyignore.yaml")
    assert list(argvs) == ["trivy.sarif", "trivy.txt", "trivy-junit.xml", "findings.json"]
    for file, argv in argvs.items():
        assert argv[:2] == ["trivy", "convert"]
        assert argv[-1] == "/out/trivy.json"
        assert argv[argv.index("--output") + 1] == f"/out/{file}"
        assert argv[argv.index("--ignorefile") + 1] == "/scan/.trivyignore.yaml"
    junit = argvs["trivy-junit.xml"]
    assert junit[junit.index("--template") + 1] == "@/contrib/junit.tpl"
    assert junit[junit.index("--severity") + 1] == "CRITICAL,HIGH"
    assert "--severity" not in argvs["trivy.sarif"]  # SARIF and the table list every finding not ignored
    gate = scan.gate_argv("/out/trivy.json", policy, None)
    assert gate[gate.index("--severity") + 1] == "CRITICAL,HIGH"
    assert gate[gate.index("--exit-code") + 1] == str(scan.FINDINGS_EXIT)
    assert "--ignorefile" not in gate
    assert "--output" not in gate  # its table is the failure's summary
