"""`python -m service` is the `unlearn-audit` command."""

import sys

from service.cli import main

sys.exit(main())
