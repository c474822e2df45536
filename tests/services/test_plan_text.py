"""A plan as editable text: `plan_text` writes the subtasks one block each, `parse_plan_text`
reads them back (the same plan), and refuses what is wrong naming the line."""

from __future__ import annotations

import pytest

from asynccoder_tui.domain.errors import InputError
from asynccoder_tui.engine.plans import normalize_subtasks
from asynccoder_tui.services.plans import parse_plan_text, plan_text

PLAN = normalize_subtasks(
    [
        {"title": "Add the parser", "prompt": "Write a parser for the config.\n\nKeep it small.",
         "role": "backend"},
        {"title": "Wire it in", "prompt": "Call the parser at start-up.", "depends_on": [1],
         "model": "scripted:coder"},
        {"title": "Document it", "prompt": "## Notes\nA heading in a prompt stays in it.",
         "role": "frontend", "depends_on": [1, 2]},
    ]
)  # fmt: skip


def test_round_trip() -> None:
    text = plan_text(PLAN)
    assert text.splitlines()[0] == "## 1. Add the parser  [role: backend]  [after: none]"
    assert "## 2. Wire it in  [role: coder]  [after: 1]  [model: scripted:coder]" in text
    assert "## 3. Document it  [role: frontend]  [after: 1, 2]" in text
    assert parse_plan_text(text) == PLAN
    assert plan_text(parse_plan_text(text)) == text


def test_loose_writing_is_read() -> None:
    text = """
## 1) First   [after: none]
Do the first thing.
##2. Second [ROLE: Backend][after: 1 1]

  Then the second.
"""
    first, second = parse_plan_text(text)
    assert first == {"title": "First", "prompt": "Do the first thing.", "role": "coder",
                     "model": None, "depends_on": []}  # fmt: skip
    assert second["role"] == "backend" and second["depends_on"] == [1]
    assert second["prompt"] == "Then the second."


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("## 1. A\np\n## 2. B  [role: fronted]\np", "line 3: step 2's role 'fronted' is unknown"),
        ("## 1. A  [role: planner]\np", "line 1: step 1's role 'planner' is unknown"),
        ("## 1. A\np\n## 2. B  [after: 4]\np", "line 3: step 2 comes after step 4, which is later"),
        ("## 1. A  [after: 2]\np\n## 2. B\np", "line 1: step 1 comes after step 2, which is later"),
        ("## 1. A\np\n## 2. B  [after: 2]\np", "line 3: step 2 cannot come after itself"),
        ("## 1. A\np\n## 2. B  [after: 0]\np", "line 3: step 2 comes after step 0, which is no"),
        ("## 1. A\np\n## 2. B  [after: A]\np", "line 3: step 2 comes after 'A'"),
        ("## 1. A\np\n## 2.   [role: coder]\np", "line 3: step 2 has no title"),
        ("## 1. A\np\n\n## 2. B\n\n", "line 4: step 2 has no prompt"),
        ("## 1. A\n\n## 2. B\np", "line 1: step 1 has no prompt"),
        ("## 1. A\np\n## 3. B\np", "line 3: this is step 2 but is numbered 3"),
        ("## 1. A  [owner: me]\np", "line 1: [owner: ...] is not known"),
        ("## 1. A  [role: coder] [role: backend]\np", "line 1: [role: ...] is given twice"),
        ("Some words\n## 1. A\np", "line 1: text before the first step"),
        ("\n\n", "the plan has no steps"),
    ],
)
def test_refusals_name_the_line(text: str, words: str) -> None:
    with pytest.raises(InputError) as err:
        parse_plan_text(text)
    assert words in err.value.message


def test_the_plans_own_checks_apply() -> None:
    text = "".join(f"## {n}. Step {n}\ndo {n}\n" for n in range(1, 40))
    with pytest.raises(InputError, match="at most"):
        parse_plan_text(text)
