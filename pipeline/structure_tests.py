"""container-structure-test suites: a strict loader, a runner over any executor, JUnit output.

The YAML is container-structure-test's `schemaVersion: 2.0.0` so that the same file also runs
under Google's tool. The runner does not know how commands run: an `Executor` (Dagger container,
podman container, ...) runs argv, stats and reads files and tells the image config.

Differences from Google's tool, by design: command tests share one container per suite
(Google's makes one per test), and `licenseTests`/`containerRunOptions` are refused.
"""

from __future__ import annotations

import re
import stat
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar, cast

import yaml

from pipeline.catalog import kind_of

SCHEMA_VERSION = "2.0.0"
_EXECUTABLE_BY = {"any": 0o111, "owner": 0o100, "group": 0o010, "other": 0o001}
T = TypeVar("T")


class SuiteError(ValueError):
    """A structure-test file that does not follow the schema; the message names file and key."""


# --- the suite -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvVar:
    key: str
    value: str
    is_regex: bool = False


@dataclass(frozen=True)
class CommandTest:
    name: str
    command: str
    args: tuple[str, ...] = ()
    setup: tuple[tuple[str, ...], ...] = ()
    teardown: tuple[tuple[str, ...], ...] = ()
    env_vars: tuple[EnvVar, ...] = ()
    exit_code: int = 0
    expected_output: tuple[str, ...] = ()
    excluded_output: tuple[str, ...] = ()
    expected_error: tuple[str, ...] = ()
    excluded_error: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileExistenceTest:
    name: str
    path: str
    should_exist: bool = True
    permissions: str | None = None
    uid: int | None = None
    gid: int | None = None
    is_executable_by: str | None = None


@dataclass(frozen=True)
class FileContentTest:
    name: str
    path: str
    expected_contents: tuple[str, ...] = ()
    excluded_contents: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetadataTest:
    env_vars: tuple[EnvVar, ...] = ()
    unbound_env_vars: tuple[EnvVar, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    unexposed_ports: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    workdir: str | None = None
    volumes: tuple[str, ...] = ()
    unmounted_volumes: tuple[str, ...] = ()
    labels: tuple[EnvVar, ...] = ()
    user: str | None = None

    def is_empty(self) -> bool:
        return self == MetadataTest()


@dataclass(frozen=True)
class Suite:
    source: str
    global_env_vars: tuple[EnvVar, ...] = ()
    command_tests: tuple[CommandTest, ...] = ()
    file_existence_tests: tuple[FileExistenceTest, ...] = ()
    file_content_tests: tuple[FileContentTest, ...] = ()
    metadata_test: MetadataTest = field(default_factory=MetadataTest)


# --- strict loading --------------------------------------------------------------------------


class _Node:
    """A mapping from the YAML with its key path, handing out typed values or SuiteErrors."""

    def __init__(self, source: str, path: str, value: object) -> None:
        if not isinstance(value, dict):
            raise SuiteError(f"{source}: {path or '<top>'}: expected a mapping, got {kind_of(value)}")
        self._source, self._path = source, path
        self._data = cast(dict[object, object], value)

    def where(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def fail(self, key: str, message: str) -> SuiteError:
        return SuiteError(f"{self._source}: {self.where(key)}: {message}")

    def reject_unknown(self, known: Sequence[str], refused: Mapping[str, str] | None = None) -> None:
        for key in self._data:
            if not isinstance(key, str):
                raise SuiteError(f"{self._source}: {self._path or '<top>'}: key {key!r} is not a string")
            if refused and key in refused:
                raise self.fail(key, refused[key])
            if key not in known:
                raise self.fail(key, f"unknown key (known: {', '.join(known)})")

    def has(self, key: str) -> bool:
        return key in self._data

    def _get(self, key: str, kind: type[T], kind_name: str, *, required: bool = False) -> T | None:
        if key not in self._data:
            if required:
                raise self.fail(key, "is required")
            return None
        value = self._data[key]
        # bool is an int in Python; YAML's true is never a number here.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"expected {kind_name}, got {kind_of(value)}")
        return value

    def string(self, key: str, *, required: bool = False) -> str | None:
        return self._get(key, str, "a string", required=required)

    def required_string(self, key: str) -> str:
        value = self.string(key, required=True)
        if not value:
            raise self.fail(key, "must not be empty")
        return value

    def boolean(self, key: str) -> bool | None:
        return self._get(key, bool, "a boolean")

    def integer(self, key: str) -> int | None:
        return self._get(key, int, "an integer")

    def items(self, key: str) -> list[object]:
        return cast(list[object], self._get(key, list, "a list") or [])

    def strings(self, key: str) -> tuple[str, ...] | None:
        if key not in self._data:
            return None
        out: list[str] = []
        for i, item in enumerate(self.items(key)):
            if not isinstance(item, str):
                raise self.fail(f"{key}[{i}]", f"expected a string, got {kind_of(item)}")
            out.append(item)
        return tuple(out)

    def child(self, key: str, index: int | None = None) -> _Node:
        value = self._data[key] if index is None else self.items(key)[index]
        suffix = key if index is None else f"{key}[{index}]"
        return _Node(self._source, self.where(suffix), value)

    def children(self, key: str) -> list[_Node]:
        return [self.child(key, i) for i in range(len(self.items(key)))]


def _env_vars(node: _Node, key: str) -> tuple[EnvVar, ...]:
    out: list[EnvVar] = []
    for item in node.children(key):
        item.reject_unknown(("key", "value", "isRegex"))
        out.append(
            EnvVar(
                item.required_string("key"),
                item.string("value") or "",
                bool(item.boolean("isRegex")),
            )
        )
    return tuple(out)


def _argvs(node: _Node, key: str) -> tuple[tuple[str, ...], ...]:
    out: list[tuple[str, ...]] = []
    for i, item in enumerate(node.items(key)):
        if not isinstance(item, list) or not item or not all(isinstance(a, str) for a in cast(list[object], item)):
            raise node.fail(f"{key}[{i}]", "expected a non-empty list of strings")
        out.append(tuple(cast(list[str], item)))
    return tuple(out)


def _command_test(node: _Node) -> CommandTest:
    node.reject_unknown(
        (
            "name", "setup", "teardown", "envVars", "exitCode", "command", "args",
            "expectedOutput", "excludedOutput", "expectedError", "excludedError",
        )
    )  # fmt: skip
    return CommandTest(
        name=node.required_string("name"),
        command=node.required_string("command"),
        args=node.strings("args") or (),
        setup=_argvs(node, "setup"),
        teardown=_argvs(node, "teardown"),
        env_vars=_env_vars(node, "envVars"),
        exit_code=node.integer("exitCode") or 0,
        expected_output=_regexes(node, "expectedOutput"),
        excluded_output=_regexes(node, "excludedOutput"),
        expected_error=_regexes(node, "expectedError"),
        excluded_error=_regexes(node, "excludedError"),
    )


def _regexes(node: _Node, key: str) -> tuple[str, ...]:
    patterns = node.strings(key) or ()
    for i, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as e:
            raise node.fail(f"{key}[{i}]", f"invalid regular expression {pattern!r}: {e}") from e
    return patterns


def _file_existence_test(node: _Node) -> FileExistenceTest:
    node.reject_unknown(("name", "path", "shouldExist", "permissions", "uid", "gid", "isExecutableBy"))
    executable_by = node.string("isExecutableBy")
    if executable_by is not None and executable_by not in _EXECUTABLE_BY:
        raise node.fail("isExecutableBy", f"must be one of {', '.join(_EXECUTABLE_BY)}, got {executable_by!r}")
    should_exist = node.boolean("shouldExist")
    return FileExistenceTest(
        name=node.required_string("name"),
        path=node.required_string("path"),
        should_exist=True if should_exist is None else should_exist,
        permissions=node.string("permissions"),
        uid=node.integer("uid"),
        gid=node.integer("gid"),
        is_executable_by=executable_by,
    )


def _file_content_test(node: _Node) -> FileContentTest:
    node.reject_unknown(("name", "path", "expectedContents", "excludedContents"))
    return FileContentTest(
        name=node.required_string("name"),
        path=node.required_string("path"),
        expected_contents=_regexes(node, "expectedContents"),
        excluded_contents=_regexes(node, "excludedContents"),
    )


def _metadata_test(node: _Node) -> MetadataTest:
    node.reject_unknown(
        (
            "envVars", "unboundEnvVars", "exposedPorts", "unexposedPorts", "entrypoint", "cmd",
            "workdir", "volumes", "unmountedVolumes", "labels", "user",
        ),
        {"env": "was renamed envVars in container-structure-test; use envVars"},
    )  # fmt: skip
    return MetadataTest(
        env_vars=_env_vars(node, "envVars"),
        unbound_env_vars=_env_vars(node, "unboundEnvVars"),
        exposed_ports=node.strings("exposedPorts") or (),
        unexposed_ports=node.strings("unexposedPorts") or (),
        entrypoint=node.strings("entrypoint"),
        cmd=node.strings("cmd"),
        workdir=node.string("workdir"),
        volumes=node.strings("volumes") or (),
        unmounted_volumes=node.strings("unmountedVolumes") or (),
        labels=_env_vars(node, "labels"),
        user=node.string("user"),
    )


def parse_suite(data: object, source: str) -> Suite:
    """Validates parsed YAML against the schema; `source` names the file in error messages."""
    top = _Node(source, "", data)
    top.reject_unknown(
        (
            "schemaVersion", "globalEnvVars", "commandTests", "fileExistenceTests",
            "fileContentTests", "metadataTest",
        ),
        {
            "licenseTests": "is not supported by this runner",
            "containerRunOptions": "is not supported by this runner",
        },
    )  # fmt: skip
    version = top.required_string("schemaVersion")
    if version != SCHEMA_VERSION:
        raise top.fail("schemaVersion", f"must be {SCHEMA_VERSION!r}, got {version!r}")
    return Suite(
        source=source,
        global_env_vars=_env_vars(top, "globalEnvVars"),
        command_tests=tuple(_command_test(n) for n in top.children("commandTests")),
        file_existence_tests=tuple(_file_existence_test(n) for n in top.children("fileExistenceTests")),
        file_content_tests=tuple(_file_content_test(n) for n in top.children("fileContentTests")),
        metadata_test=_metadata_test(top.child("metadataTest")) if top.has("metadataTest") else MetadataTest(),
    )


def load_suite(path: str | Path, text: str | None = None) -> Suite:
    """Reads and validates a structure-test YAML file (or `text`, with `path` naming it)."""
    source = str(path)
    if text is None:
        text = Path(path).read_text(encoding="utf-8")
    try:
        data: object = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SuiteError(f"{source}: not valid YAML: {e}") from e
    return parse_suite(data, source)


# --- executing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int


@dataclass(frozen=True)
class FileStat:
    exists: bool
    mode: int = 0  # st_mode: file type and permission bits
    uid: int = -1
    gid: int = -1


@dataclass(frozen=True)
class ImageConfig:
    user: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict[str, str])
    exposed_ports: tuple[str, ...] = ()  # "2222/tcp"; a bare "2222" means tcp
    workdir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict[str, str])
    volumes: tuple[str, ...] = ()


class Executor(Protocol):
    """Where the tests run: an image's container, however it is executed."""

    async def run(self, argv: Sequence[str], env: Mapping[str, str]) -> ExecResult:
        """Runs argv (no shell, image entrypoint bypassed) with extra environment variables."""
        ...

    async def stat(self, path: str) -> FileStat:
        """lstat of path; `exists=False` when there is nothing there."""
        ...

    async def read_file(self, path: str) -> bytes:
        """The file's bytes; raises an exception when it cannot be read."""
        ...

    async def image_config(self) -> ImageConfig: ...


@dataclass(frozen=True)
class TestResult:
    name: str
    kind: str  # "command", "fileExistence", "fileContent", "metadata"
    passed: bool
    messages: tuple[str, ...] = ()
    duration: float = 0.0
    stdout: str = ""
    stderr: str = ""


@dataclass(frozen=True)
class Report:
    source: str
    results: tuple[TestResult, ...]

    @property
    def failures(self) -> tuple[TestResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        failed = len(self.failures)
        lines = [f"{self.source}: {len(self.results) - failed} passed, {failed} failed"]
        for result in self.failures:
            lines.append(f"  FAIL {result.kind}: {result.name}")
            lines.extend(f"    {m}" for m in result.messages)
        return "\n".join(lines)


def go_mode_string(mode: int) -> str:
    """st_mode as Go's os.FileMode.String() prints it, which `permissions` is compared with."""
    kinds = ""
    if stat.S_ISDIR(mode):
        kinds += "d"
    if stat.S_ISLNK(mode):
        kinds += "L"
    if stat.S_ISBLK(mode):
        kinds += "D"
    if stat.S_ISFIFO(mode):
        kinds += "p"
    if stat.S_ISSOCK(mode):
        kinds += "S"
    if mode & stat.S_ISUID:
        kinds += "u"
    if mode & stat.S_ISGID:
        kinds += "g"
    if stat.S_ISCHR(mode):
        kinds += "Dc"
    if mode & stat.S_ISVTX:
        kinds += "t"
    perms = "".join(c if mode & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))
    return (kinds or "-") + perms


_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def _substitute(text: str, env: Mapping[str, str]) -> str:
    """$VAR and ${VAR} from the image's environment, as container-structure-test does."""
    return _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), text)


def _check_regexes(what: str, text: str, expected: Sequence[str], excluded: Sequence[str]) -> list[str]:
    messages = [f"expected {what} to match {p!r}; {what} was {text!r}" for p in expected if not re.search(p, text)]
    messages += [f"{what} matches excluded {p!r}; {what} was {text!r}" for p in excluded if re.search(p, text)]
    return messages


async def _run_command_test(
    test: CommandTest, suite: Suite, executor: Executor, image_env: Mapping[str, str]
) -> TestResult:
    env = {v.key: _substitute(v.value, image_env) for v in (*suite.global_env_vars, *test.env_vars)}
    messages: list[str] = []
    for argv in test.setup:
        setup = await executor.run([_substitute(a, image_env) for a in argv], env)
        if setup.exit_code != 0:
            messages.append(f"setup {list(argv)} exited {setup.exit_code}: {setup.stderr.strip()}")
    argv = [_substitute(a, image_env) for a in (test.command, *test.args)]
    result = await executor.run(argv, env)
    messages += _check_regexes("stdout", result.stdout, test.expected_output, test.excluded_output)
    messages += _check_regexes("stderr", result.stderr, test.expected_error, test.excluded_error)
    if result.exit_code != test.exit_code:
        messages.append(f"{argv} exited {result.exit_code}, expected {test.exit_code}")
    for teardown in test.teardown:
        await executor.run(list(teardown), env)
    return TestResult(
        test.name,
        "command",
        not messages,
        tuple(messages),
        stdout=result.stdout,
        stderr=result.stderr,
    )


async def _run_file_existence_test(test: FileExistenceTest, executor: Executor) -> TestResult:
    info = await executor.stat(test.path)
    messages: list[str] = []
    if not test.should_exist:
        if info.exists:
            messages.append(f"{test.path} should not exist but does")
        return TestResult(test.name, "fileExistence", not messages, tuple(messages))
    if not info.exists:
        return TestResult(test.name, "fileExistence", False, (f"{test.path} should exist but does not",))
    actual = go_mode_string(info.mode)
    if test.permissions is not None and actual != test.permissions:
        messages.append(f"{test.path} has permissions {actual}, expected {test.permissions}")
    if test.is_executable_by is not None and not info.mode & _EXECUTABLE_BY[test.is_executable_by]:
        messages.append(f"{test.path} ({actual}) is not executable by {test.is_executable_by}")
    if test.uid is not None and info.uid != test.uid:
        messages.append(f"{test.path} is owned by uid {info.uid}, expected {test.uid}")
    if test.gid is not None and info.gid != test.gid:
        messages.append(f"{test.path} has gid {info.gid}, expected {test.gid}")
    return TestResult(test.name, "fileExistence", not messages, tuple(messages))


async def _run_file_content_test(test: FileContentTest, executor: Executor) -> TestResult:
    try:
        contents = (await executor.read_file(test.path)).decode("utf-8", errors="replace")
    except Exception as e:  # any executor failure is this test's failure
        return TestResult(test.name, "fileContent", False, (f"cannot read {test.path}: {e}",))
    messages = _check_regexes(f"content of {test.path}", contents, test.expected_contents, test.excluded_contents)
    return TestResult(test.name, "fileContent", not messages, tuple(messages))


def _port(port: str) -> str:
    return port if "/" in port else f"{port}/tcp"


def _match(expected: EnvVar, actual: str) -> bool:
    return bool(re.search(expected.value, actual)) if expected.is_regex else expected.value == actual


def _check_metadata(test: MetadataTest, config: ImageConfig) -> list[str]:
    messages: list[str] = []
    for kind, wanted, actual_map in (
        ("env var", test.env_vars, config.env),
        ("label", test.labels, config.labels),
    ):
        for var in wanted:
            if var.key not in actual_map:
                messages.append(f"{kind} {var.key} is not set")
            elif not _match(var, actual_map[var.key]):
                messages.append(f"{kind} {var.key}={actual_map[var.key]!r} does not match {var.value!r}")
    messages += [f"env var {v.key} should not be set" for v in test.unbound_env_vars if v.key in config.env]
    ports = {_port(p) for p in config.exposed_ports}
    messages += [
        f"port {_port(p)} is not exposed (exposed: {sorted(ports)})"
        for p in test.exposed_ports
        if _port(p) not in ports
    ]
    messages += [f"port {_port(p)} should not be exposed" for p in test.unexposed_ports if _port(p) in ports]
    messages += [f"volume {v} is not declared" for v in test.volumes if v not in config.volumes]
    messages += [f"volume {v} should not be declared" for v in test.unmounted_volumes if v in config.volumes]
    if test.entrypoint is not None and tuple(test.entrypoint) != tuple(config.entrypoint):
        messages.append(f"entrypoint is {list(config.entrypoint)}, expected {list(test.entrypoint)}")
    if test.cmd is not None and tuple(test.cmd) != tuple(config.cmd):
        messages.append(f"cmd is {list(config.cmd)}, expected {list(test.cmd)}")
    if test.workdir and test.workdir != config.workdir:
        messages.append(f"workdir is {config.workdir!r}, expected {test.workdir!r}")
    if test.user and test.user != config.user:
        messages.append(f"user is {config.user!r}, expected {test.user!r}")
    return messages


async def _timed(name: str, kind: str, run: Awaitable[TestResult]) -> TestResult:
    started = time.monotonic()
    try:
        result = await run
    except Exception as e:  # an executor error fails this test, not the suite
        result = TestResult(name, kind, False, (f"{type(e).__name__}: {e}",))
    return TestResult(
        result.name,
        result.kind,
        result.passed,
        result.messages,
        time.monotonic() - started,
        result.stdout,
        result.stderr,
    )


async def run_suite(suite: Suite, executor: Executor) -> Report:
    """Runs every test of the suite, in container-structure-test's order, one after another."""
    config = await executor.image_config()
    results: list[TestResult] = []
    for test in suite.command_tests:
        results.append(await _timed(test.name, "command", _run_command_test(test, suite, executor, config.env)))
    for test in suite.file_existence_tests:
        results.append(await _timed(test.name, "fileExistence", _run_file_existence_test(test, executor)))
    for test in suite.file_content_tests:
        results.append(await _timed(test.name, "fileContent", _run_file_content_test(test, executor)))
    if not suite.metadata_test.is_empty():
        messages = tuple(_check_metadata(suite.metadata_test, config))
        results.append(TestResult("Metadata Test", "metadata", not messages, messages))
    return Report(suite.source, tuple(results))


# --- JUnit -----------------------------------------------------------------------------------


def junit_xml(reports: Sequence[Report], name: str = "structure-tests") -> str:
    """One <testsuite> per report, one <testcase> per test; failures carry their messages."""
    root = ET.Element("testsuites", name=name)
    total = failures = 0
    for report in reports:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=report.source,
            tests=str(len(report.results)),
            failures=str(len(report.failures)),
            errors="0",
            time=f"{sum(r.duration for r in report.results):.3f}",
        )
        for result in report.results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{report.source}.{result.kind}",
                name=result.name,
                time=f"{result.duration:.3f}",
            )
            if not result.passed:
                failure = ET.SubElement(case, "failure", message=result.messages[0] if result.messages else "failed")
                failure.text = "\n".join(result.messages)
            if result.stdout:
                ET.SubElement(case, "system-out").text = result.stdout
            if result.stderr:
                ET.SubElement(case, "system-err").text = result.stderr
        total += len(report.results)
        failures += len(report.failures)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(reports: Sequence[Report], path: str | Path, name: str = "structure-tests") -> None:
    Path(path).write_text(junit_xml(reports, name), encoding="utf-8")
