"""Domain: the pydantic models, enums and errors every layer shares.

This package imports nothing of ours and nothing heavier than pydantic.
"""

from __future__ import annotations
