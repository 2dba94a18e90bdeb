"""The catalog loader: a good catalog loads, and each kind of mistake fails with file, image and key."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from dagger import dag

from pipeline import Dev8, catalog
from tests.support import fake_export


@pytest.fixture
def tree(tmp_path: Path, repo_root: Path) -> Path:
    """A copy of the files the catalog reads, to break on purpose."""
    shutil.copytree(repo_root / "docker", tmp_path / "docker")
    (tmp_path / "apps/supervisor").mkdir(parents=True)
    return tmp_path


def edit_catalog(root: Path, change: Callable[[dict[str, object]], object]) -> None:
    path = root / catalog.CATALOG_PATH
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--root", str(root), "check"], capture_output=True, text=True, check=False
    )


def test_catalog_loads_with_parents_first(loaded_catalog: catalog.Catalog) -> None:
    for image in loaded_catalog.images.values():
        if image.parent:
            names = list(loaded_catalog.images)
            assert names.index(image.parent) < names.index(image.name)
    base = loaded_catalog.image("base")
    assert [u.feature.name for u in base.features][:1] == ["system-packages"]
    assert base.supervisor
    assert base.tests[0] == "docker/base/tests.yaml"


def test_check_command_passes_on_the_repository(repo_root: Path) -> None:
    result = check(repo_root)
    assert result.returncode == 0, result.stderr
    assert "base" in result.stdout


def images(data: dict[str, object]) -> dict[str, dict[str, object]]:
    return data["images"]  # type: ignore[return-value]


def add_child(data: dict[str, object], name: str, **spec: object) -> None:
    images(data)[name] = {"description": name, "parent": "base", **spec}


CASES: list[tuple[str, Callable[[dict[str, object]], object], str]] = [
    (
        "feature typo",
        lambda d: images(d)["base"]["features"].append("sshd-typo"),  # type: ignore[union-attr]
        "image 'base': features[4]: unknown feature 'sshd-typo'",
    ),
    (
        "cycle",
        lambda d: (add_child(d, "left", parent="right"), add_child(d, "right", parent="left")),
        "cycle between images: left -> right -> left",
    ),
    ("unknown parent", lambda d: add_child(d, "child", parent="nope"), "image 'child': parent: unknown image 'nope'"),
    (
        "wrong type",
        lambda d: images(d)["base"].update(ports="2222"),
        "image 'base': ports: expected a list, got a string",
    ),
    (
        "bad port",
        lambda d: images(d)["base"].update(ports=[2222, "x"]),
        "image 'base': ports[1]: expected a port number",
    ),
    (
        "option of the wrong type",
        lambda d: images(d)["base"].update(features=[{"github-cli": {"source": 3}}]),
        "image 'base': features[0].github-cli.source: expected string, got an integer 3",
    ),
    (
        "option value outside its choices",
        lambda d: images(d)["base"].update(features=[{"github-cli": {"source": "ftp"}}]),
        "features[0].github-cli.source: 'ftp' is not one of github, distro",
    ),
    (
        "unknown option",
        lambda d: images(d)["base"].update(features=[{"github-cli": {"colour": "red"}}]),
        "features[0].github-cli.colour: unknown option of feature 'github-cli'",
    ),
    ("unknown key", lambda d: images(d)["base"].update(prots=[1]), "image 'base': prots: unknown key"),
    ("from and parent", lambda d: images(d)["base"].update(parent="base"), "exactly one of 'from' or 'parent'"),
    (
        "missing tests file",
        lambda d: images(d)["base"].update(tests="docker/base/nope.yaml"),
        "image 'base': tests: file not found: docker/base/nope.yaml",
    ),
    (
        "reserved image name",
        lambda d: add_child(d, "go-caches"),
        "image name 'go-caches' is reserved: dev8-go-caches holds Go caches",
    ),
    (
        "duplicate feature",
        lambda d: add_child(d, "twice", features=["sshd"]),
        "image 'twice': features[0]: feature 'sshd' is already included",
    ),
]


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_catalog_fails_with_one_clear_line(
    tree: Path, change: Callable[[dict[str, object]], None], message: str
) -> None:
    edit_catalog(tree, change)
    result = check(tree)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {catalog.CATALOG_PATH}: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_missing_install_script_names_the_feature_file(tree: Path) -> None:
    (tree / "docker/features/sshd/install.sh").unlink()
    result = check(tree)
    assert result.returncode == 1
    assert (
        "docker/features/sshd/feature.yaml: install.sh: file not found: docker/features/sshd/install.sh"
        in result.stderr
    )


def test_bad_feature_option_declaration_names_the_feature_file(tree: Path) -> None:
    path = tree / "docker/features/github-cli/feature.yaml"
    data = yaml.safe_load(path.read_text())
    data["options"]["source"]["default"] = True
    path.write_text(yaml.safe_dump(data))
    result = check(tree)
    assert (
        "docker/features/github-cli/feature.yaml: options.source.default: expected string, got a boolean True"
        in result.stderr
    )


def test_yaml_syntax_error_names_the_file(tree: Path) -> None:
    (tree / catalog.CATALOG_PATH).write_text("images: [unclosed\n")
    result = check(tree)
    assert result.returncode == 1
    assert result.stderr.startswith("error: docker/images.yaml: (syntax): ")


async def test_module_functions_raise_the_same_message(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edit_catalog(tree, lambda d: images(d)["base"]["features"].append("sshd-typo"))  # type: ignore[union-attr]
    fake_export.install(monkeypatch, tree)
    with pytest.raises(catalog.CatalogError) as error:
        await Dev8(source=dag.directory()).base()
    assert str(error.value) == check(tree).stderr.removeprefix("error: ").strip()


async def test_unknown_image_and_option_are_refused_by_the_module(
    repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_export.install(monkeypatch, repo_root)
    module = Dev8(source=dag.directory())
    with pytest.raises(catalog.CatalogError, match="unknown image 'nope'"):
        await module.image("nope")
    with pytest.raises(catalog.CatalogError, match=r"option 'github-cli\.sauce': not an option"):
        await module.base(["github-cli.sauce=distro"])
    with pytest.raises(catalog.CatalogError, match="'ftp' is not one of github, distro"):
        await module.base(["github-cli.source=ftp"])


def test_feature_digest_follows_what_install_sh_can_read(tree: Path) -> None:
    """The digest is labelled before each install step, so podman rebuilds a changed feature."""
    before = catalog.load_feature(tree, "sshd").digest
    (tree / "docker/features/sshd/tests.yaml").write_text("schemaVersion: 2.0.0\n")
    assert catalog.load_feature(tree, "sshd").digest == before
    script = tree / "docker/features/sshd/install.sh"
    script.write_text(script.read_text() + "\n# changed\n")
    assert catalog.load_feature(tree, "sshd").digest != before
