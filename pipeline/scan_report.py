"""Trivy's JSON report (SchemaVersion 2) judged against the scan policy, engine-free.

The policy: severities that fail the build, ignore-unfixed, and `.trivyignore` entries, each with a
reason. Trivy gets the same settings; applying them here again makes the decision testable without
Trivy and keeps the summary, SARIF and JUnit output consistent with it.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Final, cast

SEVERITIES: Final = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
DEFAULT_FAIL_ON: Final = "CRITICAL,HIGH"
IGNORE_FILE: Final = ".trivyignore"
_SARIF_LEVEL: Final = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning", "LOW": "note", "UNKNOWN": "note"}
_SCORE: Final = {"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "2.0", "UNKNOWN": "0.0"}


class ScanReportError(ValueError):
    """A Trivy report or ignore file that cannot be used; the message names the file and line."""


@dataclasses.dataclass(frozen=True)
class Finding:
    id: str
    kind: str  # "vulnerability" or "secret"
    severity: str
    target: str  # what Trivy scanned: an OS package set, a lock file, a file with a secret
    package: str = ""
    installed: str = ""
    fixed: str = ""
    status: str = ""
    title: str = ""
    url: str = ""

    @property
    def has_fix(self) -> bool:
        return self.status == "fixed" or (not self.status and bool(self.fixed))


@dataclasses.dataclass(frozen=True)
class IgnoreEntry:
    id: str
    reason: str
    line: int
    expires: datetime.date | None = None


@dataclasses.dataclass(frozen=True)
class Policy:
    fail_on: tuple[str, ...] = ("CRITICAL", "HIGH")
    ignore_unfixed: bool = True
    ignores: tuple[IgnoreEntry, ...] = ()


@dataclasses.dataclass(frozen=True)
class Decision:
    image: str
    blocking: tuple[Finding, ...]  # at or above the threshold: these fail the build
    reported: tuple[Finding, ...]  # below the threshold, still in the reports
    ignored: tuple[Finding, ...]  # by .trivyignore or ignore-unfixed

    @property
    def passed(self) -> bool:
        return not self.blocking

    def counts(self) -> str:
        """`2 CRITICAL, 1 HIGH (3 below threshold, 4 ignored)`, or `no findings`."""
        found = [*self.blocking, *self.reported]
        by = [f"{sum(f.severity == s for f in found)} {s}" for s in SEVERITIES if any(f.severity == s for f in found)]
        extra = [f"{len(self.reported)} below threshold"] if self.reported else []
        extra += [f"{len(self.ignored)} ignored"] if self.ignored else []
        text = ", ".join(by) or "no findings"
        return f"{text} ({', '.join(extra)})" if extra else text


def parse_severities(text: str) -> tuple[str, ...]:
    """`CRITICAL,high` -> ("CRITICAL", "HIGH"); empty means nothing fails the build."""
    names = tuple(s.strip().upper() for s in text.split(",") if s.strip())
    unknown = [s for s in names if s not in SEVERITIES]
    if unknown:
        raise ScanReportError(f"severity: unknown {', '.join(unknown)} (known: {', '.join(SEVERITIES)})")
    return names


def parse_ignore_file(text: str, source: str = IGNORE_FILE) -> tuple[IgnoreEntry, ...]:
    """Entries of a .trivyignore; each needs a `# reason`, on its line or in the comment just above."""
    entries: list[IgnoreEntry] = []
    comment: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            comment = []
            continue
        if line.startswith("#"):
            comment.append(line.lstrip("#").strip())
            continue
        fields, _, trailing = line.partition("#")
        id_, *rest = fields.split()
        reason = trailing.strip() or " ".join(c for c in comment if c)
        comment = []
        if not reason:
            raise ScanReportError(f"{source}:{number}: {id_}: no reason; add '# why it is safe to ignore'")
        expires: datetime.date | None = None
        for field in rest:
            if not field.startswith("exp:"):
                raise ScanReportError(f"{source}:{number}: {id_}: unexpected {field!r} (only exp:YYYY-MM-DD)")
            try:
                expires = datetime.date.fromisoformat(field.removeprefix("exp:"))
            except ValueError:
                raise ScanReportError(f"{source}:{number}: {id_}: {field!r} is not exp:YYYY-MM-DD") from None
        entries.append(IgnoreEntry(id_, reason, number, expires))
    return tuple(entries)


def parse_report(text: str, source: str = "trivy.json") -> tuple[Finding, ...]:
    """The vulnerabilities and secrets of a Trivy JSON report."""
    try:
        data: object = json.loads(text)
    except json.JSONDecodeError as e:
        raise ScanReportError(f"{source}: not JSON: {e}") from None
    report = _mapping(data, source)
    if report.get("SchemaVersion") != 2:
        raise ScanReportError(f"{source}: SchemaVersion {report.get('SchemaVersion')!r}, expected 2")
    findings: list[Finding] = []
    for index, raw_result in enumerate(_list(report.get("Results"), f"{source}: Results")):
        result = _mapping(raw_result, f"{source}: Results[{index}]")
        target = str(result.get("Target", ""))
        for raw in _list(result.get("Vulnerabilities"), f"{source}: Results[{index}].Vulnerabilities"):
            v = _mapping(raw, f"{source}: Results[{index}].Vulnerabilities[]")
            findings.append(
                Finding(
                    id=str(v.get("VulnerabilityID", "")),
                    kind="vulnerability",
                    severity=_severity(v),
                    target=target,
                    package=str(v.get("PkgName", "")),
                    installed=str(v.get("InstalledVersion", "")),
                    fixed=str(v.get("FixedVersion", "")),
                    status=str(v.get("Status", "")),
                    title=str(v.get("Title", "")),
                    url=str(v.get("PrimaryURL", "")),
                )
            )
        for raw in _list(result.get("Secrets"), f"{source}: Results[{index}].Secrets"):
            s = _mapping(raw, f"{source}: Results[{index}].Secrets[]")
            line = f"line {s.get('StartLine', '?')}"
            findings.append(
                Finding(
                    str(s.get("RuleID", "")), "secret", _severity(s), target, title=f"{s.get('Title', '')} ({line})"
                )
            )
    return tuple(findings)


def decide(image: str, findings: Sequence[Finding], policy: Policy, today: datetime.date | None = None) -> Decision:
    """Split findings into blocking, below the threshold and ignored."""
    today = today or datetime.date.today()
    ignored_ids = {e.id for e in policy.ignores if e.expires is None or e.expires >= today}
    blocking: list[Finding] = []
    reported: list[Finding] = []
    ignored: list[Finding] = []
    for finding in _unique(findings):
        unfixed = policy.ignore_unfixed and finding.kind == "vulnerability" and not finding.has_fix
        if finding.id in ignored_ids or unfixed:
            ignored.append(finding)
        elif finding.severity in policy.fail_on:
            blocking.append(finding)
        else:
            reported.append(finding)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    blocking.sort(key=lambda f: (order[f.severity], f.id, f.package))
    reported.sort(key=lambda f: (order[f.severity], f.id, f.package))
    return Decision(image, tuple(blocking), tuple(reported), tuple(ignored))


def summary(decision: Decision, policy: Policy, limit: int = 20) -> str:
    """What a person reads when the scan fails: the counts and the blocking findings."""
    head = headline(decision, policy)
    if decision.passed:
        return head
    lines = [head, *table(decision.blocking[:limit]).splitlines()]
    if len(decision.blocking) > limit:
        lines.append(f"... and {len(decision.blocking) - limit} more (see trivy.txt)")
    return "\n".join(lines)


def headline(decision: Decision, policy: Policy) -> str:
    """One line: the image, the counts and the threshold."""
    threshold = ",".join(policy.fail_on) or "none"
    return f"image '{decision.image}': scan: {decision.counts()}; fails on {threshold}"


def table(findings: Sequence[Finding]) -> str:
    """Findings as an aligned text table, for people."""
    rows = [("SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED", "TITLE")]
    rows += [(f.severity, f.id, f.package or f.target, f.installed, f.fixed, f.title[:60]) for f in findings]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def text_report(decision: Decision, policy: Policy) -> str:
    """trivy.txt: the summary line, then every finding that is not ignored."""
    found = (*decision.blocking, *decision.reported)
    return f"{headline(decision, policy)}\n\n{table(found) if found else ''}\n"


def sarif(decision: Decision, tool_version: str) -> str:
    """SARIF 2.1.0 for GitHub code scanning: one rule per ID, one result per finding not ignored."""
    found = (*decision.blocking, *decision.reported)
    rules: dict[str, dict[str, object]] = {}
    results: list[dict[str, object]] = []
    for f in found:
        rules.setdefault(
            f.id,
            {
                "id": f.id,
                "name": f.kind,
                "shortDescription": {"text": f.title or f.id},
                "helpUri": f.url or f"https://avd.aquasec.com/nvd/{f.id.lower()}",
                "properties": {"security-severity": _SCORE[f.severity], "tags": [f.kind, "security", f.severity]},
            },
        )
        what = f"Package: {f.package}\nInstalled: {f.installed}\nFixed: {f.fixed or 'none'}" if f.package else f.title
        results.append(
            {
                "ruleId": f.id,
                "ruleIndex": list(rules).index(f.id),
                "level": _SARIF_LEVEL[f.severity],
                "message": {"text": f"{decision.image}: {f.id} ({f.severity})\n{what}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(decision.image, f.target), "uriBaseId": "ROOTPATH"},
                            "region": {"startLine": 1},
                        }
                    }
                ],
            }
        )
    driver = {
        "name": "Trivy",
        "fullName": "Trivy Vulnerability Scanner",
        "version": tool_version,
        "informationUri": "https://github.com/aquasecurity/trivy",
    }
    log = {
        "version": "2.1.0",
        "$schema": "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/main/sarif-2.1/schema/sarif-schema-2.1.0.json",
        "runs": [
            {
                "tool": {"driver": {**driver, "rules": list(rules.values())}},
                "results": results,
                "automationDetails": {"id": f"dev8-images/{decision.image}/"},
                "originalUriBaseIds": {"ROOTPATH": {"uri": "file:///"}},
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def junit_xml(decision: Decision) -> str:
    """One test case per blocking finding (failed) and one for the scan as a whole."""
    root = ET.Element("testsuites", name="trivy", tests=str(1 + len(decision.blocking)))
    root.set("failures", str(len(decision.blocking)))
    suite = ET.SubElement(root, "testsuite", name=f"{decision.image}: trivy", tests=root.get("tests", "1"))
    suite.set("failures", root.get("failures", "0"))
    suite.set("errors", "0")
    ET.SubElement(suite, "testcase", classname=f"{decision.image}.scan", name=f"scan: {decision.counts()}")
    for f in decision.blocking:
        case = ET.SubElement(suite, "testcase", classname=f"{decision.image}.scan", name=f"{f.id} {f.package}".strip())
        failure = ET.SubElement(case, "failure", message=f"{f.severity}: {f.title or f.id}")
        failure.text = f"{f.target}: {f.package} {f.installed} (fixed in {f.fixed or 'none'})"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _uri(image: str, target: str) -> str:
    """A relative URI for the finding's target: `base/dev8-base%20%28ubuntu%2022.04%29`."""
    return urllib.parse.quote(f"{image}/{target.lstrip('/')}", safe="/")


def _unique(findings: Sequence[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, str, str]] = set()
    out: list[Finding] = []
    for f in findings:
        key = (f.id, f.target, f.package, f.installed)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _severity(raw: Mapping[str, object]) -> str:
    severity = str(raw.get("Severity") or "UNKNOWN").upper()
    return severity if severity in SEVERITIES else "UNKNOWN"


def _mapping(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ScanReportError(f"{where}: expected an object")
    return cast(dict[str, object], value)


def _list(value: object, where: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ScanReportError(f"{where}: expected a list")
    return cast(list[object], value)
