"""Async Coder: hand coding tasks to AI agents from the terminal.

The package is layered (see README.md, "Layers"): domain, config, db, vcs, agent, engine,
services, then cli and tui on top. Nothing here imports anything heavy at package import time.
"""

from __future__ import annotations

__version__ = "0.1.0"
