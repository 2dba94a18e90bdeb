"""The GitHub workflows: actions pinned by SHA, Dagger steps that call what the module really has,
publishing only from trusted events with the narrowest permissions. (actionlint runs in test_lint.)"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.dagger_cli import check_call

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO_ROOT / ".github/workflows").glob("*.yml"))
DAGGER_ACTION = "dagger/dagger-for-github@"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+)*\s*$")
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def load(path: Path) -> dict[Any, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    return workflow.get("on") or workflow[True]  # PyYAML reads the key `on` as a boolean


def dagger_calls(workflow: dict[Any, Any]) -> list[list[str]]:
    """The arguments after `dagger call` of every step, with each `${{ }}` expression one word."""
    found: list[str] = []
    for step in steps(workflow):
        if str(step.get("uses", "")).startswith(DAGGER_ACTION):
            inputs = step.get("with", {})
            assert inputs.get("verb", "call") == "call", f"{step}: only `dagger call` is checked"
            found.append(inputs.get("args") or inputs.get("call", ""))
        found += re.findall(r"\bdagger\b[^\n|;&>]*?\bcall\b([^\n|;&>]*)", step.get("run", "").replace("\\\n", " "))
    return [shlex.split(EXPRESSION.sub("EXPRESSION", text)) for text in found if text.strip()]


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"docker-images.yml", "ci.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_sha_with_its_version(path: Path) -> None:
    uses = [str(step["uses"]) for step in steps(load(path)) if "uses" in step]
    remote = [u for u in uses if not u.startswith(("./", "docker://"))]
    assert remote, f"{path.name}: no actions"
    assert [u for u in remote if not PINNED.match(u)] == [], "actions must be pinned by a 40-hex commit SHA"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if re.search(r"\buses:", line)]
    unversioned = [line.strip() for line in lines if "@" in line and not VERSION_COMMENT.search(line)]
    assert unversioned == [], "each pinned action needs a `# vX.Y.Z` comment naming its version"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_each_dagger_step_calls_a_function_the_module_has(path: Path) -> None:
    for args in dagger_calls(load(path)):
        assert check_call(args) == [], f"{path.name}: dagger call {' '.join(args)}"


def test_the_images_workflow_runs_build_all_and_exports_the_reports() -> None:
    calls = [" ".join(args) for args in dagger_calls(load(REPO_ROOT / ".github/workflows/docker-images.yml"))]
    assert any(re.search(r"\bbuild-all\b.*\bexport --path reports$", call) for call in calls), calls


def test_the_dagger_action_runs_the_modules_engine_version() -> None:
    engine = json.loads((REPO_ROOT / "dagger.json").read_text())["engineVersion"].removeprefix("v")
    for path in WORKFLOWS:
        for step in steps(load(path)):
            if str(step.get("uses", "")).startswith(DAGGER_ACTION):
                assert step["with"]["version"] == engine, f"{path.name}: {step.get('name')}"


def test_the_images_workflow_triggers() -> None:
    on = triggers(load(REPO_ROOT / ".github/workflows/docker-images.yml"))
    assert set(on) == {"pull_request", "push", "schedule", "workflow_dispatch"}
    for event in ("pull_request", "push"):
        paths = on[event]["paths"]
        for watched in ("docker/**", "pipeline/**", "apps/supervisor/**", ".github/workflows/docker-images.yml"):
            assert watched in paths, f"{event} does not watch {watched}"
    assert on["push"]["branches"] == ["main"]
    assert on["push"]["tags"] == ["v*"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_read_only_by_default_and_superseded_runs_cancelled(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.ref" in workflow["concurrency"]["group"]
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions", workflow["permissions"])
        assert granted.get("contents") == "read", f"{name}: contents must be read"
        assert granted.get("packages") != "write" or name == "publish", f"{name}: packages: write outside publish"


def test_publish_runs_only_on_pushes_to_main_and_version_tags() -> None:
    workflow = load(REPO_ROOT / ".github/workflows/docker-images.yml")
    publish = workflow["jobs"]["publish"]
    assert publish["permissions"] == {"contents": "read", "packages": "write", "id-token": "write"}
    others = [job for name, job in workflow["jobs"].items() if name != "publish"]
    assert all("id-token" not in job.get("permissions", {}) for job in others)  # keyless signing: publish only
    call = " ".join(next(args for args in dagger_calls({"jobs": {"publish": publish}})))
    assert "--actions-oidc-request-url env:ACTIONS_ID_TOKEN_REQUEST_URL" in call
    assert "--cosign-key" not in call  # keyless in Actions
    assert publish["needs"] == "build"
    condition = publish["if"]
    assert "github.event_name == 'push'" in condition
    assert "github.ref == 'refs/heads/main'" in condition
    assert "startsWith(github.ref, 'refs/tags/v')" in condition
    secrets = json.dumps(steps({"jobs": {"publish": publish}}))
    assert "secrets.REGISTRY_PASSWORD" in secrets
    assert "env:REGISTRY_PASSWORD" in secrets, "the password reaches Dagger as a secret, not as text"


def test_the_ci_workflow_runs_the_readmes_test_command() -> None:
    workflow = load(REPO_ROOT / ".github/workflows/ci.yml")
    assert any("bash .ci/run" in step.get("run", "") for step in steps(workflow))
    assert "bash .ci/run" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_only_the_affected_images_are_built_and_published_reusing_published_layers() -> None:
    workflow = load(REPO_ROOT / ".github/workflows/docker-images.yml")
    build = workflow["jobs"]["build"]
    affected = next(step for step in build["steps"] if step.get("id") == "affected")
    assert "python -m pipeline affected --base" in affected["run"]
    assert "schedule" in affected["run"]  # scheduled and manual runs build everything
    assert "workflow_dispatch" in affected["run"]
    assert "python -m pipeline list" in affected["run"]
    for job in ("build", "publish"):
        [call] = [" ".join(args) for args in dagger_calls({"jobs": {job: workflow["jobs"][job]}})]
        assert "--images EXPRESSION" in call, call
        assert "--reuse-from EXPRESSION" in call, call
        step = next(s for s in workflow["jobs"][job]["steps"] if "dagger" in str(s.get("uses", "")))
        assert "outputs.images }}" in step["with"]["args"]
    run_build = next(step for step in build["steps"] if step.get("name") == "dagger call build-all")
    assert run_build["if"] == "${{ steps.affected.outputs.images != '' }}"  # nothing affected: nothing built
    assert "needs.build.outputs.images != ''" in workflow["jobs"]["publish"]["if"]
