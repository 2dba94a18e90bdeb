"""Releasing on a real engine and the kit's registry: feature layers reused from what was published,
and images signed with a test key pair, verified by the module and by plain cosign.

The kit's registry listens on the engine's loopback: the engine pushes to 127.0.0.1:5000, and a relay
in the engine's network namespace (tests/support/relay.py) lets containers, where cosign runs, reach
it too. No transparency log offline: signing uses `--tlog-upload=false` (publish
--transparency-log=false) and verifying `--insecure-ignore-tlog=true`.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import engine as e
from tests.support.podman import REPO_ROOT

pytestmark = pytest.mark.engine

REGISTRY = "127.0.0.1:5000"
SHA = "0123456789abcdef0123456789abcdef01234567"
INSTALL = re.compile(r"withExec /tmp/dev8-feature/install\.sh")


@pytest.fixture(scope="module")
def kit() -> e.Engine:
    found = e.find()
    if isinstance(found, str):
        pytest.skip(found)
    if not found.kit:
        pytest.skip("releases are tested against the kit's local registry (../shared/dagger-kit)")
    return found


def engine_pid() -> str:
    result = subprocess.run(
        ["podman", "inspect", "--format", "{{.State.Pid}}", e.KIT_ENGINE], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def in_engine_netns(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A host command in the engine's network namespace, where the registry is 127.0.0.1:5000."""
    return subprocess.run(
        ["nsenter", "--target", engine_pid(), "--net", *argv], capture_output=True, text=True, check=check, timeout=300
    )


@pytest.fixture(scope="module")
def relay(kit: e.Engine) -> Iterator[str]:
    """The registry as containers reach it: a relay on the engine's address on its container network."""
    if shutil.which("nsenter") is None:
        pytest.skip("nsenter (util-linux) is needed to reach the kit's registry from containers")
    shown = kit.in_engine("ip", "-4", "-o", "addr", "show", "dagger0")
    address = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", shown.stdout)
    assert address, f"no address on the engine's dagger0: {shown.stdout}{shown.stderr}"
    ip = address.group(1)
    argv = [sys.executable, str(REPO_ROOT / "tests/support/relay.py"), ip, "5001", "127.0.0.1", "5000"]
    process = subprocess.Popen(["nsenter", "--target", engine_pid(), "--net", *argv])
    try:
        for _ in range(50):
            if kit.in_engine("curl", "-sf", f"http://{ip}:5001/v2/").returncode == 0:
                break
            time.sleep(0.2)
        yield f"{ip}:5001"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def cosign_binary() -> str:
    found = shutil.which("cosign") or str(
        Path(os.environ.get("DEV8_CACHE_DIR", "/var/cache/dev8-images")) / "bin/cosign"
    )
    if not Path(found).is_file():
        pytest.skip("cosign is not built (.ci/run: go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5)")
    return found


@pytest.fixture(scope="module")
def key_pair(cosign_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cosign")
    env = {**os.environ, "COSIGN_PASSWORD": "test-password"}
    subprocess.run([cosign_binary, "generate-key-pair"], cwd=directory, env=env, check=True, capture_output=True)
    return directory


def crane(kit: e.Engine, *args: str) -> str:
    result = kit.in_engine("crane", *args, "--insecure")
    assert result.returncode == 0, result.stderr
    return result.stdout


def layers(kit: e.Engine, reference: str) -> list[str]:
    return [layer["digest"] for layer in json.loads(crane(kit, "manifest", reference))["layers"]]


# --- reuse of published feature layers (issue "CI rebuilds only what a change affects") ---------------


@pytest.fixture(scope="module")
def first_release(kit: e.Engine) -> dict[str, str]:
    """base, nodejs and python published once, with their feature layers and Go caches for --reuse-from."""
    result = kit.call(
        *e.OFFLINE, "--revision", SHA, "publish",
        "--registry", f"{REGISTRY}/dev8-reuse", "--username", "ci", "--password", "env:HOME", "--tag", "v1.0.0",
        "--images", "base,nodejs,python", "--platform", "linux/amd64", "--scanners", "secret", "--sign=false",
        "--reuse-from", f"{REGISTRY}/dev8-reuse",
    )  # fmt: skip
    pushed = re.findall(rf"({REGISTRY}/dev8-reuse/dev8-(\w+):1\.0\.0@sha256:[0-9a-f]{{64}})", result.stdout)
    return {image: reference for reference, image in pushed}


def test_a_supervisor_change_runs_no_feature_step_and_keeps_the_feature_layers(
    kit: e.Engine, first_release: dict[str, str], tmp_path: Path
) -> None:
    change = {"apps/supervisor/cmd/supervisor/main.go": f"\n// a supervisor-only change ({e.RUN_MARK})\n"}
    changed = e.copy_of_repo(tmp_path, appends=change)
    result = kit.call(
        *e.OFFLINE, "--source", str(changed), "--revision", SHA, "publish",
        "--registry", f"{REGISTRY}/dev8-reuse", "--username", "ci", "--password", "env:HOME", "--tag", "v1.0.1",
        "--images", "base", "--platform", "linux/amd64", "--scanners", "secret", "--sign=false",
        "--reuse-from", f"{REGISTRY}/dev8-reuse",
    )  # fmt: skip
    assert INSTALL.search(result.stderr) is None, "a feature's install ran although its layers were reused"
    assert "/dev8-go-caches:" not in result.stdout, "the Go caches were pushed again although they were found"
    [reference] = re.findall(rf"{REGISTRY}/dev8-reuse/dev8-base:1\.0\.1@sha256:[0-9a-f]{{64}}", result.stdout)
    before, after = layers(kit, first_release["base"]), layers(kit, reference)
    features = len(before) - 5  # the tail's layers: supervisor, entrypoint and the files after it
    assert after[:features] == before[:features], "the feature layers are not the published ones"
    version = kit.run(
        "core", "container", "from", "--address", reference,
        "with-exec", "--args", "/usr/local/bin/workspace-supervisor,version", "stdout",
    )  # fmt: skip
    assert version.stdout.strip() == "1.0.1"


def test_a_feature_change_rebuilds_only_the_images_that_include_it(
    kit: e.Engine, first_release: dict[str, str], tmp_path: Path
) -> None:
    assert set(first_release) == {"base", "nodejs", "python"}
    changed = e.copy_of_repo(
        tmp_path, appends={"docker/features/python/install.sh": f"\n# a python-only change ({e.RUN_MARK})\n"}
    )
    result = kit.call(
        *e.OFFLINE, "--source", str(changed), "build-all", "--images", "base,nodejs,python", "--skip-scan",
        "--reuse-from", f"{REGISTRY}/dev8-reuse", "export", "--path", str(tmp_path),
    )  # fmt: skip
    summary = (tmp_path / "summary.md").read_text()
    assert (tmp_path / "failures.txt").read_text() == "", summary
    assert "- base: feature layers reused from" in summary
    assert f"- supervisor: Go caches seeded from `{REGISTRY}/dev8-reuse/dev8-go-caches:go-" in summary
    assert "- nodejs: feature layers reused from" in summary
    assert "- python: feature layers built (not in the registry" in summary
    installs = {line.split("install.sh")[0] for line in result.stderr.splitlines() if INSTALL.search(line)}
    assert len(installs) == 1, "only python's own feature should install"


# --- signed releases (issue "Signed releases") -------------------------------------------------------


@pytest.fixture(scope="module")
def signed(kit: e.Engine, relay: str, key_pair: Path) -> str:
    """base published and signed with the test key; its reference@digest as containers reach it."""
    env_password = "COSIGN_TEST_PASSWORD"
    # The CLI reads env: secrets from its own environment, the one the engine handle holds.
    signer = dataclasses.replace(kit, env={**kit.env, env_password: "test-password"})
    result = signer.call(
        *e.OFFLINE, "--revision", SHA, "publish",
        "--registry", f"{REGISTRY}/dev8-sign", "--username", "ci", "--password", "env:HOME", "--tag", "v2.0.0",
        "--images", "base", "--platform", "linux/amd64", "--scanners", "secret",
        "--cosign-key", f"file:{key_pair / 'cosign.key'}", "--cosign-password", f"env:{env_password}",
        "--transparency-log=false", "--insecure-registry", "--container-registry", f"{relay}/dev8-sign",
    )  # fmt: skip
    [reference] = re.findall(rf"{re.escape(relay)}/dev8-sign/dev8-base@sha256:[0-9a-f]{{64}}", result.stdout)
    return reference


def verify(kit: e.Engine, reference: str, key_pair: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return kit.call(
        "verify", "--image", reference, "--key", str(key_pair / "cosign.pub"),
        "--transparency-log=false", "--insecure-registry", check=check,
    )  # fmt: skip


def test_the_module_verifies_what_it_signed(kit: e.Engine, signed: str, key_pair: Path) -> None:
    result = verify(kit, signed, key_pair)
    assert "signature, SBOM and provenance attestations verified" in result.stdout
    by_tag = signed.split("@", maxsplit=1)[0].replace("/dev8-base", "/dev8-base:2.0.0")
    assert "verified" in verify(kit, by_tag, key_pair).stdout


def test_plain_cosign_verifies_the_signature_and_both_attestations(
    signed: str, key_pair: Path, cosign_binary: str, kit: e.Engine
) -> None:
    pinned = f"{REGISTRY}/dev8-sign/dev8-base@{signed.split('@')[1]}"  # the registry as the engine sees it
    flags = ["--key", str(key_pair / "cosign.pub"), "--insecure-ignore-tlog=true", "--allow-http-registry"]
    in_engine_netns(cosign_binary, "verify", *flags, pinned)
    for kind in ("cyclonedx", "slsaprovenance1"):
        attested = in_engine_netns(cosign_binary, "verify-attestation", "--type", kind, *flags, pinned)
        statement = json.loads(base64.b64decode(json.loads(attested.stdout.splitlines()[0])["payload"]))
        if kind == "cyclonedx":
            sbom = kit.call(*e.OFFLINE, "sbom", "--name", "base", "--scanners", "secret", "contents").stdout
            expected = {(c["name"], c.get("version")) for c in json.loads(sbom)["components"]}
            assert {(c["name"], c.get("version")) for c in statement["predicate"]["components"]} == expected
        else:
            source = statement["predicate"]["buildDefinition"]["externalParameters"]["source"]
            assert source["digest"] == {"gitCommit": SHA}


def test_a_retagged_or_unsigned_image_fails_verification_naming_it(
    kit: e.Engine, signed: str, key_pair: Path, relay: str
) -> None:
    crane(kit, "copy", f"{REGISTRY}/library/ubuntu:22.04", f"{REGISTRY}/dev8-sign/dev8-base:2.0.0")
    retagged = f"{relay}/dev8-sign/dev8-base:2.0.0"
    result = verify(kit, retagged, key_pair, check=False)
    assert result.returncode != 0
    assert f"verify {retagged}: did not verify" in result.stderr
    assert "signature:" in result.stderr
    assert "verified" in verify(kit, signed, key_pair).stdout  # the signed digest still verifies
