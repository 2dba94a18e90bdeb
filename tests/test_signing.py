"""Signing without an engine: what publish signs and attests, how, and what it refuses; the provenance
predicate and verify's arguments. cosign itself runs in tests/test_engine.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagger import dag

from pipeline import Dev8, signing
from pipeline.provenance import LOCAL_BUILDER, PREDICATE_TYPE, Provenance
from tests.support import small_catalog
from tests.support.fake_engine import digest_of
from tests.support.graph import Op
from tests.support.small_catalog import engine_for

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return small_catalog.write(tmp_path)


@pytest.fixture
def module() -> Dev8:
    return Dev8(source=dag.directory(), version="1.2.3", revision=SHA)


async def publish(module: Dev8, **options: object) -> str:
    return await module.publish(
        registry="ghcr.io/acme", username="bot", password=dag.secret("env:TOKEN"), tag="v1.2.3",
        images=["base", "a"], platform=["linux/amd64"], **options,  # type: ignore[arg-type]
    )  # fmt: skip


def execs(chain: list[Op]) -> list[list[str]]:
    return [args["args"] for name, args in chain if name == "withExec"]


async def test_every_image_is_signed_by_digest_with_its_sbom_and_provenance_attested(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch)
    text = await publish(module, cosign_key=dag.secret("file:cosign.key"), cosign_password=dag.secret("env:PW"))
    assert len(engine.cosign) == 2
    for chain in engine.cosign:
        sign, sbom, provenance = execs(chain)
        reference = sign[-1]
        assert reference in (f"ghcr.io/acme/dev8-{n}@{digest_of(n)}" for n in ("base", "a"))  # never a tag
        assert sign[:3] == ["cosign", "sign", "--recursive"]
        assert sign[sign.index("--key") + 1] == signing.KEY
        assert "--tlog-upload=false" not in sign  # the transparency log by default
        assert sbom[:4] == ["cosign", "attest", "--type", "cyclonedx"]
        assert provenance[:4] == ["cosign", "attest", "--type", "slsaprovenance1"]
        assert sbom[-1] == provenance[-1] == reference
        mounted = {args["path"]: args for name, args in chain if name in ("withMountedSecret", "withMountedFile")}
        assert mounted[signing.KEY]["source"] == [("secret", {"uri": "file:cosign.key"})]
        assert mounted["/cosign/predicates/sbom.cdx.json"]["source"][-1] == ("file", {"path": "/out/sbom.cdx.json"})
        assert "/cosign/auth/config.json" in mounted  # the registry's credentials, as a secret
        password = next(args for name, args in chain if name == "withSecretVariable")
        assert password["name"] == "COSIGN_PASSWORD"
    assert "Signed by digest, with SBOM and provenance attestations:" in text


async def test_offline_signing_skips_the_transparency_log_and_may_use_plain_http(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tree, module, monkeypatch)
    await publish(
        module, cosign_key=dag.secret("file:k"), transparency_log=False, insecure_registry=True,
        container_registry="10.0.0.1:5000/acme",
    )  # fmt: skip
    for chain in engine.cosign:
        for argv in execs(chain):
            assert {"--tlog-upload=false", "--allow-http-registry", "--allow-insecure-registry"} <= set(argv)
            assert argv[-1].startswith("10.0.0.1:5000/acme/dev8-")  # where containers reach the registry


async def test_keyless_signing_takes_the_oidc_token(tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_for(tree, module, monkeypatch)
    await publish(module, identity_token=dag.secret("env:SIGSTORE_ID_TOKEN"))
    for chain in engine.cosign:
        assert all("--key" not in argv for argv in execs(chain))
        token = next(args for name, args in chain if name == "withSecretVariable")
        assert token["name"] == "SIGSTORE_ID_TOKEN"


async def test_keyless_in_actions_lets_cosign_fetch_a_fresh_token_when_it_signs(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workflow's OIDC tokens expire within minutes; the build and checks before signing take longer."""
    engine = engine_for(tree, module, monkeypatch)
    await publish(
        module,
        actions_oidc_request_url=dag.secret("env:ACTIONS_ID_TOKEN_REQUEST_URL"),
        actions_oidc_request_token=dag.secret("env:ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    )
    for chain in engine.cosign:
        secrets = {args["name"]: args["secret"] for name, args in chain if name == "withSecretVariable"}
        assert secrets == {
            "ACTIONS_ID_TOKEN_REQUEST_URL": [("secret", {"uri": "env:ACTIONS_ID_TOKEN_REQUEST_URL"})],
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": [("secret", {"uri": "env:ACTIONS_ID_TOKEN_REQUEST_TOKEN"})],
        }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, r"^publish: give --cosign-key \(a key pair\), --identity-token or --actions-oidc-request-url"),
        ({"identity_token": "env:T", "transparency_log": False}, r"keyless signing needs the transparency log"),
    ],
)
async def test_publish_refuses_to_push_what_it_cannot_sign(
    tree: Path, module: Dev8, monkeypatch: pytest.MonkeyPatch, options: dict[str, object], message: str
) -> None:
    engine = engine_for(tree, module, monkeypatch)
    secrets = {k: dag.secret(str(v)) if k == "identity_token" else v for k, v in options.items()}
    with pytest.raises(ValueError, match=message):
        await publish(module, **secrets)
    assert engine.log == []  # refused before anything was built


def test_the_provenance_names_the_source_revision_parameters_and_resolved_bases() -> None:
    statement = Provenance(
        source="https://github.com/acme/images",
        revision=SHA,
        image="base",
        version="1.2.3",
        options={"GITHUB_CLI_SOURCE": "distro"},
        digests=("sha256:f", "sha256:t"),
        dependencies={"ubuntu:22.04": "docker.io/library/ubuntu:22.04@sha256:" + "a" * 64},
        builder_id="https://github.com/acme/images/.github/workflows/docker-images.yml@refs/heads/main",
        invocation_id="https://github.com/acme/images/actions/runs/1/attempts/1",
    ).predicate()
    definition = statement["buildDefinition"]
    assert isinstance(definition, dict)
    assert definition["externalParameters"]["source"] == {  # type: ignore[index]
        "uri": "git+https://github.com/acme/images",
        "digest": {"gitCommit": SHA},
    }
    assert definition["externalParameters"]["featureOptions"] == {"GITHUB_CLI_SOURCE": "distro"}  # type: ignore[index]
    assert definition["internalParameters"]["supervisorVersion"] == "1.2.3"  # type: ignore[index]
    [_, base] = definition["resolvedDependencies"]  # type: ignore[misc]
    assert base == {"uri": "docker://ubuntu:22.04", "digest": {"sha256": "a" * 64}, "name": base["name"]}
    assert statement["runDetails"]["builder"]["id"].endswith("docker-images.yml@refs/heads/main")  # type: ignore[index]
    assert PREDICATE_TYPE == "https://slsa.dev/provenance/v1"
    assert LOCAL_BUILDER.startswith("https://")
    json.dumps(statement)  # serialisable as it is attested


def test_verify_needs_a_key_or_a_certificate_identity_and_issuer() -> None:
    assert signing.identity_flags(True, "", "") == ["--key", signing.PUBLIC_KEY]
    keyless = signing.identity_flags(
        False, "https://github.com/acme/images/.github/workflows/x.yml@refs/heads/main", "i"
    )
    assert keyless[0] == "--certificate-identity"
    with pytest.raises(
        ValueError, match=r"^verify: give --key, or --certificate-identity and --certificate-oidc-issuer"
    ):
        signing.identity_flags(False, "someone", "")
