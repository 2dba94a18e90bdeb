"""The language images and the workspace image, built offline with podman: every feature test that
can run offline passes inside each image, install scripts are idempotent, refuse versions without
a pinned checksum, and detect the architecture rather than assume it.

Fixtures `offline_image`, `base_image`, `podman_env`, `loaded_catalog` come from tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from pipeline import catalog
from pipeline.structure_tests import Report, load_suite, run_suite, write_junit
from tests.conftest import OFFLINE_BUILD_ARGS
from tests.support.podman_structure import PODMAN_TEST_CONCURRENCY, structure_container
from tests.support.workspace import make_key, podman

IMAGES = ("nodejs", "python", "go", "rust", "workspace")
# Features with an architecture to detect (git-lfs and backup-script have none).
ARCH_FEATURES = ("nodejs", "python", "go", "rust", "bun", "ai-clis", "code-server", "aws-cli", "azure-cli")


def skipped_offline(use: catalog.FeatureUse) -> bool:
    """A feature the offline build leaves out (its source option set to `none`)."""
    variable = catalog.option_variable(use.feature.name, "source")
    return "source" in use.feature.options and OFFLINE_BUILD_ARGS.get(variable) == "none"


def offline_suites(image: catalog.Image) -> list[str]:
    skipped = {u.feature.tests for u in image.features if skipped_offline(u)}
    return [path for path in image.tests if path not in skipped]


def run_as_root(
    image: str, env: Mapping[str, str], feature_dir: Path, script: str, build_env: Mapping[str, str] | None = None
) -> tuple[int, str]:
    """Runs a shell script as root in a throwaway container of `image` with a feature folder mounted
    where the build mounts it; returns the exit code and the combined output."""
    flags = [f"--env={k}={v}" for k, v in (build_env or {}).items()]
    result = podman(
        [
            "run", "--rm", "--user", "root", "--entrypoint", "/bin/bash",
            f"--volume={feature_dir}:/tmp/dev8-feature:ro", *flags, image, "-c", script,
        ],
        env,
        check=False,
        timeout=900,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


def offline_env(feature: str) -> dict[str, str]:
    prefix = catalog.option_variable(feature, "")
    return {k: v for k, v in OFFLINE_BUILD_ARGS.items() if k.startswith(prefix)}


@pytest.mark.parametrize("name", IMAGES)
def test_feature_and_image_tests_pass_offline(
    name: str,
    offline_image: Callable[[str], str],
    loaded_catalog: catalog.Catalog,
    podman_env: dict[str, str],
    tmp_path: Path,
) -> None:
    tag = offline_image(name)
    suites = offline_suites(loaded_catalog.images[name])

    async def run_all() -> list[Report]:
        async with structure_container(tag, podman_env) as executor:
            return [await run_suite(load_suite(path), executor, PODMAN_TEST_CONCURRENCY) for path in suites]

    reports = asyncio.run(run_all())
    write_junit(reports, tmp_path / f"{name}-structure-tests.xml")
    assert all(r.passed for r in reports), "\n".join(r.summary() for r in reports)


@pytest.mark.parametrize("name", IMAGES)
def test_suites_load(name: str, loaded_catalog: catalog.Catalog) -> None:
    """Every suite of the image parses under the strict loader (no build needed)."""
    for path in (*loaded_catalog.images[name].tests, "docker/features/rust/tests-rustup.yaml"):
        assert load_suite(path).command_tests or load_suite(path).file_existence_tests, path


def test_offline_build_leaves_out_no_feature(loaded_catalog: catalog.Catalog) -> None:
    """The Azure CLI (PyPI) and code-server (npm) build offline too: every suite runs."""
    image = loaded_catalog.images["workspace"]
    assert [u.feature.name for u in image.features if skipped_offline(u)] == []
    assert offline_suites(image) == list(image.tests)
    assert OFFLINE_BUILD_ARGS["AZURE_CLI_SOURCE"] == "pypi"
    assert OFFLINE_BUILD_ARGS["CODE_SERVER_SOURCE"] == "npm"


@pytest.mark.parametrize("feature", ["nodejs", "go", "bun", "ai-clis", "git-lfs", "backup-script"])
def test_install_script_runs_twice(
    feature: str, offline_image: Callable[[str], str], podman_env: dict[str, str], repo_root: Path
) -> None:
    """A second run over an installed feature (a rebuild without cache, a child image) succeeds."""
    tag = offline_image("workspace")
    code, output = run_as_root(
        tag, podman_env, repo_root / "docker/features" / feature, "/tmp/dev8-feature/install.sh", offline_env(feature)
    )
    assert code == 0, output


REFUSED = {
    "go version without a pinned checksum": ("go", {"GO_VERSION": "1.99.0"}, "no pinned checksum for Go 1.99.0"),
    "bun version without a pinned checksum": ("bun", {"BUN_VERSION": "0.0.1"}, "no pinned checksum for Bun 0.0.1"),
    "node version without a pinned checksum": (
        "nodejs",
        {"NODEJS_SOURCE": "npm", "NODEJS_VERSION": "24.0.0"},
        "no pinned checksum for node-linux-",
    ),
    "unknown nodejs source": ("nodejs", {"NODEJS_SOURCE": "tarball"}, "NODEJS_SOURCE must be 'nodejs-org' or 'npm'"),
    "unknown rust source": ("rust", {"RUST_SOURCE": "brew"}, "RUST_SOURCE must be 'rustup' or 'distro'"),
    "code-server version without a pinned checksum": (
        "code-server",
        {"CODE_SERVER_SOURCE": "npm", "CODE_SERVER_VERSION": "4.0.0"},
        "no pinned checksum for code-server@4.0.0",
    ),
    "azure-cli version without hash-pinned requirements": (
        "azure-cli",
        {"AZURE_CLI_SOURCE": "pypi", "AZURE_CLI_VERSION": "2.90.0"},
        "no hash-pinned requirements for azure-cli 2.90.0 in requirements.txt (it pins 2.91.0)",
    ),
    "unknown azure-cli source": ("azure-cli", {"AZURE_CLI_SOURCE": "brew"}, "AZURE_CLI_SOURCE must be 'microsoft'"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_unpinned_version_or_unknown_source_is_refused(
    case: str, base_image: str, podman_env: dict[str, str], repo_root: Path
) -> None:
    feature, build_env, message = REFUSED[case]
    code, output = run_as_root(
        base_image, podman_env, repo_root / "docker/features" / feature, "/tmp/dev8-feature/install.sh", build_env
    )
    assert code != 0
    assert message in output, output


@pytest.mark.parametrize("feature", ARCH_FEATURES)
def test_architecture_is_detected_not_assumed(
    feature: str, base_image: str, podman_env: dict[str, str], repo_root: Path
) -> None:
    """With dpkg reporting an architecture the feature does not support, install.sh stops naming it
    (and before downloading anything)."""
    script = (
        "mkdir -p /tmp/fake-arch && printf '#!/bin/sh\\necho s390x\\n' >/tmp/fake-arch/dpkg"
        " && chmod +x /tmp/fake-arch/dpkg && PATH=/tmp/fake-arch:/usr/local/bin:/usr/bin:/bin"
        " /tmp/dev8-feature/install.sh"
    )
    code, output = run_as_root(base_image, podman_env, repo_root / "docker/features" / feature, script)
    assert code != 0
    assert "unsupported architecture 's390x'" in output, output


def test_backup_script_asks_the_running_supervisor(
    offline_image: Callable[[str], str], podman_env: dict[str, str], tmp_path: Path
) -> None:
    """In a workspace started as in production (supervisor on, a mounted backup target), backup.sh
    gets a snapshot made now, prints the supervisor's report and exits 0."""
    tag = offline_image("workspace")
    key = make_key(tmp_path, "dev8")
    name = f"dev8-test-backup-{uuid.uuid4().hex[:12]}"
    env = {
        "SSH_PUBLIC_KEY": key.with_suffix(".pub").read_text().strip(),
        "SUPERVISOR_ENABLED": "true",
        "BACKUP_ENABLED": "true",
        "SUPERVISOR_BACKUP_MOUNT_PATH": "/backup",
    }
    flags = [f"--env={k}={v}" for k, v in env.items()]
    podman(["run", "-d", "--name", name, "--tmpfs", "/backup:rw,mode=1777", *flags, tag], podman_env)
    try:
        podman(["exec", name, "bash", "-c", "echo hello >/workspace/hello.txt"], podman_env)
        deadline = time.monotonic() + 30
        while True:
            result = podman(["exec", name, "/home/dev8/.backup-scripts/backup.sh"], podman_env, check=False)
            if result.returncode != 2 or time.monotonic() > deadline:  # 2: supervisor not up yet
                break
            time.sleep(0.5)
        logs = podman(["logs", name], podman_env, check=False)
        assert result.returncode == 0, f"{result.stderr}\n{logs.stdout}{logs.stderr}"
        report = json.loads(result.stdout)
        assert report["reason"] == "api"
        assert report["snapshot"]
        assert report["files"] >= 1
    finally:
        podman(["rm", "-f", "-v", "-t", "0", name], podman_env, check=False)
