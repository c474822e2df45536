"""Hostile GitHub answers (see `hostile/github.py`)."""

from tests.reliability.hostile import group_tests
from tests.reliability.hostile.github import GROUP

runner, test_case, test_group_leaves_nothing_broken = group_tests(GROUP)
