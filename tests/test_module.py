"""The module as the Dagger runtime sees it: entry point, functions, their docs and arguments."""

from __future__ import annotations

import importlib.metadata
import json
import tomllib
from pathlib import Path
from typing import Any

from pipeline import Dev8

REPO_ROOT = Path(__file__).resolve().parents[1]


def module_object() -> Any:
    """The SDK's record of the main object (private API: the runtime's own view of the module)."""
    module: Any = vars(Dev8)["__dagger_module__"]
    return module._objects["Dev8"]


def test_entry_point_is_the_main_object() -> None:
    [entry] = importlib.metadata.entry_points(group="dagger.mod", name="main_object")
    assert entry.value == "pipeline:Dev8"
    assert entry.load() is Dev8


def test_dagger_json_pins_the_sdk_version() -> None:
    config = json.loads((REPO_ROOT / "dagger.json").read_text())
    pinned = next(
        d
        for d in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
        if d.startswith("dagger-io")
    )
    assert config["name"] == "dev8"
    assert config["sdk"]["source"] == "python"
    assert config["source"] == "."
    assert config["engineVersion"] == "v" + pinned.split("==")[1]


def test_every_function_has_a_one_line_doc_and_documented_arguments() -> None:
    obj = module_object()
    assert {"supervisor", "supervisor_test", "base", "workspace", "image", "dockerfile", "build_all"} <= set(
        obj.functions
    )
    for name, function in obj.functions.items():
        doc = function.doc
        assert doc, f"{name} has no docstring"
        assert "\n" not in doc.strip(), f"{name}: the docstring should be one line"
        for parameter in function.parameters.values():
            assert parameter.doc, f"{name}: argument {parameter.name} has no Doc()"


def test_constructor_arguments_are_documented_and_source_is_filtered() -> None:
    constructor = module_object().get_constructor()
    parameters = constructor.parameters
    for parameter in parameters.values():
        assert parameter.doc, f"constructor argument {parameter.name} has no Doc()"
    source = parameters["source"]
    assert source.default_path == "/"
    assert source.ignore[0] == "*"
    assert "!docker/**" in source.ignore
