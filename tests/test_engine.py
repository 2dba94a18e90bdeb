"""The module on a real Dagger engine, called with the `dagger` CLI as a user calls it.

Runs against ../shared/dagger-kit when it is up (.ci/run brings it up and pushes the stand-in images
under the names the module pulls), else wherever `dagger` reaches an engine; skips with one line
saying why when there is none. Every call gives the offline options (scripts/offline-build-args).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support import engine as e
from tests.support.podman import REPO_ROOT

pytestmark = pytest.mark.engine

PLANTED_TOKEN = "ghp_" + "R7dQ2mN8xK4vL1pZ9sT3wY6bH0cF5jA2eU8i"  # a GitHub token's shape, for Trivy's secret rules


@pytest.fixture(scope="module")
def engine() -> e.Engine:
    found = e.find()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="module")
def reports(engine: e.Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's main job over base and nodejs, offline: secrets only (no vulnerability database here)."""
    out = tmp_path_factory.mktemp("reports")
    engine.call(
        *e.OFFLINE, "build-all", "--images", "base,nodejs", "--scanners", "secret", "export", "--path", str(out)
    )
    return out


def readme_functions() -> list[str]:
    """The function names in the README's table of the module's functions."""
    text = (REPO_ROOT / "README.md").read_text()
    table = text.split("## The module's functions", 1)[1].split("\n\n", 2)[1]
    names: list[str] = []
    for row in table.splitlines()[2:]:
        first_cell = re.split(r"(?<!\\)\|", row)[1]  # cells are split on pipes that are not escaped
        names += [cell.split()[0] for cell in re.findall(r"`([^`]+)`", first_cell)]
    return names


def test_dagger_functions_lists_exactly_the_readmes_table(engine: e.Engine) -> None:
    result = engine.run("functions")
    rows = [line for line in result.stdout.splitlines()[1:] if line.strip() and not line.startswith("Skipped")]
    listed = [line.split()[0] for line in rows]
    assert sorted(listed) == sorted(readme_functions())
    # v0.21.8's CLI also lists Query's own `with` (the constructor behind --version & co.) as "skipped"
    # for every module with constructor arguments: not a function of this module.
    skipped = re.findall(r"Skipped \d+ function\(s\) with unsupported types: (.*)", result.stdout + result.stderr)
    assert skipped in ([], ["with"])


def test_dockerfile_is_the_committed_file(engine: e.Engine) -> None:
    result = engine.call("dockerfile", "--name", "base", "contents")
    assert result.stdout == (REPO_ROOT / "docker/base/Dockerfile").read_text()


def test_the_supervisor_is_a_static_binary_with_its_version(engine: e.Engine, tmp_path: Path) -> None:
    binary = tmp_path / "workspace-supervisor"
    engine.call("--version", "9.8.7", "supervisor", "export", "--path", str(binary))
    described = subprocess.run(["file", str(binary)], capture_output=True, text=True, check=True).stdout
    assert "statically linked" in described
    version = subprocess.run([str(binary), "version"], capture_output=True, text=True, check=True).stdout
    assert version.strip() == "9.8.7"


def test_every_image_builds_and_passes_its_structure_tests(engine: e.Engine, tmp_path: Path) -> None:
    """test-all builds every catalog image on the engine and runs its suites: the podman tests' second executor."""
    engine.call(*e.OFFLINE, "test-all", "export", "--path", str(tmp_path))
    summary = (tmp_path / "summary.md").read_text()
    assert (tmp_path / "failures.txt").read_text() == "", summary
    for name in ("base", "nodejs", "python", "go", "rust", "workspace"):
        assert (tmp_path / name / "tests.xml").is_file()
        assert f"| {name} |" in summary


def test_test_passes_on_base_and_fails_with_its_summary_on_a_broken_test(engine: e.Engine, tmp_path: Path) -> None:
    assert "docker/base/tests.yaml" in engine.call(*e.OFFLINE, "test", "--name", "base").stdout
    suite = yaml.safe_load((REPO_ROOT / "docker/base/tests.yaml").read_text())
    made_to_fail = {"name": "a test made to fail", "command": "cat", "args": ["/etc/hostname"]}
    suite.setdefault("commandTests", []).append({**made_to_fail, "expectedOutput": ["^no such host name$"]})
    broken = e.copy_of_repo(tmp_path, changes={"docker/base/tests.yaml": yaml.safe_dump(suite, sort_keys=False)})
    result = engine.call(*e.OFFLINE, "--source", str(broken), "test", "--name", "base", check=False)
    assert result.returncode != 0
    assert "image 'base': test failed" in result.stderr
    assert "a test made to fail" in result.stderr


def test_build_all_writes_the_documented_reports(reports: Path) -> None:
    summary = (reports / "summary.md").read_text()
    assert (reports / "failures.txt").read_text() == "", summary
    assert (reports / "supervisor/go-test.txt").read_text()
    for name in ("base", "nodejs"):
        for report in ("tests.xml", "trivy.json", "trivy.sarif", "trivy.txt", "trivy-junit.xml", "sbom.cdx.json"):
            assert (reports / name / report).is_file(), f"{name}/{report}"
        assert json.loads((reports / name / "sbom.cdx.json").read_text())["bomFormat"] == "CycloneDX"
        row = next(line for line in summary.splitlines() if line.startswith(f"| {name} |"))
        assert re.search(r"\| [\d.]+ MiB \| [\d.]+ MiB \| `sha256:[0-9a-f]{12}…` \|", row), row


def test_a_failing_image_is_reported_while_the_others_carry_on(engine: e.Engine, tmp_path: Path) -> None:
    failing = "\necho 'made to fail' >&2\nexit 3\n"
    broken = e.copy_of_repo(tmp_path, appends={"docker/features/python/install.sh": failing})
    engine.call(
        *e.OFFLINE, "--source", str(broken),
        "build-all", "--images", "base,python,go", "--skip-scan", "export", "--path", str(tmp_path),
    )  # fmt: skip
    failures = (tmp_path / "failures.txt").read_text().splitlines()
    assert len(failures) == 1
    assert failures[0].startswith("image 'python': build failed")
    summary = (tmp_path / "summary.md").read_text()
    assert "made to fail" in summary
    for name in ("base", "go"):
        row = next(line for line in summary.splitlines() if line.startswith(f"| {name} |"))
        assert "✅ passed" in row
        assert "❌" not in row


def test_a_planted_secret_fails_the_offline_scan(engine: e.Engine, tmp_path: Path) -> None:
    planted = e.copy_of_repo(tmp_path, appends={"docker/base/entrypoint.sh": f"\n# GH_TOKEN={PLANTED_TOKEN}\n"})
    result = engine.call(
        *e.OFFLINE, "--source", str(planted), "scan", "--name", "base", "--scanners", "secret", check=False
    )
    assert result.returncode != 0
    assert "image 'base': scan" in result.stderr
    assert "github-pat" in result.stderr or "GitHub Personal Access Token" in result.stderr
    clean = engine.call(*e.OFFLINE, "scan", "--name", "base", "--scanners", "secret")
    assert "github-pat" not in clean.stdout


def test_a_rerun_with_nothing_changed_is_answered_from_the_cache(engine: e.Engine, reports: Path) -> None:
    again = engine.call(
        *e.OFFLINE, "build-all", "--images", "base,nodejs", "--scanners", "secret", "export", "--path", str(reports)
    )
    assert re.search(r"Dev8\.buildAll.*CACHED", again.stderr)


def test_a_change_outside_the_module_does_not_reinstall_it(engine: e.Engine, tmp_path: Path) -> None:
    copy = e.copy_of_repo(tmp_path)
    engine.run("functions", cwd=copy)

    def runtime_after(change: str) -> str:
        with (copy / change).open("a") as f:
            f.write(f"\n# changed ({e.RUN_MARK})\n")
        log = engine.run("functions", "-vvv", cwd=copy).stderr
        [status] = re.findall(r"PythonSdk\.moduleRuntime (CACHED|DONE)", log)
        return status

    assert runtime_after("README.md") == "CACHED"
    assert runtime_after("tests/test_engine.py") == "CACHED"
    assert runtime_after("docker/base/entrypoint.sh") == "CACHED"
    assert runtime_after("pipeline/plan.py") == "DONE"  # the module's own source does reinstall it


def test_a_change_outside_the_source_it_reads_keeps_its_functions_cached(engine: e.Engine, tmp_path: Path) -> None:
    copy = e.copy_of_repo(tmp_path)
    engine.call("dockerfile", "--name", "base", "contents", cwd=copy)

    def dockerfile_after(change: str) -> str:
        with (copy / change).open("a") as f:
            f.write(f"\n# changed ({e.RUN_MARK})\n")
        log = engine.call("dockerfile", "--name", "base", "contents", cwd=copy).stderr
        [status] = re.findall(r"Dev8\.dockerfile (CACHED|DONE)", log)
        return status

    assert dockerfile_after("README.md") == "CACHED"
    assert dockerfile_after("scripts/offline-build-args") == "CACHED"
    (copy / "NEW-TOP-LEVEL-FILE").write_text("not read by any build\n")
    assert dockerfile_after("NEW-TOP-LEVEL-FILE") == "CACHED"
    assert dockerfile_after("apps/README.md") == "CACHED"  # apps/ beyond the supervisor is not read
    assert dockerfile_after("docker/base/entrypoint.sh") == "DONE"  # what it reads does rerun it


@pytest.fixture(scope="module")
def registry(engine: e.Engine) -> str:
    if not engine.kit:
        pytest.skip("publish is tested against the kit's local registry (../shared/dagger-kit)")
    return "127.0.0.1:5000/dev8-test"


def crane(engine: e.Engine, *args: str) -> str:
    result = engine.in_engine("crane", *args, "--insecure")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_publish_pushes_what_passed_and_it_pulls_back_by_digest(engine: e.Engine, registry: str) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    result = engine.call(
        *e.OFFLINE, "--revision", sha, "publish",
        "--registry", registry, "--username", "ci", "--password", "env:HOME", "--tag", "v9.8.7",
        "--images", "base", "--platform", "linux/amd64", "--scanners", "secret", "--sign=false",
    )  # fmt: skip
    # Each tag is reported with its digest: the commit's, pushed first, then the version held back till then.
    pushed = re.findall(rf"{re.escape(registry)}/dev8-base:(\S+)@(sha256:[0-9a-f]{{64}})", result.stdout)
    assert sorted(tag for tag, _ in pushed) == ["0123456", "9.8.7"], result.stdout
    assert len({digest for _, digest in pushed}) == 1, pushed
    reference = f"{registry}/dev8-base:9.8.7@{pushed[0][1]}"
    assert "tested on linux/amd64" in result.stdout
    assert sorted(crane(engine, "ls", f"{registry}/dev8-base").split()) == ["0123456", "9.8.7"]
    digest = reference.split("@")[1]
    pinned = f"{registry}/dev8-base@{digest}"
    config = json.loads(crane(engine, "config", pinned))["config"]
    assert config["Labels"]["org.opencontainers.image.version"] == "9.8.7"
    assert config["Labels"]["org.opencontainers.image.revision"] == sha
    version = engine.run(
        "core", "container", "from", "--address", pinned,
        "with-exec", "--args", "/usr/local/bin/workspace-supervisor,version", "stdout",
    )  # fmt: skip
    assert version.stdout.strip() == "9.8.7"


def test_publish_dry_run_pushes_nothing(engine: e.Engine, registry: str) -> None:
    result = engine.call(
        *e.OFFLINE, "--revision", "fedcba9876543210", "publish",
        "--registry", f"{registry}-dry", "--username", "ci", "--password", "env:HOME", "--tag", "v1.0.0",
        "--images", "base", "--platform", "linux/amd64", "--scanners", "secret", "--sign=false", "--dry-run",
    )  # fmt: skip
    assert f"{registry}-dry/dev8-base:1.0.0" in result.stdout
    listed = engine.in_engine("crane", "ls", f"{registry}-dry/dev8-base", "--insecure")
    assert listed.returncode != 0 or listed.stdout.strip() == ""
