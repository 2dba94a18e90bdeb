"""Stand in for the engine at the leaves of the graph: every `sync`, `stdout`, `contents`, `size` and
`publish` is recorded with the image it belongs to and answered from the repository or from the test's
script; the builder chains above them are the module's real ones.

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
from tests.support.trivy_json import report


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
    supervisor_fails: bool = False
    log: list[tuple[str, ...]] = dataclasses.field(default_factory=list[tuple[str, ...]])
    scanned: list[list[Op]] = dataclasses.field(default_factory=list[list[Op]])  # each Trivy JSON file's chain
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

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        engine = self

        async def container_sync(ctr: dagger.Container) -> dagger.Container:
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
            engine.log.append(("digest", name))
            return json.dumps({"schemaVersion": 2, "manifests": [{"digest": digest_of(name)}]})

        async def contents(file: dagger.File, **_: Any) -> str:
            chain = ops(file)
            path = chain[-1][1]["path"]
            if path == "/out/trivy.json":
                name = engine.image_of(chain)
                engine.log.append(("scan", name))
                engine.scanned.append(chain)
                return engine.trivy.get(name, report([]))
            return (engine.root / path).read_text()

        async def size(file: dagger.File) -> int:
            return 512 * 2**20

        async def publish(ctr: dagger.Container, address: str, **kwargs: Any) -> str:
            variants = [ops(v) for v in kwargs.get("platform_variants") or []]
            engine.published.append((address, ops(ctr), variants))
            engine.log.append(("publish", address))
            return f"{address}@{digest_of(engine.image_of(variants[0]) if variants else '?')}"

        async def run_tests(ctr: dagger.Container, suites: list[Any]) -> image_checks.TestRun:
            name = engine.image_of(ops(ctr))
            engine.log.append(("test", name))
            passed = name not in engine.fail_tests
            messages = () if passed else ("expected stdout to match 'v1'",)
            result = TestResult("runs", "command", passed, messages)
            return image_checks.TestRun(tuple(Report(f"docker/{name}/tests.yaml", (result,)) for _ in suites[:1]))

        monkeypatch.setattr(dagger.Container, "sync", container_sync)
        monkeypatch.setattr(dagger.File, "sync", file_sync)
        monkeypatch.setattr(dagger.Container, "stdout", stdout)
        monkeypatch.setattr(dagger.File, "contents", contents)
        monkeypatch.setattr(dagger.File, "size", size)
        monkeypatch.setattr(dagger.Container, "publish", publish)
        monkeypatch.setattr(image_checks, "run_tests", run_tests)

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
