"""Hostile repository paths, names and URLs (see `hostile/repos.py`)."""

from tests.reliability.hostile import group_tests
from tests.reliability.hostile.repos import GROUP

runner, test_case, test_group_leaves_nothing_broken = group_tests(GROUP)
