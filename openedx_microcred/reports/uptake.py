"""
The uptake report of a set of credentials: the raw counts gathered, then built into the report
under the minimum cohort (``MICROCRED_REPORT_MIN_COHORT``).
"""

from __future__ import annotations

from ..app_settings import microcred_settings
from ..data import ReportFilters, UptakeReport
from .building import build_report
from .gathering import date_range, gather, report_credentials


def min_cohort() -> int:
    """``MICROCRED_REPORT_MIN_COHORT``: the fewest learners a published figure may describe (at least 1)."""
    try:
        value = int(microcred_settings.REPORT_MIN_COHORT)
    except (TypeError, ValueError):
        value = microcred_settings.default("REPORT_MIN_COHORT")
    return max(1, value)


def get_uptake_report(*, orgs=None, org=None, course_key=None, start=None, end=None, minimum=None) -> UptakeReport:
    """
    The uptake report of the credentials of ``orgs`` (None: every organization), narrowed to
    ``org`` and to the credentials of or depending on ``course_key``, over the days ``start`` to
    ``end`` (dates, both included; None: open). See docs/reports.md.
    """
    minimum = min_cohort() if minimum is None else max(1, int(minimum))
    since, until = date_range(start, end)
    raws, conversions = gather(report_credentials(orgs=orgs, org=org, course_key=course_key), since, until)
    filters = ReportFilters(org=org or None, course_key=str(course_key) if course_key else None, start=start, end=end)
    return build_report(raws, conversions, minimum, filters)
