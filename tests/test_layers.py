"""The layer rules of the architecture (README.md, "Layers"), checked on the source itself.

Imports only point down; SQL lives only in `db/`; Textual only in `tui/`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "asynccoder_tui"

# What each layer may import (besides itself and third-party code).
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "config": {"domain"},
    "db": {"config", "domain"},
    "vcs": {"config", "domain"},
    "agent": {"config", "domain"},
    "engine": {"agent", "vcs", "db", "config", "domain"},
    "services": {"engine", "agent", "vcs", "db", "config", "domain"},
    "cli": {"services", "config", "domain", "root", "tui"},  # the CLI starts the UI
    "tui": {"services", "config", "domain", "root"},
    "root": {"cli"},
}

SQL = re.compile(
    r"\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)"
    r"|ALTER\s+TABLE|DROP\s+(TABLE|DATABASE)|SHOW\s+[a-z_]+\b)"
)


def layer_of(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    first = rel.parts[0]
    if first in {"config.py", "logs.py"}:
        return "config"
    if first in {"cli.py", "cli"}:
        return "cli"
    if len(rel.parts) == 1:
        return "root"
    return first


def imported_layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "asynccoder_tui":
        return None
    if len(parts) == 1:
        return "root"
    name = parts[1]
    if name in {"config", "logs"}:
        return "config"
    if name in {"__main__", "__init__"}:
        return "root"
    return name


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    what: str


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def check_tree(root: Path) -> list[Violation]:
    problems: list[Violation] = []
    for path in sorted(root.rglob("*.py")):
        layer = layer_of(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        rel = str(path.relative_to(root))
        for line, module in _imports(tree):
            target = imported_layer(module)
            if target and target != layer and target in ALLOWED and target not in ALLOWED[layer]:
                problems.append(Violation(rel, line, f"{layer} imports {target} ({module})"))
            top = module.split(".")[0]
            if top in {"textual", "textual_plotext", "rich"} and layer not in {"tui", "cli"}:
                problems.append(Violation(rel, line, f"{layer} imports {top}"))
            if top == "asyncpg" and layer not in {"db", "engine", "services"}:
                problems.append(Violation(rel, line, f"{layer} imports asyncpg"))
        if layer != "db":
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if SQL.search(node.value):
                        problems.append(Violation(rel, node.lineno, "SQL outside db/"))
    return problems


def test_package_respects_layers() -> None:
    problems = check_tree(PACKAGE)
    assert problems == [], "\n".join(f"{p.path}:{p.line}: {p.what}" for p in problems)


def test_checker_catches_each_kind_of_violation(tmp_path: Path) -> None:
    (tmp_path / "domain").mkdir()
    (tmp_path / "domain" / "bad.py").write_text("from asynccoder_tui.db import tasks\n")
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "ui.py").write_text("import textual\nfrom asynccoder_tui.vcs import x\n")
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "q.py").write_text('Q = "SELECT id FROM tasks"\n')
    (tmp_path / "tui").mkdir()
    (tmp_path / "tui" / "fine.py").write_text(
        "import textual\nfrom asynccoder_tui.services import y\n"
    )
    (tmp_path / "tui" / "bad.py").write_text("from asynccoder_tui.engine import runner\n")
    what = {p.what for p in check_tree(tmp_path)}
    assert what == {
        "agent imports textual",
        "agent imports vcs (asynccoder_tui.vcs)",
        "agent imports vcs (asynccoder_tui.vcs.x)",
        "domain imports db (asynccoder_tui.db)",
        "domain imports db (asynccoder_tui.db.tasks)",
        "tui imports engine (asynccoder_tui.engine)",
        "tui imports engine (asynccoder_tui.engine.runner)",
        "SQL outside db/",
    }
