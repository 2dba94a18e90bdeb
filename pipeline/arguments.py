"""The module's argument types: each with the documentation the CLI shows for it."""

from __future__ import annotations

from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore

from pipeline import source

Source = Annotated[
    dagger.Directory,
    Doc("The repository root: the image catalog, its features and the supervisor's source"),
    DefaultPath("/"),
    Ignore(source.INCLUDE_ONLY),
]
ImageName = Annotated[str, Doc("Image name in docker/images.yaml")]
Options = Annotated[list[str] | None, Doc("Feature options as feature.option=value, e.g. github-cli.source=distro")]
Images = Annotated[list[str] | None, Doc("Images to include; empty: the whole catalog")]
ReuseFrom = Annotated[
    str,
    Doc("Registry and namespace whose dev8-<image>:features-<digest> and dev8-go-caches tags are reused; empty: none"),
]
Severity = Annotated[str, Doc("Severities that fail the scan, comma-separated; empty: none fails")]
IgnoreUnfixed = Annotated[bool, Doc("Leave out vulnerabilities with no fixed version")]
Scanners = Annotated[
    str, Doc("Trivy scanners, comma-separated: vuln,secret; secret alone needs no vulnerability database (air-gapped)")
]
ScanFormat = Annotated[str, Doc("Output: table (for people), json (Trivy's) or sarif (GitHub code scanning)")]
TestFormat = Annotated[str, Doc("Output: text or junit (JUnit XML)")]
