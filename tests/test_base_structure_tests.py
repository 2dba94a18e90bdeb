"""Unit tests of pipeline.structure_tests: the strict loader, the runner and the JUnit writer."""

from __future__ import annotations

import asyncio
import stat
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from pipeline.structure_tests import (
    ExecResult,
    FileStat,
    ImageConfig,
    Report,
    SuiteError,
    go_mode_string,
    junit_xml,
    load_suite,
    run_suite,
)

REPO = Path(__file__).resolve().parent.parent


class FakeExecutor:
    """An image made of dictionaries: argv -> result, path -> stat, path -> bytes."""

    def __init__(
        self,
        commands: Mapping[tuple[str, ...], ExecResult] | None = None,
        files: Mapping[str, tuple[FileStat, bytes]] | None = None,
        config: ImageConfig | None = None,
    ) -> None:
        self.commands = dict(commands or {})
        self.files = dict(files or {})
        self.config = config or ImageConfig()
        self.ran: list[tuple[tuple[str, ...], dict[str, str]]] = []

    async def run(self, argv: Sequence[str], env: Mapping[str, str]) -> ExecResult:
        self.ran.append((tuple(argv), dict(env)))
        return self.commands.get(tuple(argv), ExecResult("", f"{argv[0]}: not found", 127))

    async def stat(self, path: str) -> FileStat:
        return self.files[path][0] if path in self.files else FileStat(exists=False)

    async def read_file(self, path: str) -> bytes:
        if path not in self.files:
            raise FileNotFoundError(path)
        return self.files[path][1]

    async def image_config(self) -> ImageConfig:
        return self.config


def suite_text(body: str) -> str:
    return 'schemaVersion: "2.0.0"\n' + body


def run(body: str, executor: FakeExecutor) -> Report:
    return asyncio.run(run_suite(load_suite("t.yaml", suite_text(body)), executor))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (suite_text("commandTest: []\n"), "t.yaml: commandTest: unknown key"),
        (
            suite_text("commandTests:\n  - name: a\n    command: ls\n    expectedOut: [x]\n"),
            "t.yaml: commandTests[0].expectedOut: unknown key",
        ),
        (
            suite_text("commandTests:\n  - name: a\n    command: ls\n    exitCode: '1'\n"),
            "t.yaml: commandTests[0].exitCode: expected an integer, got a string",
        ),
        (
            suite_text("fileExistenceTests:\n  - name: a\n    path: /x\n    shouldExist: 'yes'\n"),
            "t.yaml: fileExistenceTests[0].shouldExist: expected a boolean, got a string",
        ),
        (
            suite_text("fileExistenceTests:\n  - name: a\n    path: /x\n    uid: true\n"),
            "t.yaml: fileExistenceTests[0].uid: expected an integer, got a boolean",
        ),
        (
            suite_text("commandTests:\n  - name: a\n"),
            "t.yaml: commandTests[0].command: is required",
        ),
        (
            suite_text("commandTests:\n  - name: a\n    command: ls\n    args: [1]\n"),
            "t.yaml: commandTests[0].args[0]: expected a string, got an integer",
        ),
        (
            suite_text("fileContentTests:\n  - name: a\n    path: /x\n    expectedContents: ['(']\n"),
            "t.yaml: fileContentTests[0].expectedContents[0]: invalid regular expression",
        ),
        (
            suite_text("metadataTest:\n  env:\n    - key: A\n      value: b\n"),
            "t.yaml: metadataTest.env: was renamed envVars",
        ),
        (
            suite_text("metadataTest:\n  envVars:\n    - key: A\n      value: b\n      regex: true\n"),
            "t.yaml: metadataTest.envVars[0].regex: unknown key",
        ),
        (suite_text("licenseTests: []\n"), "t.yaml: licenseTests: is not supported"),
        ('schemaVersion: "1.0.0"\n', "t.yaml: schemaVersion: must be '2.0.0'"),
        ("commandTests: []\n", "t.yaml: schemaVersion: is required"),
        ("- a\n", "t.yaml: <top>: expected a mapping, got a list"),
        ("a: [\n", "t.yaml: not valid YAML"),
        (
            suite_text("fileExistenceTests:\n  - name: a\n    path: /x\n    isExecutableBy: me\n"),
            "t.yaml: fileExistenceTests[0].isExecutableBy: must be one of any, owner, group, other",
        ),
    ],
)
def test_base_loader_rejects_with_file_and_key(text: str, message: str) -> None:
    with pytest.raises(SuiteError) as caught:
        load_suite("t.yaml", text)
    assert str(caught.value).startswith(message), str(caught.value)


def test_base_loader_reads_every_field() -> None:
    suite = load_suite(
        "t.yaml",
        suite_text(
            """
globalEnvVars: [{key: G, value: g}]
commandTests:
  - name: c
    setup: [[touch, /tmp/x]]
    teardown: [[rm, /tmp/x]]
    envVars: [{key: A, value: b}]
    command: ls
    args: [-l]
    exitCode: 2
    expectedOutput: [o]
    excludedOutput: [p]
    expectedError: [e]
    excludedError: [f]
fileExistenceTests:
  - {name: f, path: /x, shouldExist: false, permissions: "-rw-r--r--", uid: 0, gid: 0,
     isExecutableBy: any}
fileContentTests:
  - {name: fc, path: /x, expectedContents: [a], excludedContents: [b]}
metadataTest:
  envVars: [{key: A, value: "^b", isRegex: true}]
  unboundEnvVars: [{key: SECRET}]
  labels: [{key: l, value: v}]
  exposedPorts: ["2222"]
  unexposedPorts: ["22"]
  entrypoint: [tini]
  cmd: []
  workdir: /w
  volumes: [/v]
  unmountedVolumes: [/u]
  user: dev8
"""
        ),
    )
    command = suite.command_tests[0]
    assert (command.setup, command.teardown, command.exit_code) == (
        (("touch", "/tmp/x"),),
        (("rm", "/tmp/x"),),
        2,
    )
    assert suite.file_existence_tests[0].should_exist is False
    assert suite.metadata_test.env_vars[0].is_regex
    assert suite.metadata_test.cmd == ()
    assert suite.metadata_test.user == "dev8"


def test_base_loader_accepts_every_committed_suite() -> None:
    files = sorted([REPO / "docker/base/tests.yaml", *REPO.glob("docker/features/*/tests.yaml")])
    assert len(files) >= 5
    for file in files:
        suite = load_suite(file)
        assert suite.command_tests or suite.file_existence_tests or suite.file_content_tests, file


def test_base_runner_reports_a_failing_expectation() -> None:
    executor = FakeExecutor({("git", "--version"): ExecResult("git version 2.39.5\n", "", 0)})
    report = run(
        """
commandTests:
  - {name: git, command: git, args: [--version], expectedOutput: ['^git version 3\\.']}
  - {name: git ok, command: git, args: [--version], expectedOutput: ['^git version 2\\.']}
  - {name: missing, command: nope}
""",
        executor,
    )
    assert [r.passed for r in report.results] == [False, True, False]
    assert "expected stdout to match '^git version 3\\\\.'" in report.results[0].messages[0]
    assert "exited 127, expected 0" in report.results[2].messages[0]
    assert not report.passed
    assert "FAIL command: git" in report.summary()


def test_base_runner_substitutes_image_env_and_passes_test_env() -> None:
    executor = FakeExecutor(
        {("ls", "/home/dev8"): ExecResult("", "", 0)},
        config=ImageConfig(env={"HOME": "/home/dev8"}),
    )
    report = run(
        """
globalEnvVars: [{key: G, value: $HOME/g}]
commandTests:
  - {name: ls, command: ls, args: [$HOME], envVars: [{key: A, value: b}]}
""",
        executor,
    )
    assert report.passed, report.summary()
    assert executor.ran == [(("ls", "/home/dev8"), {"G": "/home/dev8/g", "A": "b"})]


def test_base_runner_checks_files() -> None:
    regular = stat.S_IFREG | 0o755
    executor = FakeExecutor(
        files={
            "/bin/x": (FileStat(True, regular, 0, 0), b""),
            "/etc/c": (FileStat(True, stat.S_IFREG | 0o600, 1000, 1000), b"Port 2222\nUsePAM no\n"),
        }
    )
    report = run(
        """
fileExistenceTests:
  - {name: x, path: /bin/x, permissions: "-rwxr-xr-x", uid: 0, gid: 0, isExecutableBy: other}
  - {name: x mode, path: /bin/x, permissions: "-rw-r--r--"}
  - {name: c owner, path: /etc/c, uid: 0, isExecutableBy: owner}
  - {name: absent, path: /nope, shouldExist: false}
  - {name: present, path: /nope}
fileContentTests:
  - {name: c, path: /etc/c, expectedContents: ['(?m)^Port 2222$'], excludedContents: ['UsePAM yes']}
  - {name: c bad, path: /etc/c, excludedContents: ['(?m)^UsePAM no$']}
  - {name: unreadable, path: /nope, expectedContents: [x]}
""",
        executor,
    )
    verdicts = {r.name: r for r in report.results}
    assert [r.name for r in report.results if r.passed] == ["x", "absent", "c"]
    assert verdicts["x mode"].messages == ("/bin/x has permissions -rwxr-xr-x, expected -rw-r--r--",)
    assert verdicts["c owner"].messages == (
        "/etc/c (-rw-------) is not executable by owner",
        "/etc/c is owned by uid 1000, expected 0",
    )
    assert verdicts["present"].messages == ("/nope should exist but does not",)
    assert "matches excluded" in verdicts["c bad"].messages[0]
    assert "cannot read /nope" in verdicts["unreadable"].messages[0]


def test_base_runner_checks_metadata() -> None:
    config = ImageConfig(
        user="dev8",
        entrypoint=("/usr/bin/tini", "--", "/usr/local/bin/entrypoint.sh"),
        env={"LANG": "en_US.UTF-8", "PATH": "/usr/bin"},
        exposed_ports=("2222/tcp", "9000/tcp"),
        workdir="/workspace",
        labels={"org.opencontainers.image.title": "dev8 base"},
    )
    good = run(
        """
metadataTest:
  user: dev8
  workdir: /workspace
  exposedPorts: ["2222", "9000/tcp"]
  unexposedPorts: ["22"]
  entrypoint: [/usr/bin/tini, --, /usr/local/bin/entrypoint.sh]
  envVars: [{key: LANG, value: en_US.UTF-8}, {key: PATH, value: "/usr", isRegex: true}]
  unboundEnvVars: [{key: GITHUB_TOKEN}]
  labels: [{key: org.opencontainers.image.title, value: dev8 base}]
""",
        FakeExecutor(config=config),
    )
    assert good.passed, good.summary()
    bad = run(
        """
metadataTest:
  user: root
  exposedPorts: ["22"]
  entrypoint: [/bin/sh]
  cmd: [bash]
  envVars: [{key: HOME, value: /root}]
  unboundEnvVars: [{key: PATH}]
""",
        FakeExecutor(config=config),
    )
    messages = bad.results[0].messages
    assert not bad.passed
    assert "user is 'dev8', expected 'root'" in messages
    assert "env var HOME is not set" in messages
    assert "env var PATH should not be set" in messages
    assert any(m.startswith("port 22/tcp is not exposed") for m in messages)
    assert any(m.startswith("entrypoint is ['/usr/bin/tini'") for m in messages)
    assert "cmd is [], expected ['bash']" in messages


def test_base_go_mode_strings_match_go() -> None:
    assert go_mode_string(stat.S_IFREG | 0o755) == "-rwxr-xr-x"
    assert go_mode_string(stat.S_IFDIR | 0o700) == "drwx------"
    assert go_mode_string(stat.S_IFDIR | stat.S_ISVTX | 0o777) == "dtrwxrwxrwx"
    assert go_mode_string(stat.S_IFREG | stat.S_ISUID | 0o755) == "urwxr-xr-x"
    assert go_mode_string(stat.S_IFLNK | 0o777) == "Lrwxrwxrwx"


def test_base_junit_xml_lists_every_test() -> None:
    executor = FakeExecutor({("true",): ExecResult("out", "", 0)})
    report = run(
        "commandTests:\n  - {name: ok, command: 'true'}\n  - {name: broken, command: 'false'}\n",
        executor,
    )
    root = ET.fromstring(junit_xml([report]))
    assert (root.get("tests"), root.get("failures")) == ("2", "1")
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["ok", "broken"]
    failure = cases[1].find("failure")
    assert failure is not None
    assert "exited 127" in (failure.get("message") or "")
    assert cases[0].findtext("system-out") == "out"
