"""Trivy JSON reports (SchemaVersion 2, as `trivy image --format json` writes them) made by the tests."""

from __future__ import annotations

import json
from typing import Any


def vuln(
    id_: str,
    severity: str,
    *,
    package: str = "openssl",
    installed: str = "3.0.2-0ubuntu1.10",
    fixed: str = "3.0.2-0ubuntu1.15",
    status: str | None = None,
) -> dict[str, Any]:
    """One entry of Results[].Vulnerabilities; the status follows the fixed version unless given."""
    found: dict[str, Any] = {
        "VulnerabilityID": id_,
        "PkgID": f"{package}@{installed}",
        "PkgName": package,
        "PkgIdentifier": {"PURL": f"pkg:deb/ubuntu/{package}@{installed}?distro=ubuntu-22.04"},
        "InstalledVersion": installed,
        "Status": status or ("fixed" if fixed else "affected"),
        "Layer": {"DiffID": "sha256:" + "0" * 64},
        "SeveritySource": "ubuntu",
        "PrimaryURL": f"https://avd.aquasec.com/nvd/{id_.lower()}",
        "Title": f"{package}: a problem ({id_})",
        "Description": "A generated finding.",
        "Severity": severity,
    }
    if fixed:
        found["FixedVersion"] = fixed
    return found


def secret(rule: str = "aws-access-key-id", severity: str = "CRITICAL", line: int = 3) -> dict[str, Any]:
    return {
        "RuleID": rule,
        "Category": "AWS",
        "Severity": severity,
        "Title": "AWS Access Key ID",
        "StartLine": line,
        "EndLine": line,
        "Match": "export AWS_ACCESS_KEY_ID=********************",
    }


def report(
    vulns: list[dict[str, Any]] | None = None,
    secrets: list[dict[str, Any]] | None = None,
    image: str = "dev8-base",
) -> str:
    """A whole report: OS packages with `vulns`, and a file with `secrets` when there are any."""
    results: list[dict[str, Any]] = [
        {"Target": f"{image} (ubuntu 22.04)", "Class": "os-pkgs", "Type": "ubuntu", "Vulnerabilities": vulns or []}
    ]
    if secrets:
        results.append({"Target": "/home/dev8/deploy.sh", "Class": "secret", "Secrets": secrets})
    document = {
        "SchemaVersion": 2,
        "Trivy": {"Version": "0.74.0"},
        "CreatedAt": "2026-11-27T12:00:00Z",
        "ArtifactName": "/scan/image.tar",
        "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "ubuntu", "Name": "22.04"}, "ImageID": "sha256:" + "1" * 64},
        "Results": results,
    }
    return json.dumps(document, indent=2)
