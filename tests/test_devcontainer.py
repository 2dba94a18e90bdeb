"""The features as Dev Container Features: the committed devcontainer-feature.json files are rendered
from feature.yaml, the catalog refuses bad `installs-after` and `devcontainer` values, the install
scripts read the Dev Container option names and install for the remote user, and the real Dev
Containers CLI packages every feature and builds an image from several of them on the stand-in base
with podman, where the features' own tests pass.

The CLI is the one .ci/run installs in $DEV8_CACHE_DIR/devcontainers-cli (or `devcontainer` on PATH).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline import catalog, devcontainer
from pipeline.structure_tests import Report, load_suite, run_suite
from tests.conftest import OFFLINE_BUILD_ARGS
from tests.support import podman as podman_support
from tests.support.podman import CACHE_DIR
from tests.support.podman_structure import structure_container

CLI_INSTALLED = CACHE_DIR / "devcontainers-cli/node_modules/.bin/devcontainer"
BUILT_TAG = "localhost/dev8-devcontainer/features:test"
# Listed in devcontainer.json in this order, with the offline options: the CLI must install
# ai-clis after nodejs and user from their installsAfter (alone it would sort ai-clis first).
BUILT_FEATURES = ("ai-clis", "git-lfs", "go", "nodejs", "python", "rust", "sshd", "user")


def feature_names(repo_root: Path) -> list[str]:
    return devcontainer.feature_names(repo_root)


# --- rendered files and catalog keys (no containers) ----------------------------------------------


def test_committed_devcontainer_features_are_rendered_from_feature_yaml(repo_root: Path) -> None:
    names = feature_names(repo_root)
    assert len(names) >= 15
    for name in names:
        committed = repo_root / catalog.FEATURES_DIR / name / devcontainer.FILE_NAME
        assert committed.is_file(), f"{committed} missing: run python -m pipeline render"
        expected = devcontainer.render(catalog.load_feature(repo_root, name))
        assert committed.read_text(encoding="utf-8") == expected, (
            f"{committed} is out of date with its feature.yaml: run python -m pipeline render"
        )


def test_each_file_is_the_feature_under_the_specs_names(repo_root: Path) -> None:
    for name in feature_names(repo_root):
        feature = catalog.load_feature(repo_root, name)
        data = json.loads((repo_root / feature.directory / devcontainer.FILE_NAME).read_text())
        assert data["id"] == name
        assert re.fullmatch(r"\d+\.\d+\.\d+", data["version"])
        assert data["name"]
        assert data["description"] == feature.description
        assert list(data.get("options", {})) == list(feature.options)
        for option_name, option in feature.options.items():
            spec = data["options"][option_name]
            assert spec["type"] in ("string", "boolean")
            assert spec["default"] == (option.default if option.type == "boolean" else str(option.default))
            assert spec.get("enum", []) == list(option.choices)
        assert data.get("installsAfter", []) == [f"ghcr.io/dev8/features/{n}" for n in feature.installs_after]


def test_the_renderer_follows_feature_yaml(tmp_path: Path, repo_root: Path) -> None:
    """Not a copy of the committed files: a changed feature.yaml changes the rendered file."""
    tree = copy_tree(tmp_path, repo_root)
    edit_feature(tree, "go", lambda d: d["devcontainer"].update(version="2.3.4"))
    edit_feature(tree, "go", lambda d: d["options"]["source"].update(enum=["proxy"], default="proxy"))
    data = json.loads(devcontainer.render(catalog.load_feature(tree, "go")))
    assert data["version"] == "2.3.4"
    assert data["options"]["source"] == {
        "type": "string",
        "default": "proxy",
        "enum": ["proxy"],
        "description": catalog.load_feature(tree, "go").options["source"].description,
    }


def test_render_writes_the_feature_files_before_the_dockerfiles(tmp_path: Path, repo_root: Path) -> None:
    """The features' digests (in the Dockerfiles) include devcontainer-feature.json: one render
    leaves both up to date."""
    tree = copy_tree(tmp_path, repo_root, with_dockerfiles=True)
    edit_feature(tree, "git-lfs", lambda d: d["devcontainer"].update(version="1.0.1"))
    result = pipeline_cli(tree, "render")
    assert result.returncode == 0, result.stderr
    assert '"version": "1.0.1"' in (tree / "docker/features/git-lfs" / devcontainer.FILE_NAME).read_text()
    git_lfs = catalog.load_feature(tree, "git-lfs").digest
    assert f'LABEL dev8.feature.git-lfs.digest="{git_lfs}"' in (tree / "docker/workspace/Dockerfile").read_text()


@pytest.mark.parametrize(
    ("option", "variable"),
    [("source", "SOURCE"), ("yq-source", "YQ_SOURCE"), ("claude-version", "CLAUDE_VERSION"), ("9lives", "_LIVES")],
)
def test_option_variable_is_the_clis_rule(option: str, variable: str) -> None:
    """The CLI's rule (its `getSafeId`): non-word characters to `_`, leading digits and `_` to one `_`,
    upper case. The build below reads the names the real CLI wrote."""
    assert devcontainer.option_variable(option) == variable


def test_install_scripts_read_each_option_under_both_names(repo_root: Path) -> None:
    for name in feature_names(repo_root):
        feature = catalog.load_feature(repo_root, name)
        script = (repo_root / feature.directory / "install.sh").read_text()
        for option in feature.options:
            call = f"option {devcontainer.option_variable(option)} {catalog.option_variable(name, option)} "
            assert call in script, f"{feature.directory}/install.sh does not read option {option!r} as `{call}...`"
        assert "/tmp/dev8-feature" not in script, f"{name}: install.sh finds its folder from $0"


def test_container_env_agrees_with_the_images(loaded_catalog: catalog.Catalog) -> None:
    """What a feature sets as a Dev Container Feature, each image that has it sets too."""
    checked = 0
    for image in loaded_catalog.images.values():
        path = image.env.get("PATH", "").split(":")
        for use in image.features:
            info = use.feature.devcontainer
            for key, value in (info.container_env if info else {}).items():
                checked += 1
                if key == "PATH":
                    missing = [d for d in value.split(":") if d != "${PATH}" and d not in path]
                    assert missing == [], f"image {image.name}: PATH lacks {missing} ({use.feature.name})"
                else:
                    assert image.env.get(key) == value, f"image {image.name}: {key} ({use.feature.name})"
    assert checked > 0


BAD_FEATURES: list[tuple[str, str, Callable[[dict[str, Any]], object], str]] = [
    (
        "unknown installs-after",
        "ai-clis",
        lambda d: d.update({"installs-after": ["nodjs"]}),
        "docker/features/ai-clis/feature.yaml: installs-after[0]: 'nodjs' is not another feature (known: ai-clis,",
    ),
    (
        "installs after itself",
        "ai-clis",
        lambda d: d.update({"installs-after": ["user", "ai-clis"]}),
        "docker/features/ai-clis/feature.yaml: installs-after[1]: 'ai-clis' is not another feature",
    ),
    (
        "installs-after a path",
        "ai-clis",
        lambda d: d.update({"installs-after": ["../features/nodejs"]}),
        "installs-after[0]: '../features/nodejs' is not another feature",
    ),
    (
        "installs-after not a list",
        "ai-clis",
        lambda d: d.update({"installs-after": "nodejs"}),
        "docker/features/ai-clis/feature.yaml: installs-after: expected a list, got a string",
    ),
    (
        "version not semantic",
        "go",
        lambda d: d["devcontainer"].update(version="1.0"),
        "docker/features/go/feature.yaml: devcontainer.version: expected a version MAJOR.MINOR.PATCH",
    ),
    (
        "version a number",
        "go",
        lambda d: d["devcontainer"].update(version=1.5),
        "docker/features/go/feature.yaml: devcontainer.version: expected a string, got float 1.5",
    ),
    (
        "devcontainer without name",
        "go",
        lambda d: d["devcontainer"].pop("name"),
        "docker/features/go/feature.yaml: devcontainer.name: missing",
    ),
    (
        "devcontainer unknown key",
        "go",
        lambda d: d["devcontainer"].update(installsAfter=["nodejs"]),
        "docker/features/go/feature.yaml: devcontainer.installsAfter: unknown key",
    ),
    (
        "devcontainer not a mapping",
        "go",
        lambda d: d.update(devcontainer="Go"),
        "docker/features/go/feature.yaml: devcontainer: expected a mapping, got a string",
    ),
    (
        "container-env name",
        "rust",
        lambda d: d["devcontainer"]["container-env"].update({"RUST-HOME": "/x"}),
        "docker/features/rust/feature.yaml: devcontainer.container-env.RUST-HOME: not an environment variable name",
    ),
    (
        "container-env value",
        "rust",
        lambda d: d["devcontainer"]["container-env"].update({"RUST_DEBUG": True}),
        "docker/features/rust/feature.yaml: devcontainer.container-env.RUST_DEBUG: expected a string, got a boolean",
    ),
    (
        "container-env a list",
        "rust",
        lambda d: d["devcontainer"].update({"container-env": ["PATH=/x"]}),
        "docker/features/rust/feature.yaml: devcontainer.container-env: expected a mapping, got a list",
    ),
]


@pytest.mark.parametrize(
    ("feature", "change", "message"), [c[1:] for c in BAD_FEATURES], ids=[c[0] for c in BAD_FEATURES]
)
def test_bad_feature_keys_fail_check_naming_file_and_key(
    tmp_path: Path, repo_root: Path, feature: str, change: Callable[[dict[str, Any]], object], message: str
) -> None:
    tree = copy_tree(tmp_path, repo_root)
    edit_feature(tree, feature, change)
    result = pipeline_cli(tree, "check")
    assert result.returncode == 1
    assert result.stderr.startswith("error: "), result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_image_listing_a_feature_before_what_it_installs_after_fails(tmp_path: Path, repo_root: Path) -> None:
    tree = copy_tree(tmp_path, repo_root)
    path = tree / catalog.CATALOG_PATH
    data = yaml.safe_load(path.read_text())
    features: list[str] = data["images"]["workspace"]["features"]
    features.remove("nodejs")
    features.append("nodejs")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = pipeline_cli(tree, "check")
    assert result.returncode == 1
    index = features.index("nodejs")
    assert (
        f"docker/images.yaml: image 'workspace': features[{index}]: 'nodejs' must come before 'ai-clis', which "
        "installs after it (docker/features/ai-clis/feature.yaml: installs-after)"
    ) in result.stderr


def test_render_refuses_a_feature_without_devcontainer_and_writes_nothing(tmp_path: Path, repo_root: Path) -> None:
    tree = copy_tree(tmp_path, repo_root)
    edit_feature(tree, "sshd", lambda d: d.pop("devcontainer"))
    before = (tree / "docker/features/ai-clis" / devcontainer.FILE_NAME).read_bytes()
    edit_feature(tree, "ai-clis", lambda d: d["devcontainer"].update(version="9.9.9"))
    assert pipeline_cli(tree, "check").returncode == 0  # images need no Dev Container metadata
    result = pipeline_cli(tree, "render")
    assert result.returncode == 1
    assert result.stderr.startswith("error: docker/features/sshd/feature.yaml: devcontainer: missing: ")
    assert (tree / "docker/features/ai-clis" / devcontainer.FILE_NAME).read_bytes() == before


def test_the_release_publishes_where_installs_after_points_with_the_pinned_cli(repo_root: Path) -> None:
    workflow = yaml.safe_load((repo_root / ".github/workflows/docker-images.yml").read_text())
    [step] = [s for s in workflow["jobs"]["publish"]["steps"] if "features publish" in s.get("run", "")]
    command = " ".join(step["run"].replace("\\\n", " ").split())
    assert (
        f"features publish --registry {devcontainer.REGISTRY} --namespace {devcontainer.NAMESPACE} "
        f"{catalog.FEATURES_DIR}" in command
    )
    assert devcontainer.feature_id("nodejs") == f"{devcontainer.REGISTRY}/{devcontainer.NAMESPACE}/nodejs"
    assert step["if"] == "${{ github.repository_owner == '" + devcontainer.NAMESPACE.split("/")[0] + "' }}"
    ci_run = (repo_root / ".ci/run").read_text()
    for name, value in (("VERSION", step["env"]["CLI_VERSION"]), ("INTEGRITY", step["env"]["CLI_INTEGRITY"])):
        assert f'readonly DEVCONTAINERS_CLI_{name}="{value}"' in ci_run, f"the workflow and .ci/run pin another {name}"


# --- the install scripts as Dev Container Features (podman, stand-in base) --------------------------


def run_script(debian: str, feature_dir: Path, script: str, env: dict[str, str]) -> tuple[int, str]:
    """Runs `script` as root in a throwaway stand-in container with the feature folder at /feature,
    where no build of dev8 puts it."""
    flags = [f"--env={k}={v}" for k, v in env.items()]
    argv = ["run", "--rm", "--user", "root", f"--volume={feature_dir}:/feature:ro", *flags, debian, "bash", "-c"]
    result = podman([*argv, script], check=False, timeout=900)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.podman
@pytest.mark.parametrize(
    ("env", "read"),
    [
        ({"GO_VERSION": "1.99.0"}, "1.99.0"),
        # A base image's ENV holding the other name does not change what each builder passes.
        ({"VERSION": "1.98.0", "GO_VERSION": "1.99.0"}, "1.99.0"),
        ({"_REMOTE_USER": "root", "VERSION": "1.98.0", "GO_VERSION": "1.99.0"}, "1.98.0"),
        ({"_REMOTE_USER": "root", "GO_VERSION": "1.99.0"}, "1.99.0"),
    ],
    ids=["dev8 name", "dev8 build ignores VERSION", "devcontainer name wins", "devcontainer falls back"],
)
def test_options_under_each_builders_name(
    env: dict[str, str], read: str, standin_images: tuple[str, str], repo_root: Path
) -> None:
    """go/install.sh stops on an unpinned version before it downloads anything: which version it
    names tells which variable it read."""
    code, output = run_script(standin_images[0], repo_root / "docker/features/go", "/feature/install.sh", env)
    assert code != 0
    assert f"no pinned checksum for Go {read} " in output, output


@pytest.mark.podman
def test_user_sshd_and_backup_script_for_a_remote_user(standin_images: tuple[str, str], repo_root: Path) -> None:
    """With the remote user `node` of a base image (UID 1000, as in the official Node.js images), the
    user feature keeps that account, sshd admits it with its host key in its home, and backup.sh
    lands in its home; with root as remote user, the user feature makes dev8 and sshd refuses."""
    features = repo_root / "docker/features"
    script = """
        set -e
        groupadd --gid 1000 node && useradd --uid 1000 --gid 1000 --create-home --shell /bin/sh node
        /features/user/install.sh
        /features/sshd/install.sh
        /features/backup-script/install.sh
        echo "passwd: $(getent passwd node)"
        stat -c 'workspace: %U %a' /workspace
        echo "sudo: $(cat /etc/sudoers.d/node)"
        grep -E '^(AllowUsers|HostKey) ' /etc/ssh/sshd_config
        stat -c 'backup: %U %a %n' /home/node/.backup-scripts/backup.sh
        getent passwd dev8 || echo "no dev8"
    """
    run = ["run", "--rm", "--user", "root", f"--volume={features}:/features:ro"]
    flags = ["--env=_REMOTE_USER=node", "--env=_REMOTE_USER_HOME="]
    result = podman([*run, *flags, standin_images[0], "bash", "-c", script], check=False, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "passwd: node:x:1000:1000::/home/node:/bin/bash" in output
    assert "workspace: node 755" in output
    assert "sudo: node ALL=(root) NOPASSWD: /usr/bin/apt-get, /usr/bin/apt, /usr/bin/dpkg" in output
    assert "\nAllowUsers node\n" in output
    assert "\nHostKey /home/node/.ssh/hostkeys/ssh_host_ed25519_key\n" in output
    assert "backup: node 755 /home/node/.backup-scripts/backup.sh" in output
    assert "no dev8" in output

    script = "/features/user/install.sh && id dev8 && /features/sshd/install.sh"
    as_root = ["--env=_REMOTE_USER=root", standin_images[0]]
    result = podman([*run, *as_root, "bash", "-c", script], check=False, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "uid=1000(dev8) gid=1000(dev8)" in output
    assert "sshd: error: the remote user is root: this sshd runs as, and admits only, an unprivileged user" in output


# --- the real Dev Containers CLI ------------------------------------------------------------------


@pytest.fixture(scope="session")
def cli() -> str:
    found = str(CLI_INSTALLED) if CLI_INSTALLED.is_file() else shutil.which("devcontainer")
    if not found:
        pytest.skip(f"the Dev Containers CLI is not installed ({CLI_INSTALLED}, by .ci/run, or devcontainer on PATH)")
    return found


@pytest.mark.podman
def test_the_cli_packages_every_feature(cli: str, repo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    result = subprocess.run(
        [cli, "features", "package", str(repo_root / catalog.FEATURES_DIR), "--output-folder", str(out)],
        env=podman_support.env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    collection = json.loads((out / "devcontainer-collection.json").read_text())
    names = feature_names(repo_root)
    assert sorted(f["id"] for f in collection["features"]) == names
    for name in names:
        with tarfile.open(out / f"devcontainer-feature-{name}.tgz") as archive:
            members = {m.name.removeprefix("./") for m in archive.getmembers()}
        assert {"install.sh", "devcontainer-feature.json", "feature.yaml"} <= members, (name, members)
        feature = catalog.load_feature(repo_root, name)
        assert (feature.tests is None) or ("tests.yaml" in members)
        entry = next(f for f in collection["features"] if f["id"] == name)
        assert entry["version"] == json.loads(devcontainer.render(feature))["version"]


def offline_options(name: str, repo_root: Path) -> dict[str, str]:
    """The feature's options that scripts/offline-build-args sets, under their feature.yaml names."""
    feature = catalog.load_feature(repo_root, name)
    return {
        option: OFFLINE_BUILD_ARGS[catalog.option_variable(name, option)]
        for option in feature.options
        if catalog.option_variable(name, option) in OFFLINE_BUILD_ARGS
    }


def dev_container_project(tmp_path: Path, repo_root: Path, debian: str) -> Path:
    """A project whose .devcontainer/ holds copies of the features, as the spec requires of local
    Features. Their installsAfter name the published ids (ghcr.io/dev8/features/...), which the CLI
    resolves in the registry even for local Features, and no registry is reachable here: the copies
    name the local copies instead, as the stand-in images stand in for registry images."""
    project = tmp_path / "project"
    folder = project / ".devcontainer"
    for name in BUILT_FEATURES:
        shutil.copytree(repo_root / catalog.FEATURES_DIR / name, folder / name)
        path = folder / name / devcontainer.FILE_NAME
        data = json.loads(path.read_text())
        if "installsAfter" in data:
            prefix = devcontainer.feature_id("")
            assert all(i.startswith(prefix) for i in data["installsAfter"]), data["installsAfter"]
            data["installsAfter"] = [f"./{i.removeprefix(prefix)}" for i in data["installsAfter"]]
            path.write_text(json.dumps(data, indent=2))
    config = {
        "image": debian,
        "remoteUser": "dev8",
        "features": {f"./{name}": offline_options(name, repo_root) for name in BUILT_FEATURES},
    }
    (folder / "devcontainer.json").write_text(json.dumps(config, indent=2))
    return project


@pytest.fixture(scope="module")
def dev_container_build(
    cli: str, repo_root: Path, standin_images: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`devcontainer build` of the project with podman; yields the build log."""
    project = dev_container_project(tmp_path_factory.mktemp("devcontainer"), repo_root, standin_images[0])
    argv = [cli, "build", "--docker-path", "podman", "--workspace-folder", str(project), "--image-name", BUILT_TAG]
    result = subprocess.run(argv, env=podman_support.env(), capture_output=True, text=True, timeout=3600, check=False)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-20000:]
    assert '"outcome":"success"' in result.stdout
    yield log
    # The CLI's own content image is tagged under a fixed name: remove it with ours.
    podman(["rmi", "-f", BUILT_TAG, "localhost/dev_container_feature_content_temp:latest"], check=False)


@pytest.mark.podman
def test_the_cli_installs_each_feature_after_what_it_names(dev_container_build: str) -> None:
    order = re.findall(r"cd /tmp/dev-container-features/([a-z0-9-]+)_\d+ ", dev_container_build)
    assert sorted(order) == sorted(BUILT_FEATURES), order
    assert order.index("nodejs") < order.index("ai-clis")
    assert order.index("user") < order.index("ai-clis")
    assert order.index("user") < order.index("sshd")


@pytest.mark.podman
def test_the_cli_passes_options_under_the_names_the_scripts_read(dev_container_build: str, repo_root: Path) -> None:
    """The env files the real CLI wrote (kept in the image by its non-BuildKit path) hold every
    option under option_variable's name, and the offline values given."""
    script = 'for d in /tmp/dev-container-features/*_*/; do echo "== $d"; cat "$d"devcontainer-features.env; echo; done'
    listing = podman(["run", "--rm", "--entrypoint", "/bin/sh", BUILT_TAG, "-c", script]).stdout
    section = re.compile(r"== /tmp/dev-container-features/([a-z0-9-]+)_\d+/\n(.*?)(?=^== |\Z)", re.M | re.S)
    files = {m.group(1): m.group(2) for m in section.finditer(listing)}
    assert sorted(files) == sorted(BUILT_FEATURES), listing
    for name, text in files.items():
        written = dict(re.findall(r'^([A-Z0-9_]+)="(.*)"$', text, re.M))
        feature = catalog.load_feature(repo_root, name)
        assert sorted(written) == sorted(devcontainer.option_variable(o) for o in feature.options), (name, text)
        for option, value in offline_options(name, repo_root).items():
            assert written[devcontainer.option_variable(option)] == value


@pytest.mark.podman
def test_the_features_own_tests_pass_in_the_cli_built_image(
    dev_container_build: str, repo_root: Path, podman_env: dict[str, str], tmp_path: Path
) -> None:
    """Run as the remote user, dev8, as `devcontainer up` and `exec` would."""
    as_user = f"{BUILT_TAG}-dev8"
    containerfile = tmp_path / "Containerfile"
    containerfile.write_text(f"FROM {BUILT_TAG}\nUSER dev8\n")
    podman(["build", "-t", as_user, "-f", str(containerfile), str(tmp_path)])
    suites = [f"{catalog.FEATURES_DIR}/{name}/tests.yaml" for name in BUILT_FEATURES]
    config = podman(["image", "inspect", "--format", "{{json .Config.Env}}", as_user]).stdout
    assert "RUSTUP_HOME=/usr/local/rustup" in config  # the rust feature's containerEnv

    async def run_all() -> list[Report]:
        async with structure_container(as_user, podman_env) as executor:
            return [await run_suite(load_suite(repo_root / path), executor) for path in suites]

    try:
        reports = asyncio.run(run_all())
    finally:
        podman(["rmi", "-f", as_user], check=False)
    assert all(r.passed for r in reports), "\n".join(r.summary() for r in reports)


# --- helpers ----------------------------------------------------------------------------------------


def podman(args: list[str], *, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return podman_support.podman(*args, check=check, timeout=timeout)


def copy_tree(tmp_path: Path, repo_root: Path, *, with_dockerfiles: bool = False) -> Path:
    """The files the catalog reads, to change on purpose."""
    ignore = None if with_dockerfiles else shutil.ignore_patterns("Dockerfile")
    shutil.copytree(repo_root / "docker", tmp_path / "docker", ignore=ignore)
    (tmp_path / "apps/supervisor").mkdir(parents=True)
    return tmp_path


def edit_feature(root: Path, name: str, change: Callable[[dict[str, Any]], object]) -> None:
    path = root / catalog.FEATURES_DIR / name / "feature.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def pipeline_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--root", str(root), *args], capture_output=True, text=True, check=False
    )
