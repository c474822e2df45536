"""`TranscriptView`: a task's agent transcript, live, on the line API.

The view holds the transcript as items (`transcript_model.py`) with an exact row height each
and prefix sums over them, so any row is found by one binary search and only the rows on screen
are painted (and cached per item). Live events go through `append_events()`, which queues them
and applies the whole queue at most `FLUSH_INTERVAL` apart: a burst of thousands of deltas
costs one layout update and one repaint. Streaming touches only the last line of the message.

The view follows the bottom while the user has not scrolled away; once they have, new output
shows a "new below" hint on the last row, and `G`/`End` resumes following. `enter` (or a click)
on a tool call expands its arguments and output (capped), and collapses it again.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from asynccoder_tui.domain.models import TaskEvent
from asynccoder_tui.tui.widgets.segments import background, foreground
from asynccoder_tui.tui.widgets.transcript_model import Item, ItemKind, ToolCall, TranscriptModel
from asynccoder_tui.tui.widgets.transcript_render import STYLE_NAMES, TranscriptPainter

__all__ = ["TranscriptView"]

NEW_BELOW_HINT = " ↓ new activity below · G to follow "


class TranscriptView(ScrollView, can_focus=True):
    """The chat pane's transcript: messages, streamed text, tool calls and notices."""

    FLUSH_INTERVAL: ClassVar[float] = 1 / 30
    """Seconds between two applications of queued live events."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", "Down", show=False, id="transcript_view.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="transcript_view.up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="transcript_view.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="transcript_view.page_up"),
        Binding("g,home", "first", "Top", show=False, id="transcript_view.top"),
        Binding("G,end", "follow", "Follow", id="transcript_view.follow"),
        Binding("]", "next_tool", "Next tool", key_display="]", id="transcript_view.next_tool"),
        Binding(
            "[", "previous_tool", "Prev tool", key_display="[", id="transcript_view.previous_tool"
        ),
        Binding("enter", "toggle_tool", "Expand/collapse", id="transcript_view.toggle_tool"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        f"transcript-view--{name}" for name in STYLE_NAMES if name != "base"
    }

    DEFAULT_CSS = """
    TranscriptView {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: scroll;
        &:focus { background-tint: $foreground 3%; }
        & > .transcript-view--role-user { color: $text-primary; text-style: bold; }
        & > .transcript-view--role-assistant { color: $text-accent; text-style: bold; }
        & > .transcript-view--role-system { color: $text-muted; text-style: bold; }
        & > .transcript-view--heading { color: $text-accent; text-style: bold; }
        & > .transcript-view--heading-1 { color: $text-accent; text-style: bold underline; }
        & > .transcript-view--code { background: $boost; color: $foreground; }
        & > .transcript-view--fence { color: $text-muted; }
        & > .transcript-view--quote { color: $text-muted; text-style: italic; }
        & > .transcript-view--inline-code { color: $text-warning; background: $boost; }
        & > .transcript-view--link { color: $text-primary; text-style: underline; }
        & > .transcript-view--tool { color: $text-secondary; }
        & > .transcript-view--tool-running { color: $text-warning; }
        & > .transcript-view--tool-ok { color: $text-success; }
        & > .transcript-view--tool-error { color: $text-error; text-style: bold; }
        & > .transcript-view--tool-stopped { color: $text-muted; }
        & > .transcript-view--detail { color: $foreground 80%; }
        & > .transcript-view--detail-label { color: $text-muted; text-style: bold; }
        & > .transcript-view--note { color: $text-warning; text-style: italic; }
        & > .transcript-view--status { color: $text-muted; }
        & > .transcript-view--error { color: $text-error; text-style: bold; }
        & > .transcript-view--usage { color: $text-muted; }
        & > .transcript-view--retry { color: $text-warning; }
        & > .transcript-view--review_comment { color: $text-primary; }
        & > .transcript-view--cursor { background: $accent 30%; }
        & > .transcript-view--hint { background: $accent; color: $text; text-style: bold; }
    }
    """

    def __init__(
        self,
        events: Iterable[TaskEvent] = (),
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._model = TranscriptModel()
        self._heights: list[int] = []
        self._starts: list[int] = [0]
        self._width = 0
        self._pending: list[TaskEvent] = []
        self._flush_scheduled = False
        self._last_flush = 0.0
        self._following = True
        self._unseen = False
        self._programmatic = False
        self._cursor: int | None = None
        self._styles: dict[str, Style] | None = None
        self._style_generation = 0
        self._strips: LRUCache[tuple[object, ...], list[Strip]] = LRUCache(512)
        self._model.apply(events)

    # -- public API -------------------------------------------------------------------------

    @property
    def following(self) -> bool:
        """Whether new output scrolls into view (the user has not scrolled away)."""
        return self._following

    @property
    def new_below(self) -> bool:
        """Whether output arrived below while the user was scrolled away."""
        return self._unseen and not self._following

    @property
    def cursor_row(self) -> int | None:
        return self._cursor

    @property
    def row_count(self) -> int:
        return self._starts[-1]

    @property
    def event_count(self) -> int:
        return self._model.event_count

    @property
    def items(self) -> Sequence[Item]:
        return self._model.items

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def tool(self, call_id: str) -> ToolCall | None:
        return self._model.tools.get(call_id)

    def set_events(self, events: Iterable[TaskEvent]) -> None:
        """Show a whole transcript (replacing what is shown) and follow its bottom."""
        self._pending.clear()
        self._model = TranscriptModel()
        self._model.apply(events)
        self._heights = []
        self._starts = [0]
        self._strips.clear()
        self._following = True
        self._unseen = False
        self._cursor = None
        self._remeasure(0)
        self._after_change()

    def append_events(self, events: Iterable[TaskEvent]) -> None:
        """Queue live events; they are applied together at most `FLUSH_INTERVAL` apart."""
        self._pending.extend(events)
        if not self._pending or self._flush_scheduled:
            return
        self._flush_scheduled = True
        delay = self._last_flush + self.FLUSH_INTERVAL - time.monotonic()
        if delay > 0 and self.is_mounted:
            self.set_timer(delay, self.flush, name="transcript-flush")
        else:
            self.call_later(self.flush)

    def flush(self) -> None:
        """Apply queued events now."""
        self._flush_scheduled = False
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        first = self._model.apply(pending)
        self._remeasure(first)
        if not self._following:
            self._unseen = True
        self._after_change()

    def set_tool_expanded(self, call_id: str, expanded: bool) -> None:
        tool = self._model.tools.get(call_id)
        if tool is None or tool.expanded == expanded:
            return
        first = self._model.expand(tool) if expanded else self._model.collapse(tool)
        self._remeasure(first)
        self._after_change()

    # -- layout -----------------------------------------------------------------------------

    def _painter(self) -> TranscriptPainter:
        if self._styles is None:
            styles = {
                name: self.get_component_rich_style(f"transcript-view--{name}")
                for name in STYLE_NAMES
                if name != "base"
            }
            styles["base"] = self.rich_style
            for name in ("link", "tool-running", "tool-ok", "tool-error", "tool-stopped"):
                styles[name] = foreground(styles[name])
            styles["cursor"] = background(styles["cursor"])
            self._styles = styles
        dark = self.app.current_theme.dark if self.is_mounted else True
        return TranscriptPainter(self.app.console, self._styles, self._width, dark)

    def _remeasure(self, first: int) -> None:
        """Recompute heights and prefix sums from item `first` on (once the width is known)."""
        if self._width <= 0:
            return
        items = self._model.items
        first = min(first, len(self._heights), len(items))
        del self._heights[first:]
        del self._starts[first + 1 :]
        height = self._painter().height
        self._heights.extend(height(item) for item in items[first:])
        total = self._starts[first]
        starts = self._starts
        for h in self._heights[first:]:
            total += h
            starts.append(total)

    def _after_change(self) -> None:
        self.virtual_size = Size(self._width, self._starts[-1])
        if self._following:
            self._scroll_to_row(self.max_scroll_y)
        self.refresh()

    def _scroll_to_row(self, y: float) -> None:
        self._programmatic = True
        try:
            self.set_scroll(None, max(0, min(y, self.max_scroll_y)))
        finally:
            self._programmatic = False

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        # Measure at the new width before the first frame at this size is painted.
        resized = super()._size_updated(size, virtual_size, container_size, layout)
        if self.scrollable_content_region.width != self._width:
            self._apply_width()
        return resized

    def on_resize(self, event: events.Resize) -> None:
        self._apply_width()
        if self._following:
            self._scroll_to_row(self.max_scroll_y)
            self.call_after_refresh(self._keep_following)
        self.refresh()

    def _apply_width(self) -> None:
        """Re-measure every item at the current width, keeping the top item in place."""
        width = self.scrollable_content_region.width
        if width == self._width:
            return
        top = int(self.scroll_offset.y)
        anchor = self._item_at(top)
        offset = top - self._starts[anchor] if anchor is not None else 0
        self._width = width
        self._strips.clear()
        self._remeasure(0)
        self.virtual_size = Size(self._width, self._starts[-1])
        if self._following:
            self._scroll_to_row(self.max_scroll_y)
        elif anchor is not None:
            within = min(offset, max(0, self._heights[anchor] - 1))
            self._scroll_to_row(self._starts[anchor] + within)

    def _keep_following(self) -> None:
        if self._following:
            self._scroll_to_row(self.max_scroll_y)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._style_generation += 1

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._programmatic:
            self._following = round(new_value) >= self.max_scroll_y
            if self._following:
                self._unseen = False

    def _item_at(self, row: int) -> int | None:
        if row < 0 or row >= self._starts[-1]:
            return None
        return bisect_right(self._starts, row) - 1

    # -- painting ---------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_y = int(self.scroll_offset.y)
        width = self.scrollable_content_region.width
        if self.new_below and y == self.scrollable_content_region.height - 1:
            return self._painter().hint(NEW_BELOW_HINT)
        row = scroll_y + y
        index = self._item_at(row)
        if index is None or width != self._width:
            return Strip.blank(width, self.rich_style)
        strips = self._item_strips(index)
        strip = strips[row - self._starts[index]]
        if row == self._cursor and self._styles is not None:
            strip = Strip(Segment.apply_style(list(strip), post_style=self._styles["cursor"]))
        return strip

    def _item_strips(self, index: int) -> list[Strip]:
        item = self._model.items[index]
        key = (item.uid, item.version, self._width, self._style_generation)
        strips = self._strips.get(key)
        if strips is None:
            strips = self._painter().paint(item)
            height = self._heights[index]
            if len(strips) < height:  # never let a paint disagree with the layout
                strips.extend(
                    Strip.blank(self._width, self.rich_style) for _ in range(height - len(strips))
                )
            del strips[height:]
            self._strips[key] = strips
        return strips

    # -- navigation -------------------------------------------------------------------------

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height)

    def _user_scroll(self, y: float) -> None:
        self.set_scroll(None, max(0, min(y, self.max_scroll_y)))
        self._following = round(self.scroll_offset.y) >= self.max_scroll_y
        if self._following:
            self._unseen = False
        self.refresh()

    def _move_cursor(self, row: int) -> None:
        total = self._starts[-1]
        if total == 0:
            return
        self._cursor = max(0, min(row, total - 1))
        top = int(self.scroll_offset.y)
        height = self._page()
        if self._cursor < top:
            self._user_scroll(self._cursor)
        elif self._cursor >= top + height:
            self._user_scroll(self._cursor - height + 1)
        else:
            self.refresh()

    def action_cursor_down(self) -> None:
        if self._cursor is None:
            self._move_cursor(int(self.scroll_offset.y))
        else:
            self._move_cursor(self._cursor + 1)

    def action_cursor_up(self) -> None:
        if self._cursor is None:
            self._move_cursor(min(self._starts[-1], int(self.scroll_offset.y) + self._page()) - 1)
        else:
            self._move_cursor(self._cursor - 1)

    def action_page_down(self) -> None:
        page = max(1, self._page() - 1)
        if self._cursor is not None:
            self._cursor = min(self._cursor + page, max(0, self._starts[-1] - 1))
        self._user_scroll(self.scroll_offset.y + page)

    def action_page_up(self) -> None:
        page = max(1, self._page() - 1)
        if self._cursor is not None:
            self._cursor = max(0, self._cursor - page)
        self._user_scroll(self.scroll_offset.y - page)

    def action_first(self) -> None:
        if self._cursor is not None:
            self._cursor = 0
        self._user_scroll(0)

    def action_follow(self) -> None:
        self._cursor = None
        self._following = True
        self._unseen = False
        self._scroll_to_row(self.max_scroll_y)
        self.refresh()

    def _tool_rows(self) -> list[int]:
        return [
            self._starts[i]
            for i, item in enumerate(self._model.items)
            if item.kind == ItemKind.TOOL
        ]

    def action_next_tool(self) -> None:
        here = self._cursor if self._cursor is not None else int(self.scroll_offset.y) - 1
        rows = [row for row in self._tool_rows() if row > here]
        if rows:
            self._move_cursor(rows[0])
        else:
            self.app.bell()

    def action_previous_tool(self) -> None:
        here = (
            self._cursor if self._cursor is not None else int(self.scroll_offset.y) + self._page()
        )
        rows = [row for row in self._tool_rows() if row < here]
        if rows:
            self._move_cursor(rows[-1])
        else:
            self.app.bell()

    def action_toggle_tool(self) -> None:
        """Expand or collapse the tool call under the cursor (without one: the last on screen)."""
        row = self._cursor
        if row is None:
            top = int(self.scroll_offset.y)
            visible = [r for r in self._tool_rows() if top <= r < top + self._page()]
            row = visible[-1] if visible else None
        if row is None or not self._toggle_at(row):
            self.app.bell()

    def _toggle_at(self, row: int) -> bool:
        index = self._item_at(row)
        if index is None:
            return False
        items = self._model.items
        while index > 0 and items[index].kind == ItemKind.DETAIL:
            index -= 1
        tool = items[index].tool
        if items[index].kind != ItemKind.TOOL or tool is None:
            return False
        self._cursor = self._starts[index]
        self.set_tool_expanded(tool.id, not tool.expanded)
        return True

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = int(self.scroll_offset.y) + offset.y
        if not self._toggle_at(row):
            self._move_cursor(row)
