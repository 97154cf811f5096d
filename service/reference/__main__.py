"""`python -m service.reference [--check] [--docs DIR]`: write the generated reference pages into docs/.

With `--check`, write nothing and exit 1 naming each page that differs from what the code generates.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from service.reference import PAGES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.reference", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale pages instead of writing them")
    parser.add_argument("--docs", type=Path, default=DOCS, help=f"the docs directory (default {DOCS})")
    args = parser.parse_args(argv)
    stale = []
    for name, render in PAGES.items():
        path = args.docs / name
        text = render()
        if path.is_file() and path.read_text() == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text)
    verb = "stale" if args.check else "written"
    for name in stale:
        print(f"{verb}: {args.docs / name}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
