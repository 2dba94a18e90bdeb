"""Stand in for the engine at the leaves of the graph: every `sync`, `stdout`, `contents`, `size` and
`publish` is recorded with the image it belongs to and answered from the repository or from the test's
script; the builder chains above them are the module's real ones. A scan's reports and verdict are
Trivy's: the chain's `trivy convert` commands run with this machine's Trivy on the scripted report.

An object belongs to an image when its chain, or a chain among its arguments (a mounted tarball, a
platform variant), starts with that image's rendered chain.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import anyio
import dagger
import pytest

from pipeline import image_checks
from pipeline.structure_tests import Report, TestResult
from tests.support.graph import Op, ops
from tests.support.trivy_json import Converted, convert, local_junit_template, local_trivy, report


def digest_of(name: str) -> str:
    return "sha256:" + name.encode().hex().ljust(64, "0")[:64]


@dataclasses.dataclass
class FakeEngine:
    root: Path
    images: dict[str, list[Op]] = dataclasses.field(default_factory=dict[str, list[Op]])
    fail_build: set[str] = dataclasses.field(default_factory=set[str])
    fail_tests: set[str] = dataclasses.field(default_factory=set[str])
    trivy: dict[str, str] = dataclasses.field(default_factory=dict[str, str])  # image -> Trivy JSON
    delays: dict[str, float] = dataclasses.field(default_factory=dict[str, float])  # image -> build seconds
    go_test_fails: bool = False
    platform: str = "linux/amd64"  # the engine's own
    suites: dict[str, list[str]] = dataclasses.field(default_factory=dict[str, list[str]])  # image -> files run
    cosign: list[list[Op]] = dataclasses.field(default_factory=list[list[Op]])  # each cosign chain synced
    crash_tests: set[str] = dataclasses.field(default_factory=set[str])  # the test runner raises a bug
    registry: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict[str, dict[str, str]])  # ref -> labels
    fail_push: set[str] = dataclasses.field(default_factory=set[str])  # addresses whose push fails
    supervisor_fails: bool = False
    log: list[tuple[str, ...]] = dataclasses.field(default_factory=list[tuple[str, ...]])
    scanned: list[list[Op]] = dataclasses.field(default_factory=list[list[Op]])  # each Trivy JSON file's chain
    converted: dict[tuple[str, str, str], Converted] = dataclasses.field(default_factory=dict)  # by input
    # (address, the publishing container's chain, each platform variant's chain)
    published: list[tuple[str, list[Op], list[list[Op]]]] = dataclasses.field(
        default_factory=list[tuple[str, list[Op], list[list[Op]]]]
    )

    def image_of(self, chain: list[Op]) -> str:
        found = self._find(chain)
        return found or "?"

    def _find(self, chain: list[Any]) -> str | None:
        for name, signature in sorted(self.images.items(), key=lambda kv: -len(kv[1])):
            if chain[: len(signature)] == signature:
                return name
        for _, args in chain:
            for value in args.values():
                for nested in _chains(value):
                    found = self._find(nested)
                    if found:
                        return found
        return None

    def trivy_convert(self, chain: list[Op]) -> Converted:
        """The chain's `trivy convert` commands, run by this machine's Trivy on the image's scripted report."""
        argvs = [
            args["args"] for name, args in chain if name == "withExec" and args["args"][:2] == ["trivy", "convert"]
        ]
        report_json = self.trivy.get(self.image_of(chain), report([]))
        ignore_file = self.root / ".trivyignore.yaml"
        key = (report_json, json.dumps(argvs), ignore_file.read_text() if ignore_file.is_file() else "")
        if key not in self.converted:
            self.converted[key] = convert(report_json, argvs, ignore_file)
        answer = self.converted[key]
        last = [args for name, args in chain if name == "withExec"][-1]
        if answer.exit_code and last.get("expect") != dagger.ReturnType.ANY.value:
            raise dagger.DaggerError(f"trivy convert: exit code {answer.exit_code}: {answer.stderr}")
        return answer

    def scan_report(self, chain: list[Op], file: str) -> str:
        """A report in the scan container's /out: the scripted JSON, or what Trivy converts it to."""
        if file != "trivy.json":
            return self.trivy_convert(chain).files[file]
        name = self.image_of(chain)
        self.log.append(("scan", name))
        self.scanned.append(chain)
        return self.trivy.get(name, report([]))

    def install_trivy(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The scan's leaves (its reports, its gate) and the repository's files; other stdout goes to
        install's handler."""
        if local_trivy() is None or local_junit_template() is None:
            pytest.skip("trivy is not installed (bash .ci/run builds it): it answers the scans' `trivy convert`")
        other_stdout = dagger.Container.stdout

        async def stdout(ctr: dagger.Container) -> str:
            chain = ops(ctr)
            if _last_exec(chain)[:2] == ["trivy", "convert"]:
                return self.trivy_convert(chain).stdout
            return await other_stdout(ctr)

        async def stderr(ctr: dagger.Container) -> str:
            return self.trivy_convert(ops(ctr)).stderr

        async def exit_code(ctr: dagger.Container) -> int:
            return self.trivy_convert(ops(ctr)).exit_code

        async def contents(file: dagger.File, **_: Any) -> str:
            chain = ops(file)
            if chain[-2:-1] == [("directory", {"path": "/out"})]:
                return self.scan_report(chain, chain[-1][1]["path"])
            return (self.root / chain[-1][1]["path"]).read_text()

        monkeypatch.setattr(dagger.Container, "stdout", stdout)
        monkeypatch.setattr(dagger.Container, "stderr", stderr)
        monkeypatch.setattr(dagger.Container, "exit_code", exit_code)
        monkeypatch.setattr(dagger.File, "contents", contents)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        engine = self

        async def container_sync(ctr: dagger.Container) -> dagger.Container:
            if engine.signing(ops(ctr)):
                return ctr
            name = engine.image_of(ops(ctr))
            engine.log.append(("build-start", name))
            await anyio.sleep(engine.delays.get(name, 0))
            engine.log.append(("build", name))
            if name in engine.fail_build:
                raise dagger.DaggerError(
                    f'process "/tmp/dev8-feature/install.sh" did not complete: exit code: 100 ({name})'
                )
            return ctr

        async def file_sync(file: dagger.File) -> dagger.File:
            chain = ops(file)
            if _execs(chain, "go", "build"):
                engine.log.append(("supervisor", "build", _env(chain).get("GOARCH", "")))
                if engine.supervisor_fails:
                    raise dagger.DaggerError("go build: undefined: backup.Run")
            else:
                engine.log.append(("sbom", engine.image_of(chain)))
            return file

        async def stdout(ctr: dagger.Container) -> str:
            chain = ops(ctr)
            if _execs(chain, "go", "test"):
                engine.log.append(("supervisor", "go test"))
                if engine.go_test_fails:
                    raise dagger.DaggerError("--- FAIL: TestBackup")
                return "ok  \tgithub.com/dev8/images/apps/supervisor/internal/backup\t0.1s\n"
            name = engine.image_of(chain)
            if _execs(chain, "du"):
                return f"{1024 * 2**20}\t/\n"
            engine.log.append(("digest", name))
            return json.dumps({"schemaVersion": 2, "manifests": [{"digest": digest_of(name)}]})

        async def size(file: dagger.File) -> int:
            return 512 * 2**20

        async def publish(ctr: dagger.Container, address: str, **kwargs: Any) -> str:
            variants = [ops(v) for v in kwargs.get("platform_variants") or []]
            engine.log.append(("publish", address))
            if address in engine.fail_push:
                raise dagger.DaggerError(f"failed to push {address}: unexpected status: 502 Bad Gateway")
            engine.published.append((address, ops(ctr), variants))
            return f"{address}@{digest_of(engine.image_of(variants[0]) if variants else '?')}"

        async def run_tests(ctr: dagger.Container, suites: list[Any]) -> image_checks.TestRun:
            name = engine.image_of(ops(ctr))
            engine.log.append(("test", name))
            engine.suites[name] = [suite.source for suite in suites]
            if name in engine.crash_tests:
                raise KeyError("expectedOutput")  # a bug, not a failed check
            passed = name not in engine.fail_tests
            messages = () if passed else ("expected stdout to match 'v1'",)
            result = TestResult("runs", "command", passed, messages)
            return image_checks.TestRun(tuple(Report(f"docker/{name}/tests.yaml", (result,)) for _ in suites[:1]))

        self._install_registry(monkeypatch)
        monkeypatch.setattr(dagger.Container, "sync", container_sync)
        monkeypatch.setattr(dagger.File, "sync", file_sync)
        monkeypatch.setattr(dagger.Container, "stdout", stdout)
        monkeypatch.setattr(dagger.File, "size", size)
        monkeypatch.setattr(dagger.Container, "publish", publish)
        monkeypatch.setattr(image_checks, "run_tests", run_tests)
        self.install_trivy(monkeypatch)

    def signing(self, chain: list[Op]) -> bool:
        """A cosign container synced: recorded, and done."""
        if _execs(chain, "cosign"):
            self.cosign.append(chain)
        return _execs(chain, "cosign")

    def _install_registry(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Labels of images pulled by reference answer from `registry` (an unknown reference is not found),
        and the engine's platform is `platform`."""
        engine = self

        async def label(ctr: dagger.Container, name: str) -> str:
            address = next(args["address"] for op, args in ops(ctr) if op == "from")
            engine.log.append(("pull", address))
            if address not in engine.registry:
                raise dagger.DaggerError(f'failed to resolve image "{address}": not found')
            return engine.registry[address].get(name, "")

        async def default_platform(_: dagger.Client) -> dagger.Platform:
            return dagger.Platform(engine.platform)

        async def image_ref(ctr: dagger.Container) -> str:
            address = next(args["address"] for op, args in ops(ctr) if op == "from")
            return f"docker.io/library/{address}@{digest_of(address)}"

        async def plaintext(_: dagger.Secret) -> str:
            return "registry-token"

        monkeypatch.setattr(dagger.Container, "label", label)
        monkeypatch.setattr(dagger.Container, "image_ref", image_ref)
        monkeypatch.setattr(dagger.Secret, "plaintext", plaintext)
        monkeypatch.setattr(dagger.Client, "default_platform", default_platform)

    def steps(self, kind: str) -> list[str]:
        return [entry[1] for entry in self.log if entry[0] == kind]


def _chains(value: Any) -> list[list[Any]]:
    """The chains inside an argument value: an object (a chain) or a list of objects."""
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        return [value]
    if isinstance(value, list):
        return [c for v in value for c in _chains(v)]
    return []


def _execs(chain: list[Op], *prefix: str) -> bool:
    return any(name == "withExec" and args["args"][: len(prefix)] == list(prefix) for name, args in chain)


def _last_exec(chain: list[Op]) -> list[str]:
    return next((args["args"] for name, args in reversed(chain) if name == "withExec"), [])


def _env(chain: list[Op]) -> dict[str, str]:
    return {args["name"]: args["value"] for name, args in chain if name == "withEnvVariable"}


def directory_files(directory: dagger.Directory) -> dict[str, str | list[Op]]:
    """What a lazy Directory holds: path -> text for with_new_file, path -> chain for with_file."""
    files: dict[str, str | list[Op]] = {}
    for name, args in ops(directory):
        if name == "withNewFile":
            files[args["path"]] = args["contents"]
        elif name == "withFile":
            files[args["path"]] = args["source"]
    return files
