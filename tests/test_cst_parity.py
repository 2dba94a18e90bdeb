"""Google's container-structure-test (CST) v1.22.0 as the oracle of the structure-test runner: every
test of a corpus of suites gets the same verdict from CST and from the project's executors.

The corpus: the project's own suites of the base image (run on the offline-built base) and
tests/cst_corpus/*.yaml on a small image made for it (setup and fresh containers, $VAR
substitution, regexes, modes and owners, the metadata test, plus the metadata test with each field
changed). CST runs with its docker driver against podman's Docker-compatible API
(`podman system service`); the executors are tests/support/podman_structure.py and, where a Dagger
engine answers, pipeline/structure_tests_dagger.py.

Two things podman's API does differently from Docker's, so CST on podman is not CST on Docker
there: its archive API reports every file as owned by the container's user, and follows a
symlink. Owners are therefore taken out of the suites CST runs and checked on the image's files
as `podman image mount` shows them (what Docker's archive API puts in its tar headers); the symlink
case is tests/cst_corpus/differences/, asserted to differ in exactly that way.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dagger
import pytest
import yaml
from dagger import dag

from pipeline.structure_tests import Report, compile_regex, expand, go_mode_string, load_suite, run_suite
from pipeline.structure_tests_dagger import DaggerExecutor
from tests.support import engine, podman
from tests.support.podman_structure import PodmanExecutor

REPO = podman.REPO_ROOT
CORPUS = REPO / "tests/cst_corpus"
CST_BUILD = REPO.parent / "shared/cst/build.sh"
CORPUS_IMAGE = "localhost/dev8-cst-corpus:test"
PINNED = "localhost/dev8-cst-parity"
PARALLEL = 3  # suites at a time, for CST and for each executor
BASE_SUITES = (
    "docker/base/tests.yaml",
    "docker/features/system-packages/tests.yaml",
    "docker/features/github-cli/tests.yaml",
    "docker/features/user/tests.yaml",
    "docker/features/sshd/tests.yaml",
)
CST_KIND = {"command": "Command Test", "fileContent": "File Content Test", "fileExistence": "File Existence Test"}
# The metadata test of tests/cst_corpus/metadata.yaml with one field changed: CST fails each.
METADATA_CHANGES: dict[str, dict[str, Any]] = {
    "env": {"envVars": [{"key": "GREETING", "value": "hi"}]},
    "env-regex": {"envVars": [{"key": "GREETING", "value": "^hi", "isRegex": True}]},
    "env-missing": {"envVars": [{"key": "NOPE", "value": ""}]},
    "unbound": {"unboundEnvVars": [{"key": "EMPTY"}]},
    "label": {"labels": [{"key": "org.example.corpus", "value": "no"}]},
    "label-regex": {"labels": [{"key": "org.example.version", "value": "^2", "isRegex": True}]},
    "port": {"exposedPorts": ["9999"]},
    "unexposed-udp": {"unexposedPorts": ["53"]},
    "volume": {"volumes": ["/nope"]},
    "unmounted": {"unmountedVolumes": ["/cache"]},
    "entrypoint": {"entrypoint": ["/bin/sh"]},
    "cmd": {"cmd": []},
    "workdir": {"workdir": "/"},
    "user": {"user": "root"},
}
Verdicts = list[tuple[str, bool]]  # (CST's name of the test, passed), in CST's order


@pytest.fixture(scope="module")
def cst() -> str:
    if not CST_BUILD.is_file():
        pytest.skip(f"container-structure-test's source is not here ({CST_BUILD})")
    if not shutil.which("go"):
        pytest.skip("Go is not installed: it builds container-structure-test")
    built = subprocess.run(["bash", str(CST_BUILD)], capture_output=True, text=True, check=False, timeout=900)
    assert built.returncode == 0, f"{CST_BUILD} failed:\n{built.stderr}"
    return built.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def docker_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """podman's Docker-compatible API on a socket of this test's own; stopped at the end."""
    directory = tmp_path_factory.mktemp("podman-api")
    socket = directory / "podman.sock"
    with (directory / "service.log").open("w") as log:
        service = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{socket}"], env=podman.env(), stdout=log, stderr=log
        )
    try:
        for _ in range(300):
            if socket.exists() or service.poll() is not None:
                break
            time.sleep(0.1)
        assert socket.exists(), f"podman system service did not start:\n{(directory / 'service.log').read_text()}"
        yield f"unix://{socket}"
    finally:
        service.terminate()
        service.wait(timeout=60)


@pytest.fixture(scope="module")
def corpus_image(standin_images: tuple[str, str]) -> str:
    debian, _ = standin_images
    podman.podman("build", "-q", "--layers", f"--build-arg=BASE_IMAGE={debian}", "-t", CORPUS_IMAGE, str(CORPUS))
    return CORPUS_IMAGE


@pytest.fixture(scope="module")
def metadata_variants(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("metadata-variants")
    suite = yaml.safe_load((CORPUS / "metadata.yaml").read_text())
    variants: list[Path] = []
    for name, change in METADATA_CHANGES.items():
        path = directory / f"metadata-{name}.yaml"
        path.write_text(yaml.safe_dump({**suite, "metadataTest": {**suite["metadataTest"], **change}}))
        variants.append(path)
    return variants


@pytest.fixture(scope="module")
def cases(
    corpus_image: str, base_image: str, metadata_variants: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[tuple[str, Path]]]:
    """(image, suite) pairs: the corpus on its image, base's suites on the base image. The images are
    pinned under tags of this test's own and the suites copied now, so that CST and the executors
    see the same image and text while other work rebuilds the images or edits the suites."""
    directory = tmp_path_factory.mktemp("suites")
    pinned = {image: f"{PINNED}:{index}" for index, image in enumerate((corpus_image, base_image))}
    for image, tag in pinned.items():
        podman.podman("tag", image, tag)
    pairs = [
        *[(pinned[corpus_image], path) for path in [*sorted(CORPUS.glob("*.yaml")), *metadata_variants]],
        *[(pinned[base_image], REPO / suite) for suite in BASE_SUITES],
    ]
    copies: list[tuple[str, Path]] = []
    for index, (image, suite) in enumerate(pairs):
        copy = directory / f"{index:02}-{suite.parent.name}-{suite.name}"
        shutil.copyfile(suite, copy)
        copies.append((image, copy))
    try:
        yield copies
    finally:
        for tag in pinned.values():
            podman.podman("rmi", tag, check=False)  # only the tag, unless the image has no other name


def run_cst(cst: str, docker_host: str, image: str, suite: Path) -> Verdicts:
    result = subprocess.run(
        [cst, "test", "--image", image, "--config", str(suite), "--output", "json", "--no-color"],
        env={**podman.env(), "DOCKER_HOST": docker_host},
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert result.stdout.strip(), f"container-structure-test on {suite.name}:\n{result.stderr}"
    return [(r["Name"], bool(r["Pass"])) for r in json.loads(result.stdout)["Results"]]


def verdicts(report: Report) -> Verdicts:
    return [(r.name if r.kind == "metadata" else f"{CST_KIND[r.kind]}: {r.name}", r.passed) for r in report.results]


def without_owners(suite: Path, directory: Path) -> Path:
    """The suite with uid and gid taken out of its file existence tests (see the module's doc)."""
    data = yaml.safe_load(suite.read_text())
    for test in data.get("fileExistenceTests") or []:
        test.pop("uid", None)
        test.pop("gid", None)
    copy = directory / suite.name
    copy.write_text(yaml.safe_dump(data, allow_unicode=True))
    return copy


def in_image(root: Path, path: str) -> Path:
    """`path` in an image mounted at `root`, its parent symlinks resolved inside the image."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    current, hops = root, 0
    while parts:
        part = parts.pop(0)
        candidate = root if part == ".." and current == root else current.parent if part == ".." else current / part
        if parts and candidate.is_symlink():
            hops += 1
            assert hops < 40, f"{path}: too many symlinks"
            target = os.readlink(candidate)
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            current = root if target.startswith("/") else current
        else:
            current = candidate
    return current


def owner_verdicts(image: str, suite: Path) -> dict[str, bool]:
    """For each file existence test with uid or gid: do the image's files have them?"""
    loaded = load_suite(suite)
    tests = [t for t in loaded.file_existence_tests if t.should_exist and (t.uid is not None or t.gid is not None)]
    if not tests:
        return {}
    config = json.loads(podman.podman("image", "inspect", "--format", "{{json .Config}}", image).stdout)
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    env |= {v.key: expand(v.value, env) for v in loaded.global_env_vars}
    root = Path(podman.podman("image", "mount", image).stdout.strip())
    try:
        owners: dict[str, bool] = {}
        for test in tests:
            path = in_image(root, expand(test.path, env))
            info = path.lstat() if path.is_symlink() or path.exists() else None
            owners[f"{CST_KIND['fileExistence']}: {test.name}"] = info is not None and (
                (test.uid is None or info.st_uid == test.uid) and (test.gid is None or info.st_gid == test.gid)
            )
        return owners
    finally:
        podman.podman("image", "unmount", image, check=False)


@pytest.fixture(scope="module")
def expected(
    cst: str, docker_host: str, cases: list[tuple[str, Path]], tmp_path_factory: pytest.TempPathFactory
) -> dict[Path, Verdicts]:
    """CST's verdict for every test of every case (owners from the mounted image)."""
    directory = tmp_path_factory.mktemp("cst-suites")
    owners = {suite: owner_verdicts(image, suite) for image, suite in cases}

    def cst_verdicts(case: tuple[str, Path]) -> Verdicts:
        image, suite = case
        ran = run_cst(cst, docker_host, image, without_owners(suite, directory))
        return [(name, passed and owners[suite].get(name, True)) for name, passed in ran]

    with ThreadPoolExecutor(PARALLEL) as pool:  # CST makes a container per test: most of the time is waiting
        return dict(zip([suite for _, suite in cases], pool.map(cst_verdicts, cases), strict=True))


@pytest.mark.podman
def test_the_corpus_names_csts_verdicts(cases: list[tuple[str, Path]], expected: dict[Path, Verdicts]) -> None:
    """The oracle first: each corpus test's name says what CST gives it, so the corpus has both; the
    metadata test passes as written and fails with any one field changed."""
    corpus = [suite for image, suite in cases if image == f"{PINNED}:0"]
    for suite in corpus:
        variant = "-metadata-" in suite.name
        for name, passed in expected[suite]:
            said = "fail" if variant else "pass" if name == "Metadata Test" else name.split(": ")[1]
            assert said == ("pass" if passed else "fail"), f"{suite.name}: CST says {passed} for {name!r}"
    assert sum("-metadata-" in suite.name for suite in corpus) == len(METADATA_CHANGES)


async def run_all(cases: list[tuple[str, Path]], executor_for: Callable[[str], Awaitable[Any]]) -> dict[Path, Verdicts]:
    """Every case's verdicts, PARALLEL suites at a time."""
    executors = {image: await executor_for(image) for image in dict.fromkeys(image for image, _ in cases)}
    limit = asyncio.Semaphore(PARALLEL)

    async def one(image: str, suite: Path) -> Verdicts:
        async with limit:
            return verdicts(await run_suite(load_suite(suite), executors[image]))

    found = await asyncio.gather(*(one(image, suite) for image, suite in cases))
    return dict(zip([suite for _, suite in cases], found, strict=True))


@pytest.mark.podman
async def test_the_podman_executor_agrees_with_cst(
    cases: list[tuple[str, Path]], expected: dict[Path, Verdicts]
) -> None:
    async def executor_for(image: str) -> PodmanExecutor:
        return PodmanExecutor(image, podman.env())

    found = await run_all(cases, executor_for)
    for _, suite in cases:
        assert found[suite] == expected[suite], suite.name


@pytest.mark.podman
async def test_the_dagger_executor_agrees_with_cst(
    cases: list[tuple[str, Path]],
    expected: dict[Path, Verdicts],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found_engine = engine.find()  # the kit's engine when it is up, else what `dagger` on PATH reaches
    if isinstance(found_engine, str):
        pytest.skip(found_engine)
    if runner := found_engine.env.get("_EXPERIMENTAL_DAGGER_RUNNER_HOST"):
        monkeypatch.setenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST", runner)
    monkeypatch.setenv("_EXPERIMENTAL_DAGGER_CLI_BIN", found_engine.dagger)  # never download one

    async def executor_for(image: str) -> DaggerExecutor:
        tarball = tmp_path / f"{image.rsplit(':', 1)[-1]}.tar"
        podman.podman("save", "--format", "oci-archive", "-o", str(tarball), image, timeout=900)
        return DaggerExecutor(dag.container().import_(dag.host().file(str(tarball))))

    # .ci/run runs the engine tests in another pytest process; one of them restarts the engine.
    with (tmp_path / "dagger.log").open("w") as log, engine.using_the_engine():
        async with dagger.connection(dagger.Config(log_output=log, execute_timeout=1800)):
            found = await run_all(cases, executor_for)
    for _, suite in cases:
        assert found[suite] == expected[suite], suite.name


@pytest.mark.podman
async def test_a_symlink_is_the_known_difference(cst: str, docker_host: str, corpus_image: str) -> None:
    suite = CORPUS / "differences/symlink.yaml"
    [(name, cst_passed)] = run_cst(cst, docker_host, corpus_image, suite)
    assert not cst_passed, "podman's archive API no longer follows symlinks: drop this difference from the README"
    root = Path(podman.podman("image", "mount", corpus_image).stdout.strip())
    try:
        mode = (root / "etc/corpus-link").lstat().st_mode
    finally:
        podman.podman("image", "unmount", corpus_image, check=False)
    assert go_mode_string(mode) == "Lrwxrwxrwx"  # what Docker's archive API reports, and CST on Docker with it
    report = await run_suite(load_suite(suite), PodmanExecutor(corpus_image, podman.env()))
    assert verdicts(report) == [(name, True)]


# --- Go itself: os.Expand and regexp, on more cases than a suite holds --------------------------

GO_PROGRAM = """\
package main

import (
\t"encoding/json"
\t"os"
\t"regexp"
)

func main() {
\tvar in struct {
\t\tEnv     map[string]string
\t\tExpand  []string
\t\tCompile []string
\t\tMatch   [][2]string
\t}
\tif err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
\t\tpanic(err)
\t}
\tout := struct {
\t\tExpanded []string
\t\tValid    []bool
\t\tMatched  []bool
\t}{}
\tfor _, s := range in.Expand {
\t\tout.Expanded = append(out.Expanded, os.Expand(s, func(k string) string { return in.Env[k] }))
\t}
\tfor _, p := range in.Compile {
\t\t_, err := regexp.Compile(p)
\t\tout.Valid = append(out.Valid, err == nil)
\t}
\tfor _, m := range in.Match {
\t\tout.Matched = append(out.Matched, regexp.MustCompile(m[0]).MatchString(m[1]))
\t}
\tif err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
\t\tpanic(err)
\t}
}
"""
EXPAND_CASES = [
    "$A ${A} $A_B ${A}_B $AB",
    "$$ $1 $@ $* $# $? $- $! ${1} ${$} ${@}",
    "x$1y ${}z a${b end$",
    "$ ${A B} ${ A} ${A",
    "$\u00c9 $A\u00e9 ${\u00e9} \u00e9$A",
    "$${A} $$A ${A}$A $",
]
REGEXES = [
    "^dev8$", "(?m)^b$", "(?s)a.b", "\\Aa\\z", "\\d+", "[[:alpha:]]", "\\pL", "\\p{Greek}", "(?i)k",
    "(?P<n>a)", "(?<n>a)", "(?U)a+", "\\Q.*\\E", "a{2,1000}", "\\x{10FFFF}", "(?i:a)b", "[^\\n]",
    "(?<=a)b", "a(?=b)", "(a)\\1", "\\C", "\\Z", "a{1001}", "a{2,1}", "[[:foo:]]", "x*+", "a**",
    "(?P=n)", "\\8", "[z-a]", "(", "\\", "(?#comment)", "\\G", "a++", "(?>a)", "\\R", "\\X", "\\h",
    "[\\C]", "\\\\C", "\\Q\\C\\E", "\\Qa\\C", "\\Q\\E\\C", "a\\\\\\C",
]  # fmt: skip
MATCHES = [
    ("^dev8$", "dev8\n"), ("^dev8\\s*$", "dev8\n"), ("(?m)^b$", "a\nb\n"), ("^a$", "a\nb\n"),
    ("a.b", "a\nb"), ("(?s)a.b", "a\nb"), ("\\d", "\u0663"), ("\\w", "\u00e9"), ("\\b\u00e9", " \u00e9"),
    ("(?i)k", "\u212a"), ("(?i)stra\u00dfe", "STRASSE"), ("[[:upper:]]", "\u00c9"), ("^$", ""), ("$", "x\n"),
    ("h.llo", "h\u00e9llo"), ("\\s", "\u00a0"), ("(?i)\u00c9", "\u00e9"), ("x*", ""), ("\\pN", "\u0663"),
]  # fmt: skip


@pytest.fixture(scope="module")
def go_answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    if not shutil.which("go"):
        pytest.skip("Go is not installed: it is the reference for os.Expand and regexp")
    directory = tmp_path_factory.mktemp("go-reference")
    (directory / "main.go").write_text(GO_PROGRAM)
    question = {"Env": {"A": "a", "A B": "ab", " A": "sp"}, "Expand": EXPAND_CASES, "Compile": REGEXES}
    question["Match"] = [list(m) for m in MATCHES]
    answer = subprocess.run(
        ["go", "run", "main.go"],
        cwd=directory,
        input=json.dumps(question),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "GO111MODULE": "off", "GOFLAGS": ""},
    )
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout)


def test_expand_is_gos_os_expand(go_answers: dict[str, list[Any]]) -> None:
    env = {"A": "a", "A B": "ab", " A": "sp"}
    assert [expand(case, env) for case in EXPAND_CASES] == go_answers["Expanded"]


def test_a_pattern_is_valid_exactly_when_go_compiles_it(go_answers: dict[str, list[Any]]) -> None:
    def valid(pattern: str) -> bool:
        try:
            compile_regex(pattern)
        except ValueError:
            return False
        return True

    assert {p: valid(p) for p in REGEXES} == dict(zip(REGEXES, go_answers["Valid"], strict=True))


def test_patterns_match_what_go_matches(go_answers: dict[str, list[Any]]) -> None:
    ours = [compile_regex(pattern).search(text) is not None for pattern, text in MATCHES]
    assert dict(zip(MATCHES, ours, strict=True)) == dict(zip(MATCHES, go_answers["Matched"], strict=True))
