"""The committed Dockerfiles build with podman on the offline stand-in images, and the images start."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.podman import podman

pytestmark = pytest.mark.podman


@pytest.fixture(scope="module")
def ssh_public_key(tmp_path_factory: pytest.TempPathFactory) -> str:
    key = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return Path(f"{key}.pub").read_text().strip()


def test_base_builds_offline_and_starts(base_image: str, ssh_public_key: str) -> None:
    result = podman(
        "run", "--rm", "-e", f"SSH_PUBLIC_KEY={ssh_public_key}", base_image, "workspace-supervisor", "version"
    )
    assert result.stdout.strip() == "dev"


def test_base_image_config_matches_the_catalog(base_image: str) -> None:
    inspect = podman("image", "inspect", "--format", "{{.Config.User}} {{json .Config.Entrypoint}}", base_image)
    assert inspect.stdout.strip() == 'dev8 ["/usr/local/bin/entrypoint.sh"]'
    ports = podman("image", "inspect", "--format", "{{json .Config.ExposedPorts}}", base_image).stdout
    assert '"2222/tcp"' in ports
    assert '"9000/tcp"' in ports
