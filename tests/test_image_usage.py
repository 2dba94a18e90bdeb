"""The images as people use them, built offline with podman: the original README's commands as
written (`docker run IMAGE CMD` runs CMD), SSH sessions with the image's environment, and nothing
left by the build in any image.

The helpers take an image reference; only `run_line` and `Workspace` are podman-specific.
Fixtures `offline_image` and `podman_env` come from tests/conftest.py.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.conftest import OFFLINE_BUILD_ARGS
from tests.support.original_readme import VERIFICATION, WORKSPACE_TOOLS, ReadmeCommand, as_run_by
from tests.support.workspace import Workspace, assert_image_env, image_env, make_key, parse_env, podman

IMAGES = ("base", "nodejs", "python", "go", "rust", "workspace")
README_CASES = [(cmd, image) for cmd in VERIFICATION for image in cmd.images]

# What each image's languages answer through `ssh dev8@workspace CMD`.
BASE_VERSIONS = {
    "gh --version": r"(?m)^gh version \d+",
    "git --version": r"^git version \d+",
    "command -v mount.cifs": r"^/usr/sbin/mount\.cifs\n",  # it needs capabilities to run at all
    "showmount --version": r"showmount",
}
NODE_VERSIONS = {
    "node --version": r"^v24\.",
    "npm --version": r"^\d+\.",
    "pnpm --version": r"^\d+\.",
    "yarn --version": r"^4\.",
    "corepack --version": r"^\d+\.",
}
PYTHON_VERSIONS = {
    "python --version": r"^Python 3\.11\.",
    "pip --version": r"^pip \d+",
    "uv --version": r"^uv \d+",
    "poetry --version": r"Poetry \(version \d+",
    "pipenv --version": r"version \d+",
    "black --version": r"^black, \d+",
    "pytest --version": r"pytest \d+",
    "ipython --version": r"^\d+\.",
    "jupyter lab --version": r"^\d+\.",
}
GO_VERSIONS = {"go version": r"^go version go1\.26\.", "go env GOPATH": r"^/home/dev8/go\n"}
RUST_VERSIONS = {
    "rustc --version": r"^rustc \d+",
    "cargo --version": r"^cargo \d+",
    "rustfmt --version": r"^rustfmt \d+",
    "cargo clippy --version": r"^clippy \d+",
    # A project built in a session, with cargo's home the user's (the issue's `ssh ws cargo build`).
    "cd /tmp && rm -rf hello && cargo new -q --vcs none hello && cd hello && cargo build -q --offline"
    " && ./target/debug/hello": r"^Hello, world!",
}
WORKSPACE_VERSIONS = {
    "bun --version": r"^1\.",
    "claude --version": r"\d+\.\d+\.\d+",
    "gemini --version": r"\d+\.\d+\.\d+",
    "codex --version": r"\d+\.\d+\.\d+",
    "gpt --version": r"(?i)codex",
    "aws --version": r"^aws-cli/2\.",
    "az version": r'"azure-cli": "2\.91\.0"',
    "code-server --version": r"^4\.139\.1 ",
}
SSH_VERSIONS = {
    "base": BASE_VERSIONS,
    "nodejs": BASE_VERSIONS | NODE_VERSIONS,
    "python": BASE_VERSIONS | PYTHON_VERSIONS,
    "go": BASE_VERSIONS | GO_VERSIONS,
    "rust": BASE_VERSIONS | RUST_VERSIONS,
    "workspace": BASE_VERSIONS | NODE_VERSIONS | PYTHON_VERSIONS | GO_VERSIONS | RUST_VERSIONS | WORKSPACE_VERSIONS,
}

# Run as root in the image: what the build left where nothing may stay. Prints one finding a line.
HYGIENE = r"""
find /root -mindepth 1 -maxdepth 1 ! -name .bashrc ! -name .profile -printf 'left in /root: %p\n'
find /tmp /var/tmp -mindepth 1 -maxdepth 1 -printf 'left in a temporary directory: %p\n'
find / -xdev \( -path /proc -o -path /sys -o -path /dev \) -prune -o -type d \
  \( -name .cache -o -name .npm -o -name node-compile-cache -o -name .node-gyp -o -name .pnpm-store \
     -o -name go-build \) -printf 'cache directory: %p\n'
find /var/cache/apt -type f \( -name '*.deb' -o -name '*.bin' \) -printf 'apt cache: %p\n'
find /var/lib/apt/lists -type f ! -name lock -printf 'apt list: %p\n' 2>/dev/null
find /home/dev8 ! -user dev8 -printf 'not dev8'"'"'s, in its home: %p (%u)\n'
# World-writable: only the sticky scratch directories that the FHS or a package define for all users.
find / -xdev \( -path /proc -o -path /sys -o -path /dev \) -prune -o -perm -0002 ! -type l -printf '%p %M\n' |
  while read -r path mode; do
    case "$path $mode" in
      "/tmp drwxrwxrwt" | "/var/tmp drwxrwxrwt" | "/run/lock drwxrwxrwt" | "/run/screen drwxrwxrwt") ;;
      *) printf 'world-writable: %s %s\n' "$path" "$mode" ;;
    esac
  done
"""


def run_line(line: str, env: Mapping[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """A shell line as a user types it (`podman run ... && echo ...`)."""
    return subprocess.run(
        ["bash", "-c", line], env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize(
    ("command", "image"), README_CASES, ids=[f"{i}: {c.line.split(':latest ', 1)[1]}" for c, i in README_CASES]
)
def test_original_readme_command_as_written(
    command: ReadmeCommand, image: str, offline_image: Callable[[str], str], podman_env: Mapping[str, str]
) -> None:
    line = as_run_by(command.line, "podman", offline_image(image))
    result = run_line(line, podman_env)
    assert result.returncode == 0, f"{line}\nexit {result.returncode}\n{result.stdout}{result.stderr}"
    assert re.search(command.expected, result.stdout), f"{line}\nprinted {result.stdout!r}"
    assert "SSH_PUBLIC_KEY" not in result.stderr


@pytest.mark.parametrize(("argv", "expected"), WORKSPACE_TOOLS, ids=[" ".join(a) for a, _ in WORKSPACE_TOOLS])
def test_original_workspace_tool_runs(
    argv: tuple[str, ...], expected: str, offline_image: Callable[[str], str], podman_env: Mapping[str, str]
) -> None:
    result = podman(["run", "--rm", offline_image("workspace"), *argv], podman_env, check=False, timeout=300)
    assert result.returncode == 0, f"{argv}: exit {result.returncode}\n{result.stdout}{result.stderr}"
    assert re.search(expected, result.stdout), f"{argv} printed {result.stdout!r}"


def test_original_workspace_rust_analyzer(offline_image: Callable[[str], str], podman_env: Mapping[str, str]) -> None:
    if OFFLINE_BUILD_ARGS.get("RUST_SOURCE") == "distro":
        pytest.skip("rust-analyzer comes with rustup only; the offline build takes Debian's Rust")
    result = podman(["run", "--rm", offline_image("workspace"), "rust-analyzer", "--version"], podman_env, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rust-analyzer ")


def test_command_exit_status_and_stdin_pass_through(
    offline_image: Callable[[str], str], podman_env: Mapping[str, str]
) -> None:
    result = subprocess.run(
        ["podman", "run", "--rm", "-i", offline_image("base"), "sh", "-c", "tr a-z A-Z; exit 5"],
        env=dict(podman_env),
        input="hello\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 5, result.stderr
    assert result.stdout == "HELLO\n"


@pytest.fixture(scope="module")
def ssh_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key(tmp_path_factory.mktemp("ssh"), "dev8")


@pytest.fixture(scope="module", params=IMAGES)
def serving(
    request: pytest.FixtureRequest,
    offline_image: Callable[[str], str],
    podman_env: Mapping[str, str],
    ssh_key: Path,
) -> Iterator[tuple[str, Workspace]]:
    """A container of each image, serving as in production (no command), and its image's name."""
    name = str(request.param)
    ws = Workspace.start(
        offline_image(name), podman_env, {"SSH_PUBLIC_KEY": ssh_key.with_suffix(".pub").read_text().strip()}
    )
    try:
        ws.wait_for_ssh(ssh_key)
        yield name, ws
    finally:
        ws.remove()


def test_ssh_command_sessions_get_the_image_environment(
    serving: tuple[str, Workspace], ssh_key: Path, offline_image: Callable[[str], str], podman_env: Mapping[str, str]
) -> None:
    name, ws = serving
    expected = image_env(offline_image(name), podman_env)
    session = ws.ssh(ssh_key, "env")
    assert session.returncode == 0, session.stderr
    assert_image_env(parse_env(session.stdout), expected, "ssh ws env")


def test_ssh_login_shells_get_the_image_environment(
    serving: tuple[str, Workspace], ssh_key: Path, offline_image: Callable[[str], str], podman_env: Mapping[str, str]
) -> None:
    """A login shell's /etc/profile resets PATH; the image's comes back, for `bash -l` and for an
    interactive session on a terminal."""
    name, ws = serving
    expected = image_env(offline_image(name), podman_env)
    login = ws.ssh(ssh_key, "bash -lc env")
    assert login.returncode == 0, login.stderr
    assert_image_env(parse_env(login.stdout), expected, "ssh ws bash -lc env", login=True)
    interactive = ws.ssh(ssh_key, None, extra=("-tt",), stdin="echo BEGIN-ENV; env; echo END-ENV; exit\n")
    lines = [line.rstrip("\r") for line in interactive.stdout.splitlines()]
    assert "BEGIN-ENV" in lines, interactive.stdout + interactive.stderr
    shown = lines[lines.index("BEGIN-ENV") + 1 : lines.index("END-ENV")]
    assert_image_env(parse_env("\n".join(shown)), expected, "interactive ssh session", login=True)


def test_ssh_sessions_run_every_language(serving: tuple[str, Workspace], ssh_key: Path) -> None:
    name, ws = serving
    failures: list[str] = []
    for command, expected in SSH_VERSIONS[name].items():
        result = ws.ssh(ssh_key, command, timeout=300)
        if result.returncode != 0 or not re.search(expected, result.stdout + result.stderr):
            failures.append(f"ssh ws {shlex.quote(command)}: exit {result.returncode}: {result.stdout}{result.stderr}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", IMAGES)
def test_build_leaves_nothing_behind(
    name: str, offline_image: Callable[[str], str], podman_env: Mapping[str, str]
) -> None:
    """No files under /root, /tmp or caches from the build; no world-writable file outside the
    shared scratch directories (/tmp, /var/tmp, /run/lock, and /run/screen for screen's sockets)."""
    argv = ["run", "--rm", "--user", "root", "--entrypoint", "/bin/bash", offline_image(name), "-c", HYGIENE]
    result = podman(argv, podman_env, check=False, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "", result.stdout
