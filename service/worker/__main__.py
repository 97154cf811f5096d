"""`python -m service.worker ...` is `unlearn-audit worker ...`: one worker command, one set of options."""

from __future__ import annotations

import sys

from service.cli import main

if __name__ == "__main__":
    sys.exit(main(["worker", *sys.argv[1:]]))
