"""container-structure-test suites: a strict loader, a runner over any executor, JUnit output.

The YAML is container-structure-test's `schemaVersion: 2.0.0`, and it means what it means there
(v1.22.0, its docker driver; tests/test_cst_parity.py runs CST itself on a corpus of suites):
- each command test runs in a fresh container of the image: its `setup` commands, then the command,
  then `teardown`. A setup command that cannot start fails the test; its exit status does not count.
- `$VAR`/`${VAR}` are expanded as Go's os.Expand does, from the image's environment: in
  `globalEnvVars`' values; in a test's `envVars` values for its setup commands; in `command` and
  `args` from the image's environment plus `globalEnvVars` (plus the test's `envVars` once it has a
  setup command: CST commits them into the image with the first one); in fileExistenceTests' `path`.
  The command itself gets its `envVars` as written. fileContentTests' `path` is read as written.
- regular expressions are RE2's (Go's regexp), matched anywhere in the text: `^dev8$` does not match
  "dev8\\n"; a pattern is refused when Go would refuse it.
- the metadata test reads the image config; `exposedPorts` are port numbers, as CST compares them.
Refused: `licenseTests`, `containerRunOptions`, anything the schema does not have, and what CST
would fail at run time anyway (an invalid regex, an empty env var value in a command test).
"""

from __future__ import annotations

import stat
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, TypeVar, cast

import anyio
import re2  # pyright: ignore[reportMissingTypeStubs]  (google-re2 ships no type information)
import yaml

from pipeline.catalog import kind_of

SCHEMA_VERSION = "2.0.0"
_EXECUTABLE_BY = {"any": 0o111, "owner": 0o100, "group": 0o010, "other": 0o001}
T = TypeVar("T")


class SuiteError(ValueError):
    """A structure-test file that does not follow the schema; the message names file and key."""


# --- RE2, as Go's regexp ----------------------------------------------------------------------


class Pattern(Protocol):
    def search(self, text: str) -> object | None: ...


def _re2_options() -> object:
    options = re2.Options()  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    options.log_errors = False  # pyright: ignore[reportUnknownMemberType]
    return cast(object, options)


_RE2_OPTIONS = _re2_options()


def compile_regex(pattern: str) -> Pattern:
    """An RE2 pattern, as Go's regexp compiles it; ValueError with RE2's reason when it does not."""
    if _has_any_byte_escape(pattern):
        raise ValueError("invalid escape sequence: \\C (Go's regexp has no any-byte escape)")
    try:
        return cast(Pattern, re2.compile(pattern, _RE2_OPTIONS))  # pyright: ignore[reportUnknownMemberType]
    except Exception as e:  # google-re2 raises re2.error, its message in bytes
        reason = e.args[0].decode(errors="replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        raise ValueError(reason) from None


def _has_any_byte_escape(pattern: str) -> bool:
    """`\\C` outside `\\Q...\\E`: the one escape RE2 accepts and Go's regexp refuses."""
    i, quoted = 0, False
    while i < len(pattern) - 1:
        pair = pattern[i : i + 2]
        if quoted:
            quoted, i = (False, i + 2) if pair == "\\E" else (True, i + 1)
        elif pattern[i] == "\\":
            if pair == "\\C":
                return True
            quoted, i = pair == "\\Q", i + 2
        else:
            i += 1
    return False


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


def _env_vars(node: _Node, key: str, *, value_required: bool = False) -> tuple[EnvVar, ...]:
    """`key`/`value`/`isRegex` items; CST fails a command test whose env var has an empty value."""
    out: list[EnvVar] = []
    for item in node.children(key):
        item.reject_unknown(("key", "value", "isRegex"))
        value = item.required_string("value") if value_required else item.string("value") or ""
        var = EnvVar(item.required_string("key"), value, bool(item.boolean("isRegex")))
        if var.is_regex:
            _check_regex(item, "value", value)
        out.append(var)
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
        env_vars=_env_vars(node, "envVars", value_required=True),
        exit_code=node.integer("exitCode") or 0,
        expected_output=_regexes(node, "expectedOutput"),
        excluded_output=_regexes(node, "excludedOutput"),
        expected_error=_regexes(node, "expectedError"),
        excluded_error=_regexes(node, "excludedError"),
    )


def _regexes(node: _Node, key: str) -> tuple[str, ...]:
    patterns = node.strings(key) or ()
    for i, pattern in enumerate(patterns):
        _check_regex(node, f"{key}[{i}]", pattern)
    return patterns


def _check_regex(node: _Node, key: str, pattern: str) -> None:
    try:
        compile_regex(pattern)
    except ValueError as e:
        raise node.fail(key, f"invalid regular expression {pattern!r} (RE2, as Go's regexp): {e}") from None


def _non_empty(node: _Node, key: str) -> tuple[str, ...]:
    values = node.strings(key) or ()
    for i, value in enumerate(values):
        if not value:
            raise node.fail(f"{key}[{i}]", "must not be empty")
    return values


def _ports(node: _Node, key: str) -> tuple[str, ...]:
    """Port numbers: CST compares the number of each exposed port, so `2222/tcp` could never match."""
    ports = _non_empty(node, key)
    for i, port in enumerate(ports):
        if not port.isdigit():
            raise node.fail(f"{key}[{i}]", f"{port!r}: give the port number only, e.g. {port.split('/')[0]!r}")
    return ports


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
        exposed_ports=_ports(node, "exposedPorts"),
        unexposed_ports=_ports(node, "unexposedPorts"),
        entrypoint=node.strings("entrypoint"),
        cmd=node.strings("cmd"),
        workdir=node.string("workdir"),
        volumes=_non_empty(node, "volumes"),
        unmounted_volumes=_non_empty(node, "unmountedVolumes"),
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
            "licenseTests": "container-structure-test's licenseTests are not supported by this runner",
            "containerRunOptions": "container-structure-test's containerRunOptions are not supported by this runner",
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
    not_started: str = ""  # why the command could not start (not found, not executable); CST fails the test


@dataclass(frozen=True)
class FileStat:
    exists: bool
    mode: int = 0  # st_mode: file type and permission bits
    uid: int = -1
    gid: int = -1
    error: str = ""  # why it could not be looked at: that file test fails with it


@dataclass(frozen=True)
class ImageConfig:
    user: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict[str, str])
    exposed_ports: tuple[str, ...] = ()  # "2222/tcp"
    workdir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict[str, str])


STAT_FORMAT = "%f %u %g %n"  # `stat -c`: mode in hex, uid, gid, then the name as given
_MISSING = "No such file or directory"


async def stat_paths(
    paths: Sequence[str], run_stat: Callable[[Sequence[str]], Awaitable[ExecResult]]
) -> list[FileStat]:
    """lstat of each path through `run_stat(paths)`, which runs `stat -c STAT_FORMAT -- PATHS` as root:
    one command for them all (a command is a container for some executors), then one per path whose
    line that output does not make certain (a newline in its name, an error other than a missing file)."""
    if not paths:
        return []
    batch = _stats_from_batch(paths, await run_stat(paths))
    unclear = [path for path, known in zip(paths, batch, strict=True) if known is None]
    alone = {path: _stat_alone(path, await run_stat([path])) for path in dict.fromkeys(unclear)}
    return [known if known is not None else alone[path] for path, known in zip(paths, batch, strict=True)]


def _stats_from_batch(paths: Sequence[str], result: ExecResult) -> list[FileStat | None]:
    """Each path's status from one stat command's output, in the paths' order; None where it is unclear."""
    lines = result.stdout.split("\n")
    if lines[-1] == "":
        lines.pop()
    stats: list[FileStat | None] = []
    consumed = 0
    for path in paths:
        known = _parsed(path, lines[consumed]) if consumed < len(lines) else None
        consumed += known is not None
        stats.append(known)
    errors = [line for line in result.stderr.split("\n") if line]
    # Every path with no line is missing only when each has its own "missing" error and nothing is left over.
    if consumed == len(lines) and len(errors) == stats.count(None) and all(_MISSING in e for e in errors):
        return [known or FileStat(exists=False) for known in stats]
    return stats


def _parsed(path: str, record: str) -> FileStat | None:
    fields = record.split(" ", 3)
    if len(fields) != 4 or fields[3] != path:
        return None
    try:
        return FileStat(exists=True, mode=int(fields[0], 16), uid=int(fields[1]), gid=int(fields[2]))
    except ValueError:
        return None


def _stat_alone(path: str, result: ExecResult) -> FileStat:
    if result.exit_code != 0:
        if _MISSING in result.stderr:
            return FileStat(exists=False)
        return FileStat(exists=False, error=f"stat {path} failed: {result.stderr.strip()}")
    parsed = _parsed(path, result.stdout.removesuffix("\n"))
    return parsed or FileStat(exists=False, error=f"stat {path}: unexpected output {result.stdout!r}")


class Container(Protocol):
    """One container of the image, fresh from the image config, used by one test (or one suite's
    read-only file tests). Commands run one after another and see each other's effects."""

    async def run(self, argv: Sequence[str], env: Mapping[str, str]) -> ExecResult:
        """Runs argv (no shell, image entrypoint bypassed) with `env` added for this command only."""
        ...

    async def stat(self, paths: Sequence[str]) -> list[FileStat]:
        """lstat of each path, as root; `exists=False` where there is nothing there."""
        ...

    async def read_file(self, path: str) -> bytes:
        """The file's bytes, read as root; raises an exception when it cannot be read."""
        ...


class Executor(Protocol):
    """Where the tests run: an image, however its containers are made."""

    def container(self, env: Mapping[str, str]) -> AbstractAsyncContextManager[Container]:
        """A fresh container of the image with `env` added to the image's environment; gone on exit."""
        ...

    async def image_config(self) -> ImageConfig: ...

    async def volumes(self) -> tuple[str, ...]:
        """The image config's volumes (asked only when a metadata test checks them)."""
        ...


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


_SHELL_SPECIAL = frozenset("*#$@!?-0123456789")


def expand(text: str, env: Mapping[str, str]) -> str:
    """`$VAR` and `${VAR}` as Go's os.Expand with a map lookup (CST's substitution): an unknown name and
    the shell's specials (`$$`, `$1`, `$@`, ...) expand to ""; `${}` and an unclosed `${` are dropped;
    a `$` before anything else, or at the end, stays."""
    out: list[str] = []
    start = j = 0
    while j < len(text):
        if text[j] == "$" and j + 1 < len(text):
            out.append(text[start:j])
            name, width = _shell_name(text[j + 1 :])
            if name:
                out.append(env.get(name, ""))
            elif width == 0:
                out.append("$")
            j += width
            start = j + 1
        j += 1
    return "".join(out) + text[start:]


def _shell_name(text: str) -> tuple[str, int]:
    """Go's os.getShellName: the name after a `$`, and how many characters it takes."""
    if text[0] == "{":
        if len(text) > 2 and text[1] in _SHELL_SPECIAL and text[2] == "}":
            return text[1], 3
        end = text.find("}", 1)
        if end == 1:
            return "", 2
        return (text[1:end], end + 1) if end > 0 else ("", 1)
    if text[0] in _SHELL_SPECIAL:
        return text[0], 1
    width = 0
    while width < len(text) and (text[width] == "_" or (text[width].isascii() and text[width].isalnum())):
        width += 1
    return text[:width], width


def _check_regexes(what: str, text: str, expected: Sequence[str], excluded: Sequence[str]) -> list[str]:
    messages = [
        f"expected {what} to match {p!r}; {what} was {text!r}" for p in expected if not compile_regex(p).search(text)
    ]
    messages += [
        f"{what} matches excluded {p!r}; {what} was {text!r}" for p in excluded if compile_regex(p).search(text)
    ]
    return messages


async def _run_command_test(
    test: CommandTest, executor: Executor, env: Mapping[str, str], global_env: Mapping[str, str]
) -> TestResult:
    """`env` is the image's environment with the suite's globalEnvVars, `global_env` those alone."""
    setup_env = {v.key: expand(v.value, env) for v in test.env_vars}
    argv_env = {**env, **setup_env} if test.setup else env
    argv = [expand(a, argv_env) for a in (test.command, *test.args)]
    async with executor.container(global_env) as ctr:
        for step in test.setup:
            ran = await ctr.run(step, setup_env)
            if ran.not_started:
                return TestResult(
                    test.name, "command", False, (f"setup {list(step)} did not start: {ran.not_started}",)
                )
        result = await ctr.run(argv, {v.key: v.value for v in test.env_vars})
        for step in test.teardown:
            await ctr.run(step, setup_env)  # as in CST, how a teardown command ends does not count
    if result.not_started:
        return TestResult(test.name, "command", False, (f"{argv} did not start: {result.not_started}",))
    messages = _check_regexes("stdout", result.stdout, test.expected_output, test.excluded_output)
    messages += _check_regexes("stderr", result.stderr, test.expected_error, test.excluded_error)
    if result.exit_code != test.exit_code:
        messages.append(f"{argv} exited {result.exit_code}, expected {test.exit_code}")
    return TestResult(
        test.name,
        "command",
        not messages,
        tuple(messages),
        stdout=result.stdout,
        stderr=result.stderr,
    )


def _file_existence_result(test: FileExistenceTest, path: str, info: FileStat) -> TestResult:
    if info.error:
        return TestResult(test.name, "fileExistence", False, (info.error,))
    messages: list[str] = []
    if not test.should_exist:
        if info.exists:
            messages.append(f"{path} should not exist but does")
        return TestResult(test.name, "fileExistence", not messages, tuple(messages))
    if not info.exists:
        return TestResult(test.name, "fileExistence", False, (f"{path} should exist but does not",))
    actual = go_mode_string(info.mode)
    if test.permissions is not None and actual != test.permissions:
        messages.append(f"{path} has permissions {actual}, expected {test.permissions}")
    if test.is_executable_by is not None and not info.mode & _EXECUTABLE_BY[test.is_executable_by]:
        messages.append(f"{path} ({actual}) is not executable by {test.is_executable_by}")
    if test.uid is not None and info.uid != test.uid:
        messages.append(f"{path} is owned by uid {info.uid}, expected {test.uid}")
    if test.gid is not None and info.gid != test.gid:
        messages.append(f"{path} has gid {info.gid}, expected {test.gid}")
    return TestResult(test.name, "fileExistence", not messages, tuple(messages))


async def _run_file_content_test(test: FileContentTest, ctr: Container) -> TestResult:
    try:
        contents = (await ctr.read_file(test.path)).decode("utf-8", errors="replace")
    except Exception as e:  # any executor failure is this test's failure
        return TestResult(test.name, "fileContent", False, (f"cannot read {test.path}: {e}",))
    messages = _check_regexes(f"content of {test.path}", contents, test.expected_contents, test.excluded_contents)
    return TestResult(test.name, "fileContent", not messages, tuple(messages))


async def _run_file_tests(
    suite: Suite, executor: Executor, env: Mapping[str, str], global_env: Mapping[str, str]
) -> list[TestResult]:
    """The file tests, in CST's order (content, then existence), in one container: they only read."""
    tests: list[FileContentTest | FileExistenceTest] = [*suite.file_content_tests, *suite.file_existence_tests]
    results: list[TestResult] = []
    if not tests:
        return results
    try:
        async with executor.container(global_env) as ctr:
            for test in suite.file_content_tests:
                results.append(await _timed(test.name, "fileContent", _run_file_content_test(test, ctr)))
            paths = [expand(test.path, env) for test in suite.file_existence_tests]
            started = time.monotonic()
            infos = await ctr.stat(paths)  # one look for all: they share a container and only read
            each = (time.monotonic() - started) / max(len(paths), 1)
            for test, path, info in zip(suite.file_existence_tests, paths, infos, strict=True):
                results.append(replace(_file_existence_result(test, path, info), duration=each))
    except Exception as e:  # the container could not be made: every file test not run fails
        for test in tests[len(results) :]:
            kind = "fileContent" if isinstance(test, FileContentTest) else "fileExistence"
            results.append(TestResult(test.name, kind, False, (f"{type(e).__name__}: {e}",)))
    return results


def _match(expected: EnvVar, actual: str) -> bool:
    return bool(compile_regex(expected.value).search(actual)) if expected.is_regex else expected.value == actual


def _check_metadata(test: MetadataTest, config: ImageConfig, volumes: tuple[str, ...]) -> list[str]:
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
    numbers = sorted({p.split("/")[0] for p in config.exposed_ports})
    messages += [f"port {p} is not exposed (exposed: {numbers})" for p in test.exposed_ports if p not in numbers]
    messages += [f"port {p} should not be exposed" for p in test.unexposed_ports if p in numbers]
    messages += [f"volume {v} is not declared" for v in test.volumes if v not in volumes]
    messages += [f"volume {v} should not be declared" for v in test.unmounted_volumes if v in volumes]
    if test.entrypoint is not None and tuple(test.entrypoint) != tuple(config.entrypoint):
        messages.append(f"entrypoint is {list(config.entrypoint)}, expected {list(test.entrypoint)}")
    if test.cmd is not None and tuple(test.cmd) != tuple(config.cmd):
        messages.append(f"cmd is {list(config.cmd)}, expected {list(test.cmd)}")
    if test.workdir and test.workdir != config.workdir:
        messages.append(f"workdir is {config.workdir!r}, expected {test.workdir!r}")
    if test.user and test.user != config.user:
        messages.append(f"user is {config.user!r}, expected {test.user!r}")
    return messages


async def _run_metadata_test(test: MetadataTest, executor: Executor, config: ImageConfig) -> TestResult:
    volumes = await executor.volumes() if test.volumes or test.unmounted_volumes else ()
    messages = tuple(_check_metadata(test, config, volumes))
    return TestResult("Metadata Test", "metadata", not messages, messages)


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


async def run_suite(suite: Suite, executor: Executor, concurrency: int = 1) -> Report:
    """Runs every test of the suite and reports them in container-structure-test's order. Each command
    test has a container of its own, so up to `concurrency` of them may run at once."""
    config = await executor.image_config()
    global_env = {v.key: expand(v.value, config.env) for v in suite.global_env_vars}
    env = {**config.env, **global_env}
    commands: list[TestResult | None] = [None] * len(suite.command_tests)
    limiter = anyio.CapacityLimiter(concurrency)

    async def command(index: int, test: CommandTest) -> None:
        async with limiter:
            commands[index] = await _timed(test.name, "command", _run_command_test(test, executor, env, global_env))

    async with anyio.create_task_group() as tg:
        for index, test in enumerate(suite.command_tests):
            tg.start_soon(command, index, test)
    results = [result for result in commands if result is not None]
    results += await _run_file_tests(suite, executor, env, global_env)
    if not suite.metadata_test.is_empty():
        results.append(
            await _timed("Metadata Test", "metadata", _run_metadata_test(suite.metadata_test, executor, config))
        )
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
