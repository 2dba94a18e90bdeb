"""What a run of build-all found, per image and step, and its summary.md: engine-free."""

from __future__ import annotations

import dataclasses
from typing import Final, Literal

from pipeline.image_info import ImageInfo

Status = Literal["passed", "failed", "skipped"]
STEPS: Final = ("build", "test", "scan", "sbom")
SUPERVISOR: Final = "supervisor"
SIZES_NOTE: Final = (
    "Sizes: *compressed* is the image tarball (config and gzip layers, about what a pull downloads); "
    "*unpacked* is the files of the image, the measure `docker images` and `podman images` show."
)


@dataclasses.dataclass
class Step:
    status: Status
    detail: str = ""


@dataclasses.dataclass
class ImageResult:
    name: str
    info: ImageInfo | None = None
    steps: dict[str, Step] = dataclasses.field(default_factory=dict[str, Step])

    def record(self, step: str, status: Status, detail: str = "") -> None:
        self.steps[step] = Step(status, detail)

    def failures(self) -> list[str]:
        """`image 'base': scan: ...` for each failed step: the image, the step, then what happened."""
        who = _who(self.name)
        return [
            r.detail if r.detail.startswith(f"{who}: {s}") else f"{who}: {s}: {r.detail}"
            for s, r in self.steps.items()
            if r.status == "failed"
        ]


@dataclasses.dataclass
class Run:
    title: str
    results: dict[str, ImageResult] = dataclasses.field(default_factory=dict[str, ImageResult])
    notes: list[str] = dataclasses.field(default_factory=list[str])  # e.g. which feature layers were reused

    def result(self, name: str) -> ImageResult:
        return self.results.setdefault(name, ImageResult(name))

    def failures(self) -> list[str]:
        return [line for result in self.results.values() for line in result.failures()]

    @property
    def passed(self) -> bool:
        return not self.failures()


def cell(step: Step | None) -> str:
    """One table cell: ✅ passed, ❌ failed, ⏭ skipped, with the first line of the detail."""
    if step is None:
        return "-"
    mark = {"passed": "✅", "failed": "❌", "skipped": "⏭"}[step.status]
    first = step.detail.splitlines()[0] if step.detail else step.status
    return f"{mark} {_escape(first)}"


def size_text(size: int | None) -> str:
    return "-" if size is None else f"{size / 2**20:.1f} MiB"


def _info_cells(info: ImageInfo | None) -> str:
    if info is None:
        return "- | - | -"
    return f"{size_text(info.compressed)} | {size_text(info.unpacked)} | `{info.digest[:19]}…`"


def summary_markdown(run: Run) -> str:
    """The summary: a table of images (sizes, digest, each step), then every failure in full."""
    images = [r for name, r in run.results.items() if name != SUPERVISOR]
    lines = [f"# dev8 images: {run.title}", ""]
    supervisor = run.results.get(SUPERVISOR)
    if supervisor:
        lines += [
            f"Supervisor: build {cell(supervisor.steps.get('build'))}, go test {cell(supervisor.steps.get('go test'))}"
        ]
        lines += [""]
    lines += [
        "| image | compressed | unpacked | digest | build | tests | scan | sbom |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in images:
        steps = " | ".join(cell(r.steps.get(s)) for s in STEPS)
        lines.append(f"| {r.name} | {_info_cells(r.info)} | {steps} |")
    lines += ["", SIZES_NOTE]
    if run.notes:
        lines += ["", *[f"- {note}" for note in run.notes]]
    failures = run.failures()
    lines += ["", f"**Result: {'passed' if not failures else f'{len(failures)} failed'}**", ""]
    if failures:
        lines += ["## Failures", ""]
        lines += [block for failure in failures for block in ("```", failure, "```", "")]
    return "\n".join(lines)


def _who(name: str) -> str:
    return name if name == SUPERVISOR else f"image '{name}'"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")[:120]
