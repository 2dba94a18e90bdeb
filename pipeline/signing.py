"""cosign in a pinned container: sign published images by digest, attach their SBOM and provenance as
attestations, and verify all three. A key pair comes as Dagger secrets; keyless signing takes the
workflow's OIDC token (Fulcio and Rekor, the public Sigstore services)."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import time
from typing import Final

import dagger
from dagger import dag

from pipeline.errors import Failed, checked

COSIGN_IMAGE: Final = os.environ.get("DEV8_COSIGN_IMAGE", "ghcr.io/sigstore/cosign/cosign:v2.6.5")
KEY: Final = "/cosign/cosign.key"
PUBLIC_KEY: Final = "/cosign/cosign.pub"
PREDICATES: Final = "/cosign/predicates"
# The attestation types, as cosign names them, and what each is called in messages.
ATTESTATIONS: Final = {"cyclonedx": "SBOM attestation", "slsaprovenance1": "provenance attestation"}


@dataclasses.dataclass(frozen=True)
class Cosign:
    """Where cosign runs and how it reaches the registry; the flags every command takes."""

    image: str = COSIGN_IMAGE
    tlog: bool = True  # use Rekor, the transparency log (off: offline signing, verified with --insecure-ignore-tlog)
    insecure_registry: bool = False  # plain HTTP or an untrusted certificate: a local test registry

    def container(self, registry_auth: dagger.Secret | None) -> dagger.Container:
        ctr = dag.container().from_(self.image)
        if registry_auth is not None:
            ctr = ctr.with_mounted_secret("/cosign/auth/config.json", registry_auth)
            ctr = ctr.with_env_variable("DOCKER_CONFIG", "/cosign/auth")
        return ctr

    def flags(self) -> list[str]:
        flags = [] if self.tlog else ["--tlog-upload=false"]
        return flags + (["--allow-insecure-registry", "--allow-http-registry"] if self.insecure_registry else [])

    def verify_flags(self) -> list[str]:
        flags = [] if self.tlog else ["--insecure-ignore-tlog=true"]
        return flags + (["--allow-insecure-registry", "--allow-http-registry"] if self.insecure_registry else [])


async def registry_auth(host: str, username: str, password: dagger.Secret) -> dagger.Secret:
    """A Docker config.json naming the registry's credentials, as a secret for cosign."""
    token = base64.b64encode(f"{username}:{await password.plaintext()}".encode()).decode()
    return dag.set_secret(f"dev8-cosign-auth-{host}", json.dumps({"auths": {host: {"auth": token}}}))


@dataclasses.dataclass(frozen=True)
class Identity:
    """What signs: a key pair, or keyless with an OIDC token, given or fetched by cosign itself from
    GitHub Actions when it signs (the workflow's tokens expire in minutes, a release takes longer)."""

    key: dagger.Secret | None = None
    password: dagger.Secret | None = None
    token: dagger.Secret | None = None
    actions_request: tuple[dagger.Secret, dagger.Secret] | None = None  # ACTIONS_ID_TOKEN_REQUEST_URL, _TOKEN

    @property
    def keyless(self) -> bool:
        return self.key is None and (self.token is not None or self.actions_request is not None)

    def apply(self, ctr: dagger.Container) -> tuple[dagger.Container, list[str]]:
        """cosign set up to sign as this identity, and its key flags."""
        if self.key is not None:
            ctr = ctr.with_mounted_secret(KEY, self.key)
            if self.password is not None:
                return ctr.with_secret_variable("COSIGN_PASSWORD", self.password), ["--key", KEY]
            return ctr.with_env_variable("COSIGN_PASSWORD", ""), ["--key", KEY]
        if self.token is not None:
            return ctr.with_secret_variable("SIGSTORE_ID_TOKEN", self.token), []
        if self.actions_request is not None:
            url, token = self.actions_request
            ctr = ctr.with_secret_variable("ACTIONS_ID_TOKEN_REQUEST_URL", url)
            return ctr.with_secret_variable("ACTIONS_ID_TOKEN_REQUEST_TOKEN", token), []
        raise ValueError("signing: no key pair and no OIDC token")


async def sign(
    cosign: Cosign, ctr: dagger.Container, key_flags: list[str], reference: str, *, sbom: dagger.File, provenance: str
) -> None:
    """Sign `reference` (image@digest) and every platform manifest in it, then attest its SBOM and
    provenance. Every call runs again (a fresh value per call), so a wiped registry is signed anew."""
    if "@sha256:" not in reference:
        raise ValueError(f"signing: {reference} is not pinned by digest; nothing is signed by tag")
    ctr = (
        ctr.with_env_variable("DEV8_SIGNED_AT", str(time.time_ns()))
        .with_mounted_file(f"{PREDICATES}/sbom.cdx.json", sbom)
        .with_new_file(f"{PREDICATES}/provenance.json", provenance)
    )
    common = [*key_flags, *cosign.flags(), "--yes"]
    ctr = ctr.with_exec(["cosign", "sign", "--recursive", *common, reference])
    for kind, predicate in (("cyclonedx", "sbom.cdx.json"), ("slsaprovenance1", "provenance.json")):
        args = ["--type", kind, "--predicate", f"{PREDICATES}/{predicate}"]
        ctr = ctr.with_exec(["cosign", "attest", *args, *common, reference])
    await checked(ctr.sync(), f"sign {reference}")


async def verify(cosign: Cosign, ctr: dagger.Container, identity: list[str], reference: str) -> str:
    """Check the signature and both attestations of `reference`; fail naming each that did not verify."""
    ctr = ctr.with_env_variable("DEV8_VERIFIED_AT", str(time.time_ns()))
    checks = {"signature": ["cosign", "verify", *identity, *cosign.verify_flags(), reference]}
    for kind, what in ATTESTATIONS.items():
        checks[what] = ["cosign", "verify-attestation", "--type", kind, *identity, *cosign.verify_flags(), reference]
    failed: list[str] = []
    verified = ""
    for what, argv in checks.items():
        ran = ctr.with_exec(argv, expect=dagger.ReturnType.ANY)
        if await ran.exit_code() != 0:
            failed.append(f"{what}: {_last_line(await ran.stderr())}")
        elif what == "signature":
            verified = _digest(await ran.stdout())
    if failed:
        raise Failed(f"verify {reference}: did not verify:\n" + "\n".join(f"- {line}" for line in failed))
    return f"{reference}: signature, SBOM and provenance attestations verified ({verified})\n"


def identity_flags(public_key: bool, certificate_identity: str, certificate_oidc_issuer: str) -> list[str]:
    """What a signature must come from: the key mounted at PUBLIC_KEY, or a certificate's identity and issuer."""
    if public_key:
        return ["--key", PUBLIC_KEY]
    if not (certificate_identity and certificate_oidc_issuer):
        raise ValueError("verify: give --key, or --certificate-identity and --certificate-oidc-issuer (keyless)")
    return ["--certificate-identity", certificate_identity, "--certificate-oidc-issuer", certificate_oidc_issuer]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _digest(verify_json: str) -> str:
    """The digest cosign verified, from its JSON output (one object per signature)."""
    try:
        payloads = json.loads(verify_json)
        return str(payloads[0]["critical"]["image"]["docker-manifest-digest"])
    except (ValueError, LookupError, TypeError):
        return "digest not reported"
