"""Walking a workspace the way git sees it: `.gitignore` files honoured, `.git` skipped.

A small implementation of gitignore matching (nested `.gitignore` files, `.git/info/exclude`,
negation with `!`, directory-only patterns, anchored patterns, `*`, `?`, `[...]` and `**`), so
listing and searching need neither git nor ripgrep. Symlinked directories are not followed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ALWAYS_SKIPPED = frozenset({".git"})


@dataclass(frozen=True)
class IgnoreRule:
    base: str
    """Directory (workspace-relative, '' for the root) whose .gitignore holds the rule."""
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool

    def matches(self, relative: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        if self.base:
            prefix = self.base + "/"
            if not relative.startswith(prefix):
                return False
            relative = relative[len(prefix) :]
        return self.regex.match(relative) is not None


def translate_glob(pattern: str) -> str:
    """A gitignore-style glob as a regular expression (without anchors).

    Matching never backtracks catastrophically, whatever the pattern (a repository's
    `.gitignore` or a model's glob may hold `*a*a*a*a*a*b`): within a path segment, every `*`
    but the last matches atomically up to the leftmost place where the rest of its chunk
    matches, which is the right place when chunks have a fixed length (literals, `?` and
    `[...]` each match one character), so only one `*` per segment may backtrack; likewise
    only the last `**/` of a pattern may backtrack over folders.
    """
    return _assemble(_glob_tokens(pattern))


def _glob_tokens(pattern: str) -> list[tuple[str, str]]:
    """(kind, regex) tokens: "star" (a `*` run), "dstar" (`**/`), "sep" (`/` or a trailing
    `**`), "one" (one character)."""
    tokens: list[tuple[str, str]] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                before = i == 0 or pattern[i - 1] == "/"
                after = i + 2 == n or pattern[i + 2] == "/"
                if before and after:
                    if i + 2 == n:
                        tokens.append(("sep", ".*"))
                        i += 2
                    else:
                        tokens.append(("dstar", "(?:.*/)?"))
                        i += 3
                    continue
            tokens.append(("star", "[^/]*"))
            while i < n and pattern[i] == "*":
                i += 1
            continue
        if c == "?":
            tokens.append(("one", "[^/]"))
        elif c == "/":
            tokens.append(("sep", "/"))
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end == -1:
                tokens.append(("one", re.escape(c)))
            else:
                body = pattern[i + 1 : end]
                if body.startswith(("!", "^")):
                    body = "^" + body[1:]
                tokens.append(("one", "[" + body.replace("\\", "\\\\") + "]"))
                i = end
        elif c == "\\" and i + 1 < n:
            i += 1
            tokens.append(("one", re.escape(pattern[i])))
        else:
            tokens.append(("one", re.escape(c)))
        i += 1
    return tokens


def _assemble(tokens: list[tuple[str, str]]) -> str:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "dstar":
            # Every `**/` but the last skips, atomically, the fewest whole folders after which
            # the chunk up to the next `**/` matches: the leftmost place is the right one,
            # since the next `**/` can absorb any folders the chunk leaves.
            j = next((k for k in range(i + 1, len(tokens)) if tokens[k][0] == "dstar"), None)
            if j is not None:
                out.append(f"(?>(?:[^/]*/)*?{_assemble(tokens[i + 1 : j])})")
                i = j
                continue
            out.append(text)
            i += 1
            continue
        if kind != "star":
            out.append(text)
            i += 1
            continue
        # The chunk after this star, up to the next star or the end of the segment.
        j = i + 1
        while j < len(tokens) and tokens[j][0] == "one":
            j += 1
        if j < len(tokens) and tokens[j][0] == "star":
            chunk = "".join(t for _, t in tokens[i + 1 : j])
            out.append(f"(?>[^/]*?{chunk})")
        else:
            out.append(text)
            out.extend(t for _, t in tokens[i + 1 : j])
        i = j
    return "".join(out)


def parse_ignore_lines(lines: list[str], base: str) -> list[IgnoreRule]:
    """Rules from the lines of one ignore file that lives in directory `base`."""
    rules: list[IgnoreRule] = []
    for raw in lines:
        line = raw.rstrip("\n").rstrip("\r")
        if not line or line.startswith("#"):
            continue
        while line.endswith(" ") and not line.endswith("\\ "):
            line = line[:-1]
        if not line:
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        elif line.startswith("\\!") or line.startswith("\\#"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = translate_glob(line)
        regex = f"^{body}$" if anchored else f"^(?:.*/)?{body}$"
        try:
            compiled = re.compile(regex)
        except re.error:
            continue
        rules.append(IgnoreRule(base=base, regex=compiled, negated=negated, dir_only=dir_only))
    return rules


def _read_rules(directory: Path, base: str) -> list[IgnoreRule]:
    path = directory / ".gitignore"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return parse_ignore_lines(text.splitlines(), base)


class IgnoreMatcher:
    """Decides whether a workspace-relative path is ignored."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._rules_by_dir: dict[str, list[IgnoreRule]] = {}
        exclude = root / ".git" / "info" / "exclude"
        self._global: list[IgnoreRule] = []
        try:
            self._global = parse_ignore_lines(
                exclude.read_text(encoding="utf-8", errors="replace").splitlines(), ""
            )
        except OSError:
            pass

    def _rules_for(self, directory: str) -> list[IgnoreRule]:
        rules = self._rules_by_dir.get(directory)
        if rules is None:
            rules = _read_rules(self.root / directory if directory else self.root, directory)
            self._rules_by_dir[directory] = rules
        return rules

    def is_ignored(self, relative: str, is_dir: bool) -> bool:
        """True when `relative` (posix, no leading slash) is ignored by the rules above it.

        Only the path itself is checked; callers walk top-down and do not descend into
        ignored directories, which is how git treats excluded parents.
        """
        name = relative.rsplit("/", 1)[-1]
        if name in ALWAYS_SKIPPED:
            return True
        parts = relative.split("/")[:-1]
        chain = [""] + ["/".join(parts[: i + 1]) for i in range(len(parts))]
        ignored = False
        for rule in self._global:
            if rule.matches(relative, is_dir):
                ignored = not rule.negated
        for directory in chain:
            for rule in self._rules_for(directory):
                if rule.matches(relative, is_dir):
                    ignored = not rule.negated
        return ignored

    def ancestors_ignored(self, relative: str) -> bool:
        """True when any directory above `relative` is ignored (git cannot re-include it)."""
        parts = relative.split("/")[:-1]
        return any(self.is_ignored("/".join(parts[: i + 1]), True) for i in range(len(parts)))


def walk(
    root: Path,
    start: Path,
    matcher: IgnoreMatcher | None = None,
    *,
    include_dirs: bool = False,
    max_depth: int | None = None,
) -> Iterator[tuple[Path, bool]]:
    """(path, is_dir) for everything under `start` that git would not ignore, depth first in
    name order (a directory comes right before its contents), at most `max_depth` levels
    below `start` (1 = its direct entries).

    Symlinks to directories are reported as files and not followed.
    """
    matcher = matcher or IgnoreMatcher(root)
    if max_depth is not None and max_depth < 1:
        return
    try:
        with os.scandir(start) as scan:
            entries = sorted(scan, key=lambda e: e.name)
    except OSError:
        return
    deeper = None if max_depth is None else max_depth - 1
    for entry in entries:
        path = Path(entry.path)
        relative = path.relative_to(root).as_posix()
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if matcher.is_ignored(relative, is_dir):
            continue
        if is_dir:
            if include_dirs:
                yield path, True
            yield from walk(root, path, matcher, include_dirs=include_dirs, max_depth=deeper)
        else:
            yield path, False
