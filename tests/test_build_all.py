"""build-all, test-all, test, scan and sbom without an engine: the real module over a fake engine's leaves.

Most tests use a small catalog made here (base; a and b on base; c on a), so that dependency order,
parallel siblings and a failure's reach can be seen; one runs the repository's own catalog.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from dagger import dag

from pipeline import Dev8, catalog
from pipeline.catalog import CatalogError
from pipeline.errors import Failed
from pipeline.scan import TRIVY_CACHES
from tests.support import small_catalog
from tests.support.fake_engine import digest_of, directory_files
from tests.support.graph import Op, ops
from tests.support.small_catalog import engine_for
from tests.support.trivy_json import report, vuln

DEFAULT_DB = "mirror.gcr.io/aquasec/trivy-db:2,ghcr.io/aquasecurity/trivy-db:2"  # the mirror first
CRITICAL = report([vuln("CVE-2026-1000", "CRITICAL", package="libfoo")])


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return small_catalog.write(tmp_path)


@pytest.fixture
def module() -> Dev8:
    return Dev8(source=dag.directory(), version="1.2.3", revision="0123456789abcdef")


def summary_rows(files: Mapping[str, object]) -> dict[str, list[str]]:
    text = str(files["summary.md"])
    rows = [line.strip("|").split("|") for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[1:]}


async def test_a_clean_run_writes_every_report(tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_for(tree, module, monkeypatch)
    files = directory_files(await module.build_all())
    per_image = ["tests.xml", "trivy.json", "trivy.sarif", "trivy.txt", "trivy-junit.xml", "sbom.cdx.json"]
    expected = {f"{name}/{file}" for name in ["base", "a", "b", "c"] for file in per_image}
    assert set(files) == expected | {"summary.md", "failures.txt", "supervisor/go-test.txt"}
    assert files["failures.txt"] == ""
    assert "**Result: passed**" in str(files["summary.md"])
    rows = summary_rows(files)
    assert list(rows) == ["base", "a", "b", "c"]  # catalog (build) order
    compressed, unpacked, digest, build, tests, scan, sbom = rows["base"]
    assert (compressed, unpacked) == ("512.0 MiB", "1024.0 MiB")
    assert digest == f"`{digest_of('base')[:19]}…`"
    assert "*unpacked* is the files of the image" in str(files["summary.md"])
    assert (build, tests, sbom) == ("✅ passed", "✅ 1/1 passed", "✅ passed")
    assert scan == "✅ image 'base': scan: no findings; fails on CRITICAL,HIGH"
    sbom_chain = files["base/sbom.cdx.json"]
    assert isinstance(sbom_chain, list)
    *download, scan, argv = [args["args"] for name, args in sbom_chain if name == "withExec"]
    assert [a[2] for a in download] == ["--download-db-only", "--download-java-db-only"]
    assert argv == ["trivy", "convert", "--format", "cyclonedx", "--output", "/out/sbom.cdx.json", "/out/trivy.json"]
    # The SBOM is converted from the scan's JSON: the same chain up to the scan, so the engine scans once.
    [scan_chain] = [chain for chain in engine.scanned if engine.image_of(chain) == "base"]
    assert scan_chain[: len(sbom_chain) - 2] == sbom_chain[:-2]
    assert argv[argv.index("--format") + 1] == "cyclonedx"
    assert json.loads(str(files["base/trivy.sarif"]))["runs"][0]["results"] == []


async def test_the_supervisor_comes_first_and_each_image_after_its_parent(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch, delays={"base": 0.05, "a": 0.05, "b": 0.05, "c": 0.01})
    await module.build_all()
    log = engine.log
    at = log.index
    assert log[0] == ("supervisor", "build", "")
    assert at(("build", "base")) < at(("build-start", "a"))
    assert at(("build", "base")) < at(("build-start", "b"))
    assert at(("build", "a")) < at(("build-start", "c"))
    # a and b only need base: both start before either is built.
    assert max(at(("build-start", "a")), at(("build-start", "b"))) < min(at(("build", "a")), at(("build", "b")))
    for name in ["base", "a", "b", "c"]:  # the checks of an image run on the built image
        assert at(("build", name)) < min(at(("test", name)), at(("scan", name)), at(("sbom", name)))
    assert ("supervisor", "go test") in log


async def test_a_failed_build_names_the_image_and_step_and_the_others_still_report(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch, fail_build={"a"}, trivy={"b": CRITICAL}, fail_tests={"base"})
    files = directory_files(await module.build_all())
    failures = str(files["failures.txt"]).splitlines()
    assert failures[0].startswith("image 'base': test: 0/1 passed")
    assert failures[1].startswith("image 'a': build failed: process \"/tmp/dev8-feature/install.sh\" did not complete")
    assert failures[2] == "image 'b': scan: 1 CRITICAL; fails on CRITICAL,HIGH"
    assert len(failures) == 3
    rows = summary_rows(files)
    assert rows["c"][3:] == ["⏭ a did not build"] * 4  # c is on a: skipped, not failed
    assert rows["b"][3] == "✅ passed"
    assert rows["b"][5].startswith("❌ image 'b': scan: 1 CRITICAL")
    assert rows["base"][4].startswith("❌ 0/1 passed")  # a failed test stops no build
    assert ("build", "b") in engine.log
    assert ("build-start", "c") not in engine.log
    assert "CVE-2026-1000" in str(files["b/trivy.txt"])
    assert "**Result: 3 failed**" in str(files["summary.md"])
    assert "## Failures" in str(files["summary.md"])


async def test_a_failed_supervisor_build_skips_every_image(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch, supervisor_fails=True)
    files = directory_files(await module.build_all())
    assert str(files["failures.txt"]).startswith("supervisor: build failed: go build: undefined")
    assert all(row[3] == "⏭ supervisor did not build" for row in summary_rows(files).values())
    assert engine.steps("build-start") == []


async def test_failed_go_tests_are_reported_and_stop_no_image(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch, go_test_fails=True)
    files = directory_files(await module.build_all())
    assert str(files["failures.txt"]) == "supervisor: go test failed: --- FAIL: TestBackup\n"
    assert engine.steps("build") == ["base", "a", "b", "c"]


async def test_an_unexpected_error_is_reported_against_its_image_and_step(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one image's checks neither ends the run nor reaches the user as an anonymous TaskGroup error."""
    engine = engine_for(tree, module, monkeypatch, crash_tests={"b"})
    files = directory_files(await module.build_all())
    assert str(files["failures.txt"]) == "image 'b': test: KeyError: 'expectedOutput'\n"
    assert engine.steps("build") == ["base", "a", "b", "c"]
    assert ("scan", "b") in engine.log


async def test_fail_on_error_raises_the_summary(tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch) -> None:
    engine_for(tree, module, monkeypatch, fail_build={"c"})
    with pytest.raises(Failed, match=r"(?s)^# dev8 images: build-all.*image 'c': build failed"):
        await module.build_all(fail_on_error=True)


async def test_images_and_skip_scan_narrow_the_run(tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_for(tree, module, monkeypatch)
    files = directory_files(await module.build_all(images=["c", "base"], skip_scan=True))
    assert engine.steps("build") == ["base", "c"]
    assert engine.steps("scan") == engine.steps("sbom") == []
    assert list(summary_rows(files)) == ["base", "c"]
    assert summary_rows(files)["c"][5:] == ["⏭ --skip-scan", "⏭ --skip-scan"]
    assert not any(path.endswith(("trivy.json", "sbom.cdx.json")) for path in files)


async def test_an_unknown_image_fails_before_anything_runs(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch)
    with pytest.raises(CatalogError, match=r"unknown image 'nope' \(known: base, a, b, c\)"):
        await module.build_all(images=["nope"])
    assert engine.log == []


async def test_an_ignore_entry_without_a_reason_fails_before_anything_runs(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch)
    (tree / ".trivyignore.yaml").write_text("vulnerabilities:\n  - {id: CVE-1, statement: fine}\n  - id: CVE-2\n")
    with pytest.raises(ValueError, match=r"^\.trivyignore\.yaml: vulnerabilities\[1\] \(CVE-2\): no statement"):
        await module.build_all()
    assert engine.log == []


async def test_severity_reaches_trivys_gate_and_ignore_unfixed_its_scan(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch, trivy={"base": report([vuln("CVE-2026-2000", "MEDIUM")])})
    files = directory_files(await module.build_all(images=["base"], severity="MEDIUM", ignore_unfixed=False))
    assert str(files["failures.txt"]).startswith("image 'base': scan: 1 MEDIUM; fails on MEDIUM")
    assert "--ignore-unfixed" not in _scan_argv(engine.scanned[-1])
    files = directory_files(await module.build_all(images=["base"]))
    assert files["failures.txt"] == ""
    assert "--ignore-unfixed" in _scan_argv(engine.scanned[-1])


def _scan_argv(chain: list[Op]) -> list[str]:
    return next(args["args"][4:] for name, args in chain if name == "withExec" and args["args"][0] == "sh")


async def test_the_scan_runs_pinned_trivy_on_the_tarball_with_cached_databases(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch)
    await module.scan("base")
    [chain] = engine.scanned
    assert chain[1] == ("from", {"address": "aquasec/trivy:0.74.0"})
    cache = next(args for name, args in chain if name == "withMountedCache")
    assert cache["path"] == TRIVY_CACHES[0].path
    assert cache["cache"][-1][1]["key"] == "dev8-trivy-cache"
    execs = [args["args"] for name, args in chain if name == "withExec"]
    assert execs[0] == ["trivy", "image", "--download-db-only", "--db-repository", DEFAULT_DB]
    assert execs[1][:3] == ["trivy", "image", "--download-java-db-only"]
    layers = "/root/.cache/trivy/layers/base"  # the image's own layer cache, the databases linked in
    links = f"ln -sfn /root/.cache/trivy/db {layers}/db && ln -sfn /root/.cache/trivy/java-db {layers}/java-db"
    unpack = f'mkdir -p /scan/image {layers} && {links} && tar -xf /scan/image.tar -C /scan/image && exec "$@"'
    assert execs[2][:3] == ["sh", "-c", unpack]
    scan_env = [args for name, args in chain if name == "withEnvVariable" and args["name"] == "TRIVY_CACHE_DIR"]
    assert scan_env[-1]["value"] == layers
    scan = execs[2][4:]
    assert scan[:4] == ["trivy", "image", "--input", "/scan/image"]
    assert scan[scan.index("--cache-backend") + 1] == "fs"
    assert {"--skip-db-update", "--ignore-unfixed", "--list-all-pkgs"} <= set(scan)
    assert scan[scan.index("--format") + 1] == "json"
    assert "--ignorefile" not in scan  # trivy.json keeps every finding; the conversions apply the ignore file
    # Then every report is converted from it, with the repository's ignore file.
    converts = [argv for argv in execs[3:] if argv[:2] == ["trivy", "convert"]]
    assert [argv[argv.index("--format") + 1] for argv in converts] == ["sarif", "table", "template", "json"]
    assert all(argv[argv.index("--ignorefile") + 1] == "/scan/.trivyignore.yaml" for argv in converts)
    ignore = next(
        args for name, args in chain if name == "withMountedFile" and args["path"] == "/scan/.trivyignore.yaml"
    )
    assert ignore["source"][-1] == ("file", {"path": ".trivyignore.yaml"})
    tarball = next(
        args["source"] for name, args in chain if name == "withMountedFile" and args["path"] == "/scan/image.tar"
    )
    assert tarball[-1][0] == "asTarball"


async def test_the_database_repository_is_overridable(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = Dev8(source=dag.directory(), db_repository="registry.example/trivy-db:2", trivy_image="trivy:mine")
    engine = engine_for(tree, module, monkeypatch)
    await module.scan("base")
    [chain] = engine.scanned
    assert chain[1] == ("from", {"address": "trivy:mine"})
    assert ["trivy", "image", "--download-db-only", "--db-repository", "registry.example/trivy-db:2"] in [
        args["args"] for name, args in chain if name == "withExec"
    ]


async def test_scan_fails_with_the_summary_of_findings(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine_for(tree, module, monkeypatch, trivy={"base": CRITICAL})
    with pytest.raises(Failed) as failed:
        await module.scan("base")
    lines = str(failed.value).splitlines()
    assert lines[0] == "image 'base': scan: 1 CRITICAL; fails on CRITICAL,HIGH"
    table = "\n".join(lines[1:])  # Trivy's own table of what fails the scan
    assert "Total: 1 (HIGH: 0, CRITICAL: 1)" in table
    assert "CVE-2026-1000" in table
    assert "libfoo" in table
    assert "Traceback" not in str(failed.value)
    assert (await module.scan("base", severity="")).startswith("\n")  # Trivy's table: reports, fails on nothing


@pytest.mark.parametrize(
    ("format", "check"),
    [("json", '"SchemaVersion": 2'), ("sarif", '"id": "dev8-images/base/"'), ("table", "CVE-2026-3")],
)
async def test_scan_formats(tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch, format: str, check: str) -> None:
    engine_for(tree, module, monkeypatch, trivy={"base": report([vuln("CVE-2026-3", "LOW")])})
    assert check in await module.scan("base", format=format)


async def test_scan_refuses_an_unknown_format(tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch) -> None:
    engine_for(tree, module, monkeypatch)
    with pytest.raises(ValueError, match="format: 'xml' is not one of table, json, sarif"):
        await module.scan("base", format="xml")


async def test_sbom_is_cyclonedx_converted_from_the_images_scan(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch)
    chain = ops(await module.sbom("c"))
    assert engine.image_of(chain) == "c"
    *_, scan, convert = [args["args"] for name, args in chain if name == "withExec"]
    assert scan[4:7] == ["trivy", "image", "--input"]
    assert scan[scan.index("--format") + 1] == "json"
    assert convert[:4] == ["trivy", "convert", "--format", "cyclonedx"]
    assert chain[-1] == ("file", {"path": "/out/sbom.cdx.json"})


async def test_test_returns_the_summary_or_junit_and_fails_naming_the_image(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine_for(tree, module, monkeypatch, fail_tests={"b"})
    assert await module.test("base") == "docker/base/tests.yaml: 1 passed, 0 failed"
    assert (await module.test("base", format="junit")).startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')
    with pytest.raises(Failed, match=r"(?s)^image 'b': test failed:\n.*FAIL command: runs"):
        await module.test("b")


async def test_test_all_reports_junit_per_image_without_scans_or_go_tests(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch, fail_tests={"a"})
    files = directory_files(await module.test_all())
    assert {p for p in files if p.endswith("tests.xml")} == {f"{n}/tests.xml" for n in ["base", "a", "b", "c"]}
    assert str(files["failures.txt"]).startswith("image 'a': test: 0/1 passed")
    assert str(files["summary.md"]).startswith("# dev8 images: test-all")
    assert engine.steps("scan") == []
    assert ("supervisor", "go test") not in engine.log


async def test_the_suites_of_a_feature_an_option_turned_off_do_not_run(
    repo_root: Path, loaded_catalog: catalog.Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = Dev8(source=dag.directory())
    engine = engine_for(repo_root, module, monkeypatch)
    await module.test("workspace", option=["azure-cli.source=none"])
    every = loaded_catalog.image("workspace").tests
    [run] = engine.suites.values()  # (the option changes the chain, so the fake names it by its base)
    assert run == [path for path in every if path != "docker/features/azure-cli/tests.yaml"]


async def test_build_all_over_the_repositorys_catalog(
    repo_root: Path, loaded_catalog: catalog.Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = Dev8(source=dag.directory())
    engine = engine_for(repo_root, module, monkeypatch)
    files = directory_files(await module.build_all())
    assert engine.steps("build") == list(loaded_catalog.images)
    assert list(summary_rows(files)) == list(loaded_catalog.images)
    assert "build failed" not in str(files["failures.txt"])  # (the images' own tests may still fail here)
