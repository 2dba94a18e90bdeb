"""Input digests and the images a change affects, on a git repository made from this one. Engine-free."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline import __main__ as cli
from pipeline import affected, catalog, dockerfile
from pipeline.plan import FEATURES_DIGEST, TAIL_DIGEST, BuildInfo, SetLabel, plan


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(repo_root: Path, tmp_path: Path) -> Path:
    """The catalog, the supervisor and the module in a repository of their own, one commit."""
    for name in ("docker", "apps/supervisor", "pipeline"):
        shutil.copytree(repo_root / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(repo_root / "pyproject.toml", tmp_path / "pyproject.toml")
    git(tmp_path, "init", "-q")
    git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    return tmp_path


def commit_change(repo: Path, path: str, text: str = "\n# changed\n") -> None:
    with (repo / path).open("a") as f:
        f.write(text)
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", f"change {path}")


def verdicts(repo: Path) -> dict[str, str]:
    return {v.image: v.why for v in affected.compare(repo, "HEAD~1", "HEAD") if v.affected}


def test_a_feature_change_affects_the_images_that_include_it_and_their_children(repo: Path) -> None:
    commit_change(repo, "docker/features/nodejs/install.sh")
    assert verdicts(repo) == {
        "nodejs": "its features changed: every layer is built again",
        "workspace": "its features changed: every layer is built again",
    }


def test_a_base_feature_change_reaches_every_child_through_the_digest_chain(repo: Path) -> None:
    commit_change(repo, "docker/features/sshd/sshd_config")
    assert set(verdicts(repo)) == set(catalog.load(repo).images)
    assert set(verdicts(repo).values()) == {"its features changed: every layer is built again"}


@pytest.mark.parametrize("path", ["apps/supervisor/cmd/supervisor/main.go", "docker/base/entrypoint.sh"])
def test_a_supervisor_or_entrypoint_change_affects_every_tail_only(repo: Path, path: str) -> None:
    commit_change(repo, path, "\n// changed\n" if path.endswith(".go") else "\n# changed\n")
    assert set(verdicts(repo)) == set(catalog.load(repo).images)
    assert set(verdicts(repo).values()) == {"its tail changed: the feature layers are reused"}


def test_tests_and_docs_affect_nothing(repo: Path) -> None:
    commit_change(repo, "docker/features/nodejs/tests.yaml")
    commit_change(repo, "apps/supervisor/README.md")
    assert affected.compare(repo, "HEAD~2", "HEAD") == [
        affected.Verdict(name, False, "its inputs are unchanged") for name in catalog.load(repo).images
    ]


def test_a_module_change_affects_every_image(repo: Path) -> None:
    commit_change(repo, "pipeline/container.py")
    assert set(verdicts(repo)) == set(catalog.load(repo).images)
    assert all(why.startswith("the module changed (pipeline/container.py") for why in verdicts(repo).values())


def test_the_cli_prints_the_images_for_build_all_and_a_summary(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit_change(repo, "docker/features/rust/install.sh")
    assert cli.main(["--root", str(repo), "affected", "--base", "HEAD~1", "--format", "images"]) == 0
    assert capsys.readouterr().out == "rust,workspace\n"
    assert cli.main(["--root", str(repo), "affected", "--base", "HEAD~1", "--format", "markdown"]) == 0
    summary = capsys.readouterr().out
    assert "| base | skipped | its inputs are unchanged |" in summary
    assert "| rust | rebuilt | its features changed: every layer is built again |" in summary


def test_an_unknown_commit_is_a_clear_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(repo), "affected", "--base", "no-such-ref"]) == 1
    assert capsys.readouterr().err.startswith("error: git: diff --name-only no-such-ref:")


def test_the_digests_are_labels_the_dagger_build_stamps_and_the_dockerfile_takes_as_arguments(
    loaded_catalog: catalog.Catalog,
) -> None:
    digests = affected.image_digests(loaded_catalog)
    for name, image in loaded_catalog.images.items():
        steps = plan(loaded_catalog, image, BuildInfo())
        labels = {step.key: step.value for step in steps if isinstance(step, SetLabel)}
        assert (labels[FEATURES_DIGEST[0]], labels[TAIL_DIGEST[0]]) == digests[name]
        # The features label ends the feature layers: after the last install, before the tail.
        assert steps[len(image.features)] == SetLabel(FEATURES_DIGEST[0], digests[name][0], FEATURES_DIGEST[1], True)
        # A Dockerfile build gets them from `python -m pipeline digests`: editing the supervisor or the
        # entrypoint leaves the committed Dockerfiles as they are.
        text = dockerfile.render(loaded_catalog, image)
        assert f'ARG {FEATURES_DIGEST[1]}=""\nLABEL {FEATURES_DIGEST[0]}="${{{FEATURES_DIGEST[1]}}}"' in text
        assert f'ARG {TAIL_DIGEST[1]}=""\nLABEL {TAIL_DIGEST[0]}="${{{TAIL_DIGEST[1]}}}"' in text


def test_digests_prints_each_image(capsys: pytest.CaptureFixture[str], loaded_catalog: catalog.Catalog) -> None:
    assert cli.main(["digests"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == list(loaded_catalog.images)
    assert all(line.split("\t")[1].startswith("features=sha256:") for line in lines)
