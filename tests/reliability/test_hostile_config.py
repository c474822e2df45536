"""Hostile config files and environment variables (see `hostile/config.py`)."""

from tests.reliability.hostile import group_tests
from tests.reliability.hostile.config import GROUP

runner, test_case, test_group_leaves_nothing_broken = group_tests(GROUP)
