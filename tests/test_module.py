"""The module as the Dagger runtime sees it: entry point, functions, their docs and arguments."""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pipeline import Dev8, source
from tests.support import engine

REPO_ROOT = Path(__file__).resolve().parents[1]


def module_object() -> Any:
    """The SDK's record of the main object (private API: the runtime's own view of the module)."""
    module: Any = vars(Dev8)["__dagger_module__"]
    return module._objects["Dev8"]


def test_entry_point_is_the_main_object() -> None:
    [entry] = importlib.metadata.entry_points(group="dagger.mod", name="main_object")
    assert entry.value == "pipeline:Dev8"
    assert entry.load() is Dev8


def test_layout_is_what_dagger_init_writes_for_the_engine_in_use() -> None:
    """The runtime installs the engine's bundled SDK (version 0.0.0) from ./sdk beside the module, so a
    pinned dagger-io can never be satisfied; dagger.json names the engine the tests run."""
    config = json.loads((REPO_ROOT / "dagger.json").read_text())
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert config["name"] == "dev8"
    assert config["sdk"]["source"] == "python"
    assert config.get("source", ".") == "."
    assert "dagger-io" in project["project"]["dependencies"]
    assert project["tool"]["uv"]["sources"]["dagger-io"] == {"path": "sdk", "editable": True}
    assert (REPO_ROOT / "uv.lock").is_file()
    assert "/sdk" in (REPO_ROOT / ".gitignore").read_text().split()
    workflows = (REPO_ROOT / ".github/workflows/docker-images.yml").read_text()
    cli_versions = set(re.findall(r'^\s+version: "([^"]+)"', workflows, re.MULTILINE))
    assert cli_versions == {config["engineVersion"].removeprefix("v")}


def test_only_the_modules_own_files_are_its_source() -> None:
    """A change under tests/, docker/ or the README must not reinstall the module: dagger.json's include
    list keeps the module's source to pipeline/ and its project files."""
    include = json.loads((REPO_ROOT / "dagger.json").read_text())["include"]
    assert include[:2] == ["!*", "!.*"]
    assert {"pyproject.toml", "uv.lock", "pipeline/**"} <= set(include)


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
    source_argument = parameters["source"]
    assert source_argument.default_path == "/"
    assert source_argument.ignore == source.INCLUDE_ONLY


def test_functions_with_side_effects_or_world_checks_say_how_long_they_may_be_cached() -> None:
    """The engine answers a function from its cache for up to 7 days unless it says otherwise."""
    policies = {name: function.cache_policy for name, function in module_object().functions.items()}
    assert policies.pop("publish") == "never"  # a push is a side effect
    assert policies.pop("verify") == "never"  # checks the registry as it is now
    assert policies.pop("scan") == "session"  # a scan re-checks against a refreshed database
    assert policies.pop("build_all") == "1h"  # a no-op rerun is instant; later ones rescan
    assert set(policies.values()) == {None}  # the rest are pure functions of their inputs


def test_where_the_engine_is_required_its_absence_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """.ci/run requires the engine once the kit is up: an engine test must then fail, not skip."""
    monkeypatch.setattr(engine, "KIT_DIR", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(engine.REQUIRED, raising=False)
    engine.find.cache_clear()
    try:
        assert isinstance(engine.find(), str)  # a user without an engine: the tests skip
        engine.find.cache_clear()
        monkeypatch.setenv(engine.REQUIRED, "1")
        with pytest.raises(RuntimeError, match=r"^DEV8_ENGINE_REQUIRED=1 but no Dagger engine: "):
            engine.find()
    finally:
        engine.find.cache_clear()


def test_the_source_uploads_only_what_builds_read(repo_root: Path) -> None:
    """Everything is left out but the negations, and each of those names something that exists."""
    assert source.INCLUDE_ONLY[0] == "*"
    for kept in source.INCLUDE_ONLY[1:]:
        assert kept.startswith("!"), kept
        assert (repo_root / kept[1:].removesuffix("/**")).exists(), kept


def test_a_test_restarting_the_engine_waits_for_one_using_it_in_another_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """.ci/run runs the engine tests beside the others: the policy test's restart waits for a test of
    the other process that is using the engine, and the other way round."""
    monkeypatch.setattr(engine, "ENGINE_LOCK", tmp_path / "engine.lock")
    probe = "import fcntl, sys; f = open(sys.argv[1], 'a'); fcntl.flock(f, int(sys.argv[2]) | fcntl.LOCK_NB)"

    def other_process_can(operation: int) -> bool:
        argv = [sys.executable, "-c", probe, str(engine.ENGINE_LOCK), str(operation)]
        return subprocess.run(argv, capture_output=True, check=False).returncode == 0

    with engine.using_the_engine():
        assert not other_process_can(fcntl.LOCK_EX)  # no restart while the engine is in use
        assert other_process_can(fcntl.LOCK_SH)  # other users carry on
    with engine.using_the_engine(restarting=True):
        assert not other_process_can(fcntl.LOCK_SH)
    assert other_process_can(fcntl.LOCK_EX)
