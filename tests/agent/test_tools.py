"""Workspace tools: confinement, exact edits, encodings, big files, listing and search."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from asynccoder_tui.agent.providers.messages import ToolCall
from asynccoder_tui.agent.tools import READ_ONLY_TOOLS, ToolOutput, WorkspaceTools

HAS_RG = shutil.which("rg") is not None


async def call(tools: WorkspaceTools, name: str, **arguments: Any) -> ToolOutput:
    return await tools.call(ToolCall(id="t", name=name, arguments=arguments))


@pytest.fixture
def tools(workspace: Path) -> WorkspaceTools:
    return WorkspaceTools(workspace)


# -- confinement ----------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "secret.txt").write_text("top secret\n")
    return secret


ESCAPES = [
    ("../outside/secret.txt", "outside the workspace"),
    ("src/../../outside/secret.txt", "outside the workspace"),
    ("src/../../../etc/passwd", "outside the workspace"),
    ("/etc/passwd", "absolute path"),
    ("~/secret.txt", "home-directory"),
    (".git/config", ".git"),
    ("src/../.git/config", ".git"),
    ("sub/.git/HEAD", ".git"),
    ("bad\x00name", "NUL"),
]


@pytest.mark.parametrize(("path", "reason"), ESCAPES)
@pytest.mark.parametrize("tool", ["view", "edit", "create", "insert"])
async def test_paths_leaving_the_workspace_are_refused(
    tools: WorkspaceTools, outside: Path, path: str, reason: str, tool: str
) -> None:
    arguments: dict[str, Any] = {
        "view": {"path": path},
        "edit": {"path": path, "old_str": "top", "new_str": "bottom"},
        "create": {"path": path, "content": "pwned", "overwrite": True},
        "insert": {"path": path, "line": 0, "text": "pwned"},
    }[tool]
    result = await call(tools, tool, **arguments)
    assert result.is_error
    assert reason in result.content
    assert (outside / "secret.txt").read_text() == "top secret\n"
    assert (tools.root / ".git" / "config").read_text() == "[core]\n"


async def test_symlinks_leading_out_are_refused(tools: WorkspaceTools, outside: Path) -> None:
    root = tools.root
    (root / "link_file").symlink_to(outside / "secret.txt")
    (root / "link_dir").symlink_to(outside)
    (root / "src" / "nested").symlink_to(root / "link_dir")  # a chain of links
    (root / "to_git").symlink_to(root / ".git")
    for path in ("link_file", "link_dir/secret.txt", "src/nested/secret.txt"):
        for name, extra in (
            ("view", {}),
            ("edit", {"old_str": "top", "new_str": "x"}),
            ("create", {"content": "x", "overwrite": True}),
        ):
            result = await call(tools, name, path=path, **extra)
            assert result.is_error and "outside the workspace" in result.content, (name, path)
    result = await call(tools, "view", path="to_git/config")
    assert result.is_error and ".git" in result.content
    assert (outside / "secret.txt").read_text() == "top secret\n"
    listing = await call(tools, "list_files")
    assert "secret.txt" not in listing.content
    found = await call(tools, "search", pattern="top secret")
    assert "no matches" in found.content


async def test_symlinks_inside_the_workspace_are_followed(tools: WorkspaceTools) -> None:
    (tools.root / "alias.py").symlink_to(tools.root / "src" / "app.py")
    result = await call(tools, "view", path="alias.py")
    assert not result.is_error and "def greet" in result.content
    inner = await call(tools, "view", path="src/../README.md")
    assert not inner.is_error and "# Project" in inner.content


# -- edit -----------------------------------------------------------------------------------


async def test_edit_with_exactly_one_match_replaces_it(tools: WorkspaceTools) -> None:
    result = await call(
        tools, "edit", path="src/app.py", old_str="'hello ' + name", new_str="f'hello {name}'"
    )
    assert not result.is_error, result.content
    assert result.changed_path == "src/app.py"
    assert (
        tools.root / "src" / "app.py"
    ).read_text() == "def greet(name):\n    return f'hello {name}'\n"
    assert "2\t    return f'hello {name}'" in result.content


async def test_edit_with_no_match_explains_and_changes_nothing(tools: WorkspaceTools) -> None:
    before = (tools.root / "src" / "app.py").read_text()
    result = await call(tools, "edit", path="src/app.py", old_str="return 'bye'", new_str="x")
    assert result.is_error and "not found" in result.content
    near = await call(
        tools,
        "edit",
        path="src/app.py",
        old_str="def greet(name):\n  return 'hello ' + name",
        new_str="x",
    )
    assert near.is_error and "except for whitespace" in near.content and "line 1" in near.content
    assert (tools.root / "src" / "app.py").read_text() == before


async def test_edit_with_several_matches_names_every_line(tools: WorkspaceTools) -> None:
    path = tools.root / "dup.py"
    path.write_text("x = 1\ny = 2\nx = 1\nz = 3\nx = 1\n")
    result = await call(tools, "edit", path="dup.py", old_str="x = 1", new_str="x = 9")
    assert result.is_error
    assert "3 places" in result.content and "lines 1, 3, 5" in result.content
    assert path.read_text() == "x = 1\ny = 2\nx = 1\nz = 3\nx = 1\n"
    unique = await call(
        tools, "edit", path="dup.py", old_str="x = 1\nz = 3", new_str="x = 9\nz = 3"
    )
    assert not unique.is_error
    assert path.read_text() == "x = 1\ny = 2\nx = 9\nz = 3\nx = 1\n"


async def test_edit_keeps_crlf_line_endings(tools: WorkspaceTools) -> None:
    path = tools.root / "win.txt"
    path.write_bytes(b"first\r\nsecond line\r\nthird\r\n")
    result = await call(
        tools, "edit", path="win.txt", old_str="second line\nthird", new_str="2nd\nthird\nfourth"
    )
    assert not result.is_error, result.content
    assert path.read_bytes() == b"first\r\n2nd\r\nthird\r\nfourth\r\n"
    view = await call(tools, "view", path="win.txt")
    assert "CRLF" in view.content and "\r" not in view.content


async def test_edit_respects_tabs_exactly(tools: WorkspaceTools) -> None:
    path = tools.root / "Makefile"
    path.write_text("build:\n\tgo build ./...\n\ntest:\n\tgo test ./...\n")
    spaces = await call(
        tools, "edit", path="Makefile", old_str="test:\n    go test ./...", new_str="x"
    )
    assert spaces.is_error and "line 4" in spaces.content
    ok = await call(
        tools, "edit", path="Makefile", old_str="\tgo test ./...", new_str="\tgo test -race ./..."
    )
    assert not ok.is_error
    assert path.read_text() == "build:\n\tgo build ./...\n\ntest:\n\tgo test -race ./...\n"


async def test_empty_or_identical_replacements_are_refused(tools: WorkspaceTools) -> None:
    empty = await call(tools, "edit", path="README.md", old_str="", new_str="x")
    same = await call(tools, "edit", path="README.md", old_str="# Project", new_str="# Project")
    assert empty.is_error and "insert" in empty.content
    assert same.is_error and "identical" in same.content


# -- encodings, binaries, big files ---------------------------------------------------------


async def test_binary_files_are_not_shown_edited_or_searched(tools: WorkspaceTools) -> None:
    blob = tools.root / "image.png"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR needle \x00\xff")
    view = await call(tools, "view", path="image.png")
    assert not view.is_error and "binary file" in view.content and "IHDR" not in view.content
    edit = await call(tools, "edit", path="image.png", old_str="needle", new_str="pin")
    assert edit.is_error and "binary" in edit.content
    found = await call(tools, "search", pattern="needle")
    assert "no matches" in found.content


async def test_non_utf8_files_are_shown_and_edited_without_losing_bytes(
    tools: WorkspaceTools,
) -> None:
    path = tools.root / "latin.txt"
    path.write_bytes("café = 1\nname = 'Zoë'\n".encode("latin-1"))
    view = await call(tools, "view", path="latin.txt")
    assert "not valid UTF-8" in view.content and "caf\ufffd" in view.content
    edit = await call(tools, "edit", path="latin.txt", old_str="= 1", new_str="= 2")
    assert not edit.is_error, edit.content
    assert path.read_bytes() == "café = 2\nname = 'Zoë'\n".encode("latin-1")


async def test_huge_files_are_capped_with_a_way_to_read_on(tools: WorkspaceTools) -> None:
    path = tools.root / "big.log"
    with path.open("w") as handle:
        for number in range(1, 200_001):
            handle.write(f"line {number}\n")
    view = await call(tools, "view", path="big.log")
    assert "of 200000" in view.content
    assert "output capped" in view.content and "start_line=501" in view.content
    assert "line 500\n" in view.content + "\n" and "line 501\n" not in view.content
    later = await call(tools, "view", path="big.log", start_line=150_000, end_line=150_002)
    assert later.content.splitlines()[1:] == [
        "150000\tline 150000",
        "150001\tline 150001",
        "150002\tline 150002",
    ]
    past = await call(tools, "view", path="big.log", start_line=300_000)
    assert past.is_error and "past the end" in past.content
    long_line = tools.root / "min.js"
    long_line.write_text("x" * 100_000 + "\n")
    one = await call(tools, "view", path="min.js")
    assert "line cut at 2000" in one.content and len(one.content) < 5_000


async def test_files_over_the_edit_limit_are_refused(tools: WorkspaceTools) -> None:
    path = tools.root / "dump.sql"
    with path.open("wb") as handle:
        handle.write(b"INSERT INTO t VALUES (1);\n" * 450_000)  # ~11.7 MB
    result = await call(tools, "edit", path="dump.sql", old_str="VALUES (1)", new_str="VALUES (2)")
    assert result.is_error and "limit" in result.content


# -- create and insert ----------------------------------------------------------------------


async def test_create_refuses_to_clobber_unless_asked(tools: WorkspaceTools) -> None:
    made = await call(tools, "create", path="pkg/new/mod.py", content="A = 1\n")
    assert not made.is_error and (tools.root / "pkg" / "new" / "mod.py").read_text() == "A = 1\n"
    again = await call(tools, "create", path="pkg/new/mod.py", content="A = 2\n")
    assert again.is_error and "already exists" in again.content
    forced = await call(tools, "create", path="pkg/new/mod.py", content="A = 2\n", overwrite=True)
    assert not forced.is_error and (tools.root / "pkg" / "new" / "mod.py").read_text() == "A = 2\n"


async def test_insert_lines(tools: WorkspaceTools) -> None:
    path = tools.root / "list.txt"
    path.write_text("a\nc")
    top = await call(tools, "insert", path="list.txt", line=0, text="start")
    middle = await call(tools, "insert", path="list.txt", line=2, text="b")
    end = await call(tools, "insert", path="list.txt", line=4, text="d\ne\n")
    assert not (top.is_error or middle.is_error or end.is_error)
    assert path.read_text() == "start\na\nb\nc\nd\ne\n"
    bad = await call(tools, "insert", path="list.txt", line=99, text="x")
    assert bad.is_error and "out of range" in bad.content


# -- listing and search ---------------------------------------------------------------------


@pytest.fixture
def project(workspace: Path) -> Path:
    root = workspace
    (root / ".gitignore").write_text("*.log\nbuild/\n/dist\n!keep.log\nnode_modules\n")
    (root / "app.log").write_text("needle in a log\n")
    (root / "keep.log").write_text("needle kept\n")
    (root / "build").mkdir()
    (root / "build" / "out.py").write_text("needle built\n")
    (root / "dist").write_text("needle dist\n")
    (root / "src" / "dist").mkdir()
    (root / "src" / "dist" / "mod.py").write_text("needle not root dist\n")
    (root / "src" / "node_modules").mkdir()
    (root / "src" / "node_modules" / "x.js").write_text("needle module\n")
    (root / "docs").mkdir()
    (root / "docs" / ".gitignore").write_text("draft*.md\n")
    (root / "docs" / "draft1.md").write_text("needle draft\n")
    (root / "docs" / "guide.md").write_text("Needle guide\n")
    (root / ".github").mkdir()
    (root / ".github" / "ci.yml").write_text("needle ci\n")
    (root / ".git" / "HEAD").write_text("needle in git\n")
    return root


async def test_list_files_respects_gitignore(project: Path) -> None:
    tools = WorkspaceTools(project)
    result = await call(tools, "list_files")
    listed = set(result.content.splitlines()[1:])
    assert listed == {
        ".github/ci.yml",
        ".gitignore",
        "README.md",
        "docs/.gitignore",
        "docs/guide.md",
        "keep.log",
        "src/app.py",
        "src/dist/mod.py",
    }
    only_md = await call(tools, "list_files", glob="*.md")
    assert set(only_md.content.splitlines()[1:]) == {"README.md", "docs/guide.md"}
    nested = await call(tools, "list_files", path="src", glob="src/**/*.py")
    assert set(nested.content.splitlines()[1:]) == {"src/app.py", "src/dist/mod.py"}


@pytest.mark.parametrize(
    "use_ripgrep", [False, pytest.param(True, marks=pytest.mark.skipif(not HAS_RG, reason="no rg"))]
)
async def test_search_respects_gitignore_and_caps(project: Path, use_ripgrep: bool) -> None:
    tools = WorkspaceTools(project, use_ripgrep=use_ripgrep)
    result = await call(tools, "search", pattern="needle")
    hits = sorted(line.split(":")[0] for line in result.content.splitlines()[1:])
    assert hits == [".github/ci.yml", "keep.log", "src/dist/mod.py"]
    ignoring_case = await call(tools, "search", pattern="^needle guide", ignore_case=True)
    assert ignoring_case.content.splitlines()[1:] == ["docs/guide.md:1: Needle guide"]
    (project / "many.txt").write_text("".join(f"hit {i}\n" for i in range(300)))
    capped = await call(tools, "search", pattern=r"hit \d+", max_results=10)
    lines = capped.content.splitlines()
    assert "first 10 shown" in lines[0] and len(lines) == 11
    assert lines[1] == "many.txt:1: hit 0"
    scoped = await call(tools, "search", pattern="needle", path="src", glob="*.py")
    assert scoped.content.splitlines()[1:] == ["src/dist/mod.py:1: needle not root dist"]


async def test_search_falls_back_for_patterns_ripgrep_rejects(project: Path) -> None:
    tools = WorkspaceTools(project)
    result = await call(tools, "search", pattern=r"needle(?= kept)")
    assert result.content.splitlines()[1:] == ["keep.log:1: needle kept"]
    bad = await call(tools, "search", pattern="(unclosed")
    assert bad.is_error and "invalid regular expression" in bad.content


async def test_view_directory_is_a_shallow_tree(project: Path) -> None:
    tools = WorkspaceTools(project)
    result = await call(tools, "view", path=".")
    assert "src/" in result.content and "src/app.py" in result.content
    assert "build/" not in result.content and ".git/" not in result.content


# -- dispatch -------------------------------------------------------------------------------


async def test_read_only_tool_set_refuses_writes(workspace: Path) -> None:
    tools = WorkspaceTools(workspace, allowed=READ_ONLY_TOOLS)
    assert [s.name for s in tools.specs()] == ["view", "list_files", "search", "finish"]
    result = await call(tools, "edit", path="README.md", old_str="Project", new_str="Pwned")
    assert result.is_error and "not available" in result.content
    assert "Pwned" not in (workspace / "README.md").read_text()


async def test_bad_calls_come_back_as_errors(tools: WorkspaceTools) -> None:
    unknown = await call(tools, "rm_rf", path=".")
    assert unknown.is_error and "Unknown tool" in unknown.content
    malformed = await tools.call(
        ToolCall(
            id="x", name="view", arguments_error="arguments are not valid JSON", raw_arguments="{"
        )
    )
    assert malformed.is_error and "JSON" in malformed.content
    missing = await call(tools, "view")
    assert missing.is_error and "path" in missing.content
    wrong_type = await call(tools, "view", path="README.md", start_line="ten")
    assert wrong_type.is_error and "integer" in wrong_type.content
    no_runner = await call(tools, "run", command="echo hi")
    assert no_runner.is_error and "not available" in no_runner.content


async def test_finish_needs_a_summary(tools: WorkspaceTools) -> None:
    empty = await call(tools, "finish", summary="  ")
    assert empty.is_error and not empty.finished
    done = await call(tools, "finish", summary="All done.")
    assert done.finished and done.summary == "All done."


def test_workspace_must_exist(tmp_path: Path) -> None:
    from asynccoder_tui.domain.errors import ToolError

    with pytest.raises(ToolError):
        WorkspaceTools(tmp_path / "missing")
    assert os.path.exists(tmp_path)


async def test_nul_bytes_in_command_output_are_replaced(workspace: Path) -> None:
    from asynccoder_tui.agent.runner import SubprocessRunner

    tools = WorkspaceTools(workspace, SubprocessRunner())
    result = await call(tools, "run", command="printf 'a\\000b'")
    assert "\x00" not in result.content and "a\ufffdb" in result.content


async def test_a_crashing_tool_is_reported_to_the_model(
    tools: WorkspaceTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(arguments: Any) -> ToolOutput:
        raise KeyError("boom")

    monkeypatch.setitem(tools._handlers, "view", broken)
    result = await call(tools, "view", path="README.md")
    assert (
        result.is_error and "failed unexpectedly" in result.content and "KeyError" in result.content
    )
