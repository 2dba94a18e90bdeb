"""Which images a change affects, from their input digests at two commits. Engine-free.

An image is affected when its features digest differs (it and, through the digest chain, its children
rebuild their feature layers), when only its tail digest differs (supervisor, entrypoint, files,
runtime config: the tail is applied again), when it is new, or when the module itself changed (the
way every image is built may differ).
"""

from __future__ import annotations

import dataclasses
import subprocess
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Final

from pipeline import catalog
from pipeline.options import Overrides
from pipeline.plan import BuildInfo, digests, plan

# What decides how images are built, besides the catalog's own inputs.
MODULE_PATHS: Final = ("pipeline", "pyproject.toml", "uv.lock", "dagger.json")
CATALOG_PATHS: Final = ("docker", "apps/supervisor")


@dataclasses.dataclass(frozen=True)
class Verdict:
    image: str
    affected: bool
    why: str


def image_digests(loaded: catalog.Catalog, overrides: Overrides | None = None) -> dict[str, tuple[str, str]]:
    """image -> (features digest, tail digest), as the build stamps them."""
    overrides = overrides or Overrides()
    return {
        name: digests(plan(loaded, image, BuildInfo(), overrides.for_image(image)))
        for name, image in loaded.images.items()
    }


def compare(repo: Path, base: str, head: str) -> list[Verdict]:
    """Every image of the catalog at `head`, affected or not, with the reason."""
    now = image_digests(_catalog_at(repo, head))
    module_changes = _git(repo, "diff", "--name-only", base, head, "--", *MODULE_PATHS).split()
    try:
        before = image_digests(_catalog_at(repo, base))
    except catalog.CatalogError as e:
        return [Verdict(name, True, f"the catalog at {base} does not load ({e})") for name in now]
    verdicts: list[Verdict] = []
    for name, (features, tail) in now.items():
        if module_changes:
            verdicts.append(Verdict(name, True, f"the module changed ({', '.join(module_changes[:3])})"))
        elif name not in before:
            verdicts.append(Verdict(name, True, "new image"))
        elif before[name][0] != features:
            verdicts.append(Verdict(name, True, "its features changed: every layer is built again"))
        elif before[name][1] != tail:
            verdicts.append(Verdict(name, True, "its tail changed: the feature layers are reused"))
        else:
            verdicts.append(Verdict(name, False, "its inputs are unchanged"))
    return verdicts


def markdown(verdicts: list[Verdict], base: str, head: str) -> str:
    """For the job summary: what is rebuilt, what is skipped and why."""
    lines = [f"### Images affected by {base[:12]}..{head[:12]}", "", "| image | | why |", "|---|---|---|"]
    lines += [f"| {v.image} | {'rebuilt' if v.affected else 'skipped'} | {v.why} |" for v in verdicts]
    return "\n".join(lines) + "\n"


def _catalog_at(repo: Path, ref: str) -> catalog.Catalog:
    """The catalog as committed at `ref`, loaded from an export of its files."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "--", *CATALOG_PATHS],
        cwd=repo, capture_output=True, check=False,
    )  # fmt: skip
    if archive.returncode != 0:
        raise catalog.CatalogError(catalog.CATALOG_PATH, ref, archive.stderr.decode().strip() or "git archive failed")
    with (
        tempfile.TemporaryDirectory(prefix="dev8-affected-") as tmp,
        tarfile.open(fileobj=BytesIO(archive.stdout)) as tar,
    ):
        tar.extractall(tmp, filter="data")
        return catalog.load(Path(tmp))


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise catalog.CatalogError("git", " ".join(args[:3]), result.stderr.strip())
    return result.stdout
