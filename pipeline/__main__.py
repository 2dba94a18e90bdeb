"""Engine-free command line for people editing the catalog.

python -m pipeline check               validate the catalog and every file it references
python -m pipeline dockerfile IMAGE    print the image's rendered Dockerfile
python -m pipeline render              write docker/<image>/Dockerfile for every image
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline import catalog, dockerfile

REPO_ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline", description="Check and render the dev8 image catalog without a Dagger engine."
    )
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate the catalog and every file it references")
    show = commands.add_parser("dockerfile", help="print an image's rendered Dockerfile")
    show.add_argument("image")
    commands.add_parser("render", help="write docker/<image>/Dockerfile for every image")
    args = parser.parse_args(argv)
    try:
        loaded = catalog.load(args.root)
        if args.command == "dockerfile":
            sys.stdout.write(dockerfile.render(loaded, loaded.image(args.image)))
        elif args.command == "render":
            for name, image in loaded.images.items():
                path = args.root / "docker" / name / "Dockerfile"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(dockerfile.render(loaded, image), encoding="utf-8")
                print(f"wrote {path.relative_to(args.root)}")
        else:
            print(f"{catalog.CATALOG_PATH}: {len(loaded.images)} images ok: {', '.join(loaded.images)}")
    except catalog.CatalogError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
