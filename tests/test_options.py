"""Feature options at build time: --option and --options-file, checked against the catalog, per image."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import catalog, options
from pipeline.catalog import CatalogError

OFFLINE = Path(__file__).resolve().parents[1] / "scripts/offline-build-args"


def test_the_offline_file_applies_to_each_image_only_its_own_features(loaded_catalog: catalog.Catalog) -> None:
    lines = OFFLINE.read_text().splitlines()
    overrides = options.parse(loaded_catalog, ["base"], [], lines, "scripts/offline-build-args")
    base = overrides.for_image(loaded_catalog.image("base"))
    assert base == {"GITHUB_CLI_SOURCE": "distro", "SYSTEM_PACKAGES_YQ_SOURCE": "distro"}
    workspace = overrides.for_image(loaded_catalog.image("workspace"))
    assert workspace["NODEJS_SOURCE"] == "npm"
    assert workspace["GITHUB_CLI_SOURCE"] == "distro"


def test_an_option_given_on_the_command_line_wins_over_the_file(loaded_catalog: catalog.Catalog) -> None:
    overrides = options.parse(loaded_catalog, ["base"], ["github-cli.source=github"], ["GITHUB_CLI_SOURCE=distro"])
    assert overrides.for_image(loaded_catalog.image("base"))["GITHUB_CLI_SOURCE"] == "github"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["# offline", "NODEJS_SAUCE=npm"], r"^opts: line 2: NODEJS_SAUCE: not a feature option's build argument"),
        (["NODEJS_SOURCE=ftp"], r"^opts: line 1: NODEJS_SOURCE: 'ftp' is not one of"),
        (["NODEJS_SOURCE"], r"^opts: line 1: NODEJS_SOURCE: not a feature option's build argument"),
    ],
)
def test_a_bad_line_names_the_file_and_line(loaded_catalog: catalog.Catalog, lines: list[str], message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        options.parse(loaded_catalog, ["base"], [], lines, "opts")


def test_an_option_no_chosen_image_has_is_refused(loaded_catalog: catalog.Catalog) -> None:
    """build-all --images base --option nodejs.source=npm would silently do nothing."""
    with pytest.raises(CatalogError, match=r"option 'nodejs\.source': not an option of the chosen images' features"):
        options.parse(loaded_catalog, ["base"], ["nodejs.source=npm"])
    overrides = options.parse(loaded_catalog, ["base", "nodejs"], ["nodejs.source=npm"])
    assert overrides.for_image(loaded_catalog.image("base")) == {}
    assert overrides.for_image(loaded_catalog.image("nodejs")) == {"NODEJS_SOURCE": "npm"}


def test_the_suites_of_a_feature_turned_off_do_not_run(loaded_catalog: catalog.Catalog) -> None:
    workspace = loaded_catalog.image("workspace")
    every = options.Overrides().suites(workspace)
    assert "docker/features/azure-cli/tests.yaml" in every
    off = options.parse(loaded_catalog, ["workspace"], ["azure-cli.source=none"]).suites(workspace)
    assert off == [path for path in every if path != "docker/features/azure-cli/tests.yaml"]
