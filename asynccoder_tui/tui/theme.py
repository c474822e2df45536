"""The branded "asynccoder" theme, registered beside Textual's own themes.

A dark theme: violet primary, cyan accent, green and rose for additions and removals (the
diff view tints its rows with `$success` and `$error`). `register_themes(app)` adds it to an
app's registry; choosing it stays a setting like any other theme.
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.theme import Theme

ASYNCCODER_THEME = Theme(
    name="asynccoder",
    primary="#8B7CF6",
    secondary="#5B8DEF",
    accent="#2DD4BF",
    warning="#F5B445",
    error="#F0607A",
    success="#4ADE80",
    foreground="#E4E6F0",
    background="#101218",
    surface="#161922",
    panel="#222633",
    dark=True,
    variables={
        "footer-key-foreground": "#2DD4BF",
        "block-cursor-text-style": "bold",
        "input-selection-background": "#8B7CF6 35%",
    },
)

THEMES = (ASYNCCODER_THEME,)
DEFAULT_THEME = ASYNCCODER_THEME.name
"""The theme of the first frame, before the settings (which may choose another) are read."""


def register_themes(app: App[Any]) -> None:
    """Register our themes with `app` (Textual's built-in themes stay available)."""
    for theme in THEMES:
        app.register_theme(theme)
