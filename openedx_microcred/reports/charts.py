"""
Showing a report (pure): how a cell reads (never the number of a suppressed one) and the SVG bar
charts of the report pages.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from django.utils.translation import gettext as _

from ..data import CredentialUptake, ReportCell, UptakeReport

COUNT, DAYS, PERCENT = "count", "days", "percent"


def suppressed_text() -> str:
    """What a report shows instead of a suppressed cell's number."""
    return _("hidden")


def cell_text(cell: ReportCell, unit=COUNT) -> str:
    """How a cell reads on the page, in charts and in CSV: never the number of a suppressed cell."""
    if cell.suppressed:
        return suppressed_text()
    if cell.value is None:
        return "—"
    if unit == DAYS:
        return _("%(days)s days") % {"days": f"{cell.value:.1f}"}
    if unit == PERCENT:
        return f"{cell.value:.1f} %"
    return str(int(cell.value))


@dataclass(frozen=True)
class ChartBar:
    """One bar of a report's chart, laid out: its label, the value as read, and where they are drawn."""

    key: str  # which figure (data-figure in the page)
    label: str
    text: str  # the value as read (or "hidden")
    suppressed: bool
    y: float
    width: float  # 0 when suppressed, empty or not applicable: no bar is drawn
    text_x: float
    # The label in lines that fit beside the bar (none is cut short): (baseline y in the bar, text).
    lines: tuple = ()


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart, drawn as SVG by reports/_bar_chart.html."""

    id: str
    title: str
    description: str
    bars: list
    width: int
    height: int
    label_width: int
    plot_width: int
    bar_height: int


def bar_chart(chart_id, title, items, *, unit=COUNT, scale=None, label_width=230, plot_width=340) -> BarChart:
    """
    ``items``: (key, label, ReportCell). Bars are scaled to ``scale`` (default: the largest shown
    value); a suppressed cell gets no bar at all, since its length would give the number away.
    """
    bar_height, gap, line_height = 22, 10, 17
    shown_values = [c.value for _key, _label, c in items if not c.suppressed and c.value is not None]
    top = scale or max(shown_values, default=0) or 1
    bars, y = [], 0
    for key, label, c in items:
        width = 0.0
        if not c.suppressed and c.value:
            width = round(plot_width * min(c.value, top) / top, 1)
        # About 7.5 px a character at 14 px: a label wraps at the words rather than being cut.
        lines = tuple(textwrap.wrap(str(label), width=max(8, label_width // 8), break_long_words=True)) or ("",)
        bars.append(ChartBar(key=key, label=label, text=cell_text(c, unit), suppressed=c.suppressed,
                             y=y, width=width, text_x=label_width + width + 6,
                             lines=tuple((16 + i * line_height, line) for i, line in enumerate(lines))))
        y += max(bar_height, 16 + (len(lines) - 1) * line_height + 6) + gap
    description = "; ".join(f"{b.label}: {b.text}" for b in bars)
    # Room right of the longest bar for its value ("hidden", "12 %", ...).
    text_room = max([120] + [8 * len(b.text) + 12 for b in bars])
    return BarChart(id=chart_id, title=title, description=description, bars=bars,
                    width=label_width + plot_width + text_room, height=max(bar_height + gap, y),
                    label_width=label_width, plot_width=plot_width, bar_height=bar_height)


def funnel_chart(uptake: CredentialUptake, chart_id) -> BarChart:
    """Enrolled → progressing → earned, and revoked, of one credential."""
    slug = uptake.credential_slug
    return bar_chart(chart_id, _("Uptake of %(title)s") % {"title": uptake.title}, [
        (f"{slug}:enrolled", _("Enrolled"), uptake.enrolled),
        (f"{slug}:progressing", _("Progressing"), uptake.progressing),
        (f"{slug}:earned", _("Earned"), uptake.earned),
        (f"{slug}:revoked", _("Revoked"), uptake.revoked),
    ])


def conversion_chart(report: UptakeReport, chart_id) -> BarChart | None:
    """Per stack edge: the share of a credential's holders who also hold the stack above it."""
    if not report.conversions:
        return None
    return bar_chart(chart_id, _("Conversion to the next level"), [
        (f"{c.from_slug}>{c.to_slug}:rate", f"{c.from_title} → {c.to_title}", c.rate) for c in report.conversions
    ], unit=PERCENT, scale=100)
