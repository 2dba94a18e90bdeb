"""Running a workspace container in tests: start it, reach its sshd, read its logs, stop it."""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SSH_OPTIONS = (
    "-F", "/dev/null",
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "IdentitiesOnly=yes",
    "-o", "ConnectTimeout=5",
    "-o", "LogLevel=ERROR",
)  # fmt: skip


def podman(
    args: Sequence[str], env: Mapping[str, str], *, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["podman", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return result


def make_key(directory: Path, name: str) -> Path:
    """An ed25519 key pair without passphrase; returns the private key's path."""
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


@dataclass
class Workspace:
    """A started container of the image, its SSH port published on 127.0.0.1."""

    name: str
    port: int
    env: Mapping[str, str]

    @classmethod
    def start(
        cls,
        image: str,
        podman_env: Mapping[str, str],
        container_env: Mapping[str, str],
        command: Sequence[str] = (),
    ) -> Workspace:
        name = f"dev8-test-{uuid.uuid4().hex[:12]}"
        flags = [f"--env={key}={value}" for key, value in container_env.items()]
        podman(
            ["run", "-d", "--name", name, "-p", "127.0.0.1::2222", *flags, image, *command],
            podman_env,
        )
        published = podman(["port", name, "2222/tcp"], podman_env).stdout.strip().splitlines()[0]
        return cls(name, int(published.rsplit(":", 1)[1]), podman_env)

    def ssh(
        self, key: Path, command: str, *, user: str = "dev8", extra: Sequence[str] = ()
    ) -> subprocess.CompletedProcess[str]:
        argv = [
            "ssh",
            *SSH_OPTIONS,
            "-i",
            str(key),
            "-p",
            str(self.port),
            *extra,
            f"{user}@127.0.0.1",
            command,
        ]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)

    def wait_for_ssh(self, key: Path, timeout: float = 30) -> float:
        """Seconds until a login as dev8 succeeds; after `timeout`, raises with the logs."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.ssh(key, "true").returncode == 0:
                return time.monotonic() - started
            if not self.running():
                break
            time.sleep(0.2)
        raise AssertionError(f"no SSH login within {timeout}s; logs:\n{self.logs()}")

    def exec(self, *argv: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
        flags = ["--user", user] if user else []
        return podman(["exec", *flags, self.name, *argv], self.env, check=False)

    def running(self) -> bool:
        state = podman(["inspect", "--format", "{{.State.Running}}", self.name], self.env, check=False)
        return state.stdout.strip() == "true"

    def logs(self) -> str:
        result = podman(["logs", self.name], self.env, check=False)
        return result.stdout + result.stderr

    def stop(self) -> float:
        """`podman stop` with its default timeout; returns the seconds it took."""
        started = time.monotonic()
        podman(["stop", self.name], self.env, timeout=60)
        return time.monotonic() - started

    def exit_code(self) -> int:
        return int(podman(["inspect", "--format", "{{.State.ExitCode}}", self.name], self.env).stdout)

    def remove(self) -> None:
        podman(["rm", "-f", "-t", "0", self.name], self.env, check=False)


def server_kexinit(ssh_debug_output: str) -> dict[str, list[str]]:
    """The server's algorithm lists from `ssh -vvv` output ("peer server KEXINIT proposal")."""
    _, found, after = ssh_debug_output.partition("peer server KEXINIT proposal")
    if not found:
        raise AssertionError(f"no server KEXINIT in ssh output:\n{ssh_debug_output}")
    lists: dict[str, list[str]] = {}
    for line in after.splitlines()[1:]:
        match = re.match(r"debug2: ([A-Za-z ]+): (.*)$", line)
        if not match or match.group(1) in lists:
            break
        lists[match.group(1)] = [a for a in match.group(2).split(",") if a]
    return lists
