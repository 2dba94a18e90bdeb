"""Each feature as a Dev Container Feature (containers.dev): docker/features/<name>/devcontainer-feature.json,
rendered from its feature.yaml by `python -m pipeline render`, so that the same folder is a feature of the
dev8 images and a Feature that VS Code, Codespaces and the devcontainer CLI install.

The Dev Container CLI passes an option to install.sh as the option's own name made a variable
(`option_variable`: `yq-source` -> YQ_SOURCE), where the dev8 builds pass <FEATURE>_<OPTION>.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Final

from pipeline.catalog import FEATURES_DIR, CatalogError, Feature, FeatureOption, format_value, load_feature
from pipeline.plan import DEFAULT_SOURCE_URL

FILE_NAME: Final = "devcontainer-feature.json"
# Where the release workflow publishes the features (`devcontainer features publish`); installsAfter
# names the features there, the only form of a feature's id that the spec gives it.
REGISTRY: Final = "ghcr.io"
NAMESPACE: Final = "dev8/features"


def feature_id(name: str) -> str:
    """The published feature's id, without version: ghcr.io/dev8/features/nodejs."""
    return f"{REGISTRY}/{NAMESPACE}/{name}"


def option_variable(option: str) -> str:
    """The variable the Dev Container CLI passes an option in: non-word characters become `_`,
    leading digits and underscores one `_`, then upper case (the CLI's own rule)."""
    return re.sub(r"^[0-9_]+", "_", re.sub(r"[^A-Za-z0-9_]", "_", option)).upper()


def feature_names(root: Path) -> list[str]:
    """Every feature folder (those that no image uses yet too), sorted."""
    return sorted(path.parent.name for path in (root / FEATURES_DIR).glob("*/feature.yaml"))


def render(feature: Feature) -> str:
    """The feature's devcontainer-feature.json."""
    info = feature.devcontainer
    if info is None:
        raise CatalogError(
            f"{feature.directory}/feature.yaml",
            "devcontainer",
            f"missing: a mapping with `name` and `version` (MAJOR.MINOR.PATCH), for its {FILE_NAME}",
        )
    document: dict[str, object] = {
        "id": feature.name,
        "version": info.version,
        "name": info.name,
        "description": feature.description,
        "documentationURL": f"{DEFAULT_SOURCE_URL}/tree/main/{feature.directory}",
    }
    if feature.options:
        document["options"] = {name: _option(option) for name, option in feature.options.items()}
    if info.container_env:
        document["containerEnv"] = dict(info.container_env)
    if feature.installs_after:
        document["installsAfter"] = [feature_id(name) for name in feature.installs_after]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_all(root: Path) -> dict[Path, str]:
    """Every feature's devcontainer-feature.json: path -> content."""
    rendered: dict[Path, str] = {}
    for name in feature_names(root):
        feature = load_feature(root, name)
        rendered[root / feature.directory / FILE_NAME] = render(feature)
    return rendered


def _option(option: FeatureOption) -> dict[str, object]:
    # The spec's option types are string and boolean; an integer option is offered as a string
    # (install.sh reads text either way, and checks it).
    if option.type == "boolean":
        spec: dict[str, object] = {"type": "boolean", "default": option.default}
    else:
        spec = {"type": "string", "default": format_value(option.default)}
    if option.choices:
        spec["enum"] = list(option.choices)
    spec["description"] = option.description
    return spec
