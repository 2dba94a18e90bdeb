"""Feature options given at build time (`--option feature.option=value`, `--options-file`), checked
against the catalog and split per image. Engine-free."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Final

from pipeline.catalog import (
    CATALOG_PATH,
    Catalog,
    CatalogError,
    FeatureOption,
    FeatureUse,
    Image,
    OptionValue,
    option_variable,
)

# A feature whose `source` option is this is left out of the image: its install does nothing and its
# tests do not run.
LEFT_OUT: Final = "none"


@dataclasses.dataclass(frozen=True)
class Overrides:
    """Option values by option variable (GITHUB_CLI_SOURCE), for every image of the catalog."""

    values: Mapping[str, OptionValue] = dataclasses.field(default_factory=dict[str, OptionValue])

    def for_image(self, image: Image) -> dict[str, OptionValue]:
        """The overrides that concern the image's features."""
        mine = {option_variable(u.feature.name, name) for u in image.features for name in u.feature.options}
        return {key: value for key, value in self.values.items() if key in mine}

    def left_out(self, use: FeatureUse) -> bool:
        """The feature is turned off: its `source` resolves to `none`."""
        if "source" not in use.feature.options:
            return False
        default = use.options.get("source", use.feature.options["source"].default)
        return self.values.get(option_variable(use.feature.name, "source"), default) == LEFT_OUT

    def suites(self, image: Image) -> list[str]:
        """The image's structure-test files, without those of features turned off."""
        off = {u.feature.tests for u in image.features if self.left_out(u)}
        return [path for path in image.tests if path not in off]


def parse(
    catalog: Catalog,
    images: Sequence[str],
    assignments: Sequence[str],
    file_lines: Sequence[str] = (),
    file_name: str = "",
) -> Overrides:
    """NAME=value lines of an options file (the Dockerfile's build-argument names, as in
    scripts/offline-build-args: a profile for the whole catalog, so each must name an option of some
    feature of the catalog), then `feature.option=value` assignments, each an option of a feature of
    at least one of `images`. Assignments win over the file."""
    known = _known(catalog, images)
    everywhere = _known(catalog, list(catalog.images))
    by_variable = {option_variable(*key.split(".", 1)): option for key, option in everywhere.items()}
    values: dict[str, OptionValue] = {}
    for number, line in enumerate(file_lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, value = text.partition("=")
        where = f"line {number}: {name.strip()}"
        if not sep or name.strip() not in by_variable:
            names = ", ".join(sorted(by_variable)) or "none"
            raise CatalogError(file_name, where, f"not a feature option's build argument (known: {names})")
        values[name.strip()] = _typed(by_variable[name.strip()], value.strip(), file_name, where)
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        option = known.get(key)
        if not sep or option is None:
            names = ", ".join(sorted(known)) or "none"
            why = f"not an option of the chosen images' features (known: {names})"
            raise CatalogError(CATALOG_PATH, f"option '{key}'", why)
        feature, _, name = key.partition(".")
        values[option_variable(feature, name)] = _typed(option, text, CATALOG_PATH, f"option '{key}'")
    return Overrides(values)


def _known(catalog: Catalog, images: Sequence[str]) -> dict[str, FeatureOption]:
    """feature.option -> its declaration, over the features of the given images."""
    return {
        f"{use.feature.name}.{name}": option
        for image in images
        for use in catalog.image(image).features
        for name, option in use.feature.options.items()
    }


def _typed(option: FeatureOption, text: str, file: str, key: str) -> OptionValue:
    value: OptionValue = text
    if option.type == "boolean":
        if text not in ("true", "false"):
            raise CatalogError(file, key, f"expected true or false, got {text!r}")
        value = text == "true"
    elif option.type == "integer":
        if not text.lstrip("-").isdigit():
            raise CatalogError(file, key, f"expected an integer, got {text!r}")
        value = int(text)
    if option.choices and text not in option.choices:
        raise CatalogError(file, key, f"{text!r} is not one of {', '.join(option.choices)}")
    return value
