"""Hostile prompts, follow-ups, titles and model names (see `hostile/prompts.py`)."""

from tests.reliability.hostile import group_tests
from tests.reliability.hostile.prompts import GROUP

runner, test_case, test_group_leaves_nothing_broken = group_tests(GROUP)
