"""`python -m asynccoder_tui`: the same entry point as the `asynccoder` command."""

from __future__ import annotations

import sys

from asynccoder_tui.cli import main

if __name__ == "__main__":
    sys.exit(main())
