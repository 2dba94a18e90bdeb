"""What the original Dev8 images' README (docker/ARCHITECTURE.md of Dev8.dev, "🧪 Testing" and
"📦 Image Contents") tells a user to run, kept as written, with what each must print.

The executor is left to the caller: `as_run_by(line, engine, image)` turns a README line into the
same line for another engine and image reference (`podman run --rm localhost/dev8/base:test ...`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class ReadmeCommand:
    line: str  # exactly as the README writes it
    expected: str  # RE2-compatible pattern that stdout must match
    images: tuple[str, ...]  # the catalog images that have the tool


_ALL: Final = ("base", "nodejs", "python", "go", "rust", "workspace")

# "### Verify Base Image" and "### Verify Workspace Image", in the README's order.
VERIFICATION: Final = (
    ReadmeCommand(
        "docker run --rm dev8-base:latest test -f /usr/local/bin/workspace-supervisor"
        ' && echo "✅ Supervisor installed"',
        "✅ Supervisor installed",
        _ALL,
    ),
    ReadmeCommand("docker run --rm dev8-base:latest gh --version", r"(?m)^gh version \d+\.\d+", _ALL),
    ReadmeCommand('docker run --rm dev8-base:latest grep "Port 2222" /etc/ssh/sshd_config', r"(?m)^Port 2222$", _ALL),
    ReadmeCommand("docker run --rm dev8-workspace:latest node --version", r"^v24\.\d+\.\d+", ("nodejs", "workspace")),
    ReadmeCommand(
        "docker run --rm dev8-workspace:latest python --version", r"^Python 3\.11\.\d+", ("python", "workspace")
    ),
    ReadmeCommand(
        "docker run --rm dev8-workspace:latest go version", r"^go version go1\.26\.\d+ ", ("go", "workspace")
    ),
    ReadmeCommand(
        "docker run --rm dev8-workspace:latest rustc --version", r"^rustc \d+\.\d+\.\d+", ("rust", "workspace")
    ),
    ReadmeCommand("docker run --rm dev8-workspace:latest bun --version", r"^1\.\d+\.\d+", ("workspace",)),
    ReadmeCommand(
        "docker run --rm dev8-workspace:latest code-server --version", r"^4\.139\.1 [0-9a-f]+ with Code", ("workspace",)
    ),
    ReadmeCommand("docker run --rm dev8-workspace:latest aws --version", r"^aws-cli/2\.\d+\.\d+ ", ("workspace",)),
    ReadmeCommand("docker run --rm dev8-workspace:latest az version", r'"azure-cli": "2\.91\.0"', ("workspace",)),
)

# "### dev8-workspace": the tools it lists besides the verified ones, as a user would call them
# (argv after the image), with what each must print. `gh copilot` is left out: its extension
# installs at first use, from GitHub.
WORKSPACE_TOOLS: Final = (
    (("npm", "--version"), r"^\d+\.\d+\.\d+"),
    (("pnpm", "--version"), r"^\d+\.\d+\.\d+"),
    (("yarn", "--version"), r"^4\.\d+\.\d+"),
    (("pip", "--version"), r"^pip \d+.*python 3\.11"),
    (("poetry", "--version"), r"Poetry \(version \d+"),
    (("pipenv", "--version"), r"pipenv, version \d+"),
    (("black", "--version"), r"^black, \d+"),
    (("pytest", "--version"), r"pytest \d+"),
    (("ipython", "--version"), r"^\d+\.\d+"),
    (("jupyter", "lab", "--version"), r"^\d+\.\d+\.\d+"),
    (("go", "env", "GOPATH"), r"^/home/dev8/go\n"),
    (("cargo", "--version"), r"^cargo \d+\.\d+"),
    (("rustfmt", "--version"), r"^rustfmt \d+\.\d+"),
    (("cargo", "clippy", "--version"), r"^clippy \d+\.\d+"),
    (("git", "lfs", "version"), r"^git-lfs/\d+\.\d+"),
    (("/home/dev8/.local/bin/claude", "--version"), r"\d+\.\d+\.\d+ \(Claude Code\)"),
    (("/home/dev8/.local/bin/gemini", "--version"), r"^\d+\.\d+\.\d+"),
    (("/home/dev8/.local/bin/gpt", "--version"), r"(?i)^codex[- ]cli \d+\.\d+\.\d+"),
    (("/home/dev8/.backup-scripts/backup.sh", "--help"), r"Usage: backup\.sh \[--async\]"),
)


def as_run_by(line: str, engine: str, image: str) -> str:
    """The README line with `docker run --rm dev8-<name>:latest` replaced by `<engine> run --rm <image>`."""
    for original in ("dev8-base:latest", "dev8-workspace:latest"):
        prefix = f"docker run --rm {original} "
        if line.startswith(prefix):
            return f"{engine} run --rm {image} {line.removeprefix(prefix)}"
    raise ValueError(f"not a `docker run --rm dev8-...:latest` line: {line!r}")
