"""Trivy in a pinned container over an image's OCI tarball: vulnerabilities and secrets, and SBOMs.

The vulnerability and Java databases live in a cache volume and are downloaded by one step that
every scan of a run shares, so a run downloads them once; the scans then open them read-only in
parallel, each with its own in-memory scan cache.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Final, cast

import dagger
from dagger import dag

from pipeline.caches import Cache, mount

TRIVY_IMAGE: Final = os.environ.get("DEV8_TRIVY_IMAGE", "aquasec/trivy:0.74.0")
# In order of priority, comma-separated: ghcr.io/aquasecurity is rate-limited, Google's mirror is not.
DB_REPOSITORY: Final = "mirror.gcr.io/aquasec/trivy-db:2,ghcr.io/aquasecurity/trivy-db:2"
JAVA_DB_REPOSITORY: Final = "mirror.gcr.io/aquasec/trivy-java-db:1,ghcr.io/aquasecurity/trivy-java-db:1"
TRIVY_CACHES: Final = (Cache("dev8-trivy-cache", "/root/.cache/trivy", locked=False),)
IMAGE_TAR: Final = "/scan/image.tar"
LAYOUT: Final = "/scan/image"
IGNORE_PATH: Final = "/scan/.trivyignore"
OUT: Final = "/out"


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


def scan_argv(layout: str, output: str, ignore_unfixed: bool, ignore_file: str | None) -> list[str]:
    """Trivy's command for a JSON report of vulnerabilities and secrets, every severity, of an OCI layout."""
    argv = [
        "trivy", "image", "--input", layout, "--scanners", "vuln,secret",
        "--skip-db-update", "--skip-java-db-update", "--cache-backend", "memory",
        "--format", "json", "--output", output, "--exit-code", "0",
    ]  # fmt: skip
    argv += ["--ignore-unfixed"] if ignore_unfixed else []
    return argv + (["--ignorefile", ignore_file] if ignore_file else [])


def sbom_argv(layout: str, output: str) -> list[str]:
    """Trivy's command for a CycloneDX SBOM of an OCI layout: a package inventory. It needs no vulnerability
    database, and the Java one (for jar files without their Maven coordinates) is in the cache already."""
    return [
        "trivy", "image", "--input", layout, "--skip-db-update", "--skip-java-db-update",
        "--cache-backend", "memory", "--format", "cyclonedx", "--output", output,
    ]  # fmt: skip


def unpacked(argv: list[str]) -> list[str]:
    """Unpack the image tarball into an OCI layout directory first, then run argv: Trivy's --input reads
    a layout directory or a Docker archive (manifest.json), and an OCI tarball is neither."""
    script = f'mkdir -p {LAYOUT} && tar -xf {IMAGE_TAR} -C {LAYOUT} && exec "$@"'
    return ["sh", "-c", script, "sh", *argv]


def scan(
    db: dagger.Container, tarball: dagger.File, ignore_file: dagger.File | None, ignore_unfixed: bool
) -> dagger.File:
    """Trivy's JSON report of an image tarball."""
    ctr = db.with_mounted_file(IMAGE_TAR, tarball).with_directory(OUT, dag.directory())
    if ignore_file is not None:
        ctr = ctr.with_mounted_file(IGNORE_PATH, ignore_file)
    argv = scan_argv(LAYOUT, f"{OUT}/trivy.json", ignore_unfixed, IGNORE_PATH if ignore_file else None)
    return ctr.with_exec(unpacked(argv)).file(f"{OUT}/trivy.json")


def sbom(db: dagger.Container, tarball: dagger.File) -> dagger.File:
    """A CycloneDX SBOM (JSON) of an image tarball, in the container that has the databases."""
    ran = db.with_mounted_file(IMAGE_TAR, tarball).with_directory(OUT, dag.directory())
    return ran.with_exec(unpacked(sbom_argv(LAYOUT, f"{OUT}/sbom.cdx.json"))).file(f"{OUT}/sbom.cdx.json")


def index(ctr: dagger.Container, tarball: dagger.File) -> dagger.Container:
    """Print the tarball's OCI index.json, which names the image manifest's digest."""
    return ctr.with_mounted_file(IMAGE_TAR, tarball).with_exec(["tar", "-xOf", IMAGE_TAR, "index.json"])


def manifest_digest(index_json: str) -> str:
    """The first manifest's digest in an OCI image index."""
    manifests = cast(dict[str, list[dict[str, str]]], json.loads(index_json)).get("manifests") or [{}]
    return manifests[0].get("digest", "")


def tool_version(image: str) -> str:
    """aquasec/trivy:0.74.0 -> 0.74.0 (the image reference, when it is pinned by digest)."""
    tag = image.rsplit("@", 1)[0]
    return tag.rsplit(":", 1)[1] if ":" in tag.rsplit("/", 1)[-1] else image
