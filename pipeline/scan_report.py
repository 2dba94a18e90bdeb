"""What the project adds to Trivy's own reports, engine-free: the rule that every accepted finding in
`.trivyignore.yaml` says why, the per-image counts for summary.md, and a code-scanning category per
image in the SARIF. Filtering, the threshold, ignore expiry and every report format are Trivy's
(`trivy convert`, see pipeline/scan.py).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections import Counter
from typing import Final, cast

import yaml

from pipeline.catalog import kind_of

SEVERITIES: Final = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
DEFAULT_FAIL_ON: Final = "CRITICAL,HIGH"
IGNORE_FILE: Final = ".trivyignore.yaml"
# Trivy's .trivyignore.yaml: finding kinds, and the keys of an entry (pkg/result/ignore.go).
_IGNORE_KINDS: Final = ("vulnerabilities", "misconfigurations", "secrets", "licenses")
_ENTRY_KEYS: Final = ("id", "paths", "purls", "expired_at", "statement")
_FINDING_KEYS: Final = ("Vulnerabilities", "Secrets", "Misconfigurations", "Licenses")
_TABLE_LINES: Final = 60


class ScanReportError(ValueError):
    """An ignore file, severity list or Trivy report that cannot be used; the message names it."""


SCANNERS: Final = ("vuln", "secret")


@dataclasses.dataclass(frozen=True)
class Policy:
    fail_on: tuple[str, ...] = ("CRITICAL", "HIGH")
    ignore_unfixed: bool = True
    # Trivy's scanners; without `vuln` no vulnerability database is needed (an air-gapped runner).
    scanners: tuple[str, ...] = SCANNERS

    def threshold(self) -> str:
        return ",".join(self.fail_on) or "none"

    @property
    def needs_database(self) -> bool:
        return "vuln" in self.scanners


def parse_scanners(text: str) -> tuple[str, ...]:
    """`vuln,secret` -> ("vuln", "secret"): at least one, each one Trivy's image scan runs here."""
    names = tuple(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))
    unknown = [s for s in names if s not in SCANNERS]
    if unknown or not names:
        raise ScanReportError(f"scanners: {text!r}: give one or more of {', '.join(SCANNERS)}")
    return names


def parse_severities(text: str) -> tuple[str, ...]:
    """`CRITICAL,high` -> ("CRITICAL", "HIGH"); empty means nothing fails the scan."""
    names = tuple(s.strip().upper() for s in text.split(",") if s.strip())
    unknown = [s for s in names if s not in SEVERITIES]
    if unknown:
        raise ScanReportError(f"severity: unknown {', '.join(unknown)} (known: {', '.join(SEVERITIES)})")
    return names


def check_ignore_file(text: str, source: str = IGNORE_FILE) -> int:
    """Check a .trivyignore.yaml as Trivy reads it, plus this project's rule: every entry has a
    `statement` saying why it is safe to ignore. Trivy skips keys it does not know (a misspelt
    `expired_at` would ignore a finding for ever), so they are refused here. Returns the entry count."""
    try:
        data: object = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ScanReportError(f"{source}: not valid YAML: {e}") from None
    if data is None:
        return 0
    if not isinstance(data, dict):
        raise ScanReportError(f"{source}: expected a mapping of {', '.join(_IGNORE_KINDS)}, got {kind_of(data)}")
    count = 0
    for kind, entries in cast(dict[object, object], data).items():
        if kind not in _IGNORE_KINDS:
            raise ScanReportError(f"{source}: {kind}: unknown key (known: {', '.join(_IGNORE_KINDS)})")
        if not isinstance(entries, list):
            raise ScanReportError(f"{source}: {kind}: expected a list of entries, got {kind_of(entries)}")
        for index, entry in enumerate(cast(list[object], entries)):
            _check_entry(entry, f"{source}: {kind}[{index}]")
            count += 1
    return count


def _check_entry(entry: object, where: str) -> None:
    if not isinstance(entry, dict):
        raise ScanReportError(f"{where}: expected a mapping with id and statement, got {kind_of(entry)}")
    fields = cast(dict[object, object], entry)
    id_ = fields.get("id")
    if not isinstance(id_, str) or not id_.strip():
        raise ScanReportError(f"{where}: id: required, the finding's ID (CVE-..., a secret rule)")
    where = f"{where} ({id_})"
    for key in fields:
        if key not in _ENTRY_KEYS:
            raise ScanReportError(f"{where}: {key}: unknown key (known: {', '.join(_ENTRY_KEYS)})")
    statement = fields.get("statement")
    if not isinstance(statement, str) or not statement.strip():
        raise ScanReportError(f"{where}: no statement; add 'statement: <why it is safe to ignore>'")
    expired_at = fields.get("expired_at")
    if expired_at is not None and not isinstance(expired_at, datetime.date):
        raise ScanReportError(f"{where}: expired_at: {expired_at!r} is not a date (YYYY-MM-DD, unquoted)")
    for key in ("paths", "purls"):
        value = fields.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in cast(list[object], value))
        ):
            raise ScanReportError(f"{where}: {key}: expected a list of strings")


@dataclasses.dataclass(frozen=True)
class Counts:
    """Findings Trivy kept (by severity) and the ones the ignore file suppressed."""

    by_severity: dict[str, int]
    ignored: int

    def text(self) -> str:
        """`1 CRITICAL, 2 MEDIUM (3 ignored)`, or `no findings`."""
        found = ", ".join(f"{self.by_severity[s]} {s}" for s in SEVERITIES if self.by_severity.get(s))
        text = found or "no findings"
        return f"{text} ({self.ignored} ignored)" if self.ignored else text


def counts(text: str, source: str = "findings.json") -> Counts:
    """Count a Trivy JSON report written by `trivy convert --format json --show-suppressed`."""
    try:
        report: object = json.loads(text)
    except json.JSONDecodeError as e:
        raise ScanReportError(f"{source}: not JSON: {e}") from None
    if not isinstance(report, dict) or cast(dict[str, object], report).get("SchemaVersion") != 2:
        raise ScanReportError(f"{source}: not a Trivy JSON report (SchemaVersion 2)")
    by_severity: Counter[str] = Counter()
    ignored = 0
    for result in _objects(cast(dict[str, object], report).get("Results")):
        for key in _FINDING_KEYS:
            by_severity.update(str(f.get("Severity") or "UNKNOWN") for f in _objects(result.get(key)))
        ignored += len(_objects(result.get("ExperimentalModifiedFindings")))
    return Counts(dict(by_severity), ignored)


def headline(image: str, found: Counts, policy: Policy) -> str:
    """One line: the image, the counts and the threshold (and what was not scanned)."""
    scope = "" if policy.scanners == SCANNERS else f" ({' and '.join(policy.scanners)} only)"
    return f"image '{image}': scan: {found.text()}; fails on {policy.threshold()}{scope}"


def summary(image: str, found: Counts, policy: Policy, blocking_table: str = "") -> str:
    """The headline, then Trivy's table of the findings that fail the scan (cut after a screenful)."""
    lines = blocking_table.strip("\n").splitlines()
    if len(lines) > _TABLE_LINES:
        lines = [*lines[:_TABLE_LINES], f"... {len(lines) - _TABLE_LINES} more lines (see trivy.txt)"]
    return "\n".join([headline(image, found, policy), *lines])


def with_category(sarif: str, image: str) -> str:
    """Trivy's SARIF with a code-scanning category per image (runs[].automationDetails.id): GitHub
    takes one analysis per tool and category, and every image's SARIF comes from the same tool."""
    log = cast(dict[str, object], json.loads(sarif))
    for run in _objects(log.get("runs")):
        run["automationDetails"] = {"id": f"dev8-images/{image}/"}
    return json.dumps(log, indent=2) + "\n"


def _objects(value: object) -> list[dict[str, object]]:
    items = cast(list[object], value) if isinstance(value, list) else []
    return [cast(dict[str, object], item) for item in items if isinstance(item, dict)]
