"""Hostile branch names, refs and work-branch titles (see `hostile/branches.py`)."""

from tests.reliability.hostile import group_tests
from tests.reliability.hostile.branches import GROUP

runner, test_case, test_group_leaves_nothing_broken = group_tests(GROUP)
