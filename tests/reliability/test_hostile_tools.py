"""Hostile agent tool arguments (see `hostile/tools.py`)."""

from tests.reliability.hostile import group_tests
from tests.reliability.hostile.tools import GROUP

runner, test_case, test_group_leaves_nothing_broken = group_tests(GROUP)
