"""Hostile model API answers through the real SDKs (see `hostile/providers.py`)."""

from tests.reliability.hostile import group_tests
from tests.reliability.hostile.providers import GROUP

runner, test_case, test_group_leaves_nothing_broken = group_tests(GROUP)
