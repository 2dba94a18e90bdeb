"""Running a workspace container in tests: start it, reach its sshd, read its logs, stop it."""

from __future__ import annotations

import base64
import json
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
    """A started container of the image, its SSH port (and `publish`ed ports) on 127.0.0.1."""

    name: str
    port: int
    env: Mapping[str, str]
    published: Mapping[int, int]  # container port -> host port

    @classmethod
    def start(
        cls,
        image: str,
        podman_env: Mapping[str, str],
        container_env: Mapping[str, str],
        command: Sequence[str] = (),
        publish: Sequence[int] = (),
    ) -> Workspace:
        name = f"dev8-test-{uuid.uuid4().hex[:12]}"
        flags = [f"--env={key}={value}" for key, value in container_env.items()]
        ports = (2222, *publish)
        flags += [f"--publish=127.0.0.1::{port}" for port in ports]
        podman(["run", "-d", "--name", name, *flags, image, *command], podman_env)
        published = {port: host_port(name, port, podman_env) for port in ports}
        return cls(name, published[2222], podman_env, published)

    def ssh(
        self,
        key: Path,
        command: str | None,
        *,
        user: str = "dev8",
        extra: Sequence[str] = (),
        stdin: str | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """`ssh dev8@... command`; without a command (with `-tt` in `extra`), an interactive login
        shell reading `stdin`."""
        argv = ["ssh", *SSH_OPTIONS, "-i", str(key), "-p", str(self.port), *extra, f"{user}@127.0.0.1"]
        if command is not None:
            argv.append(command)
        return subprocess.run(
            argv,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

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
        podman(["rm", "-f", "-v", "-t", "0", self.name], self.env, check=False)


def host_port(container: str, port: int, env: Mapping[str, str]) -> int:
    """The 127.0.0.1 port podman published for the container's `port`."""
    published = podman(["port", container, f"{port}/tcp"], env).stdout.strip().splitlines()[0]
    return int(published.rsplit(":", 1)[1])


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


# Every process's environment as the user of the session reads it: "PID<TAB>COMM<TAB>BASE64" lines.
ENVIRON_DUMP = r"""for d in /proc/[0-9]*; do
  comm="$(cat "$d/comm" 2>/dev/null)" || continue
  environ="$(base64 -w0 "$d/environ" 2>/dev/null)" || {
    [ -d "$d" ] && printf '%s\t%s\tUNREADABLE\n' "${d#/proc/}" "$comm" # else: it has just exited
    continue
  }
  printf '%s\t%s\t%s\n' "${d#/proc/}" "$comm" "$environ"
done"""


def process_environments(ws: Workspace, key: Path) -> dict[str, tuple[str, str | None]]:
    """PID -> (command name, environment as NUL-separated text, or None where the session's user
    cannot read it) of every process in the container, read over SSH as dev8."""
    result = ws.ssh(key, ENVIRON_DUMP)
    assert result.returncode == 0, result.stderr
    environs: dict[str, tuple[str, str | None]] = {}
    for line in result.stdout.splitlines():
        pid, comm, encoded = line.split("\t")
        environs[pid] = (comm, None if encoded == "UNREADABLE" else base64.b64decode(encoded).decode(errors="replace"))
    return environs


# Set by the shell, sshd or the runtime per process: not the image's to decide.
PER_SESSION = {"HOSTNAME", "HOME", "PWD", "OLDPWD", "SHLVL", "_", "TERM", "USER", "LOGNAME", "MAIL"}


def image_env(image: str, env: Mapping[str, str]) -> dict[str, str]:
    inspected = podman(["image", "inspect", "--format", "{{json .Config.Env}}", image], env).stdout
    entries: list[str] = json.loads(inspected) or []
    return dict(entry.split("=", 1) for entry in entries)


def parse_env(text: str) -> dict[str, str]:
    """`env` output (no values with newlines here) into a dict; \r from a terminal dropped."""
    pairs = (line.rstrip("\r").split("=", 1) for line in text.splitlines() if "=" in line)
    return {name: value for name, value in pairs if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)}


def assert_image_env(session: Mapping[str, str], image: Mapping[str, str], how: str, *, login: bool = False) -> None:
    """Every variable of the image's ENV has its value in the session. A login shell runs the
    user's ~/.profile, which may put directories in front of PATH: there, every directory of the
    image's PATH must be there, in the image's order."""
    wrong = {
        name: (session.get(name), value)
        for name, value in image.items()
        if name not in PER_SESSION and not (login and name == "PATH") and session.get(name) != value
    }
    assert not wrong, f"{how}: variables whose value differs from the image's (session, image): {wrong}"
    if login:
        remaining = iter(session.get("PATH", "").split(":"))
        in_order = all(directory in remaining for directory in image["PATH"].split(":"))  # a subsequence
        assert in_order, f"{how}: PATH {session.get('PATH')} lacks {image['PATH']} or reorders it"
