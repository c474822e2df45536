"""Hostile repository contents, through a task's whole use of a repository (see
`hostile/contents.py`)."""

from tests.reliability.hostile import group_tests
from tests.reliability.hostile.contents import GROUP

runner, test_case, test_group_leaves_nothing_broken = group_tests(GROUP)
