"""
The report as CSV (pure): one row per figure, with the same suppression as the pages.
"""

from __future__ import annotations

from ..data import ReportCell, UptakeReport
from .charts import COUNT, DAYS, PERCENT

CSV_HEADER = ("org", "course_key", "credential", "title", "figure", "detail", "value", "suppressed", "min_cohort")


def csv_value(cell: ReportCell, unit=COUNT) -> str:
    """A cell's value in CSV: the number (days and percent with one decimal), empty if suppressed or not applicable."""
    if cell.suppressed or cell.value is None:
        return ""
    return f"{cell.value:.1f}" if unit in (DAYS, PERCENT) else str(int(cell.value))


def _csv_text(text):
    """Text as a spreadsheet shows it, never as a formula (CSV injection)."""
    text = "" if text is None else str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_rows(report: UptakeReport):
    """The report as CSV rows (header first): one row per figure; a suppressed one has no value."""
    yield CSV_HEADER

    def row(uptake_or_ids, figure, cell, unit=COUNT, detail=""):
        org, course, slug, title = uptake_or_ids
        return (_csv_text(org), _csv_text(course or ""), _csv_text(slug), _csv_text(title), figure,
                _csv_text(detail), csv_value(cell, unit), "true" if cell.suppressed else "false",
                str(report.min_cohort))

    by_slug = {}
    for u in report.credentials:
        ids = (u.org, u.course_key, u.credential_slug, u.title)
        by_slug[u.credential_slug] = ids
        for figure in ("enrolled", "not_started", "progressing", "earned", "revoked"):
            yield row(ids, figure, getattr(u, figure))
        yield row(ids, "median_days_to_earn", u.median_days_to_earn, DAYS)
        for s in u.stuck:
            yield row(ids, "missing_requirement", s.missing, detail=f"{s.path}: {s.label}")
        for d in u.deliveries:
            yield row(ids, "delivered", d.delivered, detail=d.platform)
            yield row(ids, "accepted_upstream", d.accepted, detail=d.platform)
    for c in report.conversions:
        ids = by_slug[c.from_slug]
        yield row(ids, "converted_to", c.converted, detail=c.to_slug)
        yield row(ids, "conversion_rate_percent", c.rate, PERCENT, detail=c.to_slug)
