"""Key bindings: listing them for the help screen and remapping them from the config file.

Every binding has an id (`pane.action`); `keybindings` in the config file maps ids to keys:

```toml
[keybindings]
"main.new_task" = "ctrl+n"
"tasks.search" = "slash,ctrl+f"
```
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding, BindingType
from textual.keys import format_key


@dataclass(frozen=True)
class BindingRow:
    keys: str
    description: str
    id: str


def _as_binding(item: BindingType) -> Binding | None:
    if isinstance(item, Binding):
        return item
    if isinstance(item, tuple) and len(item) >= 2:
        return Binding(*item)
    return None


def display_keys(keys: str) -> str:
    return " ".join(format_key(key.strip()) for key in keys.split(",") if key.strip())


def binding_rows(bindings: Iterable[BindingType], keymap: Mapping[str, str]) -> list[BindingRow]:
    """Rows for the help screen, with keys as remapped by `keymap`."""
    rows: list[BindingRow] = []
    for item in bindings:
        binding = _as_binding(item)
        if binding is None or not binding.description:
            continue
        keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
        shown = binding.key_display if binding.key_display and keys == binding.key else None
        rows.append(
            BindingRow(
                keys=shown or display_keys(keys),
                description=binding.description,
                id=binding.id or "",
            )
        )
    return rows


def binding_ids(bindings: Iterable[BindingType]) -> set[str]:
    ids: set[str] = set()
    for item in bindings:
        binding = _as_binding(item)
        if binding is not None and binding.id:
            ids.add(binding.id)
    return ids


def split_keymap(keymap: Mapping[str, str], known: set[str]) -> tuple[dict[str, str], list[str]]:
    """(the entries for known binding ids, the unknown ids) of a configured keymap."""
    good = {k: v for k, v in keymap.items() if k in known and isinstance(v, str) and v.strip()}
    return good, sorted(k for k in keymap if k not in good)
