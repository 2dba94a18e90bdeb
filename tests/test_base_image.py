"""Runtime tests of the base image built offline: structure tests, SSH, secrets, shutdown.

Fixtures `podman_env` and `base_image` come from tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from pipeline.structure_tests import Report, load_suite, run_suite, write_junit
from tests.support.podman_structure import PODMAN_TEST_CONCURRENCY, structure_container
from tests.support.workspace import Workspace, make_key, podman, process_environments, server_kexinit

REPO = Path(__file__).resolve().parent.parent
BASE_FEATURES = ("system-packages", "github-cli", "user", "sshd")
SUITES = (
    REPO / "docker/base/tests.yaml",
    *(REPO / f"docker/features/{f}/tests.yaml" for f in BASE_FEATURES),
)

CANARIES = {
    "GITHUB_TOKEN": "ghp_dev8CanaryGithubToken0123456789",
    "ANTHROPIC_API_KEY": "sk-ant-dev8-canary-anthropic",
    "OPENAI_API_KEY": "sk-dev8-canary-openai",
    "GEMINI_API_KEY": "dev8-canary-gemini",
    "GOOGLE_API_KEY": "dev8-canary-google",
}
# Secrets no process may hold in its environment either, stored nowhere in the base image.
UNSTORED_CANARIES = {"PASSWORD": "dev8-canary-code-server-password"}
# The supervisor's own credentials: in its environment and no other process's.
SUPERVISOR_CANARIES = {
    "SUPERVISOR_HTTP_TOKEN": "dev8-canary-supervisor-token",
    "AWS_ACCESS_KEY_ID": "AKIADEV8CANARY",
    "AWS_SECRET_ACCESS_KEY": "dev8CanaryAwsSecretAccessKey",
    "AZURE_BLOB_ACCOUNT_KEY": "ZGV2OC1jYW5hcnktYXp1cmU=",
}
SECRETS_DIR = "/home/dev8/.config/dev8/secrets"
# Where the entrypoint may write a secret, and nowhere else.
SECRET_HOMES = {
    *(f"home/dev8/.config/dev8/secrets/{name}" for name in (*CANARIES, "SUPERVISOR_HTTP_TOKEN")),
    "home/dev8/.config/gh/hosts.yml",
}
ALLOWED = {
    "KEX algorithms": {
        "sntrup761x25519-sha512@openssh.com",
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "kex-strict-s-v00@openssh.com",  # strict-KEX marker (Terrapin countermeasure), not a KEX
    },
    "host key algorithms": {"ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"},
    "ciphers ctos": {
        "chacha20-poly1305@openssh.com",
        "aes256-gcm@openssh.com",
        "aes128-gcm@openssh.com",
    },
    "MACs ctos": {"hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com"},
}
ALLOWED["ciphers stoc"] = ALLOWED["ciphers ctos"]
ALLOWED["MACs stoc"] = ALLOWED["MACs ctos"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("ssh")
    return {name: make_key(directory, name) for name in ("dev8", "second", "stranger")}


def public(key: Path) -> str:
    return key.with_suffix(".pub").read_text().strip()


@pytest.fixture(scope="module")
def workspace(base_image: str, podman_env: Mapping[str, str], keys: dict[str, Path]) -> Iterator[Workspace]:
    """One container for the read-only checks: two authorized keys, every secret set, the
    supervisor running with its credentials."""
    env = {
        "SSH_PUBLIC_KEY": f"{public(keys['dev8'])}\n{public(keys['second'])}\n",
        **CANARIES,
        **UNSTORED_CANARIES,
        **SUPERVISOR_CANARIES,
        "SUPERVISOR_ENABLED": "true",
    }
    ws = Workspace.start(base_image, podman_env, env)
    try:
        ws.wait_for_ssh(keys["dev8"])
        yield ws
    finally:
        ws.remove()


def test_base_structure_suites_pass(base_image: str, podman_env: Mapping[str, str], tmp_path: Path) -> None:
    async def run_all() -> list[Report]:
        async with structure_container(base_image, podman_env) as executor:
            return [
                await run_suite(load_suite(path.relative_to(REPO)), executor, PODMAN_TEST_CONCURRENCY)
                for path in SUITES
            ]

    reports = asyncio.run(run_all())
    write_junit(reports, tmp_path / "structure-tests.xml")
    assert all(r.passed for r in reports), "\n".join(r.summary() for r in reports)


def test_base_ssh_login_with_each_authorized_key(workspace: Workspace, keys: dict[str, Path]) -> None:
    for name in ("dev8", "second"):
        result = workspace.ssh(keys[name], "id -un; pwd; echo $LANG")
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["dev8", "/home/dev8", "en_US.UTF-8"]


@pytest.mark.parametrize(
    ("user", "key", "extra"),
    [
        ("dev8", "stranger", ()),
        ("root", "dev8", ()),
        (
            "dev8",
            "stranger",
            (
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "PreferredAuthentications=password,keyboard-interactive",
            ),
        ),
    ],
    ids=["unknown-key", "root", "password"],
)
def test_base_ssh_refuses(
    workspace: Workspace, keys: dict[str, Path], user: str, key: str, extra: tuple[str, ...]
) -> None:
    result = workspace.ssh(keys[key], "true", user=user, extra=extra)
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr


def test_base_sshd_offers_only_modern_algorithms(workspace: Workspace, keys: dict[str, Path]) -> None:
    result = workspace.ssh(keys["dev8"], "true", extra=("-vvv",))
    offered = server_kexinit(result.stderr)
    for kind, allowed in ALLOWED.items():
        assert offered.get(kind), f"server offered no {kind}"
        assert set(offered[kind]) <= allowed, f"{kind}: unexpected {set(offered[kind]) - allowed}"


def test_base_host_keys_differ_between_containers(
    base_image: str, podman_env: Mapping[str, str], keys: dict[str, Path], workspace: Workspace
) -> None:
    other = Workspace.start(base_image, podman_env, {"SSH_PUBLIC_KEY": public(keys["dev8"])})
    try:
        other.wait_for_ssh(keys["dev8"])
        fingerprints = [
            ws.exec("sh", "-c", "ssh-keygen -lf ~/.ssh/hostkeys/ssh_host_ed25519_key.pub").stdout.split()[1]
            for ws in (workspace, other)
        ]
    finally:
        other.remove()
    assert fingerprints[0].startswith("SHA256:")
    assert fingerprints[0] != fingerprints[1]


def test_base_secrets_stored_private_where_tools_read_them(workspace: Workspace, keys: dict[str, Path]) -> None:
    listing = workspace.ssh(keys["dev8"], f"stat -c '%n %a %U' {SECRETS_DIR} {SECRETS_DIR}/* ~/.config/gh/hosts.yml")
    modes = dict(line.split(" ", 1) for line in listing.stdout.splitlines())
    assert modes[SECRETS_DIR] == "700 dev8"
    for name, value in CANARIES.items():
        assert modes[f"{SECRETS_DIR}/{name}"] == "600 dev8"
        assert workspace.ssh(keys["dev8"], f"cat {SECRETS_DIR}/{name}").stdout.strip() == value
    assert modes["/home/dev8/.config/gh/hosts.yml"] == "600 dev8"
    credential = workspace.ssh(keys["dev8"], "printf 'protocol=https\\nhost=github.com\\n\\n' | git credential fill")
    assert f"password={CANARIES['GITHUB_TOKEN']}" in credential.stdout, credential.stderr
    gh_token = workspace.ssh(keys["dev8"], "gh auth token")
    assert gh_token.stdout.strip() == CANARIES["GITHUB_TOKEN"], gh_token.stderr


def test_base_secrets_absent_from_every_process_environment(
    workspace: Workspace, keys: dict[str, Path], podman_env: Mapping[str, str]
) -> None:
    """Read as dev8 over SSH, every process's /proc/PID/environ (tini as PID 1, sshd, the session
    itself) is free of the secrets. The supervisor alone holds its own credentials, and makes its
    process non-dumpable, so dev8 cannot read its environment at all, nor can root without
    CAP_SYS_PTRACE; root with it (podman exec --privileged) finds them."""
    environs = process_environments(workspace, keys["dev8"])
    assert environs["1"][0] == "tini", environs.get("1")
    assert "PATH=" in (environs["1"][1] or ""), environs["1"]
    comms = {comm for comm, _ in environs.values()}
    assert {"tini", "sshd", "workspace-super"} <= comms, comms
    unreadable = {comm for comm, environ in environs.values() if environ is None}
    assert unreadable == {"workspace-super"}, f"dev8 cannot read the environment of {unreadable}"
    for pid, (comm, environ) in environs.items():
        for name, value in {**CANARIES, **UNSTORED_CANARIES, **SUPERVISOR_CANARIES}.items():
            assert value not in (environ or ""), f"{name} in the environment of {pid} ({comm})"
    [supervisor] = [pid for pid, (comm, _) in environs.items() if comm == "workspace-super"]
    as_root = podman(
        ["exec", "--privileged", "--user", "root", workspace.name, "cat", f"/proc/{supervisor}/environ"], podman_env
    ).stdout.split("\0")
    for name, value in SUPERVISOR_CANARIES.items():
        assert f"{name}={value}" in as_root, f"the supervisor did not get {name}"


def test_base_one_ed25519_host_key(workspace: Workspace, keys: dict[str, Path]) -> None:
    listing = workspace.ssh(keys["dev8"], "ls ~/.ssh/hostkeys")
    assert listing.stdout.split() == ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"], listing


def test_base_secrets_only_in_their_files(
    workspace: Workspace, base_image: str, podman_env: Mapping[str, str], tmp_path: Path
) -> None:
    canaries = [v.encode() for v in (*CANARIES.values(), *UNSTORED_CANARIES.values(), *SUPERVISOR_CANARIES.values())]
    export = tmp_path / "container.tar"
    podman(["export", "-o", str(export), workspace.name], podman_env, timeout=300)
    holders: set[str] = set()
    with tarfile.open(export) as tar:
        for member in tar:
            stream = tar.extractfile(member) if member.isfile() else None
            content = stream.read() if stream else b""
            if any(c in content for c in canaries):
                holders.add(member.name.lstrip("./"))
    export.unlink()
    assert holders <= SECRET_HOMES, f"secrets leaked into {holders - SECRET_HOMES}"
    assert "home/dev8/.config/dev8/secrets/OPENAI_API_KEY" in holders

    saved = tmp_path / "image.tar"
    podman(
        ["image", "save", "--format", "docker-archive", "-o", str(saved), base_image],
        podman_env,
        timeout=300,
    )
    assert not _contains_any(saved, canaries), "a canary secret is in the image's layers"
    saved.unlink()
    inspected = podman(["image", "inspect", base_image], podman_env).stdout
    history = podman(["history", "--no-trunc", "--format", "json", base_image], podman_env).stdout
    for value in (*CANARIES.values(), *UNSTORED_CANARIES.values(), *SUPERVISOR_CANARIES.values()):
        assert value not in inspected
        assert value not in history
    image_env: list[str] = json.loads(inspected)[0]["Config"].get("Env") or []
    names = {entry.split("=", 1)[0] for entry in image_env}
    assert not names & {*CANARIES, *UNSTORED_CANARIES, *SUPERVISOR_CANARIES, "GH_TOKEN", "SSH_PUBLIC_KEY"}


def _contains_any(path: Path, needles: list[bytes]) -> bool:
    overlap = max(len(n) for n in needles)
    tail = b""
    with path.open("rb") as stream:
        while chunk := stream.read(io.DEFAULT_BUFFER_SIZE * 256):
            window = tail + chunk
            if any(n in window for n in needles):
                return True
            tail = window[-overlap:]
    return False


def test_base_stop_reaches_supervisor_within_timeout(
    base_image: str, podman_env: Mapping[str, str], keys: dict[str, Path]
) -> None:
    ws = Workspace.start(
        base_image,
        podman_env,
        {"SSH_PUBLIC_KEY": public(keys["dev8"]), "SUPERVISOR_ENABLED": "true"},
    )
    try:
        ws.wait_for_ssh(keys["dev8"])
        seconds = ws.stop()
        logs = ws.logs()
        assert seconds < 10, f"podman stop took {seconds:.1f}s (SIGKILL at 10s)"
        assert ws.exit_code() == 0, logs
        lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
        shutdown = [line for line in lines if line.get("msg") == "shutdown"]
        assert shutdown, f"no shutdown line from the supervisor:\n{logs}"
        assert "TERM" in str(shutdown[0].get("signal", "")).upper(), shutdown[0]  # "SIGTERM" or Go's "terminated"
    finally:
        ws.remove()


def stopped_status(name: str, podman_env: Mapping[str, str]) -> str:
    """Stops the container, allowing it 60 s before podman's SIGKILL (which ends it with 137); its exit status."""
    podman(["stop", "-t", "60", name], podman_env)
    return podman(["inspect", "--format", "{{.State.ExitCode}}", name], podman_env).stdout.strip()


def test_base_stop_ends_an_interactive_shell(base_image: str, podman_env: Mapping[str, str]) -> None:
    """An interactive bash ignores SIGTERM; the entrypoint hangs it up so the stop is not a SIGKILL."""
    name = podman(["run", "-d", "-t", base_image, "bash"], podman_env).stdout.strip()
    try:
        assert stopped_status(name, podman_env) == "0"
    finally:
        podman(["rm", "-f", "-v", "-t", "0", name], podman_env, check=False)


def test_base_stop_while_the_entrypoint_sets_up_ends_the_container(
    base_image: str, podman_env: Mapping[str, str], tmp_path: Path
) -> None:
    """A stop that comes before the services start (here: while gh, made slow, sets git up) ends the
    container as stopped; as PID 1 without a handler the entrypoint ignored it until the SIGKILL."""
    slow, marks = tmp_path / "slow", tmp_path / "marks"
    slow.mkdir()
    marks.mkdir()
    marks.chmod(0o777)
    (slow / "gh").write_text('#!/bin/sh\ntouch /marks/gh-started\nsleep 5\nPATH="${PATH#/slow:}" exec gh "$@"\n')
    (slow / "gh").chmod(0o755)
    path = "/slow:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    volumes = [f"--volume={slow}:/slow:ro", f"--volume={marks}:/marks"]
    run = ["run", "-d", *volumes, f"--env=PATH={path}", "--env=GH_TOKEN=gho_dev8Slow", base_image, "sleep", "300"]
    name = podman(run, podman_env).stdout.strip()
    try:
        deadline = time.monotonic() + 120
        while not (marks / "gh-started").exists():
            assert time.monotonic() < deadline, podman(["logs", name], podman_env, check=False).stderr
            time.sleep(0.2)
        assert stopped_status(name, podman_env) == "0"
        assert "received SIGTERM before anything started" in podman(["logs", name], podman_env).stderr
    finally:
        podman(["rm", "-f", "-v", "-t", "0", name], podman_env, check=False)


def test_base_entrypoint_refuses_missing_or_bad_key(base_image: str, podman_env: Mapping[str, str]) -> None:
    missing = podman(["run", "--rm", base_image], podman_env, check=False)
    assert missing.returncode != 0
    assert missing.stderr.strip().count("\n") == 0
    assert "SSH_PUBLIC_KEY is not set" in missing.stderr
    bad = podman(
        ["run", "--rm", "--env=SSH_PUBLIC_KEY=ssh-ed25519 not-a-key", base_image],
        podman_env,
        check=False,
    )
    assert bad.returncode != 0
    assert "SSH_PUBLIC_KEY line 1 is not a valid SSH public key" in bad.stderr


def test_base_shell_command_runs_without_key_and_without_secrets(
    base_image: str, podman_env: Mapping[str, str]
) -> None:
    gh_token = "gho_dev8CanaryGhTokenWins"
    flags = [f"--env={k}={v}" for k, v in {**CANARIES, "GH_TOKEN": gh_token}.items()]
    script = "gh auth token; echo ---; env; exit 3"
    result = podman(["run", "--rm", *flags, base_image, "bash", "-c", script], podman_env, check=False)
    assert result.returncode == 3, result.stderr
    token, _, env = result.stdout.partition("---")
    assert token.strip() == gh_token  # GH_TOKEN takes precedence over GITHUB_TOKEN
    for value in (*CANARIES.values(), gh_token):
        assert value not in env


def test_base_every_process_runs_as_dev8(workspace: Workspace) -> None:
    processes = workspace.exec("ps", "-eo", "user=,comm=").stdout.splitlines()
    assert any(line.split()[1] == "sshd" for line in processes), processes
    assert {line.split()[0] for line in processes} == {"dev8"}, processes


@pytest.mark.parametrize(
    ("feature", "variable", "value"),
    [
        ("system-packages", "SYSTEM_PACKAGES_YQ_SOURCE", "snap"),
        ("github-cli", "GITHUB_CLI_SOURCE", "brew"),
    ],
)
def test_base_feature_rejects_bad_option(
    base_image: str, podman_env: Mapping[str, str], feature: str, variable: str, value: str
) -> None:
    mount = f"{REPO / 'docker/features' / feature}:/tmp/dev8-feature:ro"
    argv = ["run", "--rm", "--user", "root", "-v", mount, f"--env={variable}={value}"]
    argv += ["--entrypoint", "/tmp/dev8-feature/install.sh", base_image]
    result = podman(argv, podman_env, check=False)
    assert result.returncode == 1
    assert f"{variable} must be 'github' or 'distro', got '{value}'" in result.stderr
