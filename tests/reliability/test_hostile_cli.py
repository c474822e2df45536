"""Hostile command lines (see `hostile/cli.py`)."""

from tests.reliability.hostile import group_tests
from tests.reliability.hostile.cli import GROUP

runner, test_case, test_group_leaves_nothing_broken = group_tests(GROUP)
