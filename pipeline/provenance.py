"""The SLSA provenance (v1) predicate of a published image: what it was built from and how. Engine-free."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Final

PREDICATE_TYPE: Final = "https://slsa.dev/provenance/v1"
BUILD_TYPE: Final = "https://github.com/dev8/images/blob/main/README.md#release"
LOCAL_BUILDER: Final = "https://github.com/dev8/images/dagger-publish@local"


@dataclasses.dataclass(frozen=True)
class Provenance:
    source: str  # the repository's URL (the org.opencontainers.image.source label)
    revision: str  # git commit
    image: str
    version: str  # also the supervisor's
    options: Mapping[str, str]  # feature option variables as built
    digests: tuple[str, str]  # features and tail input digests
    dependencies: Mapping[str, str]  # image reference as given -> resolved reference with @sha256
    builder_id: str  # the workflow (in GitHub Actions) or LOCAL_BUILDER
    invocation_id: str  # the workflow run's URL, or empty

    def predicate(self) -> dict[str, object]:
        """The predicate, as `cosign attest --type slsaprovenance1` takes it."""
        resolved = [
            {"uri": f"docker://{given}", "digest": {"sha256": pinned.rsplit("@sha256:", 1)[1]}, "name": pinned}
            for given, pinned in sorted(self.dependencies.items())
            if "@sha256:" in pinned
        ]
        source = {"uri": f"git+{self.source}", "digest": {"gitCommit": self.revision}}
        metadata = {"invocationId": self.invocation_id} if self.invocation_id else {}
        return {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "source": source,
                    "image": self.image,
                    "version": self.version,
                    "featureOptions": dict(sorted(self.options.items())),
                },
                "internalParameters": {
                    "supervisorVersion": self.version,
                    "featuresDigest": self.digests[0],
                    "tailDigest": self.digests[1],
                },
                "resolvedDependencies": [{"uri": source["uri"], "digest": source["digest"]}, *resolved],
            },
            "runDetails": {"builder": {"id": self.builder_id}, "metadata": metadata},
        }

    def json(self) -> str:
        return json.dumps(self.predicate(), indent=2, sort_keys=True) + "\n"
