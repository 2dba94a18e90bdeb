"""Engine-free command line for people editing the catalog, and for CI.

python -m pipeline check               validate the catalog and every file it references
python -m pipeline dockerfile IMAGE    print the image's rendered Dockerfile
python -m pipeline render              write docker/<image>/Dockerfile for every image, and
                                       docker/features/<name>/devcontainer-feature.json for every feature
python -m pipeline pins                print the images the module pulls: KIND REFERENCE, one a line
python -m pipeline digests             print each image's features and tail input digests
python -m pipeline list                print the catalog's images, comma-separated (for --images)
python -m pipeline affected --base REF [--head REF] [--format lines|images|markdown]
                                       the images a change between two commits affects, and why
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline import affected, catalog, devcontainer, dockerfile, options, scan, signing

REPO_ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "affected":
            return _affected(args)
        loaded = catalog.load(args.root)
        if args.command == "dockerfile":
            sys.stdout.write(dockerfile.render(loaded, loaded.image(args.image)))
        elif args.command == "render":
            for path, text in devcontainer.render_all(args.root).items():
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(args.root)}")
            loaded = catalog.load(args.root)  # the features' digests include the files just written
            for name, image in loaded.images.items():
                path = args.root / "docker" / name / "Dockerfile"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(dockerfile.render(loaded, image), encoding="utf-8")
                print(f"wrote {path.relative_to(args.root)}")
        elif args.command == "pins":
            bases = dict.fromkeys(image.base for image in loaded.images.values())
            tools = [f"go {loaded.go_image}", f"trivy {scan.TRIVY_IMAGE}", f"cosign {signing.COSIGN_IMAGE}"]
            print("\n".join([*(f"base {ref}" for ref in bases), *tools]))
        elif args.command == "list":
            print(",".join(loaded.images))
        elif args.command == "digests":
            options_file: Path | None = args.options_file
            lines = options_file.read_text().splitlines() if options_file else []
            assignments: list[str] = args.option
            overrides = options.parse(loaded, list(loaded.images), assignments, lines, str(options_file or ""))
            for name, (features, tail) in affected.image_digests(loaded, overrides).items():
                print(f"{name}\tfeatures={features}\ttail={tail}")
        else:
            print(f"{catalog.CATALOG_PATH}: {len(loaded.images)} images ok: {', '.join(loaded.images)}")
    except catalog.CatalogError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def _affected(args: argparse.Namespace) -> int:
    verdicts = affected.compare(args.root, args.base, args.head)
    if args.format == "images":
        print(",".join(v.image for v in verdicts if v.affected))
    elif args.format == "markdown":
        sys.stdout.write(affected.markdown(verdicts, args.base, args.head))
    else:
        for verdict in verdicts:
            print(f"{verdict.image}\t{'affected' if verdict.affected else 'unchanged'}\t{verdict.why}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline", description="Check and render the dev8 image catalog without a Dagger engine."
    )
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate the catalog and every file it references")
    show = commands.add_parser("dockerfile", help="print an image's rendered Dockerfile")
    show.add_argument("image")
    commands.add_parser(
        "render", help="write docker/<image>/Dockerfile for every image and each feature's devcontainer-feature.json"
    )
    commands.add_parser("pins", help="print the images the module pulls (base references, Go, Trivy, cosign)")
    commands.add_parser("list", help="print the catalog's images, comma-separated (for --images)")
    digests = commands.add_parser("digests", help="print each image's features and tail input digests")
    digests.add_argument("--options-file", type=Path, help="NAME=value feature options, as for the module")
    digests.add_argument("--option", action="append", default=[], help="feature.option=value (repeatable)")
    changed = commands.add_parser("affected", help="the images a change between two commits affects")
    changed.add_argument("--base", required=True, help="the commit before the change (e.g. the PR's base)")
    changed.add_argument("--head", default="HEAD", help="the commit after it (default: HEAD)")
    changed.add_argument(
        "--format",
        choices=["lines", "images", "markdown"],
        default="lines",
        help="lines: IMAGE, affected/unchanged, why; images: the affected, comma-separated; markdown: a table",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
