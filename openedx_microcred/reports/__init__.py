"""
Uptake reports: how credentials and stacks are taken up, in aggregates that single no learner out.

The data flows one way, a module per step:

* ``gathering``, the I/O edge, asks the database for raw counts with aggregate queries only.
* ``building`` (pure) turns those counts into the report's figures and applies the minimum cohort
  (``MICROCRED_REPORT_MIN_COHORT``) through ``suppression`` (pure): a figure about fewer learners
  is suppressed, and so is any figure that would let a suppressed one be worked out. Suppressed
  figures are None in the result, so no page, chart or CSV can show them.
* ``charts`` and ``csv_export`` (pure) show a built report: a cell's text, bar charts, CSV rows.
* ``uptake`` puts gathering and building together: ``get_uptake_report``.

docs/reports.md defines every figure; docs/decisions/0006-uptake-report-privacy.rst explains the rule.
"""

from .charts import COUNT, DAYS, PERCENT, cell_text, conversion_chart, funnel_chart
from .csv_export import csv_rows
from .uptake import get_uptake_report, min_cohort

__all__ = [
    "COUNT",
    "DAYS",
    "PERCENT",
    "cell_text",
    "conversion_chart",
    "csv_rows",
    "funnel_chart",
    "get_uptake_report",
    "min_cohort",
]
