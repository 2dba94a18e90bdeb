"""Trivy JSON reports (SchemaVersion 2, as `trivy image --format json` writes them) made by the tests,
and the pipeline's `trivy convert` commands run on them with this machine's Trivy."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pipeline.scan import IGNORE_PATH, JUNIT_TEMPLATE, OUT, TRIVY_IMAGE
from tests.support.podman import CACHE_DIR


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


def local_trivy() -> str | None:
    """This machine's Trivy (.ci/run builds it into $DEV8_CACHE_DIR/bin), if any."""
    found = shutil.which("trivy") or str(CACHE_DIR / "bin/trivy")
    return found if os.access(found, os.X_OK) else None


def local_junit_template() -> Path | None:
    """Trivy's contrib/junit.tpl from its source in the Go module cache (where `go install` put it):
    the file the official image has at /contrib/junit.tpl."""
    version = TRIVY_IMAGE.rsplit(":", 1)[-1]
    modcache = os.environ.get("GOMODCACHE") or str(Path(os.environ.get("GOPATH") or Path.home() / "go") / "pkg/mod")
    found = Path(modcache) / f"github.com/aquasecurity/trivy@v{version}/contrib/junit.tpl"
    return found if found.is_file() else None


@dataclasses.dataclass(frozen=True)
class Converted:
    """What a run of `trivy convert` commands left: the files written, and the last command's result."""

    files: dict[str, str]
    exit_code: int
    stdout: str
    stderr: str


def convert(report_json: str, argvs: list[list[str]], ignore_file: Path | None) -> Converted:
    """Run the pipeline's `trivy convert` commands (argv[0] is "trivy") with this machine's Trivy on
    `report_json` as the scan's REPORT, their container paths mapped to a temporary directory."""
    trivy, template = local_trivy(), local_junit_template()
    if trivy is None or template is None:
        raise RuntimeError("trivy and its source are not installed: bash .ci/run builds them")
    with tempfile.TemporaryDirectory(prefix="dev8-trivy-") as tmp:
        out = Path(tmp) / "out"
        out.mkdir()
        (out / "trivy.json").write_text(report_json)
        paths = {f"{OUT}/": f"{out}/", IGNORE_PATH: str(ignore_file), f"@{JUNIT_TEMPLATE}": f"@{template}"}

        def local(arg: str) -> str:
            return next((arg.replace(a, b, 1) for a, b in paths.items() if arg.startswith(a)), arg)

        ran = subprocess.CompletedProcess[str]([], 0, "", "")
        for argv in argvs:
            if ran.returncode:
                raise RuntimeError(f"{' '.join(ran.args)} exited {ran.returncode}: {ran.stderr.strip()}")
            ran = subprocess.run([trivy, *map(local, argv[1:]), "--quiet"], capture_output=True, text=True, check=False)
        files = {path.name: path.read_text() for path in out.iterdir() if path.name != "trivy.json"}
    return Converted(files, ran.returncode, ran.stdout, ran.stderr)
