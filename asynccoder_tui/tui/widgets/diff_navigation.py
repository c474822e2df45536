"""Cursor movement over the diff layout: lines, pages, hunks, files, and the mouse.

`DiffNavigation` is the part of `DiffView` that moves its cursor and scrolls so the cursor
stays in sight; it knows the layout (rows of files and hunks) but nothing of painting or of
review actions.
"""

from __future__ import annotations

from textual import events
from textual.scroll_view import ScrollView

from asynccoder_tui.tui.widgets.diff_model import DiffLayout, RowKind


class DiffNavigation(ScrollView):
    """A scroll view with a row cursor over a `DiffLayout`."""

    _layout: DiffLayout
    _cursor: int

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height)

    def _move_cursor(self, row: int, *, top: bool = False) -> None:
        total = self._layout.total
        if total == 0:
            return
        self._cursor = max(0, min(row, total - 1))
        height = self._page()
        scroll_y = int(self.scroll_offset.y)
        if top:
            target = max(0, self._cursor - 1)
            row_info = self._layout.row(self._cursor)
            if row_info is not None and row_info.kind == RowKind.HUNK_HEADER:
                end = self._layout.hunk_end(row_info.file_index, row_info.hunk_index)
                if self._cursor >= scroll_y and end < scroll_y + height:
                    target = scroll_y  # the whole hunk is already on screen
            scroll_y = target
        elif self._cursor < scroll_y:
            scroll_y = self._cursor
        elif self._cursor >= scroll_y + height:
            scroll_y = self._cursor - height + 1
        self.scroll_to(y=scroll_y, animate=False, immediate=True)
        self.refresh()

    def action_cursor_down(self) -> None:
        self._move_cursor(self._cursor + 1)

    def action_cursor_up(self) -> None:
        self._move_cursor(self._cursor - 1)

    def action_page_down(self) -> None:
        page = self._page() - 1 or 1
        self.scroll_to(y=self.scroll_offset.y + page, animate=False, immediate=True)
        self._move_cursor(self._cursor + page)

    def action_page_up(self) -> None:
        page = self._page() - 1 or 1
        self.scroll_to(y=max(0, self.scroll_offset.y - page), animate=False, immediate=True)
        self._move_cursor(self._cursor - page)

    def action_first(self) -> None:
        self._move_cursor(0)

    def action_last(self) -> None:
        self._move_cursor(self._layout.total - 1)

    def action_scroll_code(self, columns: int) -> None:
        self.scroll_to(x=max(0, self.scroll_offset.x + columns), animate=False, immediate=True)

    def action_next_hunk(self) -> None:
        stop = self._layout.next_stop(self._cursor)
        if stop is None:
            self.app.bell()
        else:
            self._move_cursor(stop, top=True)

    def action_previous_hunk(self) -> None:
        stop = self._layout.previous_stop(self._cursor)
        if stop is None:
            self.app.bell()
        else:
            self._move_cursor(stop, top=True)

    def action_next_file(self) -> None:
        index = self._layout.file_at(self._cursor) + 1
        if index >= len(self._layout.files):
            self.app.bell()
            return
        self._move_cursor(self._layout.starts[index], top=True)

    def action_previous_file(self) -> None:
        index = self._layout.file_at(self._cursor)
        if self._cursor == self._layout.starts[index]:
            index -= 1
        if index < 0:
            self.app.bell()
            return
        self._move_cursor(self._layout.starts[index], top=True)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        self._move_cursor(int(self.scroll_offset.y) + offset.y)
