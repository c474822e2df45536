"""Usage and credits: balance, the ledger, cost and tokens per model and per day, outcomes,
and how agent runs went per agent role and per model.

Charts are textual-plotext plots (imported when the screen opens, not at start); the ledger and
the per-model table are DataTables. Everything comes from one `usage.report()` call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from asynccoder_tui.tui.format import compact_number, credits, money, safe

if TYPE_CHECKING:
    from asynccoder_tui.tui.app import AsyncCoderApp


def ledger_amount(kind: str, amount: int) -> Text:
    """A ledger row's amount as its effect on the balance: a hold takes credits out (minus),
    a release, refund or grant puts them back (plus); a debit takes nothing more from the
    balance (it is paid out of its hold), so it carries no sign."""
    if kind == "hold":
        return Text(f"-{amount:,}", justify="right", style="yellow")
    if kind == "debit":
        return Text(f"{amount:,}", justify="right", style="dim")
    return Text(f"+{amount:,}", justify="right", style="green")


class UsageScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,u", "close", "Back", id="usage.close"),
        Binding("ctrl+r", "reload", "Reload", id="usage.reload"),
    ]

    @property
    def ctx_app(self) -> AsyncCoderApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        from textual_plotext import PlotextPlot

        with VerticalScroll(id="usage-report"):
            yield Label(Text("Usage and credits", style="bold"), classes="screen-title")
            yield Static("", id="usage-summary")
            with Horizontal(id="usage-charts"):
                yield PlotextPlot(id="chart-days", classes="chart")
                yield PlotextPlot(id="chart-models", classes="chart")
            with Horizontal(id="usage-tables"):
                with Vertical(classes="usage-column"):
                    yield Label(Text("Per model", style="bold"))
                    yield DataTable(id="by-model", cursor_type="row")
                    yield Label(Text("Task outcomes", style="bold"))
                    yield Static("", id="outcomes")
                    yield Label(Text("Agent runs, per agent and per model", style="bold"))
                    yield DataTable(id="by-agent", cursor_type="row")
                with Vertical(classes="usage-column"):
                    yield Label(Text("Ledger (latest first)", style="bold"))
                    yield DataTable(id="ledger", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#usage-report").loading = True
        self.query_one("#by-model", DataTable).add_columns(
            "Model", "Calls", "Input", "Output", "Cache read", "Cost"
        )
        self.query_one("#by-agent", DataTable).add_columns(
            "Agent or model", "Runs", "Success", "Mean cost", "Mean time", "Files", "Lines"
        )
        self.query_one("#ledger", DataTable).add_columns(
            "When", "Kind", "Amount", "Balance", "About"
        )
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.load()

    @work(group="usage", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        from asynccoder_tui.services import usage

        ctx = self.ctx_app.context
        if ctx is None:  # the banner says why; ctrl+r reads it once the database is back
            self.query_one("#usage-report").loading = False
            self.query_one("#usage-summary", Static).update(
                Text("Usage is not shown: not connected to the database (ctrl+r reloads)")
            )
            return
        try:
            with self.ctx_app.reporting("read usage"):
                self.show(await usage.report(ctx))
        finally:
            self.query_one("#usage-report").loading = False

    def show(self, report: Any) -> None:
        totals = report.ledger_totals
        summary = Text.assemble(
            ("Balance ", "dim"),
            (f"{credits(report.balance)} credits", "bold"),
            (f" (${report.balance / report.credits_per_usd:,.2f})", "dim"),
            ("   This month ", "dim"),
            (f"{compact_number(report.month_tokens)} tokens, {money(report.month_cost)}", "bold"),
            "\n",
            ("Ledger totals  ", "dim"),
            "  ".join(f"{kind} {credits(amount)}" for kind, amount in sorted(totals.items()))
            or "none yet",
        )
        self.query_one("#usage-summary", Static).update(summary)
        self._charts(report)
        by_model = self.query_one("#by-model", DataTable)
        by_model.clear()
        for m in report.by_model:
            by_model.add_row(
                Text(safe(m.model, 30)),
                Text(str(m.calls), justify="right"),
                Text(compact_number(m.input_tokens), justify="right"),
                Text(compact_number(m.output_tokens), justify="right"),
                Text(compact_number(m.cache_read_tokens), justify="right"),
                Text(money(m.cost), justify="right"),
            )
        ledger = self.query_one("#ledger", DataTable)
        ledger.clear()
        for t in report.ledger:
            when = t.created_at.strftime("%Y-%m-%d %H:%M") if t.created_at else ""
            ledger.add_row(
                Text(when, style="dim"),
                Text(t.kind.value),
                ledger_amount(t.kind.value, t.amount),
                Text(credits(t.balance_after), justify="right"),
                Text(safe(t.description or "", 40), style="dim"),
            )
        self._runs(report)
        outcomes = report.outcomes
        self.query_one("#outcomes", Static).update(
            Text(
                "  ".join(f"{status} {count:,}" for status, count in sorted(outcomes.items()))
                or "no tasks yet"
            )
        )

    def _runs(self, report: Any) -> None:
        """How agent runs went (executions analytics): each role, then each model."""
        table = self.query_one("#by-agent", DataTable)
        table.clear()
        for stats in [*report.by_agent, *report.by_agent_model]:
            table.add_row(
                Text(safe(stats.key, 30)),
                Text(str(stats.runs), justify="right"),
                Text(f"{stats.success_rate:.0%}", justify="right"),
                Text(money(stats.mean_cost), justify="right"),
                Text(f"{stats.mean_seconds:.1f} s", justify="right"),
                Text(str(stats.files_changed), justify="right"),
                Text(f"+{stats.lines_added} -{stats.lines_removed}", justify="right"),
            )

    def _charts(self, report: Any) -> None:
        from textual_plotext import PlotextPlot

        days = self.query_one("#chart-days", PlotextPlot)
        plt = days.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("Cost per day (US$)" if report.by_day else "Cost per day: no usage yet")
        if report.by_day:
            labels = [d.day.strftime("%m-%d") for d in report.by_day]
            plt.bar(labels, [float(d.cost) for d in report.by_day])
        days.refresh()
        models = self.query_one("#chart-models", PlotextPlot)
        plt = models.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("Tokens per model" if report.by_model else "Tokens per model: no usage yet")
        if report.by_model:
            plt.bar(
                [safe(m.model, 14) for m in report.by_model],
                [m.input_tokens + m.output_tokens for m in report.by_model],
            )
        models.refresh()
