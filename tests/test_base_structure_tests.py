"""Unit tests of pipeline.structure_tests: the strict loader, the runner and the JUnit writer."""

from __future__ import annotations

import asyncio
import stat
import xml.etree.ElementTree as ET
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from pipeline.structure_tests import (
    ExecResult,
    FileStat,
    ImageConfig,
    Report,
    SuiteError,
    expand,
    go_mode_string,
    junit_xml,
    load_suite,
    run_suite,
    stat_paths,
)

REPO = Path(__file__).resolve().parent.parent


class FakeExecutor:
    """An image made of dictionaries: argv -> result, path -> (stat, bytes), and its config. Every
    command run is logged with the number of the container it ran in and the env it was given."""

    def __init__(
        self,
        commands: Mapping[tuple[str, ...], ExecResult] | None = None,
        files: Mapping[str, tuple[FileStat, bytes]] | None = None,
        config: ImageConfig | None = None,
        volumes: tuple[str, ...] = (),
    ) -> None:
        self.commands = dict(commands or {})
        self.files = dict(files or {})
        self.config = config or ImageConfig()
        self._volumes = volumes
        self.containers: list[dict[str, str]] = []  # each container's env, in the order they were made
        self.ran: list[tuple[int, tuple[str, ...], dict[str, str]]] = []
        self.read: list[tuple[int, str]] = []
        self.stat_calls = 0
        self.asked_volumes = False

    @asynccontextmanager
    async def container(self, env: Mapping[str, str]) -> AsyncGenerator[FakeContainer]:
        self.containers.append(dict(env))
        yield FakeContainer(self, len(self.containers))

    async def image_config(self) -> ImageConfig:
        return self.config

    async def volumes(self) -> tuple[str, ...]:
        self.asked_volumes = True
        return self._volumes


class FakeContainer:
    def __init__(self, image: FakeExecutor, number: int) -> None:
        self.image, self.number = image, number

    async def run(self, argv: Sequence[str], env: Mapping[str, str]) -> ExecResult:
        self.image.ran.append((self.number, tuple(argv), dict(env)))
        return self.image.commands.get(tuple(argv), ExecResult("", f"{argv[0]}: not found", -1, "not found"))

    async def stat(self, paths: Sequence[str]) -> list[FileStat]:
        self.image.stat_calls += 1
        self.image.read.extend((self.number, path) for path in paths)
        return [self.image.files[path][0] if path in self.image.files else FileStat(exists=False) for path in paths]

    async def read_file(self, path: str) -> bytes:
        self.image.read.append((self.number, path))
        if path not in self.image.files:
            raise FileNotFoundError(path)
        return self.image.files[path][1]


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
        (
            suite_text("licenseTests: []\n"),
            "t.yaml: licenseTests: container-structure-test's licenseTests are not supported by this runner",
        ),
        (
            suite_text("containerRunOptions: {privileged: true}\n"),
            "t.yaml: containerRunOptions: container-structure-test's containerRunOptions are not supported",
        ),
        (
            suite_text("commandTests:\n  - name: a\n    command: ls\n    expectedOutput: ['(?<=a)b']\n"),
            "t.yaml: commandTests[0].expectedOutput[0]: invalid regular expression '(?<=a)b' (RE2, as Go's regexp): "
            "invalid perl operator: (?<",
        ),
        (
            suite_text("metadataTest:\n  labels:\n    - {key: a, value: '\\1', isRegex: true}\n"),
            "t.yaml: metadataTest.labels[0].value: invalid regular expression",
        ),
        (
            suite_text("commandTests:\n  - name: a\n    command: ls\n    envVars: [{key: A, value: ''}]\n"),
            "t.yaml: commandTests[0].envVars[0].value: must not be empty",
        ),
        (
            suite_text("metadataTest:\n  exposedPorts: ['2222/tcp']\n"),
            "t.yaml: metadataTest.exposedPorts[0]: '2222/tcp': give the port number only, e.g. '2222'",
        ),
        (
            suite_text("metadataTest:\n  volumes: ['']\n"),
            "t.yaml: metadataTest.volumes[0]: must not be empty",
        ),
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
  - {name: missing, command: nope, exitCode: 127}
""",
        executor,
    )
    assert [r.passed for r in report.results] == [False, True, False]
    assert "expected stdout to match '^git version 3\\\\.'" in report.results[0].messages[0]
    assert report.results[2].messages == ("['nope'] did not start: not found",)  # whatever exitCode says
    assert not report.passed
    assert "FAIL command: git" in report.summary()


def test_base_each_command_test_gets_a_fresh_container_setup_first_teardown_last() -> None:
    ok = ExecResult("", "", 0)
    executor = FakeExecutor({("touch", "/tmp/x"): ok, ("ls", "/tmp/x"): ok, ("rm", "/tmp/x"): ok, ("true",): ok})
    report = run(
        """
commandTests:
  - {name: one, setup: [[touch, /tmp/x]], command: ls, args: [/tmp/x], teardown: [[rm, /tmp/x]]}
  - {name: two, command: "true"}
""",
        executor,
    )
    assert report.passed, report.summary()
    assert [(number, argv) for number, argv, _ in executor.ran] == [
        (1, ("touch", "/tmp/x")),
        (1, ("ls", "/tmp/x")),
        (1, ("rm", "/tmp/x")),
        (2, ("true",)),
    ]


def test_base_a_setup_exit_status_does_not_count_but_a_setup_that_cannot_start_fails() -> None:
    executor = FakeExecutor({("false",): ExecResult("", "", 1), ("true",): ExecResult("", "", 0)})
    report = run(
        """
commandTests:
  - {name: failing setup, setup: [["false"]], command: "true"}
  - {name: setup not found, setup: [[nope], ["true"]], command: "true"}
""",
        executor,
    )
    assert [r.passed for r in report.results] == [True, False]
    assert report.results[1].messages == ("setup ['nope'] did not start: not found",)
    assert [argv for number, argv, _ in executor.ran if number == 2] == [("nope",)]  # nothing after it


def test_base_env_is_substituted_as_container_structure_test_does() -> None:
    echo = ExecResult("", "", 0)
    executor = FakeExecutor(
        {
            ("echo", "/home/dev8", "g=/home/dev8/g", "a="): echo,
            ("echo", "g=/home/dev8/g", "a=a-/home/dev8/g"): echo,
            ("setup",): echo,
        },
        config=ImageConfig(env={"HOME": "/home/dev8"}),
    )
    report = run(
        """
globalEnvVars: [{key: G, value: $HOME/g}]
commandTests:
  - {name: no setup, command: echo, args: [$HOME, g=$G, a=$A], envVars: [{key: A, value: a-$G}]}
  - {name: setup, setup: [[setup]], command: echo, args: [g=$G, a=$A], envVars: [{key: A, value: a-$G}]}
""",
        executor,
    )
    assert report.passed, report.summary()
    # Each container starts with the globals, expanded from the image's environment.
    assert executor.containers == [{"G": "/home/dev8/g"}, {"G": "/home/dev8/g"}]
    # Setup commands get the test's envVars expanded, the command gets them as written; the args see
    # the test's envVars only once a setup command has run (CST commits them into the image with it).
    assert [(argv[0], env) for _, argv, env in executor.ran] == [
        ("echo", {"A": "a-$G"}),
        ("setup", {"A": "a-/home/dev8/g"}),
        ("echo", {"A": "a-$G"}),
    ]


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("$A ${A} $A_B ${A}_B", "a a  a_B"),
        ("$$ $1 $@ $* $# $? $- $! ${1} ${$}", "         "),
        ("x$1y ${}z a${b end$ $ 5$.", "xy z ab end$ $ 5$."),
        ("${A B} ${A", "ab A"),
        ("$É $Aé", "$É aé"),
        ("no variables", "no variables"),
    ],
)
def test_base_expand_is_gos_os_expand(text: str, expanded: str) -> None:
    assert expand(text, {"A": "a", "A B": "ab"}) == expanded


def test_base_regexes_are_re2() -> None:
    executor = FakeExecutor({("echo", "dev8"): ExecResult("dev8\n", "", 0), ("digit",): ExecResult("\u0663\n", "", 0)})
    report = run(
        """
commandTests:
  - {name: anchored, command: echo, args: [dev8], expectedOutput: ['^dev8$']}
  - {name: newline, command: echo, args: [dev8], expectedOutput: ['^dev8\\n\\z', '(?m)^dev8$']}
  - {name: ascii digit, command: digit, excludedOutput: ['\\d']}
""",
        executor,
    )
    assert [r.passed for r in report.results] == [False, True, True]


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
    assert [r.name for r in report.results if r.passed] == ["c", "x", "absent"]  # CST's order: contents first
    assert {number for number, _ in executor.read} == {1}  # one container for the file tests: they only read
    assert executor.stat_calls == 1  # and one look at all the paths of its existence tests
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
  exposedPorts: ["2222", "9000"]
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
    assert "port 22 is not exposed (exposed: ['2222', '9000'])" in messages
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
    assert "did not start" in (failure.get("message") or "")
    assert cases[0].findtext("system-out") == "out"


def test_base_ports_are_numbers_and_volumes_are_asked_only_when_tested() -> None:
    config = ImageConfig(exposed_ports=("53/udp", "2222/tcp"))
    ports = FakeExecutor(config=config, volumes=("/data",))
    assert run("metadataTest:\n  exposedPorts: ['53', '2222']\n  unexposedPorts: ['22']\n", ports).passed
    assert not ports.asked_volumes
    volumes = FakeExecutor(config=config, volumes=("/data",))
    report = run("metadataTest:\n  volumes: [/data, /cache]\n  unmountedVolumes: [/data]\n", volumes)
    assert report.results[0].messages == ("volume /cache is not declared", "volume /data should not be declared")
    assert volumes.asked_volumes


def test_base_only_file_existence_paths_are_expanded() -> None:
    files = {"/home/dev8/f": (FileStat(True, stat.S_IFREG | 0o644, 0, 0), b"x")}
    executor = FakeExecutor(files=files, config=ImageConfig(env={"HOME": "/home/dev8"}))
    report = run(
        """
globalEnvVars: [{key: F, value: $HOME/f}]
fileExistenceTests: [{name: exists, path: $F}]
fileContentTests: [{name: read as written, path: $F, expectedContents: [x]}]
""",
        executor,
    )
    assert [(r.name, r.passed) for r in report.results] == [("read as written", False), ("exists", True)]
    assert executor.read == [(1, "$F"), (1, "/home/dev8/f")]
    assert executor.containers == [{"F": "/home/dev8/f"}]


class SlowExecutor(FakeExecutor):
    """Each command takes a moment; counts how many run at once."""

    running = 0
    most = 0

    @asynccontextmanager
    async def container(self, env: Mapping[str, str]) -> AsyncGenerator[FakeContainer]:
        SlowExecutor.running += 1
        SlowExecutor.most = max(SlowExecutor.most, SlowExecutor.running)
        try:
            await asyncio.sleep(0.05)
            async with super().container(env) as ctr:
                yield ctr
        finally:
            SlowExecutor.running -= 1


def test_command_tests_may_run_at_once_and_are_reported_in_the_suites_order() -> None:
    """On the engine each command test is an exec of its own: they run side by side, reported as written."""
    body = "commandTests:\n" + "".join(
        f"  - name: t{n}\n    command: echo\n    args: ['{n}']\n    expectedOutput: ['^{n}$']\n" for n in range(7)
    )
    executor = SlowExecutor({("echo", str(n)): ExecResult(str(n), "", 0) for n in range(7)})
    report = asyncio.run(run_suite(load_suite("t.yaml", suite_text(body)), executor, concurrency=3))
    assert [r.name for r in report.results] == [f"t{n}" for n in range(7)]
    assert all(r.passed for r in report.results)
    assert SlowExecutor.most == 3


class GnuStat:
    """`stat -c STAT_FORMAT -- PATHS` as GNU coreutils answers it: a line per path it could stat, an error
    line per path it could not, exit 1 when any failed. Counts the commands it was asked to run."""

    def __init__(self, files: Mapping[str, FileStat], not_a_directory: frozenset[str] = frozenset()) -> None:
        self.files, self.not_a_directory = files, not_a_directory
        self.commands: list[tuple[str, ...]] = []

    async def __call__(self, paths: Sequence[str]) -> ExecResult:
        self.commands.append(tuple(paths))
        out, err = "", ""
        for path in paths:
            if path in self.files:
                info = self.files[path]
                out += f"{info.mode:x} {info.uid} {info.gid} {path}\n"
            else:
                why = "Not a directory" if path in self.not_a_directory else "No such file or directory"
                err += f"stat: cannot statx '{path}': {why}\n"
        return ExecResult(out, err, 1 if err else 0)


REGULAR = FileStat(True, stat.S_IFREG | 0o644, 0, 0)
SECRET = FileStat(True, stat.S_IFREG | 0o600, 1000, 1001)


def test_files_are_looked_at_in_one_stat_command_missing_ones_included() -> None:
    run_stat = GnuStat({"/etc/a": REGULAR, "/srv/odd name, 'quoted'": SECRET})
    paths = ["/etc/a", "/nope", "/srv/odd name, 'quoted'", "/etc/a", "/also/nope"]
    stats = asyncio.run(stat_paths(paths, run_stat))
    assert stats == [REGULAR, FileStat(False), SECRET, REGULAR, FileStat(False)]
    assert run_stat.commands == [tuple(paths)]


def test_a_name_the_batch_cannot_tell_apart_is_looked_at_alone() -> None:
    """A newline in a name splits its line: the paths from there on are asked one by one, correctly."""
    run_stat = GnuStat({"/srv/line\nbreak": SECRET, "/etc/a": REGULAR})
    paths = ["/etc/a", "/srv/line\nbreak", "/nope", "/etc/a", "/srv/line\nbreak"]
    assert asyncio.run(stat_paths(paths, run_stat)) == [REGULAR, SECRET, FileStat(False), REGULAR, SECRET]
    assert run_stat.commands == [tuple(paths), *[(p,) for p in paths[1:4]]]  # each path alone once


def test_an_error_other_than_a_missing_file_fails_that_path_only() -> None:
    run_stat = GnuStat({"/etc/a": REGULAR}, not_a_directory=frozenset({"/etc/a/x"}))
    stats = asyncio.run(stat_paths(["/etc/a/x", "/etc/a", "/nope"], run_stat))
    assert stats[1:] == [REGULAR, FileStat(False)]
    assert stats[0].error == "stat /etc/a/x failed: stat: cannot statx '/etc/a/x': Not a directory"
    report = run(
        "fileExistenceTests:\n  - {name: under a file, path: /etc/a/x, shouldExist: false}\n",
        FakeExecutor(files={"/etc/a/x": (stats[0], b"")}),
    )
    assert [(r.passed, r.messages) for r in report.results] == [(False, (stats[0].error,))]
